//! The walk over inputs and what each one contributed: paths, directories
//! (sorted, symbolic links to directories not followed), standard input,
//! then content recognition of every non-archive input.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::{
    archive, cilium_text, dedup, detect, helm, iam, json, junit, limits, malformed, prometheus,
    stream, yaml, LoadError, LoadOptions, Loaded,
};
use crate::findings::{InputNote, SkippedInput};
use crate::hygiene::escape_control;
use crate::model::{self, Cluster};

/// What one input (file, stdin or archive member) contributed, so an input
/// that gave the model nothing is reported once, with every reason.
#[derive(Debug, Default)]
pub(super) struct Tally {
    pub(super) used: usize,
    pub(super) invalid: usize,
    /// Objects without a `kind` (and none from their List or selfLink).
    pub(super) no_kind: usize,
    /// List/array items that are not objects at all.
    pub(super) not_objects: usize,
    unused_kinds: BTreeMap<String, usize>,
    notes: Vec<String>,
    more_notes: usize,
}

const MAX_NOTES: usize = 5;

impl Tally {
    pub(super) fn unused_kind(&mut self, kind: &str) {
        *self.unused_kinds.entry(kind.to_string()).or_default() += 1;
    }

    /// Distinct reasons only, and a few of them: a JSON Lines file of 10,000
    /// unrecognised records must give one short reason, not 10,000.
    pub(super) fn note(&mut self, reason: impl Into<String>) {
        let reason = reason.into();
        if self.notes.contains(&reason) {
            return;
        }
        if self.notes.len() < MAX_NOTES {
            self.notes.push(reason);
        } else {
            self.more_notes += 1;
        }
    }

    /// The skip reason when nothing was used.
    pub(super) fn reason(&self) -> Option<String> {
        if self.used > 0 || self.invalid > 0 {
            return None;
        }
        let mut parts = self.notes.clone();
        if self.no_kind > 0 {
            parts.push(format!(
                "{} object(s) without a `kind` (not Kubernetes objects)",
                self.no_kind
            ));
        }
        if self.not_objects > 0 {
            parts.push(format!(
                "{} array item(s) that are not objects",
                self.not_objects
            ));
        }
        if !self.unused_kinds.is_empty() {
            let kinds: Vec<String> = self
                .unused_kinds
                .iter()
                .map(|(k, n)| match k.as_str() {
                    "Secret" => format!("Secret ×{n} (never read)"),
                    _ => format!("{k} ×{n}"),
                })
                .collect();
            parts.push(format!("no object the rules use ({})", kinds.join(", ")));
        }
        if self.more_notes > 0 {
            parts.push(format!("{} other reasons", self.more_notes));
        }
        if parts.is_empty() {
            parts.push("nothing recognised".into());
        }
        Some(parts.join("; "))
    }
}

pub(super) struct Loader<'o> {
    pub(super) options: &'o LoadOptions,
    pub(super) cluster: Cluster,
    pub(super) skipped: Vec<SkippedInput>,
    pub(super) notes: Vec<InputNote>,
    pub(super) iam: iam::IamParts,
    /// Helm values in precedence order (sysdump first, `--helm-values` last).
    pub(super) helm_layers: Vec<serde_json::Value>,
    pub(super) tally: Tally,
    pub(super) inputs_seen: usize,
    /// Inputs that gave the model something.
    pub(super) inputs_used: usize,
    /// The name of every input content was read from, by index; objects
    /// carry the index of theirs (`Meta::input`).
    input_names: Vec<String>,
    pub(super) current_input: u32,
    /// Content hash → the input it came from: a byte-identical input (a
    /// copy of a dump given twice) is read once.
    contents: std::collections::HashMap<u64, String>,
    /// The content hash of the input being read, kept once it proves used.
    pending_content: Option<u64>,
    /// Regular files at least this large are tried as streamed JSON Lists.
    pub(super) stream_min_bytes: u64,
    /// Bytes of input read so far (files and standard input).
    pub(super) total_bytes: u64,
}

fn is_device(meta: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::FileTypeExt;
    meta.file_type().is_char_device() || meta.file_type().is_block_device()
}

/// A terminal is a device one may type a dump into (`check /dev/tty`).
fn is_terminal(path: &Path) -> bool {
    std::fs::File::open(path).is_ok_and(|f| std::io::IsTerminal::is_terminal(&f))
}

