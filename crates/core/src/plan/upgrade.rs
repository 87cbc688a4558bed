//! `plan upgrade --to X.Y`: a runbook that takes Cilium and the EKS control
//! plane (then add-ons and node groups) one minor at a time to Kubernetes
//! X.Y, so that every (Cilium, Kubernetes) pair on the way is e2e-tested.
//!
//! The order of the steps comes from the shared upgrade path
//! ([`crate::rules::ver::upgrade_path`]); this module adds what each step
//! needs: Helm value migrations, Cilium's pre-flight check, kernel and AMI
//! changes, EKS commands, what to watch and how to roll back. The findings
//! the check rules report for the target come first.

use std::collections::BTreeMap;

use serde::Serialize;

use super::{Action, PlanError};
use crate::engine::Engine;
use crate::findings::Finding;
use crate::knowledge::{AmiFamily, Knowledge};
use crate::model::{Cluster, Nodegroup};
use crate::rules::ver::{
    al2023_nodegroup_command, chart_version, cilium_namespace, family_name, family_of_ami_type,
    flatten_values, helm_upgrade, helm_values_backup, minor_range, step_release,
    tunnel_translation, upgrade_path, Step,
};
use crate::rules::{Area, CheckOptions, Context};
use crate::suppress::SuppressionConfig;
use crate::version::{Date, KernelVersion, Minor, Version};

/// Rules whose findings bear on an upgrade: versions and support windows,
/// the vpc-cni add-on that an add-on update re-applies, and the operator's
/// IAM actions (they grow with Cilium minors).
const RELEVANT_RULES: &[&str] = &["CNI002", "IAM001"];
const RELEVANT_AREA: Area = Area::Ver;

/// The chart keys Cilium's documented pre-flight install sets
/// (`helm install cilium-preflight ... --set preflight.enabled=true
/// --set agent=false --set operator.enabled=false`, upgrade guide).
const PREFLIGHT_KEYS: [&str; 3] = ["preflight.enabled", "agent", "operator.enabled"];

