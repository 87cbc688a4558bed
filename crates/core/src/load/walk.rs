//! The walk over inputs: paths, directories (sorted, symbolic links to
//! directories not followed), standard input, archives, and the content
//! recognition of every non-archive input, which hands each to its format's
//! parser. It feeds the model builder ([`Loader`]); nothing below it calls
//! back up here (archives get [`load_content`] to read their members).

use std::io::Read;
use std::path::{Path, PathBuf};

use super::error::{malformed, LoadError};
use super::loader::Loader;
use super::{
    archive, cilium_text, detect, iproute, json, junit, limits, logs, prometheus, stream, yaml,
};
use crate::findings::InputNote;
use crate::model;

fn is_device(meta: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::FileTypeExt;
    meta.file_type().is_char_device() || meta.file_type().is_block_device()
}

/// A terminal is a device one may type a dump into (`check /dev/tty`).
fn is_terminal(path: &Path) -> bool {
    std::fs::File::open(path).is_ok_and(|f| std::io::IsTerminal::is_terminal(&f))
}

/// Load a path; `explicit` paths (given by the user) are followed even
/// when they are pipes (`<(kubectl …)`) or symbolic links to directories.
pub(super) fn load_path(loader: &mut Loader, path: &Path, explicit: bool) -> Result<(), LoadError> {
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
            loader.inputs_seen += 1;
            let why = if e.kind() == std::io::ErrorKind::NotFound {
                "dangling symbolic link (its target does not exist)".to_string()
            } else {
                format!("symbolic link not followed: {e}")
            };
            loader.skip(&shown, why);
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
            loader.skip(&shown, "symbolic link to a directory: not followed");
            return Ok(());
        }
        let mut entries: Vec<PathBuf> = std::fs::read_dir(path)
            .map_err(io)?
            .map(|e| e.map(|e| e.path()))
            .collect::<Result<_, _>>()
            .map_err(io)?;
        entries.sort();
        for entry in entries {
            load_path(loader, &entry, false)?;
        }
        return Ok(());
    }
    if !meta.is_file() && !explicit {
        loader.skip(&shown, "not a regular file (device, socket or pipe)");
        return Ok(());
    }
    if meta.is_file() && meta.len() > loader.options.max_file_bytes {
        loader.inputs_seen += 1;
        loader.skip(
            &shown,
            format!(
                "file is {} bytes, over the {} byte limit",
                meta.len(),
                loader.options.max_file_bytes
            ),
        );
        return Ok(());
    }
    if meta.is_file() && !within_total(loader, &shown, meta.len()) {
        return Ok(());
    }
    if !meta.is_file() {
        // A pipe (`<(kubectl …)`): streamed, stopped early when binary.
        let file = std::fs::File::open(path).map_err(io)?;
        return load_reader(loader, &shown, file);
    }
    load_regular_file(loader, path, &shown, meta.len())
}

/// A regular file, opened once: its head tells a Cilium log (scanned from
/// there, whatever its size) from a dump (streamed when big, else read
/// whole). Only a big file the streaming parser refuses is read again, by
/// the ordinary loader, which says why.
fn load_regular_file(
    loader: &mut Loader,
    path: &Path,
    shown: &str,
    len: u64,
) -> Result<(), LoadError> {
    let io = |e: std::io::Error| LoadError::Io {
        path: shown.to_string(),
        message: e.to_string(),
    };
    let mut file = std::fs::File::open(path).map_err(io)?;
    let head = logs::read_head(&mut file).map_err(io)?;
    let cap = loader.options.max_file_bytes;
    if crate::logs::looks_like_log(&head) {
        loader.inputs_seen += 1;
        let rest = file.take(cap.saturating_sub(head.len() as u64));
        return logs::load_log(loader, shown, std::io::Cursor::new(head).chain(rest));
    }
    // One byte over the limit tells a file that grew since it was sized.
    let rest = file.take(cap.saturating_add(1).saturating_sub(head.len() as u64));
    let bytes = if len >= loader.stream_min_bytes {
        if stream::load_file(loader, std::io::Cursor::new(head).chain(rest), shown)? {
            return Ok(());
        }
        read_file(loader, path, shown)?
    } else {
        let mut bytes = head;
        bytes.reserve(
            usize::try_from(len)
                .unwrap_or(0)
                .saturating_sub(bytes.len()),
        );
        let mut rest = rest;
        rest.read_to_end(&mut bytes).map_err(io)?;
        if bytes.len() as u64 > cap {
            return Err(LoadError::Io {
                path: shown.to_string(),
                message: format!("larger than the {cap} byte limit"),
            });
        }
        bytes
    };
    loader.inputs_seen += 1;
    load_bytes(loader, shown, &bytes)
}

