//! The cluster as rules see it: one typed model that every loader (files,
//! archives, live APIs) fills and every rule reads.
//!
//! Each collection is an `Option`: `None` means "this input was not
//! provided" (the rules that need it report *not evaluated*), `Some(vec![])`
//! means "provided and empty". Derived facts (Cilium version, IPAM mode, …)
//! are computed once by [`Cluster::finish`] after loading.

pub mod aws;
pub mod cilium;
pub mod kube;
mod string_map;

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

pub use aws::*;
pub use cilium::CiliumSettings;
pub use kube::*;
pub use string_map::{KeySet, StringMap};

use crate::version::Version;

/// Kind + namespace + name of an object that exists in the snapshot, for
/// presence checks of objects the model does not otherwise type
/// (ClusterRoles, CRDs, ConfigMaps, …).
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct ObjectKey {
    pub kind: String,
    pub namespace: String,
    pub name: String,
}

impl ObjectKey {
    pub fn new(kind: &str, namespace: &str, name: &str) -> Self {
        ObjectKey {
            kind: kind.to_string(),
            namespace: namespace.to_string(),
            name: name.to_string(),
        }
    }
}

/// One Prometheus sample.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MetricSample {
    pub name: String,
    pub labels: BTreeMap<String, String>,
    pub value: f64,
    /// Where it came from (file or archive member), for evidence.
    pub source: String,
}

/// One line of `cilium status` (`Kubernetes: Ok 1.34 …`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StatusComponent {
    pub name: String,
    /// The first word of the value (`Ok`, `Warning`, `Failure`, `Disabled`, …).
    pub state: String,
    pub detail: String,
}

/// A parsed `cilium status` output (one agent).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct CiliumStatusReport {
    /// File or archive member it came from (names the agent pod in a sysdump).
    pub source: String,
    pub components: Vec<StatusComponent>,
    /// `Cluster health: 1/3 reachable` → (1, 3).
    pub cluster_health: Option<(u32, u32)>,
    /// Nodes listed as not fully reachable under `Cluster health`.
    pub unreachable_nodes: Vec<String>,
    /// `cilium status --verbose` `Allocated addresses:`: the owners of the
    /// addresses listed (`router`, `health`, `ingress`, `ns/pod`); `None`
    /// when the output is not verbose.
    pub allocation_owners: Option<Vec<String>>,
    /// The same list with each address: (address, owner), in the order printed.
    pub allocations: Vec<(String, String)>,
    /// `IPAM: IPv4: 6/14 allocated …` → (6, 14).
    pub ipam_ipv4: Option<(u32, u32)>,
    /// The devices `KubeProxyReplacement:` (or its verbose `Devices:` line)
    /// lists: `[ens5 10.0.10.206 fe80::… (Direct Routing), ens6 10.0.10.91]`.
    pub kpr_devices: Vec<StatusDevice>,
    /// `Controller Status: 20/21 healthy` → (20, 21).
    pub controllers: Option<(u32, u32)>,
    /// Controllers whose consecutive failure count is above zero, as the
    /// table under `Controller Status:` lists them.
    pub failing_controllers: Vec<FailingController>,
    /// The node marked `(localhost)` in the `Cluster health:` table: the
    /// agent's own node.
    pub local_node: Option<String>,
}

/// One device of the kube-proxy-replacement device list.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct StatusDevice {
    pub name: String,
    pub addresses: Vec<String>,
    pub direct_routing: bool,
}

/// One failing row of `cilium status`'s controller table.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct FailingController {
    pub name: String,
    /// `Last error` column (`3s ago`).
    pub last_error: String,
    /// Consecutive failures.
    pub count: u64,
    pub message: String,
}

/// A `cilium connectivity test --junit-file` report (cilium-cli's JUnit).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ConnectivityTestReport {
    pub source: String,
    /// The `Args` property: the command line, `|`-separated.
    pub args: Option<String>,
    pub tests: Vec<ConnectivityTest>,
}

/// One test of the connectivity test (`no-policies`, `to-fqdns`, …).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ConnectivityTest {
    pub name: String,
    /// `passed`, `failed` or `skipped`.
    pub status: String,
    /// The failed actions, one line each, as cilium-cli prints them
    /// (`no-policies/pod-to-pod/curl-ipv4-0: SRC (IP) -> DST (IP:PORT)`).
    pub failed_actions: Vec<String>,
}

