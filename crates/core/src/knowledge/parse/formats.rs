//! The file formats: five JSON documents, a CSV table and plain key lists.
//! Parsing only; the checks across rows live in `validate`.

use std::collections::{BTreeMap, BTreeSet};

use serde::de::DeserializeOwned;
use serde::Deserialize;

use super::files::Source;
use super::KnowledgeError;
use crate::knowledge::{
    AmiKernel, AwsNodePatch, CiliumEks, CiliumEksMinor, CiliumMinor, CitedIssue, ClusterInsights,
    ControlPlaneRollback, DropReason, EksIam, EksVersion, Hypervisor, InstanceType, KnowledgeDates,
    KnownIssue, PressureMaps,
};
use crate::version::Minor;

/// `data/eks.json`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EksFile {
    /// Fact -> where it was read (`repo@commit:path`).
    pub sources: BTreeMap<String, String>,
    pub versions: Vec<EksVersion>,
    pub al2_last_kubernetes: Minor,
    pub ami_kernels: Vec<AmiKernel>,
    pub control_plane_rollback: ControlPlaneRollback,
    pub cluster_insights: ClusterInsights,
    pub max_pods_settings: BTreeMap<String, crate::knowledge::MaxPodsSetting>,
}

/// `data/cilium.json`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CiliumFile {
    pub sources: BTreeMap<String, String>,
    pub minors: Vec<CiliumMinor>,
}

/// One minor of `data/metrics.json`, lists as written (validated, then
/// turned into sets).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricsMinor {
    pub minor: Minor,
    pub agent: Vec<String>,
    pub operator: Vec<String>,
    pub disabled_by_default: Vec<String>,
}

/// `data/metrics.json`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricsFile {
    pub sources: BTreeMap<String, String>,
    pub drop_reasons: Vec<DropReason>,
    pub pressure_maps: PressureMaps,
    pub minors: Vec<MetricsMinor>,
}

/// `data/cilium-eks.json`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CiliumEksFile {
    pub sources: BTreeMap<String, String>,
    pub aws_node_patch: AwsNodePatch,
    pub hybrid_nodes_cilium_minors: Vec<Minor>,
    pub agent_not_ready_taint: String,
    pub overlay_iptables_flush: String,
    pub minors: Vec<CiliumEksMinor>,
}

impl CiliumEksFile {
    pub fn into_facts(self) -> CiliumEks {
        CiliumEks {
            aws_node_patch: self.aws_node_patch,
            hybrid_nodes_cilium_minors: self.hybrid_nodes_cilium_minors,
            agent_not_ready_taint: self.agent_not_ready_taint,
            overlay_iptables_flush: self.overlay_iptables_flush,
            minors: self.minors,
        }
    }
}

/// `data/eks-iam.json`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EksIamFile {
    pub sources: BTreeMap<String, String>,
    pub irsa_trust_policy_template: serde_json::Value,
    pub irsa_service_account_annotation: String,
    pub pod_identity_trust_policy: serde_json::Value,
    pub pod_identity_agent: crate::knowledge::PodIdentityAgent,
}

impl EksIamFile {
    pub fn into_facts(self) -> EksIam {
        EksIam {
            irsa_trust_policy_template: self.irsa_trust_policy_template,
            irsa_service_account_annotation: self.irsa_service_account_annotation,
            pod_identity_trust_policy: self.pod_identity_trust_policy,
            pod_identity_agent: self.pod_identity_agent,
        }
    }
}

pub fn eks_iam(src: &Source) -> Result<EksIamFile, KnowledgeError> {
    json(src)
}

pub fn metrics(src: &Source) -> Result<MetricsFile, KnowledgeError> {
    json(src)
}

pub fn cilium_eks(src: &Source) -> Result<CiliumEksFile, KnowledgeError> {
    json(src)
}

pub fn eks(src: &Source) -> Result<EksFile, KnowledgeError> {
    json(src)
}

pub fn cilium(src: &Source) -> Result<CiliumFile, KnowledgeError> {
    json(src)
}

/// `data/known-issues.json`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KnownIssuesFile {
    pub sources: BTreeMap<String, String>,
    pub versioned: Vec<KnownIssue>,
    pub cited: Vec<CitedIssue>,
}

