//! The least-privilege IAM policy of the cilium-operator in ENI mode: the
//! EC2 actions the Cilium minor requires plus those of the conditional
//! features that are on, as one sorted statement.
//!
//! `Resource` is `"*"`: Cilium's docs list actions only, with no resource
//! ARNs or tag conditions to scope them by, and the `Describe*` actions
//! take no resource-level permissions at all. (Parliament reports this as
//! its LOW `RESOURCE_STAR` finding; the test suite allows exactly that one.)

use std::collections::BTreeSet;

use serde::Serialize;

use super::{cilium_minor, GenerateError};
use crate::knowledge::{CiliumMinor, Knowledge};
use crate::version::Minor;

/// Which conditional features (ids of the knowledge, such as `eni-gc`) the
/// user turned on or off; the others keep the default of the data.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FeatureChoice {
    pub enable: BTreeSet<String>,
    pub disable: BTreeSet<String>,
}

/// An IAM policy document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct PolicyDocument {
    pub version: &'static str,
    pub statement: Vec<Statement>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Statement {
    pub sid: String,
    pub effect: &'static str,
    pub action: Vec<String>,
    pub resource: &'static str,
}

/// The policy language version every current IAM policy uses.
const POLICY_VERSION: &str = "2012-10-17";

/// The operator policy for Cilium `minor` with the chosen features.
pub fn operator_policy(
    knowledge: &Knowledge,
    minor: Minor,
    choice: &FeatureChoice,
) -> Result<PolicyDocument, GenerateError> {
    let cilium = cilium_minor(knowledge, minor)?;
    let enabled = enabled_features(cilium, choice)?;
    let actions: BTreeSet<String> = cilium
        .eni_required_actions
        .iter()
        .chain(
            cilium
                .eni_conditional_actions
                .iter()
                .filter(|c| enabled.contains(c.feature.as_str()))
                .flat_map(|c| &c.actions),
        )
        .cloned()
        .collect();
    Ok(PolicyDocument {
        version: POLICY_VERSION,
        statement: vec![Statement {
            sid: "CiliumOperatorEni".to_string(),
            effect: "Allow",
            action: actions.into_iter().collect(),
            resource: "*",
        }],
    })
}

/// The features that end up on: the data's defaults, then the choice. A
/// feature the minor does not have is refused, naming the ones it has.
pub fn enabled_features<'c>(
    cilium: &'c CiliumMinor,
    choice: &FeatureChoice,
) -> Result<BTreeSet<&'c str>, GenerateError> {
    let known: Vec<&str> = cilium
        .eni_conditional_actions
        .iter()
        .map(|c| c.feature.as_str())
        .collect();
    if let Some(both) = choice.enable.intersection(&choice.disable).next() {
        return Err(GenerateError(format!(
            "feature {both} is both enabled and disabled"
        )));
    }
    if let Some(unknown) = choice
        .enable
        .iter()
        .chain(&choice.disable)
        .find(|f| !known.contains(&f.as_str()))
    {
        return Err(GenerateError(format!(
            "Cilium {} has no conditional ENI feature {unknown} (its features: {})",
            cilium.minor,
            known.join(", ")
        )));
    }
    Ok(cilium
        .eni_conditional_actions
        .iter()
        .filter(|c| {
            choice.enable.contains(&c.feature)
                || (c.enabled_by_default && !choice.disable.contains(&c.feature))
        })
        .map(|c| c.feature.as_str())
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn k() -> &'static Knowledge {
        Knowledge::embedded()
    }

    fn choice(enable: &[&str], disable: &[&str]) -> FeatureChoice {
        FeatureChoice {
            enable: enable.iter().map(|s| s.to_string()).collect(),
            disable: disable.iter().map(|s| s.to_string()).collect(),
        }
    }

    fn actions(minor: Minor, c: &FeatureChoice) -> Vec<String> {
        operator_policy(k(), minor, c).unwrap().statement[0]
            .action
            .clone()
    }

    #[test]
    fn defaults_follow_the_data() {
        let m118 = Minor::new(1, 18);
        let got = actions(m118, &FeatureChoice::default());
        let c = k().cilium_minor(m118).unwrap();
        // Required actions, plus DescribeTags for ENI GC (on by default).
        let mut want: Vec<String> = c.eni_required_actions.clone();
        want.push("ec2:DescribeTags".into());
        want.sort();
        assert_eq!(got, want);
        assert!(got.contains(&"ec2:DescribeRouteTables".to_string()));
        assert!(!got.contains(&"ec2:UnassignPrivateIpAddresses".to_string()));
    }

    #[test]
    fn conditional_features_add_and_remove_their_actions() {
        let m116 = Minor::new(1, 16);
        let on = actions(
            m116,
            &choice(&["release-excess-ips", "instance-tags-filter"], &["eni-gc"]),
        );
        assert!(on.contains(&"ec2:UnassignPrivateIpAddresses".to_string()));
        assert!(on.contains(&"ec2:DescribeInstances".to_string()));
        assert!(!on.contains(&"ec2:DescribeTags".to_string()));
        // 1.16 fetches instance limits via the API by default.
        assert!(on.contains(&"ec2:DescribeInstanceTypes".to_string()));
        let off = actions(m116, &choice(&[], &["ec2-adapter-limit-via-api"]));
        assert!(!off.contains(&"ec2:DescribeInstanceTypes".to_string()));
        let mut sorted = on.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(on, sorted);
    }

    #[test]
    fn one_statement_on_every_resource() {
        let doc = operator_policy(k(), Minor::new(1, 20), &FeatureChoice::default()).unwrap();
        let json = serde_json::to_value(&doc).unwrap();
        assert_eq!(json["Version"], "2012-10-17");
        assert_eq!(json["Statement"].as_array().unwrap().len(), 1);
        assert_eq!(json["Statement"][0]["Effect"], "Allow");
        assert_eq!(json["Statement"][0]["Resource"], "*");
        assert_eq!(json["Statement"][0]["Sid"], "CiliumOperatorEni");
    }

    #[test]
    fn bad_choices_are_refused() {
        let err = operator_policy(k(), Minor::new(1, 99), &FeatureChoice::default()).unwrap_err();
        assert!(
            err.0.contains("unknown Cilium minor 1.99") && err.0.contains("1.12"),
            "{err}"
        );
        let err =
            operator_policy(k(), Minor::new(1, 16), &choice(&["static-ip"], &[])).unwrap_err();
        assert!(
            err.0.contains("no conditional ENI feature static-ip"),
            "{err}"
        );
        assert!(err.0.contains("release-excess-ips"), "{err}");
        let err = operator_policy(k(), Minor::new(1, 12), &choice(&[], &["eni-gc"])).unwrap_err();
        assert!(
            err.0.contains("1.12 has no conditional ENI feature eni-gc"),
            "{err}"
        );
        let err =
            operator_policy(k(), Minor::new(1, 20), &choice(&["eni-gc"], &["eni-gc"])).unwrap_err();
        assert!(err.0.contains("both enabled and disabled"), "{err}");
    }
}
