//! Suppressions: findings a team has decided to live with, each with a
//! reason, so the report stays about what still needs work.
//!
//! Two sources:
//!
//! * The config file (`--config FILE`, else `.eks-cilium-doctor.yaml` in the
//!   working directory when it exists):
//!
//!   ```yaml
//!   ignore:
//!     - rule: CAP004            # rule code, required
//!       reason: "we raise max-pods in the launch template"   # required
//!     - rule: CNI005
//!       # optional; without it the rule is ignored for every object
//!       objects: ["kube-system/aws-node*", "ClusterRole/aws-node"]
//!       reason: "kept as rollback path until Q3"
//!   ```
//!
//!   An object pattern is a glob (`*` any run of characters, `/` included;
//!   `?` one character) over `namespace/name` or `Kind/namespace/name` for
//!   namespaced objects, and `Kind/name` for cluster-scoped and AWS
//!   objects. Unknown keys and unknown rule codes are errors (typos would
//!   otherwise silently suppress nothing). An entry, or one of its
//!   patterns, that matches no finding is listed in the report as an
//!   unmatched suppression, so suppressions do not outlive their reason;
//!   entries for rules that were not evaluated are not listed.
//!
//! * Object annotations on any Kubernetes object in the snapshot, for that
//!   object: `eks-cilium-doctor.io/ignore-CODE: "reason"` (one code per
//!   annotation, with its reason, as kube-linter's
//!   `ignore-check.kube-linter.io/CHECK`), and
//!   `eks-cilium-doctor.io/ignore: "CODE[,CODE]"` (codes without a reason).
//!   The suppressed finding carries the reason and the annotation it came
//!   from into every report.

use std::collections::HashMap;
use std::fmt;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_saphyr::Spanned;

use crate::findings::{Finding, ObjectRef, Report, Summary, Suppressed, UnmatchedSuppression};
use crate::model::{Cluster, Meta};
use crate::rules;

/// The config file read from the working directory when `--config` is not
/// given.
pub const DEFAULT_CONFIG_FILE: &str = ".eks-cilium-doctor.yaml";

/// The annotation that suppresses codes for the object carrying it.
pub const IGNORE_ANNOTATION: &str = "eks-cilium-doctor.io/ignore";

/// The prefix of the annotation that suppresses one code with a reason:
/// `eks-cilium-doctor.io/ignore-CNI001: "kept for the rollback"`.
pub const IGNORE_CODE_ANNOTATION_PREFIX: &str = "eks-cilium-doctor.io/ignore-";

/// A config file larger than this is refused before parsing.
const MAX_CONFIG_BYTES: u64 = 1024 * 1024;

/// A code the registry or the catalogue knows (exact, upper case).
pub fn is_known_code(code: &str) -> bool {
    rules::codes::status(code).is_some()
}

/// One `ignore` entry of the config file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ignore {
    /// Upper-case rule code.
    pub rule: String,
    /// Object globs; empty means every object.
    pub objects: Vec<String>,
    pub reason: String,
    /// Line of the entry in the config file, for messages.
    pub line: u64,
}

/// The suppressions of the config file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SuppressionConfig {
    pub ignore: Vec<Ignore>,
}

/// A config file that cannot be used: names the file and, where known, the
/// line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub path: PathBuf,
    pub line: Option<u64>,
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}:{line}: {}", self.path.display(), self.message),
            None => write!(f, "{}: {}", self.path.display(), self.message),
        }
    }
}

impl std::error::Error for ConfigError {}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    ignore: Option<Vec<RawIgnore>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawIgnore {
    rule: Spanned<String>,
    reason: Option<String>,
    objects: Option<Vec<String>>,
}

