//! eksctl `ClusterConfig` (eksctl.io/v1alpha5) YAML.
//!
//! Each file is validated against eksctl's own published schema (vendored:
//! `eksctl-schema-v0.230.0.json`, eksctl-io/eksctl tag v0.230.0,
//! `pkg/apis/eksctl.io/v1alpha5/assets/schema.json`, Apache-2.0), so a typo
//! such as `taint:` for `taints:` is an error naming its line instead of a
//! rule that silently passes. Files of one cluster (same `metadata.name`
//! and `region`) are merged: the cluster in one, node groups in another.
//!
//! What the YAML leaves to eksctl is filled with eksctl's documented
//! defaults for the eksctl version given (`--eksctl-version`, else the
//! newest behaviour), from /work/shared/data/aws/node_provisioning.json
//! (`eksctl`): since v0.184.0 eksctl creates the cluster with
//! `BootstrapSelfManagedAddons=false` and installs vpc-cni, kube-proxy and
//! coredns as EKS managed add-ons (metrics-server too since v0.201.0),
//! unless `addonsConfig.disableDefaultAddons: true`; before v0.184.0 EKS
//! bootstrapped them self-managed.

use std::sync::OnceLock;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::Value;

use super::{Fact, Plan, Planned, PlannedAddon, PlannedCluster, PlannedNodegroup};
use crate::findings::SourceLocation;
use crate::load::{LoadError, LoadOptions};
use crate::version::Version;

/// The schema's eksctl release.
pub const SCHEMA_RELEASE: &str = "v0.230.0";
const SCHEMA: &str = include_str!("eksctl-schema-v0.230.0.json");

/// The release from which eksctl installs the default add-ons as EKS
/// managed add-ons (node_provisioning.json, eksctl: "introduced in v0.184.0").
const MANAGED_DEFAULTS_FROM: Version = Version::new(0, 184, 0);
/// metrics-server joins the default add-ons ("metrics-server added in v0.201.0").
const METRICS_SERVER_FROM: Version = Version::new(0, 201, 0);

/// A YAML node with the line it starts on, for pointing at fields.
#[derive(Debug, Default)]
struct Node {
    line: u32,
    kind: NodeKind,
}

#[derive(Debug, Default)]
enum NodeKind {
    /// Key, the line of the key, the value.
    Map(Vec<(String, u32, Node)>),
    Seq(Vec<Node>),
    #[default]
    Scalar,
}

struct Inner(NodeKind);

impl<'de> Deserialize<'de> for Inner {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Inner;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("YAML")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Inner, A::Error> {
                let mut out = Vec::new();
                while let Some(key) = map.next_key::<serde_saphyr::Spanned<KeyText>>()? {
                    let value: Node = map.next_value()?;
                    let line = u32::try_from(key.referenced.line()).unwrap_or(0);
                    out.push((key.value.0, line, value));
                }
                Ok(Inner(NodeKind::Map(out)))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Inner, A::Error> {
                let mut out = Vec::new();
                while let Some(n) = seq.next_element::<Node>()? {
                    out.push(n);
                }
                Ok(Inner(NodeKind::Seq(out)))
            }
            fn visit_bool<E>(self, _: bool) -> Result<Inner, E> {
                Ok(Inner(NodeKind::Scalar))
            }
            fn visit_i64<E>(self, _: i64) -> Result<Inner, E> {
                Ok(Inner(NodeKind::Scalar))
            }
            fn visit_u64<E>(self, _: u64) -> Result<Inner, E> {
                Ok(Inner(NodeKind::Scalar))
            }
            fn visit_f64<E>(self, _: f64) -> Result<Inner, E> {
                Ok(Inner(NodeKind::Scalar))
            }
            fn visit_str<E>(self, _: &str) -> Result<Inner, E> {
                Ok(Inner(NodeKind::Scalar))
            }
            fn visit_unit<E>(self) -> Result<Inner, E> {
                Ok(Inner(NodeKind::Scalar))
            }
            fn visit_none<E>(self) -> Result<Inner, E> {
                Ok(Inner(NodeKind::Scalar))
            }
            fn visit_some<D2: Deserializer<'de>>(self, d: D2) -> Result<Inner, D2::Error> {
                Inner::deserialize(d)
            }
        }
        d.deserialize_any(V)
    }
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let spanned = serde_saphyr::Spanned::<Inner>::deserialize(d)?;
        Ok(Node {
            line: u32::try_from(spanned.referenced.line()).unwrap_or(0),
            kind: spanned.value.0,
        })
    }
}

