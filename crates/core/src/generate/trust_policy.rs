//! The trust policy of the cilium-operator's IAM role, exactly as the EKS
//! user guide writes it (`eks-iam.json`): IRSA (`StringEquals` on the
//! issuer's `:sub` and `:aud`) or EKS Pod Identity; and the AWS CLI
//! commands that create the role and bind it to the operator.

use serde_json::Value;

use super::{GenerateError, OPERATOR};
use crate::knowledge::Knowledge;

/// The Kubernetes ServiceAccount the role is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceAccount {
    pub namespace: String,
    pub name: String,
}

impl ServiceAccount {
    /// Both names must be valid Kubernetes names.
    pub fn new(namespace: &str, name: &str) -> Result<ServiceAccount, GenerateError> {
        if !is_dns_label(namespace) {
            return Err(GenerateError(format!(
                "--namespace: {namespace:?} is not a Kubernetes namespace name \
                 (lower-case letters, digits and '-', at most 63)"
            )));
        }
        if !is_dns_subdomain(name) {
            return Err(GenerateError(format!(
                "--service-account: {name:?} is not a ServiceAccount name \
                 (lower-case letters, digits, '-' and '.', at most 253)"
            )));
        }
        Ok(ServiceAccount {
            namespace: namespace.to_string(),
            name: name.to_string(),
        })
    }
}