impl SuppressionConfig {
    /// `--config FILE` when given (it must exist), else the default file in
    /// `cwd` when it exists, else no suppressions.
    pub fn discover(explicit: Option<&Path>, cwd: &Path) -> Result<Self, ConfigError> {
        if let Some(path) = explicit {
            return Self::load(path);
        }
        let path = cwd.join(DEFAULT_CONFIG_FILE);
        match read_limited(&path) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Self::default()),
            read => Self::parse(&read.map_err(|e| io_error(&path, e))?, &path),
        }
    }

    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = read_limited(path).map_err(|e| io_error(path, e))?;
        Self::parse(&text, path)
    }

    /// Parse and validate config text; `path` names it in errors.
    pub fn parse(text: &str, path: &Path) -> Result<Self, ConfigError> {
        let error = |line: Option<u64>, message: String| ConfigError {
            path: path.to_path_buf(),
            line,
            message,
        };
        // An empty or comments-only file is a valid config with no entries.
        if text
            .lines()
            .all(|l| l.trim().is_empty() || l.trim_start().starts_with('#'))
        {
            return Ok(Self::default());
        }
        let raw: RawConfig = serde_saphyr::from_str_with_options(text, yaml_options())
            .map_err(|e| error(e.location().map(|l| l.line()), yaml_message(&e)))?;
        let ignore = raw
            .ignore
            .unwrap_or_default()
            .into_iter()
            .map(|entry| validate(entry).map_err(|(line, msg)| error(Some(line), msg)))
            .collect::<Result<_, _>>()?;
        Ok(SuppressionConfig { ignore })
    }
}

/// Small budgets: a suppression list is a few dozen lines, so anything
/// deep, aliased or huge is a mistake or an attack.
fn yaml_options() -> serde_saphyr::Options {
    serde_saphyr::options! {
        budget: serde_saphyr::budget! {
            max_depth: 16,
            max_events: 100_000,
            max_nodes: 50_000,
            max_aliases: 100,
            max_anchors: 100,
            max_documents: 1,
            max_total_scalar_bytes: MAX_CONFIG_BYTES as usize,
        },
        with_snippet: false,
    }
}

/// The parser's message without its own location suffix (ours is in front).
fn yaml_message(e: &serde_saphyr::Error) -> String {
    let message = e.to_string();
    match message.rfind(" at line ") {
        Some(i) => message[..i].to_string(),
        None => message,
    }
}

fn read_limited(path: &Path) -> io::Result<String> {
    let mut text = String::new();
    std::fs::File::open(path)?
        .take(MAX_CONFIG_BYTES + 1)
        .read_to_string(&mut text)?;
    if text.len() as u64 > MAX_CONFIG_BYTES {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("larger than {MAX_CONFIG_BYTES} bytes"),
        ));
    }
    Ok(text)
}

fn io_error(path: &Path, e: io::Error) -> ConfigError {
    ConfigError {
        path: path.to_path_buf(),
        line: None,
        message: e.to_string(),
    }
}

fn validate(raw: RawIgnore) -> Result<Ignore, (u64, String)> {
    let line = raw.rule.referenced.line();
    let rule = raw.rule.value.trim().to_ascii_uppercase();
    if !is_known_code(&rule) {
        return Err((line, format!("unknown rule code {:?}", raw.rule.value)));
    }
    let reason = raw.reason.unwrap_or_default().trim().to_string();
    if reason.is_empty() {
        return Err((line, format!("{rule}: a suppression needs a `reason`")));
    }
    let objects = match raw.objects {
        None => Vec::new(),
        Some(objects) if objects.is_empty() => {
            let msg = format!("{rule}: `objects` is empty; omit it to ignore every object");
            return Err((line, msg));
        }
        Some(objects) => objects,
    };
    if objects.iter().any(|o| o.trim().is_empty()) {
        return Err((line, format!("{rule}: an object pattern is empty")));
    }
    Ok(Ignore {
        rule,
        objects: objects.into_iter().map(|o| o.trim().to_string()).collect(),
        reason,
        line,
    })
}

/// Glob match with `*` (any run, `/` included) and `?` (one character).
/// Greedy with one backtrack point, so it runs in O(pattern × text) at worst.
fn glob_match(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ti));
            pi += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

/// The names an object pattern is matched against.
fn object_names(object: &ObjectRef) -> Vec<String> {
    match &object.namespace {
        Some(ns) => vec![
            format!("{ns}/{}", object.name),
            format!("{}/{ns}/{}", object.kind, object.name),
        ],
        None => vec![format!("{}/{}", object.kind, object.name)],
    }
}

