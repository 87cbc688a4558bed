//! The rule registry. Each rule lives in its own file (or a small family),
//! carries its code, name, severity and documentation, and is a pure
//! function of the typed cluster model and the knowledge: no I/O.

pub(crate) mod cap;
mod cfg;
pub(crate) mod cni;
pub mod codes;
mod conn;
mod iac;
pub(crate) mod iam;
pub(crate) mod inputs;
pub(crate) mod log;
mod mesh;
pub(crate) mod ops;
mod sgp;
#[cfg(test)]
pub(crate) mod testing;
pub(crate) mod ver;

use std::collections::BTreeMap;
use std::sync::OnceLock;

use serde::Serialize;

use crate::facts::Facts;
use crate::findings::{
    ClusterInfo, Finding, KnowledgeInfo, NotEvaluated, ObjectRef, Report, Severity, Summary,
};
use crate::knowledge::Knowledge;
use crate::model::Cluster;
use crate::snapshot::CollectionGap;
use crate::version::{Date, Minor};

/// Rule area, the prefix of its code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum Area {
    #[serde(rename = "CNI")]
    Cni,
    #[serde(rename = "CAP")]
    Cap,
    #[serde(rename = "IAM")]
    Iam,
    #[serde(rename = "VER")]
    Ver,
    #[serde(rename = "SGP")]
    Sgp,
    #[serde(rename = "MESH")]
    Mesh,
    #[serde(rename = "OPS")]
    Ops,
    #[serde(rename = "CFG")]
    Cfg,
    #[serde(rename = "LOG")]
    Log,
    #[serde(rename = "IAC")]
    Iac,
    #[serde(rename = "CONN")]
    Conn,
}

impl Area {
    /// The code prefix (`CNI`, `CAP`, …).
    pub fn prefix(self) -> &'static str {
        match self {
            Area::Cni => "CNI",
            Area::Cap => "CAP",
            Area::Iam => "IAM",
            Area::Ver => "VER",
            Area::Sgp => "SGP",
            Area::Mesh => "MESH",
            Area::Ops => "OPS",
            Area::Cfg => "CFG",
            Area::Log => "LOG",
            Area::Iac => "IAC",
            Area::Conn => "CONN",
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            Area::Cni => "The VPC CNI next to Cilium",
            Area::Cap => "Pod IP capacity",
            Area::Iam => "The operator's AWS access",
            Area::Ver => "Versions, support windows and upgrades",
            Area::Sgp => "Security groups for pods",
            Area::Mesh => "Cluster mesh",
            Area::Ops => "Running health and observability",
            Area::Cfg => "Cilium configuration on EKS",
            Area::Log => "What the agent and operator logs say",
            Area::Iac => "Infrastructure code before apply",
            Area::Conn => "Connectivity test results",
        }
    }
}

/// A rule's identity and documentation. `explain CODE` prints the four
/// sections; the README's rule table is generated from these.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct RuleMeta {
    pub code: &'static str,
    pub name: &'static str,
    pub severity: Severity,
    pub area: Area,
    /// One line for tables.
    pub summary: &'static str,
    pub what_it_checks: &'static str,
    pub why_it_matters: &'static str,
    pub how_to_fix: &'static str,
    pub known_limits: &'static str,
    /// Upstream documentation the rule rests on.
    pub docs_url: &'static str,
}

/// A rule shows as its code.
impl std::fmt::Display for RuleMeta {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.code)
    }
}

impl RuleMeta {
    /// A finding of this rule at its default severity.
    pub fn finding(&'static self, object: ObjectRef, message: impl Into<String>) -> Finding {
        Finding {
            rule: self,
            severity: self.severity,
            object,
            message: message.into(),
            evidence: Vec::new(),
            remediation: String::new(),
            docs: format!(
                "eks-cilium-doctor explain {} ; {}",
                self.code, self.docs_url
            ),
            location: None,
            read_from: None,
        }
    }

    /// "Not evaluated" for this rule.
    pub fn missing(&'static self, missing: impl Into<String>, how: impl Into<String>) -> Outcome {
        Err(Missing::new(missing, how))
    }
}