#[derive(Debug, Clone)]
pub struct UpgradeRequest {
    pub target_kubernetes: Minor,
    /// Support windows are evaluated as of this day.
    pub as_of: Date,
    /// What the user suppressed (`.eks-cilium-doctor.yaml`, annotations):
    /// a suppressed finding stays out of the plan as it stays out of `check`.
    pub suppressions: SuppressionConfig,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Versions {
    pub kubernetes: String,
    pub cilium: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum StepKind {
    Cilium,
    Kubernetes,
}

/// A Helm value the user sets that the chart of a step no longer has.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HelmMigration {
    /// The removed key as the chart data names it.
    pub key: String,
    /// What the user's values set under it (`key=value`).
    pub set: Vec<String>,
    pub removed_in: String,
    pub replacement: Option<String>,
    /// The chart refuses to render while the key is set.
    pub chart_fails: bool,
    /// The edit to make in the values file.
    pub edit: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PlanStep {
    pub number: usize,
    pub kind: StepKind,
    pub title: String,
    /// The versions running after this step.
    pub after: Versions,
    /// Whether Cilium e2e-tests the pair this step leads to.
    pub tested: bool,
    pub tested_note: String,
    pub helm_migrations: Vec<HelmMigration>,
    pub before: Vec<Action>,
    pub run: Vec<Action>,
    pub verify: Vec<Action>,
    pub watch: Vec<String>,
    pub rollback: Vec<Action>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UpgradePlan {
    pub schema_version: u32,
    pub cluster: String,
    pub as_of: String,
    pub from: Versions,
    pub to: Versions,
    /// `upgradePolicy.supportType` as the snapshot shows it.
    pub support_type: String,
    pub warnings: Vec<String>,
    /// Findings of the check rules for the target, most severe first.
    pub findings: Vec<Finding>,
    pub before_you_start: Vec<Action>,
    pub steps: Vec<PlanStep>,
}

/// A node group as the plan moves it (AL2 groups are replaced by AL2023 ones).
#[derive(Debug, Clone)]
struct Group<'a> {
    name: String,
    family: Option<AmiFamily>,
    /// The group as described; `None` once replaced by the plan.
    described: Option<&'a Nodegroup>,
}

struct Planner<'a> {
    cluster: &'a Cluster,
    k: &'a Knowledge,
    name: String,
    ns: String,
    groups: Vec<Group<'a>>,
    /// The user's flattened Helm values not yet migrated.
    values: BTreeMap<String, serde_json::Value>,
    eni: bool,
    /// Whether a Kubernetes step has rolled the node groups already.
    nodes_rolled: bool,
}

pub fn plan_upgrade(
    cluster: &Cluster,
    knowledge: &Knowledge,
    request: &UpgradeRequest,
) -> Result<UpgradePlan, PlanError> {
    let target = request.target_kubernetes;
    let kubernetes = cluster.kubernetes_version().map(Version::minor).ok_or_else(|| {
        PlanError("the snapshot has no Kubernetes version: add `kubectl version -o json` or `aws eks describe-cluster` output".into())
    })?;
    let cilium = cluster.cilium.version.ok_or_else(|| {
        PlanError("the snapshot has no Cilium version: add `kubectl get daemonsets -A -o json` (the cilium agent DaemonSet with a tagged image)".into())
    })?;
    if target <= kubernetes {
        return Err(PlanError(format!(
            "--to {target} is not above the running Kubernetes {kubernetes}: plan upgrade only moves forward (EKS rolls a control plane back only by {} minor, within {} days of an in-place upgrade: aws eks update-cluster-version --kubernetes-version with the previous minor)",
            knowledge.control_plane_rollback.minors_back,
            knowledge.control_plane_rollback.window_days
        )));
    }
    if knowledge.support_calendar(cluster, target).is_none() {
        let known: Vec<String> = knowledge
            .support_calendar_minors(cluster)
            .iter()
            .map(Minor::to_string)
            .collect();
        return Err(PlanError(format!(
            "unknown Kubernetes version {target}: the EKS calendar (the embedded one, and DescribeClusterVersions in the snapshot) has {}",
            known.join(", ")
        )));
    }
    let path = upgrade_path(knowledge, cilium.minor(), kubernetes, target, None)
        .map_err(|e| PlanError(format!("no upgrade path to Kubernetes {target}: {e}")))?;

    let options = CheckOptions {
        as_of: request.as_of,
        target_kubernetes: Some(target),
        ..CheckOptions::default()
    };
    let engine = Engine {
        knowledge,
        options: &options,
        suppressions: &request.suppressions,
    };
    let findings: Vec<Finding> = engine
        .check_cluster(cluster)
        .findings
        .into_iter()
        .filter(|f| f.rule.area == RELEVANT_AREA || RELEVANT_RULES.contains(&f.rule.code))
        .collect();
    let cx = Context::new(cluster, knowledge, &options);

    let mut planner = Planner {
        cluster,
        k: knowledge,
        name: cx.cluster_name(),
        ns: cilium_namespace(&cx),
        groups: cluster
            .nodegroups
            .as_deref()
            .unwrap_or_default()
            .iter()
            .map(|n| Group {
                name: n.nodegroup_name.clone(),
                family: n.ami_type.as_deref().and_then(family_of_ami_type),
                described: Some(n),
            })
            .collect(),
        values: cluster
            .helm_values
            .as_ref()
            .map(flatten_values)
            .unwrap_or_default(),
        eni: cluster.cilium.ipam_is_eni(),
        nodes_rolled: false,
    };

    let (support_type, warnings) = support_warnings(&planner, kubernetes, &path, request.as_of);
    let mut before_you_start = vec![Action::run(
        "Save the Cilium Helm values; every `helm upgrade` below reads this file",
        helm_values_backup(&planner.ns),
    )];
    if planner
        .addon_names()
        .is_some_and(|a| a.iter().any(|n| n == "vpc-cni"))
    {
        before_you_start.push(Action::run(
            "The vpc-cni EKS add-on is installed: never update it in the steps below, an update re-applies aws-node's nodeSelector and brings the VPC CNI back next to Cilium (CNI002). Take it out of EKS management, keeping aws-node as it is",
            format!(
                "aws eks delete-addon --cluster-name {} --addon-name vpc-cni --preserve",
                planner.name
            ),
        ));
    }
    if cluster.helm_values.is_none() {
        before_you_start.push(Action::note(
            "The snapshot has no Helm values (`--helm-values FILE`): removed keys could not be checked; re-run the plan with them",
        ));
    }

    let mut steps = Vec::new();
    let (mut c_now, mut k_now) = (cilium, kubernetes);
    for (i, planned) in path.steps.iter().enumerate() {
        let number = i + 1;
        let step = match planned.step {
            Step::Cilium(to) => {
                let s = planner.cilium_step(number, c_now, to, k_now, planned.tested);
                c_now = step_release(knowledge, to).unwrap_or(Version::new(to.major, to.minor, 0));
                s
            }
            Step::Kubernetes(to) => {
                let s = planner.kubernetes_step(number, k_now, to, c_now, planned.tested);
                planner.nodes_rolled = true;
                k_now = to;
                s
            }
        };
        steps.push(step);
    }

    Ok(UpgradePlan {
        schema_version: 1,
        cluster: planner.name.clone(),
        as_of: request.as_of.to_string(),
        from: Versions {
            kubernetes: kubernetes.to_string(),
            cilium: cilium.to_string(),
        },
        to: Versions {
            kubernetes: target.to_string(),
            cilium: c_now.to_string(),
        },
        support_type,
        warnings,
        findings,
        before_you_start,
        steps,
    })
}

/// What EKS does on its own while the plan runs: the upgrade policy and, for
/// each Kubernetes minor the plan stays on, when EKS may move it on.
fn support_warnings(
    p: &Planner,
    kubernetes: Minor,
    path: &crate::rules::ver::UpgradePath,
    as_of: Date,
) -> (String, Vec<String>) {
    let declared = p
        .cluster
        .eks
        .as_ref()
        .and_then(|e| e.upgrade_policy.as_ref())
        .and_then(|u| u.support_type.as_deref())
        .map(str::to_ascii_uppercase);
    let standard = declared.as_deref() == Some("STANDARD");
    let support_type = match &declared {
        Some(s) => s.clone(),
        None => "EXTENDED (not in the snapshot; the AWS default)".to_string(),
    };
    let mut warnings = Vec::new();
    // The minors the control plane sits on before each of its steps.
    let mut stays = vec![kubernetes];
    stays.extend(path.steps.iter().filter_map(|s| match s.step {
        Step::Kubernetes(k) if k < path.kubernetes_to => Some(k),
        _ => None,
    }));
    for (i, minor) in stays.iter().enumerate() {
        let Some(cal) = p.k.support_calendar(p.cluster, *minor) else {
            warnings.push(format!(
                "No EKS support calendar for Kubernetes {minor} in the data or the snapshot: check its end of support before you start (aws eks describe-cluster-versions --cluster-versions {minor} --include-all)"
            ));
            continue;
        };
        let (deadline, kind) = if standard {
            (cal.end_of_standard_support, "standard")
        } else {
            (cal.end_of_extended_support, "extended")
        };
        let days = as_of.days_until(deadline);
        let next = minor.next();
        let here = if i == 0 {
            "The cluster runs"
        } else {
            "The plan passes"
        };
        if days < 0 {
            warnings.push(format!(
                "{here} Kubernetes {minor}, whose EKS {kind} support ended on {deadline}: EKS can upgrade the control plane to {next} at any time, without notice. Do not pause on {minor}. Support dates from {}.",
                cal.source
            ));
        } else if days <= 90 {
            warnings.push(format!(
                "{here} Kubernetes {minor}: EKS {kind} support ends on {deadline} (in {days} days), then EKS upgrades the control plane to {next} on its own. Finish the steps that leave {minor} before then. Support dates from {}.",
                cal.source
            ));
        }
        if i == 0 && standard && as_of < cal.end_of_standard_support {
            warnings.push(format!(
                "upgradePolicy.supportType is STANDARD: EKS upgrades {minor} at the end of standard support ({}). To keep {minor} until {} while the plan runs (billed as extended support), while {minor} is still in standard support: aws eks update-cluster-config --name {} --upgrade-policy supportType=EXTENDED",
                cal.end_of_standard_support, cal.end_of_extended_support, p.name
            ));
        }
    }
    (support_type, warnings)
}

impl Planner<'_> {
    fn cilium_step(
        &mut self,
        number: usize,
        from: Version,
        to: Minor,
        kubernetes: Minor,
        tested: bool,
    ) -> PlanStep {
        let version = chart_version(self.k, to);
        let data = self.k.cilium_minor(to);
        let tested_note = match data {
            Some(d) => format!(
                "Cilium {to} e2e-tests Kubernetes {}{}",
                minor_range(&d.k8s_tested),
                if tested {
                    String::new()
                } else {
                    format!(", not {kubernetes}: do not stay on this pair")
                }
            ),
            None => format!("no data for Cilium {to}"),
        };
        let helm_migrations = self.migrations(to);
        let mut before = Vec::new();
        for m in &helm_migrations {
            before.push(Action::run(
                format!(
                    "Migrate `{}` (removed in Cilium {}{}): {}",
                    m.key,
                    m.removed_in,
                    if m.chart_fails {
                        "; the chart refuses to render while it is set"
                    } else {
                        "; the chart ignores it"
                    },
                    m.edit
                ),
                format!("yq -i 'del(.{})' cilium-values.yaml", m.key),
            ));
        }
        if data.is_some() && step_release(self.k, to).is_none() {
            let issues: Vec<String> = self
                .k
                .cilium_minor(to)
                .map(|d| {
                    self.k
                        .known_bad(d.latest_patch)
                        .map(|i| format!("{} ({})", i.id, i.title))
                        .collect()
                })
                .unwrap_or_default();
            before.push(Action::note(format!(
                "Every release of Cilium {to} the tool knows is known-bad: {}. Pick the newest {to} patch released after them (the chart constraint {version} below) and check its release notes",
                issues.join("; ")
            )));
        }
        before.extend(self.kernel_check(to, kubernetes));
        before.extend(self.iam_changes(from.minor(), to));
        before.extend(self.preflight(to, &version));

        let rollout = format!(
            "kubectl -n {ns} rollout status daemonset/cilium && kubectl -n {ns} rollout status deployment/cilium-operator",
            ns = self.ns
        );
        PlanStep {
            number,
            kind: StepKind::Cilium,
            title: format!("Cilium {from} → {version} on Kubernetes {kubernetes}"),
            after: Versions {
                kubernetes: kubernetes.to_string(),
                cilium: version.clone(),
            },
            tested,
            tested_note,
            helm_migrations,
            before,
            run: vec![Action::run(
                format!("Upgrade Cilium to {version} with the saved values"),
                helm_upgrade(self.k, &self.ns, to),
            )],
            verify: vec![
                Action::run("Wait for the agents and the operator to roll out", rollout),
                Action::run("Every component reports OK", "cilium status --wait"),
                Action::run(
                    "Pod-to-pod, pod-to-service and egress still work",
                    "cilium connectivity test",
                ),
            ],
            watch: vec![
                format!("Agent restarts or CrashLoopBackOff: kubectl -n {} get pods -l k8s-app=cilium", self.ns),
                "New pods stuck in ContainerCreating (no IP) while the agents restart".to_string(),
                format!("The version-specific notes for {to}: https://docs.cilium.io/en/v{to}/operations/upgrade/"),
            ],
            rollback: vec![Action::run(
                format!("Back to Cilium {from} and the values it ran with (the previous Helm revision)"),
                format!("helm rollback cilium --namespace {}", self.ns),
            )],
        }
    }