/// The codes each annotated object ignores, by object, each with the
/// reason a report shows.
#[derive(Debug, Clone, Default)]
pub struct AnnotationIndex {
    codes: HashMap<ObjectRef, Vec<(String, String)>>,
    /// Codes in annotations that no rule has: (object, code).
    unknown: Vec<(ObjectRef, String)>,
}

impl AnnotationIndex {
    /// Add another cluster's annotations (a mesh checks several).
    pub fn extend(&mut self, other: AnnotationIndex) {
        for (object, codes) in other.codes {
            self.codes.entry(object).or_default().extend(codes);
        }
        self.unknown.extend(other.unknown);
    }

    /// Index the ignore annotation of every typed Kubernetes object.
    pub fn from_cluster(cluster: &Cluster) -> AnnotationIndex {
        // Workload-like lists carry each object's own kind; fall back to the
        // list's usual kind when a loader left it empty.
        fn kind<'a>(own: &'a str, usual: &'a str) -> &'a str {
            if own.is_empty() {
                usual
            } else {
                own
            }
        }
        let c = cluster;
        let mut index = AnnotationIndex::default();
        for o in c.nodes.iter().flatten() {
            index.add("Node", &o.metadata);
        }
        for o in c.pods.iter().flatten() {
            index.add("Pod", &o.metadata);
        }
        for o in c.daemonsets.iter().flatten() {
            index.add(kind(&o.kind, "DaemonSet"), &o.metadata);
        }
        for o in c.deployments.iter().flatten() {
            index.add(kind(&o.kind, "Deployment"), &o.metadata);
        }
        for o in c.service_accounts.iter().flatten() {
            index.add("ServiceAccount", &o.metadata);
        }
        for o in c.services.iter().flatten() {
            index.add("Service", &o.metadata);
        }
        for o in c.config_maps.iter().flatten() {
            index.add("ConfigMap", &o.metadata);
        }
        for o in c.webhook_configurations.iter().flatten() {
            index.add(kind(&o.kind, "ValidatingWebhookConfiguration"), &o.metadata);
        }
        for o in c.security_group_policies.iter().flatten() {
            index.add("SecurityGroupPolicy", &o.metadata);
        }
        for o in c.network_policies.iter().flatten() {
            index.add(kind(&o.kind, "NetworkPolicy"), &o.metadata);
        }
        for o in c.cilium_endpoints.iter().flatten() {
            index.add("CiliumEndpoint", &o.metadata);
        }
        for o in c.cilium_nodes.iter().flatten() {
            index.add("CiliumNode", &o.metadata);
        }
        for o in c.node_pools.iter().flatten() {
            index.add("NodePool", &o.metadata);
        }
        index
    }

    fn add(&mut self, kind: &str, meta: &Meta) {
        let mut ignored: Vec<(String, String)> = Vec::new();
        for (key, value) in meta.annotations.iter() {
            if let Some(code) = key.strip_prefix(IGNORE_CODE_ANNOTATION_PREFIX) {
                // One code per key, the value its reason.
                let reason = value.trim();
                let reason = if reason.is_empty() {
                    format!("object annotation {key} (no reason given)")
                } else {
                    format!("{reason} (object annotation {key})")
                };
                ignored.push((code.trim().to_ascii_uppercase(), reason));
            } else if key == IGNORE_ANNOTATION {
                let codes = value
                    .split(|c: char| c == ',' || c.is_whitespace())
                    .filter(|c| !c.is_empty());
                for code in codes {
                    let reason = format!("object annotation {IGNORE_ANNOTATION}");
                    ignored.push((code.to_ascii_uppercase(), reason));
                }
            }
        }
        if ignored.is_empty() {
            return;
        }
        let object = ObjectRef::new(kind, meta.namespace.as_deref(), &meta.name);
        // A code with a reason wins over the same code in the list form.
        ignored.sort_by_key(|(_, reason)| reason.starts_with("object annotation "));
        for (code, reason) in ignored {
            if is_known_code(&code) {
                let codes = self.codes.entry(object.clone()).or_default();
                if !codes.iter().any(|(c, _)| *c == code) {
                    codes.push((code, reason));
                }
            } else if !self.unknown.contains(&(object.clone(), code.clone())) {
                self.unknown.push((object.clone(), code));
            }
        }
    }