/// One input already in memory: skipped with the reason when over the
/// per-file or the total-input limit, else loaded as a file's bytes.
pub(super) fn load_in_memory(
    loader: &mut Loader,
    source: &str,
    bytes: &[u8],
) -> Result<(), LoadError> {
    let len = bytes.len() as u64;
    if len > loader.options.max_file_bytes {
        loader.skip(
            source,
            format!(
                "input is {len} bytes, over the {} byte limit",
                loader.options.max_file_bytes
            ),
        );
        return Ok(());
    }
    if !within_total(loader, source, len) {
        return Ok(());
    }
    load_bytes(loader, source, bytes)
}

/// Count `len` more bytes of input; false (and the input skipped) when
/// that would pass [`LoadOptions::max_total_bytes`].
fn within_total(loader: &mut Loader, shown: &str, len: u64) -> bool {
    let total = loader.total_bytes.saturating_add(len);
    if total > loader.options.max_total_bytes {
        loader.inputs_seen += 1;
        loader.skip(
            shown,
            format!(
                "{len} bytes more would take the inputs over the {} byte total-input limit ({} bytes read before it)",
                loader.options.max_total_bytes, loader.total_bytes
            ),
        );
        return false;
    }
    loader.total_bytes = total;
    true
}

/// One read per file; pipes are read up to the size limit.
pub(super) fn read_file(loader: &Loader, path: &Path, shown: &str) -> Result<Vec<u8>, LoadError> {
    let io = |e: std::io::Error| LoadError::Io {
        path: shown.to_string(),
        message: e.to_string(),
    };
    let file = std::fs::File::open(path).map_err(io)?;
    let hint = file.metadata().map(|m| m.len()).unwrap_or(0);
    match limits::read_capped(file, loader.options.max_file_bytes, hint).map_err(io)? {
        limits::Capped::Read(bytes) => Ok(bytes),
        limits::Capped::Over => Err(LoadError::Io {
            path: shown.to_string(),
            message: format!(
                "larger than the {} byte limit",
                loader.options.max_file_bytes
            ),
        }),
    }
}

pub(super) fn load_stdin(loader: &mut Loader) -> Result<(), LoadError> {
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
    load_reader(loader, "<stdin>", stdin.lock())
}

/// A stream (standard input): read up to the file size limit.
pub(super) fn load_reader(
    loader: &mut Loader,
    source: &str,
    reader: impl std::io::Read,
) -> Result<(), LoadError> {
    let capped =
        limits::read_stream(reader, loader.options.max_file_bytes).map_err(|e| LoadError::Io {
            path: source.into(),
            message: e.to_string(),
        })?;
    loader.inputs_seen += 1;
    let capped = match capped {
        limits::Streamed::Binary(why) => {
            loader.skip(source, format!("{why}: not read further"));
            return Ok(());
        }
        limits::Streamed::Capped(capped) => capped,
    };
    match capped {
        limits::Capped::Read(bytes) => {
            if !within_total(loader, source, bytes.len() as u64) {
                return Ok(());
            }
            load_bytes(loader, source, &bytes)
        }
        limits::Capped::Over => {
            loader.skip(
                source,
                format!("over the {} byte limit", loader.options.max_file_bytes),
            );
            Ok(())
        }
    }
}

/// A whole input: an archive (by magic bytes) or one content.
pub(super) fn load_bytes(loader: &mut Loader, source: &str, bytes: &[u8]) -> Result<(), LoadError> {
    if detect::is_archive(bytes) {
        return archive::load(loader, source, bytes, load_content);
    }
    load_content(loader, source, bytes)
}

/// One non-archive input, recognised by its content.
pub(super) fn load_content(
    loader: &mut Loader,
    source: &str,
    bytes: &[u8],
) -> Result<(), LoadError> {
    if crate::logs::looks_like_log(logs::head(bytes)) {
        return logs::load_log(loader, source, bytes);
    }
    loader.begin_input(source);
    let outer = std::mem::take(&mut loader.tally);
    let result = dispatch(loader, source, bytes);
    let tally = std::mem::replace(&mut loader.tally, outer);
    result?;
    if let Some(hash) = loader.pending_content.take() {
        if tally.used > 0 {
            loader
                .contents
                .entry(hash)
                .or_insert_with(|| source.to_string());
        }
    }
    loader.account(source, &tally);
    Ok(())
}

