//! Terraform HCL sources (`.tf`), read where no plan JSON exists: what is
//! written literally, nothing evaluated.
//!
//! Parsed with hcl-rs's HCL parser (`hcl::edit`, which keeps byte spans:
//! every finding points at the line of its block or attribute). Read:
//! - `module "…" { source = "terraform-aws-modules/eks/aws" version = … }`:
//!   its inputs by the names of the module's major version, and what the
//!   module does with what is not set, from `data/iac-defaults.json`
//!   (built from `scripts/knowledge/terraform-aws-eks.json` and the shared
//!   `node_provisioning.json`): before v20.18 EKS bootstraps the
//!   self-managed add-ons (no input; the provider's default, true), v20.18+
//!   has `bootstrap_self_managed_addons` (default true), v21 hard-codes it
//!   false. A constraint that spans several majors (`>= 19`) leaves the
//!   behaviour unknown;
//! - `aws_eks_cluster`, `aws_eks_addon`, `aws_eks_node_group` with the
//!   `aws_launch_template` its `launch_template` block names (user data
//!   for CAP001's future nodes),
//!   `helm_release` (the Cilium chart: `version`, `values` literal, from
//!   `file()`/`templatefile()` with a literal path, or `yamlencode()` of a
//!   literal object; `set`/`set_list`/`set_sensitive` blocks or lists),
//!   and aws-ia/eks-blueprints-addon's release with the Helm values its
//!   `set_irsa_names` gives the role it creates;
//! - who gets a role: `aws_eks_pod_identity_association` and
//!   `kubernetes_service_account` with the IRSA annotation (the role by its
//!   literal ARN, else known only after apply), so IAM002 does not take a
//!   ServiceAccount with a role for one on the node role;
//! - commands in `null_resource`/`terraform_data` provisioners, Jobs and
//!   manifests that delete or patch aws-node.
//!
//! A variable, local, reference or function call is *unknown*: it never
//! fires, and an input note names the attribute, its line and the
//! expression. `count`/`for_each` are not expanded.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::OnceLock;

use hcl::edit::expr::{Expression, ObjectKey};
use hcl::edit::structure::{Attribute, Block, Body, Structure};
use hcl::edit::Span;
use serde_json::{Map, Value};

use super::helm_values::{SetValue, Values};
use super::plan::command_effects;
use super::{
    iam, is_cilium_chart, AddonDeletion, ChartRelease, Fact, Plan, Planned, PlannedAddon,
    PlannedCilium, PlannedCluster, PlannedNodegroup,
};
use crate::findings::SourceLocation;
use crate::load::LoadError;
use crate::version::Version;

/// `data/iac-defaults.json`, built by `scripts/build-knowledge.py`.
const DEFAULTS: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../data/iac-defaults.json"
));

/// The eks module's behaviour in one major version.
#[derive(Debug, serde::Deserialize)]
struct Major {
    inputs: BTreeMap<String, String>,
    bootstrap_self_managed_addons: Bootstrap,
    source: String,
}

#[derive(Debug, serde::Deserialize)]
struct Bootstrap {
    input: Option<String>,
    #[serde(default)]
    input_from: Option<String>,
    #[serde(default)]
    default: Option<bool>,
    #[serde(default)]
    hardcoded: Option<bool>,
}

#[derive(Debug, serde::Deserialize)]
struct EksModule {
    module_source: String,
    majors: BTreeMap<u64, Major>,
}

fn eks_module() -> &'static EksModule {
    static M: OnceLock<EksModule> = OnceLock::new();
    M.get_or_init(|| {
        let doc: Value = serde_json::from_str(DEFAULTS).expect("data/iac-defaults.json is JSON");
        serde_json::from_value(doc["terraform_aws_eks"].clone())
            .expect("data/iac-defaults.json terraform_aws_eks has the expected shape")
    })
}

/// The single major version a Terraform version constraint allows
/// (`~> 19.0`, `20.8.4`, `>= 20.0, < 21.0`), or `None` when it allows
/// several or cannot be read.
pub(super) fn single_major(constraint: &str) -> Option<u64> {
    let mut lower = 0u64;
    let mut upper = u64::MAX; // exclusive
    for part in constraint.split(',') {
        let part = part.trim();
        let (op, v) = match part.find(|c: char| c.is_ascii_digit()) {
            Some(at) => (part[..at].trim(), part[at..].trim()),
            None => return None,
        };
        let nums: Vec<u64> = v
            .split(['.', '-', '+'])
            .take(3)
            .map(|n| n.parse().ok())
            .collect::<Option<_>>()?;
        let major = *nums.first()?;
        let rest_zero = nums.iter().skip(1).all(|n| *n == 0);
        match op {
            "" | "=" => {
                lower = lower.max(major);
                upper = upper.min(major + 1);
            }
            "~>" if nums.len() >= 2 => {
                lower = lower.max(major);
                upper = upper.min(major + 1);
            }
            "~>" | ">=" => lower = lower.max(major),
            ">" => lower = lower.max(if nums.len() == 1 { major + 1 } else { major }),
            "<" => upper = upper.min(if rest_zero { major } else { major + 1 }),
            "<=" => upper = upper.min(major + 1),
            "!=" => {}
            _ => return None,
        }
    }
    (upper != u64::MAX && upper == lower + 1).then_some(lower)
}

/// Byte offsets of line starts, for spans to lines.
struct Lines(Vec<usize>);

impl Lines {
    fn of(text: &str) -> Lines {
        let mut starts = vec![0];
        starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        Lines(starts)
    }

    fn line(&self, offset: usize) -> u32 {
        let i = match self.0.binary_search(&offset) {
            Ok(i) => i,
            Err(i) => i.saturating_sub(1),
        };
        u32::try_from(i + 1).unwrap_or(u32::MAX)
    }
}

struct File<'a> {
    shown: &'a str,
    dir: &'a Path,
    text: &'a str,
    lines: Lines,
}

/// A literal value, or why the expression is not one (its source text).
type Literal = Result<Value, String>;

