//! SGP001: SecurityGroupPolicy objects while Cilium is the primary CNI.

use std::collections::{BTreeMap, HashMap};

use serde_json::json;

use crate::findings::{ObjectRef, Severity};
use crate::model::{NetworkPolicy, Pod, SecurityGroupPolicy, StringMap};
use crate::rules::cni::shared::{self, CiliumRole};
use crate::rules::{Area, Context, Outcome, Rule, RuleMeta};

pub struct SecurityGroupPolicyIgnored;

/// The SecurityGroupPolicy CRD (/work/shared/data/aws/sgp.json `crd.name`).
const SGP_CRD: &str = "securitygrouppolicies.vpcresources.k8s.aws";
/// Pods named per list in the evidence.
const SAMPLE: usize = 5;

static META: RuleMeta = RuleMeta {
    code: "SGP001",
    name: "security-group-policy-ignored",
    severity: Severity::Critical,
    area: Area::Sgp,
    summary: "SecurityGroupPolicy objects have no effect with Cilium as the primary CNI: their pods are not isolated",
    what_it_checks: "When Cilium is the primary CNI, any SecurityGroupPolicy \
(vpcresources.k8s.aws/v1beta1) fires the rule, one finding per policy. Each finding lists the \
pods the policy selects, with the VPC resource controller's semantics: only pods of the \
policy's namespace; `podSelector` against the pod labels and `serviceAccountSelector` against \
the labels of the pod's ServiceAccount; when both are set a pod must match both; a policy with \
neither selector or without security groups selects nothing. For the selected pods it says \
which NetworkPolicy, CiliumNetworkPolicy (same namespace) or CiliumClusterwideNetworkPolicy \
selects them, and which pods no policy selects at all.",
    why_it_matters: "Security groups for pods are a VPC CNI feature: the VPC resource controller \
gives matching pods a branch ENI carrying the policy's security groups, and aws-node (with \
`ENABLE_POD_ENI=true`) wires the pod to it. Cilium's ENI mode assigns pod addresses from the \
node's ENIs, whose security groups are set per node (CiliumNode `spec.eni.security-groups`); \
Cilium documents per-pod SecurityGroupPolicy only for VPC CNI chaining mode. So the policy \
does nothing: pods that were meant to be fenced off (e.g. only they may reach a database's \
security group) run with the node's security groups, and the database rules that reference the \
pod security group no longer match them.",
    how_to_fix: "Re-create the isolation with Cilium: write the security group's rules as a \
CiliumNetworkPolicy for the same pods (the finding prints a skeleton with the policy's \
selector), and adjust the security groups of the resources the pods reach (they now see the \
node's addresses and security groups). Then delete the SecurityGroupPolicy so nobody relies on \
it. If per-pod security groups are a hard requirement, run Cilium in VPC CNI chaining mode \
instead.",
    known_limits: "The rule does not read the security groups' rules, so it cannot say what \
traffic they allowed. A policy selecting a pod does not mean it restricts the traffic the \
security group restricted. Cilium policies written with `specs` (a list) or with a \
`nodeSelector` (host policies) have no `spec.endpointSelector` and are taken to select every \
pod in their scope, which can overstate coverage.",
    docs_url: "https://docs.aws.amazon.com/eks/latest/userguide/security-groups-for-pods.html",
};

/// Policies indexed for pod lookups: namespaced ones by namespace, plus the
/// cluster-wide ones.
struct PolicyIndex<'a> {
    by_namespace: HashMap<&'a str, Vec<&'a NetworkPolicy>>,
    clusterwide: Vec<&'a NetworkPolicy>,
}

impl<'a> PolicyIndex<'a> {
    fn new(policies: &'a [NetworkPolicy]) -> Self {
        let mut index = PolicyIndex {
            by_namespace: HashMap::new(),
            clusterwide: Vec::new(),
        };
        for p in policies {
            if p.kind == "CiliumClusterwideNetworkPolicy" {
                index.clusterwide.push(p);
            } else {
                index
                    .by_namespace
                    .entry(p.metadata.namespace())
                    .or_default()
                    .push(p);
            }
        }
        index
    }

