//! IAM005 oidc-provider-missing: the cluster's OIDC issuer has no IAM OIDC
//! identity provider, so IRSA cannot work.

use super::trust::{issuer_host_path, provider_issuer, same_issuer};
use super::{eni_mode, operator, Credentials};
use crate::findings::{Finding, ObjectRef, Severity};
use crate::rules::inputs;
use crate::rules::Missing;
use crate::rules::{Area, Context, Outcome, Rule, RuleMeta};

pub struct Iam005;

static META: RuleMeta = RuleMeta {
    code: "IAM005",
    name: "oidc-provider-missing",
    severity: Severity::High,
    area: Area::Iam,
    summary: "The cluster's OIDC issuer has no IAM OIDC identity provider: IRSA cannot work.",
    what_it_checks: "In ENI IPAM mode (where the operator needs AWS credentials): compares the \
        cluster's OIDC issuer (`aws eks describe-cluster` → `identity.oidc.issuer`) with the \
        account's IAM OIDC providers (`aws iam list-open-id-connect-providers`, ARNs \
        `arn:aws:iam::ACCOUNT:oidc-provider/oidc.eks.REGION.amazonaws.com/id/ID`). Does not \
        apply when the operator visibly uses EKS Pod Identity, which needs no OIDC provider.",
    why_it_matters: "IRSA exchanges the pod's projected token for credentials through the IAM \
        OIDC provider of the cluster's issuer. Without it every AssumeRoleWithWebIdentity call \
        fails: an operator annotated with a role gets no credentials, and moving the operator \
        off the node role (IAM002) is impossible until the provider exists.",
    how_to_fix: "Create the provider for the cluster's issuer: `eksctl utils \
        associate-iam-oidc-provider --cluster CLUSTER --approve`, or `aws iam \
        create-open-id-connect-provider --url ISSUER --client-id-list sts.amazonaws.com`.",
    known_limits: "The provider list must come from the cluster's AWS account; a list from \
        another account makes this fire. Provider thumbprints and client IDs are not checked.",
    docs_url: "https://docs.aws.amazon.com/eks/latest/userguide/enable-iam-roles-for-service-accounts.html",
};

impl Rule for Iam005 {
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
    // The operator's credentials only tell whether IRSA is in use; an
    // unknown ServiceAccount does not stop this check.
    let op = operator(cx).ok();
    if matches!(
        op.as_ref().map(|o| &o.credentials),
        Some(Credentials::PodIdentity { .. })
    ) {
        return Ok(Vec::new());
    }
    let Some(issuer) = cx.cluster.eks.as_ref().and_then(|e| e.oidc_issuer()) else {
        return Err(Missing::new(
            "the cluster's OIDC issuer (EKS describe-cluster identity.oidc.issuer)",
            inputs::EKS_CLUSTER,
        ));
    };
    let Some(providers) = cx.cluster.oidc_providers.as_deref() else {
        return Err(Missing::new(
            "the IAM OIDC identity providers",
            inputs::OIDC_PROVIDERS,
        ));
    };
    if providers
        .iter()
        .filter_map(|arn| provider_issuer(arn))
        .any(|p| same_issuer(p, issuer))
    {
        return Ok(Vec::new());
    }
    let name = cx.cluster_name();
    let mut finding = META
        .finding(
            ObjectRef::global("Cluster", &name),
            format!(
                "No IAM OIDC identity provider exists for the cluster's issuer {}: IRSA cannot work",
                issuer_host_path(issuer)
            ),
        )
        .with_evidence(format!("EKS identity.oidc.issuer: {issuer}"))
        .with_evidence(if providers.is_empty() {
            "IAM OIDC providers: none".to_string()
        } else {
            format!("IAM OIDC providers: {}", providers.join(", "))
        });
    if let Some(Credentials::Irsa { role_arn, source }) = op.as_ref().map(|o| &o.credentials) {
        finding = finding.with_evidence(format!(
            "The cilium-operator is set up for IRSA with {role_arn} ({source}) and cannot obtain credentials"
        ));
    }
    Ok(vec![finding.with_remediation(format!(
        "eksctl utils associate-iam-oidc-provider --cluster {name} --approve\n\
         or: aws iam create-open-id-connect-provider --url {issuer} --client-id-list sts.amazonaws.com"
    ))])
}

#[cfg(test)]
mod tests {
    use super::super::testkit::*;
    use super::*;
    use crate::rules::testing::{fired, missing, options, run};
    use serde_json::json;

    #[test]
    fn fires_without_matching_provider() {
        let k = knowledge();
        let mut c = eni_cluster(irsa_annotation(), vec![]);
        c.oidc_providers = Some(vec![
            "arn:aws:iam::111122223333:oidc-provider/accounts.google.com".into(),
            "arn:aws:iam::111122223333:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/0000000000000000000000000000AAAA".into(),
        ]);
        let f = fired(run(&Iam005, &c, &k, &options("2026-11-26")));
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].object.name, "prod");
        assert!(f[0]
            .evidence
            .iter()
            .any(|e| e.contains("cannot obtain credentials")));
        assert!(f[0]
            .remediation
            .starts_with("eksctl utils associate-iam-oidc-provider --cluster prod --approve"));
    }

    #[test]
    fn quiet_with_provider_or_pod_identity() {
        let k = knowledge();
        let mut c = eni_cluster(irsa_annotation(), vec![]);
        c.oidc_providers = Some(vec![format!("arn:aws:iam::{ACCOUNT}:oidc-provider/{HOST}")]);
        assert!(fired(run(&Iam005, &c, &k, &options("2026-11-26"))).is_empty());
        let pod = json!({"kind": "Pod", "metadata": {"name": "cilium-operator-1", "namespace": "kube-system", "labels": {"io.cilium/app": "operator"}},
            "spec": {"containers": [{"name": "cilium-operator", "image": "x", "env": [{"name": "AWS_CONTAINER_CREDENTIALS_FULL_URI", "value": "http://169.254.170.23/v1/credentials"}]}]}});
        let mut c = eni_cluster(json!({}), vec![pod]);
        c.oidc_providers = Some(vec![]);
        assert!(fired(run(&Iam005, &c, &k, &options("2026-11-26"))).is_empty());
        let c = eni_cluster(irsa_annotation(), vec![]);
        assert!(missing(run(&Iam005, &c, &k, &options("2026-11-26")))
            .contains("OIDC identity providers"));
    }
}
