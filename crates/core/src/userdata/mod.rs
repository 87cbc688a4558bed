//! What node user data says about the kubelet's max pods, in the formats
//! EKS nodes boot from (`data/eks.json` `max_pods_settings`):
//!
//! - AL2023 nodeadm: a `NodeConfig` (`node.eks.aws/v1alpha1`), alone or as
//!   an `application/node.eks.aws` part of a MIME multipart document:
//!   `spec.kubelet.config.maxPods`, `spec.kubelet.maxPodsExpression`;
//! - AL2 shell scripts: `bootstrap.sh --use-max-pods false` and
//!   `--kubelet-extra-args '--max-pods=N'` (or `KUBELET_EXTRA_ARGS`);
//! - Bottlerocket TOML: `settings.kubernetes.max-pods`.
//!
//! The parser never fails on what it does not understand: a value it cannot
//! read (a template placeholder, a YAML error) is recorded in
//! [`KubeletMaxPods::unreadable`], and callers then treat max pods as not
//! known rather than guess.

pub mod expr;

use base64::Engine;
use serde::{Deserialize, Serialize};

use crate::knowledge::InstanceType;

/// The format of a node's user data.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Format {
    /// No user data.
    #[default]
    Empty,
    /// A bare nodeadm `NodeConfig`.
    Nodeadm,
    /// A shell script (AL2 bootstrap.sh).
    Shell,
    /// Bottlerocket settings (TOML).
    Bottlerocket,
    /// MIME multipart (AL2/AL2023 launch templates).
    Multipart,
    /// Something else (cloud-config, PowerShell, unrecognised).
    Other,
}

impl Format {
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Empty => "empty",
            Format::Nodeadm => "nodeadm NodeConfig",
            Format::Shell => "shell script",
            Format::Bottlerocket => "Bottlerocket TOML",
            Format::Multipart => "MIME multipart",
            Format::Other => "unrecognised",
        }
    }
}

/// A value and the setting that gave it, as a user would find it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Setting<T> {
    pub value: T,
    pub setting: String,
}

/// What user data sets for the kubelet's max pods.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct KubeletMaxPods {
    pub format: Format,
    /// maxPods set to a number (the last one when several parts set it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_pods: Option<Setting<u32>>,
    /// nodeadm `spec.kubelet.maxPodsExpression`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expression: Option<Setting<String>>,
    /// AL2 `bootstrap.sh --use-max-pods false` (or `USE_MAX_PODS=false`):
    /// the AMI's value is not written to the kubelet config.
    pub use_max_pods_false: bool,
    /// Settings seen but not readable (placeholders, parse errors).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unreadable: Vec<String>,
}

/// EC2 allows 16 KB of user data; a longer text is not user data.
const MAX_USER_DATA: usize = 64 * 1024;

/// Decode base64 user data (EC2 `LaunchTemplateData.UserData`) and parse it.
pub fn from_base64(text: &str) -> Result<KubeletMaxPods, String> {
    let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    if compact.len() > MAX_USER_DATA * 2 {
        return Err(format!("user data of {} bytes is too long", compact.len()));
    }
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(compact.as_bytes())
        .map_err(|e| format!("user data is not base64: {e}"))?;
    let text = String::from_utf8(bytes).map_err(|_| "user data is not UTF-8 text".to_string())?;
    Ok(parse(&text))
}

/// Parse user data text.
pub fn parse(text: &str) -> KubeletMaxPods {
    let mut out = KubeletMaxPods::default();
    let text = text.trim_start_matches('\u{feff}');
    if text.trim().is_empty() {
        return out;
    }
    if text.len() > MAX_USER_DATA {
        out.format = Format::Other;
        out.unreadable
            .push(format!("user data of {} bytes is too long", text.len()));
        return out;
    }
    if let Some(boundary) = multipart_boundary(text) {
        out.format = Format::Multipart;
        multipart(text, &boundary, &mut out);
    } else {
        out.format = part(text, None, "user data", &mut out);
    }
    out
}

/// The format of one part (or of the whole text), read into `out`.
fn part(body: &str, content_type: Option<&str>, place: &str, out: &mut KubeletMaxPods) -> Format {
    let ct = content_type.map(|c| c.to_ascii_lowercase());
    let trimmed = body.trim_start();
    let format = match ct.as_deref() {
        Some(c) if c.starts_with("application/node.eks.aws") => Format::Nodeadm,
        Some(c) if c.starts_with("text/x-shellscript") => Format::Shell,
        Some(_) => Format::Other,
        None if trimmed.starts_with("#!") || body.contains("bootstrap.sh") => Format::Shell,
        None if body.contains("node.eks.aws/") && body.contains("NodeConfig") => Format::Nodeadm,
        None if looks_like_toml(body) => Format::Bottlerocket,
        None => Format::Other,
    };
    match format {
        Format::Nodeadm => nodeadm(body, place, out),
        Format::Shell => shell(body, place, out),
        Format::Bottlerocket => bottlerocket(body, place, out),
        _ => {}
    }
    format
}