/// Options that change what rules evaluate.
#[derive(Debug, Clone)]
pub struct CheckOptions {
    /// Date-dependent rules evaluate as of this day (`--as-of`).
    pub as_of: Date,
    /// A planned Kubernetes target (`--target-k8s`), for VER002/VER010 and kernel checks.
    pub target_kubernetes: Option<Minor>,
    /// A planned Cilium target (`--target-cilium`), for VER008.
    pub target_cilium: Option<Minor>,
    /// Container restarts above this fire OPS003.
    pub restart_threshold: u32,
    /// Days before end of support that VER003 warns.
    pub support_warning_days: i64,
    /// VER011: a fact family older than this many days (by its newest
    /// source) is stale; families not listed are not judged by age.
    pub knowledge_max_age_days: BTreeMap<String, u32>,
}

/// VER011's default age thresholds per fact family.
pub fn default_knowledge_max_age() -> BTreeMap<String, u32> {
    ver::ver011_knowledge_stale::DEFAULT_MAX_AGE_DAYS
        .iter()
        .map(|(family, days)| (family.to_string(), *days))
        .collect()
}

impl Default for CheckOptions {
    fn default() -> Self {
        CheckOptions {
            as_of: Date::today(),
            target_kubernetes: None,
            target_cilium: None,
            restart_threshold: 3,
            support_warning_days: 90,
            knowledge_max_age_days: default_knowledge_max_age(),
        }
    }
}

/// What a rule sees: the model, the facts derived from it once, the
/// knowledge and the options.
pub struct Context<'a> {
    pub cluster: &'a Cluster,
    pub facts: Facts<'a>,
    pub knowledge: &'a Knowledge,
    pub options: &'a CheckOptions,
}

impl<'a> Context<'a> {
    /// The EKS cluster's name for AWS CLI commands in fixes, else the
    /// shell-quoted placeholder ([`crate::facts::ClusterIdentity::eks_name_for_commands`]).
    pub fn cluster_name(&self) -> String {
        self.facts.identity().eks_name_for_commands()
    }

    pub fn new(cluster: &'a Cluster, knowledge: &'a Knowledge, options: &'a CheckOptions) -> Self {
        Context {
            cluster,
            facts: Facts::new(cluster),
            knowledge,
            options,
        }
    }
}

/// An input a rule needs is absent: what, in words, and the command that
/// provides it. The engine adds the rule's code when it reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Missing {
    pub missing: String,
    pub how_to_provide: Option<String>,
}

impl Missing {
    pub fn new(missing: impl Into<String>, how: impl Into<String>) -> Missing {
        let how = how.into();
        Missing {
            missing: missing.into(),
            how_to_provide: (!how.is_empty()).then_some(how),
        }
    }
}

/// What evaluating one rule gives: its findings (maybe none), or the input
/// it lacks. Rules and their helpers use `?` on `Result<_, Missing>`.
pub type Outcome = Result<Vec<Finding>, Missing>;

pub trait Rule: Sync {
    fn meta(&self) -> &'static RuleMeta;
    fn check(&self, cx: &Context) -> Outcome;
}

/// A cluster checked together with others (`mesh`), named after its
/// EKS name or its snapshot.
pub struct NamedCluster {
    pub name: String,
    pub cluster: Cluster,
}

/// What a multi-cluster rule sees: every cluster of the mesh.
pub struct MeshContext<'a> {
    pub clusters: &'a [NamedCluster],
    pub knowledge: &'a Knowledge,
    pub options: &'a CheckOptions,
}

/// A rule over several clusters at once (cluster mesh).
pub trait MeshRule: Sync {
    fn meta(&self) -> &'static RuleMeta;
    fn check(&self, cx: &MeshContext) -> Outcome;
}

/// Every multi-cluster rule, once, in code order.
pub fn mesh_registry() -> &'static [&'static dyn MeshRule] {
    mesh::MESH_RULES
}

