//! Loaders: turn files, directories, archives and standard input into the
//! one cluster model, recognising every input by its content, never by its
//! name.
//!
//! API CONTRACT used by the CLI and tests: [`load_paths`], [`LoadOptions`],
//! [`Loaded`], [`LoadError`].
//!
//! Policies, the same for every format:
//! - An input (file, stdin, archive member) of no recognised shape, or whose
//!   content the rules do not use, is listed in [`Loaded::skipped`] with the
//!   reason, never dropped silently.
//! - A syntax error in JSON/YAML (or Prometheus text) is [`LoadError::Malformed`]
//!   naming the file and line: the command cannot run as asked.
//! - A recognised object with a wrong field type (`"replicas": "three"`) is
//!   skipped with a reason naming the object and the field path; the rest of
//!   the input still loads (one odd object must not hide a whole cluster).
//! - An explicit `null` means "absent" (Go dumpers marshal nil structs as
//!   `null`), as Kubernetes itself decodes it.
//! - Duplicate YAML keys are malformed (kubectl rejects them too).
//! - Limits ([`LoadOptions`]) turn hostile input into a skip or an error with
//!   a clear message, never into unbounded memory or a panic.
//! - The one name-based exception: inside an archive, cilium-cli's
//!   `cilium-helm-values-<ts>.yaml` is read as Helm values, which have no
//!   content marker of their own; elsewhere Helm values come from
//!   [`LoadOptions::helm_values`].

mod archive;
mod aws;
mod cilium_text;
mod dedup;
mod detect;
mod helm;
mod iam;
mod json;
mod junit;
mod kube;
mod limits;
mod loader;
mod one_pass;
mod prometheus;
mod shapes;
mod stream;
mod yaml;

use std::fmt;
use std::path::PathBuf;

use crate::findings::{InputNote, SkippedInput};
use crate::model::Cluster;
use loader::Loader;

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

fn malformed(path: &str, location: Option<String>, message: impl Into<String>) -> LoadError {
    LoadError::Malformed {
        path: path.to_string(),
        location,
        message: message.into(),
    }
}

/// Load one in-memory input (a file's bytes, a whole snapshot archive,
/// standard input) named `name` in messages, recognised by its content like
/// any file, through exactly the path `check snapshot.tar.gz` takes. The
/// limits of `options` apply.
pub fn load_bytes(name: &str, bytes: &[u8], options: &LoadOptions) -> Result<Loaded, LoadError> {
    let mut loader = Loader::new(options);
    loader.inputs_seen += 1;
    loader.load_in_memory(name, bytes)?;
    finish(loader, options)
}

/// Load files already in memory, such as a live collection, each named
/// `NAME!FILE` and recognised by its content as a file on disk is, under
/// the per-file and total-input limits: the loaders a `.tar.gz` of them
/// would go through, without compressing and unpacking a whole cluster at
/// every evaluation.
pub fn load_files<'a>(
    name: &str,
    files: impl IntoIterator<Item = (&'a str, &'a [u8])>,
    options: &LoadOptions,
) -> Result<Loaded, LoadError> {
    let mut loader = Loader::new(options);
    loader.inputs_seen += 1;
    for (file, bytes) in files {
        loader.load_in_memory(&format!("{name}!{file}"), bytes)?;
    }
    finish(loader, options)
}

/// Load every path (files, directories walked recursively in sorted order,
/// `-` for standard input) into one model.
pub fn load_paths(paths: &[PathBuf], options: &LoadOptions) -> Result<Loaded, LoadError> {
    if paths.is_empty() {
        return Err(LoadError::NoInput("no input paths given".into()));
    }
    let mut loader = Loader::new(options);
    for path in paths {
        if path.as_os_str() == "-" {
            loader.load_stdin()?;
        } else {
            loader.load_path(path, true)?;
        }
    }
    if loader.inputs_seen == 0 {
        let shown: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
        return Err(LoadError::NoInput(format!(
            "no input files: {} holds no files",
            shown.join(", ")
        )));
    }
    if loader.inputs_used == 0 && loader.helm_layers.is_empty() {
        return Err(LoadError::NothingRecognised(loader.skipped));
    }
    finish(loader, options)
}

/// `--helm-values` files go last: they win over values found in inputs.
fn finish(mut loader: Loader, options: &LoadOptions) -> Result<Loaded, LoadError> {
    for file in &options.helm_values {
        let shown = file.display().to_string();
        let bytes = loader.read_file(file, &shown)?;
        let layer = helm::parse_values(&shown, &bytes, options)?;
        loader.helm_layers.push(layer);
    }
    Ok(loader.finish())
}