    fn selecting(&self, pod: &Pod) -> Vec<&'a NetworkPolicy> {
        self.by_namespace
            .get(pod.metadata.namespace())
            .into_iter()
            .flatten()
            .chain(self.clusterwide.iter())
            .filter(|p| shared::policy_selects(p, pod))
            .copied()
            .collect()
    }
}

fn policy_name(p: &NetworkPolicy) -> String {
    match p.metadata.namespace.as_deref().filter(|n| !n.is_empty()) {
        Some(ns) => format!("{} {ns}/{}", p.kind, p.metadata.name),
        None => format!("{} {}", p.kind, p.metadata.name),
    }
}

/// ServiceAccount labels by (namespace, name).
type SaLabels<'a> = HashMap<(&'a str, &'a str), &'a StringMap>;

/// Which pods a SecurityGroupPolicy selects; `None` when the ServiceAccount
/// labels it needs are not in the snapshot.
fn selected_pods<'a>(
    sgp: &SecurityGroupPolicy,
    pods: &[&'a Pod],
    sa_labels: Option<&SaLabels>,
) -> Option<Vec<&'a Pod>> {
    let spec = &sgp.spec;
    let has_groups = spec
        .security_groups
        .as_ref()
        .is_some_and(|g| !g.group_ids.is_empty());
    if (spec.pod_selector.is_none() && spec.service_account_selector.is_none()) || !has_groups {
        return Some(Vec::new());
    }
    if spec.service_account_selector.is_some() && sa_labels.is_none() {
        return None;
    }
    let empty = StringMap::new();
    Some(
        pods.iter()
            .copied()
            .filter(|pod| {
                spec.pod_selector
                    .as_ref()
                    .is_none_or(|s| s.matches(&pod.metadata.labels))
            })
            .filter(|pod| {
                spec.service_account_selector.as_ref().is_none_or(|s| {
                    let labels = sa_labels
                        .and_then(|m| {
                            m.get(&(pod.metadata.namespace(), shared::pod_service_account(pod)))
                        })
                        .copied()
                        .unwrap_or(&empty);
                    s.matches(labels)
                })
            })
            .collect(),
    )
}

