//! OPS009: egress policies select pods that use EKS Pod Identity and none
//! of them allows the host entity, where the agent serves credentials.

use std::collections::BTreeMap;

use crate::facts::pod_is_live;
use crate::findings::{ObjectRef, Severity};
use crate::model::{NetworkPolicy, Pod};
use crate::rules::cni::shared::{policy_selects, sample_list};
use crate::rules::ops::common::cilium_absent;
use crate::rules::{inputs, Area, Context, Missing, Outcome, Rule, RuleMeta};

pub struct PodIdentityEgressBlocked;

/// The known issue this rule is about (`data/known-issues.json`).
const ISSUE: &str = "KI013";

static META: RuleMeta = RuleMeta {
    code: "OPS009",
    name: "pod-identity-egress-blocked",
    severity: Severity::High,
    area: Area::Ops,
    summary: "Pods using EKS Pod Identity are under egress policies that do not allow the host entity: they cannot fetch credentials from 169.254.170.23",
    what_it_checks: "Finds the pods that use EKS Pod Identity (a container env \
`AWS_CONTAINER_CREDENTIALS_FULL_URI` pointing at the agent's link-local address, as the Pod \
Identity webhook injects it) and the NetworkPolicies, CiliumNetworkPolicies and \
CiliumClusterwideNetworkPolicies that select them and restrict egress. It fires when none of \
those policies has an allow rule that reaches the `host` entity on TCP 80: a rule without \
peers (all destinations), or Cilium `toEntities` `host`, `cluster` or `all`, with port 80 (or \
no port restriction).",
    why_it_matters: "The EKS Pod Identity agent is a hostNetwork DaemonSet serving credentials \
on 169.254.170.23:80 (fd00:ec2::23 on IPv6). Cilium classifies traffic to it as the `host` \
entity, so once any egress policy selects a pod, the SDKs' credential requests are dropped \
(`policy-verdict:none EGRESS DENIED` towards `169.254.170.23:80 (host)`) and every AWS call of \
the pod fails, even with an `ipBlock` 0.0.0.0/0 rule: an ipBlock or toCIDR cannot match a \
host-network destination.",
    how_to_fix: "Add a CiliumNetworkPolicy in the namespace that selects the same pods with an \
egress rule `toEntities: [host]` on TCP 80 (a Kubernetes NetworkPolicy cannot express it). \
The remediation prints one for the namespace's Pod Identity pods.",
    known_limits: "Pod Identity is recognised from the pods' env (the webhook writes it into \
the pod spec); pod identity associations without running pods are not judged. Deny rules \
(`egressDeny`) that would override an allow, named ports and L7 rules on port 80 are not \
evaluated.",
    docs_url: "https://docs.cilium.io/en/stable/security/policy/language/#entities-based",
};

/// Whether a pod was given Pod Identity credentials (env of any container).
fn uses_pod_identity(pod: &Pod, env: &str, addresses: &[String]) -> bool {
    pod.spec
        .containers
        .iter()
        .chain(&pod.spec.init_containers)
        .flat_map(|c| &c.env)
        .any(|e| {
            e.name == env
                && e.value
                    .as_deref()
                    .is_some_and(|v| addresses.iter().any(|a| v.contains(a.as_str())))
        })
}

