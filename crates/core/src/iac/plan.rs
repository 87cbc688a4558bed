//! Terraform/OpenTofu plan JSON (`terraform show -json plan`).
//!
//! Streamed: the file is read once through a buffered reader into lean
//! serde types. Of `resource_changes` only the resource types the model
//! uses are kept (each other change is dropped as soon as it is parsed);
//! `planned_values`, `prior_state` and the rest are skipped unread. From
//! `configuration` only module calls and provisioners are kept.
//!
//! `format_version` is checked before parsing: the format promises that
//! minor versions only add fields, so any 0.x and 1.x is read, another
//! major refused (Terraform's `internal/command/jsonplan/plan.go`; the JSON
//! format page: "Reject any input which reports an unsupported major
//! version").
//!
//! Lines: plan JSON has none (Terraform writes it on one line). A finding
//! points at the plan file, line 1, with the resource address; when `.tf`
//! files lie beside the plan, at the line of `resource "TYPE" "NAME"` (root
//! resources) or `module "NAME"` (resources inside a module call) there.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use serde::de::{self, Deserializer, SeqAccess, Visitor};
use serde::Deserialize;
use serde_json::Value;

use super::helm_values::{self, Values};
use super::iam;
use super::{
    is_cilium_chart, AddonDeletion, ChartRelease, Fact, Plan, Planned, PlannedAddon, PlannedCilium,
    PlannedCluster, PlannedNodegroup,
};
use crate::findings::SourceLocation;
use crate::load::LoadError;

/// Resource types whose changes the model uses.
const KEPT_TYPES: &[&str] = &[
    "aws_eks_cluster",
    "aws_eks_addon",
    "aws_eks_node_group",
    "aws_launch_template",
    "helm_release",
    "kubernetes_job",
    "kubernetes_job_v1",
    "kubectl_manifest",
    "kubernetes_manifest",
    "kubernetes_daemon_set_v1",
    "kubernetes_daemonset",
    "aws_iam_role",
    "aws_iam_role_policy",
    "aws_iam_role_policy_attachment",
    "aws_iam_policy",
    "aws_iam_openid_connect_provider",
    "aws_eks_pod_identity_association",
    "kubernetes_service_account",
    "kubernetes_service_account_v1",
];

/// Helm values that give the operator's ServiceAccount its IRSA role
/// (the chart's `eni.iamRole`, or the annotation itself).
const OPERATOR_ROLE_KEYS: &[&str] = &[
    "eni.iamRole",
    "serviceAccounts.operator.annotations.eks\\.amazonaws\\.com/role-arn",
];

/// Resource types read before the others: what the others refer to.
const REFERRED_TYPES: &[&str] = &["aws_iam_role", "aws_iam_policy"];

#[derive(Deserialize)]
struct PlanJson {
    #[serde(default, deserialize_with = "kept_changes")]
    resource_changes: Vec<ResourceChange>,
    #[serde(default)]
    configuration: Option<Configuration>,
}

#[derive(Deserialize)]
struct ResourceChange {
    address: String,
    #[serde(default)]
    module_address: Option<String>,
    #[serde(default)]
    mode: String,
    #[serde(rename = "type")]
    kind: String,
    name: String,
    change: ChangeBody,
    #[serde(default)]
    action_reason: Option<String>,
}

#[derive(Deserialize)]
struct ChangeBody {
    #[serde(default)]
    actions: Vec<String>,
    #[serde(default)]
    after: Value,
    #[serde(default)]
    after_unknown: Value,
    #[serde(default)]
    replace_paths: Value,
}

/// Only the changes of [`KEPT_TYPES`], each other dropped once parsed.
fn kept_changes<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<ResourceChange>, D::Error> {
    struct Kept;
    impl<'de> Visitor<'de> for Kept {
        type Value = Vec<ResourceChange>;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a list of resource changes")
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            let mut out = Vec::new();
            while let Some(change) = seq.next_element::<ResourceChange>()? {
                if KEPT_TYPES.contains(&change.kind.as_str()) && change.mode != "data" {
                    out.push(change);
                }
            }
            Ok(out)
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(Vec::new())
        }
    }
    d.deserialize_any(Kept)
}

#[derive(Deserialize, Default)]
struct Configuration {
    #[serde(default)]
    root_module: ConfigModule,
}

#[derive(Deserialize, Default)]
struct ConfigModule {
    #[serde(default)]
    resources: Vec<ConfigResource>,
    #[serde(default)]
    module_calls: BTreeMap<String, ModuleCall>,
}

#[derive(Deserialize)]
struct ModuleCall {
    #[serde(default)]
    source: Option<String>,
    #[serde(default)]
    version_constraint: Option<String>,
    #[serde(default)]
    module: Option<ConfigModule>,
    /// The module's inputs as written.
    #[serde(default)]
    expressions: Value,
}

#[derive(Deserialize)]
struct ConfigResource {
    address: String,
    #[serde(rename = "type", default)]
    kind: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    provisioners: Vec<Provisioner>,
    /// The arguments as written (`constant_value` or `references`).
    #[serde(default)]
    expressions: Value,
    #[serde(default)]
    for_each_expression: Value,
}

#[derive(Deserialize)]
struct Provisioner {
    #[serde(rename = "type", default)]
    kind: String,
    #[serde(default)]
    expressions: Value,
}

/// The head of a file as text, BOMs understood; `None` for binary data.
pub(super) fn decode_head(head: &[u8]) -> Option<String> {
    if let Some(units) = utf16_units(head) {
        return Some(String::from_utf16_lossy(&units));
    }
    let head = head.strip_prefix(b"\xef\xbb\xbf").unwrap_or(head);
    let valid = match std::str::from_utf8(head) {
        Ok(s) => s,
        Err(e) if e.error_len().is_none() => std::str::from_utf8(&head[..e.valid_up_to()]).ok()?,
        Err(_) => return None,
    };
    (!valid.contains('\0')).then(|| valid.to_string())
}