pub fn known_issues(src: &Source) -> Result<KnownIssuesFile, KnowledgeError> {
    json(src)
}

pub fn knowledge_dates(src: &Source) -> Result<KnowledgeDates, KnowledgeError> {
    json(src)
}

fn json<T: DeserializeOwned>(src: &Source) -> Result<T, KnowledgeError> {
    serde_json::from_str(&src.text).map_err(|e| KnowledgeError(format!("{}: {e}", src.name)))
}

pub const INSTANCE_HEADER: &str =
    "instance_type,enis,ipv4_per_eni,hypervisor,bare_metal,vcpus,enis_all_cards";

/// One instance row with its 1-based line number, in file order.
pub struct InstanceRow {
    pub line: usize,
    pub instance: InstanceType,
}

pub fn instances(src: &Source) -> Result<Vec<InstanceRow>, KnowledgeError> {
    let mut lines = src.text.lines().enumerate();
    let header = lines.next().map(|(_, l)| l.trim_end_matches('\r'));
    if header != Some(INSTANCE_HEADER) {
        return Err(KnowledgeError(format!(
            "{}: line 1: header must be `{INSTANCE_HEADER}`",
            src.name
        )));
    }
    lines
        .map(|(index, line)| {
            let line_no = index + 1;
            instance_row(line.trim_end_matches('\r'))
                .map(|instance| InstanceRow {
                    line: line_no,
                    instance,
                })
                .map_err(|e| KnowledgeError(format!("{}: line {line_no}: {e}", src.name)))
        })
        .collect()
}

fn instance_row(line: &str) -> Result<InstanceType, String> {
    let fields: Vec<&str> = line.split(',').collect();
    let [name, enis, ipv4, hypervisor, bare_metal, vcpus, enis_all_cards] = fields[..] else {
        return Err(format!(
            "want 7 comma-separated fields, found {}",
            fields.len()
        ));
    };
    if name.is_empty() || name.contains(char::is_whitespace) {
        return Err(format!("bad instance type name {name:?}"));
    }
    Ok(InstanceType {
        name: name.to_string(),
        enis: number("enis", enis)?,
        enis_all_cards: number("enis_all_cards", enis_all_cards)?,
        ipv4_per_eni: number("ipv4_per_eni", ipv4)?,
        hypervisor: match hypervisor {
            "nitro" => Hypervisor::Nitro,
            "xen" => Hypervisor::Xen,
            "unknown" => Hypervisor::Unknown,
            other => {
                return Err(format!(
                    "hypervisor: want nitro, xen or unknown, not {other:?}"
                ))
            }
        },
        bare_metal: match bare_metal {
            "true" => true,
            "false" => false,
            other => return Err(format!("bare_metal: want true or false, not {other:?}")),
        },
        vcpus: match vcpus {
            "" => None,
            text => Some(number("vcpus", text)?),
        },
    })
}

fn number(column: &str, text: &str) -> Result<u32, String> {
    text.parse()
        .map_err(|_| format!("{column}: not a whole number: {text:?}"))
}

/// A helm-keys file: one key per line, sorted, no duplicates or blanks.
pub fn helm_keys(src: &Source) -> Result<BTreeSet<String>, KnowledgeError> {
    let err =
        |line: usize, what: String| KnowledgeError(format!("{}: line {line}: {what}", src.name));
    let mut keys = BTreeSet::new();
    let mut previous: Option<&str> = None;
    for (index, raw) in src.text.lines().enumerate() {
        let key = raw.trim_end_matches('\r');
        if key.is_empty() || key.contains(char::is_whitespace) {
            return Err(err(index + 1, format!("not a Helm key: {key:?}")));
        }
        if let Some(prev) = previous {
            if key == prev {
                return Err(err(index + 1, format!("{key} is listed twice")));
            }
            if key < prev {
                return Err(err(
                    index + 1,
                    format!("{key} comes after {prev} (keys must be sorted)"),
                ));
            }
        }
        previous = Some(key);
        keys.insert(key.to_string());
    }
    if keys.is_empty() {
        return Err(KnowledgeError(format!("{}: no keys", src.name)));
    }
    Ok(keys)
}
