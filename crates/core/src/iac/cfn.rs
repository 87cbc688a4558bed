//! CloudFormation templates, JSON or YAML, hand-written or synthesised by
//! the AWS CDK (`cdk.out/<Stack>.template.json`).
//!
//! Read from `Resources` (CloudFormation resource type reference, "EKS
//! resource type reference"):
//! - `AWS::EKS::Cluster`: `Name`, `Version`, `BootstrapSelfManagedAddons`,
//!   `UpgradePolicy.SupportType`, `KubernetesNetworkConfig.IpFamily`,
//!   `AccessConfig.AuthenticationMode`;
//! - the CDK v2 L2 cluster `Custom::AWSCDK-EKS-Cluster`, whose `Config` holds
//!   the EKS `CreateCluster` request in the API's camelCase (`version`,
//!   `bootstrapSelfManagedAddons`, …; aws-cdk `cluster-resource.ts`);
//! - `AWS::EKS::Nodegroup` (`NodegroupName`, `InstanceTypes`, `AmiType`,
//!   `ScalingConfig`, `Taints`, `Labels`, `LaunchTemplate`, whose
//!   `AWS::EC2::LaunchTemplate` in the same template gives the instance
//!   type when the node group lists none, and its `UserData` (`Fn::Base64`
//!   of a literal or of `Fn::Sub` text) the kubelet's max pods);
//! - `AWS::EKS::Addon` (`AddonName`, `AddonVersion`, `ConfigurationValues`);
//! - `Custom::AWSCDK-EKS-HelmChart` (`Chart`, `Version`, `Repository`,
//!   `Values`: one JSON string, aws-cdk `helm-chart.ts`
//!   `stack.toJsonString(props.values)`);
//! - `Custom::AWSCDK-EKS-KubernetesResource` manifests and
//!   `Custom::AWSCDK-EKS-KubernetesPatch` patches where literal: what they do
//!   to aws-node.
//!
//! An intrinsic function (`Ref`, `Fn::GetAtt`, `Fn::If`, `Fn::Join`, …, long
//! or short form) is known only when the stack is deployed: such a value
//! never fires; it is left out of the model (the rules that need it are
//! *not evaluated*) and named, with its line, in an input note.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::Value;

use super::helm_values::Values;
use super::iam;
use super::located::{escape, intrinsic, Located};
use super::plan::command_effects;
use super::{
    is_cilium_chart, AddonDeletion, ChartRelease, Fact, Plan, Planned, PlannedAddon, PlannedCilium,
    PlannedCluster, PlannedNodegroup,
};
use crate::findings::SourceLocation;
use crate::load::{LoadError, LoadOptions};

mod resolve;

/// The only template format version CloudFormation defines ("Format
/// version", AWS CloudFormation User Guide: "The latest template format
/// version is 2010-09-09 and is currently the only valid value").
const FORMAT_VERSION: &str = "2010-09-09";

fn malformed(path: &str, line: Option<u32>, message: impl Into<String>) -> LoadError {
    LoadError::Malformed {
        path: path.to_string(),
        location: line.map(|l| format!("line {l}")),
        message: message.into(),
    }
}

/// A short text of an intrinsic value for notes (`Ref ClusterVersion`).
fn describe(v: &Value) -> String {
    let Some(name) = intrinsic(v) else {
        return "a value computed at deploy".into();
    };
    let arg = &v[name];
    match arg {
        Value::String(s) => format!("{name} {s}"),
        Value::Array(items) if name == "Fn::GetAtt" => format!(
            "{name} {}",
            items
                .iter()
                .filter_map(Value::as_str)
                .collect::<Vec<_>>()
                .join(".")
        ),
        _ => name.to_string(),
    }
}

/// Whether a value holds an intrinsic function anywhere.
fn has_intrinsic(v: &Value) -> bool {
    if intrinsic(v).is_some() {
        return true;
    }
    match v {
        Value::Array(a) => a.iter().any(has_intrinsic),
        Value::Object(m) => m.values().any(has_intrinsic),
        _ => false,
    }
}