/// A node's policy routing rules: `ip rule` / `ip -d rule` as iproute2
/// prints them (a sysdump's bugtool `cmd/ip-rule.md`, `cmd/ip--d-rule.md`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct IpRuleList {
    pub source: String,
    pub rules: Vec<IpRule>,
}

/// One `ip rule` line: `111:\tfrom 10.0.1.45 to 10.0.0.0/16 lookup 11`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct IpRule {
    pub priority: u32,
    /// `not` before the selector.
    pub not: bool,
    /// `from` (`all` or an address/prefix as printed).
    pub from: String,
    /// `to`, when the rule has one.
    pub to: Option<String>,
    /// `lookup`/`table` (`local`, `main`, `11`…); None for other actions.
    pub table: Option<String>,
    /// The line as printed, for evidence.
    pub line: String,
}

/// A node's routes: `ip -4 r` / `ip route` as iproute2 prints them (a
/// sysdump's bugtool `cmd/ip--4-r.md`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct IpRouteList {
    pub source: String,
    pub routes: Vec<IpRoute>,
}

/// One `ip route` line: `default via 10.0.0.1 dev ens5 proto dhcp src 10.0.1.12 metric 1024`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct IpRoute {
    /// `default` or a prefix (with the route type, e.g. `local`, before it when printed).
    pub destination: String,
    pub via: Option<String>,
    pub dev: Option<String>,
    pub proto: Option<String>,
    /// `table`, when printed (`ip route show table all`); None: the main table.
    pub table: Option<String>,
    /// `metric`; None when not printed (the kernel's 0).
    pub metric: Option<u32>,
    pub line: String,
}

/// A parsed `cilium-health status` output (one agent).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct CiliumHealthReport {
    pub source: String,
    pub unreachable_nodes: Vec<String>,
    pub unreachable_endpoints: Vec<String>,
}

