//! IAM002 operator-on-node-role: in ENI mode the operator has no IRSA role
//! and no EKS Pod Identity, so it uses the node instance role.

use super::{eni_mode, operator, Credentials, IRSA_ANNOTATION};
use crate::findings::{Finding, ObjectRef, Severity};
use crate::rules::Missing;
use crate::rules::{Area, Context, Outcome, Rule, RuleMeta};

pub struct Iam002;

static META: RuleMeta = RuleMeta {
    code: "IAM002",
    name: "operator-on-node-role",
    severity: Severity::Medium,
    area: Area::Iam,
    summary: "In ENI mode the cilium-operator has no IRSA role or Pod Identity and runs on the node instance role.",
    what_it_checks: "In ENI IPAM mode only. Looks at the operator's ServiceAccount (the one its \
        Deployment uses, default kube-system/cilium-operator) for the IRSA annotation \
        `eks.amazonaws.com/role-arn`, at the Helm values that set it (`eni.iamRole`, \
        `serviceAccounts.operator.annotations`), and at the operator pods for the environment \
        the IRSA or EKS Pod Identity webhooks inject (`AWS_ROLE_ARN`, \
        `AWS_CONTAINER_CREDENTIALS_FULL_URI`). Fires when none is present.",
    why_it_matters: "Without its own identity the operator's ENI permissions (create, attach, \
        delete network interfaces, assign IPs) must sit on the node instance role, and every pod \
        that can reach the instance metadata service gets them: any compromised workload can \
        re-wire the VPC's network interfaces.",
    how_to_fix: "Create a role for the ServiceAccount with the ENI permissions, via IRSA (an IAM \
        OIDC provider for the cluster and `eksctl create iamserviceaccount`, then annotate the \
        ServiceAccount, e.g. Helm `eni.iamRole`) or EKS Pod Identity (`aws eks \
        create-pod-identity-association`), restart the operator, then remove the ENI \
        permissions from the node role (IAM006).",
    known_limits: "EKS Pod Identity associations are not Kubernetes objects: a snapshot only \
        shows them through the environment injected into running operator pods. If the pods \
        were not captured (or started before the association existed) this rule fires although \
        an association exists; check with `aws eks list-pod-identity-associations`.",
    docs_url: "https://docs.aws.amazon.com/eks/latest/userguide/service-accounts.html",
};

impl Rule for Iam002 {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, cx: &Context) -> Outcome {
        evaluate(cx)
    }
}

