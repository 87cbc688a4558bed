//! IAM004 irsa-trust-wrong-subject: the operator role's trust policy names
//! another namespace/ServiceAccount, or another cluster's OIDC issuer.

use super::trust::{irsa_trust_policy, issuer_host_path, web_identity_grants, WebIdentityGrant};
use super::{arn_account, irsa_role};
use crate::findings::{Finding, ObjectRef, Severity};
use crate::rules::Missing;
use crate::rules::{Area, Context, Outcome, Rule, RuleMeta};

pub struct Iam004;

static META: RuleMeta = RuleMeta {
    code: "IAM004",
    name: "irsa-trust-wrong-subject",
    severity: Severity::High,
    area: Area::Iam,
    summary: "The operator role's trust policy names another ServiceAccount or another cluster's OIDC issuer.",
    what_it_checks: "In ENI IPAM mode, for the operator's IRSA role: whether any statement of \
        the trust policy that allows `sts:AssumeRoleWithWebIdentity` is for this cluster's OIDC \
        issuer (EKS `identity.oidc.issuer`, via the `oidc-provider/…` principal) and admits the \
        subject `system:serviceaccount:NAMESPACE:NAME` of the ServiceAccount the operator \
        Deployment runs as. Fires when the trust policy only names other subjects (e.g. after \
        renaming the ServiceAccount or installing into another namespace) or only other \
        clusters' issuers (e.g. a role copied from another cluster).",
    why_it_matters: "STS refuses the operator's AssumeRoleWithWebIdentity call: the operator has \
        no AWS credentials at all (or falls back to the node role), ENI allocation stops and new \
        pods wait for IPs. The error only appears in the operator log as AccessDenied from STS.",
    how_to_fix: "Point the trust policy at this cluster's issuer and the operator's \
        ServiceAccount with `aws iam update-assume-role-policy` (the IRSA template), or annotate \
        the ServiceAccount with the role meant for this cluster.",
    known_limits: "Needs `aws eks describe-cluster` to compare issuers; without it only the \
        subject is checked. Conditions other than `:sub` are not evaluated. StringLike subjects \
        are matched as IAM globs.",
    docs_url: "https://docs.aws.amazon.com/eks/latest/userguide/associate-service-account-role.html",
};

impl Rule for Iam004 {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, cx: &Context) -> Outcome {
        evaluate(cx)
    }
}

fn subjects(g: &WebIdentityGrant) -> Vec<String> {
    g.sub
        .iter()
        .flat_map(|c| c.values.iter().cloned())
        .collect()
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
    let ours: Vec<&WebIdentityGrant> = grants
        .iter()
        .filter(|g| issuer.is_none_or(|i| g.for_issuer(i)))
        .collect();

    let mut evidence = vec![format!("Operator role: {} ({source})", role.arn)];
    if let Some(i) = issuer {
        evidence.push(format!("Cluster OIDC issuer: {i}"));
    }
    let message = if grants.is_empty() {
        format!(
            "The trust policy of {} allows no sts:AssumeRoleWithWebIdentity from an OIDC provider: the cilium-operator ({subject}) cannot assume it",
            role.name
        )
    } else if ours.is_empty() {
        let theirs: Vec<String> = grants
            .iter()
            .flat_map(|g| g.issuers().into_iter().map(str::to_string))
            .collect();
        evidence.push(format!("Trusted issuers: {}", theirs.join(", ")));
        format!(
            "The trust policy of {} trusts OIDC issuer {} instead of this cluster's {}: the cilium-operator cannot assume it",
            role.name,
            theirs.join(", "),
            issuer.map(issuer_host_path).unwrap_or_default()
        )
    } else if ours
        .iter()
        .all(|g| g.admits_subject(&subject) == Some(false))
    {
        let named: Vec<String> = ours.iter().flat_map(|g| subjects(g)).collect();
        for g in &ours {
            evidence.push(format!(
                "statement {}: {}",
                g.index,
                g.sub
                    .iter()
                    .map(|c| format!("{} {}:sub = {}", c.operator, c.issuer, c.values.join(" | ")))
                    .collect::<Vec<_>>()
                    .join("; ")
            ));
        }
        format!(
            "The trust policy of {} names {} but the cilium-operator runs as {subject}",
            role.name,
            named.join(", ")
        )
    } else {
        return Ok(Vec::new());
    };

    let host = issuer.map(issuer_host_path).unwrap_or("<issuer-host-path>");
    let account = arn_account(&role.arn).unwrap_or("<account-id>");
    let provider = format!("arn:aws:iam::{account}:oidc-provider/{host}");
    let finding = evidence.into_iter().fold(
        META.finding(ObjectRef::global("IAMRole", &role.name), message),
        Finding::with_evidence,
    );
    Ok(vec![finding.with_remediation(format!(
        "Trust this cluster's issuer and the operator's ServiceAccount (IRSA template):\ncat > cilium-operator-trust.json <<'EOF'\n{}\nEOF\naws iam update-assume-role-policy --role-name {} --policy-document file://cilium-operator-trust.json\nkubectl -n {} rollout restart deployment/cilium-operator",
        irsa_trust_policy(&provider, host, &subject),
        role.name,
        op.namespace
    ))])
}