    /// Why `object`'s annotations suppress `code`, if they do.
    pub fn reason(&self, object: &ObjectRef, code: &str) -> Option<&str> {
        self.codes
            .get(object)?
            .iter()
            .find(|(c, _)| c == code)
            .map(|(_, reason)| reason.as_str())
    }

    /// Whether `object` carries an annotation for `code`.
    pub fn ignores(&self, object: &ObjectRef, code: &str) -> bool {
        self.reason(object, code).is_some()
    }
}

/// Per config entry, per object pattern (one slot when it has none): how
/// many findings it suppressed.
struct Hits(Vec<Vec<usize>>);

impl Hits {
    fn new(config: &SuppressionConfig) -> Hits {
        Hits(
            config
                .ignore
                .iter()
                .map(|e| vec![0; e.objects.len().max(1)])
                .collect(),
        )
    }
}

/// The reason the config suppresses `f`, if it does, counting a hit for
/// every entry and pattern that matches (so none is reported unmatched).
fn config_reason(
    f: &Finding,
    config: &SuppressionConfig,
    by_rule: &HashMap<&str, Vec<usize>>,
    hits: &mut Hits,
) -> Option<String> {
    let mut reason = None;
    let names = object_names(&f.object);
    for &i in by_rule.get(f.rule.code).into_iter().flatten() {
        let entry = &config.ignore[i];
        let matched: Vec<usize> = if entry.objects.is_empty() {
            vec![0]
        } else {
            (0..entry.objects.len())
                .filter(|&j| names.iter().any(|n| glob_match(&entry.objects[j], n)))
                .collect()
        };
        for &j in &matched {
            hits.0[i][j] += 1;
        }
        if !matched.is_empty() && reason.is_none() {
            reason = Some(entry.reason.clone());
        }
    }
    reason
}

/// Move suppressed findings to `report.suppressed` (with the reason),
/// recompute the summary, and list config entries that matched nothing and
/// annotation codes no rule has in `report.unmatched_suppressions`.
pub fn apply(report: &mut Report, config: &SuppressionConfig, annotated: &AnnotationIndex) {
    let mut by_rule: HashMap<&str, Vec<usize>> = HashMap::new();
    for (i, entry) in config.ignore.iter().enumerate() {
        by_rule.entry(entry.rule.as_str()).or_default().push(i);
    }
    let mut hits = Hits::new(config);
    for f in std::mem::take(&mut report.findings) {
        let reason = config_reason(&f, config, &by_rule, &mut hits)
            .or_else(|| annotated.reason(&f.object, f.rule.code).map(str::to_string));
        match reason {
            Some(reason) => report.suppressed.push(Suppressed {
                rule: f.rule,
                object: f.object,
                reason,
                severity: f.severity,
                message: f.message,
                location: f.location,
                read_from: f.read_from,
            }),
            None => report.findings.push(f),
        }
    }
    report.summary = Summary::of(&report.findings);
    let unmatched = unmatched(report, config, &hits);
    report.unmatched_suppressions.extend(unmatched);
    report
        .unmatched_suppressions
        .extend(
            annotated
                .unknown
                .iter()
                .map(|(object, code)| UnmatchedSuppression {
                    rule: code.clone(),
                    object: Some(crate::report::object_path(object)),
                    reason: "an eks-cilium-doctor.io/ignore annotation names an unknown rule code"
                        .to_string(),
                }),
        );
}