impl Rule for PodIdentityEgressBlocked {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, cx: &Context) -> Outcome {
        let c = cx.cluster;
        if cilium_absent(c) {
            return Ok(vec![]);
        }
        let agent = &cx.knowledge.eks_iam.pod_identity_agent;
        let Some(pods) = c.pods.as_deref() else {
            return Err(Missing::new("the pods (their env)", inputs::PODS));
        };
        let users: Vec<&Pod> = pods
            .iter()
            .filter(|p| pod_is_live(p) && !p.spec.host_network)
            .filter(|p| uses_pod_identity(p, &agent.credentials_env, &agent.addresses))
            .collect();
        if users.is_empty() {
            return Ok(vec![]);
        }
        let Some(policies) = c.network_policies.as_deref() else {
            return Err(Missing::new(
                "the network policies",
                "kubectl get networkpolicies,ciliumnetworkpolicies,ciliumclusterwidenetworkpolicies -A -o json > policies.json",
            ));
        };
        let port = agent.ports.first().copied().unwrap_or(80);
        // (namespace, the restricting policies) -> the blocked pods.
        let mut blocked: BTreeMap<(String, Vec<usize>), Vec<&Pod>> = BTreeMap::new();
        for pod in users {
            let selecting: Vec<usize> = policies
                .iter()
                .enumerate()
                .filter(|(_, p)| p.egress.is_some() && policy_selects(p, pod))
                .map(|(i, _)| i)
                .collect();
            if selecting.is_empty()
                || selecting.iter().any(|i| {
                    policies[*i]
                        .egress
                        .as_ref()
                        .is_some_and(|e| e.allows_host(port))
                })
            {
                continue;
            }
            blocked
                .entry((pod.metadata.namespace().to_string(), selecting))
                .or_default()
                .push(pod);
        }
        if blocked.is_empty() {
            return Ok(vec![]);
        }
        let issue = cx
            .knowledge
            .cited_issue(ISSUE)
            .ok_or_else(|| Missing::new(format!("known issue {ISSUE}"), inputs::KNOWLEDGE))?;
        let agent_ds = c
            .daemonsets
            .as_deref()
            .unwrap_or_default()
            .iter()
            .find(|d| d.metadata.name == "eks-pod-identity-agent");
        let mut findings = Vec::new();
        for ((namespace, selecting), pods) in blocked {
            let selecting: Vec<&NetworkPolicy> = selecting.iter().map(|i| &policies[*i]).collect();
            let names: Vec<&str> = pods.iter().map(|p| p.metadata.name.as_str()).collect();
            let policy_names: Vec<String> = selecting
                .iter()
                .map(|p| format!("{} {}", p.kind, p.metadata.name))
                .collect();
            let peers: Vec<&str> = selecting
                .iter()
                .flat_map(|p| {
                    p.egress
                        .as_ref()
                        .map(|e| e.peers.as_slice())
                        .unwrap_or_default()
                })
                .map(String::as_str)
                .collect();
            let cidr_peers: Vec<&str> = peers
                .iter()
                .copied()
                .filter(|p| p.starts_with("ipBlock") || p.starts_with("toCIDR"))
                .collect();
            let first = selecting[0];
            let mut f = META
                .finding(
                    ObjectRef::new(&first.kind, Some(first.metadata.namespace()), &first.metadata.name),
                    format!(
                        "{} pod(s) in namespace {namespace} use EKS Pod Identity but {} restrict their egress without allowing the host entity on TCP {port}: the agent at {}:{port} runs on the host network and Cilium classifies it as host, so credential requests are denied{}",
                        pods.len(),
                        sample_list(&policy_names, 3),
                        agent.addresses.first().map(String::as_str).unwrap_or("169.254.170.23"),
                        if cidr_peers.is_empty() {
                            String::new()
                        } else {
                            format!(" ({} cannot match a host-network destination)", cidr_peers.join(", "))
                        }
                    ),
                )
                .with_evidence(format!(
                    "Pods with {}={}: {}",
                    agent.credentials_env,
                    agent.credentials_uri,
                    sample_list(&names, 5)
                ))
                .with_evidence(format!(
                    "Egress peers allowed: {}",
                    if peers.is_empty() { "none".to_string() } else { sample_list(&peers, 6) }
                ));
            if let Some(ds) = agent_ds {
                f = f.with_evidence(format!(
                    "DaemonSet {}/eks-pod-identity-agent (hostNetwork) serves the credentials",
                    ds.metadata.namespace()
                ));
            }
            f = f.with_evidence(format!("{}: {}", issue.reference(), issue.symptom));
            findings.push(f.with_remediation(format!(
                "# {}\n\
kubectl apply -f - <<'EOF'\n\
apiVersion: cilium.io/v2\n\
kind: CiliumNetworkPolicy\n\
metadata:\n\
\x20 name: allow-eks-pod-identity-agent\n\
\x20 namespace: {namespace}\n\
spec:\n\
\x20 endpointSelector: {{}}\n\
\x20 egress:\n\
\x20 - toEntities:\n\
\x20   - host\n\
\x20   toPorts:\n\
\x20   - ports:\n\
\x20     - port: \"{port}\"\n\
\x20       protocol: TCP\n\
EOF",
                issue.workaround
            )));
        }
        Ok(findings)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::testing::{check, load_cluster};
    use serde_json::{json, Value};

    fn cluster(policy: Value, env: bool) -> crate::model::Cluster {
        let mut container = json!({"name": "app", "image": "app:1"});
        if env {
            container["env"] = json!([
                {"name": "AWS_CONTAINER_CREDENTIALS_FULL_URI", "value": "http://169.254.170.23/v1/credentials"},
                {"name": "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", "value": "/var/run/secrets/pods.eks.amazonaws.com/serviceaccount/eks-pod-identity-token"}]);
        }
        load_cluster(&[
            json!({"apiVersion": "apps/v1", "kind": "DaemonSet",
                "metadata": {"name": "cilium", "namespace": "kube-system", "labels": {"k8s-app": "cilium"}},
                "spec": {"template": {"spec": {"containers": [
                    {"name": "cilium-agent", "image": "quay.io/cilium/cilium:v1.16.1"}]}}}}),
            json!({"apiVersion": "v1", "kind": "Pod",
                "metadata": {"name": "exporter-0", "namespace": "apps", "labels": {"app": "exporter"}},
                "spec": {"nodeName": "n1", "containers": [container]},
                "status": {"phase": "Running"}}),
            policy,
        ])
    }

    fn np_ipblock() -> Value {
        json!({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": {"name": "egress-internet", "namespace": "apps"},
            "spec": {"podSelector": {}, "policyTypes": ["Egress"],
                "egress": [{"to": [{"ipBlock": {"cidr": "0.0.0.0/0"}}]}]}})
    }

    #[test]
    fn fires_on_ipblock_only_egress() {
        let f = check(&PodIdentityEgressBlocked, &cluster(np_ipblock(), true)).unwrap();
        assert_eq!(f.len(), 1);
        assert!(f[0].message.contains("ipBlock 0.0.0.0/0"));
        assert!(f[0].remediation.contains("toEntities"));
    }

    #[test]
    fn quiet_with_host_entity_or_without_pod_identity() {
        let cnp = json!({"apiVersion": "cilium.io/v2", "kind": "CiliumNetworkPolicy",
            "metadata": {"name": "egress", "namespace": "apps"},
            "spec": {"endpointSelector": {}, "egress": [
                {"toCIDR": ["0.0.0.0/0"]},
                {"toEntities": ["host"], "toPorts": [{"ports": [{"port": "80", "protocol": "TCP"}]}]}]}});
        assert!(check(&PodIdentityEgressBlocked, &cluster(cnp, true))
            .unwrap()
            .is_empty());
        assert!(
            check(&PodIdentityEgressBlocked, &cluster(np_ipblock(), false))
                .unwrap()
                .is_empty()
        );
        let ingress_only = json!({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": {"name": "ingress", "namespace": "apps"},
            "spec": {"podSelector": {}, "policyTypes": ["Ingress"], "ingress": [{}]}});
        assert!(
            check(&PodIdentityEgressBlocked, &cluster(ingress_only, true))
                .unwrap()
                .is_empty()
        );
    }
}