/// A mapping key as text, whatever its YAML type.
struct KeyText(String);

impl<'de> Deserialize<'de> for KeyText {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = KeyText;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a mapping key")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<KeyText, E> {
                Ok(KeyText(s.to_string()))
            }
            fn visit_bool<E>(self, b: bool) -> Result<KeyText, E> {
                Ok(KeyText(b.to_string()))
            }
            fn visit_i64<E>(self, n: i64) -> Result<KeyText, E> {
                Ok(KeyText(n.to_string()))
            }
            fn visit_u64<E>(self, n: u64) -> Result<KeyText, E> {
                Ok(KeyText(n.to_string()))
            }
            fn visit_f64<E>(self, n: f64) -> Result<KeyText, E> {
                Ok(KeyText(n.to_string()))
            }
        }
        d.deserialize_any(V)
    }
}

impl Node {
    /// The line of the deepest node on `path` (keys and indices): the
    /// key's line for a mapping entry, the item's for a sequence item.
    fn line_of(&self, path: &[&str]) -> u32 {
        let mut node = self;
        let mut line = self.line;
        for segment in path {
            let next = match &node.kind {
                NodeKind::Map(entries) => entries
                    .iter()
                    .find(|(k, _, _)| k == segment)
                    .map(|(_, key_line, v)| (*key_line, v)),
                NodeKind::Seq(items) => segment
                    .parse::<usize>()
                    .ok()
                    .and_then(|i| items.get(i))
                    .map(|v| (v.line, v)),
                NodeKind::Scalar => None,
            };
            match next {
                Some((at, n)) => {
                    node = n;
                    if at > 0 {
                        line = at;
                    }
                }
                None => break,
            }
        }
        line.max(1)
    }
}

/// One parsed ClusterConfig file.
#[derive(Debug)]
pub struct EksctlDoc {
    file: String,
    value: Value,
    lines: Node,
}

impl EksctlDoc {
    fn at(&self, path: &[&str]) -> SourceLocation {
        SourceLocation::new(&self.file, self.lines.line_of(path))
    }

    fn str_at(&self, path: &[&str]) -> Option<&str> {
        path.iter()
            .try_fold(&self.value, |v, k| match v {
                Value::Array(a) => a.get(k.parse::<usize>().ok()?),
                other => other.get(*k),
            })?
            .as_str()
    }

    fn identity(&self) -> (String, String) {
        (
            self.str_at(&["metadata", "name"])
                .unwrap_or_default()
                .to_string(),
            self.str_at(&["metadata", "region"])
                .unwrap_or_default()
                .to_string(),
        )
    }
}

fn validator() -> Result<&'static jsonschema::Validator, String> {
    static VALIDATOR: OnceLock<Result<jsonschema::Validator, String>> = OnceLock::new();
    VALIDATOR
        .get_or_init(|| {
            let mut schema: Value = serde_json::from_str(SCHEMA).map_err(|e| e.to_string())?;
            uri_safe_definitions(&mut schema);
            jsonschema::validator_for(&schema).map_err(|e| e.to_string())
        })
        .as_ref()
        .map_err(Clone::clone)
}

