//! Pulumi, experimental: `pulumi preview --json` and `pulumi stack export`.
//!
//! - A preview is `{config, steps: [{op, urn, newState: {type, inputs}}],
//!   changeSummary}` (Pulumi CLI docs, `pulumi preview --json`: "Serialize
//!   the preview diffs, operations, and overall output as JSON"). The format
//!   carries no version; it is read as such.
//! - A stack export is `{version: 3, deployment: {resources: [{urn, type,
//!   inputs, outputs}]}}` (Pulumi `apitype.DeploymentV3`); versions 1 to 3
//!   are read, another refused.
//!
//! Resources read (pulumi-aws, pulumi-kubernetes, pulumi-eks):
//! `aws:eks/cluster:Cluster` (`name`, `version`,
//! `bootstrapSelfManagedAddons`, `upgradePolicy.supportType`,
//! `kubernetesNetworkConfig.ipFamily`), `aws:eks/addon:Addon`,
//! `aws:eks/nodeGroup:NodeGroup`, `kubernetes:helm.sh/v3:Release` and
//! `kubernetes:helm.sh/v4:Chart` (`chart`, `version`, `values`), and the
//! component `eks:index:Cluster` for its obsolete `defaultAddonsToRemove`
//! (IAC002). Components' children are separate resources, so a pulumi-eks
//! v3 cluster's `VpcCniAddon` shows as its `aws:eks/addon:Addon` vpc-cni.
//!
//! Unknown values are the sentinel `04da6b54-80e4-46f7-96ec-b56ff0331ba9`
//! (pulumi/pulumi `sdk/go/common/resource/plugin/rpc.go` UnknownStringValue)
//! and secrets are `{"4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270", …}`
//! (`sig.Secret`): both are unknown here, and a secret's content is never
//! read or echoed.

use serde_json::Value;

use super::helm_values::{Values, UNKNOWN};
use super::located::Located;
use super::{
    is_cilium_chart, ChartRelease, Fact, ObsoleteOption, Plan, Planned, PlannedAddon,
    PlannedCilium, PlannedCluster, PlannedNodegroup,
};
use crate::findings::SourceLocation;
use crate::load::{LoadError, LoadOptions};

/// Pulumi's unknown-value sentinel.
pub(super) const UNKNOWN_SENTINEL: &str = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";
/// The key that marks a secret value (`sig.Secret`).
const SECRET_SIG_KEY: &str = "4dabf18193072939515e22adb298388d";

fn malformed(path: &str, line: Option<u32>, message: impl Into<String>) -> LoadError {
    LoadError::Malformed {
        path: path.to_string(),
        location: line.map(|l| format!("line {l}")),
        message: message.into(),
    }
}

fn is_unknown(v: &Value) -> bool {
    v.as_str() == Some(UNKNOWN_SENTINEL) || v.get(SECRET_SIG_KEY).is_some()
}

struct Stack<'a> {
    shown: &'a str,
    doc: &'a Located,
}

/// One resource: where it is, its URN, type and inputs.
struct Resource<'a> {
    pointer: String,
    urn: &'a str,
    kind: &'a str,
    inputs: &'a Value,
    /// A stack export's recorded outputs: what was deployed, read where the
    /// inputs leave a field to the provider (the EKS version).
    outputs: &'a Value,
    /// The preview step's operation (`create`, `replace`, …); `None` in a
    /// stack export.
    op: Option<&'a str>,
}

impl Resource<'_> {
    /// The resource's name: the URN's last `::` part.
    fn name(&self) -> &str {
        self.urn.rsplit("::").next().unwrap_or(self.urn)
    }
}

