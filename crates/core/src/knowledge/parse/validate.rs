//! The checks that make `Knowledge::embedded()` safe to trust: sorted,
//! non-empty lists, sane numbers and dates, well-formed IAM actions and
//! metric names, and cross-references that agree.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Display;

use super::formats::{
    CiliumEksFile, CiliumFile, EksFile, EksIamFile, InstanceRow, KnownIssuesFile, MetricsFile,
};
use super::KnowledgeError;
use crate::knowledge::{
    AmiFamily, CiliumMetrics, CiliumMinor, InstanceType, KnowledgeDates, Metrics, ReservedPurpose,
};
use crate::version::Minor;

fn fail(file: &str, what: impl Display) -> KnowledgeError {
    KnowledgeError(format!("{file}: {what}"))
}

/// `items` must be non-empty and strictly ascending.
fn ascending<T: Ord + Display>(
    file: &str,
    what: &str,
    items: impl IntoIterator<Item = T>,
) -> Result<(), KnowledgeError> {
    let mut previous: Option<T> = None;
    for item in items {
        if let Some(prev) = &previous {
            if item == *prev {
                return Err(fail(file, format!("{what}: {item} is listed twice")));
            }
            if item < *prev {
                return Err(fail(
                    file,
                    format!("{what}: {item} comes after {prev} (must be sorted, oldest first)"),
                ));
            }
        }
        previous = Some(item);
    }
    match previous {
        Some(_) => Ok(()),
        None => Err(fail(file, format!("{what}: empty list"))),
    }
}

fn sources(file: &str, sources: &BTreeMap<String, String>) -> Result<(), KnowledgeError> {
    if sources.is_empty() || sources.values().any(|s| s.trim().is_empty()) {
        return Err(fail(file, "sources: every fact needs its origin"));
    }
    Ok(())
}

/// Rows sorted by name without duplicates, with positive limits.
pub fn instances(
    file: &str,
    rows: Vec<InstanceRow>,
) -> Result<BTreeMap<String, InstanceType>, KnowledgeError> {
    if rows.is_empty() {
        return Err(fail(file, "no instance types"));
    }
    let mut map = BTreeMap::new();
    let mut previous: Option<(usize, String)> = None;
    for InstanceRow { line, instance } in rows {
        let at = |what: String| fail(file, format!("line {line}: {what}"));
        if let Some((prev_line, prev)) = &previous {
            if instance.name == *prev {
                return Err(at(format!(
                    "duplicate instance type {} (also on line {prev_line})",
                    instance.name
                )));
            }
            if instance.name < *prev {
                return Err(at(format!(
                    "{} comes after {prev} (rows must be sorted by name)",
                    instance.name
                )));
            }
        }
        if instance.enis == 0 || instance.ipv4_per_eni == 0 {
            return Err(at(format!(
                "{}: enis and ipv4_per_eni must be > 0",
                instance.name
            )));
        }
        if instance.enis_all_cards < instance.enis {
            return Err(at(format!(
                "{}: enis_all_cards {} is below enis {} (all cards include the default one)",
                instance.name, instance.enis_all_cards, instance.enis
            )));
        }
        if instance.vcpus == Some(0) {
            return Err(at(format!("{}: vcpus must be > 0 or empty", instance.name)));
        }
        previous = Some((line, instance.name.clone()));
        map.insert(instance.name.clone(), instance);
    }
    Ok(map)
}

