//! IRSA trust policies: which statements let a web identity
//! (`sts:AssumeRoleWithWebIdentity`) assume the role, from which OIDC
//! provider, with which `<issuer>:sub` / `<issuer>:aud` conditions.
//!
//! Template (/work/shared/data/aws/irsa.json): Principal.Federated
//! `arn:aws:iam::ACCOUNT:oidc-provider/oidc.eks.REGION.amazonaws.com/id/ID`,
//! Condition.StringEquals `ISSUER:aud = sts.amazonaws.com` and
//! `ISSUER:sub = system:serviceaccount:NAMESPACE:SERVICE_ACCOUNT`, where
//! ISSUER is the cluster's issuer URL without `https://`.

use super::policy_eval::{glob_match, statement_covers};
use crate::model::{PolicyDocument, Statement};

pub(crate) const WEB_IDENTITY_ACTION: &str = "sts:AssumeRoleWithWebIdentity";
/// The audience EKS projects into IRSA tokens.
pub(crate) const IRSA_AUDIENCE: &str = "sts.amazonaws.com";

/// How a condition operator compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Compare {
    Equals {
        ignore_case: bool,
    },
    Like,
    /// Any other operator (negations, ARN, …): not a positive match on the value.
    Other,
}

fn compare_of(operator: &str) -> Compare {
    // Qualifiers (`ForAnyValue:`, `ForAllValues:`) and the `IfExists` suffix
    // do not change the comparison for the single-valued sub/aud keys.
    let base = operator.rsplit(':').next().unwrap_or(operator);
    let base = base.strip_suffix("IfExists").unwrap_or(base);
    match base {
        "StringEquals" => Compare::Equals { ignore_case: false },
        "StringEqualsIgnoreCase" => Compare::Equals { ignore_case: true },
        "StringLike" => Compare::Like,
        _ => Compare::Other,
    }
}

/// One positive condition on a key: operator and the accepted values (any of them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct KeyCondition {
    pub operator: String,
    pub compare: Compare,
    /// The issuer part of the key (`oidc.eks.…/id/…` of `oidc.eks.…/id/…:sub`).
    pub issuer: String,
    pub values: Vec<String>,
}

impl KeyCondition {
    fn accepts(&self, value: &str) -> bool {
        self.values.iter().any(|v| match self.compare {
            Compare::Equals { ignore_case } => {
                if ignore_case {
                    v.eq_ignore_ascii_case(value)
                } else {
                    v == value
                }
            }
            Compare::Like => glob_match(v, value, false),
            Compare::Other => false,
        })
    }

    /// Values that match more than one subject (`*` or `?` under StringLike).
    pub fn wildcard_values(&self) -> Vec<&str> {
        if self.compare != Compare::Like {
            return Vec::new();
        }
        self.values
            .iter()
            .filter(|v| v.contains('*') || v.contains('?'))
            .map(String::as_str)
            .collect()
    }
}

/// An Allow statement that lets a web identity assume the role.
#[derive(Debug, Clone)]
pub(crate) struct WebIdentityGrant {
    /// 1-based position of the statement in the trust policy.
    pub index: usize,
    /// `Principal.Federated` values (provider ARNs), or `*` for any principal.
    pub providers: Vec<String>,
    /// `:sub` conditions with a positive comparison.
    pub sub: Vec<KeyCondition>,
    /// `:aud` conditions with a positive comparison.
    pub aud: Vec<KeyCondition>,
}

/// The issuer host path an OIDC provider ARN names:
/// `arn:aws:iam::1:oidc-provider/oidc.eks.r.amazonaws.com/id/X` → `oidc.eks.r.amazonaws.com/id/X`.
pub(crate) fn provider_issuer(arn: &str) -> Option<&str> {
    arn.split_once(":oidc-provider/").map(|(_, path)| path)
}

/// The issuer URL without scheme and trailing slash, as trust policies spell it.
pub(crate) fn issuer_host_path(issuer_url: &str) -> &str {
    let s = issuer_url.trim();
    let s = s.strip_prefix("https://").unwrap_or(s);
    s.trim_end_matches('/')
}

/// Issuers compare case-insensitively in the host part; the id is kept as-is
/// by AWS, so compare the whole string case-insensitively.
pub(crate) fn same_issuer(a: &str, b: &str) -> bool {
    issuer_host_path(a).eq_ignore_ascii_case(issuer_host_path(b))
}

fn key_conditions(st: &Statement, suffix: &str) -> Vec<KeyCondition> {
    let mut out = Vec::new();
    for (operator, keys) in &st.conditions {
        for (key, values) in keys {
            let lower = key.to_ascii_lowercase();
            if let Some(issuer) = lower.strip_suffix(suffix) {
                let issuer = key[..issuer.len()].to_string();
                out.push(KeyCondition {
                    operator: operator.clone(),
                    compare: compare_of(operator),
                    issuer,
                    values: values.clone(),
                });
            }
        }
    }
    out
}