/// eksctl names some definitions after Go packages with `|`
/// (`github.com|aws|aws-sdk-go-v2|aws|arn.ARN`), which is not allowed in a
/// `$ref` URI: rename those definitions and their references (`|` → `_`),
/// leaving patterns and descriptions as they are.
fn uri_safe_definitions(schema: &mut Value) {
    fn refs(v: &mut Value) {
        match v {
            Value::Object(m) => {
                if let Some(Value::String(r)) = m.get_mut("$ref") {
                    if r.starts_with("#/definitions/") {
                        *r = r.replace('|', "_");
                    }
                }
                m.values_mut().for_each(refs);
            }
            Value::Array(a) => a.iter_mut().for_each(refs),
            _ => {}
        }
    }
    if let Some(Value::Object(defs)) = schema.get_mut("definitions") {
        let renamed: serde_json::Map<String, Value> = std::mem::take(defs)
            .into_iter()
            .map(|(k, v)| (k.replace('|', "_"), v))
            .collect();
        *defs = renamed;
    }
    refs(schema);
}

/// Whether the value at a JSON pointer is an uninterpolated `${VAR}`.
fn is_placeholder(value: &Value, pointer: &str) -> bool {
    value
        .pointer(pointer)
        .and_then(Value::as_str)
        .is_some_and(|s| s.contains("${"))
}

fn malformed(path: &str, line: Option<u32>, message: impl Into<String>) -> LoadError {
    LoadError::Malformed {
        path: path.to_string(),
        location: line.map(|l| format!("line {l}")),
        message: message.into(),
    }
}

/// Parse and validate one ClusterConfig file.
pub fn parse(shown: &str, bytes: &[u8], options: &LoadOptions) -> Result<EksctlDoc, LoadError> {
    let value = crate::load::parse_helm_values(shown, bytes, options)?;
    let text = std::str::from_utf8(bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes))
        .map_err(|_| malformed(shown, None, "not UTF-8 text"))?;
    let lines: Node = serde_saphyr::from_str(text).unwrap_or_default();
    let doc = EksctlDoc {
        file: shown.to_string(),
        value,
        lines,
    };
    let validator = validator().map_err(|e| {
        malformed(
            shown,
            None,
            format!("the vendored eksctl schema does not compile: {e}"),
        )
    })?;
    let mut errors: Vec<(u32, String)> = validator
        .iter_errors(&doc.value)
        .filter_map(|e| {
            let pointer = e.instance_path().to_string();
            if is_placeholder(&doc.value, &pointer) {
                return None;
            }
            let path: Vec<&str> = pointer.split('/').skip(1).collect();
            // An unexpected key (a typo): point at the key itself.
            if let jsonschema::error::ValidationErrorKind::AdditionalProperties { unexpected } =
                e.kind()
            {
                if let Some(key) = unexpected.first() {
                    let line = {
                        let mut with_key = path.clone();
                        with_key.push(key);
                        doc.lines.line_of(&with_key)
                    };
                    let shown_path = if path.is_empty() {
                        key.clone()
                    } else {
                        format!("{}.{key}", path.join("."))
                    };
                    return Some((line, format!("{shown_path}: {e}")));
                }
            }
            let shown_path = if path.is_empty() {
                "(top level)".to_string()
            } else {
                path.join(".")
            };
            Some((doc.lines.line_of(&path), format!("{shown_path}: {e}")))
        })
        .collect();
    if !errors.is_empty() {
        errors.sort();
        let (line, _) = errors[0];
        let shown_errors: Vec<String> = errors
            .iter()
            .take(5)
            .map(|(l, m)| format!("line {l}: {m}"))
            .collect();
        let more = errors.len().saturating_sub(5);
        return Err(malformed(
            shown,
            Some(line),
            format!(
                "does not match eksctl's ClusterConfig schema ({SCHEMA_RELEASE}): {}{}",
                shown_errors.join("; "),
                if more > 0 {
                    format!("; and {more} more")
                } else {
                    String::new()
                }
            ),
        ));
    }
    Ok(doc)
}