pub fn eks(file: &str, eks: &EksFile) -> Result<(), KnowledgeError> {
    sources(file, &eks.sources)?;
    ascending(file, "versions", eks.versions.iter().map(|v| v.version))?;
    for v in &eks.versions {
        if !(v.eks_release < v.end_of_standard_support
            && v.end_of_standard_support < v.end_of_extended_support)
        {
            return Err(fail(
                file,
                format!(
                    "versions: {}: want eks_release < end_of_standard_support < \
                     end_of_extended_support, have {} / {} / {}",
                    v.version, v.eks_release, v.end_of_standard_support, v.end_of_extended_support
                ),
            ));
        }
    }
    ascending(
        file,
        "ami_kernels (by family, then kubernetes)",
        eks.ami_kernels
            .iter()
            .map(|a| FamilyMinor(a.family, a.kubernetes)),
    )?;
    let last_al2 = eks
        .ami_kernels
        .iter()
        .filter(|a| a.family == AmiFamily::Al2)
        .map(|a| a.kubernetes)
        .max();
    if last_al2 != Some(eks.al2_last_kubernetes) {
        return Err(fail(
            file,
            format!(
                "al2_last_kubernetes is {} but the newest AL2 entry of ami_kernels is {}",
                eks.al2_last_kubernetes,
                last_al2.map_or("missing".to_string(), |m| m.to_string())
            ),
        ));
    }
    Ok(())
}

/// (family, Kubernetes minor) ordered and shown as one key.
#[derive(PartialEq, Eq, PartialOrd, Ord)]
struct FamilyMinor(AmiFamily, Minor);

impl Display for FamilyMinor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?} {}", self.0, self.1)
    }
}

pub fn cilium(file: &str, cilium: &CiliumFile) -> Result<(), KnowledgeError> {
    sources(file, &cilium.sources)?;
    ascending(file, "minors", cilium.minors.iter().map(|c| c.minor))?;
    cilium.minors.iter().try_for_each(|c| cilium_minor(file, c))
}

fn cilium_minor(file: &str, c: &CiliumMinor) -> Result<(), KnowledgeError> {
    let m = c.minor;
    ascending(file, &format!("{m}: k8s_tested"), c.k8s_tested.iter())?;
    if c.latest_patch.minor() != m {
        return Err(fail(
            file,
            format!("{m}: latest_patch {} is not a {m} release", c.latest_patch),
        ));
    }
    if c.min_kernel.major == 0 {
        return Err(fail(
            file,
            format!("{m}: min_kernel {} is not a kernel", c.min_kernel),
        ));
    }
    actions(
        file,
        &format!("{m}: eni_required_actions"),
        &c.eni_required_actions,
    )?;
    ascending(
        file,
        &format!("{m}: eni_conditional_actions (by feature)"),
        c.eni_conditional_actions.iter().map(|a| a.feature.as_str()),
    )?;
    for cond in &c.eni_conditional_actions {
        let what = format!("{m}: eni_conditional_actions {}", cond.feature);
        if !is_feature_id(&cond.feature) {
            return Err(fail(file, format!("{what}: feature ids are kebab-case")));
        }
        if cond.condition.trim().is_empty() {
            return Err(fail(file, format!("{what}: condition is empty")));
        }
        actions(file, &format!("{what}: actions"), &cond.actions)?;
    }
    ascending(
        file,
        &format!("{m}: ipam_reserved (router, health, ingress)"),
        c.ipam_reserved.iter().map(|r| r.purpose),
    )?;
    if c.ipam_reserved.first().map(|r| r.purpose) != Some(ReservedPurpose::Router) {
        return Err(fail(
            file,
            format!("{m}: ipam_reserved must list the router address (cilium_host)"),
        ));
    }
    if let Some(eol) = c.maintenance_eol {
        if eol < c.latest_patch_published && !c.latest_patch_final {
            return Err(fail(
                file,
                format!(
                    "{m}: maintenance_eol {eol} is before the latest patch yet it is not final"
                ),
            ));
        }
    }
    let keys = c.helm_keys_removed.iter().map(|k| k.key.as_str());
    if c.helm_keys_removed.is_empty() {
        Ok(())
    } else {
        ascending(file, &format!("{m}: helm_keys_removed"), keys)
    }
}

/// Sorted, unique `ec2:Name` actions.
fn actions(file: &str, what: &str, actions: &[String]) -> Result<(), KnowledgeError> {
    ascending(file, what, actions.iter())?;
    match actions.iter().find(|a| !is_ec2_action(a)) {
        Some(bad) => Err(fail(
            file,
            format!("{what}: {bad:?} is not an `ec2:Name` action"),
        )),
        None => Ok(()),
    }
}