fn evaluate(cx: &Context) -> Result<Vec<Finding>, Missing> {
    if !eni_mode(cx)? {
        return Ok(Vec::new());
    }
    let op = operator(cx)?;
    let Credentials::NodeRole { source } = &op.credentials else {
        return Ok(Vec::new());
    };
    let c = cx.cluster;
    let name = cx.cluster_name();
    let (ns, sa) = (op.namespace.as_str(), op.service_account.as_str());
    let mut finding = META
        .finding(
            ObjectRef::new("ServiceAccount", Some(ns), sa),
            format!(
                "The cilium-operator (ServiceAccount {ns}/{sa}) has no IRSA role or Pod Identity: its ENI permissions come from the node instance role"
            ),
        )
        .with_evidence(source.clone())
        .with_evidence(format!(
            "IPAM mode: eni (cilium-config ipam){}",
            c.cilium
                .version
                .map(|v| format!(", Cilium {v}"))
                .unwrap_or_default()
        ));
    let node_roles: Vec<&str> = c
        .nodegroups
        .as_deref()
        .unwrap_or_default()
        .iter()
        .filter_map(|g| g.node_role.as_deref())
        .collect();
    if !node_roles.is_empty() {
        let mut roles = node_roles.clone();
        roles.sort_unstable();
        roles.dedup();
        finding = finding.with_evidence(format!("Node roles: {}", roles.join(", ")));
    }
    let pod_identity_agent = c
        .addon_names
        .as_deref()
        .unwrap_or_default()
        .iter()
        .any(|a| a == "eks-pod-identity-agent")
        || c.daemonset("kube-system", "eks-pod-identity-agent")
            .is_some();
    if pod_identity_agent {
        finding = finding.with_evidence(format!(
            "The EKS Pod Identity Agent is installed: if an association exists for {ns}/{sa} this finding is wrong; check: aws eks list-pod-identity-associations --cluster-name {name} --namespace {ns} --service-account {sa}"
        ));
    }
    let account = node_roles
        .first()
        .and_then(|a| super::arn_account(a))
        .unwrap_or("<account-id>");
    let remediation = format!(
        "Give the operator its own role with the ENI permissions (the policy of IAM001, as a managed policy cilium-operator-eni), either with IRSA:\n\
         eksctl create iamserviceaccount --cluster {name} --namespace {ns} --name {sa} --role-name {name}-cilium-operator --attach-policy-arn arn:aws:iam::{account}:policy/cilium-operator-eni --role-only --approve\n\
         helm upgrade cilium cilium/cilium --namespace {ns} --reuse-values --set eni.iamRole=arn:aws:iam::{account}:role/{name}-cilium-operator\n\
         or with EKS Pod Identity (role trusting pods.eks.amazonaws.com):\n\
         aws eks create-pod-identity-association --cluster-name {name} --namespace {ns} --service-account {sa} --role-arn arn:aws:iam::{account}:role/{name}-cilium-operator\n\
         then: kubectl -n {ns} rollout restart deployment/cilium-operator\n\
         and remove the ENI permissions from the node role (IAM006). The annotation IRSA reads is {IRSA_ANNOTATION}."
    );
    Ok(vec![finding.with_remediation(remediation)])
}

#[cfg(test)]
mod tests {
    use super::super::testkit::*;
    use super::*;
    use crate::rules::testing::{fired, missing, options, run};
    use serde_json::json;

    #[test]
    fn fires_without_irsa() {
        let k = knowledge();
        let mut c = eni_cluster(json!({}), vec![]);
        c.addon_names = Some(vec!["eks-pod-identity-agent".into(), "coredns".into()]);
        let f = fired(run(&Iam002, &c, &k, &options("2026-11-26")));
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].object.kind, "ServiceAccount");
        assert!(f[0]
            .evidence
            .iter()
            .any(|e| e.contains("Node roles: arn:aws:iam::111122223333:role/prod-node")));
        assert!(f[0]
            .evidence
            .iter()
            .any(|e| e.contains("aws eks list-pod-identity-associations --cluster-name prod")));
        assert!(f[0]
            .remediation
            .contains("--attach-policy-arn arn:aws:iam::111122223333:policy/cilium-operator-eni"));
    }

    #[test]
    fn quiet_with_irsa_or_pod_identity_or_not_eni() {
        let k = knowledge();
        let c = eni_cluster(irsa_annotation(), vec![]);
        assert!(fired(run(&Iam002, &c, &k, &options("2026-11-26"))).is_empty());
        let pod = json!({"kind": "Pod", "metadata": {"name": "cilium-operator-1", "namespace": "kube-system", "labels": {"io.cilium/app": "operator"}},
            "spec": {"containers": [{"name": "cilium-operator", "image": "quay.io/cilium/operator-aws:v1.16.5", "env": [{"name": "AWS_CONTAINER_CREDENTIALS_FULL_URI", "value": "http://169.254.170.23/v1/credentials"}]}]}});
        let c = eni_cluster(json!({}), vec![pod]);
        assert!(fired(run(&Iam002, &c, &k, &options("2026-11-26"))).is_empty());
        let c = typed_cluster(vec![
            agent_ds("1.16.5"),
            config_map(json!({"ipam": "cluster-pool"})),
        ]);
        assert!(fired(run(&Iam002, &c, &k, &options("2026-11-26"))).is_empty());
        let c = typed_cluster(vec![agent_ds("1.16.5"), config_map(json!({"ipam": "eni"}))]);
        assert!(missing(run(&Iam002, &c, &k, &options("2026-11-26")))
            .contains("ServiceAccount kube-system/cilium-operator"));
    }
}