    /// Removed keys the values still set, up to the chart of `to` (keys a
    /// later chart knows again are not removed). Migrated keys are dropped
    /// so that a later step does not list them again.
    fn migrations(&mut self, to: Minor) -> Vec<HelmMigration> {
        let mut removals = BTreeMap::new();
        for minor in self.k.cilium.iter().filter(|m| m.minor <= to) {
            for r in &minor.helm_keys_removed {
                removals.insert(r.key.clone(), (minor.minor, r.clone()));
            }
        }
        let known_again = self.k.helm_keys(to);
        let mut hits: BTreeMap<String, Vec<(String, serde_json::Value)>> = BTreeMap::new();
        for (key, value) in &self.values {
            let mut candidate = key.as_str();
            loop {
                if removals.contains_key(candidate)
                    && !known_again.is_some_and(|keys| keys.contains(candidate))
                {
                    hits.entry(candidate.to_string())
                        .or_default()
                        .push((key.clone(), value.clone()));
                    break;
                }
                match candidate.rfind('.') {
                    Some(i) => candidate = &candidate[..i],
                    None => break,
                }
            }
        }
        let mut out = Vec::new();
        for (key, set) in hits {
            let (removed_in, info) = &removals[&key];
            for (k, _) in &set {
                self.values.remove(k);
            }
            let edit = match (
                &info.replacement,
                tunnel_translation(&key, set.first().map(|(_, v)| v)),
            ) {
                (_, Some(sets)) => format!("delete it and set {sets}"),
                (Some(r), None) => {
                    format!("delete it and set its replacement ({r}) to the value you meant")
                }
                (None, None) => "delete it (no replacement)".to_string(),
            };
            out.push(HelmMigration {
                key,
                set: set
                    .iter()
                    .map(|(k, v)| format!("{k}={}", value_text(v)))
                    .collect(),
                removed_in: removed_in.to_string(),
                replacement: info.replacement.clone(),
                chart_fails: info.chart_fails,
                edit,
            });
        }
        out
    }