impl File<'_> {
    fn line_of(&self, span: Option<std::ops::Range<usize>>) -> u32 {
        span.map_or(1, |s| self.lines.line(s.start))
    }

    fn at(&self, span: Option<std::ops::Range<usize>>, address: &str) -> SourceLocation {
        SourceLocation::new(self.shown, self.line_of(span)).with_address(address)
    }

    /// The expression as written (shortened), for notes.
    fn source_of(&self, expr: &Expression) -> String {
        let text = expr
            .span()
            .and_then(|s| self.text.get(s))
            .unwrap_or("an expression")
            .trim();
        let one: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
        if one.chars().count() > 60 {
            format!("{}…", one.chars().take(60).collect::<String>())
        } else {
            one
        }
    }

    fn literal(&self, expr: &Expression) -> Literal {
        match expr {
            Expression::Null(_) => Ok(Value::Null),
            Expression::Bool(b) => Ok(Value::Bool(*b.value())),
            Expression::Number(n) => {
                let n = n.value();
                Ok(n.as_u64()
                    .map(Value::from)
                    .or_else(|| n.as_i64().map(Value::from))
                    .or_else(|| {
                        n.as_f64()
                            .and_then(serde_json::Number::from_f64)
                            .map(Value::Number)
                    })
                    .unwrap_or(Value::Null))
            }
            Expression::String(s) => Ok(Value::String(s.value().clone())),
            Expression::Array(a) => a
                .iter()
                .map(|e| self.literal(e))
                .collect::<Result<_, _>>()
                .map(Value::Array),
            Expression::Object(o) => {
                let mut map = Map::new();
                for (k, v) in o.iter() {
                    let key = match k {
                        ObjectKey::Ident(i) => i.as_str().to_string(),
                        ObjectKey::Expression(e) => match self.literal(e)? {
                            Value::String(s) => s,
                            other => other.to_string(),
                        },
                    };
                    map.insert(key, self.literal(v.expr())?);
                }
                Ok(Value::Object(map))
            }
            Expression::HeredocTemplate(h) => {
                let mut out = String::new();
                for element in h.template.iter() {
                    match element.as_literal() {
                        Some(s) => out.push_str(s.value()),
                        None => {
                            return Err(format!(
                                "a heredoc with interpolations (`{}`)",
                                self.source_of(expr)
                            ))
                        }
                    }
                }
                // `<<-`: hcl-edit's parser has already stripped the common
                // indentation (`h.indent()` says how much); stripping it
                // again would flatten nested YAML.
                Ok(Value::String(out))
            }
            Expression::Parenthesis(p) => self.literal(p.inner()),
            _ => Err(format!("`{}`", self.source_of(expr))),
        }
    }

    /// `attr` of `body`: known, unknown (noted, naming it) or absent.
    fn fact(&self, body: &Body, attr: &str, address: &str, plan: &mut Plan) -> Fact<Value> {
        let Some(a) = body.get_attribute(attr) else {
            return Fact::Absent;
        };
        self.fact_of(a, attr, address, plan)
    }

    fn fact_of(&self, a: &Attribute, name: &str, address: &str, plan: &mut Plan) -> Fact<Value> {
        match self.literal(&a.value) {
            Ok(Value::Null) => Fact::Absent,
            Ok(v) => Fact::Known(v),
            Err(what) => {
                self.unknown_note(a.span(), address, name, &what, plan);
                Fact::Unknown
            }
        }
    }

    fn unknown_note(
        &self,
        span: Option<std::ops::Range<usize>>,
        address: &str,
        name: &str,
        what: &str,
        plan: &mut Plan,
    ) {
        plan.note(
            self.shown,
            format!(
                "line {}: {address}: {name} is {what}, not a literal: variables, locals and expressions are not evaluated from HCL (give plan JSON), the rules that need it are not evaluated",
                self.line_of(span)
            ),
        );
    }

    fn text(&self, body: &Body, attr: &str, address: &str, plan: &mut Plan) -> Fact<String> {
        text_of(self.fact(body, attr, address, plan))
    }

    fn block(&self, block: &Block, plan: &mut Plan) {
        let labels: Vec<&str> = block.labels.iter().map(|l| l.as_str()).collect();
        match (block.ident.as_str(), labels.as_slice()) {
            ("module", [name]) => self.module(block, name, plan),
            ("resource", [kind, name]) => self.resource(block, kind, name, plan),
            _ => {}
        }
    }

    fn resource(&self, block: &Block, kind: &str, name: &str, plan: &mut Plan) {
        let address = format!("{kind}.{name}");
        let body = &block.body;
        let at = self.at(block.span(), &address);
        let modelled = matches!(
            kind,
            "aws_eks_cluster"
                | "aws_eks_addon"
                | "aws_eks_node_group"
                | "helm_release"
                | "aws_eks_pod_identity_association"
                | "kubernetes_service_account"
                | "kubernetes_service_account_v1"
                | "aws_launch_template"
        );
        let commands = matches!(
            kind,
            "null_resource"
                | "terraform_data"
                | "kubernetes_job"
                | "kubernetes_job_v1"
                | "kubectl_manifest"
                | "kubernetes_manifest"
                | "kubernetes_daemon_set_v1"
                | "kubernetes_daemonset"
                | "cilium"
        );
        if !modelled && !commands {
            return;
        }
        if let Some(count) = body.get_attribute("count") {
            match self.literal(&count.value) {
                Ok(Value::Number(n)) if n.as_u64() == Some(0) => return,
                Ok(_) => {}
                // A command is in the code either way (IAC001 is about the
                // code); a cluster part may or may not be created.
                Err(_) if commands => {}
                Err(what) => {
                    plan.note(
                        self.shown,
                        format!(
                            "line {}: {address}: count is {what}: whether it is created is known only at plan time, it is not read",
                            at.line
                        ),
                    );
                    return;
                }
            }
        }
        if body.get_attribute("for_each").is_some() {
            plan.note(
                self.shown,
                format!(
                    "line {}: {address}: for_each is not expanded: read as one resource",
                    at.line
                ),
            );
        }
        let planned = |detail: String| Planned {
            address: address.clone(),
            at: at.clone(),
            detail,
        };
        match kind {
            "aws_eks_cluster" => {
                let upgrade = body.get_blocks("upgrade_policy").next();
                let network = body.get_blocks("kubernetes_network_config").next();
                let cluster = PlannedCluster {
                    name: self.text(body, "name", &address, plan),
                    version: self.text(body, "version", &address, plan),
                    bootstrap_self_managed_addons: boolean(self.fact(
                        body,
                        "bootstrap_self_managed_addons",
                        &address,
                        plan,
                    )),
                    support_type: upgrade.map_or(Fact::Absent, |b| {
                        self.text(&b.body, "support_type", &address, plan)
                    }),
                    ip_family: network.map_or(Fact::Absent, |b| {
                        self.text(&b.body, "ip_family", &address, plan)
                    }),
                    oidc_issuer: Fact::Absent,
                    planned: Some(planned("aws_eks_cluster".into())),
                    unknown_noted: true,
                };
                plan.clusters.push(cluster);
            }
            "aws_eks_addon" => {
                let Fact::Known(name) = self.text(body, "addon_name", &address, plan) else {
                    return;
                };
                let version = self.text(body, "addon_version", &address, plan);
                let configuration_values = self
                    .text(body, "configuration_values", &address, plan)
                    .known()
                    .cloned();
                plan.addons.push(PlannedAddon {
                    version,
                    configuration_values,
                    planned: planned(format!("aws_eks_addon {name}")),
                    name,
                });
            }
            "aws_eks_node_group" => {
                let group_name = match self.text(body, "node_group_name", &address, plan) {
                    Fact::Known(n) => n,
                    _ => address.clone(),
                };
                let scaling = body.get_blocks("scaling_config").next();
                let size = |key: &str, plan: &mut Plan| {
                    scaling.and_then(|b| {
                        self.fact(&b.body, key, &address, plan)
                            .known()
                            .and_then(Value::as_u64)
                            .and_then(|n| u32::try_from(n).ok())
                    })
                };
                let mut taints = Vec::new();
                for t in body.get_blocks("taint") {
                    let key = self.text(&t.body, "key", &address, plan);
                    let value = self.text(&t.body, "value", &address, plan);
                    let effect = self.text(&t.body, "effect", &address, plan);
                    if let (Fact::Known(k), Fact::Known(e)) = (key, effect) {
                        taints.push((k, value.known().cloned(), e));
                    }
                }
                let group = PlannedNodegroup {
                    name: group_name,
                    instance_types: strings(&self.fact(body, "instance_types", &address, plan)),
                    ami_type: self.text(body, "ami_type", &address, plan).known().cloned(),
                    min_size: size("min_size", plan),
                    max_size: size("max_size", plan),
                    desired_size: size("desired_size", plan),
                    taints,
                    labels: labels(&self.fact(body, "labels", &address, plan)),
                    planned: Some(planned("aws_eks_node_group".into())),
                    launch_template: body
                        .get_blocks("launch_template")
                        .next()
                        .map(|b| self.launch_template_ref(&b.body)),
                };
                plan.nodegroups.push(group);
            }
            "helm_release" => {
                self.helm_release(block, &address, "version", Ok(Vec::new()), at, plan)
            }
            "aws_launch_template" => self.launch_template(body, &address, &at, plan),
            "aws_eks_pod_identity_association" => {
                let (Fact::Known(namespace), Fact::Known(service_account)) = (
                    self.text(body, "namespace", &address, plan),
                    self.text(body, "service_account", &address, plan),
                ) else {
                    return;
                };
                let role = match self.text(body, "role_arn", &address, plan) {
                    Fact::Known(arn) => iam::Ref::Arn(arn),
                    _ => iam::Ref::Unknown(format!("{address}.role_arn")),
                };
                plan.iam.identities.push(iam::PlannedIdentity {
                    binding: iam::Binding::PodIdentity,
                    namespace,
                    service_account,
                    role,
                    planned: planned("aws_eks_pod_identity_association".into()),
                });
            }
            "kubernetes_service_account" | "kubernetes_service_account_v1" => {
                if let Some(identity) =
                    self.irsa_service_account(body, &address, planned(kind.into()), plan)
                {
                    plan.iam.identities.push(identity);
                }
            }
            // The littlejo/cilium provider (the cilium CLI as a library).
            "cilium" => {
                plan.cilium_other = Some(planned(format!(
                    "resource {address} (the cilium Terraform provider)"
                )));
            }
            "null_resource"
            | "terraform_data"
            | "kubernetes_job"
            | "kubernetes_job_v1"
            | "kubectl_manifest"
            | "kubernetes_manifest"
            | "kubernetes_daemon_set_v1"
            | "kubernetes_daemonset" => {
                let body_text = block.span().and_then(|s| self.text.get(s)).unwrap_or("");
                let (deleted, patched) = command_effects(body_text);
                for what in deleted {
                    plan.facts.addon_deletions.push(AddonDeletion {
                        daemonset: what,
                        planned: planned(format!("{kind} deletes {what}")),
                    });
                }
                if patched {
                    plan.aws_node_patched = Some(planned(format!("{kind} patches aws-node")));
                } else if patches_aws_node(body_text) {
                    plan.aws_node_patch_unknown = Some(planned(format!("{kind} patches aws-node")));
                }
            }
            _ => {}
        }
    }

    fn module(&self, block: &Block, name: &str, plan: &mut Plan) {
        let body = &block.body;
        let address = format!("module.{name}");
        let Some(Ok(Value::String(source))) =
            body.get_attribute("source").map(|a| self.literal(&a.value))
        else {
            return;
        };
        // aws-ia/eks-blueprints-addon: a helm_release with the module's
        // inputs (terraform-aws-eks-blueprints-addon variables.tf).
        if source.contains("eks-blueprints-addon") && !source.contains("eks-blueprints-addons") {
            let at = self.at(block.span(), &address);
            let irsa_names = self.blueprint_irsa_names(body, &address, plan);
            self.helm_release(block, &address, "chart_version", irsa_names, at, plan);
            return;
        }
        if source.contains("helm-cilium") || source.ends_with("/cilium") {
            plan.cilium_other = Some(Planned {
                address: address.clone(),
                at: self.at(block.span(), &address),
                detail: format!("module {address} ({source})"),
            });
            return;
        }
        let m = eks_module();
        let is_eks = source == m.module_source
            || source.ends_with(&format!("//{}", m.module_source))
            || source.contains("terraform-aws-modules/terraform-aws-eks");
        if !is_eks || source.contains("//modules/") {
            return;
        }
        let at = self.at(block.span(), &address);
        let constraint = match body
            .get_attribute("version")
            .map(|a| self.literal(&a.value))
        {
            Some(Ok(Value::String(v))) => Some(v),
            _ => None,
        };
        let major = constraint.as_deref().and_then(single_major);
        let Some((major, behaviour)) = major.and_then(|v| m.majors.get(&v).map(|b| (v, b))) else {
            let why = match &constraint {
                None => "no version constraint (each init takes the newest release)".to_string(),
                Some(c) => match single_major(c) {
                    Some(v) => format!("version {c:?}: major v{v}, of which this tool has no data (it knows v{})", m.majors.keys().map(u64::to_string).collect::<Vec<_>>().join(", v")),
                    None => format!("version {c:?} allows several major versions, which set the cluster up differently"),
                },
            };
            plan.note(
                self.shown,
                format!(
                    "line {}: {address}: terraform-aws-modules/eks with {why}: its inputs and defaults are not evaluated; pin one major version (`version = \"~> 21.0\"`) or give plan JSON",
                    at.line
                ),
            );
            plan.clusters.push(PlannedCluster {
                name: Fact::Unknown,
                version: Fact::Unknown,
                bootstrap_self_managed_addons: Fact::Unknown,
                support_type: Fact::Unknown,
                ip_family: Fact::Unknown,
                oidc_issuer: Fact::Absent,
                planned: Some(Planned {
                    address,
                    at,
                    detail: format!(
                        "module terraform-aws-modules/eks {}",
                        constraint.unwrap_or_default()
                    ),
                }),
                unknown_noted: true,
            });
            return;
        };
        fn input<'a>(behaviour: &'a Major, field: &'a str) -> &'a str {
            behaviour
                .inputs
                .get(field)
                .map(String::as_str)
                .unwrap_or(field)
        }
        let input = |field: &'static str| input(behaviour, field);
        let bootstrap = match (
            &behaviour.bootstrap_self_managed_addons,
            body.get_attribute("bootstrap_self_managed_addons"),
        ) {
            (
                Bootstrap {
                    hardcoded: Some(b), ..
                },
                given,
            ) => {
                if given.is_some() {
                    plan.note(self.shown, format!("line {}: {address}: bootstrap_self_managed_addons is ignored by terraform-aws-modules/eks v{major} (hard-coded {b}; {})", self.line_of(given.and_then(Span::span)), behaviour.source));
                }
                Fact::Known(*b)
            }
            (
                Bootstrap {
                    input: Some(i),
                    default,
                    ..
                },
                Some(a),
            ) if a.key.as_str() == i => match boolean(self.fact_of(a, i, &address, plan)) {
                Fact::Absent => default.map_or(Fact::Absent, Fact::Known),
                f => f,
            },
            (b, _) => b.default.map_or(Fact::Absent, Fact::Known),
        };
        if let Bootstrap {
            input: Some(i),
            input_from: Some(from),
            ..
        } = &behaviour.bootstrap_self_managed_addons
        {
            if body.get_attribute(i).is_some() {
                let note = format!(
                    "line {}: {address}: {i} exists from terraform-aws-modules/eks {from} on",
                    at.line
                );
                if constraint.as_deref().is_some_and(|c| {
                    let min = c
                        .split(',')
                        .filter_map(|p| {
                            p.trim()
                                .trim_start_matches(['~', '>', '=', ' '])
                                .parse::<Version>()
                                .ok()
                        })
                        .next();
                    min.is_some_and(|v| v < from.parse().unwrap_or(v))
                }) {
                    plan.note(self.shown, note);
                }
            }
        }
        let upgrade = match body
            .get_attribute(input("upgrade_policy"))
            .map(|a| self.fact_of(a, input("upgrade_policy"), &address, plan))
        {
            Some(Fact::Known(v)) => text_of(
                v.get("support_type")
                    .cloned()
                    .map_or(Fact::Absent, Fact::Known),
            ),
            Some(Fact::Unknown) => Fact::Unknown,
            _ => Fact::Absent,
        };
        let cluster_name = self.text(body, input("name"), &address, plan);
        let version = self.text(body, input("version"), &address, plan);
        let ip_family = self.text(body, input("ip_family"), &address, plan);
        plan.clusters.push(PlannedCluster {
            name: cluster_name,
            version,
            bootstrap_self_managed_addons: bootstrap,
            support_type: upgrade,
            ip_family,
            oidc_issuer: Fact::Absent,
            planned: Some(Planned {
                address: address.clone(),
                at: at.clone(),
                detail: format!(
                    "module terraform-aws-modules/eks {} (v{major}: {})",
                    constraint.clone().unwrap_or_default(),
                    behaviour.source
                ),
            }),
            unknown_noted: true,
        });
        plan.note(
            self.shown,
            format!(
                "line {}: {address}: terraform-aws-modules/eks {}: read as v{major} ({}); its other defaults are not modelled",
                at.line,
                constraint.as_deref().unwrap_or_default(),
                match (&behaviour.bootstrap_self_managed_addons.hardcoded, &behaviour.bootstrap_self_managed_addons.input) {
                    (Some(b), _) => format!("bootstrap_self_managed_addons hard-coded {b}"),
                    (None, Some(i)) => format!("{i} default {}", behaviour.bootstrap_self_managed_addons.default.unwrap_or(true)),
                    (None, None) => "no bootstrap_self_managed_addons input: EKS bootstraps the self-managed add-ons".into(),
                }
            ),
        );
        // Managed add-ons: the keys of the add-ons map.
        let addons_input = input("addons");
        if let Some(a) = body.get_attribute(addons_input) {
            let line = self.line_of(a.span());
            match &a.value {
                Expression::Object(o) => {
                    for (k, v) in o.iter() {
                        let key = match k {
                            ObjectKey::Ident(i) => i.as_str().to_string(),
                            ObjectKey::Expression(e) => match self.literal(e) {
                                Ok(Value::String(s)) => s,
                                _ => {
                                    self.unknown_note(
                                        a.span(),
                                        &address,
                                        &format!("a key of {addons_input}"),
                                        &format!("`{}`", self.source_of(e)),
                                        plan,
                                    );
                                    continue;
                                }
                            },
                        };
                        let entry = self.literal(v.expr()).unwrap_or(Value::Null);
                        let name = entry
                            .get("name")
                            .and_then(Value::as_str)
                            .map(str::to_string)
                            .unwrap_or(key.clone());
                        let line = self.line_of(v.expr().span().or(a.span()));
                        plan.addons.push(PlannedAddon {
                            version: text_of(
                                entry
                                    .get("addon_version")
                                    .cloned()
                                    .map_or(Fact::Absent, Fact::Known),
                            ),
                            configuration_values: entry
                                .get("configuration_values")
                                .and_then(Value::as_str)
                                .map(str::to_string),
                            planned: Planned {
                                address: format!("{address}.{addons_input}[\"{key}\"]"),
                                at: SourceLocation::new(self.shown, line).with_address(format!(
                                    "{address}.aws_eks_addon.this[\"{key}\"]"
                                )),
                                detail: format!("module input {addons_input} key {key}"),
                            },
                            name,
                        });
                    }
                }
                other => {
                    let _ = line;
                    self.unknown_note(
                        a.span(),
                        &address,
                        addons_input,
                        &format!("`{}`", self.source_of(other)),
                        plan,
                    );
                }
            }
        }
        // EKS managed node groups: the map's entries.
        if let Some(a) = body.get_attribute("eks_managed_node_groups") {
            match &a.value {
                Expression::Object(o) => {
                    for (k, v) in o.iter() {
                        let key = match k {
                            ObjectKey::Ident(i) => i.as_str().to_string(),
                            ObjectKey::Expression(e) => match self.literal(e) {
                                Ok(Value::String(s)) => s,
                                _ => continue,
                            },
                        };
                        self.module_nodegroup(&address, &key, v.expr(), plan);
                    }
                }
                other => self.unknown_note(
                    a.span(),
                    &address,
                    "eks_managed_node_groups",
                    &format!("`{}`", self.source_of(other)),
                    plan,
                ),
            }
        }
    }

    fn module_nodegroup(&self, module: &str, key: &str, expr: &Expression, plan: &mut Plan) {
        let address = format!("{module}.eks_managed_node_groups[\"{key}\"]");
        let at = self.at(expr.span(), &address);
        let Expression::Object(o) = expr else {
            self.unknown_note(
                expr.span(),
                module,
                &format!("eks_managed_node_groups[\"{key}\"]"),
                &format!("`{}`", self.source_of(expr)),
                plan,
            );
            return;
        };
        let field = |name: &str, plan: &mut Plan| -> Fact<Value> {
            for (k, v) in o.iter() {
                let matches = match k {
                    ObjectKey::Ident(i) => i.as_str() == name,
                    ObjectKey::Expression(e) => {
                        self.literal(e).ok().as_ref().and_then(Value::as_str) == Some(name)
                    }
                };
                if matches {
                    return match self.literal(v.expr()) {
                        Ok(Value::Null) => Fact::Absent,
                        Ok(v) => Fact::Known(v),
                        Err(what) => {
                            self.unknown_note(v.expr().span(), &address, name, &what, plan);
                            Fact::Unknown
                        }
                    };
                }
            }
            Fact::Absent
        };
        let size = |name: &str, plan: &mut Plan| {
            field(name, plan)
                .known()
                .and_then(Value::as_u64)
                .and_then(|n| u32::try_from(n).ok())
        };
        // Taints: a map of {key, value, effect} (v19+) or a list of them.
        let taints = match field("taints", plan) {
            Fact::Known(Value::Object(m)) => m.values().cloned().collect(),
            Fact::Known(Value::Array(a)) => a,
            _ => Vec::new(),
        }
        .iter()
        .filter_map(|t| {
            Some((
                t.get("key")?.as_str()?.to_string(),
                t.get("value").and_then(Value::as_str).map(str::to_string),
                t.get("effect")?.as_str()?.to_string(),
            ))
        })
        .collect();
        let name = field("name", plan)
            .known()
            .and_then(Value::as_str)
            .map(str::to_string)
            .unwrap_or_else(|| key.to_string());
        let group = PlannedNodegroup {
            name,
            instance_types: strings(&field("instance_types", plan)),
            ami_type: field("ami_type", plan)
                .known()
                .and_then(Value::as_str)
                .map(str::to_string),
            min_size: size("min_size", plan),
            max_size: size("max_size", plan),
            desired_size: size("desired_size", plan),
            taints,
            labels: labels(&field("labels", plan)),
            planned: Some(Planned {
                address,
                at,
                detail: "module eks_managed_node_groups entry".into(),
            }),
            launch_template: None,
        };
        plan.nodegroups.push(group);
    }

    /// A values file named by `file()`/`templatefile()` with a literal
    /// path (`"x.yaml"`, `"${path.module}/x.yaml"`), read beside the `.tf`.
    fn values_file(&self, expr: &Expression) -> Option<Result<String, String>> {
        let Expression::FuncCall(call) = expr else {
            return None;
        };
        let fname = call.name.name.as_str();
        if fname != "file" && fname != "templatefile" {
            return None;
        }
        self.file_beside(call, expr)
    }

    /// The text of the file a call's first argument names, a literal path
    /// (or `${path.module}/…`) beside the `.tf`; `expr` is the call, for
    /// messages.
    fn file_beside(
        &self,
        call: &hcl::edit::expr::FuncCall,
        expr: &Expression,
    ) -> Option<Result<String, String>> {
        let arg = call.args.iter().next()?;
        let rel = match arg {
            Expression::String(s) => s.value().clone(),
            Expression::StringTemplate(_) => {
                let text = self.source_of(arg);
                let inner = text.trim_matches('"');
                match inner.strip_prefix("${path.module}/") {
                    Some(rest) if !rest.contains("${") => rest.to_string(),
                    _ => return Some(Err(format!("`{}`", self.source_of(expr)))),
                }
            }
            _ => return Some(Err(format!("`{}`", self.source_of(expr)))),
        };
        let path = self.dir.join(&rel);
        Some(match std::fs::metadata(&path) {
            Ok(m) if m.len() > 16 * 1024 * 1024 => Err(format!("{rel}: over 16 MiB")),
            Ok(_) => std::fs::read_to_string(&path).map_err(|e| format!("{rel}: {e}")),
            Err(_) => Err(format!(
                "`{}` (the file {rel} is not beside the .tf)",
                self.source_of(expr)
            )),
        })
    }

    /// An `aws_launch_template` as the version a node group gets: its id is
    /// its address (node groups name it by reference), its user data read
    /// when written literally (a base64 string, `base64encode()` of a
    /// literal or heredoc, `filebase64()`/`base64encode(file())` of a file
    /// beside the `.tf`). Other user data is noted and the template left
    /// out, so its node groups' max pods is not evaluated (never guessed).
    fn launch_template(&self, body: &Body, address: &str, at: &SourceLocation, plan: &mut Plan) {
        use base64::Engine;
        let name = match self.literal_attr(body, "name") {
            Some(Value::String(n)) => n,
            _ => address.to_string(),
        };
        let mut data = Map::new();
        if let Some(Value::String(t)) = self.literal_attr(body, "instance_type") {
            data.insert("InstanceType".into(), Value::String(t));
        }
        // Any image_id is a custom AMI, whatever its value.
        if let Some(a) = body.get_attribute("image_id") {
            let id = match self.literal(&a.value) {
                Ok(Value::String(id)) => id,
                _ => format!("(known after apply: {})", self.source_of(&a.value)),
            };
            data.insert("ImageId".into(), Value::String(id));
        }
        let encode = |text: String| base64::engine::general_purpose::STANDARD.encode(text);
        let user_data = match body.get_attribute("user_data").map(|a| &a.value) {
            None => Ok(None),
            Some(expr) => match (self.literal(expr), expr) {
                (Ok(Value::String(b64)), _) => Ok(Some(b64)),
                (_, Expression::FuncCall(call)) => {
                    let arg = call.args.iter().next();
                    match (call.name.name.as_str(), arg) {
                        ("base64encode", Some(arg)) => {
                            match (self.literal(arg), self.values_file(arg)) {
                                (Ok(Value::String(text)), _) => Ok(Some(encode(text))),
                                (_, Some(read)) => read.map(|t| Some(encode(t))),
                                _ => Err(format!("is `{}`", self.source_of(expr))),
                            }
                        }
                        ("filebase64", Some(_)) => match self.file_beside(call, expr) {
                            Some(read) => read.map(|t| Some(encode(t))),
                            None => Err(format!("is `{}`", self.source_of(expr))),
                        },
                        _ => Err(format!("is `{}`", self.source_of(expr))),
                    }
                }
                _ => Err(format!("is `{}`", self.source_of(expr))),
            },
        };
        match user_data {
            Ok(user_data) => {
                if let Some(u) = user_data {
                    data.insert("UserData".into(), Value::String(u));
                }
                plan.launch_template(Some(address), &name, data);
            }
            Err(why) => plan.note(
                self.shown,
                format!(
                    "line {}: {address}: user_data {why}, not a literal: the max pods of the node groups that use it is not evaluated",
                    at.line
                ),
            ),
        }
    }

    /// An `aws_eks_node_group`'s `launch_template` block as describe-nodegroup
    /// prints it: `aws_launch_template.X.id` / `.name` is the template's
    /// address (its id in [`Self::launch_template`]); `.latest_version` /
    /// `.default_version` are `$Latest` / `$Default`. Anything else is kept
    /// as written, which no template matches: not evaluated.
    fn launch_template_ref(&self, block: &Body) -> Value {
        let mut out = Map::new();
        let reference = |attr: &str| {
            let a = block.get_attribute(attr)?;
            Some(match self.literal(&a.value) {
                Ok(Value::String(v)) => Ok(v),
                Ok(Value::Number(n)) => Ok(n.to_string()),
                _ => Err(self.source_of(&a.value)),
            })
        };
        let template = |text: &str| -> Option<(String, String)> {
            let rest = text.strip_prefix("aws_launch_template.")?;
            let (name, field) = rest.rsplit_once('.')?;
            let name = name.split('[').next()?;
            Some((format!("aws_launch_template.{name}"), field.to_string()))
        };
        for attr in ["id", "name"] {
            match reference(attr) {
                Some(Ok(v)) => {
                    out.insert(attr.into(), Value::String(v));
                }
                Some(Err(text)) => {
                    let id = template(&text).map_or(text, |(address, _)| address);
                    out.insert("id".into(), Value::String(id));
                }
                None => {}
            }
        }
        let version = match reference("version") {
            Some(Ok(v)) => v,
            Some(Err(text)) => match template(&text).map(|(_, f)| f) {
                Some(f) if f == "default_version" => "$Default".into(),
                _ => "$Latest".into(),
            },
            None => "$Default".into(),
        };
        out.insert("version".into(), Value::String(version));
        Value::Object(out)
    }

    /// A `kubernetes_service_account` with the IRSA annotation: the role
    /// by its literal ARN, or known only after apply.
    fn irsa_service_account(
        &self,
        body: &Body,
        address: &str,
        planned: Planned,
        plan: &mut Plan,
    ) -> Option<iam::PlannedIdentity> {
        let meta = &body.get_blocks("metadata").next()?.body;
        let Fact::Known(name) = self.text(meta, "name", address, plan) else {
            return None;
        };
        let namespace = match self.text(meta, "namespace", address, plan) {
            Fact::Known(ns) => ns,
            Fact::Absent => "default".into(),
            Fact::Unknown => return None,
        };
        let Expression::Object(annotations) = &meta.get_attribute("annotations")?.value else {
            return None;
        };
        let value = annotations.iter().find_map(|(k, v)| {
            let key = match k {
                ObjectKey::Ident(i) => i.as_str().to_string(),
                ObjectKey::Expression(e) => self.literal(e).ok()?.as_str()?.to_string(),
            };
            (key == crate::facts::IRSA_ANNOTATION).then_some(v.expr())
        })?;
        let role = match self.literal(value) {
            Ok(Value::String(arn)) => iam::Ref::Arn(arn),
            _ => iam::Ref::Unknown(format!(
                "{address} annotation {}",
                crate::facts::IRSA_ANNOTATION
            )),
        };
        Some(iam::PlannedIdentity {
            binding: iam::Binding::Irsa,
            namespace,
            service_account: name,
            role,
            planned,
        })
    }

    /// aws-ia/eks-blueprints-addon puts the ARN of the role it creates
    /// (`create_role = true`; `create` defaults to true) into each Helm
    /// value named in `set_irsa_names`. A role made for the release's
    /// ServiceAccounts (`oidc_providers`) but put in no value is noted: no
    /// ServiceAccount is then annotated with it.
    ///
    /// `Err`: `set_irsa_names` is not a literal, so which values hold the
    /// role is unknown (the release's values are then not evaluated, as for
    /// a `set` whose name is not a literal).
    fn blueprint_irsa_names(
        &self,
        body: &Body,
        address: &str,
        plan: &mut Plan,
    ) -> Result<Vec<String>, String> {
        let creates = |attr: &str, default: bool| match body.get_attribute(attr) {
            None => Some(default),
            Some(a) => self.literal(&a.value).ok().and_then(|v| v.as_bool()),
        };
        if creates("create", true) != Some(true) || creates("create_role", false) != Some(true) {
            return Ok(Vec::new());
        }
        let line = self.line_of(body.get_attribute("create_role").and_then(|a| a.span()));
        let names =
            match self.fact(body, "set_irsa_names", address, plan) {
                Fact::Known(Value::Array(items)) => items
                    .iter()
                    .filter_map(|v| v.as_str().map(str::to_string))
                    .collect(),
                Fact::Unknown => return Err(
                    "set_irsa_names is not a literal: which Helm values hold the role is not known"
                        .into(),
                ),
                _ => Vec::new(),
            };
        if names.is_empty() {
            // The module's role is for the ServiceAccounts in
            // `oidc_providers`, each usually a reference or a local.
            let is_cilium = matches!(self.literal_attr(body, "chart"),
                Some(Value::String(c)) if is_cilium_chart(&c));
            if is_cilium && body.get_attribute("oidc_providers").is_some() {
                plan.note(
                    self.shown,
                    format!(
                        "line {line}: {address}: creates an IRSA role (create_role, oidc_providers) but names no Helm value in set_irsa_names: Cilium's ServiceAccounts are not annotated with it, so it is not used (set set_irsa_names = [\"serviceAccounts.operator.annotations.eks\\\\.amazonaws\\\\.com/role-arn\"])"
                    ),
                );
            }
        }
        Ok(names)
    }

    /// A `helm_release`, or a module that wraps one with the same inputs
    /// (aws-ia/eks-blueprints-addon: `chart`, `chart_version`, `values`,
    /// `set`), whose version input is `version_attr`; `irsa_names`: Helm
    /// values the module sets to the ARN of the role it creates (known only
    /// after apply).
    fn helm_release(
        &self,
        block: &Block,
        address: &str,
        version_attr: &str,
        irsa_names: Result<Vec<String>, String>,
        at: SourceLocation,
        plan: &mut Plan,
    ) {
        let body = &block.body;
        let chart = match self.literal_attr(body, "chart") {
            Some(Value::String(c)) => c,
            _ => return,
        };
        if !is_cilium_chart(&chart) {
            return;
        }
        let release = ChartRelease {
            address: address.to_string(),
            at: at.clone(),
            chart,
            version: self.text(body, version_attr, address, plan),
        };
        let mut values = Values::default();
        let mut unevaluable = Vec::new();
        if let Some(a) = body.get_attribute("values") {
            match &a.value {
                Expression::Array(items) => {
                    for (i, item) in items.iter().enumerate() {
                        let name = format!("{}: {address} values[{i}]", self.shown);
                        let yaml = match (self.literal(item), self.values_file(item)) {
                            (Ok(Value::String(s)), _) => Ok(s),
                            (_, Some(read)) => read,
                            (Err(_), None) => match item {
                                Expression::FuncCall(call)
                                    if matches!(
                                        call.name.name.as_str(),
                                        "yamlencode" | "jsonencode"
                                    ) =>
                                {
                                    match call.args.iter().next().map(|e| self.literal(e)) {
                                        Some(Ok(v)) => {
                                            Ok(serde_json::to_string(&v).unwrap_or_default())
                                        }
                                        Some(Err(w)) => Err(w),
                                        None => Err(format!("`{}`", self.source_of(item))),
                                    }
                                }
                                _ => Err(format!("`{}`", self.source_of(item))),
                            },
                            (Ok(_), None) => Err("not a string".into()),
                        };
                        match yaml {
                            Ok(text) => {
                                if let Err(why) = values.layer_yaml(&name, &text) {
                                    unevaluable.push(format!("values[{i}]: {why}"));
                                }
                            }
                            Err(what) => unevaluable
                                .push(format!("values[{i}] is {what}: not evaluated from HCL")),
                        }
                    }
                }
                other => unevaluable.push(format!(
                    "values is `{}`: not evaluated from HCL",
                    self.source_of(other)
                )),
            }
        }
        for key in ["set", "set_list", "set_sensitive"] {
            // Helm provider v2: repeated blocks; v3: a list of objects.
            let mut items: Vec<(Fact<Value>, Fact<Value>, Option<String>)> = Vec::new();
            for b in body.get_blocks(key) {
                let name = self.fact(&b.body, "name", address, plan);
                let value = match b.body.get_attribute("value") {
                    Some(a) => match self.literal(&a.value) {
                        Ok(v) => Fact::Known(v),
                        Err(_) => Fact::Unknown,
                    },
                    None => Fact::Absent,
                };
                let kind = self
                    .literal_attr(&b.body, "type")
                    .and_then(|v| v.as_str().map(str::to_string));
                items.push((name, value, kind));
            }
            if let Some(a) = body.get_attribute(key) {
                match &a.value {
                    Expression::Array(list) => {
                        for e in list.iter() {
                            match self.literal(e) {
                                Ok(v) => items.push((
                                    v.get("name").cloned().map_or(Fact::Absent, Fact::Known),
                                    v.get("value").cloned().map_or(Fact::Absent, Fact::Known),
                                    v.get("type").and_then(Value::as_str).map(str::to_string),
                                )),
                                Err(_) => {
                                    // Name literal, value computed: keep the key.
                                    let name = match e {
                                        Expression::Object(o) => {
                                            o.iter().find_map(|(k, v)| match k {
                                                ObjectKey::Ident(i) if i.as_str() == "name" => {
                                                    self.literal(v.expr()).ok()
                                                }
                                                _ => None,
                                            })
                                        }
                                        _ => None,
                                    };
                                    match name {
                                        Some(n) => {
                                            items.push((Fact::Known(n), Fact::Unknown, None))
                                        }
                                        None => unevaluable.push(format!(
                                            "{key}: `{}` is not evaluated from HCL",
                                            self.source_of(e)
                                        )),
                                    }
                                }
                            }
                        }
                    }
                    other => unevaluable.push(format!(
                        "`{key}` is `{}`: not evaluated from HCL",
                        self.source_of(other)
                    )),
                }
            }
            for (i, (name, value, kind)) in items.into_iter().enumerate() {
                let Fact::Known(Value::String(name)) = name else {
                    if name.is_unknown() {
                        unevaluable.push(format!("{key}[{i}]: the name is not a literal"));
                    }
                    continue;
                };
                let v = if key == "set_sensitive" {
                    SetValue::Sensitive
                } else {
                    match value {
                        Fact::Unknown => SetValue::Unknown,
                        Fact::Known(list) if key == "set_list" => SetValue::List(list),
                        Fact::Known(Value::String(s)) => SetValue::Text(Some(s), kind),
                        Fact::Known(other) => SetValue::Text(Some(other.to_string()), kind),
                        Fact::Absent => SetValue::Text(None, kind),
                    }
                };
                if let Err(why) = values.set(&name, v) {
                    unevaluable.push(format!("{key}[{i}] {name:?}: {why}"));
                }
            }
        }
        match irsa_names {
            Ok(names) => {
                for name in names {
                    if let Err(why) = values.set(&name, SetValue::Unknown) {
                        unevaluable.push(format!("set_irsa_names {name:?}: {why}"));
                    }
                }
            }
            Err(why) => unevaluable.push(why),
        }
        for key in &values.unknown_keys {
            plan.note(self.shown, format!("line {}: {address}: Helm value {key} is not a literal: kept as set, rules that read its value are not evaluated on it", at.line));
        }
        if values.placeholders_found > 0 {
            plan.note(
                self.shown,
                format!(
                    "line {}: {address}: {} Helm value(s) hold ${{...}} interpolations left for Terraform: not evaluated",
                    at.line, values.placeholders_found
                ),
            );
        }
        for why in &unevaluable {
            plan.facts.unevaluable_values.push(Planned {
                address: address.to_string(),
                at: at.clone(),
                detail: why.clone(),
            });
        }
        plan.cilium.push(PlannedCilium {
            release,
            values: unevaluable.is_empty().then(|| values.into_value()),
        });
    }

    fn literal_attr(&self, body: &Body, attr: &str) -> Option<Value> {
        body.get_attribute(attr)
            .and_then(|a| self.literal(&a.value).ok())
    }
}

