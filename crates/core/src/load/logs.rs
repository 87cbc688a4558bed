//! Agent and operator logs, recognised by their first lines (see
//! [`crate::logs::looks_like_log`]) and streamed through the signature
//! scanner: the model keeps the aggregates, never the lines.

use std::io::Read;
use std::path::Path;

use super::error::{malformed, LoadError};
use super::loader::Loader;
use crate::findings::InputNote;
use crate::logs::{self, Catalogue, ScanLimits};

/// Bytes looked at to tell a log from other text.
pub(super) const HEAD_BYTES: usize = 64 * 1024;

/// The first bytes of an in-memory input, for recognition.
pub(super) fn head(bytes: &[u8]) -> &[u8] {
    &bytes[..bytes.len().min(HEAD_BYTES)]
}

/// Scan one log read from `reader`.
pub(super) fn load_log(
    loader: &mut Loader,
    source: &str,
    reader: impl Read,
) -> Result<(), LoadError> {
    loader.begin_input(source);
    let file = logs::scan(reader, source, Catalogue::embedded(), ScanLimits::default())
        .map_err(|e| malformed(source, None, format!("log read failed: {e}")))?;
    loader.notes.push(InputNote {
        path: source.to_string(),
        note: file.note(),
    });
    crate::model::extend(&mut loader.cluster.logs, [file]);
    loader.inputs_used += 1;
    Ok(())
}

/// A regular file that starts like a Cilium log is streamed from disk,
/// whatever its size; false when it is not a log.
pub(super) fn try_log_file(
    loader: &mut Loader,
    path: &Path,
    shown: &str,
) -> Result<bool, LoadError> {
    let io = |e: std::io::Error| LoadError::Io {
        path: shown.to_string(),
        message: e.to_string(),
    };
    let mut file = std::fs::File::open(path).map_err(io)?;
    let mut head = Vec::with_capacity(HEAD_BYTES);
    (&mut file)
        .take(HEAD_BYTES as u64)
        .read_to_end(&mut head)
        .map_err(io)?;
    if !logs::looks_like_log(&head) {
        return Ok(false);
    }
    loader.inputs_seen += 1;
    let cap = loader.options.max_file_bytes;
    let rest = file.take(cap.saturating_sub(head.len() as u64));
    load_log(loader, shown, std::io::Cursor::new(head).chain(rest))?;
    Ok(true)
}