    /// Kernels below the minimum of Cilium `to`: the snapshot's nodes while
    /// they still run; once node groups have rolled to `kubernetes`, the
    /// kernel series of their new AMIs.
    fn kernel_check(&self, to: Minor, kubernetes: Minor) -> Option<Action> {
        let min = self.k.cilium_minor(to)?.min_kernel;
        let low: Vec<String> = if self.nodes_rolled {
            self.groups
                .iter()
                .filter_map(|g| {
                    let series = self.k.ami_kernel(g.family?, kubernetes)?;
                    (series_below(series, min)).then(|| {
                        format!(
                            "node group {} (AMIs for {kubernetes}: kernel {series})",
                            g.name
                        )
                    })
                })
                .collect()
        } else {
            self.cluster
                .nodes
                .as_deref()
                .unwrap_or_default()
                .iter()
                .filter_map(|n| {
                    let info = &n.status.node_info;
                    let kernel: KernelVersion = info.kernel_version.parse().ok()?;
                    (kernel < min).then(|| format!("{} ({})", n.metadata.name, info.kernel_version))
                })
                .collect()
        };
        (!low.is_empty()).then(|| {
            Action::note(format!(
                "Cilium {to} needs kernel {min} or newer; replace these nodes first: {}",
                low.join(", ")
            ))
        })
    }

    /// EC2 actions the operator needs from `to` on that `from` did not.
    fn iam_changes(&self, from: Minor, to: Minor) -> Option<Action> {
        if !self.eni {
            return None;
        }
        let old = self.k.cilium_minor(from).map(|m| &m.eni_required_actions);
        let new = &self.k.cilium_minor(to)?.eni_required_actions;
        let added: Vec<&str> = new
            .iter()
            .filter(|a| old.is_none_or(|o| !o.contains(a)))
            .map(String::as_str)
            .collect();
        (!added.is_empty()).then(|| {
            Action::note(format!(
                "ENI mode: add to the cilium-operator's IAM policy the EC2 actions Cilium {to} requires and {from} did not: {}",
                added.join(", ")
            ))
        })
    }