fn looks_like_toml(body: &str) -> bool {
    body.lines()
        .map(str::trim)
        .any(|l| l.starts_with("[settings") || (l.starts_with("settings.") && l.contains('=')))
}

// ---------------------------------------------------------------- MIME

/// MIME header lines at the top of `text` (folded lines joined), and the
/// rest. Only `Content-*` and `MIME-Version` count as headers, so a body
/// that follows them without the blank line (seen in hand-written launch
/// templates) is not taken for more headers.
fn headers(text: &str) -> (Vec<(String, String)>, &str) {
    let mut out: Vec<(String, String)> = Vec::new();
    let mut rest = text;
    while !rest.is_empty() {
        let (line, next) = match rest.find('\n') {
            Some(i) => (&rest[..i], &rest[i + 1..]),
            None => (rest, ""),
        };
        let line = line.trim_end_matches('\r');
        if line.trim().is_empty() {
            if out.is_empty() {
                rest = next;
                continue;
            }
            return (out, next);
        }
        if line.starts_with([' ', '\t']) && !out.is_empty() {
            let last = out.len() - 1;
            out[last].1.push(' ');
            out[last].1.push_str(line.trim());
            rest = next;
            continue;
        }
        match line.split_once(':') {
            Some((name, value)) if is_mime_header(name) => {
                out.push((name.to_ascii_lowercase(), value.trim().to_string()));
                rest = next;
            }
            _ => return (out, rest),
        }
    }
    (out, rest)
}