fn is_ec2_action(action: &str) -> bool {
    action.strip_prefix("ec2:").is_some_and(|name| {
        name.starts_with(|c: char| c.is_ascii_uppercase())
            && name.chars().all(|c| c.is_ascii_alphanumeric())
    })
}

fn is_feature_id(id: &str) -> bool {
    !id.is_empty()
        && !id.starts_with('-')
        && !id.ends_with('-')
        && id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

/// A removed key must exist in the previous minor's chart, and not in its
/// own when the chart refuses it; a named replacement must exist in its own.
pub fn removed_keys(
    file: &str,
    minors: &[CiliumMinor],
    helm_keys: &BTreeMap<Minor, BTreeSet<String>>,
) -> Result<(), KnowledgeError> {
    let mut previous: Option<&CiliumMinor> = None;
    for c in minors {
        let own = &helm_keys[&c.minor];
        for removed in &c.helm_keys_removed {
            let what = format!("{}: helm_keys_removed {}", c.minor, removed.key);
            match previous {
                Some(p) if !helm_keys[&p.minor].contains(&removed.key) => {
                    return Err(fail(
                        file,
                        format!("{what}: not a key of the {} chart", p.minor),
                    ));
                }
                None => {
                    return Err(fail(
                        file,
                        format!("{what}: no earlier minor to remove it from"),
                    ));
                }
                Some(_) => {}
            }
            // The chart may still read a removed key as a fallback, but not
            // one it refuses.
            if removed.chart_fails && own.contains(&removed.key) {
                return Err(fail(
                    file,
                    format!("{what}: the {} chart refuses it yet lists it", c.minor),
                ));
            }
            let replacements = removed.replacement.iter().flat_map(|r| r.split(", "));
            if let Some(unknown) = replacements.into_iter().find(|r| !own.contains(*r)) {
                return Err(fail(
                    file,
                    format!(
                        "{what}: replacement {unknown} is not a key of the {} chart",
                        c.minor
                    ),
                ));
            }
        }
        previous = Some(c);
    }
    Ok(())
}

/// `have` must be exactly the Cilium minors of cilium.json, in order.
fn same_minors(
    file: &str,
    have: impl Iterator<Item = Minor>,
    minors: &[Minor],
) -> Result<(), KnowledgeError> {
    let have: Vec<Minor> = have.collect();
    if have == minors {
        return Ok(());
    }
    let list = |m: &[Minor]| {
        m.iter()
            .map(Minor::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    };
    Err(fail(
        file,
        format!(
            "minors: want the Cilium minors of cilium.json ({}), have {}",
            list(minors),
            list(&have)
        ),
    ))
}

/// Sorted, unique metric names that start with `prefix`.
fn metric_names(
    file: &str,
    what: &str,
    names: &[String],
    prefix: &str,
) -> Result<(), KnowledgeError> {
    ascending(file, what, names.iter())?;
    match names.iter().find(|n| {
        !n.starts_with(prefix)
            || !n
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
    }) {
        Some(bad) => Err(fail(
            file,
            format!("{what}: {bad:?} is not a `{prefix}*` metric name"),
        )),
        None => Ok(()),
    }
}

/// Metric lists per minor, drop reasons by code, pressure map names.
pub fn metrics(file: &str, m: MetricsFile, minors: &[Minor]) -> Result<Metrics, KnowledgeError> {
    sources(file, &m.sources)?;
    same_minors(file, m.minors.iter().map(|x| x.minor), minors)?;
    let mut by_minor = BTreeMap::new();
    for x in m.minors {
        let at = x.minor;
        metric_names(file, &format!("{at}: agent"), &x.agent, "cilium_")?;
        metric_names(
            file,
            &format!("{at}: operator"),
            &x.operator,
            "cilium_operator_",
        )?;
        let agent: BTreeSet<String> = x.agent.into_iter().collect();
        let operator: BTreeSet<String> = x.operator.into_iter().collect();
        if !x.disabled_by_default.is_empty() {
            ascending(
                file,
                &format!("{at}: disabled_by_default"),
                x.disabled_by_default.iter(),
            )?;
        }
        if let Some(stray) = x
            .disabled_by_default
            .iter()
            .find(|n| !agent.contains(*n) && !operator.contains(*n))
        {
            return Err(fail(
                file,
                format!("{at}: disabled_by_default: {stray} is not a metric of {at}"),
            ));
        }
        let metrics = CiliumMetrics {
            minor: at,
            agent,
            operator,
            disabled_by_default: x.disabled_by_default.into_iter().collect(),
        };
        by_minor.insert(at, metrics);
    }
    ascending(
        file,
        "drop_reasons (by code)",
        m.drop_reasons.iter().map(|r| r.code),
    )?;
    for r in &m.drop_reasons {
        if r.reason.trim().is_empty() || !minors.contains(&r.since) {
            return Err(fail(
                file,
                format!(
                    "drop_reasons {}: want a reason text and a known Cilium minor as `since`",
                    r.code
                ),
            ));
        }
    }
    for (what, names) in [
        ("pressure_maps.conntrack", &m.pressure_maps.conntrack),
        ("pressure_maps.nat", &m.pressure_maps.nat),
    ] {
        ascending(file, what, names.iter())?;
        if let Some(bad) = names.iter().find(|n| !is_map_name(n)) {
            return Err(fail(file, format!("{what}: {bad:?} is not a map name")));
        }
    }
    Ok(Metrics {
        minors: by_minor,
        drop_reasons: m.drop_reasons,
        pressure_maps: m.pressure_maps,
    })
}

fn is_map_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

/// Each minor's install flags must be `key=value` with a key its chart has;
/// the aws-node patch must set the selector it names.
pub fn cilium_eks(
    file: &str,
    eks: &CiliumEksFile,
    helm_keys: &BTreeMap<Minor, BTreeSet<String>>,
) -> Result<(), KnowledgeError> {
    sources(file, &eks.sources)?;
    let minors: Vec<Minor> = helm_keys.keys().copied().collect();
    same_minors(file, eks.minors.iter().map(|m| m.minor), &minors)?;
    for m in &eks.minors {
        let at = m.minor;
        if m.eni_helm_flags.is_empty() {
            return Err(fail(file, format!("{at}: eni_helm_flags: empty list")));
        }
        for flag in &m.eni_helm_flags {
            let known = flag
                .split_once('=')
                .is_some_and(|(key, value)| !value.is_empty() && helm_keys[&at].contains(key));
            if !known {
                return Err(fail(
                    file,
                    format!("{at}: eni_helm_flags: {flag:?} is not `key=value` with a key of the {at} chart"),
                ));
            }
        }
        let words = [
            Some(m.kube_proxy_replacement_full.as_str()),
            m.al2023_egress_masquerade_interfaces.as_deref(),
        ];
        if words
            .into_iter()
            .flatten()
            .any(|w| w.is_empty() || w.contains(char::is_whitespace))
        {
            return Err(fail(
                file,
                format!("{at}: kube_proxy_replacement_full and al2023_egress_masquerade_interfaces are single words"),
            ));
        }
    }
    let patch = &eks.aws_node_patch;
    let selector = format!(
        "{{\"{}\":\"{}\"}}",
        patch.node_selector_key, patch.node_selector_value
    );
    if !patch.command.contains(&selector) {
        return Err(fail(
            file,
            format!("aws_node_patch: the command does not set {selector}"),
        ));
    }
    let taint_ok = eks
        .agent_not_ready_taint
        .split_once('=')
        .and_then(|(key, rest)| {
            rest.split_once(':')
                .map(|(value, effect)| (key, value, effect))
        })
        .is_some_and(|(key, value, effect)| {
            !key.is_empty() && !value.is_empty() && !effect.is_empty()
        });
    if !taint_ok {
        return Err(fail(file, "agent_not_ready_taint: want `key=value:Effect`"));
    }
    if eks.overlay_iptables_flush.trim().is_empty() {
        return Err(fail(file, "overlay_iptables_flush: empty"));
    }
    Ok(())
}

/// The IRSA placeholders `generate trust-policy` fills in.
pub const IRSA_PLACEHOLDERS: [&str; 4] = [
    "$account_id",
    "$oidc_provider",
    "$namespace",
    "$service_account",
];

/// Both trust policies are IAM policy documents; the IRSA template holds
/// every placeholder.
pub fn eks_iam(file: &str, iam: &EksIamFile) -> Result<(), KnowledgeError> {
    sources(file, &iam.sources)?;
    for (what, policy) in [
        (
            "irsa_trust_policy_template",
            &iam.irsa_trust_policy_template,
        ),
        ("pod_identity_trust_policy", &iam.pod_identity_trust_policy),
    ] {
        let document = policy["Version"].is_string()
            && policy["Statement"]
                .as_array()
                .is_some_and(|s| !s.is_empty());
        if !document {
            return Err(fail(
                file,
                format!("{what}: want a policy document with Version and Statement"),
            ));
        }
    }
    let template = iam.irsa_trust_policy_template.to_string();
    if let Some(missing) = IRSA_PLACEHOLDERS.iter().find(|p| !template.contains(*p)) {
        return Err(fail(
            file,
            format!("irsa_trust_policy_template: no {missing} placeholder"),
        ));
    }
    if iam.irsa_service_account_annotation.trim().is_empty() {
        return Err(fail(file, "irsa_service_account_annotation: empty"));
    }
    Ok(())
}

/// The fact families the reports name, each with a date no later than the
/// compile date.
pub const KNOWLEDGE_FAMILIES: [&str; 7] = [
    "cilium_releases",
    "cilium_docs",
    "eks_calendar",
    "ec2_limits",
    "ami_kernels",
    "helm_charts",
    "metrics",
];

pub fn knowledge_dates(file: &str, dates: &KnowledgeDates) -> Result<(), KnowledgeError> {
    for family in KNOWLEDGE_FAMILIES {
        let Some(f) = dates.families.get(family) else {
            return Err(fail(file, format!("families: {family} is missing")));
        };
        if f.date > dates.compiled {
            return Err(fail(
                file,
                format!(
                    "families: {family}: date {} is after compiled {}",
                    f.date, dates.compiled
                ),
            ));
        }
        if f.newest_source.trim().is_empty() {
            return Err(fail(
                file,
                format!("families: {family}: newest_source is empty"),
            ));
        }
    }
    if let Some(extra) = dates
        .families
        .keys()
        .find(|k| !KNOWLEDGE_FAMILIES.contains(&k.as_str()))
    {
        return Err(fail(file, format!("families: unknown family {extra}")));
    }
    Ok(())
}

/// Every known issue has an id, a source, and ranges that are not empty; the
/// fixed releases fall at a range's end.
pub fn known_issues(file: &str, known: &KnownIssuesFile) -> Result<(), KnowledgeError> {
    sources(file, &known.sources)?;
    let mut ids = BTreeSet::new();
    for issue in &known.versioned {
        let id = &issue.id;
        if !ids.insert(id.as_str()) {
            return Err(fail(file, format!("versioned: {id} is listed twice")));
        }
        if issue.sources.is_empty() || issue.workaround.trim().is_empty() {
            return Err(fail(file, format!("{id}: needs sources and a workaround")));
        }
        if issue.affected.is_empty() {
            return Err(fail(file, format!("{id}: no affected releases")));
        }
        for r in &issue.affected {
            match (r.introduced, r.fixed) {
                (None, None) => {
                    return Err(fail(file, format!("{id}: a range without bounds")));
                }
                (Some(i), Some(f)) if i >= f => {
                    return Err(fail(file, format!("{id}: range {i}..{f} is empty")));
                }
                _ => {}
            }
        }
        if let Some(f) = issue.fixed_in.iter().find(|f| issue.affects(**f)) {
            return Err(fail(
                file,
                format!("{id}: fixed release {f} is in an affected range"),
            ));
        }
    }
    let mut cited = BTreeSet::new();
    for issue in &known.cited {
        if !cited.insert(issue.id.as_str()) || issue.sources.is_empty() {
            return Err(fail(
                file,
                format!("cited: {} is listed twice or has no sources", issue.id),
            ));
        }
    }
    Ok(())
}
