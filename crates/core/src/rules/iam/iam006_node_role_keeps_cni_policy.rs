//! IAM006 node-role-keeps-cni-policy: the node role still carries
//! AmazonEKS_CNI_Policy (or other ENI write actions) although the Cilium
//! operator has its own role.

use super::policy_eval::access;
use super::{eni_mode, find_role, node_role_arns, operator, role_policies, Credentials};
use crate::findings::{Finding, ObjectRef, Severity};
use crate::rules::inputs;
use crate::rules::Missing;
use crate::rules::{Area, Context, Outcome, Rule, RuleMeta};

pub struct Iam006;

/// The AWS managed policy the VPC CNI uses (arn:aws:iam::aws:policy/AmazonEKS_CNI_Policy;
/// /work/shared/data/aws/addons.json). Matched in every partition.
const CNI_POLICY_SUFFIX: &str = ":policy/AmazonEKS_CNI_Policy";

static META: RuleMeta = RuleMeta {
    code: "IAM006",
    name: "node-role-keeps-cni-policy",
    severity: Severity::Low,
    area: Area::Iam,
    summary: "The node role still carries AmazonEKS_CNI_Policy or ENI write actions although Cilium's operator has its own role.",
    what_it_checks: "In ENI IPAM mode, when the cilium-operator has its own identity (IRSA \
        annotation or EKS Pod Identity): reads the roles of the managed node groups \
        (`nodeRole`) and fires when one has `AmazonEKS_CNI_Policy` attached, or its policies \
        allow ENI write actions the operator uses (the non-Describe EC2 actions of the running \
        Cilium minor's ENI privileges, e.g. ec2:CreateNetworkInterface, \
        ec2:AssignPrivateIpAddresses).",
    why_it_matters: "Node instance roles are reachable from every pod that can query the \
        instance metadata service. Once Cilium's operator manages ENIs with its own role, the \
        same permissions on the node role only widen what a compromised pod can do to the \
        VPC.",
    how_to_fix: "Detach AmazonEKS_CNI_Policy from the node role and remove ENI write actions \
        from its other policies. Make sure the VPC CNI (aws-node) no longer runs first (CNI001): \
        while it runs it needs these permissions.",
    known_limits: "Only managed node groups' roles are known from the snapshot (Karpenter and \
        self-managed node roles are not). Statements limited by resources or conditions count \
        as allowing. If aws-node still runs with the node role, removing the policy breaks it.",
    docs_url: "https://docs.aws.amazon.com/eks/latest/userguide/cni-iam-role.html",
};

impl Rule for Iam006 {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, cx: &Context) -> Outcome {
        evaluate(cx)
    }
}