/// A command that patches the aws-node DaemonSet (`kubectl -n kube-system
/// patch daemonset aws-node ...`), whatever the patch.
fn patches_aws_node(text: &str) -> bool {
    text.lines().any(|l| {
        let l = l.to_ascii_lowercase();
        l.contains("patch") && l.contains("aws-node") && !l.contains("delete")
    })
}

fn text_of(f: Fact<Value>) -> Fact<String> {
    match f {
        Fact::Known(Value::String(s)) => Fact::Known(s),
        Fact::Known(Value::Number(n)) => Fact::Known(n.to_string()),
        Fact::Known(Value::Bool(b)) => Fact::Known(b.to_string()),
        Fact::Known(_) | Fact::Absent => Fact::Absent,
        Fact::Unknown => Fact::Unknown,
    }
}

fn boolean(f: Fact<Value>) -> Fact<bool> {
    match f {
        Fact::Known(Value::Bool(b)) => Fact::Known(b),
        Fact::Known(Value::String(s)) if s == "true" => Fact::Known(true),
        Fact::Known(Value::String(s)) if s == "false" => Fact::Known(false),
        Fact::Unknown => Fact::Unknown,
        _ => Fact::Absent,
    }
}

fn strings(f: &Fact<Value>) -> Vec<String> {
    f.known()
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

fn labels(f: &Fact<Value>) -> BTreeMap<String, String> {
    f.known()
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
                .collect()
        })
        .unwrap_or_default()
}