/// Kubernetes `kubectl version -o json` → serverVersion.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ServerVersion {
    pub git_version: String,
    pub version: Version,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Cluster {
    /// Cluster name (EKS describe-cluster, kubeconfig context, or Cilium `cluster-name`).
    pub name: Option<String>,
    pub server_version: Option<ServerVersion>,

    // Kubernetes objects.
    pub nodes: Option<Vec<Node>>,
    pub pods: Option<Vec<Pod>>,
    pub daemonsets: Option<Vec<Workload>>,
    /// Deployments, StatefulSets and ReplicaSets.
    pub deployments: Option<Vec<Workload>>,
    pub service_accounts: Option<Vec<ServiceAccount>>,
    pub services: Option<Vec<Service>>,
    pub config_maps: Option<Vec<ConfigMap>>,
    pub webhook_configurations: Option<Vec<WebhookConfiguration>>,
    pub events: Option<Vec<Event>>,
    pub security_group_policies: Option<Vec<SecurityGroupPolicy>>,
    pub network_policies: Option<Vec<NetworkPolicy>>,
    pub cilium_endpoints: Option<Vec<CiliumEndpoint>>,
    pub cilium_nodes: Option<Vec<CiliumNode>>,
    pub node_pools: Option<Vec<NodePool>>,
    /// Karpenter EC2NodeClasses (karpenter.k8s.aws).
    pub ec2_node_classes: Option<Vec<Ec2NodeClass>>,
    /// Objects of the kinds the model does not type (ClusterRoles, CRDs,
    /// Namespaces), by kind/namespace/name; see [`Cluster::has_object`].
    pub objects: BTreeSet<ObjectKey>,
    /// Kubernetes kinds whose lists were provided (even when empty), e.g.
    /// `ClusterRole`, `CustomResourceDefinition`.
    pub kinds_listed: BTreeSet<String>,

    // Cilium.
    pub helm_values: Option<serde_json::Value>,
    pub metrics: Option<Vec<MetricSample>>,
    pub cilium_status: Option<Vec<CiliumStatusReport>>,
    pub cilium_health: Option<Vec<CiliumHealthReport>>,
    /// Agent and operator logs read (sysdump `logs-*.log`, saved `kubectl
    /// logs`): per file its shape and the known signatures it holds, never
    /// the lines themselves.
    pub logs: Option<Vec<crate::logs::LogFile>>,
    /// `cilium connectivity test --junit-file` reports.
    pub connectivity_tests: Option<Vec<ConnectivityTestReport>>,
    /// Nodes' `ip rule` outputs (sysdump bugtool captures).
    pub ip_rules: Option<Vec<IpRuleList>>,
    /// Nodes' `ip route` outputs (sysdump bugtool captures).
    pub ip_routes: Option<Vec<IpRouteList>>,

    // AWS.
    pub eks: Option<EksCluster>,
    pub nodegroups: Option<Vec<Nodegroup>>,
    /// `aws ec2 describe-launch-template-versions`: the node groups' launch
    /// templates, user data read ([`crate::userdata`]).
    pub launch_template_versions: Option<Vec<LaunchTemplateVersion>>,
    /// Names from `list-addons`.
    pub addon_names: Option<Vec<String>>,
    pub addons: Option<Vec<Addon>>,
    /// `describe-cluster-versions`: EKS's support calendar, live (see
    /// [`crate::knowledge::Knowledge::support_calendar`]).
    pub eks_cluster_versions: Option<Vec<EksClusterVersion>>,
    /// `list-insights` rows and `describe-insight` answers (see
    /// [`Cluster::eks_insights`]).
    pub eks_insights: Option<Vec<EksInsight>>,
    pub subnets: Option<Vec<Subnet>>,
    pub vpcs: Option<Vec<Vpc>>,
    pub route_tables: Option<Vec<RouteTable>>,
    pub security_groups: Option<Vec<SecurityGroup>>,
    pub instances: Option<Vec<Ec2Instance>>,
    pub network_interfaces: Option<Vec<NetworkInterface>>,
    pub peering_connections: Option<Vec<VpcPeeringConnection>>,
    pub instance_types: Option<Vec<Ec2InstanceType>>,
    pub iam_roles: Option<Vec<IamRole>>,
    pub managed_policies: Option<Vec<ManagedPolicy>>,
    /// OIDC provider ARNs.
    pub oidc_providers: Option<Vec<String>>,
    /// EKS Pod Identity associations (`describe-pod-identity-association`,
    /// or planned by infrastructure code).
    pub pod_identity_associations: Option<Vec<PodIdentityAssociation>>,

    /// Calls a live collection could not make (from a snapshot's
    /// `manifest.json`): surfaced in the report, so a denied call is never
    /// mistaken for an empty cluster.
    pub collection_gaps: Vec<crate::snapshot::CollectionGap>,

    /// The name of every input read, by the loader's index (`Meta::input`
    /// points here): where findings on an object say it was read from.
    #[serde(skip)]
    pub input_files: Vec<String>,
    /// Where objects are declared, by kind/namespace/name (namespace empty
    /// for AWS and cluster-scoped objects): `preflight` records the IaC
    /// file and line of each object it plans.
    #[serde(skip)]
    pub object_sources: BTreeMap<ObjectKey, crate::findings::SourceLocation>,
    /// Facts only infrastructure code has (planned replacements, how
    /// aws-node is removed, the chart pin); `None` outside `preflight`,
    /// and the IAC rules are then not run at all.
    #[serde(skip)]
    pub iac: Option<crate::iac::IacFacts>,

    /// Derived Cilium facts, computed by [`Cluster::finish`].
    pub cilium: CiliumSettings,
}

/// Append `items` to an optional collection, marking it provided.
pub fn extend<T>(slot: &mut Option<Vec<T>>, items: impl IntoIterator<Item = T>) {
    slot.get_or_insert_with(Vec::new).extend(items);
}

/// Where the model keeps the objects of a kind it reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Collection {
    Nodes,
    Pods,
    DaemonSets,
    /// Deployments, StatefulSets and ReplicaSets, told apart by their `kind`.
    Workloads,
    ServiceAccounts,
    Services,
    ConfigMaps,
    /// Validating and mutating webhook configurations, by their `kind`.
    Webhooks,
    Events,
    SecurityGroupPolicies,
    /// NetworkPolicies and Cilium's (clusterwide) network policies, by their `kind`.
    NetworkPolicies,
    CiliumEndpoints,
    CiliumNodes,
    NodePools,
    Ec2NodeClasses,
    /// Only that one exists ([`Cluster::objects`]).
    Presence,
}

