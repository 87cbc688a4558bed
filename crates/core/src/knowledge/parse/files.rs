//! Where the data files come from: the copies embedded at build time, each
//! one replaceable by a file of the same name in a `--knowledge` directory.

use std::borrow::Cow;
use std::path::{Path, PathBuf};

use super::KnowledgeError;
use crate::version::Minor;

pub const INSTANCES: &str = "instances.csv";
pub const EKS: &str = "eks.json";
pub const CILIUM: &str = "cilium.json";
pub const METRICS: &str = "metrics.json";
pub const CILIUM_EKS: &str = "cilium-eks.json";
pub const EKS_IAM: &str = "eks-iam.json";
pub const KNOWLEDGE_DATES: &str = "knowledge-dates.json";
pub const KNOWN_ISSUES: &str = "known-issues.json";
const HELM_KEYS_DIR: &str = "helm-keys";

/// `helm-keys/<minor>.txt`.
pub fn helm_keys(minor: Minor) -> String {
    format!("{HELM_KEYS_DIR}/{minor}.txt")
}

macro_rules! embed {
    ($($rel:literal),* $(,)?) => {
        &[$(($rel, include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/../../data/", $rel)))),*]
    };
}

/// Every embedded file by its path under `data/`. The helm-keys list must
/// follow the minors of cilium.json (a test checks it).
const EMBEDDED: &[(&str, &str)] = embed![
    "instances.csv",
    "eks.json",
    "cilium.json",
    "metrics.json",
    "cilium-eks.json",
    "eks-iam.json",
    "knowledge-dates.json",
    "known-issues.json",
    "helm-keys/1.12.txt",
    "helm-keys/1.13.txt",
    "helm-keys/1.14.txt",
    "helm-keys/1.15.txt",
    "helm-keys/1.16.txt",
    "helm-keys/1.17.txt",
    "helm-keys/1.18.txt",
    "helm-keys/1.19.txt",
    "helm-keys/1.20.txt",
];

/// One data file's text and the name its errors carry.
pub struct Source {
    pub name: String,
    pub text: Cow<'static, str>,
}

pub struct Files {
    dir: Option<PathBuf>,
}

impl Files {
    pub fn embedded() -> Files {
        Files { dir: None }
    }

    /// The embedded files, overridden by those present in `dir`.
    pub fn overridden_by(dir: &Path) -> Result<Files, KnowledgeError> {
        let shown = dir.display();
        if !dir.is_dir() {
            let why = if dir.exists() {
                "not a directory"
            } else {
                "no such directory"
            };
            return Err(KnowledgeError(format!("{shown}: {why}")));
        }
        let known = [
            INSTANCES,
            EKS,
            CILIUM,
            METRICS,
            CILIUM_EKS,
            EKS_IAM,
            KNOWLEDGE_DATES,
            KNOWN_ISSUES,
            HELM_KEYS_DIR,
        ];
        if !known.iter().any(|rel| dir.join(rel).exists()) {
            return Err(KnowledgeError(format!(
                "{shown}: holds none of the knowledge files ({INSTANCES}, {EKS}, {CILIUM}, \
                 {METRICS}, {CILIUM_EKS}, {EKS_IAM}, {KNOWLEDGE_DATES}, {KNOWN_ISSUES}, {HELM_KEYS_DIR}/<minor>.txt)"
            )));
        }
        Ok(Files {
            dir: Some(dir.to_path_buf()),
        })
    }

    /// The file at `rel` (a path under `data/`): the override if present,
    /// else the embedded copy.
    pub fn get(&self, rel: &str) -> Result<Source, KnowledgeError> {
        if let Some(dir) = &self.dir {
            let path = dir.join(rel);
            if path.exists() {
                let text = std::fs::read_to_string(&path)
                    .map_err(|e| KnowledgeError(format!("{}: {e}", path.display())))?;
                return Ok(Source {
                    name: path.display().to_string(),
                    text: Cow::Owned(text),
                });
            }
        }
        match EMBEDDED.iter().find(|(name, _)| *name == rel) {
            Some((_, text)) => Ok(Source {
                name: format!("data/{rel} (embedded)"),
                text: Cow::Borrowed(text),
            }),
            None => Err(KnowledgeError(match &self.dir {
                Some(dir) => format!("{}: missing", dir.join(rel).display()),
                None => format!("data/{rel}: not embedded"),
            })),
        }
    }

    /// A helm-keys file in the override directory that no Cilium minor
    /// uses is most likely a typo: refuse it rather than ignore it.
    pub fn reject_unknown_helm_keys(&self, minors: &[Minor]) -> Result<(), KnowledgeError> {
        let Some(dir) = &self.dir else { return Ok(()) };
        let folder = dir.join(HELM_KEYS_DIR);
        if !folder.exists() {
            return Ok(());
        }
        let entries = std::fs::read_dir(&folder)
            .map_err(|e| KnowledgeError(format!("{}: {e}", folder.display())))?;
        let wanted: Vec<String> = minors.iter().map(|m| format!("{m}.txt")).collect();
        for entry in entries {
            let entry = entry.map_err(|e| KnowledgeError(format!("{}: {e}", folder.display())))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if !wanted.contains(&name) {
                return Err(KnowledgeError(format!(
                    "{}: no Cilium minor {} in {CILIUM}",
                    entry.path().display(),
                    name.trim_end_matches(".txt")
                )));
            }
        }
        Ok(())
    }
}

/// The embedded helm-keys minors, for the test that they match cilium.json.
#[cfg(test)]
pub fn embedded_helm_key_files() -> Vec<&'static str> {
    EMBEDDED
        .iter()
        .filter_map(|(name, _)| name.strip_prefix("helm-keys/"))
        .collect()
}