    /// Cilium's pre-flight check, when the chart of `to` has its keys.
    fn preflight(&self, to: Minor, version: &str) -> Vec<Action> {
        let has_keys = self
            .k
            .helm_keys(to)
            .is_some_and(|keys| PREFLIGHT_KEYS.iter().all(|k| keys.contains(*k)));
        if !has_keys {
            return vec![];
        }
        let ns = &self.ns;
        vec![
            Action::run(
                format!("Pre-flight: pre-pull the {version} image on every node and validate the network policies (Cilium's upgrade guide)"),
                format!("helm install cilium-preflight cilium/cilium --version {version} --namespace {ns} --set preflight.enabled=true --set agent=false --set operator.enabled=false"),
            ),
            Action::run(
                "Wait until cilium-pre-flight-check is READY on every node",
                format!("kubectl -n {ns} get daemonset cilium-pre-flight-check"),
            ),
            Action::run(
                "Remove the pre-flight release",
                format!("helm delete cilium-preflight --namespace {ns}"),
            ),
        ]
    }

    fn kubernetes_step(
        &mut self,
        number: usize,
        from: Minor,
        to: Minor,
        cilium: Version,
        tested: bool,
    ) -> PlanStep {
        let name = self.name.clone();
        let c = cilium.minor();
        let tested_note = match self.k.cilium_minor(c) {
            Some(d) if tested => format!(
                "Cilium {c} e2e-tests Kubernetes {}",
                minor_range(&d.k8s_tested)
            ),
            Some(d) => format!(
                "Cilium {c} e2e-tests Kubernetes {}, not {to}: do not stay on this pair",
                minor_range(&d.k8s_tested)
            ),
            None => format!("no data for Cilium {c}"),
        };
        let mut before = vec![Action::note(format!(
            "Every managed node group must run {from} before the control plane moves (EKS refuses otherwise)"
        ))];
        before.extend(self.node_image_changes(from, to, c));
        before.extend(self.insight_actions(to));

        let mut run = vec![
            Action::run(
                format!("Upgrade the control plane to {to}"),
                format!("aws eks update-cluster-version --name {name} --kubernetes-version {to}"),
            ),
            Action::run(
                "Wait until the cluster is ACTIVE again",
                format!("aws eks wait cluster-active --name {name}"),
            ),
        ];
        run.extend(self.addon_actions(to));
        run.extend(self.nodegroup_actions(to));

        PlanStep {
            number,
            kind: StepKind::Kubernetes,
            title: format!("Kubernetes {from} → {to} with Cilium {cilium}"),
            after: Versions {
                kubernetes: to.to_string(),
                cilium: cilium.to_string(),
            },
            tested,
            tested_note,
            helm_migrations: vec![],
            before,
            run,
            verify: vec![
                Action::run(
                    format!("The control plane reports {to}"),
                    format!("aws eks describe-cluster --name {name} --query cluster.version"),
                ),
                Action::run(format!("Every node runs kubelet {to}"), "kubectl get nodes"),
                Action::run("Cilium is healthy on the new nodes", "cilium status --wait"),
            ],
            watch: vec![
                format!("Cilium agents on the new nodes become ready: kubectl -n {} get pods -l k8s-app=cilium -o wide", self.ns),
                "Pods stuck in ContainerCreating or Pending while node groups roll".to_string(),
                "Removed Kubernetes APIs your manifests still use (the Kubernetes changelog of this minor)".to_string(),
            ],
            rollback: self.control_plane_rollback(from, to, cilium),
        }
    }

    /// EKS upgrade insights for `to` that are not PASSING (VER013): each
    /// to fix before the control plane moves; ERROR ones make
    /// update-cluster-version fail unless forced.
    fn insight_actions(&self, to: Minor) -> Vec<Action> {
        use crate::rules::ver::ver013_eks_insight_not_passing::{kind_of, label};
        let Some(insights) = self.cluster.eks_insights() else {
            return Vec::new();
        };
        let name = &self.name;
        insights
            .into_iter()
            .filter(|i| i.kubernetes_minor() == Some(to))
            .filter_map(|i| Some((i.status().filter(|s| s != "PASSING")?, i)))
            .map(|(status, i)| {
                let reason = i
                    .insight_status
                    .as_ref()
                    .and_then(|s| s.reason.as_deref())
                    .map(|r| format!(": {r}"))
                    .unwrap_or_default();
                let upgrade = i.category.as_deref().map(str::to_ascii_uppercase).as_deref()
                    == Some("UPGRADE_READINESS");
                let blocks = if upgrade && status == "ERROR" {
                    format!(
                        "; until it is fixed, update-cluster-version to {to} fails (\"{}\") unless forced",
                        self.k.cluster_insights.upgrade_blocked_message
                    )
                } else {
                    String::new()
                };
                Action::run(
                    format!(
                        "Fix the EKS {} \"{}\" for {to}, {status}{reason}{blocks} (VER013)",
                        kind_of(i),
                        label(i)
                    ),
                    format!("aws eks describe-insight --cluster-name {name} --id {}", i.id),
                )
            })
            .collect()
    }

