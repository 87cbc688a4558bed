//! Every input a rule can lack, named once, with the command that provides
//! it: a rule's "not evaluated" says the same thing in every area.

pub const DAEMONSETS: &str = "kubectl get daemonsets -A -o json > daemonsets.json";
pub const PODS: &str = "kubectl get pods -A -o json > pods.json";
pub const NODES: &str = "kubectl get nodes -o json > nodes.json";
pub const WORKLOADS: &str = "kubectl get daemonsets,deployments,pods -A -o json > workloads.json";
pub const CILIUM_CONFIG: &str =
    "kubectl -n kube-system get configmap cilium-config -o json > cilium-config.json";
pub const KUBE_SYSTEM_IDENTITIES: &str =
    "kubectl -n kube-system get serviceaccounts,deployments,pods -o json > kube-system.json";
pub const KUBERNETES_VERSION: &str =
    "kubectl version -o json > version.json (or aws eks describe-cluster --name CLUSTER > cluster.json)";
pub const AGENT_METRICS: &str = "kubectl get --raw \"/api/v1/namespaces/kube-system/pods/CILIUM_AGENT_POD:9962/proxy/metrics\" > cilium-agent-metrics.txt (one per agent; needs prometheus.enabled), or a `cilium sysdump`";
pub const ADDONS: &str =
    "aws eks list-addons --cluster-name CLUSTER_NAME --output json > addons.json";
pub const NODEGROUPS: &str =
    "aws eks describe-nodegroup --cluster-name CLUSTER --nodegroup-name NODEGROUP --output json > nodegroup-NODEGROUP.json (one per node group)";
/// The node groups' launch templates and Karpenter's node classes: the max
/// pods nodes will get.
pub const LAUNCH_TEMPLATES: &str =
    "aws ec2 describe-launch-template-versions --launch-template-id LT_ID --versions VERSION --output json > ec2-launch-template-LT_ID.json (one per node group launch template); kubectl get nodepools.karpenter.sh,ec2nodeclasses.karpenter.k8s.aws -o json > karpenter.json";
pub const SUBNETS: &str =
    "aws ec2 describe-subnets --filters Name=vpc-id,Values=VPC_ID --output json > ec2-subnets.json";
/// EKS's own support calendar.
pub const EKS_CLUSTER_VERSIONS: &str =
    "grant eks:DescribeClusterVersions to `collect`/`check --live`, or add \
    `aws eks describe-cluster-versions --include-all > cluster-versions.json` to the inputs";
/// The instance types whose limits the embedded table lacks.
pub fn instance_types(names: &std::collections::BTreeSet<String>) -> String {
    format!(
        "aws ec2 describe-instance-types --instance-types {} --output json > ec2-instance-types.json",
        names.iter().cloned().collect::<Vec<_>>().join(" ")
    )
}
pub const IAM: &str = "aws iam get-account-authorization-details --output json > iam.json";
pub const KNOWLEDGE: &str =
    "use a newer eks-cilium-doctor, or pass --knowledge DIR with data that covers it";
/// Mesh rules read each snapshot.
pub const MESH_CILIUM_CONFIG: &str =
    "kubectl -n kube-system get configmap cilium-config -o json > cilium-config.json (in each snapshot)";
pub const MESH_VPC: &str =
    "aws eks describe-cluster --name CLUSTER > eks-cluster.json; aws ec2 describe-vpcs --vpc-ids VPC_ID > ec2-vpcs.json (in each snapshot)";
pub const MESH_ROUTES: &str =
    "aws ec2 describe-route-tables --filters Name=vpc-id,Values=VPC_ID > ec2-route-tables.json; aws ec2 describe-vpc-peering-connections > ec2-peering.json (in each snapshot)";
pub const MESH_SECURITY_GROUPS: &str = "aws ec2 describe-instances > ec2-instances.json; aws ec2 describe-security-groups > ec2-security-groups.json; aws ec2 describe-vpcs > ec2-vpcs.json (in each snapshot)";
pub const CILIUM_NODES: &str = "kubectl get ciliumnodes -o json > ciliumnodes.json";
pub const NETWORK_INTERFACES: &str =
    "aws ec2 describe-network-interfaces --filters Name=vpc-id,Values=VPC_ID --output json > ec2-network-interfaces.json";
pub const INSTANCES: &str =
    "aws ec2 describe-instances --filters Name=vpc-id,Values=VPC_ID --output json > ec2-instances.json";
pub const ENI_CONFIGS: &str =
    "kubectl get eniconfigs.crd.k8s.amazonaws.com -o json > eniconfigs.json (or kubectl get crds -o json > crds.json)";
pub const CILIUM_STATUS: &str = "cilium sysdump, or: kubectl -n kube-system exec ds/cilium -c cilium-agent -- cilium-dbg status --verbose > cilium-status.txt";
pub const KUBE_SYSTEM_PODS: &str =
    "kubectl -n kube-system get pods -o json > kube-system-pods.json";
pub const SERVICES: &str = "kubectl get services -A -o json > services.json";
pub const CONNECTIVITY_TEST: &str = "cilium connectivity test --junit-file cilium-junit.xml (then add cilium-junit.xml to the inputs)";
pub const CLUSTER_WORKLOADS: &str =
    "kubectl get deployments,statefulsets,replicasets -A -o json > workloads.json";
pub const EVENTS: &str = "kubectl get events -A -o json > events.json";
pub const CILIUM_ENDPOINTS: &str =
    "kubectl get ciliumendpoints.cilium.io -A -o json > ciliumendpoints.json";
pub const ROUTE_TABLES: &str = "aws ec2 describe-route-tables --filters Name=vpc-id,Values=VPC_ID --output json > ec2-route-tables.json";
pub const OIDC_PROVIDERS: &str =
    "aws iam list-open-id-connect-providers --output json > oidc-providers.json";
pub const AGENT_DAEMONSET: &str =
    "kubectl -n kube-system get daemonset cilium -o json > cilium-ds.json";
pub const HELM_VALUES: &str = "helm get values cilium --namespace kube-system -o yaml > cilium-values.yaml, then pass --helm-values cilium-values.yaml";
pub const OPERATOR_DEPLOYMENT: &str =
    "kubectl -n kube-system get deployment cilium-operator -o json > cilium-operator.json";
pub const WEBHOOKS: &str = "kubectl get validatingwebhookconfigurations,mutatingwebhookconfigurations -o json > webhooks.json";
pub const EKS_CLUSTER: &str = "aws eks describe-cluster --name CLUSTER > cluster.json";
/// EKS cluster insights (VER013).
pub const EKS_INSIGHTS: &str = "grant eks:ListInsights and eks:DescribeInsight to `collect`/`check --live`, or add \
    `aws eks list-insights --cluster-name CLUSTER > eks-insights.json` (and `aws eks describe-insight --cluster-name CLUSTER --id ID > eks-insight-ID.json` for each insight that is not PASSING) to the inputs";