/// UTF-16 code units after a BOM (`FF FE` little, `FE FF` big endian).
fn utf16_units(bytes: &[u8]) -> Option<Vec<u16>> {
    let (little, rest) = match bytes {
        [0xff, 0xfe, rest @ ..] => (true, rest),
        [0xfe, 0xff, rest @ ..] => (false, rest),
        _ => return None,
    };
    Some(
        rest.chunks_exact(2)
            .map(|c| {
                if little {
                    u16::from_le_bytes([c[0], c[1]])
                } else {
                    u16::from_be_bytes([c[0], c[1]])
                }
            })
            .collect(),
    )
}

/// `"format_version": "1.2"` from the head of the file.
fn format_version(head: &str) -> Option<String> {
    let at = head.find("\"format_version\"")?;
    let rest = head[at + "\"format_version\"".len()..]
        .trim_start()
        .strip_prefix(':')?;
    let rest = rest.trim_start().strip_prefix('"')?;
    Some(rest[..rest.find('"')?].to_string())
}

fn malformed(path: &str, location: Option<String>, message: impl Into<String>) -> LoadError {
    LoadError::Malformed {
        path: path.to_string(),
        location,
        message: message.into(),
    }
}

/// Read one plan JSON file into `plan`.
pub(super) fn read(path: &Path, shown: &str, plan: &mut Plan) -> Result<(), LoadError> {
    let io = |e: std::io::Error| LoadError::Io {
        path: shown.to_string(),
        message: e.to_string(),
    };
    let mut file = std::fs::File::open(path).map_err(io)?;
    let mut head = Vec::with_capacity(4096);
    (&mut file).take(4096).read_to_end(&mut head).map_err(io)?;
    let head_text = decode_head(&head).unwrap_or_default();
    let version = format_version(&head_text).ok_or_else(|| {
        malformed(shown, None, "plan JSON without a \"format_version\" near its start (is it `terraform show -json` output?)")
    })?;
    let major = version.split('.').next().unwrap_or("");
    if !matches!(major, "0" | "1") {
        return Err(malformed(
            shown,
            None,
            format!(
                "plan JSON format_version {version:?} is not supported: this reader knows major \
                 versions 0 and 1 (Terraform 0.12 to 1.15 write 0.1 to 1.2)"
            ),
        ));
    }
    let json_error = |e: serde_json::Error| {
        malformed(
            shown,
            Some(format!("line {} column {}", e.line(), e.column())),
            format!("invalid plan JSON: {e}"),
        )
    };
    let parsed: PlanJson = if utf16_units(&head).is_some() {
        // UTF-16 (a Windows shell redirect): decoded whole, then parsed.
        let bytes = std::fs::read(path).map_err(io)?;
        let units = utf16_units(&bytes).unwrap_or_default();
        let text = String::from_utf16(&units)
            .map_err(|_| malformed(shown, None, "invalid UTF-16 text"))?;
        serde_json::from_str(&text).map_err(json_error)?
    } else {
        let file = std::fs::File::open(path).map_err(io)?;
        let mut reader = std::io::BufReader::with_capacity(1 << 16, file);
        if head.starts_with(b"\xef\xbb\xbf") {
            let mut bom = [0u8; 3];
            reader.read_exact(&mut bom).map_err(io)?;
        }
        let mut de = serde_json::Deserializer::from_reader(reader);
        let parsed = PlanJson::deserialize(&mut de).map_err(json_error)?;
        de.end().map_err(json_error)?;
        parsed
    };
    let mut sources = HclSources::beside(path);
    let mut expressions = BTreeMap::new();
    if let Some(config) = &parsed.configuration {
        config_expressions(&config.root_module, "", &mut expressions);
    }
    let cx = PlanFile { shown, expressions };
    // Roles and policies first: the other resources refer to them.
    let (referred, rest): (Vec<&ResourceChange>, Vec<&ResourceChange>) = parsed
        .resource_changes
        .iter()
        .partition(|c| REFERRED_TYPES.contains(&c.kind.as_str()));
    for change in referred.into_iter().chain(rest) {
        cx.change(change, plan, &mut sources);
    }
    if let Some(config) = &parsed.configuration {
        cx.provisioners(&config.root_module, plan, &mut sources);
        for (name, call) in &config.root_module.module_calls {
            if call
                .source
                .as_deref()
                .is_some_and(|s| s.contains("terraform-aws-modules/eks"))
            {
                plan.note(
                    shown,
                    format!(
                        "module.{name}: terraform-aws-modules/eks {}; the plan carries the module's effective values",
                        call.version_constraint.as_deref().map(|v| format!("version {v}")).unwrap_or_else(|| "without a version constraint".into())
                    ),
                );
            }
        }
    }
    plan.note(
        shown,
        format!("Terraform plan JSON, format_version {version}"),
    );
    Ok(())
}

/// The `.tf` files beside a plan, read once, to find declaration lines.
struct HclSources {
    files: Option<Vec<(String, String)>>,
    dir: Option<PathBuf>,
}

impl HclSources {
    fn beside(plan: &Path) -> HclSources {
        HclSources {
            files: None,
            dir: plan.parent().map(Path::to_path_buf),
        }
    }

    fn files(&mut self) -> &[(String, String)] {
        let dir = self.dir.clone();
        self.files.get_or_insert_with(|| {
            let Some(dir) = dir else { return Vec::new() };
            let dir = if dir.as_os_str().is_empty() {
                PathBuf::from(".")
            } else {
                dir
            };
            let mut names: Vec<PathBuf> = std::fs::read_dir(&dir)
                .map(|rd| rd.filter_map(|e| e.ok().map(|e| e.path())).collect())
                .unwrap_or_default();
            names.sort();
            names
                .into_iter()
                .filter(|p| p.extension().is_some_and(|e| e == "tf"))
                .filter(|p| {
                    std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.len() < 4 * 1024 * 1024)
                })
                .filter_map(|p| {
                    let text = std::fs::read_to_string(&p).ok()?;
                    let shown = if dir == Path::new(".") {
                        p.strip_prefix("./").unwrap_or(&p).display().to_string()
                    } else {
                        p.display().to_string()
                    };
                    Some((shown, text))
                })
                .collect()
        })
    }

    /// The file and line of `needle` at the start of a line.
    fn find(&mut self, needle: &str) -> Option<(String, u32)> {
        for (file, text) in self.files() {
            for (i, line) in text.lines().enumerate() {
                let line = line.trim_start();
                if line.starts_with(needle) {
                    let collapsed: String = line.split_whitespace().collect::<Vec<_>>().join(" ");
                    if collapsed.starts_with(needle) {
                        return Some((file.clone(), u32::try_from(i + 1).unwrap_or(u32::MAX)));
                    }
                }
            }
        }
        None
    }
}

