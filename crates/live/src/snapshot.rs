//! What a collection gathered: one file per call, in the shapes `check`
//! reads, plus the manifest; turned into a `.tar.gz` snapshot in memory.

use std::io::Write;
use std::sync::Arc;

use doctor_core::load::{load_files, LoadError, LoadOptions, Loaded};
use doctor_core::snapshot::{CollectedFile, CollectionGap, GapKind, Manifest, MANIFEST_FILE};
use serde::Serialize;

use crate::Progress;

/// A collection in progress or done.
#[derive(Debug, Default)]
pub struct Snapshot {
    pub manifest: Manifest,
    /// `(file name, JSON bytes)`, in collection order.
    pub files: Vec<(String, Vec<u8>)>,
}

/// What one source (`kubernetes` or `aws`) gathered; progress is told
/// of every file and gap as it comes.
#[derive(Clone)]
pub struct Part {
    source: &'static str,
    progress: Arc<dyn Progress>,
    pub files: Vec<(CollectedFile, Vec<u8>)>,
    pub absent: Vec<String>,
    pub gaps: Vec<CollectionGap>,
}

impl Part {
    pub fn new(source: &'static str, progress: Arc<dyn Progress>) -> Self {
        Part {
            source,
            progress,
            files: Vec::new(),
            absent: Vec::new(),
            gaps: Vec::new(),
        }
    }

    /// Append another part of the same source (concurrent reads, merged in order).
    pub fn append(&mut self, other: Part) {
        self.files.extend(other.files);
        self.absent.extend(other.absent);
        self.gaps.extend(other.gaps);
    }

    /// Add a file holding `value` as pretty JSON (as the CLIs print it).
    pub fn put(&mut self, file: String, call: &str, items: usize, value: &impl Serialize) {
        let mut bytes = serde_json::to_vec_pretty(value).expect("JSON values always serialise");
        bytes.push(b'\n');
        let entry = CollectedFile {
            file,
            call: call.to_string(),
            items,
        };
        self.progress.collected(self.source, &entry);
        self.files.push((entry, bytes));
    }

    /// Add a file holding `bytes` as they are (log tails).
    pub fn put_bytes(&mut self, file: String, call: &str, items: usize, bytes: Vec<u8>) {
        let entry = CollectedFile {
            file,
            call: call.to_string(),
            items,
        };
        self.progress.collected(self.source, &entry);
        self.files.push((entry, bytes));
    }

    pub fn gap(&mut self, call: &str, kind: GapKind, permission: &str, message: &str) {
        let gap = CollectionGap {
            source: self.source.to_string(),
            call: call.to_string(),
            kind,
            permission: permission.to_string(),
            message: shorten(message),
        };
        self.progress.gap(&gap);
        self.gaps.push(gap);
    }
}

/// API messages can be whole HTML pages (emulators): keep one short line.
fn shorten(message: &str) -> String {
    let line = message
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("");
    match line.char_indices().nth(200) {
        Some((at, _)) => format!("{}…", &line[..at]),
        None => line.to_string(),
    }
}

impl Snapshot {
    /// An empty snapshot whose manifest names this tool and the time now.
    pub fn new() -> Snapshot {
        Snapshot {
            manifest: Manifest {
                format: 1,
                tool: format!("eks-cilium-doctor {}", env!("CARGO_PKG_VERSION")),
                collected_at: now_rfc3339(),
                ..Manifest::default()
            },
            files: Vec::new(),
        }
    }

    pub fn add(&mut self, part: Part) {
        for (entry, bytes) in part.files {
            self.files.push((entry.file.clone(), bytes));
            self.manifest.files.push(entry);
        }
        self.manifest.absent.extend(part.absent);
        self.manifest.gaps.extend(part.gaps);
    }