impl<'o> Loader<'o> {
    pub(super) fn new(options: &'o LoadOptions) -> Self {
        Loader {
            options,
            cluster: Cluster::default(),
            skipped: Vec::new(),
            notes: Vec::new(),
            iam: iam::IamParts::default(),
            helm_layers: Vec::new(),
            tally: Tally::default(),
            inputs_seen: 0,
            inputs_used: 0,
            input_names: Vec::new(),
            current_input: 0,
            contents: std::collections::HashMap::new(),
            pending_content: None,
            stream_min_bytes: stream::STREAM_MIN_BYTES,
            total_bytes: 0,
        }
    }

    pub(super) fn finish(mut self) -> Loaded {
        self.notes
            .extend(dedup::one_of_each(&mut self.cluster, &self.input_names));
        // Names come from the input: no control character reaches a report.
        for note in &mut self.notes {
            note.path = escape_control(&note.path).into_owned();
            note.note = escape_control(&note.note).into_owned();
        }
        self.iam.finish(&mut self.cluster, &mut self.skipped);
        if !self.helm_layers.is_empty() {
            let merged = self
                .helm_layers
                .into_iter()
                .fold(serde_json::Value::Object(Default::default()), helm::merge);
            self.cluster.helm_values = Some(merged);
        }
        self.cluster.finish();
        Loaded {
            cluster: self.cluster,
            skipped: self.skipped,
            notes: self.notes,
        }
    }

    /// Names and reasons come from the input: control characters are
    /// escaped here, once for every report format.
    pub(super) fn skip(&mut self, path: &str, reason: impl Into<String>) {
        let reason = reason.into();
        self.skipped.push(SkippedInput {
            path: escape_control(path).into_owned(),
            reason: escape_control(&reason).into_owned(),
        });
    }

    /// Load a path; `explicit` paths (given by the user) are followed even
    /// when they are pipes (`<(kubectl …)`) or symbolic links to directories.
    pub(super) fn load_path(&mut self, path: &Path, explicit: bool) -> Result<(), LoadError> {
        let shown = path.display().to_string();
        let io = |e: std::io::Error| LoadError::Io {
            path: shown.clone(),
            message: e.to_string(),
        };
        let link = std::fs::symlink_metadata(path).map_err(io)?;
        let meta = match std::fs::metadata(path) {
            Ok(meta) => meta,
            // A dangling or looping link inside a walked directory is one
            // skipped input, not the end of the walk.
            Err(e) if !explicit && link.file_type().is_symlink() => {
                self.inputs_seen += 1;
                let why = if e.kind() == std::io::ErrorKind::NotFound {
                    "dangling symbolic link (its target does not exist)".to_string()
                } else {
                    format!("symbolic link not followed: {e}")
                };
                self.skip(&shown, why);
                return Ok(());
            }
            Err(e) => return Err(io(e)),
        };
        if explicit && is_device(&meta) && !is_terminal(path) {
            // `check /dev/zero` would read its whole limit first.
            return Err(LoadError::Io {
                path: shown,
                message: "a device, not a dump: not read".into(),
            });
        }
        if meta.is_dir() {
            if link.file_type().is_symlink() && !explicit {
                // Not followed: a link back up the tree would loop forever.
                self.skip(&shown, "symbolic link to a directory: not followed");
                return Ok(());
            }
            let mut entries: Vec<PathBuf> = std::fs::read_dir(path)
                .map_err(io)?
                .map(|e| e.map(|e| e.path()))
                .collect::<Result<_, _>>()
                .map_err(io)?;
            entries.sort();
            for entry in entries {
                self.load_path(&entry, false)?;
            }
            return Ok(());
        }
        if !meta.is_file() && !explicit {
            self.skip(&shown, "not a regular file (device, socket or pipe)");
            return Ok(());
        }
        if meta.is_file() && meta.len() > self.options.max_file_bytes {
            self.inputs_seen += 1;
            self.skip(
                &shown,
                format!(
                    "file is {} bytes, over the {} byte limit",
                    meta.len(),
                    self.options.max_file_bytes
                ),
            );
            return Ok(());
        }
        if meta.is_file() && !self.within_total(&shown, meta.len()) {
            return Ok(());
        }
        if meta.is_file() && stream::load_file(self, path, &shown, meta.len())? {
            return Ok(());
        }
        if !meta.is_file() {
            // A pipe (`<(kubectl …)`): streamed, stopped early when binary.
            let file = std::fs::File::open(path).map_err(io)?;
            return self.load_reader(&shown, file);
        }
        let bytes = self.read_file(path, &shown)?;
        self.inputs_seen += 1;
        self.load_bytes(&shown, &bytes)
    }

