//! IAM as infrastructure code plans it: roles with their trust and
//! policies, managed policies, OIDC providers, the IRSA ServiceAccounts and
//! EKS Pod Identity associations that bind a role to pods.
//!
//! Readers ([`super::plan`], [`super::cfn`], [`super::eksctl`]) add what
//! they find to [`IamPlan`]; [`write_dumps`] then writes it as the outputs
//! `check` reads (`get-account-authorization-details`,
//! `list-open-id-connect-providers`, `describe-pod-identity-association`,
//! ServiceAccounts), so the IAM rules evaluate the same model.
//!
//! References between resources (a policy attached to a role, a role given
//! to a ServiceAccount) are kept by the resource's key (Terraform address,
//! CloudFormation logical id, eksctl path) when the ARN or name is known
//! only after apply. A role or policy whose ARN is unknown is written with
//! an ARN naming it, `arn:aws:iam::(known after apply):role/NAME`, so the
//! evidence says what it is; a reference that cannot be followed makes the
//! documents of the role unknown (the rules needing them are *not
//! evaluated*, the reference named), never an empty policy.

use serde_json::{json, Value};

use super::{Fact, Plan, Planned};
use crate::findings::SourceLocation;
use crate::model::ObjectKey;

/// How one resource names another.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Ref {
    /// A literal ARN.
    Arn(String),
    /// A literal name (Terraform `role = "name"`).
    Name(String),
    /// The planned resource with this key (address, logical id).
    Key(String),
    /// Known only after apply; the text says what (for notes).
    Unknown(String),
}

#[derive(Debug, Clone)]
pub(crate) struct PlannedRole {
    pub key: String,
    pub name: Fact<String>,
    pub arn: Fact<String>,
    /// The trust policy document (JSON object or string).
    pub trust: Fact<Value>,
    pub planned: Planned,
}

#[derive(Debug, Clone)]
pub(crate) struct PlannedPolicy {
    pub key: String,
    pub name: Fact<String>,
    pub arn: Fact<String>,
    pub document: Fact<Value>,
}

/// A policy put on a role: inline (`name`, `document`) or attached.
#[derive(Debug, Clone)]
pub(crate) enum Grant {
    Inline { name: String, document: Fact<Value> },
    Attached(Ref),
}

/// Who gets a role's credentials.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Binding {
    /// A ServiceAccount annotated `eks.amazonaws.com/role-arn` (IRSA).
    Irsa,
    /// An EKS Pod Identity association.
    PodIdentity,
}

#[derive(Debug, Clone)]
pub(crate) struct PlannedIdentity {
    pub binding: Binding,
    pub namespace: String,
    pub service_account: String,
    pub role: Ref,
    pub planned: Planned,
}

#[derive(Debug, Clone, Default)]
pub(crate) struct IamPlan {
    pub roles: Vec<PlannedRole>,
    pub policies: Vec<PlannedPolicy>,
    /// (role, grant, where the grant is declared).
    pub grants: Vec<(Ref, Grant, String)>,
    /// Providers: the issuer URL or ARN, when known.
    pub oidc_providers: Vec<(Fact<String>, Planned)>,
    pub identities: Vec<PlannedIdentity>,
}

impl IamPlan {
    pub(crate) fn is_empty(&self) -> bool {
        self.roles.is_empty()
            && self.policies.is_empty()
            && self.grants.is_empty()
            && self.oidc_providers.is_empty()
            && self.identities.is_empty()
    }
}

/// Where an unknown ARN stands in: the account is what apply decides.
const UNKNOWN_ACCOUNT: &str = "(known after apply)";

fn arn_of(kind: &str, arn: &Fact<String>, name: &Fact<String>, key: &str) -> String {
    match (arn, name) {
        (Fact::Known(a), _) => a.clone(),
        (_, Fact::Known(n)) => format!("arn:aws:iam::{UNKNOWN_ACCOUNT}:{kind}/{n}"),
        _ => format!("arn:aws:iam::{UNKNOWN_ACCOUNT}:{kind}/{key}"),
    }
}

fn name_of(name: &Fact<String>, key: &str) -> String {
    match name {
        Fact::Known(n) => n.clone(),
        _ => key.to_string(),
    }
}

/// The last segment of an ARN (`…:role/path/name` → `name`).
fn arn_tail(arn: &str) -> &str {
    arn.rsplit('/').next().unwrap_or(arn)
}

/// A policy document as the loader will read it, or why it cannot be.
fn document(v: &Value) -> Result<Value, String> {
    crate::load::policy_document(v)?;
    Ok(match v {
        Value::String(s) if s.trim_start().starts_with('{') => {
            serde_json::from_str(s).map_err(|e| e.to_string())?
        }
        other => other.clone(),
    })
}