struct PlanFile<'a> {
    shown: &'a str,
    /// The configuration's expressions by resource, module instance keys
    /// left out (`module.eks.module.node_group.aws_iam_role.this`).
    expressions: BTreeMap<String, Value>,
}

/// Every resource's `expressions` under `prefix`, through module calls.
fn config_expressions(module: &ConfigModule, prefix: &str, out: &mut BTreeMap<String, Value>) {
    for r in &module.resources {
        out.insert(format!("{prefix}{}", r.address), r.expressions.clone());
        if !r.for_each_expression.is_null() {
            out.insert(
                format!("{prefix}{}{FOR_EACH}", r.address),
                r.for_each_expression.clone(),
            );
        }
    }
    for (name, call) in &module.module_calls {
        out.insert(
            format!("{prefix}module.{name}{INPUTS}"),
            call.expressions.clone(),
        );
        if let Some(m) = &call.module {
            config_expressions(m, &format!("{prefix}module.{name}."), out);
        }
    }
}

/// Key suffixes of [`config_expressions`]: a resource's `for_each`, a
/// module call's inputs.
const FOR_EACH: &str = "#for_each";
const INPUTS: &str = "#inputs";

/// A module instance prefix's parent and the call's name
/// (`module.a["x"].module.b.` → `module.a["x"].`, `b`).
fn parent_call(prefix: &str) -> Option<(&str, &str)> {
    let inner = prefix.strip_suffix('.')?;
    let at = inner.rfind("module.")?;
    let call = &inner[at + "module.".len()..];
    let name = call.split('[').next().unwrap_or(call);
    Some((&prefix[..at], name))
}

/// An address without its instance keys (`a["x"].b[0]` → `a.b`).
fn without_keys(address: &str) -> String {
    let mut out = String::with_capacity(address.len());
    let mut depth = 0u32;
    let mut quoted = false;
    let mut escaped = false;
    for c in address.chars() {
        if depth > 0 {
            match c {
                _ if escaped => escaped = false,
                '\\' if quoted => escaped = true,
                '"' => quoted = !quoted,
                ']' if !quoted => depth -= 1,
                _ => {}
            }
            continue;
        }
        if c == '[' {
            depth += 1;
        } else {
            out.push(c);
        }
    }
    out
}

/// The module instance of a change, as a prefix (`module.x["a"].`), or "".
fn module_prefix(rc: &ResourceChange) -> String {
    match rc.module_address.as_deref() {
        Some(m) if !m.is_empty() => format!("{m}."),
        _ => String::new(),
    }
}

/// The planned resource a reference names, among `keys` (addresses):
/// the same module instance's `TYPE.NAME[i]`, the only instance of
/// `TYPE.NAME`, or the only such resource inside a called module
/// (`module.irsa.iam_role_arn`).
fn resolve<'k>(
    keys: impl Iterator<Item = &'k str> + Clone,
    prefix: &str,
    kind: &str,
    references: &[String],
) -> Option<String> {
    for r in references {
        if let Some(rest) = r.strip_prefix("module.") {
            let module = rest.split(['.', '[']).next().unwrap_or(rest);
            let under = format!("{prefix}module.{module}");
            let mut found = keys.clone().filter(|k| {
                k.strip_prefix(&under)
                    .is_some_and(|t| t.starts_with('.') || t.starts_with('['))
                    && k.rsplit('.').nth(1).is_some_and(|t| t == kind)
            });
            if let (Some(one), None) = (found.next(), found.next()) {
                return Some(one.to_string());
            }
            continue;
        }
        if !r.starts_with(&format!("{kind}.")) {
            continue;
        }
        let full = format!("{prefix}{r}");
        if let Some(k) = keys.clone().find(|k| *k == full) {
            return Some(k.to_string());
        }
        let open = format!("{full}[");
        let mut found = keys.clone().filter(|k| k.starts_with(&open));
        if let (Some(one), None) = (found.next(), found.next()) {
            return Some(one.to_string());
        }
    }
    None
}

/// `after[key]` with `after_unknown[key]`: known, unknown or absent.
fn field<'v>(after: &'v Value, unknown: &Value, key: &str) -> Fact<&'v Value> {
    if unknown.get(key).is_some_and(|u| u == &Value::Bool(true)) {
        return Fact::Unknown;
    }
    match after.get(key) {
        None | Some(Value::Null) => Fact::Absent,
        Some(v) => Fact::Known(v),
    }
}

fn text(f: Fact<&Value>) -> Fact<String> {
    match f {
        Fact::Known(Value::String(s)) => Fact::Known(s.clone()),
        Fact::Known(Value::Number(n)) => Fact::Known(n.to_string()),
        Fact::Known(Value::Bool(b)) => Fact::Known(b.to_string()),
        Fact::Known(_) => Fact::Absent,
        Fact::Unknown => Fact::Unknown,
        Fact::Absent => Fact::Absent,
    }
}

/// `block[0]` of a nested block list (`upgrade_policy`, `scaling_config`).
fn first_block<'v>(after: &'v Value, unknown: &'v Value, key: &str) -> (&'v Value, &'v Value) {
    static NULL: Value = Value::Null;
    (
        after.get(key).and_then(|b| b.get(0)).unwrap_or(&NULL),
        unknown.get(key).and_then(|b| b.get(0)).unwrap_or(&NULL),
    )
}