/// Config entries and patterns without a hit, except for rules that did
/// not run (they could not have matched).
fn unmatched(
    report: &Report,
    config: &SuppressionConfig,
    hits: &Hits,
) -> Vec<UnmatchedSuppression> {
    let not_run = |code: &str| report.not_evaluated.iter().any(|n| n.rule.code == code);
    let mut out = Vec::new();
    for (entry, counts) in config.ignore.iter().zip(&hits.0) {
        if not_run(&entry.rule) {
            continue;
        }
        let objects: Vec<Option<&String>> = if entry.objects.is_empty() {
            vec![None]
        } else {
            entry.objects.iter().map(Some).collect()
        };
        for (object, &count) in objects.into_iter().zip(counts) {
            if count == 0 {
                out.push(UnmatchedSuppression {
                    rule: entry.rule.clone(),
                    object: object.cloned(),
                    reason: entry.reason.clone(),
                });
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::findings::{NotEvaluated, Severity};
    use crate::model::{Node, Workload};

    fn parse(text: &str) -> Result<SuppressionConfig, String> {
        SuppressionConfig::parse(text, Path::new("cfg.yaml")).map_err(|e| e.to_string())
    }

    const EXAMPLE: &str = "\
# Suppressions of the team
ignore:
  - rule: CAP004            # code
    reason: \"we raise max-pods in the launch template\"
  - rule: cni005
    objects: [\"kube-system/aws-node*\", \"ClusterRole/aws-node\"]
    reason: kept as rollback path until Q3
";

    #[test]
    fn parses_the_documented_format() {
        let config = parse(EXAMPLE).unwrap();
        assert_eq!(
            config.ignore,
            [
                Ignore {
                    rule: "CAP004".into(),
                    objects: vec![],
                    reason: "we raise max-pods in the launch template".into(),
                    line: 3,
                },
                Ignore {
                    rule: "CNI005".into(),
                    objects: vec![
                        "kube-system/aws-node*".into(),
                        "ClusterRole/aws-node".into()
                    ],
                    reason: "kept as rollback path until Q3".into(),
                    line: 5,
                },
            ]
        );
        assert_eq!(parse("").unwrap(), SuppressionConfig::default());
        assert_eq!(
            parse("# nothing yet\n\n").unwrap(),
            SuppressionConfig::default()
        );
        assert_eq!(parse("ignore: []\n").unwrap(), SuppressionConfig::default());
    }

    #[test]
    fn errors_name_file_and_line() {
        let cases = [
            (
                "ignore:\n  - rule: CAP04\n    reason: x\n",
                "cfg.yaml:2: unknown rule code \"CAP04\"",
            ),
            (
                "ignore:\n  - rule: CAP004\n",
                "cfg.yaml:2: CAP004: a suppression needs a `reason`",
            ),
            (
                "ignore:\n  - rule: CAP004\n    reason: \" \"\n",
                "cfg.yaml:2: CAP004: a suppression needs",
            ),
            (
                "ignore:\n  - rule: CAP004\n    reason: x\n    object: [a]\n",
                "cfg.yaml:4: unknown field `object`",
            ),
            (
                "ignore:\n  - reason: x\n",
                "cfg.yaml:2: missing field `rule`",
            ),
            ("ignores: []\n", "cfg.yaml:1: unknown field `ignores`"),
            (
                "ignore:\n  - rule: CAP004\n    reason: [x\n",
                "cfg.yaml:3: ",
            ),
            (
                "ignore:\n  - rule: CNI005\n    reason: y\n    objects: []\n",
                "cfg.yaml:2: CNI005: `objects` is empty",
            ),
            (
                "ignore:\n  - rule: CNI005\n    reason: y\n    objects: [\"\"]\n",
                "cfg.yaml:2: CNI005: an object pattern is empty",
            ),
        ];
        for (text, expected) in cases {
            let err = parse(text).unwrap_err();
            assert!(err.starts_with(expected), "{text:?}: {err}");
        }
    }

    #[test]
    fn aliases_are_budgeted() {
        let within = format!(
            "ignore:\n  - rule: CNI005\n    reason: &r x\n    objects: [{}]\n",
            ["*r"; 5].join(", ")
        );
        assert_eq!(parse(&within).unwrap().ignore[0].objects.len(), 5);
        let beyond = within.replace("[*r", &format!("[{}", ["*r"; 150].join(", ")));
        let err = parse(&beyond).unwrap_err();
        assert!(err.contains("budget"), "{err}");
    }

    #[test]
    fn discovers_the_default_file_only_when_present() {
        let dir = std::env::temp_dir().join(format!("doctor-suppress-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        assert_eq!(
            SuppressionConfig::discover(None, &dir),
            Ok(SuppressionConfig::default())
        );
        let missing = dir.join("nope.yaml");
        let err = SuppressionConfig::discover(Some(&missing), &dir).unwrap_err();
        assert!(
            err.to_string().starts_with(&missing.display().to_string()),
            "{err}"
        );
        std::fs::write(dir.join(DEFAULT_CONFIG_FILE), EXAMPLE).unwrap();
        assert_eq!(
            SuppressionConfig::discover(None, &dir)
                .unwrap()
                .ignore
                .len(),
            2
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn globs() {
        assert!(glob_match("kube-system/aws-node*", "kube-system/aws-node"));
        assert!(glob_match(
            "kube-system/aws-node*",
            "kube-system/aws-node-xyz12"
        ));
        assert!(glob_match("*/aws-node", "kube-system/aws-node"));
        assert!(glob_match("Node/ip-10-0-?-1", "Node/ip-10-0-3-1"));
        assert!(glob_match("*", ""));
        assert!(glob_match("a*b*c", "aXXbYYbc"));
        assert!(!glob_match(
            "kube-system/aws-node",
            "kube-system/aws-node-1"
        ));
        assert!(!glob_match("a*b*c", "aXXbYYb"));
        assert!(!glob_match("?", ""));
        // Pathological patterns stay fast.
        let text = "a".repeat(5000);
        assert!(!glob_match(&format!("{}b", "*a".repeat(50)), &text));
    }

    fn finding(code: &'static str, severity: Severity, object: ObjectRef) -> Finding {
        Finding {
            rule: crate::rules::find_meta(code).expect("a registered code"),
            severity,
            object,
            message: format!("{code} fired"),
            evidence: Vec::new(),
            remediation: String::new(),
            docs: String::new(),
            location: None,
            read_from: None,
        }
    }

    fn report(findings: Vec<Finding>) -> Report {
        Report {
            schema_version: 1,
            tool: Default::default(),
            cluster: Default::default(),
            as_of: "2025-06-01".into(),
            knowledge: Default::default(),
            summary: Summary::of(&findings),
            findings,
            evaluated_rules: Vec::new(),
            not_evaluated: Vec::new(),
            skipped_inputs: Vec::new(),
            input_notes: Vec::new(),
            collection_gaps: Vec::new(),
            suppressed: Vec::new(),
            unmatched_suppressions: Vec::new(),
        }
    }

    fn annotated(meta_name: &str, namespace: Option<&str>, value: &str) -> Meta {
        Meta {
            name: meta_name.into(),
            namespace: namespace.map(str::to_string),
            annotations: [(IGNORE_ANNOTATION.to_string(), value.to_string())].into(),
            ..Meta::default()
        }
    }

    #[test]
    fn indexes_annotations_of_typed_objects() {
        let cluster = Cluster {
            nodes: Some(vec![Node {
                metadata: annotated("n1", None, "cap001, CAP004 nope9"),
                ..Node::default()
            }]),
            daemonsets: Some(vec![Workload {
                kind: String::new(),
                metadata: annotated("aws-node", Some("kube-system"), "CNI001"),
                ..Workload::default()
            }]),
            ..Cluster::default()
        };
        let index = AnnotationIndex::from_cluster(&cluster);
        let node = ObjectRef::global("Node", "n1");
        let ds = ObjectRef::new("DaemonSet", Some("kube-system"), "aws-node");
        assert!(index.ignores(&node, "CAP001") && index.ignores(&node, "CAP004"));
        assert!(!index.ignores(&node, "CNI001"));
        assert!(index.ignores(&ds, "CNI001"));
        assert!(!index.ignores(
            &ObjectRef::new("DaemonSet", Some("default"), "aws-node"),
            "CNI001"
        ));
        assert_eq!(index.unknown, [(node, "NOPE9".to_string())]);
    }

    fn with_annotations(name: &str, pairs: &[(&str, &str)]) -> Meta {
        Meta {
            name: name.into(),
            namespace: Some("kube-system".into()),
            annotations: pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            ..Meta::default()
        }
    }

    #[test]
    fn a_code_annotation_carries_its_reason() {
        let cluster = Cluster {
            daemonsets: Some(vec![Workload {
                kind: "DaemonSet".into(),
                metadata: with_annotations(
                    "aws-node",
                    &[
                        (
                            "eks-cilium-doctor.io/ignore-CNI001",
                            " kept for the rollback until Q3 ",
                        ),
                        ("eks-cilium-doctor.io/ignore-cni005", ""),
                        // The list form names CNI001 too: the reason wins.
                        ("eks-cilium-doctor.io/ignore", "CNI001, OPS003"),
                        ("eks-cilium-doctor.io/ignore-NOPE1", "typo"),
                        ("eks-cilium-doctor.io/ignored", "not ours"),
                    ],
                ),
                ..Workload::default()
            }]),
            ..Cluster::default()
        };
        let index = AnnotationIndex::from_cluster(&cluster);
        let ds = ObjectRef::new("DaemonSet", Some("kube-system"), "aws-node");
        assert_eq!(
            index.reason(&ds, "CNI001"),
            Some("kept for the rollback until Q3 (object annotation eks-cilium-doctor.io/ignore-CNI001)")
        );
        assert_eq!(
            index.reason(&ds, "CNI005"),
            Some("object annotation eks-cilium-doctor.io/ignore-cni005 (no reason given)")
        );
        assert_eq!(
            index.reason(&ds, "OPS003"),
            Some("object annotation eks-cilium-doctor.io/ignore")
        );
        assert_eq!(index.reason(&ds, "CNI002"), None);
        // `ignored` is another annotation; only the typo is unknown.
        assert_eq!(index.unknown, [(ds, "NOPE1".to_string())]);
    }

    #[test]
    fn apply_moves_suppressed_findings_and_reports_unmatched_entries() {
        let aws_node = ObjectRef::new("DaemonSet", Some("kube-system"), "aws-node");
        let role = ObjectRef::global("ClusterRole", "aws-node");
        let cm = ObjectRef::new("ConfigMap", Some("kube-system"), "amazon-vpc-cni");
        let node = ObjectRef::global("Node", "n1");
        let mut report = report(vec![
            finding("CNI001", Severity::Critical, aws_node.clone()),
            finding("CNI005", Severity::Info, role.clone()),
            finding("CNI005", Severity::Info, cm.clone()),
            finding("CAP004", Severity::Medium, node.clone()),
            finding("CAP001", Severity::High, node.clone()),
        ]);
        report.not_evaluated.push(NotEvaluated {
            rule: crate::rules::find_meta("IAM003").expect("a registered code"),
            missing: "IAM role data".into(),
            how_to_provide: None,
        });
        let config = parse(
            "ignore:
  - rule: CAP004
    reason: raised in the launch template
  - rule: CNI005
    objects: [ClusterRole/aws-node, \"kube-system/aws-node*\", \"*/amazon-vpc-cni\"]
    reason: rollback path
  - rule: CNI002
    reason: stale
  - rule: IAM003
    reason: not run, so not stale
",
        )
        .unwrap();
        let cluster = Cluster {
            nodes: Some(vec![Node {
                metadata: annotated("n1", None, "CAP001,CAP004,XYZ001"),
                ..Node::default()
            }]),
            ..Cluster::default()
        };
        apply(
            &mut report,
            &config,
            &AnnotationIndex::from_cluster(&cluster),
        );

        assert_eq!(report.findings.len(), 1);
        assert_eq!(report.findings[0].object, aws_node);
        assert_eq!(report.summary, Summary::of(&report.findings));
        assert_eq!(report.summary.critical, 1);
        let suppressed: Vec<(&str, &ObjectRef, &str)> = report
            .suppressed
            .iter()
            .map(|s| (s.rule.code, &s.object, s.reason.as_str()))
            .collect();
        assert_eq!(
            suppressed,
            [
                ("CNI005", &role, "rollback path"),
                ("CNI005", &cm, "rollback path"),
                // The config wins over the annotation when both apply.
                ("CAP004", &node, "raised in the launch template"),
                (
                    "CAP001",
                    &node,
                    "object annotation eks-cilium-doctor.io/ignore"
                ),
            ]
        );
        assert_eq!(report.suppressed[3].severity, Severity::High);
        assert_eq!(report.suppressed[3].message, "CAP001 fired");
        let unmatched: Vec<(&str, Option<&str>)> = report
            .unmatched_suppressions
            .iter()
            .map(|u| (u.rule.as_str(), u.object.as_deref()))
            .collect();
        assert_eq!(
            unmatched,
            [
                ("CNI005", Some("kube-system/aws-node*")),
                ("CNI002", None),
                ("XYZ001", Some("Node/n1")),
            ]
        );
    }
}
