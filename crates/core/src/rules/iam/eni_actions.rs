//! The EC2 actions the cilium-operator needs in ENI mode for the running
//! Cilium minor and configuration: the documented required actions plus the
//! conditional ones whose feature is on. Shared by IAM001/IAM007 and the
//! `generate iam-policy` feature.

use crate::knowledge::{CiliumMinor, ConditionalActions};
use crate::model::cilium::helm_get;
use crate::model::IamRole;
use crate::rules::Context;
use crate::version::Minor;

/// Whether a conditional feature is on, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Feature {
    On(String),
    Off,
}

/// A Cilium setting: the `cilium-config` key wins, then the Helm value.
pub(crate) fn setting(cx: &Context, config_key: &str, helm_path: &str) -> Option<(String, String)> {
    if let Some(v) = cx.cluster.cilium.get(config_key) {
        return Some((
            v.trim().to_string(),
            format!("cilium-config {config_key}: {v:?}"),
        ));
    }
    let v = helm_get(cx.cluster.helm_values.as_ref()?, helm_path)?;
    let text = match v {
        serde_json::Value::String(s) => s.trim().to_string(),
        serde_json::Value::Array(a) if a.is_empty() => String::new(),
        serde_json::Value::Object(o) if o.is_empty() => String::new(),
        other => other.to_string(),
    };
    Some((text, format!("Helm {helm_path}: {v}")))
}

fn truthy(v: &str) -> bool {
    v.eq_ignore_ascii_case("true")
}

/// `0`, `0s`, `0m0s`: a disabled interval.
fn zero_duration(v: &str) -> bool {
    v.chars().any(|c| c.is_ascii_digit())
        && v.chars().filter(char::is_ascii_digit).all(|c| c == '0')
}

pub(crate) fn feature(cx: &Context, cond: &ConditionalActions, minor: Minor) -> Feature {
    let by_default = |what: &str| {
        if cond.enabled_by_default {
            Feature::On(format!(
                "{what} is not set: on by default in Cilium {minor}"
            ))
        } else {
            Feature::Off
        }
    };
    match cond.feature.as_str() {
        "eni-gc" => {
            match setting(cx, "eni-gc-interval", "eni.gcInterval") {
                Some((v, _)) if zero_duration(&v) => return Feature::Off,
                Some((v, _)) if !v.is_empty() => {}
                _ if !cond.enabled_by_default => return Feature::Off,
                _ => {}
            }
            // eni.rst: DescribeTags is needed while --cluster-name and
            // --eni-gc-tags are not set to custom values.
            if let Some((name, _)) = setting(cx, "cluster-name", "cluster.name") {
                if !name.is_empty() && name != "default" {
                    return Feature::Off;
                }
            }
            if let Some((tags, _)) = setting(cx, "eni-gc-tags", "eni.gcTags") {
                if !tags.is_empty() && tags != "{}" {
                    return Feature::Off;
                }
            }
            Feature::On(
                "ENI garbage collection is on (the default) and neither cluster-name nor eni-gc-tags is customised"
                    .to_string(),
            )
        }
        "release-excess-ips" => {
            match setting(cx, "aws-release-excess-ips", "eni.awsReleaseExcessIPs") {
                Some((v, src)) if truthy(&v) => Feature::On(src),
                Some(_) => Feature::Off,
                None => by_default("aws-release-excess-ips"),
            }
        }
        "instance-tags-filter" => {
            match setting(cx, "instance-tags-filter", "eni.instanceTagsFilter") {
                Some((v, src)) if !v.is_empty() && v != "{}" && v != "[]" => Feature::On(src),
                Some(_) => Feature::Off,
                None => by_default("instance-tags-filter"),
            }
        }
        "ec2-adapter-limit-via-api" => {
            match setting(
                cx,
                "update-ec2-adapter-limit-via-api",
                "eni.updateEC2AdapterLimitViaAPI",
            ) {
                Some((v, src)) if truthy(&v) => Feature::On(src),
                Some(_) => Feature::Off,
                None => by_default("update-ec2-adapter-limit-via-api"),
            }
        }
        "static-ip" => {
            let node = cx
                .cluster
                .cilium_nodes
                .as_deref()
                .unwrap_or_default()
                .iter()
                .find(|n| !n.spec.ipam.static_ip_tags.is_empty());
            match node {
                Some(n) => Feature::On(format!(
                    "CiliumNode {} sets spec.ipam.static-ip-tags",
                    n.metadata.name
                )),
                None => Feature::Off,
            }
        }
        // A feature this version of the rule does not know how to read:
        // assume its default.
        other => by_default(&format!("{other} ({})", cond.condition)),
    }
}