fn text_of(v: Option<&Value>) -> Fact<String> {
    match v {
        None | Some(Value::Null) => Fact::Absent,
        Some(Value::String(s)) if s.contains("${") => Fact::Unknown,
        Some(Value::String(s)) => Fact::Known(s.clone()),
        Some(Value::Bool(b)) => Fact::Known(b.to_string()),
        // `version: 1.30` is the number 1.3: not what was meant.
        Some(_) => Fact::Unknown,
    }
}

/// eksctl (Kubernetes) taint effects as EKS spells them.
fn eks_effect(effect: &str) -> String {
    match effect {
        "NoSchedule" => "NO_SCHEDULE".into(),
        "NoExecute" => "NO_EXECUTE".into(),
        "PreferNoSchedule" => "PREFER_NO_SCHEDULE".into(),
        other => other.to_string(),
    }
}

fn taints(v: Option<&Value>) -> Vec<(String, Option<String>, String)> {
    match v {
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(|t| {
                Some((
                    t.get("key")?.as_str()?.to_string(),
                    t.get("value").and_then(Value::as_str).map(str::to_string),
                    eks_effect(
                        t.get("effect")
                            .and_then(Value::as_str)
                            .unwrap_or("NoSchedule"),
                    ),
                ))
            })
            .collect(),
        // The old map form: `key: "value:Effect"`.
        Some(Value::Object(m)) => m
            .iter()
            .filter_map(|(k, v)| {
                let text = v.as_str()?;
                let (value, effect) = text.rsplit_once(':').unwrap_or((text, "NoSchedule"));
                Some((
                    k.clone(),
                    (!value.is_empty()).then(|| value.to_string()),
                    eks_effect(effect),
                ))
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// `maxPodsPerNode`: eksctl writes it into the user data of the launch
/// template it creates for the node group, in the form of its AMI family
/// (node_provisioning.json `eksctl`: "AL2023 -> an extra NodeConfig with
/// spec.kubelet.config.maxPods; Bottlerocket -> settings.kubernetes.max-pods;
/// managed AL2 -> script editing /etc/eks/bootstrap.sh KUBELET_EXTRA_ARGS
/// (skipped when overrideBootstrapCommand is set); self-managed AL2 ->
/// MAX_PODS variable for the bootstrap template"). That launch template,
/// as describe-launch-template-versions prints it, joins the plan; the node
/// group's `launchTemplate` points at it.
fn max_pods_launch_template(
    ng: &Value,
    managed: bool,
    ng_name: &str,
    at: SourceLocation,
    plan: &mut Plan,
) -> Option<Value> {
    let max_pods = ng.get("maxPodsPerNode")?.as_u64()?;
    // The schema's default family (eksctl v1alpha5: `"AmazonLinux2023"` (default)).
    let family = ng
        .get("amiFamily")
        .and_then(Value::as_str)
        .unwrap_or("AmazonLinux2023");
    let override_command = ng.get("overrideBootstrapCommand").and_then(Value::as_str);
    let user_data = match family {
        "AmazonLinux2023" => format!(
            "apiVersion: node.eks.aws/v1alpha1\nkind: NodeConfig\nspec:\n  kubelet:\n    config:\n      maxPods: {max_pods}\n"
        ),
        "Bottlerocket" | "BottlerocketFips" => {
            format!("[settings.kubernetes]\nmax-pods = {max_pods}\n")
        }
        "AmazonLinux2" => match (managed, override_command) {
            // eksctl leaves the override as it is: whatever it sets holds.
            (true, Some(command)) => command.to_string(),
            _ => format!(
                "#!/bin/bash\n/etc/eks/bootstrap.sh CLUSTER_NAME --use-max-pods false --kubelet-extra-args '--max-pods={max_pods}'\n"
            ),
        },
        other => {
            plan.note(
                &at.file,
                format!(
                    "line {}: maxPodsPerNode of node group {ng_name} (amiFamily {other}) is not evaluated: \
                     only the AL2, AL2023 and Bottlerocket forms are known",
                    at.line
                ),
            );
            return None;
        }
    };
    let name = format!("eksctl-{ng_name}");
    let mut data = serde_json::Map::new();
    data.insert(
        "UserData".into(),
        base64::Engine::encode(&base64::engine::general_purpose::STANDARD, user_data).into(),
    );
    plan.launch_template(None, &name, data);
    Some(serde_json::json!({"name": name, "version": "1"}))
}

fn size(v: Option<&Value>) -> Option<u32> {
    v.and_then(Value::as_u64)
        .and_then(|n| u32::try_from(n).ok())
}

/// `iam`: the OIDC provider (`withOIDC`), the IRSA roles eksctl creates
/// for `serviceAccounts` (and the ServiceAccounts it annotates, unless
/// `roleOnly`), and `podIdentityAssociations`. eksctl writes each role's
/// trust itself, for an issuer known only once the cluster exists.
fn iam_of(doc: &EksctlDoc, plan: &mut Plan) {
    use super::iam::{Binding, Grant, PlannedIdentity, PlannedRole, Ref};
    let v = &doc.value;
    if v.pointer("/iam/withOIDC").and_then(Value::as_bool) == Some(true) {
        plan.iam.oidc_providers.push((
            Fact::Unknown,
            Planned {
                address: "iam.withOIDC".into(),
                at: doc.at(&["iam", "withOIDC"]),
                detail: "eksctl iam.withOIDC".into(),
            },
        ));
    }
    for (list, sa_key, ns_key) in [
        ("serviceAccounts", "/metadata/name", "/metadata/namespace"),
        (
            "podIdentityAssociations",
            "/serviceAccountName",
            "/namespace",
        ),
    ] {
        let pod_identity = list == "podIdentityAssociations";
        for (i, entry) in v
            .pointer(&format!("/iam/{list}"))
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .enumerate()
        {
            let index = i.to_string();
            let address = format!("iam.{list}[{i}]");
            let at = doc.at(&["iam", list, &index]);
            let (Some(sa), ns) = (
                entry.pointer(sa_key).and_then(Value::as_str),
                entry
                    .pointer(ns_key)
                    .and_then(Value::as_str)
                    .unwrap_or("default"),
            ) else {
                continue;
            };
            let planned = Planned {
                address: address.clone(),
                at: at.clone(),
                detail: format!("eksctl {address} {ns}/{sa}"),
            };
            let existing = if pod_identity {
                entry.get("roleARN")
            } else {
                entry.get("attachRoleARN")
            };
            let role = match existing.map(|a| text_of(Some(a))) {
                Some(Fact::Known(arn)) => Ref::Arn(arn),
                Some(_) => Ref::Unknown(format!("{address}.roleARN")),
                None => {
                    let (arns_key, doc_key) = if pod_identity {
                        ("permissionPolicyARNs", "permissionPolicy")
                    } else {
                        ("attachPolicyARNs", "attachPolicy")
                    };
                    plan.iam.roles.push(PlannedRole {
                        key: address.clone(),
                        name: text_of(entry.get("roleName")),
                        arn: Fact::Unknown,
                        trust: Fact::Unknown,
                        planned: planned.clone(),
                    });
                    for arn in entry
                        .get(arns_key)
                        .and_then(Value::as_array)
                        .into_iter()
                        .flatten()
                    {
                        let policy = match text_of(Some(arn)) {
                            Fact::Known(a) => Ref::Arn(a),
                            _ => Ref::Unknown(format!("{address}.{arns_key}")),
                        };
                        plan.iam.grants.push((
                            Ref::Key(address.clone()),
                            Grant::Attached(policy),
                            format!("{address}.{arns_key}"),
                        ));
                    }
                    if let Some(document) = entry.get(doc_key).filter(|d| !d.is_null()) {
                        let document = if is_placeholder(document, "") {
                            Fact::Unknown
                        } else {
                            Fact::Known(document.clone())
                        };
                        plan.iam.grants.push((
                            Ref::Key(address.clone()),
                            Grant::Inline {
                                name: format!("{address}.{doc_key}"),
                                document,
                            },
                            format!("{address}.{doc_key}"),
                        ));
                    }
                    if let Some(w) = entry.get("wellKnownPolicies").filter(|w| !w.is_null()) {
                        // eksctl's own policy bundles: their documents are
                        // eksctl's, not in the file.
                        plan.iam.grants.push((
                            Ref::Key(address.clone()),
                            Grant::Attached(Ref::Unknown(String::new())),
                            format!("{address}.wellKnownPolicies {}", w),
                        ));
                    }
                    Ref::Key(address.clone())
                }
            };
            let binding = if pod_identity {
                Binding::PodIdentity
            } else if entry.get("roleOnly").and_then(Value::as_bool) == Some(true) {
                // eksctl creates the role only: the ServiceAccount is not
                // annotated by it.
                continue;
            } else {
                Binding::Irsa
            };
            plan.iam.identities.push(PlannedIdentity {
                binding,
                namespace: ns.to_string(),
                service_account: sa.to_string(),
                role,
                planned,
            });
        }
    }
}

/// Merge the files of each cluster and add what they plan to `plan`.
pub fn apply(
    docs: Vec<EksctlDoc>,
    eksctl: Option<Version>,
    plan: &mut Plan,
) -> Result<(), LoadError> {
    // Group by cluster identity, keeping file order.
    let mut groups: Vec<((String, String), Vec<EksctlDoc>)> = Vec::new();
    for doc in docs {
        let id = doc.identity();
        match groups.iter_mut().find(|(k, _)| *k == id) {
            Some((_, g)) => g.push(doc),
            None => groups.push((id, vec![doc])),
        }
    }
    let release = eksctl.unwrap_or(Version::new(0, 230, 0));
    let release_text = match eksctl {
        Some(v) => format!("eksctl {v}"),
        None => format!(
            "eksctl {SCHEMA_RELEASE} (the newest behaviour documented; give --eksctl-version)"
        ),
    };
    for ((name, _), group) in groups {
        let mut cluster = PlannedCluster::default();
        let mut disable_defaults: Option<(bool, SourceLocation)> = None;
        let mut listed: Vec<String> = Vec::new();
        for doc in &group {
            let v = &doc.value;
            let metadata = v.get("metadata");
            if cluster.planned.is_none() {
                cluster.planned = Some(Planned {
                    address: format!("ClusterConfig {name}"),
                    at: doc.at(&["metadata", "name"]),
                    detail: release_text.clone(),
                });
            }
            if cluster.name == Fact::Absent {
                cluster.name = text_of(metadata.and_then(|m| m.get("name")));
            }
            let version = text_of(metadata.and_then(|m| m.get("version")));
            if matches!(
                metadata.and_then(|m| m.get("version")),
                Some(Value::Number(_))
            ) {
                plan.note(&doc.file, format!("line {}: metadata.version is a number (1.30 reads as 1.3): quote it; the version is not evaluated", doc.lines.line_of(&["metadata", "version"])));
            }
            if cluster.version == Fact::Absent {
                cluster.version = version;
            }
            if cluster.support_type == Fact::Absent {
                cluster.support_type = text_of(v.pointer("/upgradePolicy/supportType"));
            }
            if cluster.ip_family == Fact::Absent {
                cluster.ip_family = text_of(v.pointer("/kubernetesNetworkConfig/ipFamily"));
            }
            if let Some(b) = v
                .pointer("/addonsConfig/disableDefaultAddons")
                .and_then(Value::as_bool)
            {
                disable_defaults = Some((b, doc.at(&["addonsConfig", "disableDefaultAddons"])));
            }
            for (i, addon) in v
                .get("addons")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .enumerate()
            {
                let Some(addon_name) = addon.get("name").and_then(Value::as_str) else {
                    continue;
                };
                let index = i.to_string();
                let config = match addon.get("configurationValues") {
                    Some(Value::String(s)) => Some(s.clone()),
                    Some(other @ Value::Object(_)) => Some(other.to_string()),
                    _ => None,
                };
                listed.push(addon_name.to_string());
                plan.addons.push(PlannedAddon {
                    name: addon_name.to_string(),
                    version: text_of(addon.get("version")),
                    configuration_values: config,
                    planned: Planned {
                        address: format!("addons[{i}]"),
                        at: doc.at(&["addons", &index, "name"]),
                        detail: format!("eksctl addons[{i}] {addon_name}"),
                    },
                });
            }
            iam_of(doc, plan);
            for key in ["managedNodeGroups", "nodeGroups"] {
                for (i, ng) in v
                    .get(key)
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .enumerate()
                {
                    let index = i.to_string();
                    let ng_name = ng
                        .get("name")
                        .and_then(Value::as_str)
                        .map(str::to_string)
                        .unwrap_or_else(|| format!("{key}[{i}]"));
                    let mut instance_types: Vec<String> = Vec::new();
                    if let Some(t) = ng
                        .get("instanceType")
                        .and_then(Value::as_str)
                        .filter(|t| *t != "mixed")
                    {
                        instance_types.push(t.to_string());
                    }
                    for list in [
                        ng.get("instanceTypes"),
                        ng.pointer("/instancesDistribution/instanceTypes"),
                    ] {
                        instance_types.extend(
                            list.and_then(Value::as_array)
                                .into_iter()
                                .flatten()
                                .filter_map(|t| t.as_str().map(str::to_string)),
                        );
                    }
                    let labels = ng
                        .get("labels")
                        .and_then(Value::as_object)
                        .map(|m| {
                            m.iter()
                                .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
                                .collect()
                        })
                        .unwrap_or_default();
                    let launch_template = max_pods_launch_template(
                        ng,
                        key == "managedNodeGroups",
                        &ng_name,
                        doc.at(&[key, &index, "maxPodsPerNode"]),
                        plan,
                    );
                    plan.nodegroups.push(PlannedNodegroup {
                        name: ng_name.clone(),
                        instance_types,
                        ami_type: None,
                        min_size: size(ng.get("minSize")),
                        max_size: size(ng.get("maxSize")),
                        desired_size: size(ng.get("desiredCapacity")),
                        taints: taints(ng.get("taints")),
                        labels,
                        planned: Some(Planned {
                            address: format!("{key}[{i}]"),
                            at: doc.at(&[key, &index]),
                            detail: format!("eksctl {key}[{i}] {ng_name}"),
                        }),
                        launch_template,
                    });
                }
            }
        }
        // eksctl's defaults for the add-ons and EKS's bootstrap.
        let disabled = disable_defaults.as_ref().is_some_and(|(b, _)| *b);
        let managed_defaults = release >= MANAGED_DEFAULTS_FROM;
        cluster.bootstrap_self_managed_addons = Fact::Known(!managed_defaults && !disabled);
        if managed_defaults && !disabled {
            let at = disable_defaults
                .as_ref()
                .map(|(_, at)| at.clone())
                .or_else(|| cluster.planned.as_ref().map(|p| p.at.clone()))
                .unwrap_or_else(|| SourceLocation::new("", 1));
            let mut defaults = vec!["vpc-cni", "kube-proxy", "coredns"];
            if release >= METRICS_SERVER_FROM {
                defaults.push("metrics-server");
            }
            for addon in defaults {
                if listed.iter().any(|l| l == addon) {
                    continue;
                }
                plan.addons.push(PlannedAddon {
                    name: addon.to_string(),
                    version: Fact::Absent,
                    configuration_values: None,
                    planned: Planned {
                        address: format!("addons (eksctl default: {addon})"),
                        at: at.clone().with_address(format!("eksctl default add-on {addon}")),
                        detail: format!("{release_text} installs {addon} as an EKS managed add-on unless addonsConfig.disableDefaultAddons is true"),
                    },
                });
            }
            if let Some(p) = &cluster.planned {
                plan.note(&p.at.file, format!(
                    "{}: {release_text} installs vpc-cni, kube-proxy and coredns as EKS managed add-ons (no addonsConfig.disableDefaultAddons: true)",
                    p.address
                ));
            }
        }
        plan.clusters.push(cluster);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(text: &str) -> Result<EksctlDoc, LoadError> {
        parse("c.yaml", text.as_bytes(), &LoadOptions::default())
    }

    const BASE: &str = "apiVersion: eksctl.io/v1alpha5\nkind: ClusterConfig\nmetadata:\n  name: demo\n  region: eu-west-1\n  version: \"1.31\"\n";

    #[test]
    fn lines_point_at_fields() {
        let d = doc(&format!("{BASE}managedNodeGroups:\n  - name: ng1\n    instanceType: m5.large\n    taints:\n      - key: node.cilium.io/agent-not-ready\n        value: \"true\"\n        effect: NoExecute\n")).unwrap();
        assert_eq!(d.lines.line_of(&["metadata", "version"]), 6);
        assert_eq!(d.lines.line_of(&["managedNodeGroups", "0"]), 8);
        assert_eq!(
            d.lines
                .line_of(&["managedNodeGroups", "0", "taints", "0", "effect"]),
            13
        );
        assert_eq!(d.lines.line_of(&["nope"]), 1);
    }

    #[test]
    fn schema_errors_name_the_line() {
        let err = doc(&format!(
            "{BASE}managedNodeGroups:\n  - name: ng1\n    taint:\n      - key: a\n"
        ))
        .unwrap_err()
        .to_string();
        assert!(
            err.starts_with("c.yaml: line 9: does not match eksctl's ClusterConfig schema"),
            "{err}"
        );
        assert!(err.contains("taint"), "{err}");
        // A `${VAR}` placeholder where a number belongs is not a schema error.
        assert!(doc(&format!(
            "{BASE}managedNodeGroups:\n  - name: ng1\n    maxSize: ${{MAX}}\n"
        ))
        .is_ok());
    }

    #[test]
    fn defaults_follow_the_eksctl_release() {
        let d = || vec![doc(BASE).unwrap()];
        let mut new = Plan::default();
        apply(d(), None, &mut new).unwrap();
        let names: Vec<&str> = new.addons.iter().map(|a| a.name.as_str()).collect();
        assert_eq!(
            names,
            ["vpc-cni", "kube-proxy", "coredns", "metrics-server"]
        );
        assert_eq!(
            new.clusters[0].bootstrap_self_managed_addons,
            Fact::Known(false)
        );
        let mut old = Plan::default();
        apply(d(), Some(Version::new(0, 183, 0)), &mut old).unwrap();
        assert!(old.addons.is_empty());
        assert_eq!(
            old.clusters[0].bootstrap_self_managed_addons,
            Fact::Known(true)
        );
        let mut disabled = Plan::default();
        apply(
            vec![doc(&format!(
                "{BASE}addonsConfig:\n  disableDefaultAddons: true\naddons:\n  - name: coredns\n"
            ))
            .unwrap()],
            None,
            &mut disabled,
        )
        .unwrap();
        let names: Vec<&str> = disabled.addons.iter().map(|a| a.name.as_str()).collect();
        assert_eq!(names, ["coredns"]);
        assert_eq!(
            disabled.clusters[0].bootstrap_self_managed_addons,
            Fact::Known(false)
        );
    }
}