/// A policy document of a template: known when what decides it (actions,
/// effects, conditions; for a trust, everything) holds no intrinsic
/// function; intrinsics in `Resource` (an ARN built with `Fn::Sub`) are
/// kept as a text that matches no action.
fn policy_fact(v: Option<&Value>, trust: bool) -> Fact<Value> {
    let Some(v) = v.filter(|v| !v.is_null()) else {
        return Fact::Absent;
    };
    if intrinsic(v).is_some() {
        return Fact::Unknown;
    }
    let statements: Vec<&Value> = match v.get("Statement") {
        Some(Value::Array(a)) => a.iter().collect(),
        Some(one) => vec![one],
        None => Vec::new(),
    };
    let decided = statements.iter().all(|st| {
        let keys: &[&str] = if trust {
            &["Effect", "Action", "NotAction", "Condition", "Principal"]
        } else {
            &["Effect", "Action", "NotAction", "Condition"]
        };
        keys.iter()
            .all(|k| st.get(*k).is_none_or(|x| !has_intrinsic(x)))
    });
    if !decided {
        return Fact::Unknown;
    }
    fn scrub(v: &Value) -> Value {
        if intrinsic(v).is_some() {
            return Value::String(format!("({} when the stack is deployed)", describe(v)));
        }
        match v {
            Value::Array(a) => Value::Array(a.iter().map(scrub).collect()),
            Value::Object(m) => {
                Value::Object(m.iter().map(|(k, x)| (k.clone(), scrub(x))).collect())
            }
            other => other.clone(),
        }
    }
    Fact::Known(scrub(v))
}

struct Template<'a> {
    shown: &'a str,
    doc: &'a Located,
}

/// One resource being read: its pointer, logical id and properties.
struct Resource<'a> {
    id: &'a str,
    pointer: String,
    props: &'a Value,
}

