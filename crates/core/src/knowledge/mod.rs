//! The facts the tool knows: EC2 network limits, the EKS calendar and AMI
//! kernels, Cilium minors (tested Kubernetes versions, kernels, ENI-mode IAM
//! actions, Helm keys, Prometheus metrics, what the EKS install guide sets).
//! They live as data files in `data/` (with their
//! sources in `data/SOURCES.md`), are embedded in the binary and validated
//! once on load. Nothing else in the code base hard-codes a version, limit or
//! IAM action.
//!
//! CONTRACT for the rest of the code: the public types and query methods
//! below. The loader (`load_embedded`, `load_dir`) and validation live in
//! the submodules.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::model::Cluster;
use crate::version::{Date, KernelVersion, Minor, Version};

/// `clusterType` of EKS clusters in an AWS region (DescribeClusterVersions).
const EKS_CLUSTER_TYPE: &str = "eks";

mod parse;

pub use parse::{closest_names, KnowledgeError};

/// EC2 hypervisor as EC2 reports it; bare-metal types mostly report none.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Hypervisor {
    Nitro,
    Xen,
    Unknown,
}

impl Hypervisor {
    pub fn as_str(self) -> &'static str {
        match self {
            Hypervisor::Nitro => "nitro",
            Hypervisor::Xen => "xen",
            Hypervisor::Unknown => "unknown",
        }
    }
}

impl std::fmt::Display for Hypervisor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Network limits of one EC2 instance type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InstanceType {
    pub name: String,
    /// ENIs on the default network card: what the VPC CNI counts, and what
    /// can be attached to card 0, where Cilium's operator attaches every ENI.
    pub enis: u32,
    /// ENIs over all network cards (EC2 `NetworkInfo.MaximumNetworkInterfaces`):
    /// what Cilium's operator counts. Equals `enis` on single-card types.
    pub enis_all_cards: u32,
    /// IPv4 addresses per ENI (including the ENI's own primary address).
    pub ipv4_per_eni: u32,
    pub hypervisor: Hypervisor,
    pub bare_metal: bool,
    /// `VCpuInfo.DefaultVCpus`; `None` for the few types no source lists.
    pub vcpus: Option<u32>,
}

/// Where one provisioning path sets the kubelet's max pods
/// (`data/eks.json` `max_pods_settings`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MaxPodsSetting {
    pub setting: String,
    /// The fact's source (`repo@commit:path` or an address).
    pub source: String,
}

/// One Kubernetes minor on EKS: its support calendar.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EksVersion {
    pub version: Minor,
    pub eks_release: Date,
    pub end_of_standard_support: Date,
    pub end_of_extended_support: Date,
}

/// Where the support dates of a Kubernetes minor came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum CalendarSource {
    /// `aws eks describe-cluster-versions` output in the snapshot (collected
    /// live, or a user's own dump): EKS's calendar as EKS states it now.
    DescribeClusterVersions,
    /// The calendar embedded in the binary (`data/eks.json` `versions`),
    /// as of the date of its newest source.
    Embedded { knowledge_of: Date },
}

impl std::fmt::Display for CalendarSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CalendarSource::DescribeClusterVersions => {
                f.write_str("EKS DescribeClusterVersions in the snapshot")
            }
            CalendarSource::Embedded { knowledge_of } => write!(
                f,
                "the embedded calendar (data/eks.json, knowledge of {knowledge_of})"
            ),
        }
    }
}

/// The EKS support calendar of one Kubernetes minor, from the best source
/// at hand ([`Knowledge::support_calendar`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SupportCalendar {
    pub version: Minor,
    /// `None` when DescribeClusterVersions gave the end dates but no release date.
    pub eks_release: Option<Date>,
    pub end_of_standard_support: Date,
    pub end_of_extended_support: Date,
    pub source: CalendarSource,
}

/// EKS-optimised AMI family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum AmiFamily {
    #[serde(rename = "AL2")]
    Al2,
    #[serde(rename = "AL2023")]
    Al2023,
    #[serde(rename = "Bottlerocket")]
    Bottlerocket,
}

/// The kernel series an AMI family ships for a Kubernetes minor (newest
/// series seen for that minor).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AmiKernel {
    pub family: AmiFamily,
    pub kubernetes: Minor,
    /// `major.minor` of the kernel, e.g. 6.1 or 6.12.
    pub kernel_series: Minor,
}

