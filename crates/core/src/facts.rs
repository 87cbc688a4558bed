//! What rules keep needing, derived once per evaluation: the indexes over
//! pods, nodes and endpoints, and the identity the Cilium operator runs as.
//! Each is worked out the first time a rule (or the overview, or a plan)
//! asks, then shared by all of them. Cilium's presence, role, IPAM and
//! routing are the model's own facts ([`crate::model::cilium::CiliumSettings`],
//! derived when the model is built).

use foldhash::{HashMap, HashMapExt, HashSet};
use std::sync::OnceLock;

use crate::model::cilium::helm_get;
use crate::model::{CiliumNode, Cluster, Pod};
use crate::rules::inputs;
use crate::rules::Missing;

/// The IRSA annotation on a ServiceAccount (irsa.json `service_account_annotation`).
pub(crate) const IRSA_ANNOTATION: &str = "eks.amazonaws.com/role-arn";
/// Env var the EKS Pod Identity webhook injects into pods (irsa.json `eks_pod_identity.pod_env_injected`).
const POD_IDENTITY_ENV: &str = "AWS_CONTAINER_CREDENTIALS_FULL_URI";
/// Env var the IRSA webhook injects (irsa.json `irsa.pod_env_injected`).
const IRSA_ENV: &str = "AWS_ROLE_ARN";

/// Cilium's own pods ([`Facts::cilium_pods`]).
#[derive(Debug, Default)]
pub struct CiliumPods<'c> {
    /// Label `k8s-app=cilium`.
    pub agents: Vec<&'c Pod>,
    /// Label `io.cilium/app=operator`, or named `cilium-operator-…`.
    pub operators: Vec<&'c Pod>,
}

fn is_agent_pod(p: &Pod) -> bool {
    p.metadata.labels.get("k8s-app").map(String::as_str) == Some("cilium")
}

fn is_operator_pod(p: &Pod) -> bool {
    p.metadata.labels.get("io.cilium/app").map(String::as_str) == Some("operator")
        || p.metadata.name.starts_with("cilium-operator-")
}

/// The derived facts of one cluster, each computed on first use.
pub struct Facts<'c> {
    cluster: &'c Cluster,
    host_network_pods: OnceLock<HashMap<&'c str, u32>>,
    pod_network_pods: OnceLock<HashMap<&'c str, u32>>,
    live_pods_by_namespace: OnceLock<HashMap<&'c str, Vec<&'c Pod>>>,
    cilium_pods: OnceLock<CiliumPods<'c>>,
    owners: OnceLock<OwnerIndex<'c>>,
    pods_with_endpoint: OnceLock<Option<HashSet<(&'c str, &'c str)>>>,
    cilium_nodes: OnceLock<HashMap<&'c str, &'c CiliumNode>>,
    operator: OnceLock<Result<Operator, Missing>>,
    identity: OnceLock<ClusterIdentity>,
}

impl<'c> Facts<'c> {
    pub fn new(cluster: &'c Cluster) -> Self {
        Facts {
            cluster,
            host_network_pods: OnceLock::new(),
            pod_network_pods: OnceLock::new(),
            live_pods_by_namespace: OnceLock::new(),
            cilium_pods: OnceLock::new(),
            owners: OnceLock::new(),
            pods_with_endpoint: OnceLock::new(),
            cilium_nodes: OnceLock::new(),
            operator: OnceLock::new(),
            identity: OnceLock::new(),
        }
    }