/// The documentation of every rule, single- and multi-cluster, in code
/// order (multi-cluster MESH rules follow the single-cluster ones).
pub fn all_metas() -> Vec<&'static RuleMeta> {
    let mut out: Vec<&'static RuleMeta> = Vec::new();
    let mut mesh_done = false;
    for rule in registry() {
        let m = rule.meta();
        if !mesh_done && m.area > Area::Mesh {
            out.extend(mesh_registry().iter().map(|r| r.meta()));
            mesh_done = true;
        }
        out.push(m);
    }
    if !mesh_done {
        out.extend(mesh_registry().iter().map(|r| r.meta()));
    }
    out
}

/// Look any rule's documentation up by code (case-insensitive).
pub fn find_meta(code: &str) -> Option<&'static RuleMeta> {
    all_metas()
        .into_iter()
        .find(|m| m.code.eq_ignore_ascii_case(code))
}

/// Every rule, once, in code order.
pub fn registry() -> &'static [&'static dyn Rule] {
    static REGISTRY: OnceLock<Vec<&'static dyn Rule>> = OnceLock::new();
    REGISTRY.get_or_init(|| {
        let areas: [&[&dyn Rule]; 11] = [
            cni::RULES,
            cap::RULES,
            iam::RULES,
            ver::RULES,
            sgp::RULES,
            mesh::RULES,
            ops::RULES,
            cfg::RULES,
            log::RULES,
            iac::RULES,
            conn::RULES,
        ];
        areas.into_iter().flatten().copied().collect()
    })
}

/// The README's rule table, generated from the registry (a test keeps the
/// README in sync; `eks-cilium-doctor rules --format markdown` prints it).
pub fn markdown_table() -> String {
    let mut out = String::from(
        "| code | name | severity | runs in | what it finds |\n|---|---|---|---|---|\n",
    );
    for m in all_metas() {
        let runs_in = match codes::status(m.code) {
            Some(codes::Status::Mesh) => "mesh",
            _ => "check",
        };
        out.push_str(&format!(
            "| {} | {} | {} | {runs_in} | {} |\n",
            m.code,
            m.name,
            m.severity,
            m.summary.replace('|', "\\|")
        ));
    }
    out
}

/// Evaluate every rule and assemble the report (before suppressions).
pub fn evaluate(cx: &Context) -> Report {
    let c = cx.cluster;
    let cluster = ClusterInfo {
        name: c.name.clone(),
        kubernetes_version: c.kubernetes_version().map(|v| v.minor().to_string()),
        cilium_version: c.cilium.version.map(|v| v.to_string()),
        ipam_mode: c.cilium.ipam_mode.clone(),
    };
    // The IAC rules read infrastructure code: without it (`check`) they
    // are not run, rather than listed as not evaluated in every report.
    let rules: Vec<&dyn Rule> = registry()
        .iter()
        .copied()
        .filter(|rule| rule.meta().area != Area::Iac || c.iac.is_some())
        .collect();
    let outcomes = rules
        .iter()
        .map(|rule| rule.meta())
        .zip(check_in_parallel(&rules, cx));
    report_of(
        outcomes,
        cluster,
        cx.knowledge,
        cx.options,
        c.collection_gaps.clone(),
    )
}

/// Every rule's outcome, in the rules' order. The rules share one context
/// (its facts are derived once, by whichever rule asks first) and run on
/// every core: on a 150,000-pod snapshot they take half a second on one.
fn check_in_parallel(rules: &[&dyn Rule], cx: &Context) -> Vec<Outcome> {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let workers = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .clamp(1, 8)
        .min(rules.len());
    if workers <= 1 {
        return rules.iter().map(|rule| rule.check(cx)).collect();
    }
    let next = AtomicUsize::new(0);
    let mut outcomes: Vec<Option<Outcome>> = rules.iter().map(|_| None).collect();
    std::thread::scope(|scope| {
        let workers: Vec<_> = (0..workers)
            .map(|_| {
                scope.spawn(|| {
                    let mut done = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(rule) = rules.get(i) else {
                            return done;
                        };
                        done.push((i, rule.check(cx)));
                    }
                })
            })
            .collect();
        for worker in workers {
            let done = worker
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
            for (i, outcome) in done {
                outcomes[i] = Some(outcome);
            }
        }
    });
    outcomes
        .into_iter()
        .map(|outcome| outcome.expect("every rule ran"))
        .collect()
}

