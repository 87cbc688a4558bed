//! IAM, from `aws iam …` (CLI) and boto3/placebo recordings: roles with
//! their trust, inline and attached policies; managed policies with their
//! default version's document; OIDC providers.
//!
//! Two outputs do not say whom they belong to: `list-attached-role-policies`
//! (no role name) and `get-policy-version` (no policy ARN). They are kept
//! aside and attached only when that is unambiguous once every input is
//! loaded, else listed as skipped with the reason:
//! - attached policies go to the role the file names (`RoleName` next to
//!   `AttachedPolicies`), else to the only role known;
//! - a policy version goes to the policy the file names (`PolicyArn`), else
//!   to the only attached policy ARN that has no document yet.
//!
//! Roles are merged by name (get-role, get-role-policy and the account
//! authorization details may each describe the same role); a role known only
//! from get-role-policy has an empty ARN.

use std::collections::{BTreeMap, BTreeSet};

use serde::Deserialize;
use serde_json::Value;

use super::shapes::{aws_shape, Doc, Fail};
use super::tally::Tally;
use crate::findings::SkippedInput;
use crate::model::kube::null_default;
use crate::model::{
    extend, Cluster, IamRole, InlinePolicy, ManagedPolicy, PolicyDocument, Statement,
};

#[derive(Debug, Default)]
pub(super) struct IamParts {
    roles: BTreeMap<String, IamRole>,
    roles_seen: bool,
    policies: BTreeMap<String, ManagedPolicy>,
    policies_seen: bool,
    oidc: Option<BTreeSet<String>>,
    /// list-attached-role-policies outputs naming no role: (source, ARNs).
    unowned_attachments: Vec<(String, Vec<String>)>,
    /// get-policy-version outputs naming no policy: (source, document).
    unowned_versions: Vec<(String, PolicyDocument)>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Role {
    role_name: String,
    #[serde(default)]
    arn: Option<String>,
    #[serde(default)]
    assume_role_policy_document: Option<Value>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Inline {
    policy_name: String,
    policy_document: Value,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Attached {
    policy_arn: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Version {
    #[serde(default)]
    document: Option<Value>,
    #[serde(default)]
    version_id: Option<String>,
    #[serde(default)]
    is_default_version: Option<bool>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RoleDetail {
    #[serde(flatten)]
    role: Role,
    #[serde(default, deserialize_with = "null_default")]
    role_policy_list: Vec<Inline>,
    #[serde(default, deserialize_with = "null_default")]
    attached_managed_policies: Vec<Attached>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct PolicyDetail {
    #[serde(default)]
    policy_name: String,
    arn: String,
    #[serde(default)]
    default_version_id: Option<String>,
    #[serde(default, deserialize_with = "null_default")]
    policy_version_list: Vec<Version>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Provider {
    arn: String,
}

fn invalid(what: &str, why: String) -> Fail {
    Fail::Invalid(format!("{what}: {why}"))
}

/// The last path segment of an ARN (`arn:aws:iam::1:policy/x/Name` → `Name`).
fn arn_name(arn: &str) -> &str {
    arn.rsplit(['/', ':']).next().unwrap_or(arn)
}

impl IamParts {
    fn role(&mut self, name: &str) -> &mut IamRole {
        self.roles_seen = true;
        self.roles
            .entry(name.to_string())
            .or_insert_with(|| IamRole {
                name: name.to_string(),
                ..IamRole::default()
            })
    }

    fn add_role(&mut self, role: Role, what: &str) -> Result<(), Fail> {
        let trust = role
            .assume_role_policy_document
            .as_ref()
            .filter(|d| !d.is_null())
            .map(|d| {
                policy_document(d)
                    .map_err(|e| invalid(what, format!("AssumeRolePolicyDocument: {e}")))
            })
            .transpose()?;
        let entry = self.role(&role.role_name);
        if let Some(arn) = role.arn.filter(|a| !a.is_empty()) {
            entry.arn = arn;
        }
        if trust.is_some() {
            entry.trust_policy = trust;
        }
        Ok(())
    }

    fn add_inline(&mut self, role: &str, inline: Inline, what: &str) -> Result<(), Fail> {
        let document = policy_document(&inline.policy_document)
            .map_err(|e| invalid(what, format!("PolicyDocument: {e}")))?;
        let policies = &mut self.role(role).inline_policies;
        policies.retain(|p| p.name != inline.policy_name);
        policies.push(InlinePolicy {
            name: inline.policy_name,
            document,
        });
        Ok(())
    }

    fn attach(&mut self, role: &str, arns: impl IntoIterator<Item = String>) {
        let attached = &mut self.role(role).attached_policy_arns;
        for arn in arns {
            if !attached.contains(&arn) {
                attached.push(arn);
            }
        }
    }

    fn add_policy(&mut self, arn: String, name: String, document: Option<PolicyDocument>) {
        self.policies_seen = true;
        let name = if name.is_empty() {
            arn_name(&arn).to_string()
        } else {
            name
        };
        let entry = self.policies.entry(arn.clone()).or_insert(ManagedPolicy {
            name,
            arn,
            document: None,
        });
        if document.is_some() {
            entry.document = document;
        }
    }

    /// Attach what was kept aside, then move everything into the model.
    pub(super) fn finish(mut self, cluster: &mut Cluster, skipped: &mut Vec<SkippedInput>) {
        for (source, arns) in std::mem::take(&mut self.unowned_attachments) {
            if self.roles.len() == 1 {
                let only = self.roles.keys().next().cloned().unwrap_or_default();
                self.attach(&only, arns);
            } else {
                skipped.push(SkippedInput {
                    path: source,
                    reason: format!(
                        "list-attached-role-policies output names no role and {} roles are known: \
                         whose policies these are is ambiguous (add \"RoleName\" to the file, or \
                         load it with its role's get-role output only)",
                        self.roles.len()
                    ),
                });
            }
        }
        for (source, document) in std::mem::take(&mut self.unowned_versions) {
            let without_document: BTreeSet<&String> = self
                .roles
                .values()
                .flat_map(|r| &r.attached_policy_arns)
                .filter(|arn| self.policies.get(*arn).is_none_or(|p| p.document.is_none()))
                .collect();
            if without_document.len() == 1 {
                let arn = without_document
                    .into_iter()
                    .next()
                    .cloned()
                    .unwrap_or_default();
                self.add_policy(arn, String::new(), Some(document));
            } else {
                skipped.push(SkippedInput {
                    path: source,
                    reason: format!(
                        "get-policy-version output names no policy and {} attached policies \
                         lack a document: which policy it belongs to is ambiguous (add \
                         \"PolicyArn\" to the file)",
                        without_document.len()
                    ),
                });
            }
        }
        if self.roles_seen {
            extend(&mut cluster.iam_roles, self.roles.into_values());
        }
        if self.policies_seen {
            extend(&mut cluster.managed_policies, self.policies.into_values());
        }
        if let Some(oidc) = self.oidc {
            extend(&mut cluster.oidc_providers, oidc);
        }
    }
}

/// Recognise an IAM output; false when the document is none of them.
pub(super) fn recognise<D: Doc>(
    iam: &mut IamParts,
    tally: &mut Tally,
    source: &str,
    doc: &D,
) -> Result<bool, Fail> {
    if aws_shape(doc, &["Role"]) {
        let role: Role = doc
            .field("Role")?
            .ok_or_else(|| invalid("get-role", "Role is null".into()))?;
        iam.add_role(role, "get-role")?;
    } else if doc.has("PolicyDocument")
        && doc.has("RoleName")
        && aws_shape(doc, &["RoleName", "PolicyName", "PolicyDocument"])
    {
        let role: String = doc.field("RoleName")?.unwrap_or_default();
        let inline: Inline = doc.parse()?;
        iam.add_inline(&role, inline, "get-role-policy")?;
    } else if doc.has("AttachedPolicies") && aws_shape(doc, &["AttachedPolicies", "RoleName"]) {
        let attached: Option<Vec<Attached>> = doc.field("AttachedPolicies")?;
        let arns = attached
            .into_iter()
            .flatten()
            .map(|a| a.policy_arn)
            .collect();
        match doc.field::<String>("RoleName")? {
            Some(role) => iam.attach(&role, arns),
            None => iam.unowned_attachments.push((source.to_string(), arns)),
        }
    } else if doc.has("PolicyVersion") && aws_shape(doc, &["PolicyVersion", "PolicyArn"]) {
        let version: Version = doc
            .field("PolicyVersion")?
            .ok_or_else(|| invalid("get-policy-version", "PolicyVersion is null".into()))?;
        if version.is_default_version == Some(false) {
            tally.note(format!(
                "get-policy-version of a version that is not the default ({}): not in effect",
                version.version_id.as_deref().unwrap_or("?")
            ));
            return Ok(true);
        }
        let document = version
            .document
            .as_ref()
            .map(policy_document)
            .transpose()
            .map_err(|e| invalid("get-policy-version", format!("Document: {e}")))?
            .unwrap_or_default();
        match doc.field::<String>("PolicyArn")? {
            Some(arn) => iam.add_policy(arn, String::new(), Some(document)),
            None => iam.unowned_versions.push((source.to_string(), document)),
        }
    } else if [
        "RoleDetailList",
        "UserDetailList",
        "GroupDetailList",
        "Policies",
    ]
    .iter()
    .any(|k| doc.has(k))
    {
        authorization_details(iam, doc)?;
    } else if aws_shape(doc, &["OpenIDConnectProviderList"]) {
        let providers: Option<Vec<Provider>> = doc.field("OpenIDConnectProviderList")?;
        iam.oidc
            .get_or_insert_with(BTreeSet::new)
            .extend(providers.into_iter().flatten().map(|p| p.arn));
    } else {
        return Ok(false);
    }
    tally.used += 1;
    Ok(true)
}

/// `get-account-authorization-details`: roles in full, managed policies
/// with only their default version (the one in effect).
fn authorization_details<D: Doc>(iam: &mut IamParts, doc: &D) -> Result<(), Fail> {
    let what = "get-account-authorization-details";
    if let Some(roles) = doc.field::<Vec<RoleDetail>>("RoleDetailList")? {
        iam.roles_seen = true;
        for detail in roles {
            let name = detail.role.role_name.clone();
            iam.add_role(detail.role, what)?;
            for inline in detail.role_policy_list {
                iam.add_inline(&name, inline, what)?;
            }
            iam.attach(
                &name,
                detail
                    .attached_managed_policies
                    .into_iter()
                    .map(|a| a.policy_arn),
            );
        }
    }
    if let Some(policies) = doc.field::<Vec<PolicyDetail>>("Policies")? {
        iam.policies_seen = true;
        for policy in policies {
            let default = policy.policy_version_list.iter().find(|v| {
                v.is_default_version == Some(true)
                    || (v.version_id.is_some() && v.version_id == policy.default_version_id)
            });
            let document = default
                .and_then(|v| v.document.as_ref())
                .map(|d| {
                    policy_document(d)
                        .map_err(|e| invalid(what, format!("policy {}: {e}", policy.arn)))
                })
                .transpose()?;
            iam.add_policy(policy.arn, policy.policy_name, document);
        }
    }
    Ok(())
}

/// Decode `%XX` escapes (IAM returns some documents URL-encoded).
fn percent_decode(s: &str) -> Result<String, String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = |b: Option<&u8>| b.and_then(|b| (*b as char).to_digit(16));
            match (hex(bytes.get(i + 1)), hex(bytes.get(i + 2))) {
                (Some(hi), Some(lo)) => out.push((hi * 16 + lo) as u8),
                _ => return Err(format!("invalid URL escape at byte {i}")),
            }
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| "URL-decoded text is not UTF-8".to_string())
}

/// A policy document given as an object, a JSON string or a URL-encoded
/// JSON string.
pub(crate) fn policy_document(value: &Value) -> Result<PolicyDocument, String> {
    let decoded;
    let value = match value {
        Value::String(text) => {
            let text = text.trim();
            let json = if text.starts_with('{') {
                text.to_string()
            } else {
                percent_decode(text)?
            };
            decoded = serde_json::from_str::<Value>(&json)
                .map_err(|e| format!("not a JSON policy document: {e}"))?;
            &decoded
        }
        other => other,
    };
    let Some(object) = value.as_object() else {
        return Err("a policy document must be an object".into());
    };
    let statements = match object.get("Statement") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(list)) => list.iter().map(statement).collect::<Result<_, _>>()?,
        Some(single @ Value::Object(_)) => vec![statement(single)?],
        Some(_) => return Err("Statement must be an object or a list".into()),
    };
    Ok(PolicyDocument { statements })
}

/// A string, or a list of strings; numbers and booleans (seen in
/// conditions) become their text.
fn strings(value: Option<&Value>, field: &str) -> Result<Vec<String>, String> {
    fn one(v: &Value, field: &str) -> Result<String, String> {
        match v {
            Value::String(s) => Ok(s.clone()),
            Value::Bool(b) => Ok(b.to_string()),
            Value::Number(n) => Ok(n.to_string()),
            _ => Err(format!("{field}: expected a string or a list of strings")),
        }
    }
    match value {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(list)) => list.iter().map(|v| one(v, field)).collect(),
        Some(v) => Ok(vec![one(v, field)?]),
    }
}

fn statement(value: &Value) -> Result<Statement, String> {
    let Some(s) = value.as_object() else {
        return Err("each Statement must be an object".into());
    };
    let principals = match s.get("Principal") {
        None | Some(Value::Null) => BTreeMap::new(),
        Some(Value::String(star)) => BTreeMap::from([(star.clone(), vec![star.clone()])]),
        Some(Value::Object(by_type)) => by_type
            .iter()
            .map(|(kind, v)| Ok((kind.clone(), strings(Some(v), "Principal")?)))
            .collect::<Result<_, String>>()?,
        Some(_) => return Err("Principal must be \"*\" or an object".into()),
    };
    let conditions = match s.get("Condition") {
        None | Some(Value::Null) => BTreeMap::new(),
        Some(Value::Object(operators)) => operators
            .iter()
            .map(|(op, keys)| {
                let Some(keys) = keys.as_object() else {
                    return Err(format!("Condition {op} must map keys to values"));
                };
                let keys = keys
                    .iter()
                    .map(|(k, v)| Ok((k.clone(), strings(Some(v), "Condition")?)))
                    .collect::<Result<_, String>>()?;
                Ok((op.clone(), keys))
            })
            .collect::<Result<_, String>>()?,
        Some(_) => return Err("Condition must be an object".into()),
    };
    Ok(Statement {
        effect_allow: s.get("Effect").and_then(Value::as_str) == Some("Allow"),
        actions: strings(s.get("Action"), "Action")?,
        not_actions: strings(s.get("NotAction"), "NotAction")?,
        resources: strings(s.get("Resource"), "Resource")?,
        principals,
        conditions,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn documents_as_objects_json_strings_and_url_encoded() {
        let object = json!({"Version": "2012-10-17", "Statement": {"Effect": "Allow",
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Principal": {"Federated": "arn:aws:iam::1:oidc-provider/oidc.eks.x/id/ABC"},
            "Condition": {"StringEquals": {"oidc.eks.x/id/ABC:sub": "system:serviceaccount:kube-system:cilium-operator",
                                            "oidc.eks.x/id/ABC:aud": ["sts.amazonaws.com"]},
                          "Bool": {"aws:SecureTransport": true}}}});
        let from_object = policy_document(&object).unwrap();
        let as_string = Value::String(object.to_string());
        assert_eq!(policy_document(&as_string).unwrap(), from_object);
        let encoded: String = object
            .to_string()
            .bytes()
            .map(|b| match b {
                b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'.' => {
                    (b as char).to_string()
                }
                _ => format!("%{b:02X}"),
            })
            .collect();
        assert_eq!(
            policy_document(&Value::String(encoded)).unwrap(),
            from_object
        );

        let s = &from_object.statements[0];
        assert!(s.effect_allow);
        assert_eq!(s.actions, ["sts:AssumeRoleWithWebIdentity"]);
        assert_eq!(s.principals["Federated"].len(), 1);
        assert_eq!(
            s.conditions["StringEquals"]["oidc.eks.x/id/ABC:sub"],
            ["system:serviceaccount:kube-system:cilium-operator"]
        );
        assert_eq!(s.conditions["Bool"]["aws:SecureTransport"], ["true"]);
    }

    #[test]
    fn principal_star_and_lists() {
        let doc = policy_document(&json!({"Statement": [
            {"Effect": "Deny", "Principal": "*", "NotAction": ["s3:*", "ec2:*"], "Resource": "*"},
            {"Effect": "Allow", "Principal": {"AWS": "*", "Service": ["ec2.amazonaws.com"]}}]}))
        .unwrap();
        assert!(!doc.statements[0].effect_allow);
        assert_eq!(doc.statements[0].principals["*"], ["*"]);
        assert_eq!(doc.statements[0].not_actions, ["s3:*", "ec2:*"]);
        assert_eq!(doc.statements[0].resources, ["*"]);
        assert_eq!(doc.statements[1].principals["AWS"], ["*"]);
    }

    #[test]
    fn rejects_what_is_not_a_policy() {
        assert!(policy_document(&json!("%7B%ZZ")).is_err());
        assert!(policy_document(&json!("%7B%22a")).is_err());
        assert!(policy_document(&json!([1])).is_err());
        assert!(policy_document(&json!({"Statement": "x"})).is_err());
        assert!(policy_document(&json!({"Statement": [{"Action": {"a": 1}}]})).is_err());
        assert_eq!(
            arn_name("arn:aws:iam::aws:policy/AmazonEKS_CNI_Policy"),
            "AmazonEKS_CNI_Policy"
        );
    }
}