/// EC2 actions the operator needs only when a feature is on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConditionalActions {
    /// Stable feature id: `eni-gc`, `release-excess-ips`, `instance-tags-filter`, …
    pub feature: String,
    /// The condition as Cilium's docs word it.
    pub condition: String,
    pub actions: Vec<String>,
    /// Whether the feature is on unless configured off (ENI GC is; the chart
    /// default decides for the Helm-backed ones).
    pub enabled_by_default: bool,
}

/// A Helm value key the chart of a minor no longer has.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RemovedHelmKey {
    /// Flattened key, e.g. `tunnel`.
    pub key: String,
    /// What replaces it, when the upgrade notes name a replacement.
    pub replacement: Option<String>,
    /// Whether the chart aborts (validate.yaml `fail`) when the key is still set.
    pub chart_fails: bool,
}

/// What turns one of the agent's own pool addresses on (`ipam_reserved`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ReservedPurpose {
    /// `cilium_host`, the router IP: always, unless `local-router-ipv4` is set.
    Router,
    /// The cilium-health endpoint: while health and endpoint health checking are on.
    Health,
    /// The Envoy source address for Ingress/Gateway API: while `enable-envoy-config` is on.
    Ingress,
}

impl ReservedPurpose {
    pub fn as_str(self) -> &'static str {
        match self {
            ReservedPurpose::Router => "router",
            ReservedPurpose::Health => "health",
            ReservedPurpose::Ingress => "ingress",
        }
    }
}

impl std::fmt::Display for ReservedPurpose {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One address the cilium-agent allocates for itself from the node's IPAM
/// pool (in ENI mode: one ENI address no pod can get).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReservedAddress {
    pub purpose: ReservedPurpose,
    /// What the address is, as the source names it.
    pub what: String,
    /// Agent options (cilium-config keys) that must all be true for it.
    pub enabled_by: Vec<String>,
    /// An agent option whose presence turns it off.
    pub disabled_by: Option<String>,
    /// Whether the chart defaults allocate it.
    pub on_by_default: bool,
    /// Helm values that set the options above.
    pub helm_keys: Vec<String>,
    /// Where the allocation is in the agent's code.
    pub source: String,
}

/// How strong the evidence of a fact is (`cilium/compatibility.json`
/// `_meta.evidence_levels`): A from the upstream project's own artifact, B
/// from a third-party tracker's scrape of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Evidence {
    A,
    B,
}

/// Everything known about one Cilium minor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CiliumMinor {
    pub minor: Minor,
    /// Kubernetes minors the release e2e-tests (compatibility.rst).
    pub k8s_tested: Vec<Minor>,
    /// The latest patch known when the knowledge was gathered.
    pub latest_patch: Version,
    pub latest_patch_published: Date,
    pub latest_patch_evidence: Evidence,
    /// Whether the minor gets no further patches.
    pub latest_patch_final: bool,
    /// End of maintenance, where recorded.
    pub maintenance_eol: Option<Date>,
    pub min_kernel: KernelVersion,
    /// ENI-mode EC2 actions the docs list as required.
    pub eni_required_actions: Vec<String>,
    pub eni_conditional_actions: Vec<ConditionalActions>,
    /// Whether the operator also delegates prefixes on bare-metal types
    /// (it always does on `nitro`).
    pub prefix_delegation_on_bare_metal: bool,
    /// The addresses the agent takes from the node's pool for itself.
    pub ipam_reserved: Vec<ReservedAddress>,
    /// Keys present in the previous minor's chart values but gone in this one.
    pub helm_keys_removed: Vec<RemovedHelmKey>,
}

/// The Prometheus metrics the docs of one Cilium minor list (`metrics.json`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CiliumMetrics {
    pub minor: Minor,
    /// `cilium_*` agent metrics.
    pub agent: BTreeSet<String>,
    /// `cilium_operator_*` metrics.
    pub operator: BTreeSet<String>,
    /// Metrics the docs mark "Disabled" by default.
    pub disabled_by_default: BTreeSet<String>,
}

impl CiliumMetrics {
    /// Whether the agent or the operator of this minor exports `name`.
    pub fn has(&self, name: &str) -> bool {
        self.agent.contains(name) || self.operator.contains(name)
    }
}

/// A datapath drop reason: the `reason` label of `cilium_drop_count_total`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DropReason {
    /// The code of `pkg/monitor/api/drop.go`.
    pub code: u16,
    pub reason: String,
    /// The first Cilium minor with this reason.
    pub since: Minor,
}

