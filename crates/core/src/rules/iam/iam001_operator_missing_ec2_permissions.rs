//! IAM001 operator-missing-ec2-permissions: the policies of the role the
//! cilium-operator uses do not allow every EC2 action the running Cilium
//! version needs in ENI mode.

use super::eni_actions::{allow_policy_document, free_policy_name, wanted_actions};
use super::policy_eval::missing_actions;
use super::{eni_mode, operator, operator_roles, role_policies, Credentials};
use crate::findings::{Finding, ObjectRef, Severity};
use crate::rules::inputs;
use crate::rules::Missing;
use crate::rules::{Area, Context, Outcome, Rule, RuleMeta};

pub struct Iam001;

static META: RuleMeta = RuleMeta {
    code: "IAM001",
    name: "operator-missing-ec2-permissions",
    severity: Severity::Critical,
    area: Area::Iam,
    summary: "The cilium-operator's IAM role does not allow every EC2 action the running Cilium needs in ENI mode.",
    what_it_checks: "In ENI IPAM mode only. Finds the role the operator's EC2 calls run under: \
        the IRSA role of its ServiceAccount (`eks.amazonaws.com/role-arn`), else the node \
        instance roles. Evaluates the role's inline and attached managed policies (default \
        versions) against the EC2 actions Cilium's ENI documentation lists as required for the \
        running minor, plus the conditional ones whose feature is on: ec2:DescribeTags for ENI \
        garbage collection (on by default, unless `cluster-name` or `eni-gc-tags` are \
        customised or `eni-gc-interval` is 0), ec2:UnassignPrivateIpAddresses for \
        `aws-release-excess-ips`, ec2:DescribeInstances for `instance-tags-filter`, \
        ec2:DescribeInstanceTypes for `update-ec2-adapter-limit-via-api` (required outright in \
        the minors whose operator always reads the limits from the API), \
        ec2:AssociateAddress/DescribeAddresses for CiliumNodes with `spec.ipam.static-ip-tags` \
        (in the minors whose operator code calls them). Which minor needs what is in \
        `data/cilium.json`, with its source in `data/SOURCES.md`. Wildcards, NotAction and explicit Deny are evaluated.",
    why_it_matters: "Without these actions the operator cannot create, attach or fill ENIs: new \
        pods stay in ContainerCreating waiting for an IP, and the errors only show in the \
        operator log and in CiliumNode `status.ipam.operator-status`. A Cilium upgrade that \
        adds a required action (1.18 added ec2:DescribeRouteTables) breaks IP allocation the \
        moment the new operator starts.",
    how_to_fix: "Add the missing actions to the operator's role (an inline policy with `aws iam \
        put-role-policy` is the quickest; a managed policy is easier to audit), remove any Deny \
        that matches them, and restart the operator. If the operator runs on the node role, \
        move it to its own IRSA role first (IAM002).",
    known_limits: "Only identity policies are evaluated: permission boundaries, SCPs and session \
        policies can still deny. Statements limited to some resources or by conditions count as \
        allowing the action. Managed policies are read from the IAM data given (`aws iam \
        get-account-authorization-details` includes the default version of attached policies); \
        an attached policy without its document makes the rule not evaluated. With EKS Pod \
        Identity the role is not visible in a snapshot. Settings the snapshot does not show \
        are taken at the running minor's default (chart default; ENI GC is on by default).",
    docs_url: "https://docs.cilium.io/en/stable/network/concepts/ipam/eni/#required-privileges",
};

impl Rule for Iam001 {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, cx: &Context) -> Outcome {
        crate::rules::log::common::with_signature_evidence(
            cx,
            &META,
            evaluate(cx),
            &[crate::logs::Stream::Log],
        )
    }
}