    fn pods(&self) -> &'c [Pod] {
        self.cluster.pods.as_deref().unwrap_or_default()
    }

    /// Live host-network pods per node name (they take a pod slot, not a pod IP).
    pub fn host_network_pods_per_node(&self) -> &HashMap<&'c str, u32> {
        self.host_network_pods
            .get_or_init(|| live_pods_per_node(self.pods(), true))
    }

    /// Live pod-network pods per node name (each holds a pod IP).
    pub fn pod_network_pods_per_node(&self) -> &HashMap<&'c str, u32> {
        self.pod_network_pods
            .get_or_init(|| live_pods_per_node(self.pods(), false))
    }

    /// Live pods ([`pod_is_live`]) by namespace, in the snapshot's order.
    pub fn live_pods_by_namespace(&self) -> &HashMap<&'c str, Vec<&'c Pod>> {
        self.live_pods_by_namespace.get_or_init(|| {
            let mut out: HashMap<&str, Vec<&Pod>> = HashMap::new();
            for pod in self.pods().iter().filter(|p| pod_is_live(p)) {
                out.entry(pod.metadata.namespace()).or_default().push(pod);
            }
            out
        })
    }

    /// Cilium's agent and operator pods, in the snapshot's order.
    pub fn cilium_pods(&self) -> &CiliumPods<'c> {
        self.cilium_pods.get_or_init(|| {
            let mut pods = CiliumPods::default();
            for pod in self.pods() {
                if is_agent_pod(pod) {
                    pods.agents.push(pod);
                } else if is_operator_pod(pod) {
                    pods.operators.push(pod);
                }
            }
            pods
        })
    }

    /// The agent pod running on `node`.
    pub fn agent_pod_on(&self, node: &str) -> Option<&'c Pod> {
        self.cilium_pods()
            .agents
            .iter()
            .copied()
            .find(|p| p.spec.node_name.as_deref() == Some(node))
    }

    /// The controller that owns each pod ([`OwnerIndex::owner_of`]).
    pub fn owners(&self) -> &OwnerIndex<'c> {
        self.owners.get_or_init(|| OwnerIndex::new(self.cluster))
    }

    /// The (namespace, name) of every pod that has a CiliumEndpoint, or
    /// `None` when the snapshot holds no CiliumEndpoint list.
    pub fn pods_with_endpoint(&self) -> Option<&HashSet<(&'c str, &'c str)>> {
        self.pods_with_endpoint
            .get_or_init(|| {
                self.cluster.cilium_endpoints.as_deref().map(|endpoints| {
                    endpoints
                        .iter()
                        .map(|e| (e.metadata.namespace(), e.metadata.name.as_str()))
                        .collect()
                })
            })
            .as_ref()
    }

    /// CiliumNodes by name (a CiliumNode is named after its node).
    pub fn cilium_nodes_by_name(&self) -> &HashMap<&'c str, &'c CiliumNode> {
        self.cilium_nodes.get_or_init(|| {
            self.cluster
                .cilium_nodes
                .as_deref()
                .unwrap_or_default()
                .iter()
                .map(|n| (n.metadata.name.as_str(), n))
                .collect()
        })
    }

    /// Which cluster this is ([`ClusterIdentity::of`]).
    pub fn identity(&self) -> &ClusterIdentity {
        self.identity
            .get_or_init(|| ClusterIdentity::of(self.cluster))
    }

    /// Who the Cilium operator is to AWS: its ServiceAccount and credentials.
    pub(crate) fn operator(&self) -> Result<&Operator, Missing> {
        self.operator
            .get_or_init(|| derive_operator(self.cluster))
            .as_ref()
            .map_err(Clone::clone)
    }
}

/// Which cluster a snapshot is, to AWS and to Cilium.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClusterIdentity {
    /// The EKS cluster's name: describe-cluster's, else a node group's
    /// `clusterName`. Cilium's `cluster-name` is not it (they often differ).
    pub eks_name: Option<String>,
    pub arn: Option<String>,
    /// From the ARN, else (region only) from the API endpoint's host.
    pub region: Option<String>,
    pub account: Option<String>,
    /// Cilium's `cluster-name`, unless unset or Cilium's placeholder `default`.
    pub cilium_name: Option<String>,
}

/// What fixes say where the EKS cluster's name is unknown (shell-quoted,
/// so a pasted command fails on it instead of redirecting).
pub const CLUSTER_NAME_PLACEHOLDER: &str = "'<cluster-name>'";