/// `map_name` values of `cilium_bpf_map_pressure` by table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PressureMaps {
    pub conntrack: Vec<String>,
    pub nat: Vec<String>,
}

/// Metric facts across minors (`metrics.json`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Metrics {
    pub minors: BTreeMap<Minor, CiliumMetrics>,
    /// Sorted by code.
    pub drop_reasons: Vec<DropReason>,
    pub pressure_maps: PressureMaps,
}

/// Cilium's documented `kubectl patch` that keeps aws-node off every node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AwsNodePatch {
    pub command: String,
    pub node_selector_key: String,
    pub node_selector_value: String,
}

/// What Cilium's EKS install guide of one minor sets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CiliumEksMinor {
    pub minor: Minor,
    /// The `--set key=value` flags of the guide's ENI-mode `helm install`.
    pub eni_helm_flags: Vec<String>,
    /// The egress masquerade interface selector the guide names for Amazon
    /// Linux 2023 nodes, when it names one.
    pub al2023_egress_masquerade_interfaces: Option<String>,
    /// The `kubeProxyReplacement` value that turns every feature on
    /// (`strict` before 1.14, `true` after).
    pub kube_proxy_replacement_full: String,
}

impl CiliumEksMinor {
    /// The guide's ENI flags as (key, value) pairs.
    pub fn eni_helm_values(&self) -> impl Iterator<Item = (&str, &str)> {
        self.eni_helm_flags
            .iter()
            .filter_map(|flag| flag.split_once('='))
    }
}

/// Cilium's EKS-specific docs (`cilium-eks.json`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CiliumEks {
    pub aws_node_patch: AwsNodePatch,
    /// The Cilium minors AWS supports on EKS Hybrid Nodes (EKS user guide).
    pub hybrid_nodes_cilium_minors: Vec<Minor>,
    /// `key=value:Effect` of the taint EKS node groups need.
    pub agent_not_ready_taint: String,
    /// Shell commands that flush the VPC CNI's iptables chains.
    pub overlay_iptables_flush: String,
    /// Sorted by minor, the same minors as `cilium`.
    pub minors: Vec<CiliumEksMinor>,
}

/// The EKS user guide's trust policies (`eks-iam.json`), kept as the guide
/// writes them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EksIam {
    /// The IRSA trust policy with the placeholders `$account_id`,
    /// `$oidc_provider`, `$namespace` and `$service_account`; ARNs start
    /// with `arn:aws:` (the guide's partition placeholder).
    pub irsa_trust_policy_template: serde_json::Value,
    /// The ServiceAccount annotation that names an IRSA role.
    pub irsa_service_account_annotation: String,
    /// The EKS Pod Identity trust policy.
    pub pod_identity_trust_policy: serde_json::Value,
    /// Where the EKS Pod Identity agent serves credentials.
    pub pod_identity_agent: PodIdentityAgent,
}

/// The EKS Pod Identity agent: a hostNetwork DaemonSet on link-local
/// addresses (the EKS user guide).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PodIdentityAgent {
    pub host_network: bool,
    /// 169.254.170.23 and fd00:ec2::23.
    pub addresses: Vec<String>,
    /// 80 (credentials) and 2703 (probes).
    pub ports: Vec<u16>,
    /// The env var pods are given (`AWS_CONTAINER_CREDENTIALS_FULL_URI`).
    pub credentials_env: String,
    pub credentials_uri: String,
}

/// EKS's in-place control-plane version rollback (`eks.json`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ControlPlaneRollback {
    /// How many minors back (N to N-1).
    pub minors_back: u32,
    /// Days after the in-place upgrade completed during which it is possible.
    pub window_days: u32,
    /// Only a cluster upgraded in place can roll back (not one created at N).
    pub only_after_in_place_upgrade: bool,
    pub rolled_back: Vec<String>,
    pub not_rolled_back: Vec<String>,
    /// As the source records it (`medium`: the page still has TODO markers).
    pub confidence: String,
}

/// EKS cluster insights (`eks.json`, from the EKS API reference and user
/// guide): VER013 and `plan upgrade`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClusterInsights {
    /// `PASSING`, `WARNING`, `ERROR`, `UNKNOWN`.
    pub statuses: Vec<String>,
    /// Statuses of rollback-readiness insights that block a rollback.
    pub rollback_blocking_statuses: Vec<String>,
    /// UpdateClusterVersion's InvalidStateException while upgrade insights
    /// report blocking issues (`force` overrides it).
    pub upgrade_blocked_message: String,
    /// EKS refreshes insights this often (or on `start-insights-refresh`).
    pub refresh_hours: u32,
}