    /// The way back from a Kubernetes step, as the EKS rollback facts state
    /// it, and whether the step's Cilium keeps a rollback on tested ground.
    fn control_plane_rollback(&self, from: Minor, to: Minor, cilium: Version) -> Vec<Action> {
        let facts = &self.k.control_plane_rollback;
        let name = &self.name;
        let c = cilium.minor();
        let cilium_note = match self.k.cilium_minor(c) {
            Some(m) if m.k8s_tested.contains(&from) => format!(
                "Cilium {cilium} is a self-managed Helm release and stays as it is; it e2e-tests {from} too, so the rolled-back pair is tested"
            ),
            Some(m) => format!(
                "Cilium {cilium} is a self-managed Helm release and stays as it is, but it does not e2e-test {from} (it tests {}): a rollback lands on an untested pair",
                minor_range(&m.k8s_tested)
            ),
            None => format!("Cilium {cilium} stays as it is (no data on what it tests)"),
        };
        vec![
            Action::note(format!(
                "{} (confidence {} in the EKS user guide).",
                facts.describe(from, to),
                facts.confidence
            )),
            Action::note(
                "Nodes must not be newer than the control plane: roll managed node groups back first (aws eks update-nodegroup-version with the previous release), self-managed and hybrid nodes yourself",
            ),
            Action::run(
                format!("Roll the control plane back to {from} (only within the window)"),
                format!("aws eks update-cluster-version --name {name} --kubernetes-version {from}"),
            ),
            Action::note(cilium_note),
            Action::note(
                "Roll node groups one at a time and keep the previous group until the new nodes are healthy, so that a bad AMI hits one group only",
            ),
        ]
    }

    /// AMI family and kernel changes the node groups go through at `to`,
    /// and the kernel of the new AMIs against Cilium's minimum.
    fn node_image_changes(&mut self, from: Minor, to: Minor, cilium: Minor) -> Vec<Action> {
        let mut out = Vec::new();
        let min_kernel = self.k.cilium_minor(cilium).map(|m| m.min_kernel);
        let al2_last = self.k.al2_last_kubernetes;
        let name = self.name.clone();
        for g in &mut self.groups {
            let Some(family) = g.family else { continue };
            if family == AmiFamily::Al2 && to > al2_last {
                let kernel = self.k.ami_kernel(AmiFamily::Al2023, to);
                let create = g.described.map(|ng| al2023_nodegroup_command(&name, ng));
                out.push(Action {
                    text: format!(
                        "Node group {}: EKS has no AL2 AMIs after Kubernetes {al2_last}. Replace it with an AL2023 group{} (copy labels and taints such as node.cilium.io/agent-not-ready; nodeadm replaces bootstrap.sh user data), move the workloads, then delete {}",
                        g.name,
                        kernel.map(|k| format!(" (kernel {k})")).unwrap_or_default(),
                        g.name
                    ),
                    command: create.map(|c| {
                        format!(
                            "{c}\naws eks delete-nodegroup --cluster-name {name} --nodegroup-name {}",
                            g.name
                        )
                    }),
                });
                g.name = format!("{}-al2023", g.name);
                g.family = Some(AmiFamily::Al2023);
                g.described = None;
                continue;
            }
            let (Some(old), Some(new)) = (
                self.k.ami_kernel(family, from),
                self.k.ami_kernel(family, to),
            ) else {
                continue;
            };
            if old != new {
                let below = min_kernel.filter(|m| series_below(new, *m));
                out.push(Action::note(format!(
                    "Node group {} ({}): the {to} AMIs move the kernel from {old} to {new}{}",
                    g.name,
                    family_name(family),
                    match below {
                        Some(m) => format!(", below Cilium {cilium}'s minimum {m}"),
                        None => "; watch Cilium's datapath on the first new nodes".to_string(),
                    }
                )));
            }
        }
        out
    }

    fn addon_actions(&self, to: Minor) -> Vec<Action> {
        let name = &self.name;
        let Some(addons) = self.addon_names() else {
            return vec![Action::run(
                format!("Update each EKS add-on to a version for {to} (the snapshot has no add-on list)"),
                format!("aws eks list-addons --cluster-name {name}"),
            )];
        };
        let mut out = Vec::new();
        for addon in addons {
            if addon == "vpc-cni" {
                // Taken out of EKS management before the plan starts.
                continue;
            }
            out.push(Action::run(
                format!("Add-on {addon}: pick the version for {to}, then update"),
                format!(
                    "aws eks describe-addon-versions --addon-name {addon} --kubernetes-version {to}\naws eks update-addon --cluster-name {name} --addon-name {addon} --addon-version VERSION"
                ),
            ));
        }
        out
    }

    fn addon_names(&self) -> Option<Vec<String>> {
        let c = self.cluster;
        let mut names: Vec<String> = c.addon_names.clone().unwrap_or_default();
        names.extend(
            c.addons
                .as_deref()
                .unwrap_or_default()
                .iter()
                .map(|a| a.addon_name.clone()),
        );
        if c.addon_names.is_none() && c.addons.is_none() {
            return None;
        }
        names.sort();
        names.dedup();
        Some(names)
    }