fn dispatch(loader: &mut Loader, source: &str, bytes: &[u8]) -> Result<(), LoadError> {
    // UTF-16/UTF-32 with a byte order mark (PowerShell 5's `>`).
    match detect::decode_bom(bytes) {
        Some(Ok(text)) => return dispatch(loader, source, text.as_bytes()),
        Some(Err(why)) => {
            loader.tally.note(why);
            return Ok(());
        }
        None => {}
    }
    let text = match detect::text(bytes) {
        Ok(text) => text,
        Err(why) => {
            loader.tally.note(why);
            return Ok(());
        }
    };
    match detect::content(text) {
        detect::Content::Empty => loader.tally.note("empty"),
        detect::Content::Json => {
            if first_copy(loader, source, bytes) {
                json::load(loader, source, text)?;
            }
        }
        detect::Content::GoVersionInfo => {
            let set = match cilium_text::parse_go_version_info(text) {
                Some(version) => loader.set_server_version(version),
                None => Err("Go `version.Info{…}` text without a GitVersion".into()),
            };
            if let Err(why) = set {
                loader.tally.note(why);
            }
        }
        detect::Content::CiliumStatus => {
            let report = cilium_text::parse_status(source, text);
            model::extend(&mut loader.cluster.cilium_status, [report]);
            loader.tally.used += 1;
        }
        detect::Content::CiliumHealth => {
            let report = cilium_text::parse_health(source, text);
            model::extend(&mut loader.cluster.cilium_health, [report]);
            loader.tally.used += 1;
        }
        detect::Content::Junit => match junit::parse(source, text) {
            Ok(report) => {
                model::extend(&mut loader.cluster.connectivity_tests, [report]);
                loader.tally.used += 1;
            }
            Err(why) => loader.tally.note(why),
        },
        detect::Content::FailedCommand(line) => loader
            .tally
            .note(format!("capture of a failed command ({line})")),
        detect::Content::Prometheus => {
            // Two agents never expose byte-identical counters: a copy.
            if !first_copy(loader, source, bytes) {
                return Ok(());
            }
            let samples = prometheus::parse(source, text)
                .map_err(|e| malformed(source, Some(format!("line {}", e.line)), e.message))?;
            if samples.kept.is_empty() {
                loader.tally.note(format!(
                    "Prometheus text without cilium_*/hubble_* samples ({} other samples)",
                    samples.dropped
                ));
            } else {
                model::extend(&mut loader.cluster.metrics, samples.kept);
                loader.tally.used += 1;
            }
        }
        detect::Content::IpRules => {
            let list = iproute::parse_rules(source, text);
            model::extend(&mut loader.cluster.ip_rules, [list]);
            loader.tally.used += 1;
        }
        detect::Content::IpRoutes => {
            let list = iproute::parse_routes(source, text);
            model::extend(&mut loader.cluster.ip_routes, [list]);
            loader.tally.used += 1;
        }
        detect::Content::Text { kube_like } => {
            if first_copy(loader, source, bytes) {
                yaml::load(loader, source, text, kube_like)?;
            }
        }
    }
    Ok(())
}

/// False (and a note) when a JSON, YAML or metrics input is byte for
/// byte one already read and used: a dump given twice. `cilium status`
/// outputs of two healthy agents can be identical, so they are never
/// merged. An unrecognised input is read (and skipped) every time.
fn first_copy(loader: &mut Loader, source: &str, bytes: &[u8]) -> bool {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    bytes.hash(&mut hasher);
    let hash = hasher.finish();
    if let Some(first) = loader.contents.get(&hash) {
        loader.notes.push(InputNote {
            path: source.to_string(),
            note: format!("the same content as {first}: read once"),
        });
        // Not a skip: the input was recognised, its objects are in.
        loader.tally.used += 1;
        return false;
    }
    loader.pending_content = Some(hash);
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::LoadOptions;

    #[test]
    fn standard_input_is_content_recognised_like_a_file() {
        let options = LoadOptions::default();
        let mut loader = Loader::new(&options);
        let pods = br#"{"kind":"PodList","items":[{"metadata":{"name":"a"}}]}"#;
        load_reader(&mut loader, "<stdin>", &pods[..]).unwrap();
        load_reader(&mut loader, "<stdin>", &b""[..]).unwrap();
        assert_eq!(loader.inputs_seen, 2);
        let loaded = loader.finish(None);
        assert_eq!(loaded.cluster.pods.unwrap().len(), 1);
        assert_eq!(loaded.skipped[0].path, "<stdin>");
        assert_eq!(loaded.skipped[0].reason, "empty");

        let small = LoadOptions {
            max_file_bytes: 4,
            ..LoadOptions::default()
        };
        let mut loader = Loader::new(&small);
        load_reader(&mut loader, "<stdin>", &pods[..]).unwrap();
        assert!(loader.finish(None).skipped[0].reason.contains("byte limit"));
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
        load_reader(&mut loader, "<stdin>", &node[..]).unwrap();
        load_reader(
            &mut loader,
            "<stdin>",
            &br#"{"kind":"Node","metadata":{"name":"b"}}"#[..],
        )
        .unwrap();
        load_reader(
            &mut loader,
            "<stdin>",
            &br#"{"kind":"Node","metadata":{"name":"c"}}"#[..],
        )
        .unwrap();
        assert_eq!(loader.total_bytes, 2 * node.len() as u64);
        let loaded = loader.finish(None);
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
        load_reader(&mut loader, "manifest.json", &manifest[..]).unwrap();
        let loaded = loader.finish(None);
        assert!(loaded.skipped.is_empty(), "{:?}", loaded.skipped);
        let gaps = &loaded.cluster.collection_gaps;
        assert_eq!(gaps.len(), 1);
        assert_eq!(
            gaps[0].describe(),
            "eks:ListAddons (denied; grant eks:ListAddons): not authorized"
        );
    }
}