/// A CiliumNetworkPolicy skeleton selecting the same pods.
fn cnp_skeleton(sgp: &SecurityGroupPolicy, selected: Option<&[&Pod]>) -> String {
    let spec = &sgp.spec;
    let mut selector = json!({});
    if let Some(ps) = &spec.pod_selector {
        if !ps.match_labels.is_empty() {
            selector["matchLabels"] = json!(ps.match_labels);
        }
        if !ps.match_expressions.is_empty() {
            selector["matchExpressions"] = json!(ps.match_expressions);
        }
    }
    if spec.service_account_selector.is_some() {
        let mut accounts: Vec<&str> = selected
            .unwrap_or_default()
            .iter()
            .map(|p| shared::pod_service_account(p))
            .collect();
        accounts.sort_unstable();
        accounts.dedup();
        let values = if accounts.is_empty() {
            json!(["<service-account>"])
        } else {
            json!(accounts)
        };
        let expr = json!({"key": "io.cilium.k8s.policy.serviceaccount", "operator": "In", "values": values});
        match selector
            .get_mut("matchExpressions")
            .and_then(|v| v.as_array_mut())
        {
            Some(list) => list.push(expr),
            None => selector["matchExpressions"] = json!([expr]),
        }
    }
    let groups = spec
        .security_groups
        .as_ref()
        .map(|g| g.group_ids.join(" "))
        .unwrap_or_default();
    let name = &sgp.metadata.name;
    let ns = sgp.metadata.namespace();
    let file = format!("{name}-cnp.yaml");
    // Written line by line: YAML indentation matters.
    let lines = [
        "# 1. Read what the security groups allowed:".to_string(),
        format!(
            "aws ec2 describe-security-groups --group-ids {groups} --query 'SecurityGroups[].[GroupId,IpPermissions,IpPermissionsEgress]'"
        ),
        "# 2. Write those rules as a CiliumNetworkPolicy for the same pods (edit the example rule), then apply it:".to_string(),
        format!("cat > {file} <<'EOF'"),
        "apiVersion: cilium.io/v2".to_string(),
        "kind: CiliumNetworkPolicy".to_string(),
        "metadata:".to_string(),
        format!("  name: {name}-from-sgp"),
        format!("  namespace: {ns}"),
        "spec:".to_string(),
        format!("  endpointSelector: {selector}"),
        "  ingress:".to_string(),
        "  - fromEndpoints:".to_string(),
        "    - matchLabels:".to_string(),
        format!("        <label>: <value>      # example: the clients the inbound rules of {groups} allowed"),
        "    toPorts:".to_string(),
        "    - ports:".to_string(),
        "      - port: \"<port>\"".to_string(),
        "        protocol: TCP".to_string(),
        "EOF".to_string(),
        format!("kubectl apply -f {file}"),
        format!(
            "# 3. Resources whose security groups admitted {groups} as a source (databases, caches) now see the pods with the node's security groups: allow those instead."
        ),
        "# 4. Remove the policy that no longer does anything:".to_string(),
        format!("kubectl -n {ns} delete securitygrouppolicy {name}"),
    ];
    lines.join("\n")
}

impl Rule for SecurityGroupPolicyIgnored {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, cx: &Context) -> Outcome {
        let c = cx.cluster;
        let Some(sgps) = c.security_group_policies.as_deref() else {
            // The CRD list proves there can be no SecurityGroupPolicy.
            if c.kinds_listed.contains("CustomResourceDefinition")
                && !c.has_object("CustomResourceDefinition", "", SGP_CRD)
            {
                return Ok(vec![]);
            }
            return META.missing(
                "no SecurityGroupPolicy list",
                format!("kubectl get {SGP_CRD} -A -o json > securitygrouppolicies.json"),
            );
        };
        match shared::cilium_role(c)? {
            CiliumRole::Primary => {}
            CiliumRole::Absent | CiliumRole::Chaining => return Ok(vec![]),
        }
        if sgps.is_empty() {
            return Ok(vec![]);
        }
        let pods_by_ns = cx.facts.live_pods_by_namespace();
        let sa_labels: Option<SaLabels> = c.service_accounts.as_deref().map(|sas| {
            sas.iter()
                .map(|sa| {
                    (
                        (sa.metadata.namespace(), sa.metadata.name.as_str()),
                        &sa.metadata.labels,
                    )
                })
                .collect()
        });
        let policies = c.network_policies.as_deref().map(PolicyIndex::new);