    fn nodegroup_actions(&self, to: Minor) -> Vec<Action> {
        let name = &self.name;
        let mut out: Vec<Action> = if self.groups.is_empty() {
            vec![Action::run(
                format!("Upgrade each managed node group to {to} (the snapshot lists none)"),
                format!("aws eks update-nodegroup-version --cluster-name {name} --nodegroup-name NODEGROUP --kubernetes-version {to}"),
            )]
        } else {
            self.groups
                .iter()
                .map(|g| {
                    Action::run(
                        format!("Node group {}: roll to the {to} AMI", g.name),
                        format!("aws eks update-nodegroup-version --cluster-name {name} --nodegroup-name {} --kubernetes-version {to}", g.name),
                    )
                })
                .collect()
        };
        if self
            .cluster
            .node_pools
            .as_deref()
            .is_some_and(|p| !p.is_empty())
        {
            out.push(Action::note(format!(
                "Karpenter NodePools: point their EC2NodeClass AMI selection at the {to} AMIs (e.g. an al2023@latest alias) and let drift replace the nodes"
            )));
        }
        out
    }
}

/// Whether even the newest kernel of a series (`6.1`) is below `min`.
fn series_below(series: Minor, min: KernelVersion) -> bool {
    KernelVersion {
        major: series.major,
        minor: series.minor,
        patch: u32::MAX,
    } < min
}