/// Every Allow statement of the trust policy that covers
/// `sts:AssumeRoleWithWebIdentity` for a federated (or any) principal.
pub(crate) fn web_identity_grants(trust: &PolicyDocument) -> Vec<WebIdentityGrant> {
    trust
        .statements
        .iter()
        .enumerate()
        .filter(|(_, st)| st.effect_allow && statement_covers(st, WEB_IDENTITY_ACTION))
        .filter_map(|(i, st)| {
            let mut providers: Vec<String> = st
                .principals
                .iter()
                .filter(|(kind, _)| kind.eq_ignore_ascii_case("Federated"))
                .flat_map(|(_, v)| v.iter().cloned())
                .collect();
            let anyone = st.principals.iter().any(|(kind, v)| {
                kind == "*" || (kind.eq_ignore_ascii_case("AWS") && v.iter().any(|x| x == "*"))
            });
            if anyone {
                providers.push("*".to_string());
            }
            if providers.is_empty() {
                return None;
            }
            Some(WebIdentityGrant {
                index: i + 1,
                providers,
                sub: key_conditions(st, ":sub")
                    .into_iter()
                    .filter(|c| c.compare != Compare::Other)
                    .collect(),
                aud: key_conditions(st, ":aud")
                    .into_iter()
                    .filter(|c| c.compare != Compare::Other)
                    .collect(),
            })
        })
        .collect()
}

impl WebIdentityGrant {
    /// The issuers this grant trusts: from the provider ARNs (`*` when any).
    pub fn issuers(&self) -> Vec<&str> {
        self.providers
            .iter()
            .map(|p| {
                if p == "*" {
                    "*"
                } else {
                    provider_issuer(p).unwrap_or(p)
                }
            })
            .collect()
    }

    /// Whether the grant is for the given issuer (a `*` principal is for every issuer).
    pub fn for_issuer(&self, issuer_url: &str) -> bool {
        self.issuers()
            .iter()
            .any(|i| *i == "*" || same_issuer(i, issuer_url))
    }

    /// `Some(true/false)`: whether the sub conditions admit `subject`;
    /// `None`: there is no sub condition (every subject is admitted).
    pub fn admits_subject(&self, subject: &str) -> Option<bool> {
        if self.sub.is_empty() {
            return None;
        }
        // Conditions of one statement are ANDed.
        Some(self.sub.iter().all(|c| c.accepts(subject)))
    }

    /// Whether some aud condition requires exactly `sts.amazonaws.com`.
    pub fn requires_sts_audience(&self) -> bool {
        self.aud.iter().any(|c| {
            matches!(c.compare, Compare::Equals { .. } | Compare::Like)
                && !c.values.is_empty()
                && c.values
                    .iter()
                    .all(|v| v.eq_ignore_ascii_case(IRSA_AUDIENCE))
        })
    }

    /// Subjects named exactly (StringEquals values, StringLike values without wildcards).
    pub fn exact_subjects(&self) -> Vec<&str> {
        self.sub
            .iter()
            .flat_map(|c| c.values.iter().map(move |v| (c, v)))
            .filter(|(c, v)| match c.compare {
                Compare::Equals { .. } => true,
                Compare::Like => !v.contains('*') && !v.contains('?'),
                Compare::Other => false,
            })
            .map(|(_, v)| v.as_str())
            .collect()
    }
}

/// `system:serviceaccount:NAMESPACE:NAME`.
pub(crate) fn service_account_subject(namespace: &str, name: &str) -> String {
    format!("system:serviceaccount:{namespace}:{name}")
}