fn evaluate(cx: &Context) -> Result<Vec<Finding>, Missing> {
    if !eni_mode(cx)? || cx.cluster.cilium.chains_aws_cni() {
        return Ok(Vec::new());
    }
    let op = operator(cx)?;
    let own = match &op.credentials {
        Credentials::Irsa { role_arn, source } => format!("IRSA role {role_arn} ({source})"),
        Credentials::PodIdentity { source, .. } => source.clone(),
        Credentials::NodeRole { .. } => return Ok(Vec::new()),
    };
    let Some(arns) = node_role_arns(cx) else {
        return Err(Missing::new(
            "the node roles (EKS describe-nodegroup nodeRole)",
            inputs::NODEGROUPS,
        ));
    };
    if cx.cluster.iam_roles.is_none() && !arns.is_empty() {
        return Err(Missing::new("IAM role data", inputs::IAM));
    }
    // The operator's ENI write actions: everything but Describe* of the running minor.
    let writes: Vec<&str> = cx
        .cluster
        .cilium
        .version
        .and_then(|v| cx.knowledge.cilium_minor(v.minor()))
        .map(|m| {
            let mut w: Vec<&str> = m
                .eni_required_actions
                .iter()
                .chain(m.eni_conditional_actions.iter().flat_map(|c| &c.actions))
                .map(String::as_str)
                .filter(|a| !a.to_ascii_lowercase().starts_with("ec2:describe"))
                .collect();
            w.sort_unstable();
            w.dedup();
            w
        })
        .unwrap_or_default();
    let aws_node = cx.cluster.daemonset("kube-system", "aws-node").is_some();

    let mut findings = Vec::new();
    for arn in arns {
        let role = find_role(cx, arn)?;
        let cni: Vec<&str> = role
            .attached_policy_arns
            .iter()
            .map(String::as_str)
            .filter(|a| a.ends_with(CNI_POLICY_SUFFIX))
            .collect();
        let (docs, _unknown) = role_policies(cx, role);
        let mut allowed: Vec<(&str, Vec<String>)> = Vec::new();
        for w in &writes {
            let a = access(&docs, w);
            if a.effective() {
                allowed.push((w, a.allowed_by));
            }
        }
        if cni.is_empty() && allowed.is_empty() {
            continue;
        }
        let what = if cni.is_empty() {
            format!(
                "allows ENI write actions ({})",
                allowed
                    .iter()
                    .map(|(a, _)| *a)
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        } else {
            "still has AmazonEKS_CNI_Policy attached".to_string()
        };
        let mut finding = META
            .finding(
                ObjectRef::global("IAMRole", &role.name),
                format!(
                    "Node role {} {what} although the cilium-operator has its own role",
                    role.name
                ),
            )
            .with_evidence(format!("Operator credentials: {own}"))
            .with_evidence(format!("Node role: {}", role.arn));
        for c in &cni {
            finding = finding.with_evidence(format!("Attached: {c}"));
        }
        if !allowed.is_empty() {
            let mut by: Vec<&str> = allowed
                .iter()
                .flat_map(|(_, b)| b.iter().map(String::as_str))
                .collect();
            by.sort_unstable();
            by.dedup();
            finding = finding.with_evidence(format!(
                "ENI write actions allowed: {} (by {})",
                allowed
                    .iter()
                    .map(|(a, _)| *a)
                    .collect::<Vec<_>>()
                    .join(", "),
                by.join(", ")
            ));
        }
        let mut steps = Vec::new();
        if aws_node {
            steps.push("DaemonSet kube-system/aws-node still exists: make sure it no longer runs (CNI001) before removing its permissions.".to_string());
        }
        for c in &cni {
            steps.push(format!(
                "aws iam detach-role-policy --role-name {} --policy-arn {c}",
                role.name
            ));
        }
        let inline: Vec<&str> = role
            .inline_policies
            .iter()
            .filter(|p| {
                allowed
                    .iter()
                    .any(|(_, by)| by.iter().any(|b| b == &p.name))
            })
            .map(|p| p.name.as_str())
            .collect();
        for p in inline {
            steps.push(format!(
                "Remove the ENI write actions from inline policy {p} (aws iam get-role-policy --role-name {r} --policy-name {p}, edit, then aws iam put-role-policy --role-name {r} --policy-name {p} --policy-document file://{p}.json)",
                r = role.name
            ));
        }
        let other_managed: Vec<&str> = allowed
            .iter()
            .flat_map(|(_, by)| by.iter().map(String::as_str))
            .filter(|b| b.starts_with("arn:") && !b.ends_with(CNI_POLICY_SUFFIX))
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        for m in other_managed {
            steps.push(format!(
                "Detach or narrow managed policy {m}: aws iam detach-role-policy --role-name {} --policy-arn {m}",
                role.name
            ));
        }
        findings.push(finding.with_remediation(steps.join("\n")));
    }
    Ok(findings)
}

#[cfg(test)]
mod tests {
    use super::super::testkit::*;
    use super::*;
    use crate::rules::testing::{fired, missing, options, run};
    use serde_json::json;

    fn cni_doc() -> serde_json::Value {
        allow(&[
            "ec2:AssignPrivateIpAddresses",
            "ec2:AttachNetworkInterface",
            "ec2:CreateNetworkInterface",
            "ec2:DeleteNetworkInterface",
            "ec2:DescribeInstances",
            "ec2:DescribeTags",
            "ec2:DescribeNetworkInterfaces",
            "ec2:DescribeInstanceTypes",
            "ec2:DetachNetworkInterface",
            "ec2:ModifyNetworkInterfaceAttribute",
            "ec2:UnassignPrivateIpAddresses",
        ])
    }

    #[test]
    fn fires_on_cni_policy_with_irsa_operator() {
        let k = knowledge();
        let mut c = eni_cluster(irsa_annotation(), vec![]);
        c.iam_roles = Some(vec![role(
            NODE_ROLE,
            None,
            vec![],
            &[
                "arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy",
                CNI_POLICY,
            ],
        )]);
        c.managed_policies = Some(vec![managed(CNI_POLICY, cni_doc())]);
        let f = fired(run(&Iam006, &c, &k, &options("2026-11-26")));
        assert_eq!(f.len(), 1);
        assert_eq!(
            f[0].message,
            "Node role prod-node still has AmazonEKS_CNI_Policy attached although the cilium-operator has its own role"
        );
        assert_eq!(
            f[0].remediation,
            "aws iam detach-role-policy --role-name prod-node --policy-arn arn:aws:iam::aws:policy/AmazonEKS_CNI_Policy"
        );
    }

    #[test]
    fn fires_on_inline_eni_writes() {
        let k = knowledge();
        let mut c = eni_cluster(irsa_annotation(), vec![]);
        c.iam_roles = Some(vec![role(
            NODE_ROLE,
            None,
            vec![(
                "eni",
                allow(&["ec2:CreateNetworkInterface", "ec2:Describe*"]),
            )],
            &[],
        )]);
        let f = fired(run(&Iam006, &c, &k, &options("2026-11-26")));
        assert!(f[0]
            .message
            .contains("allows ENI write actions (ec2:CreateNetworkInterface)"));
        assert!(f[0].remediation.contains("inline policy eni"));
    }

    #[test]
    fn quiet_cases() {
        let k = knowledge();
        // Operator on the node role: the node role needs them.
        let mut c = eni_cluster(json!({}), vec![]);
        c.iam_roles = Some(vec![role(NODE_ROLE, None, vec![], &[CNI_POLICY])]);
        assert!(fired(run(&Iam006, &c, &k, &options("2026-11-26"))).is_empty());
        // Clean node role.
        let mut c = eni_cluster(irsa_annotation(), vec![]);
        c.iam_roles = Some(vec![role(
            NODE_ROLE,
            None,
            vec![],
            &["arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy"],
        )]);
        assert!(fired(run(&Iam006, &c, &k, &options("2026-11-26"))).is_empty());
        let c = eni_cluster(irsa_annotation(), vec![]);
        assert_eq!(
            missing(run(&Iam006, &c, &k, &options("2026-11-26"))),
            "IAM role data"
        );
    }
}
