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
//!   type when the node group lists none);
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

use serde_json::Value;

use super::helm_values::Values;
use super::located::{escape, intrinsic, Located};
use super::plan::command_effects;
use super::{
    ChartRelease, Fact, Plan, Planned, PlannedAddon, PlannedCilium, PlannedCluster,
    PlannedNodegroup,
};
use crate::findings::SourceLocation;
use crate::load::{LoadError, LoadOptions};

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
                    plan.facts
                        .addon_deletions
                        .push(planned(format!("{kind} deletes {what}")));
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
        if instance_types.is_empty() {
            // The launch template of this template, when named by Ref.
            if let Some(Value::String(lt)) = r
                .props
                .get("LaunchTemplate")
                .and_then(|l| l.get("Id").or_else(|| l.get("Name")))
                .and_then(|id| id.get("Ref"))
            {
                let data =
                    &self.doc.value["Resources"][lt.as_str()]["Properties"]["LaunchTemplateData"];
                if let Some(t) = data.get("InstanceType").and_then(Value::as_str) {
                    instance_types.push(t.to_string());
                }
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
            launch_template: None,
        });
    }

    fn helm_chart(&self, r: &Resource, at: SourceLocation, plan: &mut Plan) {
        let chart = match r.props.get("Chart") {
            Some(Value::String(c)) => c.clone(),
            _ => return,
        };
        if chart != "cilium" && !chart.ends_with("/cilium") {
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
pub(super) fn read(
    shown: &str,
    bytes: &[u8],
    options: &LoadOptions,
    plan: &mut Plan,
) -> Result<(), LoadError> {
    let text = std::str::from_utf8(bytes).map_err(|e| {
        malformed(
            shown,
            None,
            format!("not UTF-8 text (byte {})", e.valid_up_to()),
        )
    })?;
    let doc = super::located::parse(shown, text, options)?;
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
        let pointer = format!("/Resources/{}", escape(id));
        let Some(kind) = resource.get("Type").and_then(Value::as_str) else {
            return Err(malformed(
                shown,
                Some(doc.line(&pointer)),
                format!("resource {id} has no `Type` string"),
            ));
        };
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