    /// One input already in memory: skipped with the reason when over the
    /// per-file or the total-input limit, else loaded as a file's bytes.
    pub(super) fn load_in_memory(&mut self, source: &str, bytes: &[u8]) -> Result<(), LoadError> {
        let len = bytes.len() as u64;
        if len > self.options.max_file_bytes {
            self.skip(
                source,
                format!(
                    "input is {len} bytes, over the {} byte limit",
                    self.options.max_file_bytes
                ),
            );
            return Ok(());
        }
        if !self.within_total(source, len) {
            return Ok(());
        }
        self.load_bytes(source, bytes)
    }

    /// Count `len` more bytes of input; false (and the input skipped) when
    /// that would pass [`LoadOptions::max_total_bytes`].
    fn within_total(&mut self, shown: &str, len: u64) -> bool {
        let total = self.total_bytes.saturating_add(len);
        if total > self.options.max_total_bytes {
            self.inputs_seen += 1;
            self.skip(
                shown,
                format!(
                    "{len} bytes more would take the inputs over the {} byte total-input limit ({} bytes read before it)",
                    self.options.max_total_bytes, self.total_bytes
                ),
            );
            return false;
        }
        self.total_bytes = total;
        true
    }

    /// One read per file; pipes are read up to the size limit.
    pub(super) fn read_file(&self, path: &Path, shown: &str) -> Result<Vec<u8>, LoadError> {
        let io = |e: std::io::Error| LoadError::Io {
            path: shown.to_string(),
            message: e.to_string(),
        };
        let file = std::fs::File::open(path).map_err(io)?;
        let hint = file.metadata().map(|m| m.len()).unwrap_or(0);
        match limits::read_capped(file, self.options.max_file_bytes, hint).map_err(io)? {
            limits::Capped::Read(bytes) => Ok(bytes),
            limits::Capped::Over => Err(LoadError::Io {
                path: shown.to_string(),
                message: format!("larger than the {} byte limit", self.options.max_file_bytes),
            }),
        }
    }

    pub(super) fn load_stdin(&mut self) -> Result<(), LoadError> {
        let stdin = std::io::stdin();
        let meta = std::os::fd::AsFd::as_fd(&stdin)
            .try_clone_to_owned()
            .map(std::fs::File::from)
            .and_then(|f| f.metadata());
        if meta.is_ok_and(|m| is_device(&m)) && !std::io::IsTerminal::is_terminal(&stdin) {
            return Err(LoadError::Io {
                path: "<stdin>".into(),
                message: "standard input is a device, not a dump: not read".into(),
            });
        }
        self.load_reader("<stdin>", stdin.lock())
    }

    /// A stream (standard input): read up to the file size limit.
    pub(super) fn load_reader(
        &mut self,
        source: &str,
        reader: impl std::io::Read,
    ) -> Result<(), LoadError> {
        let capped = limits::read_stream(reader, self.options.max_file_bytes).map_err(|e| {
            LoadError::Io {
                path: source.into(),
                message: e.to_string(),
            }
        })?;
        self.inputs_seen += 1;
        let capped = match capped {
            limits::Streamed::Binary(why) => {
                self.skip(source, format!("{why}: not read further"));
                return Ok(());
            }
            limits::Streamed::Capped(capped) => capped,
        };
        match capped {
            limits::Capped::Read(bytes) => {
                if !self.within_total(source, bytes.len() as u64) {
                    return Ok(());
                }
                self.load_bytes(source, &bytes)
            }
            limits::Capped::Over => {
                self.skip(
                    source,
                    format!("over the {} byte limit", self.options.max_file_bytes),
                );
                Ok(())
            }
        }
    }

    /// A whole input: an archive (by magic bytes) or one content.
    pub(super) fn load_bytes(&mut self, source: &str, bytes: &[u8]) -> Result<(), LoadError> {
        if archive::is_archive(bytes) {
            return archive::load(self, source, bytes);
        }
        self.load_content(source, bytes)
    }