        let mut findings = Vec::new();
        for sgp in sgps {
            let ns = sgp.metadata.namespace();
            let groups: Vec<&str> = sgp
                .spec
                .security_groups
                .as_ref()
                .map(|g| g.group_ids.iter().map(String::as_str).collect())
                .unwrap_or_default();
            let mut evidence = vec![format!(
                "spec.securityGroups.groupIds: {}",
                if groups.is_empty() {
                    "(none)".to_string()
                } else {
                    groups.join(", ")
                }
            )];
            if let Some(s) = &sgp.spec.pod_selector {
                evidence.push(format!("spec.podSelector: {}", shared::format_selector(s)));
            }
            if let Some(s) = &sgp.spec.service_account_selector {
                evidence.push(format!(
                    "spec.serviceAccountSelector: {}",
                    shared::format_selector(s)
                ));
            }
            // Host-network pods have the node's address, never a branch ENI.
            let in_ns: Vec<&Pod> = pods_by_ns
                .get(ns)
                .into_iter()
                .flatten()
                .copied()
                .filter(|p| !p.spec.host_network)
                .collect();
            let selected = if c.pods.is_some() {
                selected_pods(sgp, &in_ns, sa_labels.as_ref())
            } else {
                None
            };
            let summary = match (&selected, c.pods.is_some()) {
                (_, false) => {
                    evidence.push("pods not provided: the pods it selects are not listed".into());
                    "the pods it selects".to_string()
                }
                (None, true) => {
                    evidence.push(
                        "ServiceAccounts not provided: the serviceAccountSelector cannot be resolved (kubectl get serviceaccounts -A -o json)"
                            .into(),
                    );
                    "the pods it selects".to_string()
                }
                (Some(sel), true) => {
                    let names: Vec<&str> = sel.iter().map(|p| p.metadata.name.as_str()).collect();
                    if sel.is_empty() {
                        evidence.push(format!("selects no running pod in namespace {ns}"));
                        "no running pod today (new matching pods will not be isolated either)"
                            .to_string()
                    } else {
                        evidence.push(format!(
                            "selects {} pod{} in {ns}: {}",
                            sel.len(),
                            if sel.len() == 1 { "" } else { "s" },
                            shared::sample_list(&names, SAMPLE)
                        ));
                        match &policies {
                            None => {
                                evidence.push(
                                    "NetworkPolicies/CiliumNetworkPolicies not provided: coverage not checked"
                                        .into(),
                                );
                                format!(
                                    "its {} selected pod{}",
                                    sel.len(),
                                    if sel.len() == 1 { "" } else { "s" }
                                )
                            }
                            Some(index) => {
                                let mut uncovered = Vec::new();
                                let mut covering: BTreeMap<String, usize> = BTreeMap::new();
                                for pod in sel {
                                    let by = index.selecting(pod);
                                    if by.is_empty() {
                                        uncovered.push(pod.metadata.name.as_str());
                                    }
                                    for p in by {
                                        *covering.entry(policy_name(p)).or_default() += 1;
                                    }
                                }
                                if !covering.is_empty() {
                                    let list: Vec<String> = covering
                                        .iter()
                                        .map(|(name, n)| format!("{name} ({n} pods)"))
                                        .collect();
                                    evidence.push(format!(
                                        "policies selecting some of these pods: {}",
                                        shared::sample_list(&list, SAMPLE)
                                    ));
                                }
                                if uncovered.is_empty() {
                                    evidence.push(
                                        "every selected pod is selected by a NetworkPolicy or Cilium policy (check that they restrict what the security groups did)"
                                            .into(),
                                    );
                                    format!(
                                        "its {} selected pod{} (all selected by network policies)",
                                        sel.len(),
                                        if sel.len() == 1 { "" } else { "s" }
                                    )
                                } else {
                                    evidence.push(format!(
                                        "{} of {} selected pods are selected by no NetworkPolicy, CiliumNetworkPolicy or CiliumClusterwideNetworkPolicy: {}",
                                        uncovered.len(),
                                        sel.len(),
                                        shared::sample_list(&uncovered, SAMPLE)
                                    ));
                                    format!(
                                        "its {} selected pod{}, {} of them without any network policy",
                                        sel.len(),
                                        if sel.len() == 1 { "" } else { "s" },
                                        uncovered.len()
                                    )
                                }
                            }
                        }
                    }
                }
            };
            let message = format!(
                "SecurityGroupPolicy {ns}/{} has no effect with Cilium as the primary CNI: security groups {} do not apply to {summary}",
                sgp.metadata.name,
                if groups.is_empty() {
                    "(none)".to_string()
                } else {
                    groups.join(", ")
                }
            );
            let mut finding = META.finding(
                ObjectRef::new("SecurityGroupPolicy", Some(ns), &sgp.metadata.name),
                message,
            );
            for line in evidence {
                finding = finding.with_evidence(line);
            }
            findings.push(finding.with_remediation(cnp_skeleton(sgp, selected.as_deref())));
        }
        Ok(findings)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::testing::{check, load_cluster};