fn evaluate(cx: &Context) -> Result<Vec<Finding>, Missing> {
    if !eni_mode(cx)? {
        return Ok(Vec::new());
    }
    let Some(cilium) = cx.cluster.cilium.version else {
        return Err(Missing::new(
            "the Cilium version (agent image tag)",
            inputs::AGENT_DAEMONSET,
        ));
    };
    let c = cilium.minor();
    let Some(data) = cx.knowledge.cilium_minor(c) else {
        return Err(Missing::new(
            format!("the ENI IAM actions of Cilium {c}"),
            inputs::KNOWLEDGE,
        ));
    };
    let op = operator(cx)?;
    let Some((roles, how)) = operator_roles(cx, op)? else {
        return Err(Missing::new(
            "the IAM role of the operator's EKS Pod Identity association",
            format!(
                "aws eks list-pod-identity-associations --cluster-name {} --namespace {} --service-account {}",
                cx.cluster_name(),
                op.namespace,
                op.service_account
            ),
        ));
    };

    let wanted = wanted_actions(cx, data);

    let mut findings = Vec::new();
    for role in roles {
        let (docs, unknown) = role_policies(cx, role);
        let missing = missing_actions(&docs, wanted.iter().map(|(a, _)| a.as_str()));
        if missing.is_empty() {
            continue;
        }
        if !unknown.is_empty() {
            return Err(Missing::new(
                format!(
                    "the documents of the managed policies attached to role {}: {}",
                    role.name,
                    unknown.join(", ")
                ),
                inputs::IAM,
            ));
        }
        let names: Vec<&str> = missing.iter().map(|(a, _)| *a).collect();
        let on_node_role = matches!(op.credentials, Credentials::NodeRole { .. });
        let mut finding = META
            .finding(
                ObjectRef::global("IAMRole", &role.name),
                format!(
                    "Role {} ({}) lacks {} EC2 action(s) Cilium {c} needs in ENI mode: {}",
                    role.name,
                    match op.credentials {
                        Credentials::NodeRole { .. } => "node role the cilium-operator runs on",
                        Credentials::PodIdentity { .. } =>
                            "EKS Pod Identity role of the cilium-operator",
                        Credentials::Irsa { .. } => "IRSA role of the cilium-operator",
                    },
                    names.len(),
                    names.join(", ")
                ),
            )
            .with_evidence(format!("Operator credentials: {how}"))
            .with_evidence(format!(
                "Policies of {}: {}",
                role.arn,
                if docs.is_empty() {
                    "none".to_string()
                } else {
                    docs.iter().map(|d| d.name).collect::<Vec<_>>().join(", ")
                }
            ));
        let mut denies = Vec::new();
        for (action, access) in &missing {
            let why = wanted
                .iter()
                .find(|(a, _)| a == action)
                .map(|(_, w)| w.as_str())
                .unwrap_or_default();
            let state = if access.denied {
                denies.push(format!(
                    "{action} (denied by {})",
                    access.denied_by.join(", ")
                ));
                format!("explicitly denied by {}", access.denied_by.join(", "))
            } else {
                "not allowed by any statement".to_string()
            };
            finding = finding.with_evidence(format!("{action}: {state}; {why}"));
        }
        let policy_name = free_policy_name(role, "cilium-operator-eni-missing");
        let mut remediation = Vec::new();
        if !denies.is_empty() {
            remediation.push(format!(
                "Remove these explicit Deny statements first (a Deny overrides any Allow): {}",
                denies.join("; ")
            ));
        }
        if on_node_role {
            remediation.push(
                "Preferably give the operator its own IRSA role with these actions (IAM002) instead of widening the node role. To unblock now:".to_string(),
            );
        }
        if cx.cluster.iac.is_some() {
            // preflight: the role is declared in code, not yet in the account.
            remediation.push(format!(
                "Add these actions to a policy of this role where the code declares it (At:), then apply; as a policy document:\n{}",
                allow_policy_document(&names)
            ));
        } else {
            remediation.push(format!(
                "cat > {policy_name}.json <<'EOF'\n{}\nEOF\naws iam put-role-policy --role-name {} --policy-name {policy_name} --policy-document file://{policy_name}.json\nkubectl -n {} rollout restart deployment/cilium-operator",
                allow_policy_document(&names),
                role.name,
                op.namespace
            ));
        }
        findings.push(finding.with_remediation(remediation.join("\n")));
    }
    Ok(findings)
}

#[cfg(test)]
mod tests {
    use super::super::testkit::*;
    use super::*;
    use crate::rules::testing::{fired, missing, options, run};
    use serde_json::json;

    fn with_iam(
        mut c: crate::model::Cluster,
        roles: Vec<crate::model::IamRole>,
        policies: Vec<crate::model::ManagedPolicy>,
    ) -> crate::model::Cluster {
        c.iam_roles = Some(roles);
        c.managed_policies = Some(policies);
        c
    }

    #[test]
    fn fires_with_missing_actions_and_reasons() {
        let k = knowledge();
        let mut acts: Vec<&str> = OPERATOR_ACTIONS_116.to_vec();
        acts.retain(|a| *a != "ec2:CreateTags" && *a != "ec2:DescribeTags");
        let c = with_iam(
            eni_cluster(irsa_annotation(), vec![]),
            vec![role(
                OPERATOR_ROLE,
                Some(irsa_trust(
                    "system:serviceaccount:kube-system:cilium-operator",
                )),
                vec![("eni", allow(&acts))],
                &[],
            )],
            vec![],
        );
        let f = fired(run(&Iam001, &c, &k, &options("2026-11-26")));
        assert_eq!(f.len(), 1);
        assert_eq!(
            f[0].message,
            "Role prod-cilium-operator (IRSA role of the cilium-operator) lacks 3 EC2 action(s) Cilium 1.16 needs in ENI mode: ec2:CreateTags, ec2:DescribeInstanceTypes, ec2:DescribeTags"
        );
        assert!(f[0].evidence.iter().any(|e| e.starts_with(
            "ec2:DescribeTags: not allowed by any statement; ENI garbage collection is on"
        )));
        // 1.16 defaults update-ec2-adapter-limit-via-api on: DescribeInstanceTypes is needed too.
        assert!(f[0].evidence.iter().any(|e| e.starts_with(
            "ec2:DescribeInstanceTypes: not allowed by any statement; update-ec2-adapter-limit-via-api is not set: on by default in Cilium 1.16"
        )));
        // The role's inline policy is called "eni": the new one does not replace it.
        assert!(f[0].remediation.contains("aws iam put-role-policy --role-name prod-cilium-operator --policy-name cilium-operator-eni-missing --policy-document file://cilium-operator-eni-missing.json"));
    }

