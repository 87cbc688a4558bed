//! Loaders: turn files, directories and archives into the one cluster
//! model, recognising every input by its content, never by its name.
//!
//! API CONTRACT used by the CLI and tests: [`load_paths`], [`LoadOptions`],
//! [`Loaded`], [`LoadError`].

mod json;

use std::fmt;
use std::path::{Path, PathBuf};

use crate::findings::SkippedInput;
use crate::model::Cluster;

/// Limits and extra inputs for one load.
#[derive(Debug, Clone)]
pub struct LoadOptions {
    /// Helm values files (`--helm-values`), merged in order, later wins.
    pub helm_values: Vec<PathBuf>,
    /// Largest single input file accepted, in bytes.
    pub max_file_bytes: u64,
}

impl Default for LoadOptions {
    fn default() -> Self {
        LoadOptions {
            helm_values: Vec::new(),
            max_file_bytes: 2 * 1024 * 1024 * 1024,
        }
    }
}

/// The model plus the inputs that were not used.
#[derive(Debug, Default)]
pub struct Loaded {
    pub cluster: Cluster,
    pub skipped: Vec<SkippedInput>,
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
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LoadError::Io { path, message } => write!(f, "{path}: {message}"),
            LoadError::Malformed {
                path,
                location: Some(at),
                message,
            } => write!(f, "{path}: {at}: {message}"),
            LoadError::Malformed {
                path,
                location: None,
                message,
            } => write!(f, "{path}: {message}"),
            LoadError::NoInput(why) => f.write_str(why),
        }
    }
}

impl std::error::Error for LoadError {}

/// Load every path (files, directories walked recursively) into one model.
pub fn load_paths(paths: &[PathBuf], options: &LoadOptions) -> Result<Loaded, LoadError> {
    if paths.is_empty() {
        return Err(LoadError::NoInput("no input paths given".into()));
    }
    let mut loader = Loader::default();
    for path in paths {
        loader.load_path(path, options)?;
    }
    let mut loaded = Loaded {
        cluster: loader.cluster,
        skipped: loader.skipped,
    };
    loaded.cluster.finish();
    Ok(loaded)
}

#[derive(Default)]
struct Loader {
    cluster: Cluster,
    skipped: Vec<SkippedInput>,
}

impl Loader {
    fn skip(&mut self, path: &str, reason: impl Into<String>) {
        self.skipped.push(SkippedInput {
            path: path.to_string(),
            reason: reason.into(),
        });
    }

    fn load_path(&mut self, path: &Path, options: &LoadOptions) -> Result<(), LoadError> {
        let shown = path.display().to_string();
        let meta = std::fs::metadata(path).map_err(|e| LoadError::Io {
            path: shown.clone(),
            message: e.to_string(),
        })?;
        if meta.is_dir() {
            let mut entries: Vec<PathBuf> = std::fs::read_dir(path)
                .map_err(|e| LoadError::Io {
                    path: shown.clone(),
                    message: e.to_string(),
                })?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .collect();
            entries.sort();
            for entry in entries {
                self.load_path(&entry, options)?;
            }
            return Ok(());
        }
        if meta.len() > options.max_file_bytes {
            self.skip(
                &shown,
                format!(
                    "file is {} bytes, over the {} byte limit",
                    meta.len(),
                    options.max_file_bytes
                ),
            );
            return Ok(());
        }
        let bytes = std::fs::read(path).map_err(|e| LoadError::Io {
            path: shown.clone(),
            message: e.to_string(),
        })?;
        self.load_bytes(&shown, &bytes)
    }

    fn load_bytes(&mut self, source: &str, bytes: &[u8]) -> Result<(), LoadError> {
        let Ok(text) = std::str::from_utf8(bytes) else {
            self.skip(source, "not UTF-8 text and not a recognised archive");
            return Ok(());
        };
        let trimmed = text.trim_start();
        if trimmed.starts_with('{') || trimmed.starts_with('[') {
            return json::load_json(&mut self.cluster, &mut self.skipped, source, text);
        }
        self.skip(source, "not a recognised input (expected JSON)");
        Ok(())
    }
}