impl IamPlan {
    fn role_index(&self, r: &Ref) -> Option<usize> {
        match r {
            Ref::Key(k) => self.roles.iter().position(|x| &x.key == k),
            Ref::Arn(a) => self
                .roles
                .iter()
                .position(|x| x.arn.known() == Some(a))
                .or_else(|| {
                    let tail = arn_tail(a);
                    let mut by_name = self
                        .roles
                        .iter()
                        .enumerate()
                        .filter(|(_, x)| x.name.known().map(String::as_str) == Some(tail));
                    match (by_name.next(), by_name.next()) {
                        (Some((i, _)), None) => Some(i),
                        _ => None,
                    }
                }),
            Ref::Name(n) => self.roles.iter().position(|x| x.name.known() == Some(n)),
            Ref::Unknown(_) => None,
        }
    }

    /// The ARN a reference to a role resolves to, when it does.
    pub(crate) fn role_arn(&self, r: &Ref) -> Option<String> {
        if let Some(i) = self.role_index(r) {
            let x = &self.roles[i];
            return Some(arn_of("role", &x.arn, &x.name, &x.key));
        }
        match r {
            Ref::Arn(a) => Some(a.clone()),
            _ => None,
        }
    }
}

/// The files `check` would read for the planned IAM, and where each role
/// is declared. Documents that are not valid policies are noted (naming
/// the resource) and left unknown.
pub(crate) fn write_dumps(
    plan: &mut Plan,
    files: &mut Vec<(String, Vec<u8>)>,
    sources: &mut std::collections::BTreeMap<ObjectKey, SourceLocation>,
) {
    let iam = std::mem::take(&mut plan.iam);
    if iam.is_empty() {
        return;
    }
    let mut notes: Vec<(String, String)> = Vec::new();
    // Unknowns are noted for what Cilium's pods use only (a plan holds
    // roles for every add-on; the rules read the operator's).
    let cilium_roles: Vec<usize> = iam
        .identities
        .iter()
        .filter(|id| id.service_account.contains("cilium"))
        .filter_map(|id| iam.role_index(&id.role))
        .collect();
    let cilium_policies: Vec<&str> = iam
        .grants
        .iter()
        .filter(|(role, _, _)| {
            iam.role_index(role)
                .is_some_and(|i| cilium_roles.contains(&i))
        })
        .filter_map(|(_, g, _)| match g {
            Grant::Attached(Ref::Key(k)) => Some(k.as_str()),
            _ => None,
        })
        .collect();
    let cilium_irsa_roles: Vec<usize> = iam
        .identities
        .iter()
        .filter(|id| id.service_account.contains("cilium") && id.binding == Binding::Irsa)
        .filter_map(|id| iam.role_index(&id.role))
        .collect();
    let uses_irsa = iam
        .identities
        .iter()
        .any(|id| id.service_account.contains("cilium") && id.binding == Binding::Irsa);

    // Managed policies: ARN → document.
    let mut policies = Vec::new();
    let mut policy_arns: Vec<(String, String)> = Vec::new(); // key → ARN
    for p in &iam.policies {
        let noted = cilium_policies.contains(&p.key.as_str());
        let arn = arn_of("policy", &p.arn, &p.name, &p.key);
        policy_arns.push((p.key.clone(), arn.clone()));
        let mut entry = json!({
            "PolicyName": name_of(&p.name, &p.key),
            "Arn": arn,
            "DefaultVersionId": "v1",
            "PolicyVersionList": [],
        });
        match &p.document {
            Fact::Known(d) => match document(d) {
                Ok(doc) => {
                    entry["PolicyVersionList"] =
                        json!([{"Document": doc, "VersionId": "v1", "IsDefaultVersion": true}]);
                }
                Err(why) => notes.push((
                    p.key.clone(),
                    format!("{}: the policy is not a valid policy document ({why}): it is not evaluated", p.key),
                )),
            },
            Fact::Unknown if noted => notes.push((
                p.key.clone(),
                format!(
                    "{}: policy is known only after apply: the rules that need its document are not evaluated",
                    p.key
                ),
            )),
            _ => {}
        }
        policies.push(entry);
    }

    // Roles, with what is put on them.
    let mut roles: Vec<Value> = Vec::new();
    for (index, r) in iam.roles.iter().enumerate() {
        let noted = cilium_irsa_roles.contains(&index);
        let arn = arn_of("role", &r.arn, &r.name, &r.key);
        let mut entry = json!({
            "RoleName": name_of(&r.name, &r.key),
            "Arn": arn,
            "RolePolicyList": [],
            "AttachedManagedPolicies": [],
        });
        match &r.trust {
            Fact::Known(t) => match document(t) {
                Ok(doc) => entry["AssumeRolePolicyDocument"] = doc,
                Err(why) => notes.push((
                    r.planned.at.file.clone(),
                    format!("{}: the trust policy is not a valid policy document ({why}): it is not evaluated", r.key),
                )),
            },
            Fact::Unknown if noted => notes.push((
                r.planned.at.file.clone(),
                format!(
                    "{}: the trust policy is known only after apply: the rules on it are not evaluated",
                    r.key
                ),
            )),
            _ => {}
        }
        roles.push(entry);
        sources.insert(
            ObjectKey::new("IAMRole", "", &name_of(&r.name, &r.key)),
            r.planned.at.clone(),
        );
    }
    // A grant whose role cannot be followed may be on any role: each role's
    // documents are then incomplete.
    let mut unfollowed: Vec<String> = Vec::new();
    for (role, grant, at) in &iam.grants {
        let Some(i) = iam.role_index(role) else {
            if let Ref::Arn(_) | Ref::Name(_) = role {
                // A role the code does not create: not in this model.
                continue;
            }
            unfollowed.push(format!("(known after apply: the role of {at})"));
            continue;
        };
        match grant {
            Grant::Inline { name, document: d } => {
                match d {
                    Fact::Known(v) => match document(v) {
                        Ok(doc) => {
                            if let Some(list) = roles[i]["RolePolicyList"].as_array_mut() {
                                list.push(json!({"PolicyName": name, "PolicyDocument": doc}));
                            }
                        }
                        Err(why) => {
                            notes.push((at.clone(), format!("{at}: not a valid policy document ({why}): it is not evaluated")));
                            attach(
                                &mut roles[i],
                                &format!("(not a valid policy document: {at})"),
                            );
                        }
                    },
                    _ => {
                        if cilium_roles.contains(&i) {
                            notes.push((at.clone(), format!("{at}: the policy is known only after apply: the rules that need it are not evaluated")));
                        }
                        attach(&mut roles[i], &format!("(known after apply: {at})"));
                    }
                }
            }
            Grant::Attached(policy) => {
                let arn = match policy {
                    Ref::Arn(a) => Some(a.clone()),
                    Ref::Key(k) => policy_arns
                        .iter()
                        .find(|(key, _)| key == k)
                        .map(|(_, a)| a.clone()),
                    Ref::Name(n) => Some(format!("arn:aws:iam::{UNKNOWN_ACCOUNT}:policy/{n}")),
                    Ref::Unknown(_) => None,
                };
                let arn = arn.unwrap_or_else(|| format!("(known after apply: the policy of {at})"));
                attach(&mut roles[i], &arn);
            }
        }
    }
    if !unfollowed.is_empty() {
        for role in &mut roles {
            for u in &unfollowed {
                attach(role, u);
            }
        }
    }
    if !roles.is_empty() || !policies.is_empty() {
        files.push((
            "iam-authorization-details.json".into(),
            json!({"RoleDetailList": roles, "Policies": policies})
                .to_string()
                .into_bytes(),
        ));
    }

    // OIDC providers: only those whose ARN or issuer is known are listed;
    // one known only after apply leaves the list unknown.
    if !iam.oidc_providers.is_empty() {
        let known: Option<Vec<String>> = iam
            .oidc_providers
            .iter()
            .map(|(f, _)| f.known().map(|u| provider_arn(u)))
            .collect();
        match known {
            Some(arns) => files.push((
                "list-open-id-connect-providers.json".into(),
                json!({"OpenIDConnectProviderList": arns.iter().map(|a| json!({"Arn": a})).collect::<Vec<_>>()})
                    .to_string()
                    .into_bytes(),
            )),
            None if uses_irsa => {
                for (f, p) in &iam.oidc_providers {
                    if f.is_unknown() {
                        notes.push((
                            p.at.file.clone(),
                            format!("{}: the OIDC provider's issuer URL is known only after apply: the rules on it are not evaluated", p.address),
                        ));
                    }
                }
            }
            None => {}
        }
    }

    // Who the roles are for.
    let mut service_accounts = Vec::new();
    for (n, id) in iam.identities.iter().enumerate() {
        let arn = iam.role_arn(&id.role);
        match id.binding {
            Binding::Irsa => {
                let Some(arn) = arn else {
                    if !id.service_account.contains("cilium") {
                        continue;
                    }
                    notes.push((
                        id.planned.at.file.clone(),
                        format!(
                            "{}: the IAM role of ServiceAccount {}/{} is known only after apply: the rules on it are not evaluated",
                            id.planned.address, id.namespace, id.service_account
                        ),
                    ));
                    continue;
                };
                service_accounts.push(json!({
                    "apiVersion": "v1", "kind": "ServiceAccount",
                    "metadata": {"name": id.service_account, "namespace": id.namespace,
                        "annotations": {crate::facts::IRSA_ANNOTATION: arn}},
                }));
                sources.insert(
                    ObjectKey::new("ServiceAccount", &id.namespace, &id.service_account),
                    id.planned.at.clone(),
                );
            }
            Binding::PodIdentity => {
                let mut association = json!({
                    "namespace": id.namespace,
                    "serviceAccount": id.service_account,
                    "associationId": id.planned.address,
                });
                match arn {
                    Some(a) => association["roleArn"] = json!(a),
                    None if id.service_account.contains("cilium") => notes.push((
                        id.planned.at.file.clone(),
                        format!(
                            "{}: the role of the Pod Identity association for {}/{} is known only after apply: the rules on it are not evaluated",
                            id.planned.address, id.namespace, id.service_account
                        ),
                    )),
                    None => {}
                }
                files.push((
                    format!("describe-pod-identity-association-{n}.json"),
                    json!({"association": association}).to_string().into_bytes(),
                ));
            }
        }
    }
    if !service_accounts.is_empty() {
        files.push((
            "serviceaccounts.json".into(),
            json!({"apiVersion": "v1", "kind": "List", "items": service_accounts})
                .to_string()
                .into_bytes(),
        ));
    }
    for (file, note) in notes {
        plan.note(&file, note);
    }
}