/// The documented IRSA trust policy for one ServiceAccount (irsa.json template).
pub(crate) fn irsa_trust_policy(provider_arn: &str, issuer: &str, subject: &str) -> String {
    let issuer = issuer_host_path(issuer);
    format!(
        r#"{{
  "Version": "2012-10-17",
  "Statement": [
    {{
      "Effect": "Allow",
      "Principal": {{"Federated": "{provider_arn}"}},
      "Action": "sts:AssumeRoleWithWebIdentity",
      "Condition": {{
        "StringEquals": {{
          "{issuer}:aud": "{IRSA_AUDIENCE}",
          "{issuer}:sub": "{subject}"
        }}
      }}
    }}
  ]
}}"#
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    const ISSUER: &str =
        "https://oidc.eks.eu-west-1.amazonaws.com/id/5C1E2B3A4D5E6F708192A3B4C5D6E7F8";
    const HOST: &str = "oidc.eks.eu-west-1.amazonaws.com/id/5C1E2B3A4D5E6F708192A3B4C5D6E7F8";

    fn grant_stmt(conditions: &[(&str, &str, &[&str])]) -> Statement {
        let mut c: BTreeMap<String, BTreeMap<String, Vec<String>>> = BTreeMap::new();
        for (op, key, values) in conditions {
            c.entry(op.to_string()).or_default().insert(
                key.to_string(),
                values.iter().map(|s| s.to_string()).collect(),
            );
        }
        Statement {
            effect_allow: true,
            actions: vec!["sts:AssumeRoleWithWebIdentity".into()],
            not_actions: vec![],
            resources: vec![],
            principals: BTreeMap::from([(
                "Federated".to_string(),
                vec![format!("arn:aws:iam::111122223333:oidc-provider/{HOST}")],
            )]),
            conditions: c,
        }
    }

    #[test]
    fn documented_template_is_tight() {
        let sub = format!("{HOST}:sub");
        let aud = format!("{HOST}:aud");
        let st = grant_stmt(&[
            (
                "StringEquals",
                &sub,
                &["system:serviceaccount:kube-system:cilium-operator"],
            ),
            ("StringEquals", &aud, &["sts.amazonaws.com"]),
        ]);
        let doc = PolicyDocument {
            statements: vec![st],
        };
        let g = web_identity_grants(&doc);
        assert_eq!(g.len(), 1);
        assert!(g[0].for_issuer(ISSUER));
        assert!(!g[0].for_issuer("https://oidc.eks.us-east-1.amazonaws.com/id/OTHER"));
        assert_eq!(
            g[0].admits_subject("system:serviceaccount:kube-system:cilium-operator"),
            Some(true)
        );
        assert_eq!(
            g[0].admits_subject("system:serviceaccount:default:x"),
            Some(false)
        );
        assert!(g[0].requires_sts_audience());
        assert_eq!(
            g[0].exact_subjects(),
            vec!["system:serviceaccount:kube-system:cilium-operator"]
        );
        assert!(g[0].sub[0].wildcard_values().is_empty());
    }

    #[test]
    fn wildcards_missing_conditions_and_other_operators() {
        let sub = format!("{HOST}:sub");
        let st = grant_stmt(&[("StringLike", &sub, &["system:serviceaccount:kube-system:*"])]);
        let doc = PolicyDocument {
            statements: vec![st],
        };
        let g = web_identity_grants(&doc);
        assert_eq!(
            g[0].sub[0].wildcard_values(),
            vec!["system:serviceaccount:kube-system:*"]
        );
        assert_eq!(
            g[0].admits_subject("system:serviceaccount:kube-system:cilium-operator"),
            Some(true)
        );
        assert!(!g[0].requires_sts_audience());

        let none = PolicyDocument {
            statements: vec![grant_stmt(&[])],
        };
        let g = web_identity_grants(&none);
        assert_eq!(g[0].admits_subject("anything"), None);

        // Negative operators are not positive matches.
        let neg = PolicyDocument {
            statements: vec![grant_stmt(&[(
                "StringNotEquals",
                &sub,
                &["system:serviceaccount:x:y"],
            )])],
        };
        assert!(web_identity_grants(&neg)[0].sub.is_empty());
        // Case-insensitive condition keys, IfExists, IgnoreCase.
        let upper = format!("{}:SUB", HOST.to_uppercase());
        let st = grant_stmt(&[(
            "StringEqualsIgnoreCaseIfExists",
            &upper,
            &["SYSTEM:serviceaccount:kube-system:cilium-operator"],
        )]);
        let doc = PolicyDocument {
            statements: vec![st],
        };
        assert_eq!(
            web_identity_grants(&doc)[0]
                .admits_subject("system:serviceaccount:kube-system:cilium-operator"),
            Some(true)
        );
    }

    #[test]
    fn non_web_identity_statements_are_ignored_and_any_principal_counts() {
        let mut ec2 = grant_stmt(&[]);
        ec2.actions = vec!["sts:AssumeRole".into()];
        ec2.principals =
            BTreeMap::from([("Service".to_string(), vec!["ec2.amazonaws.com".to_string()])]);
        let mut star = grant_stmt(&[]);
        star.principals = BTreeMap::from([("*".to_string(), vec!["*".to_string()])]);
        let doc = PolicyDocument {
            statements: vec![ec2, star],
        };
        let g = web_identity_grants(&doc);
        assert_eq!(g.len(), 1);
        assert_eq!(g[0].index, 2);
        assert!(g[0].for_issuer(ISSUER));
    }

    #[test]
    fn helpers() {
        assert_eq!(issuer_host_path(ISSUER), HOST);
        assert_eq!(issuer_host_path(&format!("{ISSUER}/")), HOST);
        assert_eq!(
            provider_issuer(&format!("arn:aws:iam::111122223333:oidc-provider/{HOST}")),
            Some(HOST)
        );
        assert!(same_issuer(ISSUER, &HOST.to_lowercase()));
        let p = irsa_trust_policy(
            "arn:aws:iam::1:oidc-provider/x",
            ISSUER,
            "system:serviceaccount:a:b",
        );
        let v: serde_json::Value = serde_json::from_str(&p).unwrap();
        assert_eq!(
            v["Statement"][0]["Condition"]["StringEquals"][format!("{HOST}:sub")],
            "system:serviceaccount:a:b"
        );
    }
}