/// Every kind the model keeps, once, with its collection: the loader's
/// parser, the listed-kind marks and [`Cluster::metas_of_kind`] all read
/// this table. Secrets and every kind not here are never kept.
pub static KEPT_KINDS: &[(&str, Collection)] = &[
    ("Node", Collection::Nodes),
    ("Pod", Collection::Pods),
    ("DaemonSet", Collection::DaemonSets),
    ("Deployment", Collection::Workloads),
    ("StatefulSet", Collection::Workloads),
    ("ReplicaSet", Collection::Workloads),
    ("ServiceAccount", Collection::ServiceAccounts),
    ("Service", Collection::Services),
    ("ConfigMap", Collection::ConfigMaps),
    ("ValidatingWebhookConfiguration", Collection::Webhooks),
    ("MutatingWebhookConfiguration", Collection::Webhooks),
    ("Event", Collection::Events),
    ("SecurityGroupPolicy", Collection::SecurityGroupPolicies),
    ("NetworkPolicy", Collection::NetworkPolicies),
    ("CiliumNetworkPolicy", Collection::NetworkPolicies),
    (
        "CiliumClusterwideNetworkPolicy",
        Collection::NetworkPolicies,
    ),
    ("CiliumEndpoint", Collection::CiliumEndpoints),
    ("CiliumNode", Collection::CiliumNodes),
    ("NodePool", Collection::NodePools),
    ("EC2NodeClass", Collection::Ec2NodeClasses),
    ("ClusterRole", Collection::Presence),
    ("ClusterRoleBinding", Collection::Presence),
    ("CustomResourceDefinition", Collection::Presence),
    ("Namespace", Collection::Presence),
    ("ENIConfig", Collection::Presence),
];

/// A kept kind's own (static) name and its collection.
pub fn kept_kind(kind: &str) -> Option<(&'static str, Collection)> {
    KEPT_KINDS.iter().find(|(k, _)| *k == kind).copied()
}

impl Cluster {
    /// Compute the derived facts; call once after all inputs are loaded.
    pub fn finish(&mut self) {
        self.cilium = CiliumSettings::derive(self);
        if self.name.is_none() {
            self.name = self
                .eks
                .as_ref()
                .map(|e| e.name.clone())
                .filter(|n| !n.is_empty())
                .or_else(|| self.cilium.get("cluster-name").map(str::to_string));
        }
    }

    /// EKS cluster insights, one per id: a `describe-insight` answer wins
    /// over the `list-insights` row of the same id. `None` when neither
    /// was provided.
    pub fn eks_insights(&self) -> Option<Vec<&EksInsight>> {
        let all = self.eks_insights.as_ref()?;
        let mut by_id: BTreeMap<&str, &EksInsight> = BTreeMap::new();
        let mut order: Vec<&str> = Vec::new();
        for insight in all {
            match by_id.get(insight.id.as_str()) {
                Some(kept) if kept.described && !insight.described => {}
                Some(_) => {
                    by_id.insert(&insight.id, insight);
                }
                None => {
                    order.push(&insight.id);
                    by_id.insert(&insight.id, insight);
                }
            }
        }
        Some(order.iter().map(|id| by_id[id]).collect())
    }

    /// The EKS cluster's region and account: from its ARN
    /// (`arn:aws:eks:REGION:ACCOUNT:cluster/NAME`), else the region of its
    /// endpoint (`https://ID.gr7.REGION.eks.amazonaws.com`).
    pub fn region_and_account(&self) -> (Option<String>, Option<String>) {
        let Some(eks) = &self.eks else {
            return (None, None);
        };
        if let Some(arn) = eks.arn.as_deref() {
            let parts: Vec<&str> = arn.split(':').collect();
            if let [_, _, "eks", region, account, ..] = parts[..] {
                let some = |s: &str| (!s.is_empty()).then(|| s.to_string());
                return (some(region), some(account));
            }
        }
        let region = eks
            .endpoint
            .as_deref()
            .and_then(|e| e.strip_suffix(".eks.amazonaws.com"))
            .and_then(|host| host.rsplit('.').next())
            .filter(|r| r.contains('-'))
            .map(str::to_string);
        (region, None)
    }

    /// The Kubernetes minor of the control plane: `kubectl version`, else
    /// EKS describe-cluster.
    pub fn kubernetes_version(&self) -> Option<Version> {
        self.server_version.as_ref().map(|v| v.version).or_else(|| {
            self.eks
                .as_ref()
                .and_then(|e| e.version.as_deref())
                .and_then(|v| v.parse().ok())
        })
    }