    /// One non-archive input, recognised by its content.
    pub(super) fn load_content(&mut self, source: &str, bytes: &[u8]) -> Result<(), LoadError> {
        self.begin_input(source);
        let outer = std::mem::take(&mut self.tally);
        let result = self.dispatch(source, bytes);
        let tally = std::mem::replace(&mut self.tally, outer);
        result?;
        if let Some(hash) = self.pending_content.take() {
            if tally.used > 0 {
                self.contents
                    .entry(hash)
                    .or_insert_with(|| source.to_string());
            }
        }
        self.account(source, &tally);
        Ok(())
    }

    /// Objects read from now on come from `source`.
    pub(super) fn begin_input(&mut self, source: &str) {
        self.current_input = u32::try_from(self.input_names.len()).unwrap_or(u32::MAX);
        self.input_names.push(source.to_string());
    }

    /// What one input gave: counted when it gave the model something, else
    /// skipped with every reason.
    pub(super) fn account(&mut self, source: &str, tally: &Tally) {
        if tally.used > 0 {
            self.inputs_used += 1;
        }
        if let Some(reason) = tally.reason() {
            self.skip(source, reason);
        }
    }

    fn dispatch(&mut self, source: &str, bytes: &[u8]) -> Result<(), LoadError> {
        // UTF-16/UTF-32 with a byte order mark (PowerShell 5's `>`).
        match detect::decode_bom(bytes) {
            Some(Ok(text)) => return self.dispatch(source, text.as_bytes()),
            Some(Err(why)) => {
                self.tally.note(why);
                return Ok(());
            }
            None => {}
        }
        let text = match detect::text(bytes) {
            Ok(text) => text,
            Err(why) => {
                self.tally.note(why);
                return Ok(());
            }
        };
        match detect::content(text) {
            detect::Content::Empty => self.tally.note("empty"),
            detect::Content::Json => {
                if self.first_copy(source, bytes) {
                    json::load(self, source, text)?;
                }
            }
            detect::Content::GoVersionInfo => {
                let set = match cilium_text::parse_go_version_info(text) {
                    Some(version) => self.set_server_version(version),
                    None => Err("Go `version.Info{…}` text without a GitVersion".into()),
                };
                if let Err(why) = set {
                    self.tally.note(why);
                }
            }
            detect::Content::CiliumStatus => {
                let report = cilium_text::parse_status(source, text);
                model::extend(&mut self.cluster.cilium_status, [report]);
                self.tally.used += 1;
            }
            detect::Content::CiliumHealth => {
                let report = cilium_text::parse_health(source, text);
                model::extend(&mut self.cluster.cilium_health, [report]);
                self.tally.used += 1;
            }
            detect::Content::Junit => match junit::parse(source, text) {
                Ok(report) => {
                    model::extend(&mut self.cluster.connectivity_tests, [report]);
                    self.tally.used += 1;
                }
                Err(why) => self.tally.note(why),
            },
            detect::Content::FailedCommand(line) => self
                .tally
                .note(format!("capture of a failed command ({line})")),
            detect::Content::Prometheus => {
                // Two agents never expose byte-identical counters: a copy.
                if !self.first_copy(source, bytes) {
                    return Ok(());
                }
                let samples = prometheus::parse(source, text)
                    .map_err(|e| malformed(source, Some(format!("line {}", e.line)), e.message))?;
                if samples.kept.is_empty() {
                    self.tally.note(format!(
                        "Prometheus text without cilium_*/hubble_* samples ({} other samples)",
                        samples.dropped
                    ));
                } else {
                    model::extend(&mut self.cluster.metrics, samples.kept);
                    self.tally.used += 1;
                }
            }
            detect::Content::Text { kube_like } => {
                if self.first_copy(source, bytes) {
                    yaml::load(self, source, text, kube_like)?;
                }
            }
        }
        Ok(())
    }

    /// False (and a note) when a JSON, YAML or metrics input is byte for
    /// byte one already read and used: a dump given twice. `cilium status`
    /// outputs of two healthy agents can be identical, so they are never
    /// merged. An unrecognised input is read (and skipped) every time.
    fn first_copy(&mut self, source: &str, bytes: &[u8]) -> bool {
        use std::hash::{Hash, Hasher};
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        bytes.hash(&mut hasher);
        let hash = hasher.finish();
        if let Some(first) = self.contents.get(&hash) {
            self.notes.push(InputNote {
                path: source.to_string(),
                note: format!("the same content as {first}: read once"),
            });
            // Not a skip: the input was recognised, its objects are in.
            self.tally.used += 1;
            return false;
        }
        self.pending_content = Some(hash);
        true
    }