fn is_dns_label(s: &str) -> bool {
    (1..=63).contains(&s.len())
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

fn is_dns_subdomain(s: &str) -> bool {
    s.len() <= 253 && s.split('.').all(is_dns_label)
}

/// The IAM OIDC provider name of a cluster issuer URL: the URL without
/// `https://` (the guide's `$oidc_provider`).
pub fn oidc_provider(issuer: &str) -> Result<String, GenerateError> {
    let hint = "want the cluster's OIDC issuer URL, such as \
                https://oidc.eks.us-west-2.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE \
                (aws eks describe-cluster --name NAME --query cluster.identity.oidc.issuer --output text)";
    let bad = |why: &str| GenerateError(format!("--cluster-oidc-issuer {issuer:?}: {why}; {hint}"));
    let rest = issuer
        .strip_prefix("https://")
        .ok_or_else(|| bad("not an https:// URL"))?;
    let rest = rest.strip_suffix('/').unwrap_or(rest);
    let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
    let host_ok = host.contains('.')
        && host
            .split('.')
            .all(|l| !l.is_empty() && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'));
    if !host_ok {
        return Err(bad("no valid host name"));
    }
    let path_ok = path.split('/').all(|seg| {
        seg.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
    }) && (path.is_empty() || path.split('/').all(|seg| !seg.is_empty()));
    if !path_ok {
        return Err(bad("the path holds characters an issuer URL has not"));
    }
    Ok(rest.to_string())
}

/// A 12-digit AWS account id.
pub fn account_id(account: &str) -> Result<&str, GenerateError> {
    if account.len() == 12 && account.chars().all(|c| c.is_ascii_digit()) {
        Ok(account)
    } else {
        Err(GenerateError(format!(
            "--account {account:?}: an AWS account id is 12 digits"
        )))
    }
}

/// An AWS partition name such as `aws`, `aws-cn` or `aws-us-gov`.
pub fn partition(name: &str) -> Result<&str, GenerateError> {
    let ok = name == "aws"
        || name.strip_prefix("aws-").is_some_and(|rest| {
            rest.split('-')
                .all(|w| !w.is_empty() && w.chars().all(|c| c.is_ascii_lowercase()))
        });
    if ok {
        Ok(name)
    } else {
        Err(GenerateError(format!(
            "--partition {name:?}: an AWS partition is `aws` or `aws-<name>` (aws-cn, aws-us-gov)"
        )))
    }
}

/// The guide's IRSA trust policy for `sa`, trusted through `issuer`.
pub fn irsa(
    knowledge: &Knowledge,
    issuer: &str,
    account: &str,
    partition_name: &str,
    sa: &ServiceAccount,
) -> Result<Value, GenerateError> {
    let provider = oidc_provider(issuer)?;
    let account = account_id(account)?;
    let arn_prefix = format!("arn:{}:", partition(partition_name)?);
    let fill = |s: &str| {
        s.replace("$oidc_provider", &provider)
            .replace("$account_id", account)
            .replace("$namespace", &sa.namespace)
            .replace("$service_account", &sa.name)
            .replacen("arn:aws:", &arn_prefix, 1)
    };
    Ok(substitute(
        &knowledge.eks_iam.irsa_trust_policy_template,
        &fill,
    ))
}

/// The guide's EKS Pod Identity trust policy (it names no account or
/// ServiceAccount: the association does).
pub fn pod_identity(knowledge: &Knowledge) -> Value {
    knowledge.eks_iam.pod_identity_trust_policy.clone()
}

/// `value` with `fill` applied to every string and object key.
fn substitute(value: &Value, fill: &dyn Fn(&str) -> String) -> Value {
    match value {
        Value::String(s) => Value::String(fill(s)),
        Value::Array(items) => Value::Array(items.iter().map(|v| substitute(v, fill)).collect()),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (fill(k), substitute(v, fill)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// How the role reaches the operator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Binding {
    /// IRSA: the role ARN is known from the account and partition.
    Irsa { account: String, partition: String },
    /// EKS Pod Identity: an association in this cluster.
    PodIdentity { cluster_name: String },
}

/// The AWS CLI commands that create the role from `trust-policy.json` and
/// `operator-policy.json` and bind it to `sa`.
pub fn setup_commands(
    knowledge: &Knowledge,
    role_name: &str,
    sa: &ServiceAccount,
    binding: &Binding,
) -> Result<String, GenerateError> {
    if !is_role_name(role_name) {
        return Err(GenerateError(format!(
            "--role-name {role_name:?}: an IAM role name has 1 to 64 letters, digits and +=,.@_-"
        )));
    }
    let mut out = String::from(
        "# Save the two policies first:\n\
         #   eks-cilium-doctor generate trust-policy ... > trust-policy.json\n\
         #   eks-cilium-doctor generate iam-policy --cilium X.Y ... > operator-policy.json\n",
    );
    if matches!(binding, Binding::Irsa { .. }) {
        out.push_str(
            "# IRSA needs the IAM OIDC provider of the cluster's issuer (IAM005):\n\
             aws iam list-open-id-connect-providers\n",
        );
    }
    out.push_str(&format!(
        "aws iam create-role --role-name {role_name} --assume-role-policy-document file://trust-policy.json\n\
         aws iam put-role-policy --role-name {role_name} --policy-name {OPERATOR}-eni --policy-document file://operator-policy.json\n"
    ));
    let ns = &sa.namespace;
    match binding {
        Binding::Irsa {
            account,
            partition: p,
        } => {
            let arn = format!(
                "arn:{}:iam::{}:role/{role_name}",
                partition(p)?,
                account_id(account)?
            );
            let annotation = &knowledge.eks_iam.irsa_service_account_annotation;
            out.push_str(&format!(
                "# Annotate the operator's ServiceAccount ({annotation}) through the chart\n\
                 # (Helm value eni.iamRole; `generate helm-values --operator-role-arn` writes it):\n\
                 helm upgrade cilium cilium/cilium --namespace {ns} --reuse-values --set eni.iamRole={arn}\n"
            ));
        }
        Binding::PodIdentity { cluster_name } => {
            check_cluster_name(cluster_name)?;
            // aws/addons.json: "The Amazon EKS add-on name is `eks-pod-identity-agent`".
            out.push_str(&format!(
                "# Pod Identity needs the EKS Pod Identity Agent on the nodes; add it unless it is there:\n\
                 aws eks create-addon --cluster-name {cluster_name} --addon-name eks-pod-identity-agent\n\
                 aws eks create-pod-identity-association --cluster-name {cluster_name} --namespace {ns} \
                 --service-account {sa_name} --role-arn \"$(aws iam get-role --role-name {role_name} --query Role.Arn --output text)\"\n",
                sa_name = sa.name
            ));
        }
    }
    out.push_str(&format!(
        "# Restart the operator so that it picks up the new credentials:\n\
         kubectl -n {ns} rollout restart deployment/{OPERATOR}\n"
    ));
    Ok(out)
}

fn is_role_name(s: &str) -> bool {
    (1..=64).contains(&s.len())
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "+=,.@_-".contains(c))
}

/// An EKS cluster name: 1 to 100 letters, digits, '-' and '_', starting
/// with a letter or digit (so it is safe in the printed commands too).
pub fn check_cluster_name(name: &str) -> Result<(), GenerateError> {
    let ok = (1..=100).contains(&name.len())
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if ok {
        Ok(())
    } else {
        Err(GenerateError(format!(
            "--cluster-name {name:?}: an EKS cluster name has 1 to 100 letters, digits, '-' and '_'"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const ISSUER: &str =
        "https://oidc.eks.us-west-2.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE";

    fn k() -> &'static Knowledge {
        Knowledge::embedded()
    }

    fn operator_sa() -> ServiceAccount {
        ServiceAccount::new("kube-system", "cilium-operator").unwrap()
    }

    #[test]
    fn irsa_fills_the_guide_template() {
        let policy = irsa(k(), ISSUER, "111122223333", "aws", &operator_sa()).unwrap();
        let provider = "oidc.eks.us-west-2.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE";
        assert_eq!(
            policy,
            json!({
                "Statement": [{
                    "Action": "sts:AssumeRoleWithWebIdentity",
                    "Condition": {"StringEquals": {
                        format!("{provider}:aud"): "sts.amazonaws.com",
                        format!("{provider}:sub"): "system:serviceaccount:kube-system:cilium-operator",
                    }},
                    "Effect": "Allow",
                    "Principal": {"Federated": format!("arn:aws:iam::111122223333:oidc-provider/{provider}")},
                }],
                "Version": "2012-10-17",
            })
        );
        let cn = irsa(
            k(),
            &format!("{ISSUER}/"),
            "111122223333",
            "aws-cn",
            &operator_sa(),
        )
        .unwrap();
        assert_eq!(
            cn["Statement"][0]["Principal"]["Federated"],
            format!("arn:aws-cn:iam::111122223333:oidc-provider/{provider}")
        );
    }

    #[test]
    fn pod_identity_is_the_guide_policy() {
        let policy = pod_identity(k());
        assert_eq!(
            policy["Statement"][0]["Principal"]["Service"],
            "pods.eks.amazonaws.com"
        );
        assert_eq!(
            policy["Statement"][0]["Action"],
            json!(["sts:AssumeRole", "sts:TagSession"])
        );
    }

    #[test]
    fn bad_inputs_are_refused_with_the_flag_named() {
        for bad in [
            "http://oidc.eks.us-west-2.amazonaws.com/id/X",
            "oidc.eks.us-west-2.amazonaws.com/id/X",
            "https://",
            "https://localhost/id/X",
            "https://oidc.eks.us-west-2.amazonaws.com/id/X?x=1",
            "https://oidc.eks.us-west-2.amazonaws.com//X",
            "https://oidc eks.amazonaws.com/id/X",
        ] {
            let err = oidc_provider(bad).unwrap_err();
            assert!(err.0.starts_with("--cluster-oidc-issuer"), "{bad}: {err}");
        }
        for bad in ["11112222333", "1111222233334", "11112222333a", ""] {
            assert!(
                account_id(bad).unwrap_err().0.contains("12 digits"),
                "{bad}"
            );
        }
        for bad in ["AWS", "azure", "aws-", "aws_cn"] {
            assert!(partition(bad).is_err(), "{bad}");
        }
        assert!(ServiceAccount::new("Kube-System", "x").is_err());
        assert!(ServiceAccount::new("kube-system", "bad_name").is_err());
    }

    #[test]
    fn commands_name_the_role_and_the_binding() {
        let irsa_binding = Binding::Irsa {
            account: "111122223333".into(),
            partition: "aws".into(),
        };
        let text = setup_commands(k(), "cilium-operator", &operator_sa(), &irsa_binding).unwrap();
        assert!(text.contains("aws iam create-role --role-name cilium-operator --assume-role-policy-document file://trust-policy.json"));
        assert!(text.contains("--set eni.iamRole=arn:aws:iam::111122223333:role/cilium-operator"));
        let pod = Binding::PodIdentity {
            cluster_name: "prod".into(),
        };
        let text = setup_commands(k(), "cilium-operator", &operator_sa(), &pod).unwrap();
        assert!(text.contains("aws eks create-pod-identity-association --cluster-name prod --namespace kube-system --service-account cilium-operator --role-arn"));
        assert!(setup_commands(k(), "bad role", &operator_sa(), &pod).is_err());
        let bad_cluster = Binding::PodIdentity {
            cluster_name: "a b".into(),
        };
        assert!(setup_commands(k(), "r", &operator_sa(), &bad_cluster).is_err());
    }
}