/// Read one `.tf` file into `plan`.
pub(super) fn read(
    shown: &str,
    path: &Path,
    bytes: &[u8],
    plan: &mut Plan,
) -> Result<(), LoadError> {
    let text =
        std::str::from_utf8(bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes)).map_err(|e| {
            LoadError::Malformed {
                path: shown.to_string(),
                location: None,
                message: format!("not UTF-8 text (byte {})", e.valid_up_to()),
            }
        })?;
    let body = hcl::edit::parser::parse_body(text).map_err(|e| LoadError::Malformed {
        path: shown.to_string(),
        location: Some(format!(
            "line {} column {}",
            e.location().line(),
            e.location().column()
        )),
        message: format!("invalid HCL: {}", e.message()),
    })?;
    let dir = path.parent().unwrap_or(Path::new("."));
    let file = File {
        shown,
        dir,
        text,
        lines: Lines::of(text),
    };
    for structure in body.iter() {
        if let Structure::Block(b) = structure {
            file.block(b, plan);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_text(text: &str) -> Result<Plan, LoadError> {
        let mut plan = Plan::default();
        read("main.tf", Path::new("main.tf"), text.as_bytes(), &mut plan)?;
        Ok(plan)
    }

    #[test]
    fn constraints_to_one_major() {
        assert_eq!(single_major("~> 19.0"), Some(19));
        assert_eq!(single_major("~> 20.18"), Some(20));
        assert_eq!(single_major("18.17.0"), Some(18));
        assert_eq!(single_major(">= 20.0, < 21.0"), Some(20));
        assert_eq!(single_major("~> 21.0.1"), Some(21));
        assert_eq!(single_major(">= 19"), None);
        assert_eq!(single_major("~> 19"), None);
        assert_eq!(single_major("latest"), None);
    }

    #[test]
    fn module_defaults_follow_the_major() {
        let v19 = read_text("module \"eks\" {\n  source  = \"terraform-aws-modules/eks/aws\"\n  version = \"~> 19.0\"\n  cluster_version = \"1.27\"\n  cluster_addons = {\n    vpc-cni = {}\n  }\n}\n").unwrap();
        assert_eq!(
            v19.clusters[0].bootstrap_self_managed_addons,
            Fact::Known(true)
        );
        assert_eq!(v19.clusters[0].version, Fact::Known("1.27".into()));
        assert_eq!(v19.addons[0].name, "vpc-cni");
        assert_eq!(v19.addons[0].planned.at.line, 6);
        let v21 = read_text("module \"eks\" {\n  source  = \"terraform-aws-modules/eks/aws\"\n  version = \"~> 21.0\"\n  kubernetes_version = var.v\n}\n").unwrap();
        assert_eq!(
            v21.clusters[0].bootstrap_self_managed_addons,
            Fact::Known(false)
        );
        assert_eq!(v21.clusters[0].version, Fact::Unknown);
        assert!(
            v21.notes.iter().any(|n| n
                .note
                .starts_with("line 4: module.eks: kubernetes_version is `var.v`, not a literal")),
            "{:?}",
            v21.notes
        );
        let open = read_text("module \"eks\" {\n  source  = \"terraform-aws-modules/eks/aws\"\n  version = \">= 19\"\n}\n").unwrap();
        assert_eq!(
            open.clusters[0].bootstrap_self_managed_addons,
            Fact::Unknown
        );
    }

    #[test]
    fn bad_hcl_names_the_line() {
        let e =
            read_text("resource \"aws_eks_cluster\" \"x\" {\n  name = \"a\"\n  version = \n}\n")
                .unwrap_err()
                .to_string();
        assert!(e.contains("main.tf") && e.contains("line 3"), "{e}");
    }

    #[test]
    fn indented_heredoc_values_keep_their_nesting() {
        // `<<-` strips the common indentation once (hcl-edit's parser does).
        let p = read_text("resource \"helm_release\" \"cilium\" {\n  chart = \"cilium\"\n  values = [<<-EOT\n    eni:\n      enabled: true\n    ipam:\n      mode: eni\n  EOT\n  ]\n}\n").unwrap();
        let v = p.cilium[0].values.as_ref().unwrap();
        assert_eq!(v["eni"]["enabled"], Value::Bool(true), "{v}");
        assert_eq!(v["ipam"]["mode"], "eni", "{v}");
        assert!(v.get("enabled").is_none(), "{v}");
    }

    #[test]
    fn helm_set_blocks_and_lists() {
        let p = read_text("resource \"helm_release\" \"cilium\" {\n  chart = \"cilium\"\n  version = \"1.15.6\"\n  set {\n    name  = \"eni.enabled\"\n    value = true\n  }\n  set = [{ name = \"ipam.mode\", value = \"eni\" }, { name = \"k8sServiceHost\", value = module.eks.endpoint }]\n}\n").unwrap();
        let v = p.cilium[0].values.as_ref().unwrap();
        assert_eq!(v["eni"]["enabled"], Value::Bool(true));
        assert_eq!(v["ipam"]["mode"], "eni");
        assert_eq!(p.cilium[0].release.version, Fact::Known("1.15.6".into()));
    }
}