impl Template<'_> {
    fn at(&self, pointer: &str, address: &str) -> SourceLocation {
        SourceLocation::new(self.shown, self.doc.line(pointer)).with_address(address)
    }

    /// `props[path...]`: known, unknown (an intrinsic, noted with its
    /// line, naming the field) or absent.
    fn fact<'v>(&self, r: &Resource<'v>, path: &[&str], plan: &mut Plan) -> Fact<&'v Value> {
        let mut v = r.props;
        let mut pointer = format!("{}/Properties", r.pointer);
        for key in path {
            if intrinsic(v).is_some() {
                break;
            }
            match v.get(*key) {
                Some(next) => {
                    v = next;
                    pointer = format!("{pointer}/{}", escape(key));
                }
                None => return Fact::Absent,
            }
        }
        if v.is_null() {
            return Fact::Absent;
        }
        if has_intrinsic(v) {
            let line = self.doc.line(&pointer);
            let what = if intrinsic(v).is_some() {
                describe(v)
            } else {
                "an intrinsic function inside".into()
            };
            plan.note(
                self.shown,
                format!(
                    "line {line}: {}.{} is {what}: known only when the stack is deployed; the rules that need it are not evaluated",
                    r.id,
                    path.join(".")
                ),
            );
            return Fact::Unknown;
        }
        Fact::Known(v)
    }

    fn text(&self, r: &Resource, path: &[&str], plan: &mut Plan) -> Fact<String> {
        match self.fact(r, path, plan) {
            Fact::Known(Value::String(s)) => Fact::Known(s.clone()),
            Fact::Known(Value::Number(n)) => Fact::Known(n.to_string()),
            Fact::Known(Value::Bool(b)) => Fact::Known(b.to_string()),
            Fact::Known(_) => Fact::Absent,
            Fact::Unknown => Fact::Unknown,
            Fact::Absent => Fact::Absent,
        }
    }

    fn boolean(&self, r: &Resource, path: &[&str], plan: &mut Plan) -> Fact<bool> {
        match self.fact(r, path, plan) {
            Fact::Known(Value::Bool(b)) => Fact::Known(*b),
            // CloudFormation takes "true"/"false" strings for booleans.
            Fact::Known(Value::String(s)) if s.eq_ignore_ascii_case("true") => Fact::Known(true),
            Fact::Known(Value::String(s)) if s.eq_ignore_ascii_case("false") => Fact::Known(false),
            Fact::Unknown => Fact::Unknown,
            _ => Fact::Absent,
        }
    }

    fn resource(&self, r: &Resource, kind: &str, plan: &mut Plan) {
        let at = self.at(&r.pointer, r.id);
        let planned = |detail: String| Planned {
            address: r.id.to_string(),
            at: at.clone(),
            detail,
        };
        match kind {
            "AWS::EKS::Cluster" => {
                let c = self.cluster(r, None, planned(kind.to_string()), plan);
                plan.clusters.push(c);
            }
            "Custom::AWSCDK-EKS-Cluster" => {
                let detail = format!("{kind} (CDK aws-eks Cluster)");
                let c = self.cluster(r, Some("Config"), planned(detail), plan);
                plan.clusters.push(c);
            }
            "AWS::EKS::Addon" => {
                let Fact::Known(name) = self.text(r, &["AddonName"], plan) else {
                    return;
                };
                let configuration_values = match self.text(r, &["ConfigurationValues"], plan) {
                    Fact::Known(c) => Some(c),
                    _ => None,
                };
                let version = self.text(r, &["AddonVersion"], plan);
                plan.addons.push(PlannedAddon {
                    version,
                    configuration_values,
                    planned: planned(format!("AWS::EKS::Addon {name}")),
                    name,
                });
            }
            "AWS::EKS::Nodegroup" => self.nodegroup(r, at, plan),
            "AWS::IAM::Role"
            | "AWS::IAM::Policy"
            | "AWS::IAM::ManagedPolicy"
            | "AWS::IAM::OIDCProvider"
            | "AWS::EKS::PodIdentityAssociation" => {
                self.iam(r, kind, planned(kind.to_string()), plan)
            }
            "Custom::AWSCDK-EKS-HelmChart" => self.helm_chart(r, at, plan),
            "Custom::AWSCDK-EKS-KubernetesResource" | "Custom::AWSCDK-EKS-KubernetesPatch" => {
                let mut texts = Vec::new();
                for key in ["Manifest", "ApplyPatchJson", "ResourceName"] {
                    if let Some(Value::String(s)) = r.props.get(key) {
                        texts.push(s.as_str());
                    }
                }
                let body = texts.join("\n");
                let (deleted, patched) = command_effects(&body);
                for what in deleted {
                    plan.facts.addon_deletions.push(AddonDeletion {
                        daemonset: what,
                        planned: planned(format!("{kind} deletes {what}")),
                    });
                }
                if patched {
                    plan.aws_node_patched = Some(planned(format!("{kind} patches aws-node")));
                }
            }
            _ => {}
        }
    }

    /// `AWS::EKS::Cluster` properties, or the CDK cluster's `Config` (the
    /// EKS API's camelCase names).
    fn cluster(
        &self,
        r: &Resource,
        config: Option<&str>,
        planned: Planned,
        plan: &mut Plan,
    ) -> PlannedCluster {
        let names: [&[&str]; 5] = if config.is_some() {
            [
                &["name"],
                &["version"],
                &["bootstrapSelfManagedAddons"],
                &["upgradePolicy", "supportType"],
                &["kubernetesNetworkConfig", "ipFamily"],
            ]
        } else {
            [
                &["Name"],
                &["Version"],
                &["BootstrapSelfManagedAddons"],
                &["UpgradePolicy", "SupportType"],
                &["KubernetesNetworkConfig", "IpFamily"],
            ]
        };
        let path = |i: usize| -> Vec<&str> {
            config.into_iter().chain(names[i].iter().copied()).collect()
        };
        PlannedCluster {
            name: self.text(r, &path(0), plan),
            version: self.text(r, &path(1), plan),
            bootstrap_self_managed_addons: self.boolean(r, &path(2), plan),
            support_type: self.text(r, &path(3), plan),
            ip_family: self.text(r, &path(4), plan),
            oidc_issuer: Fact::Absent,
            planned: Some(planned),
            unknown_noted: true,
        }
    }

    fn nodegroup(&self, r: &Resource, at: SourceLocation, plan: &mut Plan) {
        let name = match self.text(r, &["NodegroupName"], plan) {
            Fact::Known(n) => n,
            _ => r.id.to_string(),
        };
        let mut instance_types = match self.fact(r, &["InstanceTypes"], plan) {
            Fact::Known(Value::Array(items)) => items
                .iter()
                .filter_map(|s| s.as_str().map(str::to_string))
                .collect(),
            _ => Vec::new(),
        };
        // The launch template of this template, when named by Ref.
        let mut launch_template = None;
        if let Some(Value::String(lt)) = r
            .props
            .get("LaunchTemplate")
            .and_then(|l| l.get("Id").or_else(|| l.get("Name")))
            .and_then(|id| id.get("Ref"))
        {
            let props = &self.doc.value["Resources"][lt.as_str()]["Properties"];
            let data = &props["LaunchTemplateData"];
            if instance_types.is_empty() {
                if let Some(t) = data.get("InstanceType").and_then(Value::as_str) {
                    instance_types.push(t.to_string());
                }
            }
            let lt_name = props
                .get("LaunchTemplateName")
                .and_then(Value::as_str)
                .unwrap_or(lt);
            launch_template = Some(serde_json::json!({"name": lt_name, "version": "1"}));
            match launch_template_user_data(data.get("UserData")) {
                Ok(user_data) => {
                    let mut version = serde_json::Map::new();
                    if let Some(u) = user_data {
                        version.insert("UserData".into(), Value::String(u));
                    }
                    for key in ["ImageId", "InstanceType"] {
                        if let Some(v) = data.get(key).filter(|v| v.is_string()) {
                            version.insert(key.into(), v.clone());
                        }
                    }
                    plan.launch_template(None, lt_name, version);
                }
                // Left out: the node group's max pods is then not evaluated.
                Err(why) => plan.note(
                    &at.file,
                    format!(
                        "line {}: {lt} UserData {why}: the max pods of node group {name}'s new nodes is not evaluated",
                        at.line
                    ),
                ),
            }
        }
        let size = |key: &str| {
            r.props
                .get("ScalingConfig")
                .and_then(|s| s.get(key))
                .and_then(|v| {
                    v.as_u64()
                        .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
                })
                .and_then(|n| u32::try_from(n).ok())
        };
        let taints = match self.fact(r, &["Taints"], plan) {
            Fact::Known(Value::Array(ts)) => ts
                .iter()
                .filter_map(|t| {
                    Some((
                        t.get("Key")?.as_str()?.to_string(),
                        t.get("Value").and_then(Value::as_str).map(str::to_string),
                        t.get("Effect")?.as_str()?.to_string(),
                    ))
                })
                .collect(),
            _ => Vec::new(),
        };
        let labels = match self.fact(r, &["Labels"], plan) {
            Fact::Known(Value::Object(m)) => m
                .iter()
                .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
                .collect(),
            _ => Default::default(),
        };
        let ami_type = match self.text(r, &["AmiType"], plan) {
            Fact::Known(a) => Some(a),
            _ => None,
        };
        plan.nodegroups.push(PlannedNodegroup {
            name,
            instance_types,
            ami_type,
            min_size: size("MinSize"),
            max_size: size("MaxSize"),
            desired_size: size("DesiredSize"),
            taints,
            labels,
            planned: Some(Planned {
                address: r.id.to_string(),
                at,
                detail: "AWS::EKS::Nodegroup".into(),
            }),
            launch_template,
        });
    }

    /// `AWS::CloudFormation::Stack`: a local `TemplateURL` is read with the
    /// `Parameters` the stack passes (those known); a remote one is noted.
    fn nested_stack(
        &self,
        id: &str,
        pointer: &str,
        resource: &Value,
        options: &LoadOptions,
        plan: &mut Plan,
        depth: u32,
    ) -> Result<(), LoadError> {
        let line = self.doc.line(pointer);
        let url = match resource.pointer("/Properties/TemplateURL") {
            Some(Value::String(u)) => u.clone(),
            Some(v) => {
                plan.note(self.shown, format!("line {line}: nested stack {id}: TemplateURL is {}: known only when the stack is deployed; its resources are not read", describe(v)));
                return Ok(());
            }
            None => return Ok(()),
        };
        let Some(path) = local_template(self.shown, &url) else {
            plan.note(self.shown, format!("line {line}: nested stack {id}: TemplateURL {url} is remote: its resources are not read (give the template itself)"));
            return Ok(());
        };
        if depth >= MAX_NESTING {
            plan.note(
                self.shown,
                format!(
                    "line {line}: nested stack {id}: nested more than {MAX_NESTING} deep: not read"
                ),
            );
            return Ok(());
        }
        let nested_shown = path.display().to_string();
        let bytes = match std::fs::metadata(&path) {
            Ok(m) if m.len() > super::MAX_TEXT_BYTES => {
                plan.note(self.shown, format!("line {line}: nested stack {id}: {nested_shown} is over the size limit: not read"));
                return Ok(());
            }
            _ => std::fs::read(&path).map_err(|e| LoadError::Io {
                path: nested_shown.clone(),
                message: format!("nested stack {id} of {} (line {line}): {e}", self.shown),
            })?,
        };
        let mut passed = BTreeMap::new();
        if let Some(Value::Object(params)) = resource.pointer("/Properties/Parameters") {
            for (k, v) in params {
                match v {
                    Value::String(s) => {
                        passed.insert(k.clone(), s.clone());
                    }
                    Value::Number(n) => {
                        passed.insert(k.clone(), n.to_string());
                    }
                    Value::Bool(b) => {
                        passed.insert(k.clone(), b.to_string());
                    }
                    _ => {}
                }
            }
        }
        plan.note(
            self.shown,
            format!(
                "line {line}: nested stack {id}: {nested_shown} read with {} parameter(s) passed",
                passed.len()
            ),
        );
        let doc = parse(&nested_shown, &bytes, options)?;
        plan.facts.files.push(nested_shown.clone());
        read_doc(&nested_shown, doc, &passed, options, plan, depth + 1)
    }

    /// A reference to a role or policy: a literal, or `Ref`/`Fn::GetAtt`
    /// of a resource of this template (its key).
    fn reference(&self, v: &Value, what: &str) -> iam::Ref {
        match v {
            Value::String(s) if s.starts_with("arn:") => iam::Ref::Arn(s.clone()),
            Value::String(s) => iam::Ref::Name(s.clone()),
            _ => {
                let target =
                    v.get("Ref")
                        .and_then(Value::as_str)
                        .or_else(|| match v.get("Fn::GetAtt") {
                            Some(Value::Array(a)) => a.first().and_then(Value::as_str),
                            Some(Value::String(s)) => s.split('.').next(),
                            _ => None,
                        });
                match target {
                    Some(id) if self.doc.value["Resources"].get(id).is_some() => {
                        iam::Ref::Key(id.to_string())
                    }
                    _ => iam::Ref::Unknown(format!("{what} is {}", describe(v))),
                }
            }
        }
    }

    /// IAM roles and policies, OIDC providers, Pod Identity associations.
    fn iam(&self, r: &Resource, kind: &str, planned: Planned, plan: &mut Plan) {
        let text = |key: &str| match r.props.get(key) {
            Some(Value::String(s)) => Fact::Known(s.clone()),
            Some(v) if intrinsic(v).is_some() => Fact::Unknown,
            _ => Fact::Absent,
        };
        let id = r.id.to_string();
        match kind {
            "AWS::IAM::Role" => {
                for p in r
                    .props
                    .get("Policies")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    let name = p.get("PolicyName").and_then(Value::as_str).unwrap_or(r.id);
                    plan.iam.grants.push((
                        iam::Ref::Key(id.clone()),
                        iam::Grant::Inline {
                            name: name.to_string(),
                            document: policy_fact(p.get("PolicyDocument"), false),
                        },
                        format!("{id}.Policies {name}"),
                    ));
                }
                for arn in r
                    .props
                    .get("ManagedPolicyArns")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    plan.iam.grants.push((
                        iam::Ref::Key(id.clone()),
                        iam::Grant::Attached(
                            self.reference(arn, &format!("{id}.ManagedPolicyArns")),
                        ),
                        format!("{id}.ManagedPolicyArns"),
                    ));
                }
                plan.iam.roles.push(iam::PlannedRole {
                    key: id,
                    name: text("RoleName"),
                    arn: Fact::Unknown,
                    trust: policy_fact(r.props.get("AssumeRolePolicyDocument"), true),
                    planned,
                });
            }
            "AWS::IAM::Policy" | "AWS::IAM::ManagedPolicy" => {
                let document = policy_fact(r.props.get("PolicyDocument"), false);
                let roles: Vec<&Value> = r
                    .props
                    .get("Roles")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .collect();
                if kind == "AWS::IAM::ManagedPolicy" {
                    plan.iam.policies.push(iam::PlannedPolicy {
                        key: id.clone(),
                        name: text("ManagedPolicyName"),
                        arn: Fact::Unknown,
                        document,
                    });
                    for role in roles {
                        plan.iam.grants.push((
                            self.reference(role, &format!("{id}.Roles")),
                            iam::Grant::Attached(iam::Ref::Key(id.clone())),
                            id.clone(),
                        ));
                    }
                } else {
                    let name = match text("PolicyName") {
                        Fact::Known(n) => n,
                        _ => id.clone(),
                    };
                    for role in roles {
                        plan.iam.grants.push((
                            self.reference(role, &format!("{id}.Roles")),
                            iam::Grant::Inline {
                                name: name.clone(),
                                document: document.clone(),
                            },
                            id.clone(),
                        ));
                    }
                }
            }
            "AWS::IAM::OIDCProvider" => plan.iam.oidc_providers.push((text("Url"), planned)),
            _ => {
                // AWS::EKS::PodIdentityAssociation
                let (Fact::Known(ns), Fact::Known(sa)) =
                    (text("Namespace"), text("ServiceAccount"))
                else {
                    return;
                };
                let role = r
                    .props
                    .get("RoleArn")
                    .map(|v| self.reference(v, &format!("{id}.RoleArn")))
                    .unwrap_or_else(|| iam::Ref::Unknown(format!("{id}.RoleArn")));
                plan.iam.identities.push(iam::PlannedIdentity {
                    binding: iam::Binding::PodIdentity,
                    namespace: ns,
                    service_account: sa,
                    role,
                    planned,
                });
            }
        }
    }

    fn helm_chart(&self, r: &Resource, at: SourceLocation, plan: &mut Plan) {
        let chart = match r.props.get("Chart") {
            Some(Value::String(c)) => c.clone(),
            _ => return,
        };
        if !is_cilium_chart(&chart) {
            return;
        }
        let release = ChartRelease {
            address: r.id.to_string(),
            at: at.clone(),
            chart,
            version: self.text(r, &["Version"], plan),
        };
        let mut values = Values::default();
        let mut unevaluable = Vec::new();
        match r.props.get("Values") {
            None | Some(Value::Null) => {}
            Some(Value::String(json)) => {
                let name = format!("{}: {} Values", self.shown, r.id);
                if let Err(why) = values.layer_yaml(&name, json) {
                    unevaluable.push(format!("Values: {why}"));
                }
            }
            Some(v) if intrinsic(v).is_some() => unevaluable.push(format!(
                "Values is {} (it holds values computed at deploy): known only when the stack is deployed",
                describe(v)
            )),
            Some(_) => unevaluable.push("Values is not a JSON string".into()),
        }
        let fully = values.placeholders_found;
        if fully > 0 {
            plan.note(
                self.shown,
                format!(
                    "line {}: {}: {fully} Helm value(s) hold uninterpolated ${{...}} placeholders",
                    at.line, r.id
                ),
            );
        }
        for why in &unevaluable {
            plan.facts.unevaluable_values.push(Planned {
                address: r.id.to_string(),
                at: at.clone(),
                detail: why.clone(),
            });
        }
        plan.cilium.push(PlannedCilium {
            release,
            values: unevaluable.is_empty().then(|| values.into_value()),
        });
    }
}