fn attach(role: &mut Value, arn: &str) {
    if let Some(list) = role["AttachedManagedPolicies"].as_array_mut() {
        if !list.iter().any(|p| p["PolicyArn"] == arn) {
            list.push(json!({"PolicyArn": arn}));
        }
    }
}

/// An OIDC provider's ARN from its ARN or issuer URL (IAM names a provider
/// by its URL without the scheme: `…:oidc-provider/oidc.eks.REGION.amazonaws.com/id/X`).
fn provider_arn(url_or_arn: &str) -> String {
    if url_or_arn.starts_with("arn:") {
        return url_or_arn.to_string();
    }
    let host_path = url_or_arn
        .strip_prefix("https://")
        .unwrap_or(url_or_arn)
        .trim_end_matches('/');
    format!("arn:aws:iam::{UNKNOWN_ACCOUNT}:oidc-provider/{host_path}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn provider_arns_from_urls() {
        assert_eq!(
            provider_arn("https://oidc.eks.eu-west-3.amazonaws.com/id/ABC/"),
            "arn:aws:iam::(known after apply):oidc-provider/oidc.eks.eu-west-3.amazonaws.com/id/ABC"
        );
        assert_eq!(
            provider_arn("arn:aws:iam::1:oidc-provider/x"),
            "arn:aws:iam::1:oidc-provider/x"
        );
    }

    #[test]
    fn role_references_resolve_by_key_arn_and_name() {
        let at = SourceLocation::new("main.tf", 1);
        let planned = Planned {
            address: "aws_iam_role.op".into(),
            at,
            detail: String::new(),
        };
        let mut iam = IamPlan::default();
        iam.roles.push(PlannedRole {
            key: "aws_iam_role.op".into(),
            name: Fact::Known("cilium-operator".into()),
            arn: Fact::Unknown,
            trust: Fact::Unknown,
            planned,
        });
        let unknown_arn = "arn:aws:iam::(known after apply):role/cilium-operator";
        assert_eq!(
            iam.role_arn(&Ref::Key("aws_iam_role.op".into())).as_deref(),
            Some(unknown_arn)
        );
        assert_eq!(
            iam.role_arn(&Ref::Name("cilium-operator".into()))
                .as_deref(),
            Some(unknown_arn)
        );
        assert_eq!(
            iam.role_arn(&Ref::Arn("arn:aws:iam::1:role/cilium-operator".into()))
                .as_deref(),
            Some(unknown_arn)
        );
        assert_eq!(iam.role_arn(&Ref::Unknown("x".into())), None);
        assert_eq!(
            iam.role_arn(&Ref::Arn("arn:aws:iam::1:role/other".into()))
                .as_deref(),
            Some("arn:aws:iam::1:role/other")
        );
    }
}
