//! Lean Kubernetes object types: only the fields rules read, deserialised
//! straight from kubectl / API JSON (camelCase), unknown fields ignored.

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer, Serialize};

use super::{KeySet, StringMap};

/// Annotation prefixes worth keeping; the rest (e.g. multi-KB
/// `last-applied-configuration`) are dropped while parsing.
const KEPT_ANNOTATION_PREFIXES: &[&str] = &[
    "eks-cilium-doctor.io/",
    "eks.amazonaws.com/",
    "vpc.amazonaws.com/",
    "service.beta.kubernetes.io/",
    "io.cilium/",
    "service.cilium.io/",
];

fn kept_annotations<'de, D: Deserializer<'de>>(d: D) -> Result<StringMap, D::Error> {
    let mut all: StringMap = null_default(d)?;
    all.retain(|k, _| KEPT_ANNOTATION_PREFIXES.iter().any(|p| k.starts_with(p)));
    Ok(all)
}

/// `null` → default (kubectl writes `null` for empty maps and lists).
pub(crate) fn null_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// A list: `null` → empty, capacity trimmed to the length. serde grows a
/// vector to four slots at its first element; most lists here have one
/// (a pod's container, its owner), and 150,000 pods make that waste
/// hundreds of MB.
pub(crate) fn seq<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    let mut items: Vec<T> = null_default(d)?;
    items.shrink_to_fit();
    Ok(items)
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OwnerReference {
    #[serde(default)]
    pub kind: String,
    #[serde(default)]
    pub name: String,
}

// `self_link` is a parse-time type check, not a non-exhaustive marker.
#[allow(clippy::manual_non_exhaustive)]
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Meta {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub namespace: Option<String>,
    #[serde(default, deserialize_with = "null_default")]
    pub labels: StringMap,
    #[serde(default, deserialize_with = "kept_annotations")]
    pub annotations: StringMap,
    #[serde(default, deserialize_with = "seq")]
    pub owner_references: Vec<OwnerReference>,
    /// Not kept, but type-checked as the loader's identity probe checks it,
    /// so a one-pass parse accepts exactly what the probe accepts.
    #[serde(
        default,
        rename = "selfLink",
        deserialize_with = "optional_string",
        skip_serializing
    )]
    pub(crate) self_link: (),
    /// `metadata.uid`, hashed (no per-object allocation): with kind,
    /// namespace and name it tells one object read from two inputs.
    #[serde(default, deserialize_with = "uid_hash", skip_serializing)]
    pub(crate) uid: u64,
    /// `metadata.resourceVersion` as a number (0 when absent or not one):
    /// of two copies of an object, the newer is kept.
    #[serde(default, deserialize_with = "resource_version", skip_serializing)]
    pub(crate) resource_version: u64,
    /// Which input the object came from (the loader's index).
    #[serde(skip)]
    pub(crate) input: u32,
}

fn optional_string<'de, D: Deserializer<'de>>(d: D) -> Result<(), D::Error> {
    Option::<String>::deserialize(d).map(drop)
}

/// A string (or null) read without keeping it, through `f`.
fn with_str<'de, D: Deserializer<'de>>(d: D, f: fn(&str) -> u64) -> Result<u64, D::Error> {
    struct Visit(fn(&str) -> u64);
    impl serde::de::Visitor<'_> for Visit {
        type Value = u64;
        fn expecting(&self, out: &mut std::fmt::Formatter) -> std::fmt::Result {
            out.write_str("a string or null")
        }
        fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<u64, E> {
            Ok((self.0)(s))
        }
        fn visit_unit<E: serde::de::Error>(self) -> Result<u64, E> {
            Ok(0)
        }
        fn visit_none<E: serde::de::Error>(self) -> Result<u64, E> {
            Ok(0)
        }
    }
    d.deserialize_any(Visit(f))
}

/// FNV-1a: stable across runs and platforms.
fn fnv1a(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

fn uid_hash<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    with_str(d, |s| if s.is_empty() { 0 } else { fnv1a(s) })
}

fn resource_version<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    with_str(d, |s| s.parse().unwrap_or(0))
}

/// The typed Kubernetes objects of the model: their metadata and, for
/// collections that hold several kinds, the object's own kind.
pub(crate) trait KubeObject {
    fn meta(&self) -> &Meta;
    fn meta_mut(&mut self) -> &mut Meta;
    fn own_kind(&self) -> &str {
        ""
    }
}