/// Read one template into `plan`.
/// A launch template's `UserData` as EC2 returns it (base64): `Fn::Base64`
/// of a literal, or of `Fn::Sub` text (its `${…}` placeholders make the user
/// data parser leave max pods unknown), or a literal already in base64;
/// `Ok(None)` without user data, `Err` when only a deployed stack knows it.
fn launch_template_user_data(value: Option<&Value>) -> Result<Option<String>, &'static str> {
    use base64::Engine;
    let encode = |text: &str| base64::engine::general_purpose::STANDARD.encode(text);
    let Some(value) = value else {
        return Ok(None);
    };
    if let Some(text) = value.as_str() {
        return Ok(Some(text.to_string()));
    }
    match value.get("Fn::Base64") {
        Some(Value::String(text)) => Ok(Some(encode(text))),
        Some(inner) => match inner.get("Fn::Sub") {
            Some(Value::String(text)) => Ok(Some(encode(text))),
            Some(Value::Array(parts)) => match parts.first() {
                Some(Value::String(text)) => Ok(Some(encode(text))),
                _ => Err("is an Fn::Sub without literal text"),
            },
            _ => Err("is an intrinsic known only when the stack is deployed"),
        },
        None => Err("is an intrinsic known only when the stack is deployed"),
    }
}