    fn base() -> Vec<serde_json::Value> {
        vec![
            json!({"apiVersion": "apps/v1", "kind": "DaemonSet",
                "metadata": {"name": "cilium", "namespace": "kube-system", "labels": {"k8s-app": "cilium"}},
                "spec": {"template": {"spec": {"containers": [
                    {"name": "cilium-agent", "image": "quay.io/cilium/cilium:v1.16.19"}]}}}}),
            json!({"apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {"name": "cilium-config", "namespace": "kube-system"}, "data": {"ipam": "eni"}}),
        ]
    }

    fn sgp(spec: serde_json::Value) -> serde_json::Value {
        json!({"apiVersion": "vpcresources.k8s.aws/v1beta1", "kind": "SecurityGroupPolicy",
            "metadata": {"name": "db-access", "namespace": "shop"}, "spec": spec})
    }

    fn pod(name: &str, app: &str, sa: &str) -> serde_json::Value {
        json!({"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": "shop", "labels": {"app": app}},
            "spec": {"serviceAccountName": sa}, "status": {"phase": "Running"}})
    }

    #[test]
    fn and_semantics_and_policy_coverage() {
        let mut docs = base();
        docs.push(sgp(json!({"podSelector": {"matchLabels": {"app": "api"}},
            "serviceAccountSelector": {"matchLabels": {"db-access": "true"}},
            "securityGroups": {"groupIds": ["sg-0a1b2c3d4e5f60718"]}})));
        docs.push(pod("api-1", "api", "api"));
        docs.push(pod("api-2", "api", "default"));
        docs.push(pod("web-1", "web", "api"));
        docs.push(
            json!({"apiVersion": "v1", "kind": "ServiceAccountList", "items": [
            {"metadata": {"name": "api", "namespace": "shop", "labels": {"db-access": "true"}}},
            {"metadata": {"name": "default", "namespace": "shop"}}]}),
        );
        docs.push(
            json!({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicyList", "items": []}),
        );
        let f = check(&SecurityGroupPolicyIgnored, &load_cluster(&docs)).unwrap();
        assert_eq!(f.len(), 1);
        assert!(
            f[0].message
                .contains("its 1 selected pod, 1 of them without any network policy"),
            "{}",
            f[0].message
        );
        assert!(f[0]
            .remediation
            .contains("io.cilium.k8s.policy.serviceaccount"));
    }

    #[test]
    fn covered_by_a_cilium_policy() {
        let mut docs = base();
        docs.push(sgp(json!({"podSelector": {"matchLabels": {"app": "api"}},
            "securityGroups": {"groupIds": ["sg-0a1b2c3d4e5f60718"]}})));
        docs.push(pod("api-1", "api", "api"));
        docs.push(
            json!({"apiVersion": "cilium.io/v2", "kind": "CiliumNetworkPolicy",
            "metadata": {"name": "api", "namespace": "shop"},
            "spec": {"endpointSelector": {"matchLabels": {"k8s:app": "api"}}}}),
        );
        let f = check(&SecurityGroupPolicyIgnored, &load_cluster(&docs)).unwrap();
        assert!(
            f[0].message.contains("all selected by network policies"),
            "{}",
            f[0].message
        );
    }

    #[test]
    fn not_applicable_or_missing() {
        // No CRD in the CRD list: evaluated, nothing to find.
        let mut docs = base();
        docs.push(json!({"apiVersion": "v1", "kind": "List", "items": [
            {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
             "metadata": {"name": "ciliumendpoints.cilium.io"}}]}));
        assert!(check(&SecurityGroupPolicyIgnored, &load_cluster(&docs))
            .unwrap()
            .is_empty());
        assert!(check(&SecurityGroupPolicyIgnored, &load_cluster(&base())).is_err());
    }
}
