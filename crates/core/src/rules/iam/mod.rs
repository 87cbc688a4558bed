//! IAM rules. One file per rule; list each once in `RULES`, in code order.
//!
//! Shared here: whether the cluster runs Cilium in ENI IPAM mode (the only
//! mode in which the operator calls EC2), which identity the operator runs
//! as (IRSA role from its ServiceAccount, EKS Pod Identity, or the node
//! role), and the policy documents of an IAM role. Policy evaluation lives
//! in [`policy_eval`], IRSA trust policies in [`trust`].

pub(crate) mod eni_actions;
mod iam001_operator_missing_ec2_permissions;
mod iam002_operator_on_node_role;
mod iam003_irsa_trust_too_broad;
mod iam004_irsa_trust_wrong_subject;
mod iam005_oidc_provider_missing;
mod iam006_node_role_keeps_cni_policy;
mod iam007_operator_policy_wildcard;
pub(crate) mod policy_eval;
#[cfg(test)]
mod testkit;
pub(crate) mod trust;

use super::{Context, Rule};
use crate::model::{IamRole, ManagedPolicy, PolicyDocument};
use crate::rules::inputs;
use crate::rules::Missing;
use policy_eval::NamedPolicy;

pub static RULES: &[&dyn Rule] = &[
    &iam001_operator_missing_ec2_permissions::Iam001,
    &iam002_operator_on_node_role::Iam002,
    &iam003_irsa_trust_too_broad::Iam003,
    &iam004_irsa_trust_wrong_subject::Iam004,
    &iam005_oidc_provider_missing::Iam005,
    &iam006_node_role_keeps_cni_policy::Iam006,
    &iam007_operator_policy_wildcard::Iam007,
];

pub(crate) use crate::facts::{Credentials, Operator, IRSA_ANNOTATION};

/// The operator's ServiceAccount and credentials (derived once: [`crate::facts::Facts::operator`]).
pub(crate) fn operator<'a>(cx: &'a Context) -> Result<&'a Operator, Missing> {
    cx.facts.operator()
}

/// `Ok(true)`: Cilium runs ENI IPAM and the IAM rules apply; `Ok(false)`:
/// the snapshot proves they do not; `Err`: the IPAM mode is unknown.
pub(crate) fn eni_mode(cx: &Context) -> Result<bool, Missing> {
    use crate::model::cilium::{CiliumPresence, Ipam};
    let s = &cx.cluster.cilium;
    match (&s.ipam, s.presence) {
        (Some(ipam), _) => return Ok(*ipam == Ipam::Eni),
        (None, CiliumPresence::Absent) => return Ok(false),
        (None, _) => {}
    }
    Err(Missing::new(
        "the Cilium IPAM mode (ConfigMap kube-system/cilium-config or Helm values)",
        inputs::CILIUM_CONFIG,
    ))
}

/// The name of a role from its ARN (`arn:aws:iam::1:role/path/name` → `name`).
pub(crate) fn role_name(arn: &str) -> &str {
    arn.rsplit('/').next().unwrap_or(arn)
}

/// The account of an IAM ARN.
pub(crate) fn arn_account(arn: &str) -> Option<&str> {
    arn.split(':').nth(4).filter(|a| !a.is_empty())
}

/// Find a role in the IAM data by ARN, else by name.
pub(crate) fn find_role<'a>(cx: &Context<'a>, arn: &str) -> Result<&'a IamRole, Missing> {
    let Some(roles) = cx.cluster.iam_roles.as_deref() else {
        return Err(Missing::new("IAM role data", inputs::IAM));
    };
    let name = role_name(arn);
    roles
        .iter()
        .find(|r| r.arn == arn)
        .or_else(|| roles.iter().find(|r| r.name == name))
        .ok_or_else(|| {
            Missing::new(
                format!("IAM role {name} ({arn}) in the IAM data"),
                inputs::IAM,
            )
        })
}

/// The IAM roles of the managed node groups (`nodeRole`), deduplicated.
pub(crate) fn node_role_arns<'a>(cx: &Context<'a>) -> Option<Vec<&'a str>> {
    let groups = cx.cluster.nodegroups.as_deref()?;
    let mut arns: Vec<&str> = groups
        .iter()
        .filter_map(|g| g.node_role.as_deref())
        .filter(|a| !a.is_empty())
        .collect();
    arns.sort_unstable();
    arns.dedup();
    Some(arns)
}

