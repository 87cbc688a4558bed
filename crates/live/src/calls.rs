//! Every API call the collector makes, with the permission it needs: the
//! one table that the collector uses to name calls (and denied ones), and
//! that the tests hold against `deploy/iam-policy.json` and
//! `deploy/rbac.yaml`, so least privilege cannot drift from the code.

/// AWS actions, one per SDK operation called (the IAM action has the same
/// name as the operation).
pub mod aws {
    pub const EKS_DESCRIBE_CLUSTER: &str = "eks:DescribeCluster";
    pub const EKS_DESCRIBE_CLUSTER_VERSIONS: &str = "eks:DescribeClusterVersions";
    pub const EKS_LIST_ADDONS: &str = "eks:ListAddons";
    pub const EKS_DESCRIBE_ADDON: &str = "eks:DescribeAddon";
    pub const EKS_LIST_NODEGROUPS: &str = "eks:ListNodegroups";
    pub const EKS_DESCRIBE_NODEGROUP: &str = "eks:DescribeNodegroup";
    pub const EKS_LIST_INSIGHTS: &str = "eks:ListInsights";
    pub const EKS_DESCRIBE_INSIGHT: &str = "eks:DescribeInsight";
    pub const EC2_DESCRIBE_INSTANCE_TYPES: &str = "ec2:DescribeInstanceTypes";
    pub const EC2_DESCRIBE_SUBNETS: &str = "ec2:DescribeSubnets";
    pub const EC2_DESCRIBE_VPCS: &str = "ec2:DescribeVpcs";
    pub const EC2_DESCRIBE_ROUTE_TABLES: &str = "ec2:DescribeRouteTables";
    pub const EC2_DESCRIBE_SECURITY_GROUPS: &str = "ec2:DescribeSecurityGroups";
    pub const EC2_DESCRIBE_NETWORK_INTERFACES: &str = "ec2:DescribeNetworkInterfaces";
    pub const EC2_DESCRIBE_INSTANCES: &str = "ec2:DescribeInstances";
    pub const EC2_DESCRIBE_LAUNCH_TEMPLATE_VERSIONS: &str = "ec2:DescribeLaunchTemplateVersions";
    pub const IAM_GET_ROLE: &str = "iam:GetRole";
    pub const IAM_LIST_ROLE_POLICIES: &str = "iam:ListRolePolicies";
    pub const IAM_GET_ROLE_POLICY: &str = "iam:GetRolePolicy";
    pub const IAM_LIST_ATTACHED_ROLE_POLICIES: &str = "iam:ListAttachedRolePolicies";
    pub const IAM_GET_POLICY: &str = "iam:GetPolicy";
    pub const IAM_GET_POLICY_VERSION: &str = "iam:GetPolicyVersion";
    pub const IAM_LIST_OIDC_PROVIDERS: &str = "iam:ListOpenIDConnectProviders";

    /// Every action above: what `deploy/iam-policy.json` must allow, exactly.
    pub const ALL: &[&str] = &[
        EKS_DESCRIBE_CLUSTER,
        EKS_DESCRIBE_CLUSTER_VERSIONS,
        EKS_LIST_ADDONS,
        EKS_DESCRIBE_ADDON,
        EKS_LIST_NODEGROUPS,
        EKS_DESCRIBE_NODEGROUP,
        EKS_LIST_INSIGHTS,
        EKS_DESCRIBE_INSIGHT,
        EC2_DESCRIBE_INSTANCE_TYPES,
        EC2_DESCRIBE_SUBNETS,
        EC2_DESCRIBE_VPCS,
        EC2_DESCRIBE_ROUTE_TABLES,
        EC2_DESCRIBE_SECURITY_GROUPS,
        EC2_DESCRIBE_NETWORK_INTERFACES,
        EC2_DESCRIBE_INSTANCES,
        EC2_DESCRIBE_LAUNCH_TEMPLATE_VERSIONS,
        IAM_GET_ROLE,
        IAM_LIST_ROLE_POLICIES,
        IAM_GET_ROLE_POLICY,
        IAM_LIST_ATTACHED_ROLE_POLICIES,
        IAM_GET_POLICY,
        IAM_GET_POLICY_VERSION,
        IAM_LIST_OIDC_PROVIDERS,
    ];
}