#[cfg(test)]
mod tests {
    use super::super::testkit::*;
    use super::*;
    use crate::rules::testing::{fired, options, run};
    use serde_json::json;

    fn with_trust(trust: serde_json::Value) -> crate::model::Cluster {
        let mut c = eni_cluster(irsa_annotation(), vec![]);
        c.iam_roles = Some(vec![role(OPERATOR_ROLE, Some(trust), vec![], &[])]);
        c
    }

    #[test]
    fn fires_on_wrong_subject() {
        let k = knowledge();
        let c = with_trust(irsa_trust("system:serviceaccount:cilium:cilium-operator"));
        let f = fired(run(&Iam004, &c, &k, &options("2026-11-26")));
        assert_eq!(f.len(), 1);
        assert_eq!(
            f[0].message,
            "The trust policy of prod-cilium-operator names system:serviceaccount:cilium:cilium-operator but the cilium-operator runs as system:serviceaccount:kube-system:cilium-operator"
        );
        assert!(f[0].remediation.contains("update-assume-role-policy"));
    }

    #[test]
    fn fires_on_other_issuer_and_on_no_grant() {
        let k = knowledge();
        let other = "oidc.eks.us-east-1.amazonaws.com/id/0000000000000000000000000000AAAA";
        let trust = json!({"Statement": [{
            "Effect": "Allow",
            "Principal": {"Federated": format!("arn:aws:iam::{ACCOUNT}:oidc-provider/{other}")},
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": {"StringEquals": {format!("{other}:sub"): "system:serviceaccount:kube-system:cilium-operator", format!("{other}:aud"): "sts.amazonaws.com"}}
        }]});
        let f = fired(run(&Iam004, &with_trust(trust), &k, &options("2026-11-26")));
        assert!(f[0].message.contains(&format!(
            "trusts OIDC issuer {other} instead of this cluster's {HOST}"
        )));
        assert!(f[0]
            .remediation
            .contains(&format!("arn:aws:iam::{ACCOUNT}:oidc-provider/{HOST}")));

        let ec2 = json!({"Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]});
        let f = fired(run(&Iam004, &with_trust(ec2), &k, &options("2026-11-26")));
        assert!(f[0]
            .message
            .contains("allows no sts:AssumeRoleWithWebIdentity"));
    }

    #[test]
    fn quiet_on_template_wildcard_or_no_sub() {
        let k = knowledge();
        let c = with_trust(irsa_trust(
            "system:serviceaccount:kube-system:cilium-operator",
        ));
        assert!(fired(run(&Iam004, &c, &k, &options("2026-11-26"))).is_empty());
        let mut t = irsa_trust("x");
        t["Statement"][0]["Condition"] = json!({"StringLike": {format!("{HOST}:sub"): "system:serviceaccount:kube-system:cilium-*"}});
        assert!(fired(run(&Iam004, &with_trust(t), &k, &options("2026-11-26"))).is_empty());
    }
}