/// The actions the operator needs, each with why (first reason wins):
/// required ones, then conditional ones whose feature is on.
pub(crate) fn wanted_actions(cx: &Context, data: &CiliumMinor) -> Vec<(String, String)> {
    let c = data.minor;
    let mut wanted: Vec<(String, String)> = Vec::new();
    let mut push = |action: &str, why: String| {
        if !wanted.iter().any(|(a, _)| a.eq_ignore_ascii_case(action)) {
            wanted.push((action.to_string(), why));
        }
    };
    for a in &data.eni_required_actions {
        push(a, format!("required by Cilium {c} in ENI mode (eni.rst)"));
    }
    for cond in &data.eni_conditional_actions {
        if let Feature::On(reason) = feature(cx, cond, c) {
            for a in &cond.actions {
                push(a, reason.clone());
            }
        }
    }
    wanted
}

/// An identity policy document allowing `actions` on `*`, as JSON text in
/// the usual key order.
pub(crate) fn allow_policy_document<S: AsRef<str>>(actions: &[S]) -> String {
    let list = actions
        .iter()
        .map(|a| {
            format!(
                "        {}",
                serde_json::Value::String(a.as_ref().to_string())
            )
        })
        .collect::<Vec<_>>()
        .join(",\n");
    format!(
        "{{\n  \"Version\": \"2012-10-17\",\n  \"Statement\": [\n    {{\n      \"Effect\": \"Allow\",\n      \"Action\": [\n{list}\n      ],\n      \"Resource\": \"*\"\n    }}\n  ]\n}}"
    )
}

/// `base`, or `base-2`, `base-3`, … when the role already has an inline
/// policy of that name (`put-role-policy` would replace it).
pub(crate) fn free_policy_name(role: &IamRole, base: &str) -> String {
    let taken = |n: &str| role.inline_policies.iter().any(|p| p.name == n);
    if !taken(base) {
        return base.to_string();
    }
    (2..)
        .map(|i| format!("{base}-{i}"))
        .find(|n| !taken(n))
        .unwrap_or_else(|| base.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_embedded_feature_is_read_from_the_configuration() {
        // A new feature id in the data must get a reader in `feature`.
        let known = [
            "eni-gc",
            "release-excess-ips",
            "instance-tags-filter",
            "ec2-adapter-limit-via-api",
            "static-ip",
        ];
        for m in &crate::knowledge::Knowledge::embedded().cilium {
            for c in &m.eni_conditional_actions {
                assert!(
                    known.contains(&c.feature.as_str()),
                    "{}: unknown feature {}",
                    m.minor,
                    c.feature
                );
            }
        }
    }

    #[test]
    fn policy_text_and_names() {
        let doc = allow_policy_document(&["ec2:CreateTags", "ec2:DescribeTags"]);
        let v: serde_json::Value = serde_json::from_str(&doc).unwrap();
        assert_eq!(v["Version"], "2012-10-17");
        assert_eq!(v["Statement"][0]["Action"][1], "ec2:DescribeTags");
        assert!(doc.starts_with("{\n  \"Version\""));
        let mut role = IamRole::default();
        assert_eq!(free_policy_name(&role, "x"), "x");
        role.inline_policies.push(crate::model::InlinePolicy {
            name: "x".into(),
            document: Default::default(),
        });
        role.inline_policies.push(crate::model::InlinePolicy {
            name: "x-2".into(),
            document: Default::default(),
        });
        assert_eq!(free_policy_name(&role, "x"), "x-3");
        assert!(
            zero_duration("0s") && zero_duration("0") && !zero_duration("5m") && !zero_duration("")
        );
    }
}