impl ClusterIdentity {
    pub fn of(c: &Cluster) -> ClusterIdentity {
        let some = |s: &str| (!s.is_empty()).then(|| s.to_string());
        let eks = c.eks.as_ref();
        let eks_name = eks.and_then(|e| some(&e.name)).or_else(|| {
            c.nodegroups
                .as_deref()
                .unwrap_or_default()
                .iter()
                .find_map(|ng| ng.cluster_name.as_deref().and_then(some))
        });
        let (region, account) = c.region_and_account();
        ClusterIdentity {
            eks_name,
            arn: eks.and_then(|e| e.arn.as_deref()).and_then(some),
            region,
            account,
            cilium_name: c
                .cilium
                .get("cluster-name")
                .filter(|n| *n != "default")
                .and_then(some),
        }
    }

    /// The EKS name for AWS CLI commands, else [`CLUSTER_NAME_PLACEHOLDER`].
    pub fn eks_name_for_commands(&self) -> String {
        self.eks_name
            .clone()
            .unwrap_or_else(|| CLUSTER_NAME_PLACEHOLDER.to_string())
    }
}

/// Whether a pod still holds (or will hold) its node slot.
pub fn pod_is_live(pod: &Pod) -> bool {
    !matches!(pod.status.phase.as_deref(), Some("Succeeded" | "Failed"))
}

fn live_pods_per_node(pods: &[Pod], host_network: bool) -> HashMap<&str, u32> {
    let mut out: HashMap<&str, u32> = HashMap::new();
    for p in pods {
        if p.spec.host_network == host_network && pod_is_live(p) {
            if let Some(n) = p.spec.node_name.as_deref() {
                *out.entry(n).or_default() += 1;
            }
        }
    }
    out
}

/// The controller to restart for a pod: a ReplicaSet belongs to the
/// Deployment that owns it (from the ReplicaSets in the snapshot), or, without
/// them, to the Deployment named before the pod's `pod-template-hash`.
#[derive(Default)]
pub struct OwnerIndex<'a> {
    replica_sets: HashMap<(&'a str, &'a str), &'a str>,
}

impl<'a> OwnerIndex<'a> {
    pub fn new(c: &'a Cluster) -> Self {
        let replica_sets = c
            .deployments
            .as_deref()
            .unwrap_or_default()
            .iter()
            .filter(|w| w.kind == "ReplicaSet")
            .filter_map(|rs| {
                let owner = rs
                    .metadata
                    .owner_references
                    .iter()
                    .find(|o| o.kind == "Deployment")?;
                Some((
                    (rs.metadata.namespace(), rs.metadata.name.as_str()),
                    owner.name.as_str(),
                ))
            })
            .collect();
        OwnerIndex { replica_sets }
    }

    pub fn owner_of(&self, pod: &Pod) -> (String, String) {
        let Some(owner) = pod.metadata.owner_references.first() else {
            return ("Pod".to_string(), pod.metadata.name.clone());
        };
        if owner.kind == "ReplicaSet" {
            if let Some(deployment) = self
                .replica_sets
                .get(&(pod.metadata.namespace(), owner.name.as_str()))
            {
                return ("Deployment".to_string(), (*deployment).to_string());
            }
            if let Some(hash) = pod.metadata.labels.get("pod-template-hash") {
                if let Some(deployment) = owner
                    .name
                    .strip_suffix(hash.as_str())
                    .and_then(|n| n.strip_suffix('-'))
                    .filter(|n| !n.is_empty())
                {
                    return ("Deployment".to_string(), deployment.to_string());
                }
            }
        }
        (owner.kind.clone(), owner.name.clone())
    }
}

/// Where the operator's AWS credentials come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Credentials {
    /// IRSA: the role ARN and where it was read.
    Irsa { role_arn: String, source: String },
    /// EKS Pod Identity: env seen on the operator pods, or an association
    /// for its ServiceAccount (`role_arn` only when the association is read
    /// with its role: `describe-pod-identity-association`, or IaC).
    PodIdentity {
        source: String,
        role_arn: Option<String>,
    },
    /// No IRSA or Pod Identity: the operator uses the node instance role.
    NodeRole { source: String },
}

#[derive(Debug, Clone)]
pub(crate) struct Operator {
    pub namespace: String,
    pub service_account: String,
    pub credentials: Credentials,
}

impl Operator {
    pub fn subject(&self) -> String {
        crate::rules::iam::trust::service_account_subject(&self.namespace, &self.service_account)
    }
}

