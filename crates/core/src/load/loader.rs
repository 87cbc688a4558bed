//! The model being built from the inputs: the one builder every format's
//! parser adds its parts to, keeping the tally of what each input gave.
//! It depends on no parser and not on the walk that feeds it (`walk.rs`);
//! IAM parts wait here to be joined once every input is read.

use super::dedup;
use super::error::{LoadOptions, Loaded};
use super::iam::IamParts;
use super::limits::STREAM_MIN_BYTES;
use super::tally::Tally;
use crate::findings::{InputNote, SkippedInput};
use crate::hygiene::escape_control;
use crate::model::{self, Cluster};

pub(super) struct Loader<'o> {
    pub(super) options: &'o LoadOptions,
    pub(super) cluster: Cluster,
    pub(super) skipped: Vec<SkippedInput>,
    pub(super) notes: Vec<InputNote>,
    pub(super) iam: IamParts,
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
    pub(super) contents: std::collections::HashMap<u64, String>,
    /// The content hash of the input being read, kept once it proves used.
    pub(super) pending_content: Option<u64>,
    /// Regular files at least this large are tried as streamed JSON Lists.
    pub(super) stream_min_bytes: u64,
    /// Bytes of input read so far (files and standard input).
    pub(super) total_bytes: u64,
    /// The kind last marked listed (`Cluster::kinds_listed` only grows).
    pub(super) last_listed: Option<std::borrow::Cow<'static, str>>,
}

impl<'o> Loader<'o> {
    pub(super) fn new(options: &'o LoadOptions) -> Self {
        Loader {
            options,
            cluster: Cluster::default(),
            skipped: Vec::new(),
            notes: Vec::new(),
            iam: IamParts::default(),
            helm_layers: Vec::new(),
            tally: Tally::default(),
            inputs_seen: 0,
            inputs_used: 0,
            input_names: Vec::new(),
            current_input: 0,
            contents: std::collections::HashMap::new(),
            pending_content: None,
            stream_min_bytes: STREAM_MIN_BYTES,
            total_bytes: 0,
            last_listed: None,
        }
    }

    /// The model, with the Helm values merged from [`Loader::helm_layers`]
    /// (`helm::merge_layers`) by the caller, which knows the format.
    pub(super) fn finish(mut self, helm_values: Option<serde_json::Value>) -> Loaded {
        self.notes
            .extend(dedup::one_of_each(&mut self.cluster, &self.input_names));
        // Names come from the input: no control character reaches a report.
        for note in &mut self.notes {
            note.path = escape_control(&note.path).into_owned();
            note.note = escape_control(&note.note).into_owned();
        }
        self.iam.finish(&mut self.cluster, &mut self.skipped);
        self.cluster.helm_values = helm_values;
        self.cluster.input_files = self.input_names;
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
