//! IAM: for each role of interest (node roles, the operator's IRSA role)
//! its trust policy, inline policies and attached managed policies with
//! their default version; and the account's OIDC providers. Written as
//! `aws iam …` outputs, with the `RoleName`/`PolicyArn` the loader needs to
//! know whose output each file is. Documents stay as IAM returns them
//! (URL-encoded or not): the loader decodes both.

use std::collections::BTreeSet;

use serde_json::json;

use super::Aws;
use crate::calls::aws::*;
use crate::LiveError;

/// `arn:aws:iam::1:role/path/Name` → `Name` (a role's name is the last
/// segment; paths are not part of it).
pub(super) fn role_name(arn: &str) -> Option<&str> {
    let resource = arn.split(':').nth(5)?;
    let rest = resource.strip_prefix("role/")?;
    rest.rsplit('/').next().filter(|n| !n.is_empty())
}

/// File names from IAM names (`[\w+=,.@-]`): keep them portable.
fn safe(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-_.".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect()
}

impl Aws {
    pub(super) async fn roles(&mut self, names: &BTreeSet<String>) -> Result<(), LiveError> {
        let mut policies = BTreeSet::new();
        for name in names {
            self.role(name, &mut policies).await?;
        }
        for arn in policies {
            self.managed_policy(&arn).await?;
        }
        Ok(())
    }

    async fn role(&mut self, name: &str, policies: &mut BTreeSet<String>) -> Result<(), LiveError> {
        let file = safe(name);
        let request = self.iam.get_role().role_name(name).send();
        if let Some(role) = self
            .call(IAM_GET_ROLE, request)
            .await?
            .as_ref()
            .and_then(|o| o.role())
        {
            let value = json!({ "Role": {
                "RoleName": role.role_name(),
                "Arn": role.arn(),
                "AssumeRolePolicyDocument": role.assume_role_policy_document(),
            }});
            self.part
                .put(format!("iam-role-{file}.json"), IAM_GET_ROLE, 1, &value);
        }

        let pages = self
            .iam
            .list_role_policies()
            .role_name(name)
            .into_paginator()
            .items()
            .send();
        for policy in self
            .call(IAM_LIST_ROLE_POLICIES, pages.try_collect())
            .await?
            .unwrap_or_default()
        {
            let request = self
                .iam
                .get_role_policy()
                .role_name(name)
                .policy_name(&policy)
                .send();
            if let Some(output) = self.call(IAM_GET_ROLE_POLICY, request).await? {
                let value = json!({
                    "RoleName": output.role_name(),
                    "PolicyName": output.policy_name(),
                    "PolicyDocument": output.policy_document(),
                });
                let file = format!("iam-role-{file}-inline-{}.json", safe(&policy));
                self.part.put(file, IAM_GET_ROLE_POLICY, 1, &value);
            }
        }

        let pages = self
            .iam
            .list_attached_role_policies()
            .role_name(name)
            .into_paginator()
            .items()
            .send();
        if let Some(attached) = self
            .call(IAM_LIST_ATTACHED_ROLE_POLICIES, pages.try_collect())
            .await?
        {
            let entries: Vec<_> = attached
                .iter()
                .map(|a| json!({ "PolicyName": a.policy_name(), "PolicyArn": a.policy_arn() }))
                .collect();
            policies.extend(
                attached
                    .iter()
                    .filter_map(|a| a.policy_arn())
                    .map(str::to_string),
            );
            let n = entries.len();
            let value = json!({ "RoleName": name, "AttachedPolicies": entries });
            self.part.put(
                format!("iam-role-{file}-attached.json"),
                IAM_LIST_ATTACHED_ROLE_POLICIES,
                n,
                &value,
            );
        }
        Ok(())
    }

    /// get-policy for the default version id, then that version's document.
    async fn managed_policy(&mut self, arn: &str) -> Result<(), LiveError> {
        let request = self.iam.get_policy().policy_arn(arn).send();
        let Some(policy) = self.call(IAM_GET_POLICY, request).await? else {
            return Ok(());
        };
        let Some(policy) = policy.policy() else {
            return Ok(());
        };
        let name = policy.policy_name().unwrap_or(arn);
        let Some(version) = policy.default_version_id() else {
            return Ok(());
        };
        let request = self
            .iam
            .get_policy_version()
            .policy_arn(arn)
            .version_id(version)
            .send();
        let Some(output) = self.call(IAM_GET_POLICY_VERSION, request).await? else {
            return Ok(());
        };
        if let Some(v) = output.policy_version() {
            let value = json!({
                "PolicyArn": arn,
                "PolicyVersion": {
                    "Document": v.document(),
                    "VersionId": v.version_id(),
                    "IsDefaultVersion": v.is_default_version(),
                },
            });
            self.part.put(
                format!("iam-policy-{}.json", safe(name)),
                IAM_GET_POLICY_VERSION,
                1,
                &value,
            );
        }
        Ok(())
    }

    pub(super) async fn oidc_providers(&mut self) -> Result<(), LiveError> {
        let request = self.iam.list_open_id_connect_providers().send();
        if let Some(output) = self.call(IAM_LIST_OIDC_PROVIDERS, request).await? {
            let list: Vec<_> = output
                .open_id_connect_provider_list()
                .iter()
                .map(|p| json!({ "Arn": p.arn() }))
                .collect();
            let n = list.len();
            let value = json!({ "OpenIDConnectProviderList": list });
            self.part.put(
                "iam-oidc-providers.json".into(),
                IAM_LIST_OIDC_PROVIDERS,
                n,
                &value,
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_names_from_arns() {
        assert_eq!(
            role_name("arn:aws:iam::123456789012:role/shop-node"),
            Some("shop-node")
        );
        assert_eq!(
            role_name("arn:aws:iam::123456789012:role/eks/ops/cilium"),
            Some("cilium")
        );
        assert_eq!(role_name("arn:aws:iam::123456789012:user/bob"), None);
        assert_eq!(safe("a+b@c"), "a_b_c");
    }
}