/// A role's policy documents (inline, then attached managed ones with a
/// known default version) and the attached policies whose document is unknown.
pub(crate) fn role_policies<'a>(
    cx: &Context<'a>,
    role: &'a IamRole,
) -> (Vec<NamedPolicy<'a>>, Vec<&'a str>) {
    let managed: &[ManagedPolicy] = cx.cluster.managed_policies.as_deref().unwrap_or_default();
    let mut docs: Vec<NamedPolicy> = role
        .inline_policies
        .iter()
        .map(|p| NamedPolicy {
            name: p.name.as_str(),
            document: &p.document,
        })
        .collect();
    let mut unknown = Vec::new();
    for arn in &role.attached_policy_arns {
        match managed
            .iter()
            .find(|m| &m.arn == arn)
            .and_then(|m| m.document.as_ref().map(|d: &PolicyDocument| (m, d)))
        {
            Some((m, d)) => docs.push(NamedPolicy {
                name: m.arn.as_str(),
                document: d,
            }),
            None => unknown.push(arn.as_str()),
        }
    }
    (docs, unknown)
}

/// The roles whose policies the operator's EC2 calls run under: the IRSA
/// or Pod Identity role, or (without either) the node roles.
/// `Ok(None)`: Pod Identity whose association was not read with its role.
pub(crate) fn operator_roles<'a>(
    cx: &Context<'a>,
    op: &Operator,
) -> Result<Option<(Vec<&'a IamRole>, String)>, Missing> {
    match &op.credentials {
        Credentials::Irsa { role_arn, source } => {
            let role = find_role(cx, role_arn)?;
            Ok(Some((
                vec![role],
                format!("IRSA role {role_arn} ({source})"),
            )))
        }
        Credentials::PodIdentity {
            role_arn: Some(role_arn),
            source,
        } => {
            let role = find_role(cx, role_arn)?;
            Ok(Some((
                vec![role],
                format!("EKS Pod Identity role {role_arn} ({source})"),
            )))
        }
        Credentials::PodIdentity { role_arn: None, .. } => Ok(None),
        Credentials::NodeRole { source } => {
            let Some(arns) = node_role_arns(cx) else {
                return Err(Missing::new(
                    "the node role the operator falls back to (no IRSA annotation)",
                    "aws eks describe-nodegroup --cluster-name CLUSTER --nodegroup-name NAME > nodegroup.json",
                ));
            };
            if arns.is_empty() {
                return Err(Missing::new(
                    "the node role the operator falls back to: no node group names a nodeRole",
                    "aws eks describe-nodegroup --cluster-name CLUSTER --nodegroup-name NAME > nodegroup.json",
                ));
            }
            let mut roles = Vec::new();
            for arn in arns {
                roles.push(find_role(cx, arn)?);
            }
            Ok(Some((roles, format!("node instance role ({source})"))))
        }
    }
}

/// The operator's IRSA role (with a trust policy) in ENI mode; `Ok(None)`
/// when the IAM rules do not apply or the operator does not use IRSA.
pub(crate) fn irsa_role<'c, 'a>(
    cx: &'c Context<'a>,
) -> Result<Option<(&'c Operator, &'a IamRole, String)>, Missing> {
    if !eni_mode(cx)? {
        return Ok(None);
    }
    let op = operator(cx)?;
    let Credentials::Irsa { role_arn, source } = &op.credentials else {
        return Ok(None);
    };
    let role = find_role(cx, role_arn)?;
    if role.trust_policy.is_none() {
        return Err(Missing::new(
            format!("the trust policy of IAM role {}", role.name),
            inputs::IAM,
        ));
    }
    let source = source.clone();
    Ok(Some((op, role, source)))
}

#[cfg(test)]
mod tests {
    use super::super::ver::testkit::*;
    use super::*;
    use crate::rules::testing::{context, options};
    use serde_json::json;