/// A condition besides the Cilium version that a known issue needs
/// (`known-issues.json` `conditions`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum KnownCondition {
    /// Cilium ENI IPAM (`ipam: eni`).
    IpamEni,
    /// `cni-chaining-mode: aws-cni`.
    ChainingAwsCni,
    /// The operator's `instance-tags-filter` is set (Helm `eni.instanceTagsFilter`).
    InstanceTagsFilter,
}

/// Affected Cilium releases: `introduced` (first affected, `None`: every
/// earlier release) up to `fixed` (first fixed, exclusive; `None`: not fixed).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AffectedRange {
    pub introduced: Option<Version>,
    pub fixed: Option<Version>,
}

impl AffectedRange {
    pub fn contains(&self, v: Version) -> bool {
        self.introduced.is_none_or(|i| v >= i) && self.fixed.is_none_or(|f| v < f)
    }

    /// `1.17.3 up to 1.17.5 (fixed)`, `before 1.8.8`.
    pub fn describe(&self) -> String {
        match (self.introduced, self.fixed) {
            (Some(i), Some(f)) => format!("{i} up to (not including) {f}"),
            (None, Some(f)) => format!("every release before {f}"),
            (Some(i), None) => format!("{i} and later (no fixed release known)"),
            (None, None) => "every release".to_string(),
        }
    }
}

/// A known-bad Cilium release range and what else must hold for it to bite.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KnownIssue {
    /// `KI001`, … (`cilium/known_issues.json`).
    pub id: String,
    pub title: String,
    pub component: String,
    pub affected: Vec<AffectedRange>,
    pub conditions: Vec<KnownCondition>,
    pub symptom: String,
    /// The releases with the fix (the first of each affected line).
    pub fixed_in: Vec<Version>,
    /// The fix's CHANGELOG wording.
    pub release_note: Option<String>,
    pub workaround: String,
    pub sources: Vec<String>,
    pub confidence: String,
}

impl KnownIssue {
    pub fn affects(&self, v: Version) -> bool {
        self.affected.iter().any(|r| r.contains(v))
    }

    /// The fixed release on `v`'s line: the lowest fix at or above `v` in
    /// the same minor, else the lowest fix above `v`.
    pub fn fix_for(&self, v: Version) -> Option<Version> {
        let above = self.fixed_in.iter().copied().filter(|f| *f > v);
        above
            .clone()
            .filter(|f| f.minor() == v.minor())
            .min()
            .or_else(|| above.min())
    }
}

/// A known problem another rule cites (its symptom, workaround and sources).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CitedIssue {
    pub id: String,
    pub title: String,
    pub symptom: String,
    pub workaround: String,
    pub sources: Vec<String>,
    pub confidence: String,
    /// The node OS or kernel the issue is about, when it is about one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<IssuePlatform>,
}

/// The node platform of a cited issue (`affected_other` of the shared entry).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IssuePlatform {
    /// The OS family (`Bottlerocket`).
    pub os: String,
    /// The first OS release without the problem.
    #[serde(default)]
    pub os_fixed: Option<String>,
    /// The OS release the problem was reported on.
    #[serde(default)]
    pub os_version: Option<String>,
    /// The kernel release the problem was reported on.
    #[serde(default)]
    pub kernel: Option<String>,
    /// The first Cilium release reported affected.
    #[serde(default)]
    pub cilium_introduced: Option<String>,
}

impl CitedIssue {
    /// `KI023 (https://github.com/…)`: the id and the first source.
    pub fn reference(&self) -> String {
        match self.sources.first() {
            Some(s) => format!("{} ({s})", self.id),
            None => self.id.clone(),
        }
    }
}

/// `known-issues.json`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct KnownIssues {
    pub versioned: Vec<KnownIssue>,
    pub cited: Vec<CitedIssue>,
}

/// A family of facts and the date of its newest source.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KnowledgeFamily {
    pub date: Date,
    pub covers: String,
    pub newest_source: String,
}

/// How old the knowledge is (`knowledge-dates.json`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KnowledgeDates {
    /// When the ground truth was compiled.
    pub compiled: Date,
    /// `cilium_releases`, `cilium_docs`, `eks_calendar`, `ec2_limits`,
    /// `ami_kernels`, `helm_charts`, `metrics`.
    pub families: BTreeMap<String, KnowledgeFamily>,
}