fn is_mime_header(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    n == "mime-version" || (n.starts_with("content-") && !n.contains(' '))
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

/// `boundary` of a `Content-Type: multipart/...` header at the top.
fn multipart_boundary(text: &str) -> Option<String> {
    let (h, _) = headers(text);
    let ct = header(&h, "content-type")?;
    if !ct.to_ascii_lowercase().starts_with("multipart/") {
        return None;
    }
    param(ct, "boundary")
}

/// A `name=value` parameter of a header value (quoted or not).
fn param(value: &str, name: &str) -> Option<String> {
    value.split(';').skip(1).find_map(|p| {
        let (k, v) = p.trim().split_once('=')?;
        if !k.trim().eq_ignore_ascii_case(name) {
            return None;
        }
        let v = v.trim();
        let v = v
            .strip_prefix('"')
            .and_then(|v| v.strip_suffix('"'))
            .unwrap_or(v);
        (!v.is_empty()).then(|| v.to_string())
    })
}

fn multipart(text: &str, boundary: &str, out: &mut KubeletMaxPods) {
    let open = format!("--{boundary}");
    let close = format!("--{boundary}--");
    let mut parts: Vec<String> = Vec::new();
    let mut current: Option<String> = None;
    for line in text.lines() {
        let l = line.trim_end();
        if l == close {
            parts.extend(current.take());
            break;
        }
        if l == open {
            parts.extend(current.take());
            current = Some(String::new());
            continue;
        }
        if let Some(c) = current.as_mut() {
            c.push_str(line);
            c.push('\n');
        }
    }
    parts.extend(current.take());
    if parts.is_empty() {
        out.unreadable
            .push(format!("MIME multipart without a part delimited by {open}"));
    }
    for (i, raw) in parts.iter().enumerate() {
        let (h, body) = headers(raw);
        let place = format!("MIME part {}", i + 1);
        let ct = header(&h, "content-type").unwrap_or("text/plain");
        let encoding = header(&h, "content-transfer-encoding").map(str::to_ascii_lowercase);
        if encoding.as_deref() == Some("base64") {
            let compact: String = body.chars().filter(|c| !c.is_whitespace()).collect();
            match base64::engine::general_purpose::STANDARD
                .decode(compact.as_bytes())
                .ok()
                .and_then(|b| String::from_utf8(b).ok())
            {
                Some(decoded) => {
                    part(&decoded, Some(ct), &place, out);
                }
                None => out
                    .unreadable
                    .push(format!("{place}: base64 body that does not decode")),
            }
        } else {
            part(body, Some(ct), &place, out);
        }
    }
}

// ---------------------------------------------------------------- nodeadm

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct NodeConfig {
    #[serde(default)]
    kind: Option<String>,
    #[serde(default)]
    spec: Option<NodeConfigSpec>,
}

#[derive(Deserialize, Default)]
struct NodeConfigSpec {
    #[serde(default)]
    kubelet: Option<NodeConfigKubelet>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct NodeConfigKubelet {
    #[serde(default)]
    config: Option<KubeletConfig>,
    #[serde(default)]
    max_pods_expression: Option<Scalar>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct KubeletConfig {
    #[serde(default)]
    max_pods: Option<Scalar>,
}

/// A YAML scalar as written: a number, or a string (a template placeholder).
#[derive(Deserialize)]
#[serde(untagged)]
enum Scalar {
    Int(i64),
    Text(String),
    Float(f64),
    Bool(bool),
}

impl Scalar {
    fn text(&self) -> String {
        match self {
            Scalar::Int(i) => i.to_string(),
            Scalar::Text(t) => t.clone(),
            Scalar::Float(f) => f.to_string(),
            Scalar::Bool(b) => b.to_string(),
        }
    }
}

pub(crate) fn yaml_options(len: usize) -> serde_saphyr::Options {
    let mut budget = serde_saphyr::Budget::default();
    budget.max_reader_input_bytes = Some(len.max(MAX_USER_DATA));
    budget.max_depth = 32;
    budget.max_events = len.saturating_mul(2).saturating_add(1024);
    budget.max_nodes = len.saturating_add(1024);
    budget.max_documents = len / 4 + 16;
    budget.max_aliases = 16;
    budget.max_recorded_anchor_events = 16;
    let mut yaml = serde_saphyr::Options::default();
    yaml.budget = Some(budget);
    yaml.alias_limits.max_total_replayed_events = 256;
    yaml.with_snippet = false;
    yaml
}

fn nodeadm(body: &str, place: &str, out: &mut KubeletMaxPods) {
    let docs: Vec<Option<NodeConfig>> =
        match serde_saphyr::from_multiple_with_options(body, yaml_options(body.len())) {
            Ok(d) => d,
            Err(e) => {
                let first = e.to_string();
                let first = first.lines().next().unwrap_or_default().to_string();
                out.unreadable
                    .push(format!("{place}: NodeConfig is not valid YAML ({first})"));
                return;
            }
        };
    for doc in docs.into_iter().flatten() {
        if doc.kind.as_deref().is_some_and(|k| k != "NodeConfig") {
            continue;
        }
        let Some(kubelet) = doc.spec.and_then(|s| s.kubelet) else {
            continue;
        };
        if let Some(v) = kubelet.config.and_then(|c| c.max_pods) {
            let setting = format!("{place}: NodeConfig spec.kubelet.config.maxPods");
            match v {
                Scalar::Int(n) if n > 0 && n <= i64::from(i32::MAX) => {
                    out.max_pods = Some(Setting {
                        value: n as u32,
                        setting,
                    });
                }
                other => out
                    .unreadable
                    .push(format!("{setting} = {:?}", other.text())),
            }
        }
        if let Some(e) = kubelet.max_pods_expression {
            out.expression = Some(Setting {
                value: e.text(),
                setting: format!("{place}: NodeConfig spec.kubelet.maxPodsExpression"),
            });
        }
    }
}

// ---------------------------------------------------------------- AL2 shell

/// Shell lines with `\`-continuations joined, comments dropped.
fn shell_lines(body: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut start = 0;
    for (i, line) in body.lines().enumerate() {
        if current.is_empty() {
            start = i + 1;
        }
        let l = line.trim_end();
        if let Some(cont) = l.strip_suffix('\\') {
            current.push_str(cont);
            current.push(' ');
            continue;
        }
        current.push_str(l);
        let t = current.trim();
        if !t.is_empty() && !t.starts_with('#') {
            out.push((start, t.to_string()));
        }
        current.clear();
    }
    if !current.trim().is_empty() {
        out.push((start, current.trim().to_string()));
    }
    out
}

/// The word after `at` in `line`: up to whitespace or a closing quote.
fn word_at(line: &str, at: usize) -> &str {
    let rest = &line[at..];
    let end = rest
        .find(|c: char| c.is_whitespace() || c == '\'' || c == '"' || c == ';')
        .unwrap_or(rest.len());
    &rest[..end]
}

fn shell(body: &str, place: &str, out: &mut KubeletMaxPods) {
    for (n, line) in shell_lines(body) {
        let mut from = 0;
        while let Some(i) = line[from..].find("--max-pods") {
            let at = from + i;
            from = at + "--max-pods".len();
            // `--max-pods-foo` is another flag.
            let value = match line[from..].chars().next() {
                Some('=') => word_at(&line, from + 1),
                Some(c) if c.is_whitespace() => word_at(&line, from + c.len_utf8()),
                _ => continue,
            };
            let setting = if line.contains("bootstrap.sh") {
                format!("{place}: bootstrap.sh --kubelet-extra-args --max-pods (line {n})")
            } else {
                format!("{place}: kubelet flag --max-pods (line {n})")
            };
            match value.parse::<u32>() {
                Ok(v) if v > 0 => out.max_pods = Some(Setting { value: v, setting }),
                _ => out.unreadable.push(format!("{setting} = {value:?}")),
            }
        }
        let lower = line.to_ascii_lowercase();
        if lower.contains("--use-max-pods false")
            || lower.contains("--use-max-pods=false")
            || lower.contains("--use-max-pods \"false\"")
            || lower.contains("--use-max-pods 'false'")
            || lower.contains("use_max_pods=false")
            || lower.contains("use_max_pods=\"false\"")
        {
            out.use_max_pods_false = true;
        }
    }
}

// ---------------------------------------------------------------- Bottlerocket

/// A TOML key path segment without its quotes.
fn unquote(s: &str) -> String {
    let s = s.trim();
    s.strip_prefix('"')
        .and_then(|s| s.strip_suffix('"'))
        .or_else(|| s.strip_prefix('\'').and_then(|s| s.strip_suffix('\'')))
        .unwrap_or(s)
        .to_string()
}

fn key_path(text: &str) -> Vec<String> {
    // Dotted keys; quoted segments may hold dots.
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quote: Option<char> = None;
    for c in text.chars() {
        match (quote, c) {
            (None, '"' | '\'') => {
                quote = Some(c);
                cur.push(c);
            }
            (Some(q), c) if c == q => {
                quote = None;
                cur.push(c);
            }
            (None, '.') => out.push(unquote(&std::mem::take(&mut cur))),
            _ => cur.push(c),
        }
    }
    out.push(unquote(&cur));
    out
}

fn bottlerocket(body: &str, place: &str, out: &mut KubeletMaxPods) {
    let mut table: Vec<String> = Vec::new();
    let mut in_multiline: Option<&str> = None;
    for (i, raw) in body.lines().enumerate() {
        let line = raw.trim();
        if let Some(delim) = in_multiline {
            if line.contains(delim) {
                in_multiline = None;
            }
            continue;
        }
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some(h) = line.strip_prefix("[[") {
            table = key_path(h.split("]]").next().unwrap_or_default());
            table.push("[]".into());
            continue;
        }
        if let Some(h) = line.strip_prefix('[') {
            table = key_path(h.split(']').next().unwrap_or_default());
            continue;
        }
        let Some((k, v)) = line.split_once('=') else {
            continue;
        };
        let v = v.trim();
        for delim in ["'''", "\"\"\""] {
            if v.starts_with(delim) && !v[3..].contains(delim) {
                in_multiline = Some(delim);
            }
        }
        let mut path = table.clone();
        path.extend(key_path(k));
        if path == ["settings", "kubernetes", "max-pods"] {
            let value = v.split('#').next().unwrap_or_default().trim();
            let setting = format!("{place}: settings.kubernetes.max-pods (line {})", i + 1);
            match value.replace('_', "").parse::<u32>() {
                Ok(n) if n > 0 => out.max_pods = Some(Setting { value: n, setting }),
                _ => out.unreadable.push(format!("{setting} = {value:?}")),
            }
        }
    }
}

// ---------------------------------------------------------------- reduction

impl KubeletMaxPods {
    /// User data that holds only what this reader found, and that reads
    /// back to the same max pods: what `collect` writes to a snapshot
    /// instead of the user data itself, which can hold secrets. `None`
    /// when the user data said nothing about max pods.
    pub fn reduced(&self) -> Option<String> {
        if self.max_pods.is_none()
            && self.expression.is_none()
            && !self.use_max_pods_false
            && self.unreadable.is_empty()
        {
            return None;
        }
        let from_shell = |s: &str| s.contains("--max-pods") || s.contains("bootstrap.sh");
        let mut out = String::new();
        let shell_setting = self
            .max_pods
            .as_ref()
            .is_some_and(|s| from_shell(&s.setting));
        if self.use_max_pods_false || shell_setting {
            out.push_str("#!/bin/bash\n/etc/eks/bootstrap.sh CLUSTER");
            if self.use_max_pods_false {
                out.push_str(" --use-max-pods false");
            }
            if let Some(s) = self.max_pods.as_ref().filter(|_| shell_setting) {
                out.push_str(&format!(" --kubelet-extra-args '--max-pods={}'", s.value));
            }
            out.push('\n');
            return Some(out);
        }
        if self
            .max_pods
            .as_ref()
            .is_some_and(|s| s.setting.contains("settings.kubernetes.max-pods"))
        {
            let v = self.max_pods.as_ref().map(|s| s.value).unwrap_or_default();
            return Some(format!("[settings.kubernetes]\nmax-pods = {v}\n"));
        }
        out.push_str("apiVersion: node.eks.aws/v1alpha1\nkind: NodeConfig\nspec:\n  kubelet:\n");
        if let Some(e) = &self.expression {
            let quoted = serde_json::to_string(&e.value).unwrap_or_default();
            out.push_str(&format!("    maxPodsExpression: {quoted}\n"));
        }
        match (&self.max_pods, self.unreadable.first()) {
            (Some(s), _) => out.push_str(&format!("    config:\n      maxPods: {}\n", s.value)),
            (None, Some(why)) => {
                let quoted =
                    serde_json::to_string(&format!("unreadable: {why}")).unwrap_or_default();
                out.push_str(&format!("    config:\n      maxPods: {quoted}\n"));
            }
            (None, None) => {}
        }
        Some(out)
    }
}

// ---------------------------------------------------------------- resolution

/// How a node gets launched, which decides the defaults and caps around
/// its user data (`data/eks.json` `max_pods_settings`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Launch {
    /// An EKS managed node group; `custom_ami`: the launch template names an
    /// AMI (EKS then neither merges its user data nor caps max pods).
    ManagedNodeGroup { custom_ami: bool },
    /// A self-managed node (an Auto Scaling group's launch template).
    SelfManaged,
}

/// The max pods nodes of one instance type will get, and how it was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Effective {
    pub max_pods: u32,
    /// Each step, in order, for evidence.
    pub how: Vec<String>,
    /// The setting to change, when the user data sets it.
    pub setting: Option<String>,
}

/// The max pods `user_data` gives nodes of `it` launched by `launch`;
/// `Err` says why it cannot be known (the caller then skips that node).
pub fn effective(
    user_data: &KubeletMaxPods,
    it: &InstanceType,
    launch: Launch,
) -> Result<Effective, String> {
    let default = crate::capacity::eks_default_max_pods(it);
    let mut how = Vec::new();
    let mut setting = None;
    let mut value = if let Some(s) = &user_data.max_pods {
        how.push(format!("{} = {}", s.setting, s.value));
        if let Some(e) = &user_data.expression {
            how.push(format!(
                "{} {:?} does not apply: a maxPods value takes precedence",
                e.setting, e.value
            ));
        }
        setting = Some(s.setting.clone());
        s.value
    } else if !user_data.unreadable.is_empty() {
        return Err(format!(
            "user data max pods not readable: {}",
            user_data.unreadable.join("; ")
        ));
    } else if let Some(e) = &user_data.expression {
        let vars = expr::Vars {
            default_enis: i64::from(it.enis),
            ips_per_eni: i64::from(it.ipv4_per_eni),
            max_pods: i64::from(default),
        };
        setting = Some(e.setting.clone());
        match expr::evaluate(&e.value, vars) {
            Ok(v) => {
                how.push(format!(
                    "{} {:?} with default_enis {}, ips_per_eni {}, max_pods {default} = {v}",
                    e.setting, e.value, it.enis, it.ipv4_per_eni
                ));
                v
            }
            Err(why) => {
                return Err(format!(
                    "{} {:?} cannot be evaluated here ({why}); nodeadm falls back to the standard value when it cannot evaluate it either",
                    e.setting, e.value
                ))
            }
        }
    } else if user_data.use_max_pods_false {
        return Err(
            "bootstrap.sh --use-max-pods false without a --max-pods value: the kubelet's own default applies"
                .into(),
        );
    } else {
        how.push(format!(
            "no max pods in the user data: the AMI default {} ENIs × ({} IPv4 per ENI - 1) + 2 = {default}",
            it.enis, it.ipv4_per_eni
        ));
        default
    };
    if launch == (Launch::ManagedNodeGroup { custom_ami: false }) {
        let cap =
            crate::capacity::max_pods_cap(it.vcpus).unwrap_or(crate::capacity::SMALL_NODE_MAX_PODS);
        if value > cap {
            how.push(format!(
                "the managed node group caps max pods at {cap} ({} vCPUs): {cap}",
                it.vcpus.map_or("unknown".to_string(), |v| v.to_string())
            ));
            value = cap;
        }
    }
    Ok(Effective {
        max_pods: value,
        how,
        setting,
    })
}

#[cfg(test)]
mod tests;
