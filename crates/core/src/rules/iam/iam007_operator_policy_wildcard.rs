//! IAM007 operator-policy-wildcard: the operator's policy grants `ec2:*` or `*`.

use super::eni_actions::{allow_policy_document, free_policy_name, wanted_actions};
use super::policy_eval::whole_service_grant;
use super::{eni_mode, operator, operator_roles, role_policies};
use crate::findings::{Finding, ObjectRef, Severity};
use crate::rules::inputs;
use crate::rules::Missing;
use crate::rules::{Area, Context, Outcome, Rule, RuleMeta};

pub struct Iam007;

static META: RuleMeta = RuleMeta {
    code: "IAM007",
    name: "operator-policy-wildcard",
    severity: Severity::Low,
    area: Area::Iam,
    summary: "The operator's policy grants `ec2:*` or `*`.",
    what_it_checks: "In ENI IPAM mode, for the role the operator's EC2 calls run under (its IRSA \
        role, else the node roles): fires when an Allow statement of its inline or attached \
        managed policies grants every EC2 action: `ec2:*`, `*`, `*:*`, or an Allow with \
        `NotAction` that leaves EC2 whole.",
    why_it_matters: "The operator needs about a dozen EC2 actions on network interfaces. A \
        wildcard also lets whoever obtains these credentials terminate instances, change \
        security groups and routes, or create resources that cost money.",
    how_to_fix: "Replace the wildcard with the actions Cilium documents for the running minor \
        (required plus the conditional ones you use; IAM001 lists them), then remove the \
        wildcard statement or policy.",
    known_limits: "Only whole-service grants are reported, not broad partial wildcards such as \
        `ec2:Create*`. Resource and condition scoping of the wildcard statement is not \
        considered. With EKS Pod Identity the role is not visible in a snapshot.",
    docs_url: "https://docs.cilium.io/en/stable/network/concepts/ipam/eni/#required-privileges",
};

impl Rule for Iam007 {
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
    // The replacement: the actions the running minor and configuration need (IAM001).
    let documented: Option<Vec<String>> = cx
        .cluster
        .cilium
        .version
        .and_then(|v| cx.knowledge.cilium_minor(v.minor()))
        .map(|m| {
            let mut a: Vec<String> = wanted_actions(cx, m).into_iter().map(|(a, _)| a).collect();
            a.sort();
            a
        });

    let mut findings = Vec::new();
    for role in roles {
        let (docs, unknown) = role_policies(cx, role);
        let mut hits: Vec<(String, usize, String)> = Vec::new();
        for d in &docs {
            for (i, st) in d.document.statements.iter().enumerate() {
                if let Some(pattern) = whole_service_grant(st, "ec2") {
                    hits.push((d.name.to_string(), i + 1, pattern));
                }
            }
        }
        if hits.is_empty() {
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
            continue;
        }
        let first = &hits[0];
        let mut finding = META
            .finding(
                ObjectRef::global("IAMRole", &role.name),
                format!(
                    "Role {} used by the cilium-operator grants every EC2 action: {} statement {} {}",
                    role.name, first.0, first.1, first.2
                ),
            )
            .with_evidence(format!("Operator credentials: {how}"));
        for (policy, i, pattern) in &hits {
            finding = finding.with_evidence(format!("{policy} statement {i}: {pattern}"));
        }
        let mut steps = Vec::new();
        if let Some(actions) = &documented {
            let name = free_policy_name(role, "cilium-operator-eni");
            steps.push(format!(
                "Grant the actions Cilium documents for this version and configuration instead (IAM001):\ncat > {name}.json <<'EOF'\n{}\nEOF\naws iam put-role-policy --role-name {} --policy-name {name} --policy-document file://{name}.json",
                allow_policy_document(actions),
                role.name
            ));
        } else {
            steps.push("Grant only the EC2 actions Cilium documents for your minor (eni.rst Required Privileges).".to_string());
        }
        let mut removed: Vec<&str> = Vec::new();
        for (policy, _, _) in &hits {
            if removed.contains(&policy.as_str()) {
                continue;
            }
            removed.push(policy);
            if policy.starts_with("arn:") {
                steps.push(format!(
                    "aws iam detach-role-policy --role-name {} --policy-arn {policy}",
                    role.name
                ));
            } else {
                steps.push(format!(
                    "aws iam delete-role-policy --role-name {} --policy-name {policy}   # or edit it to drop the wildcard statement",
                    role.name
                ));
            }
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

    #[test]
    fn fires_on_ec2_star_and_star() {
        let k = knowledge();
        let mut c = eni_cluster(irsa_annotation(), vec![]);
        let admin = "arn:aws:iam::aws:policy/AdministratorAccess";
        c.iam_roles = Some(vec![role(
            OPERATOR_ROLE,
            None,
            vec![("ec2-all", allow(&["ec2:*"]))],
            &[admin],
        )]);
        c.managed_policies = Some(vec![managed(
            admin,
            json!({"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}),
        )]);
        let f = fired(run(&Iam007, &c, &k, &options("2026-11-26")));
        assert_eq!(f.len(), 1);
        assert_eq!(
            f[0].message,
            "Role prod-cilium-operator used by the cilium-operator grants every EC2 action: ec2-all statement 1 Action \"ec2:*\""
        );
        assert!(f[0]
            .evidence
            .iter()
            .any(|e| e == "arn:aws:iam::aws:policy/AdministratorAccess statement 1: Action \"*\""));
        assert!(f[0].remediation.contains(
            "aws iam delete-role-policy --role-name prod-cilium-operator --policy-name ec2-all"
        ));
        assert!(f[0].remediation.contains("aws iam detach-role-policy --role-name prod-cilium-operator --policy-arn arn:aws:iam::aws:policy/AdministratorAccess"));
        assert!(f[0].remediation.contains("\"ec2:CreateTags\""));
    }

    #[test]
    fn quiet_on_documented_actions() {
        let k = knowledge();
        let mut c = eni_cluster(irsa_annotation(), vec![]);
        c.iam_roles = Some(vec![role(
            OPERATOR_ROLE,
            None,
            vec![("eni", allow(OPERATOR_ACTIONS_116))],
            &[],
        )]);
        assert!(fired(run(&Iam007, &c, &k, &options("2026-11-26"))).is_empty());
        let mut c = eni_cluster(irsa_annotation(), vec![]);
        c.iam_roles = Some(vec![role(
            OPERATOR_ROLE,
            None,
            vec![],
            &["arn:aws:iam::111122223333:policy/x"],
        )]);
        assert!(missing(run(&Iam007, &c, &k, &options("2026-11-26"))).contains("policy/x"));
    }
}