/// The operator's ServiceAccount and credentials: its ServiceAccount's IRSA
/// annotation, else what the webhooks injected into its pods, else the Helm
/// values that annotate the ServiceAccount, else the node role (proven only
/// when the ServiceAccount was seen).
fn derive_operator(c: &Cluster) -> Result<Operator, Missing> {
    let deployment = c.cilium_operator_deployment();
    let namespace = deployment
        .map(|d| d.metadata.namespace().to_string())
        .filter(|n| !n.is_empty())
        .or_else(|| {
            c.cilium
                .agent_daemonset
                .as_ref()
                .map(|k| k.namespace.clone())
                .filter(|n| !n.is_empty())
        })
        .unwrap_or_else(|| "kube-system".to_string());
    let service_account = deployment
        .and_then(|d| d.spec.template.spec.service_account_name.clone())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "cilium-operator".to_string());
    let sa_text = format!("ServiceAccount {namespace}/{service_account}");

    // 1. The ServiceAccount's annotation.
    let sa = c
        .service_accounts
        .as_deref()
        .unwrap_or_default()
        .iter()
        .find(|s| s.metadata.namespace() == namespace && s.metadata.name == service_account);
    if let Some(arn) = sa
        .and_then(|s| s.metadata.annotations.get(IRSA_ANNOTATION))
        .filter(|a| !a.trim().is_empty())
    {
        return Ok(Operator {
            namespace,
            service_account,
            credentials: Credentials::Irsa {
                role_arn: arn.trim().to_string(),
                source: format!("{sa_text} annotation {IRSA_ANNOTATION}"),
            },
        });
    }
    // 2. An EKS Pod Identity association for the ServiceAccount.
    let association = c
        .pod_identity_associations
        .as_deref()
        .unwrap_or_default()
        .iter()
        .find(|a| a.namespace == namespace && a.service_account == service_account);
    if let Some(a) = association {
        return Ok(Operator {
            namespace,
            service_account,
            credentials: Credentials::PodIdentity {
                source: format!(
                    "EKS Pod Identity association for {sa_text}{}",
                    a.role_arn
                        .as_deref()
                        .map(|r| format!(" (role {r})"))
                        .unwrap_or_default()
                ),
                role_arn: a.role_arn.clone(),
            },
        });
    }
    // 3. What the webhooks injected into the operator pods.
    let operator_pods = c.pods.as_deref().unwrap_or_default().iter().filter(|p| {
        p.metadata.namespace() == namespace
            && (p.metadata.labels.get("io.cilium/app").map(String::as_str) == Some("operator")
                || p.metadata.labels.get("name").map(String::as_str) == Some("cilium-operator"))
    });
    for pod in operator_pods {
        for env in pod.spec.containers.iter().flat_map(|c| &c.env) {
            let value = env.value.as_deref().unwrap_or_default();
            if env.name == IRSA_ENV && !value.is_empty() {
                return Ok(Operator {
                    namespace,
                    service_account,
                    credentials: Credentials::Irsa {
                        role_arn: value.to_string(),
                        source: format!(
                            "env {IRSA_ENV} of pod {}/{}",
                            pod.metadata.namespace(),
                            pod.metadata.name
                        ),
                    },
                });
            }
            if env.name == POD_IDENTITY_ENV {
                return Ok(Operator {
                    namespace,
                    service_account,
                    credentials: Credentials::PodIdentity {
                        source: format!(
                            "env {POD_IDENTITY_ENV} of pod {}/{} (EKS Pod Identity)",
                            pod.metadata.namespace(),
                            pod.metadata.name
                        ),
                        role_arn: None,
                    },
                });
            }
        }
    }
    // 4. Helm values that annotate the ServiceAccount.
    if let Some(values) = c.helm_values.as_ref() {
        let from_helm = helm_get(values, "eni.iamRole")
            .and_then(serde_json::Value::as_str)
            .map(|s| (s, "Helm value eni.iamRole"))
            .or_else(|| {
                helm_get(values, "serviceAccounts.operator.annotations")
                    .and_then(|a| a.get(IRSA_ANNOTATION))
                    .and_then(serde_json::Value::as_str)
                    .map(|s| (s, "Helm value serviceAccounts.operator.annotations"))
            })
            .filter(|(s, _)| !s.trim().is_empty());
        if let Some((arn, source)) = from_helm {
            return Ok(Operator {
                namespace,
                service_account,
                credentials: Credentials::Irsa {
                    role_arn: arn.trim().to_string(),
                    source: source.to_string(),
                },
            });
        }
    }
    // Nothing: proven only when the ServiceAccount itself was seen.
    if sa.is_some() {
        return Ok(Operator {
            namespace,
            service_account,
            credentials: Credentials::NodeRole {
                source: format!("{sa_text} has no {IRSA_ANNOTATION} annotation"),
            },
        });
    }
    Err(Missing::new(
        format!("the operator's {sa_text}"),
        inputs::KUBE_SYSTEM_IDENTITIES,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pod(v: serde_json::Value) -> Pod {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn owner_of_strips_the_template_hash() {
        let p = pod(
            json!({"metadata": {"name": "web-5d8f7c9b4-x2k9p", "namespace": "shop",
            "labels": {"pod-template-hash": "5d8f7c9b4"},
            "ownerReferences": [{"kind": "ReplicaSet", "name": "web-5d8f7c9b4"}]}}),
        );
        assert_eq!(
            OwnerIndex::default().owner_of(&p),
            ("Deployment".into(), "web".into())
        );
        let bare = pod(json!({"metadata": {"name": "debug", "namespace": "shop"}}));
        assert_eq!(
            OwnerIndex::default().owner_of(&bare),
            ("Pod".into(), "debug".into())
        );
        let orphan_rs = pod(json!({"metadata": {"name": "x-abc", "namespace": "shop",
            "ownerReferences": [{"kind": "ReplicaSet", "name": "x"}]}}));
        assert_eq!(
            OwnerIndex::default().owner_of(&orphan_rs),
            ("ReplicaSet".into(), "x".into())
        );
        let c = crate::rules::testing::load_cluster(&[
            json!({"apiVersion": "apps/v1", "kind": "ReplicaSet",
            "metadata": {"name": "x", "namespace": "shop",
                "ownerReferences": [{"kind": "Deployment", "name": "reports"}]}}),
        ]);
        assert_eq!(
            OwnerIndex::new(&c).owner_of(&orphan_rs),
            ("Deployment".into(), "reports".into())
        );
    }

    #[test]
    fn identity_names_the_eks_cluster_not_ciliums() {
        let c = crate::rules::testing::load_cluster(&[
            json!({"apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {"name": "cilium-config", "namespace": "kube-system"},
                "data": {"cluster-name": "default"}}),
            json!({"nodegroup": {"nodegroupName": "ng", "clusterName": "prod"}}),
        ]);
        let id = ClusterIdentity::of(&c);
        assert_eq!(id.eks_name.as_deref(), Some("prod"));
        assert_eq!(id.cilium_name, None, "`default` is Cilium's placeholder");
        assert_eq!(
            ClusterIdentity::default().eks_name_for_commands(),
            CLUSTER_NAME_PLACEHOLDER
        );
    }

    #[test]
    fn indexes_count_live_pods_per_node_once() {
        let c = crate::rules::testing::load_cluster(&[json!({"apiVersion": "v1", "kind": "List",
            "items": [
                {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "a", "namespace": "x"},
                 "spec": {"nodeName": "n1", "hostNetwork": true}, "status": {"phase": "Running"}},
                {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "b", "namespace": "x"},
                 "spec": {"nodeName": "n1"}, "status": {"phase": "Running"}},
                {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "c", "namespace": "x"},
                 "spec": {"nodeName": "n1"}, "status": {"phase": "Succeeded"}}]})]);
        let facts = Facts::new(&c);
        assert_eq!(facts.host_network_pods_per_node().get("n1"), Some(&1));
        assert_eq!(facts.pod_network_pods_per_node().get("n1"), Some(&1));
        assert!(std::ptr::eq(
            facts.host_network_pods_per_node(),
            facts.host_network_pods_per_node()
        ));
        assert!(
            facts.pods_with_endpoint().is_none(),
            "no CiliumEndpoint list read"
        );
    }
}