impl Stack<'_> {
    fn fact<'v>(&self, r: &Resource<'v>, path: &[&str], plan: &mut Plan) -> Fact<&'v Value> {
        match self.fact_in(r, r.inputs, "inputs", path, plan) {
            Fact::Absent if !r.outputs.is_null() => {
                self.fact_in(r, r.outputs, "outputs", path, plan)
            }
            f => f,
        }
    }

    fn fact_in<'v>(
        &self,
        r: &Resource<'v>,
        root: &'v Value,
        part: &str,
        path: &[&str],
        plan: &mut Plan,
    ) -> Fact<&'v Value> {
        let mut v = root;
        for key in path {
            if is_unknown(v) {
                break;
            }
            match v.get(*key) {
                Some(next) => v = next,
                None => return Fact::Absent,
            }
        }
        if v.is_null() {
            return Fact::Absent;
        }
        if is_unknown(v) {
            let line = self
                .doc
                .line(&format!("{}/{part}/{}", r.pointer, path.join("/")));
            plan.note(
                self.shown,
                format!(
                    "line {line}: {} {}: {} is unknown in this preview (computed from other resources' outputs, or a secret): the rules that need it are not evaluated",
                    r.kind,
                    r.name(),
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
            Fact::Known(_) | Fact::Absent => Fact::Absent,
            Fact::Unknown => Fact::Unknown,
        }
    }

    fn resource(&self, r: &Resource, plan: &mut Plan) {
        let at = SourceLocation::new(self.shown, self.doc.line(&r.pointer))
            .with_address(r.urn.to_string());
        let planned = |detail: String| Planned {
            address: r.urn.to_string(),
            at: at.clone(),
            detail,
        };
        match r.kind {
            "aws:eks/cluster:Cluster" => {
                let bootstrap = match self.fact(r, &["bootstrapSelfManagedAddons"], plan) {
                    Fact::Known(Value::Bool(b)) => Fact::Known(*b),
                    Fact::Unknown => Fact::Unknown,
                    _ => Fact::Absent,
                };
                let cluster = PlannedCluster {
                    name: self.text(r, &["name"], plan),
                    version: self.text(r, &["version"], plan),
                    bootstrap_self_managed_addons: bootstrap,
                    support_type: self.text(r, &["upgradePolicy", "supportType"], plan),
                    ip_family: self.text(r, &["kubernetesNetworkConfig", "ipFamily"], plan),
                    oidc_issuer: Fact::Absent,
                    planned: Some(planned(r.kind.to_string())),
                    unknown_noted: true,
                };
                plan.clusters.push(cluster);
                // pulumi-aws 6 `defaultAddonsToRemoves`, which pulumi-eks
                // v1 to v3 pass their `defaultAddonsToRemove` to.
                self.removed_addons(r, "defaultAddonsToRemoves", plan);
                if matches!(r.op, Some("replace" | "create-replacement")) {
                    plan.facts
                        .cluster_replacements
                        .push(planned(format!("Pulumi step op {}", r.op.unwrap_or(""))));
                }
            }
            "aws:eks/addon:Addon" => {
                let Fact::Known(name) = self.text(r, &["addonName"], plan) else {
                    return;
                };
                let configuration_values = match self.text(r, &["configurationValues"], plan) {
                    Fact::Known(c) => Some(c),
                    _ => None,
                };
                let version = self.text(r, &["addonVersion"], plan);
                plan.addons.push(PlannedAddon {
                    version,
                    configuration_values,
                    planned: planned(format!("aws:eks/addon:Addon {name}")),
                    name,
                });
            }
            "aws:eks/nodeGroup:NodeGroup" => {
                let name = match self.text(r, &["nodeGroupName"], plan) {
                    Fact::Known(n) => n,
                    _ => r.name().to_string(),
                };
                let instance_types = match self.fact(r, &["instanceTypes"], plan) {
                    Fact::Known(Value::Array(a)) => a
                        .iter()
                        .filter(|v| !is_unknown(v))
                        .filter_map(|s| s.as_str().map(str::to_string))
                        .collect(),
                    _ => Vec::new(),
                };
                let size = |key: &str| {
                    r.inputs
                        .get("scalingConfig")
                        .and_then(|s| s.get(key))
                        .and_then(Value::as_u64)
                        .and_then(|n| u32::try_from(n).ok())
                };
                let taints = match self.fact(r, &["taints"], plan) {
                    Fact::Known(Value::Array(ts)) => ts
                        .iter()
                        .filter_map(|t| {
                            Some((
                                t.get("key")?.as_str()?.to_string(),
                                t.get("value").and_then(Value::as_str).map(str::to_string),
                                t.get("effect")?.as_str()?.to_string(),
                            ))
                        })
                        .collect(),
                    _ => Vec::new(),
                };
                let labels = match self.fact(r, &["labels"], plan) {
                    Fact::Known(Value::Object(m)) => m
                        .iter()
                        .filter(|(k, _)| k.as_str() != "__defaults")
                        .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
                        .collect(),
                    _ => Default::default(),
                };
                let ami_type = match self.text(r, &["amiType"], plan) {
                    Fact::Known(a) => Some(a),
                    _ => None,
                };
                plan.nodegroups.push(PlannedNodegroup {
                    name,
                    instance_types,
                    ami_type,
                    min_size: size("minSize"),
                    max_size: size("maxSize"),
                    desired_size: size("desiredSize"),
                    taints,
                    labels,
                    planned: Some(planned(r.kind.to_string())),
                    launch_template: None,
                });
            }
            "kubernetes:helm.sh/v3:Release" | "kubernetes:helm.sh/v4:Chart" => {
                self.helm(r, at, plan)
            }
            "eks:index:Cluster" => {
                self.removed_addons(r, "defaultAddonsToRemove", plan);
                if let Some(v) = r.inputs.get("defaultAddonsToRemove") {
                    let pointer = format!("{}/inputs/defaultAddonsToRemove", r.pointer);
                    let value = (!is_unknown(v)).then(|| v.to_string());
                    plan.facts.obsolete_options.push(ObsoleteOption {
                        address: r.urn.to_string(),
                        at: SourceLocation::new(self.shown, self.doc.line(&pointer))
                            .with_address(r.urn.to_string()),
                        option: "defaultAddonsToRemove".into(),
                        value,
                    });
                }
            }
            _ => {}
        }
    }

    /// The default add-ons an input removes at cluster creation.
    fn removed_addons(&self, r: &Resource, input: &str, plan: &mut Plan) {
        if let Fact::Known(Value::Array(names)) =
            self.fact_in(r, r.inputs, "inputs", &[input], plan)
        {
            for name in names.iter().filter_map(Value::as_str) {
                let daemonset = match name {
                    "vpc-cni" => "aws-node",
                    "kube-proxy" => "kube-proxy",
                    _ => continue,
                };
                if !plan.removed_at_creation.contains(&daemonset) {
                    plan.removed_at_creation.push(daemonset);
                }
            }
        }
    }

    fn helm(&self, r: &Resource, at: SourceLocation, plan: &mut Plan) {
        let chart = match r.inputs.get("chart").and_then(Value::as_str) {
            Some(c) if !is_unknown(&r.inputs["chart"]) => c.to_string(),
            _ => return,
        };
        if !is_cilium_chart(&chart) {
            return;
        }
        let release = ChartRelease {
            address: r.urn.to_string(),
            at: at.clone(),
            chart,
            version: self.text(r, &["version"], plan),
        };
        let mut values = Values::default();
        let mut unevaluable = Vec::new();
        match r.inputs.get("values") {
            None | Some(Value::Null) => {}
            Some(v) if is_unknown(v) => unevaluable.push(
                "values is unknown in this preview (computed in an apply() over outputs known only after the update, or a secret)"
                    .to_string(),
            ),
            Some(Value::Object(_)) => {
                let mut known = r.inputs["values"].clone();
                let mut unknown_keys = Vec::new();
                mark_unknowns(&mut known, String::new(), &mut unknown_keys);
                for key in &unknown_keys {
                    plan.note(
                        self.shown,
                        format!(
                            "line {}: {}: Helm value {key} is unknown in this preview: kept as set, rules that read its value are not evaluated on it",
                            at.line,
                            r.name()
                        ),
                    );
                }
                let name = format!("{}: {} values", self.shown, r.name());
                let text = serde_json::to_string(&known).unwrap_or_default();
                if let Err(why) = values.layer_yaml(&name, &text) {
                    unevaluable.push(format!("values: {why}"));
                }
            }
            Some(_) => unevaluable.push("values is not a mapping".into()),
        }
        let fully = values.placeholders_found;
        if fully > 0 {
            plan.note(
                self.shown,
                format!(
                    "line {}: {}: {fully} Helm value(s) hold uninterpolated ${{...}} placeholders",
                    at.line,
                    r.name()
                ),
            );
        }
        for why in &unevaluable {
            plan.facts.unevaluable_values.push(Planned {
                address: r.urn.to_string(),
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

/// Unknown and secret leaves replaced by the "known after apply" text, their
/// dotted keys collected.
fn mark_unknowns(v: &mut Value, path: String, out: &mut Vec<String>) {
    if is_unknown(v) {
        *v = Value::String(UNKNOWN.into());
        out.push(path);
        return;
    }
    match v {
        Value::Object(m) => {
            for (k, child) in m.iter_mut() {
                let p = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                mark_unknowns(child, p, out);
            }
        }
        Value::Array(a) => {
            for (i, child) in a.iter_mut().enumerate() {
                mark_unknowns(child, format!("{path}[{i}]"), out);
            }
        }
        _ => {}
    }
}

/// Read one preview or stack export into `plan`.
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
    let stack = Stack { shown, doc: &doc };
    let read_one = |pointer: String, r: &Value, op: Option<&str>, plan: &mut Plan| {
        let state = if op.is_some() { &r["newState"] } else { r };
        let (Some(urn), Some(kind)) = (
            r.get("urn")
                .or_else(|| state.get("urn"))
                .and_then(Value::as_str),
            state.get("type").and_then(Value::as_str),
        ) else {
            return;
        };
        static EMPTY: Value = Value::Null;
        let state_pointer = if op.is_some() {
            format!("{pointer}/newState")
        } else {
            pointer
        };
        let resource = Resource {
            pointer: state_pointer,
            urn,
            kind,
            inputs: state.get("inputs").unwrap_or(&EMPTY),
            // A preview's outputs are the provider's guesses: inputs only.
            outputs: if op.is_some() {
                &EMPTY
            } else {
                state.get("outputs").unwrap_or(&EMPTY)
            },
            op,
        };
        stack.resource(&resource, plan);
    };
    let root = &doc.value;
    if let Some(steps) = root.get("steps") {
        let Some(steps) = steps.as_array() else {
            return Err(malformed(
                shown,
                Some(doc.line("/steps")),
                "Pulumi preview `steps` is not a list",
            ));
        };
        for (i, step) in steps.iter().enumerate() {
            let op = step.get("op").and_then(Value::as_str).unwrap_or("");
            // Deleted, discarded or only read: not part of the stack to be.
            if matches!(
                op,
                "delete"
                    | "discard"
                    | "read"
                    | "delete-replaced"
                    | "read-discard"
                    | "remove-pending-replace"
            ) {
                continue;
            }
            read_one(format!("/steps/{i}"), step, Some(op), plan);
        }
        plan.note(
            shown,
            format!(
                "Pulumi preview JSON, {} steps (experimental: the preview format carries no version)",
                steps.len()
            ),
        );
        return Ok(());
    }
    let version = root.get("version").and_then(Value::as_u64);
    let resources = root
        .get("deployment")
        .and_then(|d| d.get("resources"))
        .and_then(Value::as_array);
    match (version, resources) {
        (Some(v @ 1..=3), Some(resources)) => {
            for (i, r) in resources.iter().enumerate() {
                if r.get("delete").and_then(Value::as_bool) == Some(true) {
                    continue;
                }
                read_one(format!("/deployment/resources/{i}"), r, None, plan);
            }
            plan.note(
                shown,
                format!(
                    "Pulumi stack export, deployment version {v}, {} resources (experimental; a state records the stack as deployed)",
                    resources.len()
                ),
            );
            Ok(())
        }
        (Some(v), _) => Err(malformed(
            shown,
            Some(doc.line("/version")),
            format!("Pulumi stack export version {v} is not supported: this reader knows versions 1 to 3"),
        )),
        (None, _) => Err(malformed(
            shown,
            Some(1),
            "neither a Pulumi preview (`steps`) nor a stack export (`version`, `deployment.resources`)",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_text(text: &str) -> Result<Plan, LoadError> {
        let mut plan = Plan::default();
        read(
            "p.json",
            text.as_bytes(),
            &LoadOptions::default(),
            &mut plan,
        )?;
        Ok(plan)
    }

    #[test]
    fn unknown_values_are_unknown_and_secrets_never_read() {
        let plan = read_text(&format!(
            "{{\"steps\": [{{\"op\": \"create\", \"urn\": \"urn:pulumi:s::p::aws:eks/cluster:Cluster::c\",\n \"newState\": {{\"type\": \"aws:eks/cluster:Cluster\", \"inputs\": {{\"version\": \"{UNKNOWN_SENTINEL}\", \"name\": {{\"{SECRET_SIG_KEY}\": \"1b47061264138c4ac30d75fd1eb44270\", \"plaintext\": \"\\\"hush\\\"\"}}}}}}}}]}}"
        ))
        .unwrap();
        let c = &plan.clusters[0];
        assert_eq!(c.version, Fact::Unknown);
        assert_eq!(c.name, Fact::Unknown);
        assert!(!format!("{:?}", plan.notes).contains("hush"));
    }

    #[test]
    fn unknown_export_versions_are_refused_by_line() {
        let e = read_text("{\n\"version\": 9,\n\"deployment\": {\"resources\": []}}\n")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("p.json") && e.contains("line 2") && e.contains("version 9"),
            "{e}"
        );
        let e = read_text("{\"steps\": 3}").unwrap_err().to_string();
        assert!(e.contains("not a list"), "{e}");
    }

    #[test]
    fn the_obsolete_option_is_kept_with_its_line() {
        let plan = read_text("{\"steps\": [{\"op\": \"create\", \"urn\": \"urn:pulumi:s::p::eks:index:Cluster::c\",\n \"newState\": {\"type\": \"eks:index:Cluster\", \"inputs\": {\n\"defaultAddonsToRemove\": [\"vpc-cni\"]}}}]}").unwrap();
        let o = &plan.facts.obsolete_options[0];
        assert_eq!(o.at.line, 3);
        assert_eq!(o.value.as_deref(), Some("[\"vpc-cni\"]"));
    }
}
