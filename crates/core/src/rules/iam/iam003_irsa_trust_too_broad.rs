//! IAM003 irsa-trust-too-broad: the operator role's trust policy lets more
//! than the operator's ServiceAccount assume it.

use super::trust::{irsa_trust_policy, issuer_host_path, web_identity_grants, WebIdentityGrant};
use super::{arn_account, irsa_role};
use crate::findings::{Finding, ObjectRef, Severity};
use crate::rules::Missing;
use crate::rules::{Area, Context, Outcome, Rule, RuleMeta};

pub struct Iam003;

static META: RuleMeta = RuleMeta {
    code: "IAM003",
    name: "irsa-trust-too-broad",
    severity: Severity::High,
    area: Area::Iam,
    summary: "The operator role's IRSA trust policy lets more than the operator's ServiceAccount assume it.",
    what_it_checks: "In ENI IPAM mode, for the operator's IRSA role: reads the statements of the \
        role's trust policy that allow `sts:AssumeRoleWithWebIdentity` and checks them against \
        the documented template: a `StringEquals` (or exact) condition on `<issuer>:sub` naming \
        the operator's ServiceAccount only, and `<issuer>:aud` = `sts.amazonaws.com`. Fires on a \
        missing sub condition, a wildcard subject (`StringLike` with `*`/`?`), extra subjects or \
        extra statements for other ServiceAccounts or other OIDC issuers, a missing aud \
        condition, or a `*` principal.",
    why_it_matters: "The operator's role can create, attach and delete network interfaces and \
        assign IPs in the VPC. A trust policy without a tight subject lets any pod whose \
        ServiceAccount matches (every pod in the cluster when the sub condition is missing) \
        obtain these credentials with its projected token.",
    how_to_fix: "Replace the trust policy with the documented IRSA template naming only the \
        operator's ServiceAccount (`aws iam update-assume-role-policy`). Other workloads that \
        relied on the role need their own roles.",
    known_limits: "Evaluates the conditions on `:sub` and `:aud` only; other conditions (e.g. \
        `aws:SourceAccount`) are not taken into account. A StringLike value without wildcards \
        is treated like StringEquals. Pod Identity roles (trusting pods.eks.amazonaws.com) are \
        not checked.",
    docs_url: "https://docs.aws.amazon.com/eks/latest/userguide/associate-service-account-role.html",
};

impl Rule for Iam003 {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, cx: &Context) -> Outcome {
        evaluate(cx)
    }
}

fn describe_sub(g: &WebIdentityGrant) -> String {
    g.sub
        .iter()
        .map(|c| format!("{} {}:sub = {}", c.operator, c.issuer, c.values.join(" | ")))
        .collect::<Vec<_>>()
        .join("; ")
}

fn evaluate(cx: &Context) -> Result<Vec<Finding>, Missing> {
    let Some((op, role, source)) = irsa_role(cx)? else {
        return Ok(Vec::new());
    };
    let Some(trust) = role.trust_policy.as_ref() else {
        return Ok(Vec::new());
    };
    let subject = op.subject();
    let issuer = cx.cluster.eks.as_ref().and_then(|e| e.oidc_issuer());
    let grants = web_identity_grants(trust);
    let (ours, others): (Vec<&WebIdentityGrant>, Vec<&WebIdentityGrant>) = grants
        .iter()
        .partition(|g| issuer.is_none_or(|i| g.for_issuer(i)));
    let operator_admitted = ours
        .iter()
        .any(|g| g.admits_subject(&subject) != Some(false));
    if !operator_admitted {
        // The operator cannot use the role at all: IAM004's finding.
        return Ok(Vec::new());
    }

    let mut problems: Vec<String> = Vec::new();
    for g in &ours {
        let i = g.index;
        if g.providers.iter().any(|p| p == "*") {
            problems.push(format!(
                "statement {i}: Principal \"*\" (any identity provider)"
            ));
        }
        let key_issuer = issuer
            .map(issuer_host_path)
            .or_else(|| g.issuers().into_iter().find(|x| *x != "*"))
            .unwrap_or("<issuer>");
        match g.admits_subject(&subject) {
            None => problems.push(format!(
                "statement {i}: no condition on {key_issuer}:sub, so every ServiceAccount of the cluster can assume the role"
            )),
            Some(true) => {
                for c in &g.sub {
                    for w in c.wildcard_values() {
                        problems.push(format!("statement {i}: wildcard subject {w} ({})", c.operator));
                    }
                }
                let extra: Vec<&str> = g
                    .exact_subjects()
                    .into_iter()
                    .filter(|s| *s != subject)
                    .collect();
                if !extra.is_empty() {
                    problems.push(format!(
                        "statement {i}: also trusts {}",
                        extra.join(", ")
                    ));
                }
            }
            Some(false) => problems.push(format!(
                "statement {i}: trusts other subjects ({})",
                describe_sub(g)
            )),
        }
        if !g.requires_sts_audience() && g.admits_subject(&subject) != Some(false) {
            problems.push(format!(
                "statement {i}: no {key_issuer}:aud = sts.amazonaws.com condition"
            ));
        }
    }
    for g in &others {
        problems.push(format!(
            "statement {}: also trusts OIDC issuer {} (another cluster)",
            g.index,
            g.issuers().join(", ")
        ));
    }
    if problems.is_empty() {
        return Ok(Vec::new());
    }

    let host = issuer
        .map(issuer_host_path)
        .or_else(|| ours.iter().flat_map(|g| g.issuers()).find(|x| *x != "*"))
        .unwrap_or("<issuer-host-path>");
    let account = arn_account(&role.arn).unwrap_or("<account-id>");
    let provider = format!("arn:aws:iam::{account}:oidc-provider/{host}");
    let mut finding = META
        .finding(
            ObjectRef::global("IAMRole", &role.name),
            format!(
                "The trust policy of {} (the cilium-operator's IRSA role) lets more than {subject} assume it: {}",
                role.name, problems[0]
            ),
        )
        .with_evidence(format!("Operator role: {} ({source})", role.arn));
    for p in &problems {
        finding = finding.with_evidence(p.clone());
    }
    Ok(vec![finding.with_remediation(format!(
        "Restrict the trust policy to the operator's ServiceAccount (IRSA template):\ncat > cilium-operator-trust.json <<'EOF'\n{}\nEOF\naws iam update-assume-role-policy --role-name {} --policy-document file://cilium-operator-trust.json",
        irsa_trust_policy(&provider, host, &subject),
        role.name
    ))])
}