impl ControlPlaneRollback {
    /// How far back a control plane can go from `to`, as one sentence: "EKS
    /// rolls the control plane back from 1.32 to 1.31 within 7 days of an
    /// in-place upgrade; ...".
    pub fn describe(&self, from: Minor, to: Minor) -> String {
        format!(
            "EKS can roll the control plane back from {to} to {from} within {} days of an \
             in-place upgrade ({} minor back at most{}): rolled back are {}; not rolled back are {}",
            self.window_days,
            self.minors_back,
            if self.only_after_in_place_upgrade {
                ", not for a cluster created at its version"
            } else {
                ""
            },
            self.rolled_back.join("; "),
            self.not_rolled_back.join("; "),
        )
    }
}

impl KnowledgeDates {
    /// The newest source date over all families: "knowledge of DATE".
    pub fn date(&self) -> Date {
        self.families
            .values()
            .map(|f| f.date)
            .max()
            .unwrap_or(self.compiled)
    }

    pub fn family(&self, name: &str) -> Option<Date> {
        self.families.get(name).map(|f| f.date)
    }
}

/// All embedded facts, validated.
#[derive(Debug, Clone)]
pub struct Knowledge {
    pub instances: BTreeMap<String, InstanceType>,
    /// Sorted by version, oldest first.
    pub eks_versions: Vec<EksVersion>,
    pub ami_kernels: Vec<AmiKernel>,
    /// The last Kubernetes minor with EKS AL2 AMIs.
    pub al2_last_kubernetes: Minor,
    /// Sorted by minor, oldest first.
    pub cilium: Vec<CiliumMinor>,
    /// Every flattened Helm value key of each Cilium minor's chart.
    pub helm_keys: BTreeMap<Minor, BTreeSet<String>>,
    pub metrics: Metrics,
    pub cilium_eks: CiliumEks,
    pub eks_iam: EksIam,
    pub control_plane_rollback: ControlPlaneRollback,
    pub cluster_insights: ClusterInsights,
    /// Where each provisioning path sets the kubelet's max pods
    /// (`data/eks.json` `max_pods_settings`), by path.
    pub max_pods_settings: BTreeMap<String, MaxPodsSetting>,
    pub dates: KnowledgeDates,
    /// Known-bad releases and combinations (`known-issues.json`).
    pub known_issues: KnownIssues,
}

