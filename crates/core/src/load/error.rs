//! What a load takes and gives: its options and limits, the loaded model,
//! and why a load could not complete.

use std::fmt;
use std::path::PathBuf;

use crate::findings::{InputNote, SkippedInput};
use crate::model::Cluster;

/// Limits and extra inputs for one load.
#[derive(Debug, Clone)]
pub struct LoadOptions {
    /// Helm values files (`--helm-values`), merged in order, later wins.
    pub helm_values: Vec<PathBuf>,
    /// Largest single input file accepted, in bytes (larger: skipped).
    pub max_file_bytes: u64,
    /// Most bytes read over all inputs of one load (files, standard input;
    /// archives count their size on disk). Inputs past it are skipped.
    pub max_total_bytes: u64,
    /// Deepest YAML nesting (sequences + mappings) accepted.
    pub yaml_max_depth: usize,
    /// Alias expansion budget: YAML events replayed from `*alias` references
    /// across one YAML text (alias bombs fail fast).
    pub yaml_max_alias_expansion: usize,
    /// Largest YAML text (file or archive member) parsed, in bytes.
    pub yaml_max_document_bytes: usize,
    /// Most members read from one archive (nested archives included).
    pub archive_max_members: usize,
    /// Largest uncompressed archive member, in bytes.
    pub archive_max_member_bytes: u64,
    /// Most uncompressed bytes read from one archive (nested included).
    pub archive_max_total_bytes: u64,
    /// Largest uncompressed/compressed ratio of a member over 1 MiB (zip bombs).
    pub archive_max_ratio: u64,
    /// How deep archives inside archives are opened (a sysdump's bugtool
    /// `.tar.gz` members are at depth 1).
    pub archive_max_nesting: u32,
}

impl Default for LoadOptions {
    fn default() -> Self {
        LoadOptions {
            helm_values: Vec::new(),
            max_file_bytes: 2 * 1024 * 1024 * 1024,
            max_total_bytes: 16 * 1024 * 1024 * 1024,
            yaml_max_depth: 100,
            yaml_max_alias_expansion: 100_000,
            yaml_max_document_bytes: 512 * 1024 * 1024,
            archive_max_members: 100_000,
            archive_max_member_bytes: 1024 * 1024 * 1024,
            archive_max_total_bytes: 4 * 1024 * 1024 * 1024,
            archive_max_ratio: 200,
            archive_max_nesting: 1,
        }
    }
}

/// The model plus the inputs that were not used.
#[derive(Debug, Default)]
pub struct Loaded {
    pub cluster: Cluster,
    pub skipped: Vec<SkippedInput>,
    /// Inputs that were read, with something the report should say about
    /// them (a kind taken from the file name, objects read twice).
    pub notes: Vec<InputNote>,
}

/// Why a load could not complete: the command ends with exit code 2.
#[derive(Debug)]
pub enum LoadError {
    /// A path could not be read.
    Io { path: String, message: String },
    /// An input was recognised but is malformed; `location` is a line or member.
    Malformed {
        path: String,
        location: Option<String>,
        message: String,
    },
    /// Nothing usable was given.
    NoInput(String),
    /// Inputs were given and read, but none was recognised: each with why.
    NothingRecognised(Vec<SkippedInput>),
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Names come from the input: a newline in one must not forge a line.
        let escape = crate::hygiene::escape_control;
        match self {
            LoadError::Io { path, message } => write!(f, "{}: {}", escape(path), escape(message)),
            LoadError::Malformed {
                path,
                location: Some(at),
                message,
            } => write!(f, "{}: {at}: {}", escape(path), escape(message)),
            LoadError::Malformed {
                path,
                location: None,
                message,
            } => write!(f, "{}: {}", escape(path), escape(message)),
            LoadError::NoInput(why) => f.write_str(why),
            LoadError::NothingRecognised(skipped) => {
                // A gate must not pass on input it could not read.
                let shown: Vec<String> = skipped
                    .iter()
                    .take(10)
                    .map(|s| format!("{}: {}", s.path, s.reason))
                    .collect();
                let more = skipped.len().saturating_sub(shown.len());
                write!(f, "no input was recognised: {}", shown.join("; "))?;
                if more > 0 {
                    write!(f, "; and {more} more")?;
                }
                Ok(())
            }
        }
    }
}

impl std::error::Error for LoadError {}

pub(super) fn malformed(
    path: &str,
    location: Option<String>,
    message: impl Into<String>,
) -> LoadError {
    LoadError::Malformed {
        path: path.to_string(),
        location,
        message: message.into(),
    }
}