    /// The cilium-operator Deployment: by its name, else its
    /// `io.cilium/app: operator` label (ReplicaSets are not it).
    pub fn cilium_operator_deployment(&self) -> Option<&Workload> {
        self.deployments
            .as_deref()
            .unwrap_or_default()
            .iter()
            .find(|d| {
                d.kind != "ReplicaSet"
                    && (d.metadata.name == "cilium-operator"
                        || d.metadata.labels.get("io.cilium/app").map(String::as_str)
                            == Some("operator"))
            })
    }

    pub fn daemonset(&self, namespace: &str, name: &str) -> Option<&Workload> {
        self.daemonsets
            .as_deref()?
            .iter()
            .find(|d| d.metadata.namespace() == namespace && d.metadata.name == name)
    }

    pub fn config_map(&self, namespace: &str, name: &str) -> Option<&ConfigMap> {
        self.config_maps
            .as_deref()?
            .iter()
            .find(|c| c.metadata.namespace() == namespace && c.metadata.name == name)
    }

    /// The metadata of every loaded object of a typed kind; None for a kind
    /// the model keeps no collection of (those are in [`Cluster::objects`]).
    /// Kinds that share a collection (workloads, webhooks, policies) are
    /// told apart by their own `kind`.
    pub fn metas_of_kind<'a: 'k, 'k>(
        &'a self,
        kind: &'k str,
    ) -> Option<Box<dyn Iterator<Item = &'a Meta> + 'k>> {
        fn all<'a, T>(
            items: &'a Option<Vec<T>>,
            meta: impl Fn(&'a T) -> &'a Meta + 'a,
        ) -> Box<dyn Iterator<Item = &'a Meta> + 'a> {
            Box::new(items.iter().flatten().map(meta))
        }
        fn of_kind<'a: 'k, 'k, T>(
            items: &'a Option<Vec<T>>,
            kind: &'k str,
            own_kind: impl Fn(&'a T) -> &'a str + 'k,
            meta: impl Fn(&'a T) -> &'a Meta + 'k,
        ) -> Box<dyn Iterator<Item = &'a Meta> + 'k> {
            Box::new(
                items
                    .iter()
                    .flatten()
                    .filter(move |o| own_kind(o) == kind)
                    .map(meta),
            )
        }
        let (_, collection) = kept_kind(kind)?;
        Some(match collection {
            Collection::Nodes => all(&self.nodes, |o| &o.metadata),
            Collection::Pods => all(&self.pods, |o| &o.metadata),
            Collection::DaemonSets => all(&self.daemonsets, |o| &o.metadata),
            Collection::Workloads => of_kind(&self.deployments, kind, |o| &o.kind, |o| &o.metadata),
            Collection::ServiceAccounts => all(&self.service_accounts, |o| &o.metadata),
            Collection::Services => all(&self.services, |o| &o.metadata),
            Collection::ConfigMaps => all(&self.config_maps, |o| &o.metadata),
            Collection::Webhooks => of_kind(
                &self.webhook_configurations,
                kind,
                |o| &o.kind,
                |o| &o.metadata,
            ),
            Collection::Events => all(&self.events, |o| &o.metadata),
            Collection::SecurityGroupPolicies => {
                all(&self.security_group_policies, |o| &o.metadata)
            }
            Collection::NetworkPolicies => {
                of_kind(&self.network_policies, kind, |o| &o.kind, |o| &o.metadata)
            }
            Collection::CiliumEndpoints => all(&self.cilium_endpoints, |o| &o.metadata),
            Collection::CiliumNodes => all(&self.cilium_nodes, |o| &o.metadata),
            Collection::NodePools => all(&self.node_pools, |o| &o.metadata),
            Collection::Ec2NodeClasses => all(&self.ec2_node_classes, |o| &o.metadata),
            Collection::Presence => return None,
        })
    }

    /// Whether an object of that kind, namespace and name was loaded.
    /// Typed kinds are looked up in their collection (a key set beside
    /// 150,000 pods would cost tens of MB for lookups no rule makes).
    pub fn has_object(&self, kind: &str, namespace: &str, name: &str) -> bool {
        match self.metas_of_kind(kind) {
            Some(mut metas) => metas.any(|m| m.namespace() == namespace && m.name == name),
            None => self
                .objects
                .contains(&ObjectKey::new(kind, namespace, name)),
        }
    }

    /// Cilium is the primary CNI: an agent DaemonSet exists and the config
    /// does not chain onto the VPC CNI.
    pub fn cilium_is_primary(&self) -> bool {
        self.cilium.is_primary()
    }
}