    #[test]
    fn eni_mode_detection() {
        let k = knowledge();
        let o = options("2026-11-26");
        let eni = typed_cluster(vec![agent_ds("1.16.5"), config_map(json!({"ipam": "eni"}))]);
        let cx = context(&eni, &k, &o);
        assert_eq!(eni_mode(&cx), Ok(true));
        let pool = typed_cluster(vec![
            agent_ds("1.16.5"),
            config_map(json!({"ipam": "cluster-pool"})),
        ]);
        let cx = context(&pool, &k, &o);
        assert_eq!(eni_mode(&cx), Ok(false));
        let default = typed_cluster(vec![
            agent_ds("1.16.5"),
            config_map(json!({"tunnel-protocol": "vxlan"})),
        ]);
        let cx = context(&default, &k, &o);
        assert_eq!(eni_mode(&cx), Ok(false));
        let unknown = typed_cluster(vec![agent_ds("1.16.5")]);
        let cx = context(&unknown, &k, &o);
        assert!(eni_mode(&cx).is_err());
    }

    #[test]
    fn operator_credentials() {
        let k = knowledge();
        let o = options("2026-11-26");
        let sa = |annotations: serde_json::Value| json!({"kind": "ServiceAccount", "metadata": {"name": "cilium-operator", "namespace": "kube-system", "annotations": annotations}});
        let c = typed_cluster(vec![sa(
            json!({IRSA_ANNOTATION: "arn:aws:iam::111122223333:role/cilium-operator"}),
        )]);
        let cx = context(&c, &k, &o);
        let op = operator(&cx).unwrap();
        assert!(
            matches!(op.credentials, Credentials::Irsa { ref role_arn, .. } if role_arn == "arn:aws:iam::111122223333:role/cilium-operator")
        );
        assert_eq!(
            op.subject(),
            "system:serviceaccount:kube-system:cilium-operator"
        );

        let c = typed_cluster(vec![sa(json!({}))]);
        let cx = context(&c, &k, &o);
        assert!(matches!(
            operator(&cx).unwrap().credentials,
            Credentials::NodeRole { .. }
        ));

        // Custom ServiceAccount name from the Deployment.
        let c = typed_cluster(vec![operator_deploy(
            "quay.io/cilium/operator-aws:v1.16.5",
            "cilium-op",
        )]);
        let cx = context(&c, &k, &o);
        assert!(operator(&cx)
            .unwrap_err()
            .missing
            .contains("ServiceAccount kube-system/cilium-op"));

        // Pod Identity env on the operator pod.
        let pod = json!({"kind": "Pod", "metadata": {"name": "cilium-operator-6d9f-abcde", "namespace": "kube-system", "labels": {"io.cilium/app": "operator"}},
            "spec": {"containers": [{"name": "cilium-operator", "image": "x", "env": [{"name": "AWS_CONTAINER_CREDENTIALS_FULL_URI", "value": "http://169.254.170.23/v1/credentials"}]}]}});
        let c = typed_cluster(vec![pod]);
        let cx = context(&c, &k, &o);
        assert!(matches!(
            operator(&cx).unwrap().credentials,
            Credentials::PodIdentity { .. }
        ));

        // An EKS Pod Identity association (describe-pod-identity-association),
        // with its role: the role the IAM rules read.
        let mut c = typed_cluster(vec![sa(json!({}))]);
        c.pod_identity_associations = Some(vec![crate::model::PodIdentityAssociation {
            namespace: "kube-system".into(),
            service_account: "cilium-operator".into(),
            role_arn: Some("arn:aws:iam::111122223333:role/cilium-pi".into()),
            ..Default::default()
        }]);
        let cx = context(&c, &k, &o);
        assert!(
            matches!(operator(&cx).unwrap().credentials, Credentials::PodIdentity { role_arn: Some(ref r), .. } if r == "arn:aws:iam::111122223333:role/cilium-pi")
        );

        // Helm eni.iamRole.
        let mut c = typed_cluster(vec![]);
        c.helm_values =
            Some(json!({"eni": {"enabled": true, "iamRole": "arn:aws:iam::111122223333:role/x"}}));
        let cx = context(&c, &k, &o);
        assert!(
            matches!(operator(&cx).unwrap().credentials, Credentials::Irsa { ref source, .. } if source == "Helm value eni.iamRole")
        );
    }

    #[test]
    fn arns() {
        assert_eq!(
            role_name("arn:aws:iam::111122223333:role/eks/cilium-operator"),
            "cilium-operator"
        );
        assert_eq!(
            arn_account("arn:aws:iam::111122223333:role/x"),
            Some("111122223333")
        );
        assert_eq!(arn_account("arn:aws:iam:::policy/x"), None);
    }
}
