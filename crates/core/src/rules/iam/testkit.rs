//! IAM test helpers: policy documents and roles from IAM JSON, and a typical
//! ENI-mode cluster. (The model's IAM types are filled by the IAM loader;
//! this is a small test-only reader of the same JSON shapes.)

use std::collections::BTreeMap;

use serde_json::{json, Value};

pub(crate) use super::super::ver::testkit::*;
use crate::model::{Cluster, IamRole, InlinePolicy, ManagedPolicy, PolicyDocument, Statement};

pub(crate) const ACCOUNT: &str = "111122223333";
pub(crate) const ISSUER: &str =
    "https://oidc.eks.eu-west-1.amazonaws.com/id/5C1E2B3A4D5E6F708192A3B4C5D6E7F8";
pub(crate) const HOST: &str =
    "oidc.eks.eu-west-1.amazonaws.com/id/5C1E2B3A4D5E6F708192A3B4C5D6E7F8";
pub(crate) const OPERATOR_ROLE: &str = "arn:aws:iam::111122223333:role/prod-cilium-operator";
pub(crate) const NODE_ROLE: &str = "arn:aws:iam::111122223333:role/prod-node";
pub(crate) const CNI_POLICY: &str = "arn:aws:iam::aws:policy/AmazonEKS_CNI_Policy";

fn strings(v: Option<&Value>) -> Vec<String> {
    match v {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(|x| x.as_str().map(str::to_string))
            .collect(),
        _ => Vec::new(),
    }
}

pub(crate) fn policy(doc: Value) -> PolicyDocument {
    let statements = match &doc["Statement"] {
        Value::Array(a) => a.clone(),
        Value::Object(_) => vec![doc["Statement"].clone()],
        _ => Vec::new(),
    };
    PolicyDocument {
        statements: statements
            .iter()
            .map(|s| {
                let mut principals = BTreeMap::new();
                match &s["Principal"] {
                    Value::String(p) => {
                        principals.insert("*".to_string(), vec![p.clone()]);
                    }
                    Value::Object(m) => {
                        for (k, v) in m {
                            principals.insert(k.clone(), strings(Some(v)));
                        }
                    }
                    _ => {}
                }
                let mut conditions = BTreeMap::new();
                if let Value::Object(ops) = &s["Condition"] {
                    for (op, keys) in ops {
                        let mut m = BTreeMap::new();
                        if let Value::Object(keys) = keys {
                            for (k, v) in keys {
                                m.insert(k.clone(), strings(Some(v)));
                            }
                        }
                        conditions.insert(op.clone(), m);
                    }
                }
                Statement {
                    effect_allow: s["Effect"] == "Allow",
                    actions: strings(s.get("Action")),
                    not_actions: strings(s.get("NotAction")),
                    resources: strings(s.get("Resource")),
                    principals,
                    conditions,
                }
            })
            .collect(),
    }
}

pub(crate) fn role(
    arn: &str,
    trust: Option<Value>,
    inline: Vec<(&str, Value)>,
    attached: &[&str],
) -> IamRole {
    IamRole {
        name: super::role_name(arn).to_string(),
        arn: arn.to_string(),
        trust_policy: trust.map(policy),
        inline_policies: inline
            .into_iter()
            .map(|(name, d)| InlinePolicy {
                name: name.to_string(),
                document: policy(d),
            })
            .collect(),
        attached_policy_arns: attached.iter().map(|s| s.to_string()).collect(),
    }
}

pub(crate) fn managed(arn: &str, doc: Value) -> ManagedPolicy {
    ManagedPolicy {
        name: super::role_name(arn).to_string(),
        arn: arn.to_string(),
        document: Some(policy(doc)),
    }
}

/// The IRSA trust policy of irsa.json for `subject`.
pub(crate) fn irsa_trust(subject: &str) -> Value {
    json!({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow",
        "Principal": {"Federated": format!("arn:aws:iam::{ACCOUNT}:oidc-provider/{HOST}")},
        "Action": "sts:AssumeRoleWithWebIdentity",
        "Condition": {"StringEquals": {
            format!("{HOST}:aud"): "sts.amazonaws.com",
            format!("{HOST}:sub"): subject
        }}
    }]})
}

/// Allow `actions` on `*`.
pub(crate) fn allow(actions: &[&str]) -> Value {
    json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": actions, "Resource": "*"}]})
}

/// The eni.rst required actions of 1.16 plus DescribeTags (ENI GC).
pub(crate) const OPERATOR_ACTIONS_116: &[&str] = &[
    "ec2:DeleteNetworkInterface",
    "ec2:DescribeNetworkInterfaces",
    "ec2:DescribeSubnets",
    "ec2:DescribeVpcs",
    "ec2:DescribeSecurityGroups",
    "ec2:CreateNetworkInterface",
    "ec2:AttachNetworkInterface",
    "ec2:ModifyNetworkInterfaceAttribute",
    "ec2:AssignPrivateIpAddresses",
    "ec2:CreateTags",
    "ec2:DescribeTags",
];

/// An EKS cluster running Cilium 1.16.5 in ENI mode, operator SA with `annotations`.
pub(crate) fn eni_cluster(sa_annotations: Value, extra: Vec<Value>) -> Cluster {
    let mut items = vec![
        json!({"cluster": {"name": "prod", "version": "1.30", "identity": {"oidc": {"issuer": ISSUER}}}}),
        agent_ds("1.16.5"),
        operator_deploy("quay.io/cilium/operator-aws:v1.16.5", "cilium-operator"),
        config_map(
            json!({"ipam": "eni", "enable-endpoint-routes": "true", "auto-create-cilium-node-resource": "true", "cluster-name": "default"}),
        ),
        json!({"kind": "ServiceAccount", "metadata": {"name": "cilium-operator", "namespace": "kube-system", "annotations": sa_annotations}}),
        json!({"nodegroup": {"nodegroupName": "general", "clusterName": "prod", "version": "1.30", "amiType": "AL2023_x86_64_STANDARD", "nodeRole": NODE_ROLE}}),
    ];
    items.extend(extra);
    typed_cluster(items)
}

pub(crate) fn irsa_annotation() -> Value {
    json!({"eks.amazonaws.com/role-arn": OPERATOR_ROLE})
}