/// An `aws_eks_node_group` `launch_template` block as describe-nodegroup
/// writes it; a version known only after apply (`latest_version` of a
/// launch template the plan creates) is the `$Latest` the plan makes.
fn launch_template_block(after: &Value, unknown: &Value) -> Option<Value> {
    let (block, block_unknown) = first_block(after, unknown, "launch_template");
    if block.is_null() {
        return None;
    }
    let mut out = serde_json::Map::new();
    for key in ["id", "name", "version"] {
        if let Fact::Known(v) = text(field(block, block_unknown, key)) {
            if !v.is_empty() {
                out.insert(key.into(), Value::String(v));
            }
        }
    }
    if !out.contains_key("version") {
        out.insert("version".into(), Value::String("$Latest".into()));
    }
    Some(Value::Object(out))
}

/// Base64 user data that reads as "max pods not readable": the plan knows
/// the user data only after apply.
fn unknown_user_data() -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(
        "apiVersion: node.eks.aws/v1alpha1\nkind: NodeConfig\nspec:\n  kubelet:\n    config:\n      maxPods: \"known only after apply\"\n",
    )
}

fn strings(v: Option<&Value>) -> Vec<String> {
    v.and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// Whether a command deletes aws-node or kube-proxy, or patches aws-node
/// off the nodes with Cilium's documented nodeSelector.
pub(super) fn command_effects(text: &str) -> (Vec<&'static str>, bool) {
    let lower = text.to_ascii_lowercase();
    let mut deleted = Vec::new();
    for what in ["aws-node", "kube-proxy"] {
        let deletes = lower
            .lines()
            .any(|l| l.contains("delete") && l.contains(what) && !l.contains("patch"))
            || lower.contains("delete")
                && lower.contains(what)
                && !lower.contains("patch")
                && !lower.contains('\n');
        if deletes {
            deleted.push(what);
        }
    }
    let patched = lower.contains("aws-node") && lower.contains("io.cilium/aws-node-enabled");
    (deleted, patched)
}

impl PlanFile<'_> {
    fn at(
        &self,
        sources: &mut HclSources,
        address: &str,
        module_address: Option<&str>,
        kind: &str,
        name: &str,
    ) -> SourceLocation {
        let needle = match module_address.and_then(|m| m.strip_prefix("module.")) {
            Some(module) => {
                let top = module.split(['.', '[']).next().unwrap_or(module);
                format!("module \"{top}\"")
            }
            None => format!("resource \"{kind}\" \"{name}\""),
        };
        match sources.find(&needle) {
            Some((file, line)) => SourceLocation::new(file, line).with_address(address),
            None => SourceLocation::new(self.shown, 1).with_address(address),
        }
    }

    fn change(&self, rc: &ResourceChange, plan: &mut Plan, sources: &mut HclSources) {
        let actions = &rc.change.actions;
        let deleting = actions.iter().any(|a| a == "delete");
        let creating = actions.iter().any(|a| a == "create");
        if deleting && !creating {
            // Destroyed by this plan: not part of the cluster to be.
            return;
        }
        let at = self.at(
            sources,
            &rc.address,
            rc.module_address.as_deref(),
            &rc.kind,
            &rc.name,
        );
        let planned = |detail: String| Planned {
            address: rc.address.clone(),
            at: at.clone(),
            detail,
        };
        let (after, unknown) = (&rc.change.after, &rc.change.after_unknown);
        match rc.kind.as_str() {
            "aws_eks_cluster" => {
                let (upgrade, upgrade_unknown) = first_block(after, unknown, "upgrade_policy");
                let (network, network_unknown) =
                    first_block(after, unknown, "kubernetes_network_config");
                let bootstrap = match field(after, unknown, "bootstrap_self_managed_addons") {
                    Fact::Known(Value::Bool(b)) => Fact::Known(*b),
                    Fact::Known(_) | Fact::Absent => Fact::Absent,
                    Fact::Unknown => Fact::Unknown,
                };
                plan.clusters.push(PlannedCluster {
                    name: text(field(after, unknown, "name")),
                    version: text(field(after, unknown, "version")),
                    bootstrap_self_managed_addons: bootstrap,
                    support_type: text(field(upgrade, upgrade_unknown, "support_type")),
                    ip_family: text(field(network, network_unknown, "ip_family")),
                    oidc_issuer: {
                        let (identity, identity_unknown) = first_block(after, unknown, "identity");
                        let (oidc, oidc_unknown) = first_block(identity, identity_unknown, "oidc");
                        text(field(oidc, oidc_unknown, "issuer"))
                    },
                    planned: Some(planned(format!("actions {}", actions.join(", ")))),
                    unknown_noted: false,
                });
                if deleting && creating {
                    let paths = serde_json::to_string(&rc.change.replace_paths).unwrap_or_default();
                    plan.facts.cluster_replacements.push(planned(format!(
                        "actions {}{}; replace_paths {paths}",
                        actions.join(", "),
                        rc.action_reason
                            .as_deref()
                            .map(|r| format!(" ({r})"))
                            .unwrap_or_default()
                    )));
                }
            }
            "aws_eks_addon" => {
                let Some(name) = after.get("addon_name").and_then(Value::as_str) else {
                    return;
                };
                plan.addons.push(PlannedAddon {
                    name: name.to_string(),
                    version: text(field(after, unknown, "addon_version")),
                    configuration_values: after
                        .get("configuration_values")
                        .and_then(Value::as_str)
                        .map(str::to_string),
                    planned: planned(format!("aws_eks_addon {name}")),
                });
            }
            "aws_eks_node_group" => {
                let name = match field(after, unknown, "node_group_name") {
                    Fact::Known(Value::String(s)) => s.clone(),
                    _ => rc.address.clone(),
                };
                let (scaling, _) = first_block(after, unknown, "scaling_config");
                let size = |key: &str| {
                    scaling
                        .get(key)
                        .and_then(Value::as_u64)
                        .and_then(|n| u32::try_from(n).ok())
                };
                let taints = after
                    .get("taint")
                    .and_then(Value::as_array)
                    .map(|ts| {
                        ts.iter()
                            .filter_map(|t| {
                                Some((
                                    t.get("key")?.as_str()?.to_string(),
                                    t.get("value").and_then(Value::as_str).map(str::to_string),
                                    t.get("effect")?.as_str()?.to_string(),
                                ))
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                let labels = after
                    .get("labels")
                    .and_then(Value::as_object)
                    .map(|m| {
                        m.iter()
                            .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
                            .collect()
                    })
                    .unwrap_or_default();
                plan.nodegroups.push(PlannedNodegroup {
                    name,
                    instance_types: strings(after.get("instance_types")),
                    ami_type: after
                        .get("ami_type")
                        .and_then(Value::as_str)
                        .map(str::to_string),
                    min_size: size("min_size"),
                    max_size: size("max_size"),
                    desired_size: size("desired_size"),
                    taints,
                    labels,
                    planned: Some(planned("aws_eks_node_group".into())),
                    launch_template: launch_template_block(after, unknown),
                });
            }
            "helm_release" => self.helm_release(rc, at, plan),
            "aws_iam_role"
            | "aws_iam_role_policy"
            | "aws_iam_role_policy_attachment"
            | "aws_iam_policy"
            | "aws_iam_openid_connect_provider"
            | "aws_eks_pod_identity_association"
            | "kubernetes_service_account"
            | "kubernetes_service_account_v1" => self.iam(rc, planned(rc.kind.clone()), plan),
            "aws_launch_template" => {
                let name = match field(after, unknown, "name") {
                    Fact::Known(Value::String(s)) => s.clone(),
                    _ => rc.address.clone(),
                };
                let known = |key: &str| match field(after, unknown, key) {
                    Fact::Known(Value::String(s)) if !s.is_empty() => Some(s.clone()),
                    _ => None,
                };
                // A plan cannot read user data known only after apply: kept
                // as unreadable, never as "no max pods".
                let user_data = match field(after, unknown, "user_data") {
                    Fact::Unknown => Some(unknown_user_data()),
                    Fact::Known(Value::String(s)) if !s.is_empty() => Some(s.clone()),
                    _ => None,
                };
                let mut data = serde_json::Map::new();
                for (key, value) in [
                    ("ImageId", known("image_id")),
                    ("InstanceType", known("instance_type")),
                    ("UserData", user_data),
                ] {
                    if let Some(v) = value {
                        data.insert(key.into(), Value::String(v));
                    }
                }
                // The version the plan creates: the node group's `$Latest`.
                plan.launch_template(None, &name, data);
            }
            "kubernetes_manifest" | "kubectl_manifest" => {
                let objects: Vec<Value> = match rc.kind.as_str() {
                    "kubernetes_manifest" => after.get("manifest").cloned().into_iter().collect(),
                    _ => after
                        .get("yaml_body")
                        .and_then(Value::as_str)
                        .and_then(|y| {
                            serde_saphyr::from_multiple_with_options::<Value>(
                                y,
                                crate::userdata::yaml_options(y.len()),
                            )
                            .ok()
                        })
                        .unwrap_or_default(),
                };
                for o in objects {
                    if matches!(
                        o.get("kind").and_then(Value::as_str),
                        Some("NodePool" | "EC2NodeClass")
                    ) {
                        plan.kube_objects.push(o);
                    }
                }
                self.manifest_effects(rc, &at, plan);
            }
            _ => self.manifest_effects(rc, &at, plan),
        }
    }

    /// Jobs, manifests, DaemonSets: what they do to aws-node.
    fn manifest_effects(&self, rc: &ResourceChange, at: &SourceLocation, plan: &mut Plan) {
        let after = &rc.change.after;
        let planned = |detail: String| Planned {
            address: rc.address.clone(),
            at: at.clone(),
            detail,
        };
        let body = serde_json::to_string(after).unwrap_or_default();
        let (deleted, patched) = command_effects(&body);
        for what in deleted {
            plan.facts.addon_deletions.push(AddonDeletion {
                daemonset: what,
                planned: planned(format!("{} deletes {what}", rc.kind)),
            });
        }
        if patched {
            plan.aws_node_patched = Some(planned(format!("{} patches aws-node", rc.kind)));
        }
    }

    fn helm_release(&self, rc: &ResourceChange, at: SourceLocation, plan: &mut Plan) {
        let (after, unknown) = (&rc.change.after, &rc.change.after_unknown);
        let chart = after
            .get("chart")
            .and_then(Value::as_str)
            .unwrap_or_default();
        // A plan also names a chart archive on disk (`./charts/cilium-1.16.5.tgz`).
        let is_cilium =
            is_cilium_chart(chart) || chart.contains("/cilium-") && chart.ends_with(".tgz");
        if !is_cilium {
            return;
        }
        let release = ChartRelease {
            address: rc.address.clone(),
            at: at.clone(),
            chart: chart.to_string(),
            version: text(field(after, unknown, "version")),
        };
        let mut values = Values::default();
        let mut unevaluable = Vec::new();
        match field(after, unknown, "values") {
            Fact::Unknown => unevaluable.push("`values` is known only after apply".to_string()),
            Fact::Known(Value::Array(docs)) => {
                for (i, doc) in docs.iter().enumerate() {
                    let element_unknown = unknown
                        .get("values")
                        .and_then(|u| u.get(i))
                        .is_some_and(|u| u == &Value::Bool(true));
                    match doc {
                        _ if element_unknown => {
                            unevaluable.push(format!("values[{i}] is known only after apply"))
                        }
                        Value::String(yaml) => {
                            let name = format!("{}: {} values[{i}]", self.shown, rc.address);
                            if let Err(why) = values.layer_yaml(&name, yaml) {
                                unevaluable.push(format!("values[{i}]: {why}"));
                            }
                        }
                        _ => unevaluable.push(format!("values[{i}] is not a string")),
                    }
                }
            }
            _ => {}
        }
        for key in ["set", "set_list", "set_sensitive"] {
            match field(after, unknown, key) {
                Fact::Unknown => unevaluable.push(format!("`{key}` is known only after apply")),
                Fact::Known(Value::Array(items)) => {
                    for (i, item) in items.iter().enumerate() {
                        let Some(name) = item.get("name").and_then(Value::as_str) else {
                            continue;
                        };
                        let value_unknown =
                            unknown.get(key).and_then(|u| u.get(i)).is_some_and(|u| {
                                u == &Value::Bool(true)
                                    || u.get("value") == Some(&Value::Bool(true))
                            });
                        if value_unknown && key == "set" && OPERATOR_ROLE_KEYS.contains(&name) {
                            self.operator_role(rc, &at, i, name, plan);
                        }
                        let value = if key == "set_sensitive" {
                            helm_values::SetValue::Sensitive
                        } else if value_unknown {
                            helm_values::SetValue::Unknown
                        } else if key == "set_list" {
                            helm_values::SetValue::List(
                                item.get("value").cloned().unwrap_or(Value::Null),
                            )
                        } else {
                            helm_values::SetValue::Text(
                                item.get("value").map(|v| match v {
                                    Value::String(s) => s.clone(),
                                    other => other.to_string(),
                                }),
                                item.get("type").and_then(Value::as_str).map(str::to_string),
                            )
                        };
                        if let Err(why) = values.set(name, value) {
                            unevaluable.push(format!("{key}[{i}] {name:?}: {why}"));
                        }
                    }
                }
                _ => {}
            }
        }
        for key in &values.unknown_keys {
            plan.note(self.shown, format!("{}: Helm value {key} is known only after apply: kept as set, rules that read its value are not evaluated on it", rc.address));
        }
        let fully = values.placeholders_found;
        if fully > 0 {
            plan.note(
                self.shown,
                format!(
                    "{}: {fully} Helm value(s) hold uninterpolated ${{...}} placeholders",
                    rc.address
                ),
            );
        }
        for why in &unevaluable {
            plan.facts.unevaluable_values.push(Planned {
                address: rc.address.clone(),
                at: at.clone(),
                detail: why.clone(),
            });
        }
        plan.cilium.push(PlannedCilium {
            release,
            values: unevaluable.is_empty().then(|| values.into_value()),
        });
    }

    /// A Cilium release's `set` of the operator's IRSA role that is known
    /// only after apply: the role its expression refers to, when it names a
    /// planned one, annotates the operator's ServiceAccount.
    fn operator_role(
        &self,
        rc: &ResourceChange,
        at: &SourceLocation,
        i: usize,
        name: &str,
        plan: &mut Plan,
    ) {
        // The i-th `set` block of the plan is not always the i-th of the
        // configuration (dynamic blocks): find it by name.
        let references = self
            .expression(rc, &["set"])
            .and_then(Value::as_array)
            .and_then(|blocks| {
                blocks.iter().find(|b| {
                    b.pointer("/name/constant_value").and_then(Value::as_str) == Some(name)
                })
            })
            .map(|b| strings(b.pointer("/value/references")))
            // `set = concat(var.set, [for … : {value = aws_iam_role.this[0].arn}])`
            // (aws-ia/eks-blueprints-addon): one expression for all.
            .or_else(|| {
                self.expression(rc, &["set"])
                    .filter(|e| e.is_object())
                    .map(|e| strings(e.get("references")))
            })
            .unwrap_or_default();
        let keys: Vec<&str> = plan.iam.roles.iter().map(|r| r.key.as_str()).collect();
        let (prefix, references) = self.through_inputs(module_prefix(rc), references);
        let role = match resolve(keys.iter().copied(), &prefix, "aws_iam_role", &references) {
            Some(k) => iam::Ref::Key(k),
            None => iam::Ref::Unknown(format!("{}.set[{i}] {name}", rc.address)),
        };
        let sa = self
            .expression(rc, &["set"])
            .and_then(Value::as_array)
            .and_then(|blocks| {
                blocks.iter().find(|b| {
                    b.pointer("/name/constant_value").and_then(Value::as_str)
                        == Some("serviceAccounts.operator.name")
                })
            })
            .and_then(|b| b.pointer("/value/constant_value"))
            .and_then(Value::as_str)
            .unwrap_or("cilium-operator");
        plan.iam.identities.push(iam::PlannedIdentity {
            binding: iam::Binding::Irsa,
            namespace: "kube-system".into(),
            service_account: sa.to_string(),
            role,
            planned: Planned {
                address: rc.address.clone(),
                at: at.clone(),
                detail: format!("Helm value {name}"),
            },
        });
    }

    /// The expression of argument `path` (`role`, `metadata.0.annotations`)
    /// of a change's resource in the configuration.
    fn expression(&self, rc: &ResourceChange, path: &[&str]) -> Option<&Value> {
        let key = without_keys(&format!("{}{}.{}", module_prefix(rc), rc.kind, rc.name));
        let mut v = self.expressions.get(&key)?;
        for p in path {
            v = match p.parse::<usize>() {
                Ok(i) => v.get(i)?,
                Err(_) => v.get(*p)?,
            };
        }
        Some(v)
    }

    /// A reference from `rc`'s argument to a planned role or policy:
    /// the literal value, else what the configuration's expression refers to.
    fn reference(
        &self,
        rc: &ResourceChange,
        value: Fact<&Value>,
        expression: &[&str],
        kind: &str,
        plan: &Plan,
        literal: fn(String) -> iam::Ref,
    ) -> Option<iam::Ref> {
        match value {
            Fact::Known(Value::String(s)) if !s.is_empty() => Some(literal(s.clone())),
            Fact::Unknown => {
                let mut references = strings(
                    self.expression(rc, expression)
                        .and_then(|e| e.get("references")),
                );
                if references.iter().any(|r| r.starts_with("each.")) {
                    // `for_each = var.role_policies`: what the map holds.
                    let key = without_keys(&format!(
                        "{}{}.{}{FOR_EACH}",
                        module_prefix(rc),
                        rc.kind,
                        rc.name
                    ));
                    references =
                        strings(self.expressions.get(&key).and_then(|e| e.get("references")));
                }
                let keys: Vec<&str> = if kind == "aws_iam_role" {
                    plan.iam.roles.iter().map(|r| r.key.as_str()).collect()
                } else {
                    plan.iam.policies.iter().map(|p| p.key.as_str()).collect()
                };
                let (prefix, references) = self.through_inputs(module_prefix(rc), references);
                Some(
                    match resolve(keys.iter().copied(), &prefix, kind, &references) {
                        Some(k) => iam::Ref::Key(k),
                        None => {
                            iam::Ref::Unknown(format!("{}.{}", rc.address, expression.join(".")))
                        }
                    },
                )
            }
            _ => None,
        }
    }

    /// References to a module's input variables (`var.role_policies`)
    /// followed to what the calling module passes (`{ cilium =
    /// aws_iam_policy.cilium.arn }`), up the module calls.
    fn through_inputs(
        &self,
        mut prefix: String,
        mut references: Vec<String>,
    ) -> (String, Vec<String>) {
        for _ in 0..16 {
            let Some(var) = references
                .iter()
                .find_map(|r| r.strip_prefix("var."))
                .map(|v| v.split(['.', '[']).next().unwrap_or(v).to_string())
            else {
                break;
            };
            let Some((parent, call)) = parent_call(&prefix) else {
                break;
            };
            let key = without_keys(&format!("{parent}module.{call}{INPUTS}"));
            let Some(input) = self.expressions.get(&key).and_then(|e| e.get(&var)) else {
                break;
            };
            references = strings(input.get("references"));
            prefix = parent.to_string();
        }
        (prefix, references)
    }

    /// IAM roles, policies, OIDC providers, Pod Identity associations and
    /// IRSA ServiceAccounts.
    fn iam(&self, rc: &ResourceChange, planned: Planned, plan: &mut Plan) {
        let (after, unknown) = (&rc.change.after, &rc.change.after_unknown);
        let owned = |f: Fact<&Value>| match f {
            Fact::Known(v) => Fact::Known(v.clone()),
            Fact::Unknown => Fact::Unknown,
            Fact::Absent => Fact::Absent,
        };
        let address = rc.address.clone();
        match rc.kind.as_str() {
            "aws_iam_role" => {
                for (i, block) in after
                    .get("inline_policy")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .enumerate()
                {
                    let Some(name) = block.get("name").and_then(Value::as_str) else {
                        continue;
                    };
                    let policy_unknown = unknown
                        .get("inline_policy")
                        .and_then(|u| u.get(i))
                        .is_some_and(|u| {
                            u == &Value::Bool(true) || u.get("policy") == Some(&Value::Bool(true))
                        });
                    let document = match block.get("policy") {
                        _ if policy_unknown => Fact::Unknown,
                        Some(Value::String(p)) if !p.is_empty() => {
                            Fact::Known(Value::String(p.clone()))
                        }
                        _ => continue,
                    };
                    plan.iam.grants.push((
                        iam::Ref::Key(address.clone()),
                        iam::Grant::Inline {
                            name: name.to_string(),
                            document,
                        },
                        format!("{address}.inline_policy[{i}]"),
                    ));
                }
                for arn in strings(after.get("managed_policy_arns")) {
                    plan.iam.grants.push((
                        iam::Ref::Key(address.clone()),
                        iam::Grant::Attached(iam::Ref::Arn(arn)),
                        format!("{address}.managed_policy_arns"),
                    ));
                }
                plan.iam.roles.push(iam::PlannedRole {
                    key: address,
                    name: text(field(after, unknown, "name")),
                    arn: text(field(after, unknown, "arn")),
                    trust: owned(field(after, unknown, "assume_role_policy")),
                    planned,
                });
            }
            "aws_iam_policy" => plan.iam.policies.push(iam::PlannedPolicy {
                key: address,
                name: text(field(after, unknown, "name")),
                arn: text(field(after, unknown, "arn")),
                document: owned(field(after, unknown, "policy")),
            }),
            "aws_iam_role_policy" | "aws_iam_role_policy_attachment" => {
                let Some(role) = self.reference(
                    rc,
                    field(after, unknown, "role"),
                    &["role"],
                    "aws_iam_role",
                    plan,
                    iam::Ref::Name,
                ) else {
                    return;
                };
                let grant = if rc.kind == "aws_iam_role_policy" {
                    iam::Grant::Inline {
                        name: match text(field(after, unknown, "name")) {
                            Fact::Known(n) => n,
                            _ => address.clone(),
                        },
                        document: owned(field(after, unknown, "policy")),
                    }
                } else {
                    match self.reference(
                        rc,
                        field(after, unknown, "policy_arn"),
                        &["policy_arn"],
                        "aws_iam_policy",
                        plan,
                        iam::Ref::Arn,
                    ) {
                        Some(policy) => iam::Grant::Attached(policy),
                        None => return,
                    }
                };
                plan.iam.grants.push((role, grant, address));
            }
            "aws_iam_openid_connect_provider" => {
                let id = match text(field(after, unknown, "arn")) {
                    Fact::Known(a) => Fact::Known(a),
                    _ => text(field(after, unknown, "url")),
                };
                plan.iam.oidc_providers.push((id, planned));
            }
            "aws_eks_pod_identity_association" => {
                let (Some(ns), Some(sa)) = (
                    after.get("namespace").and_then(Value::as_str),
                    after.get("service_account").and_then(Value::as_str),
                ) else {
                    return;
                };
                let role = self
                    .reference(
                        rc,
                        field(after, unknown, "role_arn"),
                        &["role_arn"],
                        "aws_iam_role",
                        plan,
                        iam::Ref::Arn,
                    )
                    .unwrap_or_else(|| iam::Ref::Unknown(format!("{address}.role_arn")));
                plan.iam.identities.push(iam::PlannedIdentity {
                    binding: iam::Binding::PodIdentity,
                    namespace: ns.to_string(),
                    service_account: sa.to_string(),
                    role,
                    planned,
                });
            }
            _ => {
                // kubernetes_service_account(_v1): metadata[0].annotations.
                let (meta, meta_unknown) = first_block(after, unknown, "metadata");
                let Some(name) = meta.get("name").and_then(Value::as_str) else {
                    return;
                };
                let namespace = meta
                    .get("namespace")
                    .and_then(Value::as_str)
                    .unwrap_or("default");
                let annotation = crate::facts::IRSA_ANNOTATION;
                let value = match meta_unknown.get("annotations") {
                    Some(Value::Bool(true)) => Fact::Unknown,
                    Some(u) if u.get(annotation) == Some(&Value::Bool(true)) => Fact::Unknown,
                    _ => match meta.get("annotations").and_then(|a| a.get(annotation)) {
                        Some(v) => Fact::Known(v),
                        None => Fact::Absent,
                    },
                };
                let Some(role) = self.reference(
                    rc,
                    value,
                    &["metadata", "0", "annotations"],
                    "aws_iam_role",
                    plan,
                    iam::Ref::Arn,
                ) else {
                    return;
                };
                plan.iam.identities.push(iam::PlannedIdentity {
                    binding: iam::Binding::Irsa,
                    namespace: namespace.to_string(),
                    service_account: name.to_string(),
                    role,
                    planned,
                });
            }
        }
    }

    /// `local-exec` provisioners (null_resource, terraform_data) in the
    /// configuration: commands that delete or patch aws-node.
    fn provisioners(&self, module: &ConfigModule, plan: &mut Plan, sources: &mut HclSources) {
        for r in &module.resources {
            for p in r.provisioners.iter().filter(|p| p.kind == "local-exec") {
                let Some(command) = p
                    .expressions
                    .get("command")
                    .and_then(|c| c.get("constant_value"))
                    .and_then(Value::as_str)
                else {
                    continue;
                };
                let (deleted, patched) = command_effects(command);
                if deleted.is_empty() && !patched {
                    continue;
                }
                let at = self.at(sources, &r.address, None, &r.kind, &r.name);
                for what in deleted {
                    plan.facts.addon_deletions.push(AddonDeletion {
                        daemonset: what,
                        planned: Planned {
                            address: r.address.clone(),
                            at: at.clone(),
                            detail: format!("local-exec `{}` deletes {what}", first_line(command)),
                        },
                    });
                }
                if patched {
                    plan.aws_node_patched = Some(Planned {
                        address: r.address.clone(),
                        at,
                        detail: "local-exec patches aws-node".into(),
                    });
                }
            }
        }
        for call in module.module_calls.values() {
            if let Some(m) = &call.module {
                self.provisioners(m, plan, sources);
            }
        }
    }
}

fn first_line(command: &str) -> String {
    let line = command.trim().lines().next().unwrap_or_default();
    let mut short: String = line.chars().take(80).collect();
    if line.chars().count() > 80 {
        short.push('…');
    }
    short
}

#[cfg(test)]
mod tests {

    #[test]
    fn addresses_and_references_resolve_within_their_module_instance() {
        assert_eq!(
            without_keys(r#"module.eks.module.node_group["a[b]"].aws_iam_role.this[0]"#),
            "module.eks.module.node_group.aws_iam_role.this"
        );
        assert_eq!(
            parent_call(r#"module.a["x"].module.b["y"]."#),
            Some((r#"module.a["x"]."#, "b"))
        );
        assert_eq!(parent_call("module.a."), Some(("", "a")));
        assert_eq!(parent_call(""), None);
        let keys = [
            r#"module.ng["a"].aws_iam_role.this[0]"#,
            r#"module.ng["b"].aws_iam_role.this[0]"#,
            "module.irsa.aws_iam_role.this[0]",
            "aws_iam_role.op",
        ];
        let refs = |r: &[&str]| r.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        // The same instance's role, not the other instance's.
        assert_eq!(
            resolve(
                keys.iter().copied(),
                r#"module.ng["b"]."#,
                "aws_iam_role",
                &refs(&["aws_iam_role.this[0].name", "aws_iam_role.this[0]"])
            ),
            Some(r#"module.ng["b"].aws_iam_role.this[0]"#.to_string())
        );
        // The only role inside a called module, for its output.
        assert_eq!(
            resolve(
                keys.iter().copied(),
                "",
                "aws_iam_role",
                &refs(&["module.irsa.iam_role_arn", "module.irsa"])
            ),
            Some("module.irsa.aws_iam_role.this[0]".to_string())
        );
        // Two roles under module.ng: ambiguous, unresolved.
        assert_eq!(
            resolve(
                keys.iter().copied(),
                "",
                "aws_iam_role",
                &refs(&["module.ng"])
            ),
            None
        );
        assert_eq!(
            resolve(
                keys.iter().copied(),
                "",
                "aws_iam_role",
                &refs(&["aws_iam_role.op"])
            ),
            Some("aws_iam_role.op".to_string())
        );
        assert_eq!(
            resolve(
                keys.iter().copied(),
                "",
                "aws_iam_role",
                &refs(&["var.role", "each.value"])
            ),
            None
        );
    }
    use super::*;

    #[test]
    fn reads_format_version_from_the_head() {
        assert_eq!(
            format_version(r#"{"format_version":"1.2","x":1}"#).as_deref(),
            Some("1.2")
        );
        assert_eq!(
            format_version("{\n  \"format_version\": \"0.1\",").as_deref(),
            Some("0.1")
        );
        assert_eq!(format_version("{}"), None);
    }

    #[test]
    fn decodes_utf16_heads() {
        let mut bytes = vec![0xff, 0xfe];
        for u in "{\"format_version\"".encode_utf16() {
            bytes.extend(u.to_le_bytes());
        }
        assert_eq!(decode_head(&bytes).as_deref(), Some("{\"format_version\""));
        assert_eq!(decode_head(b"\0\0binary"), None);
    }

    #[test]
    fn tells_deletion_from_patching() {
        let (deleted, patched) =
            command_effects("kubectl -n kube-system delete daemonset aws-node");
        assert_eq!(deleted, vec!["aws-node"]);
        assert!(!patched);
        let (deleted, patched) = command_effects(
            "kubectl -n kube-system patch daemonset aws-node --type=strategic -p '{\"spec\":{\"template\":{\"spec\":{\"nodeSelector\":{\"io.cilium/aws-node-enabled\":\"true\"}}}}}'",
        );
        assert!(deleted.is_empty());
        assert!(patched);
        assert_eq!(command_effects("helm install cilium").0, Vec::<&str>::new());
    }
}