#[cfg(test)]
pub(super) fn read(
    shown: &str,
    bytes: &[u8],
    options: &LoadOptions,
    plan: &mut Plan,
) -> Result<(), LoadError> {
    let doc = parse(shown, bytes, options)?;
    read_doc(shown, doc, &BTreeMap::new(), options, plan, 0)
}

fn parse(shown: &str, bytes: &[u8], options: &LoadOptions) -> Result<Located, LoadError> {
    let text = std::str::from_utf8(bytes).map_err(|e| {
        malformed(
            shown,
            None,
            format!("not UTF-8 text (byte {})", e.valid_up_to()),
        )
    })?;
    super::located::parse(shown, text, options)
}

/// Nested stacks read at most this deep.
const MAX_NESTING: u32 = 8;

/// A nested stack's `TemplateURL` when it is a local path (CDK synth
/// writes `*.nested.template.json` beside the parent), resolved against
/// the parent's directory.
fn local_template(parent: &str, url: &str) -> Option<PathBuf> {
    if url.contains("://") || url.starts_with("s3:") {
        return None;
    }
    let base = Path::new(parent).parent().unwrap_or(Path::new(""));
    Some(base.join(url))
}

/// The local nested templates a template names.
fn nested_templates(shown: &str, doc: &Located) -> Vec<PathBuf> {
    doc.value
        .get("Resources")
        .and_then(Value::as_object)
        .into_iter()
        .flat_map(|m| m.values())
        .filter(|r| r.get("Type").and_then(Value::as_str) == Some("AWS::CloudFormation::Stack"))
        .filter_map(|r| r.pointer("/Properties/TemplateURL").and_then(Value::as_str))
        .filter_map(|u| local_template(shown, u))
        .collect()
}