impl Knowledge {
    /// The knowledge compiled into the binary.
    pub fn embedded() -> &'static Knowledge {
        static EMBEDDED: std::sync::OnceLock<Knowledge> = std::sync::OnceLock::new();
        EMBEDDED.get_or_init(|| {
            parse::load_embedded().expect("embedded knowledge is validated by the test suite")
        })
    }

    /// Knowledge read from a directory of data files in the embedded format
    /// (`--knowledge DIR`); files missing there fall back to the embedded ones.
    pub fn from_dir(dir: &std::path::Path) -> Result<Knowledge, KnowledgeError> {
        parse::load_dir(dir)
    }

    pub fn instance(&self, name: &str) -> Option<&InstanceType> {
        self.instances.get(name)
    }

    /// Known instance type names closest to `name` (for "did you mean").
    pub fn closest_instance_types(&self, name: &str, count: usize) -> Vec<&str> {
        parse::closest_names(self.instances.keys().map(String::as_str), name, count)
    }

    pub fn eks_version(&self, version: Minor) -> Option<&EksVersion> {
        self.eks_versions.iter().find(|v| v.version == version)
    }

    /// The EKS support calendar of Kubernetes `version`: the dates of
    /// `describe-cluster-versions` in the snapshot when it has both end
    /// dates for that minor (EKS's own, current answer), else the embedded
    /// calendar; `source` says which. The one place rules, the overview and
    /// plans ask, so they never disagree about a deadline.
    pub fn support_calendar(&self, cluster: &Cluster, version: Minor) -> Option<SupportCalendar> {
        let live = cluster
            .eks_cluster_versions
            .as_deref()
            .unwrap_or_default()
            .iter()
            .filter(|v| v.cluster_version == version)
            // Only EKS-in-region rows (Outposts and other types have their own calendar).
            .filter(|v| {
                v.cluster_type
                    .as_deref()
                    .is_none_or(|t| t.eq_ignore_ascii_case(EKS_CLUSTER_TYPE))
            })
            .find_map(|v| {
                Some(SupportCalendar {
                    version,
                    eks_release: v.release_date,
                    end_of_standard_support: v.end_of_standard_support_date?,
                    end_of_extended_support: v.end_of_extended_support_date?,
                    source: CalendarSource::DescribeClusterVersions,
                })
            });
        live.or_else(|| {
            self.eks_version(version).map(|v| SupportCalendar {
                version,
                eks_release: Some(v.eks_release),
                end_of_standard_support: v.end_of_standard_support,
                end_of_extended_support: v.end_of_extended_support,
                source: CalendarSource::Embedded {
                    knowledge_of: self.eks_calendar_date(),
                },
            })
        })
    }

    /// Every Kubernetes minor [`Knowledge::support_calendar`] has dates for, oldest first.
    pub fn support_calendar_minors(&self, cluster: &Cluster) -> Vec<Minor> {
        let live = cluster
            .eks_cluster_versions
            .as_deref()
            .unwrap_or_default()
            .iter()
            .map(|v| v.cluster_version);
        let all: BTreeSet<Minor> = live
            .chain(self.eks_versions.iter().map(|v| v.version))
            .collect();
        all.into_iter()
            .filter(|m| self.support_calendar(cluster, *m).is_some())
            .collect()
    }

    /// The date of the embedded EKS calendar's newest source.
    pub fn eks_calendar_date(&self) -> Date {
        self.dates
            .family("eks_calendar")
            .unwrap_or_else(|| self.dates.date())
    }

    pub fn cilium_minor(&self, minor: Minor) -> Option<&CiliumMinor> {
        self.cilium.iter().find(|c| c.minor == minor)
    }

    /// `latest known patch 1.19.7 (knowledge of 2026-08-22)`: a minor's
    /// latest patch as the tool knows it, with the date of that knowledge.
    pub fn latest_known_patch(&self, minor: &CiliumMinor) -> String {
        let date = self
            .dates
            .family("cilium_releases")
            .unwrap_or_else(|| self.dates.date());
        format!(
            "latest known patch {} (knowledge of {date})",
            minor.latest_patch
        )
    }

    /// The newest Cilium minor in the data.
    pub fn newest_cilium(&self) -> &CiliumMinor {
        self.cilium
            .last()
            .expect("validated: cilium list is not empty")
    }

    /// Every flattened Helm value key the chart of Cilium `minor` knows
    /// (`data/helm-keys/<minor>.txt`).
    pub fn helm_keys(&self, minor: Minor) -> Option<&BTreeSet<String>> {
        self.helm_keys.get(&minor)
    }

    /// The metrics the docs of Cilium `minor` list.
    pub fn metrics(&self, minor: Minor) -> Option<&CiliumMetrics> {
        self.metrics.minors.get(&minor)
    }

    /// The text of drop reason `code` in Cilium `minor`, if it has it.
    pub fn drop_reason(&self, minor: Minor, code: u16) -> Option<&str> {
        self.metrics
            .drop_reasons
            .iter()
            .find(|r| r.code == code && r.since <= minor)
            .map(|r| r.reason.as_str())
    }

    /// What the EKS install guide of Cilium `minor` sets.
    pub fn cilium_eks(&self, minor: Minor) -> Option<&CiliumEksMinor> {
        self.cilium_eks.minors.iter().find(|m| m.minor == minor)
    }

    /// The known Cilium minors, for error messages ("1.12, 1.13, ...").
    pub fn cilium_minors_list(&self) -> String {
        let minors: Vec<String> = self.cilium.iter().map(|c| c.minor.to_string()).collect();
        minors.join(", ")
    }

    /// A known problem other rules cite, by id (`KI023`).
    pub fn cited_issue(&self, id: &str) -> Option<&CitedIssue> {
        self.known_issues.cited.iter().find(|c| c.id == id)
    }

    /// The known issues whose affected releases hold `v`, whatever their
    /// conditions.
    pub fn known_bad(&self, v: Version) -> impl Iterator<Item = &KnownIssue> {
        self.known_issues
            .versioned
            .iter()
            .filter(move |i| i.affects(v))
    }

    /// The kernel series `family` ships for Kubernetes `version`, if known.
    pub fn ami_kernel(&self, family: AmiFamily, version: Minor) -> Option<Minor> {
        self.ami_kernels
            .iter()
            .find(|a| a.family == family && a.kubernetes == version)
            .map(|a| a.kernel_series)
    }
}