#[cfg(test)]
mod tests {
    use super::super::testkit::*;
    use super::*;
    use crate::rules::testing::{fired, missing, options, run};
    use serde_json::json;

    fn with_trust(trust: serde_json::Value) -> crate::model::Cluster {
        let mut c = eni_cluster(irsa_annotation(), vec![]);
        c.iam_roles = Some(vec![role(OPERATOR_ROLE, Some(trust), vec![], &[])]);
        c
    }

    #[test]
    fn quiet_on_the_template() {
        let k = knowledge();
        let c = with_trust(irsa_trust(
            "system:serviceaccount:kube-system:cilium-operator",
        ));
        assert!(fired(run(&Iam003, &c, &k, &options("2026-11-26"))).is_empty());
        // Wrong subject only: IAM004, not here.
        let c = with_trust(irsa_trust("system:serviceaccount:default:other"));
        assert!(fired(run(&Iam003, &c, &k, &options("2026-11-26"))).is_empty());
    }

    #[test]
    fn fires_on_wildcard_and_missing_aud() {
        let k = knowledge();
        let trust = json!({"Statement": [{
            "Effect": "Allow",
            "Principal": {"Federated": format!("arn:aws:iam::{ACCOUNT}:oidc-provider/{HOST}")},
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": {"StringLike": {format!("{HOST}:sub"): "system:serviceaccount:kube-system:*"}}
        }]});
        let f = fired(run(&Iam003, &with_trust(trust), &k, &options("2026-11-26")));
        assert_eq!(f.len(), 1);
        assert!(f[0]
            .message
            .contains("wildcard subject system:serviceaccount:kube-system:*"));
        assert!(f[0]
            .evidence
            .iter()
            .any(|e| e.contains(":aud = sts.amazonaws.com condition")));
        assert!(f[0].remediation.contains("aws iam update-assume-role-policy --role-name prod-cilium-operator --policy-document file://cilium-operator-trust.json"));
        assert!(f[0].remediation.contains(&format!(
            "\"{HOST}:sub\": \"system:serviceaccount:kube-system:cilium-operator\""
        )));
    }

    #[test]
    fn fires_on_no_condition_extra_subjects_and_other_issuers() {
        let k = knowledge();
        let trust = json!({"Statement": [{
            "Effect": "Allow",
            "Principal": {"Federated": format!("arn:aws:iam::{ACCOUNT}:oidc-provider/{HOST}")},
            "Action": "sts:AssumeRoleWithWebIdentity"
        }]});
        let f = fired(run(&Iam003, &with_trust(trust), &k, &options("2026-11-26")));
        assert!(f[0].message.contains("no condition on"));

        let mut t = irsa_trust("system:serviceaccount:kube-system:cilium-operator");
        t["Statement"][0]["Condition"]["StringEquals"][format!("{HOST}:sub")] = json!([
            "system:serviceaccount:kube-system:cilium-operator",
            "system:serviceaccount:default:app"
        ]);
        let other = "oidc.eks.us-east-1.amazonaws.com/id/0000000000000000000000000000AAAA";
        t["Statement"].as_array_mut().unwrap().push(json!({
            "Effect": "Allow",
            "Principal": {"Federated": format!("arn:aws:iam::{ACCOUNT}:oidc-provider/{other}")},
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": {"StringEquals": {format!("{other}:sub"): "system:serviceaccount:kube-system:cilium-operator", format!("{other}:aud"): "sts.amazonaws.com"}}
        }));
        let f = fired(run(&Iam003, &with_trust(t), &k, &options("2026-11-26")));
        assert!(f[0]
            .message
            .ends_with("statement 1: also trusts system:serviceaccount:default:app"));
        assert!(f[0]
            .evidence
            .iter()
            .any(|e| e.contains(&format!("statement 2: also trusts OIDC issuer {other}"))));
    }

    #[test]
    fn not_applicable_and_missing() {
        let k = knowledge();
        let c = eni_cluster(json!({}), vec![]);
        assert!(fired(run(&Iam003, &c, &k, &options("2026-11-26"))).is_empty());
        let c = eni_cluster(irsa_annotation(), vec![]);
        assert_eq!(
            missing(run(&Iam003, &c, &k, &options("2026-11-26"))),
            "IAM role data"
        );
        let mut c = eni_cluster(irsa_annotation(), vec![]);
        c.iam_roles = Some(vec![role(OPERATOR_ROLE, None, vec![], &[])]);
        assert!(missing(run(&Iam003, &c, &k, &options("2026-11-26"))).contains("trust policy"));
    }
}