macro_rules! object {
    ($($ty:ident),*) => {$(
        impl KubeObject for $ty {
            fn meta(&self) -> &Meta { &self.metadata }
            fn meta_mut(&mut self) -> &mut Meta { &mut self.metadata }
        }
    )*};
    (kinded $($ty:ident),*) => {$(
        impl KubeObject for $ty {
            fn meta(&self) -> &Meta { &self.metadata }
            fn meta_mut(&mut self) -> &mut Meta { &mut self.metadata }
            fn own_kind(&self) -> &str { &self.kind }
        }
    )*};
}

object!(
    Node,
    Pod,
    ServiceAccount,
    Service,
    ConfigMap,
    Event,
    SecurityGroupPolicy,
    CiliumEndpoint,
    CiliumNode,
    NodePool,
    Ec2NodeClass
);
object!(kinded Workload, WebhookConfiguration, NetworkPolicy);

impl Meta {
    pub fn namespace(&self) -> &str {
        self.namespace.as_deref().unwrap_or("")
    }
}

// ---------------------------------------------------------------- Node

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Taint {
    #[serde(default)]
    pub key: String,
    #[serde(default)]
    pub value: Option<String>,
    #[serde(default)]
    pub effect: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NodeSpec {
    #[serde(default, deserialize_with = "seq")]
    pub taints: Vec<Taint>,
    /// `spec.providerID` (`aws:///eu-west-1a/i-0abc…`).
    #[serde(default, alias = "providerID")]
    pub provider_id: Option<String>,
    #[serde(default, rename = "podCIDR")]
    pub pod_cidr: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NodeInfo {
    #[serde(default)]
    pub kernel_version: String,
    #[serde(default)]
    pub kubelet_version: String,
    #[serde(default)]
    pub os_image: String,
    #[serde(default)]
    pub architecture: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Condition {
    #[serde(rename = "type", default)]
    pub type_: String,
    #[serde(default)]
    pub status: String,
    #[serde(default)]
    pub reason: Option<String>,
    #[serde(default)]
    pub message: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NodeStatus {
    /// `status.capacity.pods` (kubelet `--max-pods`), as a quantity string.
    #[serde(default, deserialize_with = "null_default")]
    pub capacity: StringMap,
    #[serde(default, deserialize_with = "null_default")]
    pub allocatable: StringMap,
    #[serde(default)]
    pub node_info: NodeInfo,
    #[serde(default, deserialize_with = "seq")]
    pub conditions: Vec<Condition>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
pub struct Node {
    #[serde(default)]
    pub metadata: Meta,
    #[serde(default)]
    pub spec: NodeSpec,
    #[serde(default)]
    pub status: NodeStatus,
}

/// The label EKS puts on hybrid (on-premises) nodes: `eks.amazonaws.com/compute-type: hybrid`.
pub const COMPUTE_TYPE_LABEL: &str = "eks.amazonaws.com/compute-type";
pub const HYBRID_COMPUTE_TYPE: &str = "hybrid";

impl Node {
    /// An EKS Hybrid Node (on premises, joined with nodeadm).
    pub fn is_hybrid(&self) -> bool {
        self.metadata
            .labels
            .get(COMPUTE_TYPE_LABEL)
            .map(String::as_str)
            == Some(HYBRID_COMPUTE_TYPE)
    }

    /// `node.kubernetes.io/instance-type` (or the beta label).
    pub fn instance_type(&self) -> Option<&str> {
        let l = &self.metadata.labels;
        l.get("node.kubernetes.io/instance-type")
            .or_else(|| l.get("beta.kubernetes.io/instance-type"))
            .map(String::as_str)
    }

    /// kubelet max pods from `status.capacity.pods`.
    pub fn max_pods(&self) -> Option<u32> {
        self.status
            .capacity
            .get("pods")
            .and_then(|p| p.parse().ok())
    }

    /// EKS managed node group name (`eks.amazonaws.com/nodegroup`).
    pub fn nodegroup(&self) -> Option<&str> {
        self.metadata
            .labels
            .get("eks.amazonaws.com/nodegroup")
            .map(String::as_str)
    }
}

// ---------------------------------------------------------------- Pod

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Resources {
    #[serde(default, deserialize_with = "resource_names")]
    pub requests: Vec<String>,
    #[serde(default, deserialize_with = "resource_names")]
    pub limits: Vec<String>,
}

/// The names of the resources (`cpu`, `vpc.amazonaws.com/pod-eni`), sorted:
/// rules ask which resources a container requests, never how much, and a
/// map of quantities per container of 150,000 pods weighs hundreds of MB.
fn resource_names<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    // Values are still read as JSON values (not skipped), so input is
    // accepted or refused (e.g. nesting past the depth limit) as before.
    let map: Option<BTreeMap<String, serde_json::Value>> = Option::deserialize(d)?;
    Ok(map.unwrap_or_default().into_keys().collect())
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Container {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub image: String,
    #[serde(default)]
    pub resources: Resources,
    #[serde(default, deserialize_with = "seq")]
    pub args: Vec<String>,
    #[serde(default, deserialize_with = "seq")]
    pub command: Vec<String>,
    #[serde(default, deserialize_with = "seq")]
    pub env: Vec<EnvVar>,
}

/// A container env var with a literal value (`valueFrom` is not followed:
/// it may point at a Secret).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
pub struct EnvVar {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub value: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PodSpec {
    #[serde(default)]
    pub node_name: Option<String>,
    #[serde(default)]
    pub host_network: bool,
    #[serde(default)]
    pub service_account_name: Option<String>,
    #[serde(default, deserialize_with = "null_default")]
    pub node_selector: StringMap,
    #[serde(default, deserialize_with = "seq")]
    pub containers: Vec<Container>,
    #[serde(default, deserialize_with = "seq")]
    pub init_containers: Vec<Container>,
    /// Boxed: most pods have none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub affinity: Option<Box<Affinity>>,
}

/// `spec.affinity`: only the required node affinity is kept.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Affinity {
    #[serde(default)]
    pub node_affinity: Option<NodeAffinity>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
pub struct NodeAffinity {
    #[serde(default, rename = "requiredDuringSchedulingIgnoredDuringExecution")]
    pub required: Option<NodeSelector>,
}

/// A required node selector: its terms are ORed, the expressions of a term ANDed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NodeSelector {
    #[serde(default, deserialize_with = "seq")]
    pub node_selector_terms: Vec<NodeSelectorTerm>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NodeSelectorTerm {
    #[serde(default, deserialize_with = "seq")]
    pub match_expressions: Vec<LabelSelectorRequirement>,
}

impl PodSpec {
    /// The required node-affinity terms, if any.
    pub fn required_node_terms(&self) -> &[NodeSelectorTerm] {
        self.affinity
            .as_ref()
            .and_then(|a| a.node_affinity.as_ref())
            .and_then(|n| n.required.as_ref())
            .map(|r| r.node_selector_terms.as_slice())
            .unwrap_or_default()
    }

    /// Whether the required node affinity lets the pod onto a node with
    /// these labels (no required affinity: yes).
    pub fn node_affinity_allows(&self, labels: &StringMap) -> bool {
        let terms = self.required_node_terms();
        terms.is_empty()
            || terms.iter().any(|t| {
                LabelSelector {
                    match_labels: StringMap::default(),
                    match_expressions: t.match_expressions.clone(),
                }
                .matches(labels)
            })
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ContainerStateWaiting {
    #[serde(default)]
    pub reason: Option<String>,
    #[serde(default)]
    pub message: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ContainerState {
    // Boxed: most containers are running, and an inline empty state would
    // cost a hundred bytes for each of 150,000 pods.
    #[serde(default)]
    pub waiting: Option<Box<ContainerStateWaiting>>,
    #[serde(default)]
    pub terminated: Option<Box<ContainerStateTerminated>>,
}

/// `state.terminated` / `lastState.terminated` (e.g. `OOMKilled`, exit code 137).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ContainerStateTerminated {
    #[serde(default)]
    pub reason: Option<String>,
    #[serde(default)]
    pub exit_code: Option<i32>,
    #[serde(default)]
    pub message: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ContainerStatus {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub ready: bool,
    #[serde(default)]
    pub restart_count: u32,
    #[serde(default)]
    pub image: String,
    #[serde(default)]
    pub state: ContainerState,
    /// The previous run's state (why the last restart happened).
    #[serde(default)]
    pub last_state: ContainerState,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PodStatus {
    #[serde(default)]
    pub phase: Option<String>,
    #[serde(default, rename = "podIP")]
    pub pod_ip: Option<String>,
    /// Only the conditions that carry a message (rules read the message;
    /// a healthy pod's four `True` conditions would be dead weight).
    #[serde(default, deserialize_with = "conditions_with_message")]
    pub conditions: Vec<Condition>,
    #[serde(default, deserialize_with = "seq")]
    pub container_statuses: Vec<ContainerStatus>,
    #[serde(default, deserialize_with = "seq")]
    pub init_container_statuses: Vec<ContainerStatus>,
}

fn conditions_with_message<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Condition>, D::Error> {
    let mut all: Vec<Condition> = null_default(d)?;
    all.retain(|c| c.message.is_some());
    all.shrink_to_fit();
    Ok(all)
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
pub struct Pod {
    #[serde(default)]
    pub metadata: Meta,
    #[serde(default)]
    pub spec: PodSpec,
    #[serde(default)]
    pub status: PodStatus,
}

// ---------------------------------------------------------------- Workloads

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PodTemplate {
    #[serde(default)]
    pub metadata: Meta,
    #[serde(default)]
    pub spec: PodSpec,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WorkloadSpec {
    #[serde(default)]
    pub replicas: Option<u32>,
    #[serde(default)]
    pub template: PodTemplate,
}

/// DaemonSet / Deployment / StatefulSet / ReplicaSet status (union of fields).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WorkloadStatus {
    #[serde(default)]
    pub desired_number_scheduled: Option<u32>,
    #[serde(default)]
    pub current_number_scheduled: Option<u32>,
    #[serde(default)]
    pub number_ready: Option<u32>,
    #[serde(default)]
    pub number_available: Option<u32>,
    #[serde(default)]
    pub replicas: Option<u32>,
    #[serde(default)]
    pub ready_replicas: Option<u32>,
}

/// A DaemonSet, Deployment, StatefulSet or ReplicaSet.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
pub struct Workload {
    #[serde(default)]
    pub kind: String,
    #[serde(default)]
    pub metadata: Meta,
    #[serde(default)]
    pub spec: WorkloadSpec,
    #[serde(default)]
    pub status: WorkloadStatus,
}

// ---------------------------------------------------------------- Misc objects

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
pub struct ServiceAccount {
    #[serde(default)]
    pub metadata: Meta,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ServicePort {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub port: u32,
    #[serde(default)]
    pub protocol: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceSpec {
    #[serde(rename = "type", default)]
    pub type_: Option<String>,
    #[serde(default, deserialize_with = "null_default")]
    pub selector: StringMap,
    #[serde(default, deserialize_with = "seq")]
    pub ports: Vec<ServicePort>,
    #[serde(default, rename = "clusterIP")]
    pub cluster_ip: Option<String>,
    #[serde(default)]
    pub load_balancer_class: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
pub struct Service {
    #[serde(default)]
    pub metadata: Meta,
    #[serde(default)]
    pub spec: ServiceSpec,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
pub struct ConfigMap {
    #[serde(default)]
    pub metadata: Meta,
    #[serde(default, deserialize_with = "null_default")]
    pub data: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceReference {
    #[serde(default)]
    pub namespace: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub port: Option<u32>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WebhookClientConfig {
    #[serde(default)]
    pub service: Option<ServiceReference>,
    #[serde(default)]
    pub url: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Webhook {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub client_config: WebhookClientConfig,
    #[serde(default)]
    pub failure_policy: Option<String>,
}

/// A Validating- or MutatingWebhookConfiguration.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
pub struct WebhookConfiguration {
    #[serde(default)]
    pub kind: String,
    #[serde(default)]
    pub metadata: Meta,
    #[serde(default, deserialize_with = "seq")]
    pub webhooks: Vec<Webhook>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectReference {
    #[serde(default)]
    pub kind: Option<String>,
    #[serde(default)]
    pub namespace: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Event {
    #[serde(default)]
    pub metadata: Meta,
    #[serde(default)]
    pub involved_object: ObjectReference,
    /// events.k8s.io/v1 spells it `regarding`.
    #[serde(default)]
    pub regarding: Option<ObjectReference>,
    #[serde(default)]
    pub reason: Option<String>,
    #[serde(default)]
    pub message: Option<String>,
    /// events.k8s.io/v1 spells it `note`.
    #[serde(default)]
    pub note: Option<String>,
    #[serde(rename = "type", default)]
    pub type_: Option<String>,
    #[serde(default)]
    pub count: Option<u32>,
    /// core/v1 `firstTimestamp`/`lastTimestamp`; events.k8s.io/v1 writes
    /// `eventTime` (and `deprecatedFirstTimestamp`).
    #[serde(default)]
    pub first_timestamp: Option<String>,
    #[serde(default)]
    pub last_timestamp: Option<String>,
    #[serde(default)]
    pub event_time: Option<String>,
}

impl Event {
    /// When the event was first and last seen, as the API wrote them.
    pub fn times(&self) -> (Option<&str>, Option<&str>) {
        let first = self
            .first_timestamp
            .as_deref()
            .or(self.event_time.as_deref());
        let last = self.last_timestamp.as_deref().or(first);
        (first, last)
    }

    pub fn object(&self) -> &ObjectReference {
        self.regarding.as_ref().unwrap_or(&self.involved_object)
    }
    pub fn text(&self) -> &str {
        self.message
            .as_deref()
            .or(self.note.as_deref())
            .unwrap_or("")
    }
}

// ---------------------------------------------------------------- Policies

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LabelSelectorRequirement {
    #[serde(default)]
    pub key: String,
    #[serde(default)]
    pub operator: String,
    #[serde(default, deserialize_with = "seq")]
    pub values: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LabelSelector {
    #[serde(default, deserialize_with = "null_default")]
    pub match_labels: StringMap,
    #[serde(default, deserialize_with = "seq")]
    pub match_expressions: Vec<LabelSelectorRequirement>,
}

impl LabelSelector {
    /// Kubernetes label-selector semantics (an empty selector matches all).
    pub fn matches(&self, labels: &StringMap) -> bool {
        self.match_labels
            .iter()
            .all(|(k, v)| labels.get(k) == Some(v))
            && self.match_expressions.iter().all(|e| {
                let value = labels.get(&e.key);
                match e.operator.as_str() {
                    "In" => value.is_some_and(|v| e.values.contains(v)),
                    "NotIn" => value.is_none_or(|v| !e.values.contains(v)),
                    "Exists" => value.is_some(),
                    "DoesNotExist" => value.is_none(),
                    _ => false,
                }
            })
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SecurityGroupPolicySpec {
    #[serde(default)]
    pub pod_selector: Option<LabelSelector>,
    #[serde(default)]
    pub service_account_selector: Option<LabelSelector>,
    #[serde(default)]
    pub security_groups: Option<SecurityGroupIds>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SecurityGroupIds {
    #[serde(default, deserialize_with = "seq")]
    pub group_ids: Vec<String>,
}

/// vpcresources.k8s.aws/v1beta1 SecurityGroupPolicy.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
pub struct SecurityGroupPolicy {
    #[serde(default)]
    pub metadata: Meta,
    #[serde(default)]
    pub spec: SecurityGroupPolicySpec,
}

/// A NetworkPolicy, CiliumNetworkPolicy or CiliumClusterwideNetworkPolicy,
/// reduced to what selects pods.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct NetworkPolicy {
    pub kind: String,
    pub metadata: Meta,
    /// `spec.podSelector` (NetworkPolicy) or `spec.endpointSelector` (Cilium).
    pub selector: LabelSelector,
    /// What the policy does to the selected pods' egress; `None`: it does
    /// not restrict egress (no egress rules, or default deny turned off).
    pub egress: Option<PolicyEgress>,
}

/// The egress side of a policy, reduced to what tells whether the pods it
/// selects can reach a host-network service (e.g. the EKS Pod Identity
/// agent on 169.254.170.23:80).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PolicyEgress {
    /// An allow rule reaches the `host` entity on `port`/TCP: a peerless
    /// rule (all destinations), or Cilium `toEntities` host, cluster or all.
    pub allows_host_on: Vec<u16>,
    /// The allow peers in the policy's words (`ipBlock 0.0.0.0/0`,
    /// `toEntities world`, `podSelector {}`…), for evidence.
    pub peers: Vec<String>,
}

impl PolicyEgress {
    /// Whether an allow rule lets the selected pods reach the host on TCP `port`.
    pub fn allows_host(&self, port: u16) -> bool {
        self.allows_host_on.contains(&port) || self.allows_host_on.contains(&0)
    }
}

// ---------------------------------------------------------------- Cilium CRDs

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CiliumEndpointStatus {
    #[serde(default)]
    pub state: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
pub struct CiliumEndpoint {
    #[serde(default)]
    pub metadata: Meta,
    #[serde(default)]
    pub status: CiliumEndpointStatus,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct CiliumNodeEniSpec {
    #[serde(default)]
    pub first_interface_index: Option<u32>,
    #[serde(default)]
    pub instance_type: Option<String>,
    #[serde(default)]
    pub vpc_id: Option<String>,
    #[serde(default)]
    pub subnet_ids: Option<Vec<String>>,
    #[serde(default)]
    pub use_primary_address: Option<bool>,
    #[serde(default)]
    pub disable_prefix_delegation: Option<bool>,
    /// `spec.eni.instance-id` (older CiliumNodes; newer ones set `spec.instance-id`).
    #[serde(default)]
    pub instance_id: Option<String>,
    #[serde(default)]
    pub node_subnet_id: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct CiliumNodeIpamSpec {
    /// Allocatable addresses (keys are the IPs).
    #[serde(default, deserialize_with = "null_default")]
    pub pool: KeySet,
    /// `spec.ipam.podCIDRs`: the node CIDRs cluster-pool IPAM gave the node.
    #[serde(default, rename = "podCIDRs", deserialize_with = "null_default")]
    pub pod_cidrs: Vec<String>,
    #[serde(default)]
    pub pre_allocate: Option<u32>,
    #[serde(default)]
    pub max_allocate: Option<u32>,
    /// `spec.ipam.static-ip-tags`: tags of the Elastic IPs to attach (ENI
    /// mode; the operator then calls ec2:AssociateAddress).
    #[serde(default, deserialize_with = "null_default")]
    pub static_ip_tags: StringMap,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
pub struct CiliumNodeSpec {
    /// `spec.instance-id`: the EC2 instance the agent found itself on.
    #[serde(default, rename = "instance-id")]
    pub instance_id: Option<String>,
    #[serde(default)]
    pub eni: CiliumNodeEniSpec,
    #[serde(default)]
    pub ipam: CiliumNodeIpamSpec,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
pub struct OperatorStatus {
    #[serde(default)]
    pub error: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct CiliumNodeIpamStatus {
    #[serde(default, deserialize_with = "null_default")]
    pub used: KeySet,
    #[serde(default)]
    pub operator_status: Option<OperatorStatus>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
pub struct CiliumNodeStatus {
    #[serde(default)]
    pub ipam: CiliumNodeIpamStatus,
    /// `status.eni.enis`: the ENIs the operator sees on the instance.
    #[serde(default)]
    pub eni: CiliumNodeEniStatus,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
pub struct CiliumNodeEniStatus {
    /// ENI id → the ENI.
    #[serde(default, deserialize_with = "null_default")]
    pub enis: BTreeMap<String, CiliumNodeEni>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct CiliumNodeEniSubnet {
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub cidr: Option<String>,
}

/// One ENI of `status.eni.enis`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct CiliumNodeEni {
    #[serde(default)]
    pub id: Option<String>,
    /// The ENI's primary address.
    #[serde(default)]
    pub ip: Option<String>,
    #[serde(default, deserialize_with = "null_default")]
    pub addresses: Vec<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub number: Option<u32>,
    #[serde(default)]
    pub subnet: CiliumNodeEniSubnet,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
pub struct CiliumNode {
    #[serde(default)]
    pub metadata: Meta,
    #[serde(default)]
    pub spec: CiliumNodeSpec,
    #[serde(default)]
    pub status: CiliumNodeStatus,
}

impl CiliumNode {
    /// The EC2 instance id: `spec.instance-id`, else `spec.eni.instance-id`;
    /// `None` when both are absent or empty.
    pub fn instance_id(&self) -> Option<&str> {
        self.spec
            .instance_id
            .as_deref()
            .filter(|i| !i.trim().is_empty())
            .or_else(|| {
                self.spec
                    .eni
                    .instance_id
                    .as_deref()
                    .filter(|i| !i.trim().is_empty())
            })
    }
}

// ---------------------------------------------------------------- Karpenter

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NodePoolTemplateSpec {
    #[serde(default, deserialize_with = "seq")]
    pub taints: Vec<Taint>,
    #[serde(default, deserialize_with = "seq")]
    pub startup_taints: Vec<Taint>,
    /// The EC2NodeClass the pool's nodes are launched from.
    #[serde(default, deserialize_with = "null_default")]
    pub node_class_ref: NodeClassRef,
    /// Scheduling requirements (`node.kubernetes.io/instance-type In [...]`…).
    #[serde(default, deserialize_with = "seq")]
    pub requirements: Vec<NodeSelectorRequirement>,
    /// karpenter.sh/v1beta1: the kubelet settings lived here (v1 moved them
    /// to the EC2NodeClass).
    #[serde(default)]
    pub kubelet: Option<KarpenterKubelet>,
}

/// `spec.template.spec.nodeClassRef`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
pub struct NodeClassRef {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub kind: Option<String>,
}

/// One NodePool requirement (a Kubernetes node selector requirement).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NodeSelectorRequirement {
    #[serde(default)]
    pub key: String,
    #[serde(default)]
    pub operator: String,
    #[serde(default, deserialize_with = "seq")]
    pub values: Vec<String>,
}

/// Karpenter's kubelet settings (EC2NodeClass `spec.kubelet` in v1,
/// NodePool `spec.template.spec.kubelet` in v1beta1).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct KarpenterKubelet {
    #[serde(default)]
    pub max_pods: Option<u32>,
    #[serde(default)]
    pub pods_per_core: Option<u32>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
pub struct NodePoolTemplate {
    #[serde(default)]
    pub spec: NodePoolTemplateSpec,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
pub struct NodePoolSpec {
    #[serde(default)]
    pub template: NodePoolTemplate,
}

/// karpenter.sh NodePool.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
pub struct NodePool {
    #[serde(default)]
    pub metadata: Meta,
    #[serde(default)]
    pub spec: NodePoolSpec,
}

/// `EC2NodeClass` `spec.amiSelectorTerms[]` (only the alias matters here).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
pub struct AmiSelectorTerm {
    #[serde(default)]
    pub alias: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Ec2NodeClassSpec {
    /// v1: the kubelet settings of every node launched from this class.
    #[serde(default)]
    pub kubelet: Option<KarpenterKubelet>,
    /// v1beta1 (and v1, deprecated): `AL2`, `AL2023`, `Bottlerocket`, `Custom`…
    #[serde(default)]
    pub ami_family: Option<String>,
    #[serde(default, deserialize_with = "seq")]
    pub ami_selector_terms: Vec<AmiSelectorTerm>,
}

/// karpenter.k8s.aws EC2NodeClass.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
pub struct Ec2NodeClass {
    #[serde(default)]
    pub metadata: Meta,
    #[serde(default)]
    pub spec: Ec2NodeClassSpec,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drops_bulky_annotations_and_reads_nulls() {
        let node: Node = serde_json::from_str(
            r#"{"metadata":{"name":"n1","labels":null,"annotations":{
                "kubectl.kubernetes.io/last-applied-configuration":"{...}",
                "eks-cilium-doctor.io/ignore":"CAP001"}},
               "spec":{"taints":null},
               "status":{"capacity":{"pods":"17"},"nodeInfo":{"kernelVersion":"5.10.1"}}}"#,
        )
        .unwrap();
        assert_eq!(node.metadata.annotations.len(), 1);
        assert_eq!(node.max_pods(), Some(17));
        assert!(node.spec.taints.is_empty());
    }

    #[test]
    fn label_selector_semantics() {
        let sel: LabelSelector = serde_json::from_str(
            r#"{"matchLabels":{"app":"db"},"matchExpressions":[{"key":"tier","operator":"NotIn","values":["web"]}]}"#,
        )
        .unwrap();
        let mut labels = StringMap::from([("app".to_string(), "db".to_string())]);
        assert!(sel.matches(&labels));
        labels.insert("tier".into(), "web".into());
        assert!(!sel.matches(&labels));
        assert!(LabelSelector::default().matches(&labels));
    }
}