    #[test]
    fn wildcards_managed_policies_and_denies() {
        let k = knowledge();
        let managed_arn = "arn:aws:iam::111122223333:policy/cilium-eni";
        let c = with_iam(
            eni_cluster(irsa_annotation(), vec![]),
            vec![role(
                OPERATOR_ROLE,
                None,
                vec![(
                    "deny",
                    json!({"Statement": [{"Effect": "Deny", "Action": "ec2:DeleteNetworkInterface", "Resource": "*"}]}),
                )],
                &[managed_arn],
            )],
            vec![managed(
                managed_arn,
                allow(&[
                    "ec2:Describe*",
                    "ec2:*NetworkInterface*",
                    "ec2:AssignPrivateIpAddresses",
                    "ec2:CreateTags",
                ]),
            )],
        );
        let f = fired(run(&Iam001, &c, &k, &options("2026-11-26")));
        assert_eq!(f.len(), 1);
        assert!(f[0].message.ends_with(
            "lacks 1 EC2 action(s) Cilium 1.16 needs in ENI mode: ec2:DeleteNetworkInterface"
        ));
        assert!(f[0]
            .remediation
            .starts_with("Remove these explicit Deny statements first"));
        // Unknown managed policy document: not evaluated.
        let c = with_iam(
            eni_cluster(irsa_annotation(), vec![]),
            vec![role(OPERATOR_ROLE, None, vec![], &[managed_arn])],
            vec![],
        );
        assert!(missing(run(&Iam001, &c, &k, &options("2026-11-26"))).contains("cilium-eni"));
    }

    #[test]
    fn features_change_the_required_set() {
        let k = knowledge();
        let mut acts: Vec<&str> = OPERATOR_ACTIONS_116.to_vec();
        acts.retain(|a| *a != "ec2:DescribeTags");
        let roles = vec![role(OPERATOR_ROLE, None, vec![("eni", allow(&acts))], &[])];
        // Custom cluster-name: DescribeTags not needed.
        let c = {
            let mut c2 = typed_cluster(vec![
                agent_ds("1.16.5"),
                config_map(
                    json!({"ipam": "eni", "cluster-name": "prod", "update-ec2-adapter-limit-via-api": "false"}),
                ),
                json!({"kind": "ServiceAccount", "metadata": {"name": "cilium-operator", "namespace": "kube-system", "annotations": irsa_annotation()}}),
            ]);
            c2.iam_roles = Some(roles.clone());
            c2
        };
        assert!(fired(run(&Iam001, &c, &k, &options("2026-11-26"))).is_empty());
        // Release excess IPs on: UnassignPrivateIpAddresses needed.
        let mut c3 = typed_cluster(vec![
            agent_ds("1.16.5"),
            config_map(
                json!({"ipam": "eni", "cluster-name": "prod", "aws-release-excess-ips": "true"}),
            ),
            json!({"kind": "ServiceAccount", "metadata": {"name": "cilium-operator", "namespace": "kube-system", "annotations": irsa_annotation()}}),
        ]);
        c3.iam_roles = Some(roles);
        let f = fired(run(&Iam001, &c3, &k, &options("2026-11-26")));
        assert!(f[0].message.ends_with("ec2:UnassignPrivateIpAddresses"));
        assert!(f[0]
            .evidence
            .iter()
            .any(|e| e.contains("cilium-config aws-release-excess-ips")));
    }

    #[test]
    fn node_role_fallback_and_not_applicable() {
        let k = knowledge();
        let c = with_iam(
            eni_cluster(json!({}), vec![]),
            vec![role(NODE_ROLE, None, vec![], &[CNI_POLICY])],
            vec![managed(
                CNI_POLICY,
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
                ]),
            )],
        );
        let f = fired(run(&Iam001, &c, &k, &options("2026-11-26")));
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].object.name, "prod-node");
        assert!(f[0]
            .message
            .contains("node role the cilium-operator runs on"));
        assert!(f[0].message.contains("ec2:CreateTags"));
        // Not ENI: empty.
        let c = typed_cluster(vec![
            agent_ds("1.16.5"),
            config_map(json!({"ipam": "cluster-pool"})),
        ]);
        assert!(fired(run(&Iam001, &c, &k, &options("2026-11-26"))).is_empty());
        // No IAM data.
        let c = eni_cluster(irsa_annotation(), vec![]);
        assert_eq!(
            missing(run(&Iam001, &c, &k, &options("2026-11-26"))),
            "IAM role data"
        );
    }
}