/// Read the templates given (each `(path shown, bytes)`): a template that
/// another one names as its nested stack is read through its parent, with
/// the parameters the parent passes.
pub(super) fn read_all(
    files: Vec<(String, Vec<u8>)>,
    parameters: &BTreeMap<String, String>,
    options: &LoadOptions,
    plan: &mut Plan,
) -> Result<(), LoadError> {
    let mut docs = Vec::new();
    for (shown, bytes) in files {
        let doc = parse(&shown, &bytes, options)?;
        docs.push((shown, doc));
    }
    let canonical = |p: &Path| std::fs::canonicalize(p).ok();
    let nested: Vec<PathBuf> = docs
        .iter()
        .flat_map(|(shown, doc)| nested_templates(shown, doc))
        .filter_map(|p| canonical(&p))
        .collect();
    for (shown, doc) in docs {
        if canonical(Path::new(&shown)).is_some_and(|p| nested.contains(&p)) {
            plan.note(
                &shown,
                "a nested stack of another template given: read through its parent, with the parameters it passes",
            );
            continue;
        }
        read_doc(&shown, doc, parameters, options, plan, 0)?;
    }
    Ok(())
}

/// Parameters, conditions and nested stacks resolved, then the resources read.
fn read_doc(
    shown: &str,
    mut doc: Located,
    given: &BTreeMap<String, String>,
    options: &LoadOptions,
    plan: &mut Plan,
    depth: u32,
) -> Result<(), LoadError> {
    let skipped_resources = resolve::apply(shown, &mut doc, given, plan);
    let Some(root) = doc.value.as_object() else {
        return Err(malformed(
            shown,
            Some(1),
            "a CloudFormation template is a mapping",
        ));
    };
    if let Some(v) = root.get("AWSTemplateFormatVersion") {
        let version = v
            .as_str()
            .map(str::to_string)
            .unwrap_or_else(|| v.to_string());
        if version != FORMAT_VERSION {
            return Err(malformed(
                shown,
                Some(doc.line("/AWSTemplateFormatVersion")),
                format!(
                    "AWSTemplateFormatVersion {version:?} is not one CloudFormation knows: the only valid value is \"{FORMAT_VERSION}\""
                ),
            ));
        }
    }
    let resources = match root.get("Resources") {
        Some(Value::Object(m)) => m,
        Some(_) => {
            return Err(malformed(
                shown,
                Some(doc.line("/Resources")),
                "`Resources` is not a mapping of logical IDs to resources",
            ))
        }
        None => {
            return Err(malformed(
                shown,
                None,
                "a CloudFormation template without `Resources`",
            ))
        }
    };
    if let Some(t) = root.get("Transform") {
        plan.note(
            shown,
            format!(
                "line {}: Transform {}: macros are not expanded; what they generate is not read",
                doc.line("/Transform"),
                serde_json::to_string(t).unwrap_or_default()
            ),
        );
    }
    let template = Template { shown, doc: &doc };
    let mut eks = 0;
    for (id, resource) in resources {
        if skipped_resources.contains(id) {
            continue;
        }
        let pointer = format!("/Resources/{}", escape(id));
        let Some(kind) = resource.get("Type").and_then(Value::as_str) else {
            return Err(malformed(
                shown,
                Some(doc.line(&pointer)),
                format!("resource {id} has no `Type` string"),
            ));
        };
        if kind == "AWS::CloudFormation::Stack" {
            template.nested_stack(id, &pointer, resource, options, plan, depth)?;
            continue;
        }
        if let Some(c) = resource.get("Condition") {
            if kind.starts_with("AWS::EKS::") || kind.starts_with("Custom::AWSCDK-EKS-") {
                plan.note(
                    shown,
                    format!(
                        "line {}: {id} is created only when condition {} holds: evaluated as if it is",
                        doc.line(&pointer),
                        c.as_str().unwrap_or("?")
                    ),
                );
            }
        }
        if kind.starts_with("AWS::EKS::") || kind.starts_with("Custom::AWSCDK-EKS-") {
            eks += 1;
        }
        static EMPTY: Value = Value::Null;
        let r = Resource {
            id,
            pointer,
            props: resource.get("Properties").unwrap_or(&EMPTY),
        };
        template.resource(&r, kind, plan);
    }
    plan.note(
        shown,
        format!(
            "CloudFormation template, {} resources ({eks} of EKS)",
            resources.len()
        ),
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_text(text: &str) -> Result<Plan, LoadError> {
        let mut plan = Plan::default();
        read(
            "t.yaml",
            text.as_bytes(),
            &LoadOptions::default(),
            &mut plan,
        )?;
        Ok(plan)
    }

    #[test]
    fn intrinsics_are_unknown_and_named_with_their_line() {
        let plan = read_text(
            "Resources:\n  C:\n    Type: AWS::EKS::Cluster\n    Properties:\n      Version: !Ref V\n      BootstrapSelfManagedAddons: false\n",
        )
        .unwrap();
        let c = &plan.clusters[0];
        assert_eq!(c.version, Fact::Unknown);
        assert_eq!(c.bootstrap_self_managed_addons, Fact::Known(false));
        assert_eq!(c.planned.as_ref().unwrap().at.line, 2);
        assert!(
            plan.notes
                .iter()
                .any(|n| n.note.starts_with("line 5: C.Version is Ref V")),
            "{:?}",
            plan.notes
        );
    }

    #[test]
    fn bad_templates_are_errors_naming_the_line() {
        let e = read_text("AWSTemplateFormatVersion: '2020-01-01'\nResources: {}\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("t.yaml") && e.contains("line 1"), "{e}");
        let e = read_text("Resources:\n  C:\n    Properties: {}\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("line 2") && e.contains("no `Type`"), "{e}");
        let e = read_text("Resources: [1, 2]\n").unwrap_err().to_string();
        assert!(e.contains("not a mapping"), "{e}");
        let e = read_text("{\"Resources\": {\"C\": {\"Type\": \"AWS::EKS::Cl")
            .unwrap_err()
            .to_string();
        assert!(e.contains("t.yaml"), "{e}");
    }
}