fn value_text(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::ver::testkit::{agent_ds, m, node, server_version, typed_cluster};

    fn steps(plan: &UpgradePlan) -> String {
        plan.steps
            .iter()
            .map(|s| {
                let v = match s.kind {
                    StepKind::Cilium => format!("c{}", s.after.cilium),
                    StepKind::Kubernetes => format!("k{}", s.after.kubernetes),
                };
                if s.tested {
                    v
                } else {
                    format!("{v}!")
                }
            })
            .collect::<Vec<_>>()
            .join(" ")
    }

    fn request(to: &str) -> UpgradeRequest {
        UpgradeRequest {
            target_kubernetes: m(to),
            as_of: "2026-11-26".parse().unwrap(),
            suppressions: Default::default(),
        }
    }

    #[test]
    fn interleaves_cilium_and_kubernetes_when_the_windows_force_it() {
        let k = Knowledge::embedded();
        let c = typed_cluster(vec![server_version("v1.27.16-eks-1"), agent_ds("1.15.11")]);
        let plan = plan_upgrade(&c, k, &request("1.33")).unwrap();
        let patch = |minor: &str| k.cilium_minor(m(minor)).unwrap().latest_patch.to_string();
        assert_eq!(
            steps(&plan),
            format!(
                "c{} k1.28 k1.29 c{} k1.30 c{} k1.31 k1.32 k1.33",
                patch("1.16"),
                patch("1.17"),
                patch("1.18")
            )
        );
        // No node groups in the snapshot: the generic command, with a placeholder.
        let k8s = &plan.steps[1];
        assert!(k8s
            .run
            .iter()
            .any(|a| a.command.as_deref().is_some_and(
                |c| c.contains("--nodegroup-name NODEGROUP --kubernetes-version 1.28")
            )));
        // Without the upgrade policy the AWS default applies and is named.
        assert!(plan.support_type.starts_with("EXTENDED"));
    }

    #[test]
    fn the_kubernetes_step_names_the_insights_that_block_its_version() {
        let k = Knowledge::embedded();
        let mut c = typed_cluster(vec![server_version("v1.32.9-eks-1"), agent_ds("1.18.4")]);
        // The real list-insights of the VER013 fixture: AL2 compatibility is
        // ERROR for 1.33; the PASSING ones and other versions stay out.
        let listed: serde_json::Value = serde_json::from_str(include_str!(
            "../../tests/fixtures/VER013/fires/eks-insights.json"
        ))
        .unwrap();
        let mut insights: Vec<crate::model::EksInsight> =
            serde_json::from_value(listed["insights"].clone()).unwrap();
        insights.push(
            serde_json::from_value(
                serde_json::json!({"id": "w", "name": "Deprecated APIs removed in Kubernetes v1.35",
                "category": "UPGRADE_READINESS", "kubernetesVersion": "1.35",
                "insightStatus": {"status": "WARNING"}}),
            )
            .unwrap(),
        );
        c.eks_insights = Some(insights);
        let plan = plan_upgrade(&c, k, &request("1.33")).unwrap();
        let step = plan
            .steps
            .iter()
            .find(|s| s.kind == StepKind::Kubernetes && s.after.kubernetes == "1.33")
            .unwrap();
        let named: Vec<&Action> = step
            .before
            .iter()
            .filter(|a| a.text.contains("(VER013)"))
            .collect();
        assert_eq!(named.len(), 1, "{:?}", step.before);
        assert!(named[0].text.starts_with("Fix the EKS upgrade insight \"Amazon Linux 2 compatibility\" for 1.33, ERROR: The cluster contains legacy Amazon Linux 2 (AL2) nodes."), "{}", named[0].text);
        assert!(named[0].text.contains(
            "update-cluster-version to 1.33 fails (\"Amazon EKS detected upgrade readiness issues."
        ));
        assert_eq!(
            named[0].command.as_deref(),
            Some("aws eks describe-insight --cluster-name '<cluster-name>' --id 58e8cc63-f2f7-4d22-98cf-a5a9c953fd5a")
        );
    }

    #[test]
    fn a_step_never_lands_on_a_known_bad_release() {
        // As if 1.17.3 were the latest known patch: KI001 affects it, so the
        // step installs the release that fixes it (1.17.5) instead.
        let mut k = Knowledge::embedded().clone();
        let latest = k.cilium.iter_mut().find(|c| c.minor == m("1.17")).unwrap();
        latest.latest_patch = "1.17.3".parse().unwrap();
        let c = typed_cluster(vec![server_version("v1.30.4-eks-1"), agent_ds("1.16.5")]);
        let plan = plan_upgrade(&c, &k, &request("1.31")).unwrap();
        let s = steps(&plan);
        assert!(s.contains("c1.17.5"), "{s}");
        assert!(!s.contains("c1.17.3"), "{s}");
        // Nothing outside the known issues: a constraint and a note, no bad pin.
        k.known_issues.versioned.iter_mut().for_each(|i| {
            if i.id == "KI001" {
                i.fixed_in.clear();
                i.affected[0].fixed = None;
            }
        });
        let plan = plan_upgrade(&c, &k, &request("1.31")).unwrap();
        let step = plan
            .steps
            .iter()
            .find(|s| s.kind == StepKind::Cilium)
            .unwrap();
        assert!(step.before.iter().any(|a| a.text.contains("known-bad")));
        assert!(step.run[0]
            .command
            .as_deref()
            .is_some_and(|c| c.contains("'~1.17.0'")));
    }

    #[test]
    fn an_untested_running_pair_is_marked() {
        // Cilium 1.15 does not test 1.31: the first step lands on 1.16, untested too.
        let c = typed_cluster(vec![server_version("v1.31.1"), agent_ds("1.15.11")]);
        let plan = plan_upgrade(&c, Knowledge::embedded(), &request("1.32")).unwrap();
        assert!(!plan.steps[0].tested);
        assert!(plan.steps[0]
            .tested_note
            .contains("do not stay on this pair"));
    }

    #[test]
    fn old_kernels_are_named_before_the_cilium_step() {
        let k = Knowledge::embedded();
        let min = k.cilium_minor(m("1.16")).unwrap().min_kernel;
        assert!(min > "4.14.0".parse().unwrap());
        let c = typed_cluster(vec![
            server_version("v1.29.1"),
            agent_ds("1.15.11"),
            node(
                "old-1",
                "v1.29.1",
                "4.14.355-1.amzn2.x86_64",
                "Amazon Linux 2",
                None,
            ),
        ]);
        let plan = plan_upgrade(&c, k, &request("1.30")).unwrap();
        let first = &plan.steps[0];
        assert_eq!(first.kind, StepKind::Cilium);
        assert!(first.before.iter().any(|a| a
            .text
            .contains("replace these nodes first: old-1 (4.14.355")));
    }

    #[test]
    fn a_target_only_describe_cluster_versions_knows_is_planned_from_its_dates() {
        let k = crate::rules::ver::testkit::knowledge();
        let newest = k.eks_versions.last().unwrap().version;
        let target = newest.next();
        let c = typed_cluster(vec![
            server_version(&format!("v{newest}.2-eks-1")),
            agent_ds("1.20.0"),
        ]);
        let ask = UpgradeRequest {
            target_kubernetes: target,
            as_of: "2027-02-01".parse().unwrap(),
            suppressions: Default::default(),
        };
        let e = plan_upgrade(&c, &k, &ask).unwrap_err();
        assert!(
            e.0.contains(&format!("unknown Kubernetes version {target}")),
            "{e}"
        );
        // EKS's answer has both minors: the plan runs, and its deadline
        // warning for the running minor cites the live dates.
        let mut c = c;
        c.eks_cluster_versions = Some(
            [(newest, "2027-03-27"), (target, "2027-08-02")]
                .iter()
                .map(|(v, standard)| {
                    serde_json::from_value(serde_json::json!({
                        "clusterVersion": v.to_string(),
                        "endOfStandardSupportDate": format!("{standard}T00:00:00+00:00"),
                        "endOfExtendedSupportDate": "2028-03-27T00:00:00+00:00"
                    }))
                    .unwrap()
                })
                .collect(),
        );
        let mut ask = ask;
        ask.as_of = "2028-01-15".parse().unwrap();
        let plan = plan_upgrade(&c, &k, &ask).unwrap();
        assert_eq!(plan.to.kubernetes, target.to_string());
        assert!(
            plan.warnings
                .iter()
                .any(|w| w.contains("EKS extended support ends on 2028-03-27")
                    && w.contains(
                        "Support dates from EKS DescribeClusterVersions in the snapshot"
                    )),
            "{:?}",
            plan.warnings
        );
    }

    #[test]
    fn missing_cilium_is_an_error() {
        let c = typed_cluster(vec![server_version("v1.30.1")]);
        let e = plan_upgrade(&c, Knowledge::embedded(), &request("1.31")).unwrap_err();
        assert!(e.0.contains("no Cilium version"), "{e}");
    }
}