    /// The manifest, then every file: `(name, bytes)`.
    fn entries<'a>(&'a self, manifest: &'a [u8]) -> impl Iterator<Item = (&'a str, &'a [u8])> {
        std::iter::once((MANIFEST_FILE, manifest))
            .chain(self.files.iter().map(|(n, b)| (n.as_str(), b.as_slice())))
    }

    fn manifest_json(&self) -> std::io::Result<Vec<u8>> {
        serde_json::to_vec_pretty(&self.manifest).map_err(std::io::Error::other)
    }

    /// Load the snapshot where it is, in memory, through the loaders its
    /// `.tar.gz` would go through (files named `live!FILE`), under the
    /// per-file and total-input limits of files on disk.
    pub fn load(&self, options: &LoadOptions) -> Result<Loaded, LoadError> {
        let manifest = self.manifest_json().map_err(|e| LoadError::Io {
            path: format!("live!{MANIFEST_FILE}"),
            message: e.to_string(),
        })?;
        load_files("live", self.entries(&manifest), options)
    }

    /// The snapshot as `.tar.gz` bytes: the manifest first, then every file.
    pub fn to_tar_gz(&self) -> std::io::Result<Vec<u8>> {
        let encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        let mut tar = tar::Builder::new(encoder);
        let manifest = self.manifest_json()?;
        let mtime = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        for (name, bytes) in self.entries(&manifest) {
            let mut header = tar::Header::new_gnu();
            header.set_size(bytes.len() as u64);
            header.set_mode(0o644);
            header.set_mtime(mtime);
            header.set_entry_type(tar::EntryType::Regular);
            tar.append_data(&mut header, name, bytes)?;
        }
        let mut encoder = tar.into_inner()?;
        encoder.flush()?;
        encoder.finish()
    }
}

/// Now as RFC 3339 UTC (`2026-11-26T05:01:51Z`).
pub fn now_rfc3339() -> String {
    rfc3339(std::time::SystemTime::now())
}

/// A time as RFC 3339 UTC, to the second.
pub fn rfc3339(time: std::time::SystemTime) -> String {
    let secs = time
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let date = doctor_core::version::Date::from_days_since_epoch((secs / 86_400) as i64);
    let day = secs % 86_400;
    format!(
        "{date}T{:02}:{:02}:{:02}Z",
        day / 3600,
        day % 3600 / 60,
        day % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_one_short_line() {
        assert_eq!(shorten("\n  <html>\n<body>x"), "<html>");
        assert_eq!(shorten(&"a".repeat(300)).chars().count(), 201);
    }

    /// The demo's files as a live collection, plus one a loader skips.
    fn demo() -> Snapshot {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/demo");
        let mut names: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        let mut snapshot = Snapshot::new();
        for name in names {
            let bytes = std::fs::read(dir.join(&name)).unwrap();
            snapshot.files.push((name, bytes));
        }
        snapshot
            .files
            .push(("notes.txt".into(), b"not a dump".to_vec()));
        snapshot.manifest.gaps.push(CollectionGap {
            source: "aws".into(),
            call: "eks:ListAddons".into(),
            kind: GapKind::Denied,
            permission: "eks:ListAddons".into(),
            message: "AccessDenied".into(),
        });
        snapshot
    }

    #[test]
    fn loads_in_memory_as_its_archive_loads() {
        let snapshot = demo();
        let options = LoadOptions::default();
        let in_memory = snapshot.load(&options).unwrap();
        let archive = snapshot.to_tar_gz().unwrap();
        let unpacked = doctor_core::load::load_bytes("live", &archive, &options).unwrap();
        assert!(in_memory
            .cluster
            .pods
            .as_ref()
            .is_some_and(|p| !p.is_empty()));
        assert_eq!(in_memory.cluster.collection_gaps.len(), 1);
        assert_eq!(
            format!("{:?}", in_memory.cluster),
            format!("{:?}", unpacked.cluster)
        );
        assert_eq!(
            format!("{:?}", in_memory.skipped),
            format!("{:?}", unpacked.skipped)
        );
        assert!(
            in_memory.skipped.iter().any(|s| s.path == "live!notes.txt"),
            "{:?}",
            in_memory.skipped
        );
    }

    #[test]
    fn timestamps_are_rfc3339() {
        let now = now_rfc3339();
        assert_eq!(now.len(), 20, "{now}");
        assert!(now.ends_with('Z') && now.as_bytes()[10] == b'T');
    }
}