    /// `kubectl version` (any spelling) → the control plane version.
    pub(super) fn set_server_version(&mut self, git_version: String) -> Result<(), String> {
        let version = git_version
            .parse()
            .map_err(|e| format!("Kubernetes gitVersion {git_version:?}: {e}"))?;
        self.cluster.server_version = Some(model::ServerVersion {
            git_version,
            version,
        });
        self.tally.used += 1;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn standard_input_is_content_recognised_like_a_file() {
        let options = LoadOptions::default();
        let mut loader = Loader::new(&options);
        let pods = br#"{"kind":"PodList","items":[{"metadata":{"name":"a"}}]}"#;
        loader.load_reader("<stdin>", &pods[..]).unwrap();
        loader.load_reader("<stdin>", &b""[..]).unwrap();
        assert_eq!(loader.inputs_seen, 2);
        let loaded = loader.finish();
        assert_eq!(loaded.cluster.pods.unwrap().len(), 1);
        assert_eq!(loaded.skipped[0].path, "<stdin>");
        assert_eq!(loaded.skipped[0].reason, "empty");

        let small = LoadOptions {
            max_file_bytes: 4,
            ..LoadOptions::default()
        };
        let mut loader = Loader::new(&small);
        loader.load_reader("<stdin>", &pods[..]).unwrap();
        assert!(loader.finish().skipped[0].reason.contains("byte limit"));
    }

    #[test]
    fn inputs_past_the_total_limit_are_skipped() {
        let options = LoadOptions {
            max_total_bytes: 100,
            ..LoadOptions::default()
        };
        let mut loader = Loader::new(&options);
        // Three nodes of one size (identical inputs would be read once).
        let node = br#"{"kind":"Node","metadata":{"name":"a"}}"#;
        loader.load_reader("<stdin>", &node[..]).unwrap();
        loader
            .load_reader(
                "<stdin>",
                &br#"{"kind":"Node","metadata":{"name":"b"}}"#[..],
            )
            .unwrap();
        loader
            .load_reader(
                "<stdin>",
                &br#"{"kind":"Node","metadata":{"name":"c"}}"#[..],
            )
            .unwrap();
        assert_eq!(loader.total_bytes, 2 * node.len() as u64);
        let loaded = loader.finish();
        assert_eq!(
            loaded.cluster.nodes.unwrap().len(),
            2,
            "the third input is skipped"
        );
        assert_eq!(loaded.skipped.len(), 1);
        assert!(
            loaded.skipped[0]
                .reason
                .contains("100 byte total-input limit"),
            "{:?}",
            loaded.skipped
        );
    }

    #[test]
    fn a_snapshot_manifest_brings_its_collection_gaps() {
        let options = LoadOptions::default();
        let mut loader = Loader::new(&options);
        let manifest = br#"{"eksCiliumDoctorSnapshot": 1, "collectedAt": "2026-11-26T05:00:00Z",
            "files": [{"file": "eks-cluster.json", "call": "eks:DescribeCluster", "items": 1}],
            "absent": ["NodePool (karpenter.sh/v1): not installed"],
            "gaps": [{"source": "aws", "call": "eks:ListAddons", "kind": "denied",
                      "permission": "eks:ListAddons", "message": "not authorized"}]}"#;
        loader.load_reader("manifest.json", &manifest[..]).unwrap();
        let loaded = loader.finish();
        assert!(loaded.skipped.is_empty(), "{:?}", loaded.skipped);
        let gaps = &loaded.cluster.collection_gaps;
        assert_eq!(gaps.len(), 1);
        assert_eq!(
            gaps[0].describe(),
            "eks:ListAddons (denied; grant eks:ListAddons): not authorized"
        );
    }

    #[test]
    fn reasons_are_deduplicated_and_bounded() {
        let mut tally = Tally::default();
        for i in 0..20 {
            tally.note("JSON of no recognised shape (top-level keys: flow)");
            tally.note(format!("reason {i}"));
        }
        let reason = tally.reason().unwrap();
        assert_eq!(reason.matches("no recognised shape").count(), 1);
        assert!(reason.ends_with("16 other reasons"), "{reason}");
        tally.used = 1;
        assert_eq!(tally.reason(), None);
    }
}