/// Evaluate every multi-cluster rule over the clusters of a mesh.
pub fn evaluate_mesh(cx: &MeshContext) -> Report {
    let names: Vec<&str> = cx.clusters.iter().map(|c| c.name.as_str()).collect();
    let cluster = ClusterInfo {
        name: Some(names.join(", ")),
        ..ClusterInfo::default()
    };
    // Each cluster's gaps, the call prefixed with the cluster it belongs to.
    let gaps = cx
        .clusters
        .iter()
        .flat_map(|named| {
            named
                .cluster
                .collection_gaps
                .iter()
                .map(|gap| CollectionGap {
                    call: format!("{}: {}", named.name, gap.call),
                    ..gap.clone()
                })
        })
        .collect();
    let outcomes = mesh_registry()
        .iter()
        .map(|rule| (rule.meta(), rule.check(cx)));
    report_of(outcomes, cluster, cx.knowledge, cx.options, gaps)
}

/// The report of rules' outcomes (code, outcome), findings sorted.
fn report_of(
    outcomes: impl Iterator<Item = (&'static RuleMeta, Outcome)>,
    cluster: ClusterInfo,
    knowledge: &Knowledge,
    options: &CheckOptions,
    collection_gaps: Vec<CollectionGap>,
) -> Report {
    let mut findings = Vec::new();
    let mut evaluated_rules = Vec::new();
    let mut not_evaluated = Vec::new();
    for (rule, outcome) in outcomes {
        match outcome {
            Ok(mut f) => {
                evaluated_rules.push(rule);
                findings.append(&mut f);
            }
            Err(m) => not_evaluated.push(NotEvaluated {
                rule,
                missing: m.missing,
                how_to_provide: m.how_to_provide,
            }),
        }
    }
    for finding in &mut findings {
        finding.sanitize_names(cluster.name.as_deref());
    }
    sort_findings(&mut findings);
    Report {
        schema_version: 1,
        tool: Default::default(),
        cluster: cluster.escaped(),
        as_of: options.as_of.to_string(),
        knowledge: KnowledgeInfo::of(knowledge),
        summary: Summary::of(&findings),
        findings,
        evaluated_rules,
        not_evaluated,
        skipped_inputs: Vec::new(),
        input_notes: Vec::new(),
        collection_gaps: collection_gaps
            .into_iter()
            .map(CollectionGap::escaped)
            .collect(),
        suppressed: Vec::new(),
        unmatched_suppressions: Vec::new(),
    }
}

/// Most severe first, then by code and object, so output is stable.
fn sort_findings(findings: &mut [Finding]) {
    findings.sort_by(|a, b| {
        b.severity
            .cmp(&a.severity)
            .then_with(|| a.rule.code.cmp(b.rule.code))
            .then_with(|| a.object.cmp(&b.object))
            .then_with(|| a.message.cmp(&b.message))
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every rule reads Cilium's presence, role and IPAM from the model's
    /// facts: on the partial snapshots people send, no rule may say it lacks
    /// what the facts already know.
    #[test]
    fn every_rule_agrees_with_the_facts_on_partial_snapshots() {
        use crate::model::cilium::{CiliumPresence, Ipam};
        use crate::rules::testing::load_cluster;
        use serde_json::json;
        let agent_pod = json!({"apiVersion": "v1", "kind": "PodList", "items": [
            {"metadata": {"name": "cilium-abcde", "namespace": "kube-system", "labels": {"k8s-app": "cilium"}},
             "spec": {"nodeName": "n1", "hostNetwork": true,
                      "containers": [{"name": "cilium-agent", "image": "quay.io/cilium/cilium:v1.18.7"}]},
             "status": {"phase": "Running"}},
            {"metadata": {"name": "web-1", "namespace": "shop"},
             "spec": {"nodeName": "n1", "containers": [{"name": "web", "image": "nginx"}]},
             "status": {"phase": "Running", "podIP": "10.0.1.7"}}]});
        let config = json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "cilium-config", "namespace": "kube-system"},
            "data": {"ipam": "eni", "cluster-name": "prod"}});
        let agent_ds = json!({"apiVersion": "apps/v1", "kind": "DaemonSetList", "items": [
            {"metadata": {"name": "cilium", "namespace": "kube-system", "labels": {"k8s-app": "cilium"}},
             "spec": {"template": {"spec": {"containers": [
                {"name": "cilium-agent", "image": "quay.io/cilium/cilium:v1.18.7"}]}}}}]});
        let no_cilium = json!({"apiVersion": "apps/v1", "kind": "DaemonSetList", "items": [
            {"metadata": {"name": "aws-node", "namespace": "kube-system"},
             "spec": {"template": {"spec": {"containers": [{"name": "aws-node", "image": "amazon-k8s-cni:v1.19.2"}]}}}}]});
        let cases = [
            (
                "pods and cilium-config, no DaemonSets",
                vec![agent_pod.clone(), config.clone()],
                CiliumPresence::Running,
                true,
            ),
            (
                "the agent DaemonSet, no configuration",
                vec![agent_ds.clone()],
                CiliumPresence::Running,
                false,
            ),
            (
                "cilium-config alone",
                vec![config.clone()],
                CiliumPresence::Configured,
                true,
            ),
            (
                "DaemonSets without Cilium",
                vec![no_cilium.clone()],
                CiliumPresence::Absent,
                false,
            ),
            (
                "DaemonSets without Cilium, a cilium-config left",
                vec![no_cilium, config],
                CiliumPresence::ConfigOnly,
                true,
            ),
        ];
        for (what, documents, presence, configured) in cases {
            let cluster = load_cluster(&documents);
            assert_eq!(cluster.cilium.presence, presence, "{what}");
            assert_eq!(cluster.cilium.role.is_some(), configured, "{what}");
            if configured {
                assert_eq!(cluster.cilium.ipam, Some(Ipam::Eni), "{what}");
            }
            let options = CheckOptions::default();
            let cx = Context::new(&cluster, Knowledge::embedded(), &options);
            for rule in registry() {
                let code = rule.meta().code;
                let outcome = rule.check(&cx);
                if what.starts_with("pods and cilium-config")
                    && ["CNI003", "CAP001"].contains(&code)
                {
                    // CNI003 reads pods and endpoints, not DaemonSets; it once
                    // stopped here while the CAP gate went on.
                    assert!(
                        !matches!(&outcome, Err(n) if n.missing.contains("DaemonSets")),
                        "{what}: {code}: {outcome:?}"
                    );
                }
                let Err(n) = outcome else {
                    continue;
                };
                if presence != CiliumPresence::Unknown && presence != CiliumPresence::Configured {
                    assert!(
                        !n.missing.contains("whether the Cilium agent runs")
                            && !n.missing.contains("cannot tell whether Cilium runs"),
                        "{what}: {code} says it cannot tell whether Cilium runs: {}",
                        n.missing
                    );
                }
                if configured {
                    assert!(
                        !n.missing.contains("IPAM mode")
                            && !n
                                .missing
                                .contains("no cilium-config ConfigMap or Cilium Helm values"),
                        "{what}: {code} says the configuration is unknown: {}",
                        n.missing
                    );
                }
            }
        }
    }

    #[test]
    fn registry_lists_each_catalogue_rule_once_with_full_docs() {
        let mut seen = std::collections::BTreeSet::new();
        for rule in registry() {
            let m = rule.meta();
            assert!(seen.insert(m.code), "{} registered twice", m.code);
            assert!(
                codes::status(m.code).is_some(),
                "{} is not in the code table",
                m.code
            );
            let area = serde_json::to_value(m.area).unwrap();
            assert!(
                m.code.starts_with(area.as_str().unwrap()),
                "{}: area",
                m.code
            );
            assert!(
                m.name
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'),
                "{}: name {:?} is not kebab-case",
                m.code,
                m.name
            );
            for (section, text) in [
                ("summary", m.summary),
                ("what_it_checks", m.what_it_checks),
                ("why_it_matters", m.why_it_matters),
                ("how_to_fix", m.how_to_fix),
                ("known_limits", m.known_limits),
                ("docs_url", m.docs_url),
            ] {
                assert!(!text.trim().is_empty(), "{}: empty {section}", m.code);
            }
        }
    }
}