/// How a Kubernetes kind is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Read {
    /// List across all namespaces (or the cluster, for cluster-scoped kinds).
    List,
    /// Get these objects by name only: `(namespace, name)`, namespace
    /// empty for cluster-scoped kinds. Used where a list would read far
    /// more than the rules need (ConfigMaps, RBAC).
    Get(&'static [(&'static str, &'static str)]),
}

impl Read {
    /// The verb of a one-off read (`collect`, `check --live`).
    pub fn verb(self) -> &'static str {
        match self {
            Read::List => "list",
            Read::Get(_) => "get",
        }
    }

    /// Every verb used on the kind: `serve` also watches what it lists
    /// (crates/live/src/watch.rs); objects read by name are re-read.
    pub fn verbs(self) -> &'static [&'static str] {
        match self {
            Read::List => &["list", "watch"],
            Read::Get(_) => &["get"],
        }
    }
}

/// One Kubernetes kind the collector reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KubeKind {
    /// The item kind, e.g. `Pod` (files hold a `PodList`).
    pub kind: &'static str,
    /// API group, empty for the core group.
    pub group: &'static str,
    pub version: &'static str,
    pub plural: &'static str,
    /// Custom resources: a 404 means "not installed", not an error.
    pub optional: bool,
    pub read: Read,
    /// The snapshot file (as `scripts/dump.sh` names it).
    pub file: &'static str,
}

impl KubeKind {
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.to_string()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    /// The RBAC permission it needs, e.g. `list pods` or
    /// `get configmaps (kube-system/cilium-config, …)`.
    pub fn permission(&self) -> String {
        let resource = if self.group.is_empty() {
            self.plural.to_string()
        } else {
            format!("{}.{}", self.plural, self.group)
        };
        match self.read {
            Read::List => format!("list {resource}"),
            Read::Get(names) => {
                let names: Vec<String> = names
                    .iter()
                    .map(|(ns, n)| {
                        if ns.is_empty() {
                            n.to_string()
                        } else {
                            format!("{ns}/{n}")
                        }
                    })
                    .collect();
                format!("get {resource} ({})", names.join(", "))
            }
        }
    }
}

const fn list(
    kind: &'static str,
    group: &'static str,
    version: &'static str,
    plural: &'static str,
    optional: bool,
    file: &'static str,
) -> KubeKind {
    KubeKind {
        kind,
        group,
        version,
        plural,
        optional,
        read: Read::List,
        file,
    }
}

/// Everything read from Kubernetes besides `/version`. Secrets never are.
pub const KUBE_KINDS: &[KubeKind] = &[
    list("Node", "", "v1", "nodes", false, "k8s-nodes.json"),
    list("Pod", "", "v1", "pods", false, "k8s-pods.json"),
    list("Event", "", "v1", "events", false, "k8s-events.json"),
    list(
        "DaemonSet",
        "apps",
        "v1",
        "daemonsets",
        false,
        "k8s-daemonsets.json",
    ),
    list(
        "Deployment",
        "apps",
        "v1",
        "deployments",
        false,
        "k8s-deployments.json",
    ),
    list(
        "StatefulSet",
        "apps",
        "v1",
        "statefulsets",
        false,
        "k8s-statefulsets.json",
    ),
    list(
        "ReplicaSet",
        "apps",
        "v1",
        "replicasets",
        false,
        "k8s-replicasets.json",
    ),
    list(
        "ServiceAccount",
        "",
        "v1",
        "serviceaccounts",
        false,
        "k8s-serviceaccounts.json",
    ),
    list("Service", "", "v1", "services", false, "k8s-services.json"),
    KubeKind {
        kind: "ConfigMap",
        group: "",
        version: "v1",
        plural: "configmaps",
        optional: false,
        // cilium-config for Cilium's settings, amazon-vpc-cni for CNI005.
        read: Read::Get(&[
            ("kube-system", "cilium-config"),
            ("kube-system", "amazon-vpc-cni"),
        ]),
        file: "k8s-configmaps.json",
    },
    list(
        "ValidatingWebhookConfiguration",
        "admissionregistration.k8s.io",
        "v1",
        "validatingwebhookconfigurations",
        false,
        "k8s-validatingwebhooks.json",
    ),
    list(
        "MutatingWebhookConfiguration",
        "admissionregistration.k8s.io",
        "v1",
        "mutatingwebhookconfigurations",
        false,
        "k8s-mutatingwebhooks.json",
    ),
    KubeKind {
        kind: "ClusterRole",
        group: "rbac.authorization.k8s.io",
        version: "v1",
        plural: "clusterroles",
        optional: false,
        read: Read::Get(&[("", "aws-node")]),
        file: "k8s-clusterroles.json",
    },
    KubeKind {
        kind: "ClusterRoleBinding",
        group: "rbac.authorization.k8s.io",
        version: "v1",
        plural: "clusterrolebindings",
        optional: false,
        read: Read::Get(&[("", "aws-node")]),
        file: "k8s-clusterrolebindings.json",
    },
    list(
        "CustomResourceDefinition",
        "apiextensions.k8s.io",
        "v1",
        "customresourcedefinitions",
        false,
        "k8s-crds.json",
    ),
    list(
        "NetworkPolicy",
        "networking.k8s.io",
        "v1",
        "networkpolicies",
        false,
        "k8s-networkpolicies.json",
    ),
    list(
        "CiliumNode",
        "cilium.io",
        "v2",
        "ciliumnodes",
        true,
        "k8s-ciliumnodes.json",
    ),
    list(
        "CiliumEndpoint",
        "cilium.io",
        "v2",
        "ciliumendpoints",
        true,
        "k8s-ciliumendpoints.json",
    ),
    list(
        "CiliumNetworkPolicy",
        "cilium.io",
        "v2",
        "ciliumnetworkpolicies",
        true,
        "k8s-ciliumnetworkpolicies.json",
    ),
    list(
        "CiliumClusterwideNetworkPolicy",
        "cilium.io",
        "v2",
        "ciliumclusterwidenetworkpolicies",
        true,
        "k8s-ciliumclusterwidenetworkpolicies.json",
    ),
    list(
        "SecurityGroupPolicy",
        "vpcresources.k8s.aws",
        "v1beta1",
        "securitygrouppolicies",
        true,
        "k8s-securitygrouppolicies.json",
    ),
    list(
        "NodePool",
        "karpenter.sh",
        "v1",
        "nodepools",
        true,
        "k8s-nodepools.json",
    ),
    list(
        "EC2NodeClass",
        "karpenter.k8s.aws",
        "v1",
        "ec2nodeclasses",
        true,
        "k8s-ec2nodeclasses.json",
    ),
];

/// The non-resource URL read for the server version (RBAC `nonResourceURLs`).
pub const KUBE_VERSION_PATH: &str = "/version";

/// The log subresource read for the log tails (crates/live/src/logs.rs):
/// `get` on `pods/log`, the only subresource read.
pub const POD_LOGS: &str = "get pods/log";
/// `(group, resource, verb)` of [`POD_LOGS`] as RBAC writes it.
pub const POD_LOGS_GRANT: (&str, &str, &str) = ("", "pods/log", "get");
/// The containers whose logs are tailed.
pub const POD_LOG_CONTAINERS: &[&str] = &["cilium-agent", "cilium-operator"];

/// A kind `serve --policy-report` writes: the only writes the doctor makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KubeWrite {
    pub kind: &'static str,
    pub group: &'static str,
    pub version: &'static str,
    pub plural: &'static str,
    pub namespaced: bool,
}

impl KubeWrite {
    pub fn api_version(&self) -> String {
        format!("{}/{}", self.group, self.version)
    }

    /// `VERB plural.group`, as a gap or a log line names what to grant.
    pub fn permission(&self, verb: &str) -> String {
        format!("{verb} {}.{}", self.plural, self.group)
    }
}

/// Verbs of the written kinds, each one called by crates/live/src/policyreport.rs
/// (`list` to find the doctor's reports, `create` for a new one, `patch`
/// for a changed one); nothing else, and no other kind, is written.
pub const WRITE_VERBS: &[&str] = &["list", "create", "patch"];

/// `serve --policy-report`: the wgpolicyk8s.io reports of
/// `check --format policyreport`.
pub const POLICY_REPORT_KINDS: &[KubeWrite] = &[
    KubeWrite {
        kind: "ClusterPolicyReport",
        group: "wgpolicyk8s.io",
        version: "v1alpha2",
        plural: "clusterpolicyreports",
        namespaced: false,
    },
    KubeWrite {
        kind: "PolicyReport",
        group: "wgpolicyk8s.io",
        version: "v1alpha2",
        plural: "policyreports",
        namespaced: true,
    },
];
