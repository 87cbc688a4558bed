//! Agent and operator logs, recognised by their first lines (see
//! [`crate::logs::looks_like_log`]) and streamed through the signature
//! scanner: the model keeps the aggregates, never the lines.

use std::io::Read;

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

/// The first bytes of an open file, for recognition; the file reads on
/// from there.
pub(super) fn read_head(file: &mut impl Read) -> std::io::Result<Vec<u8>> {
    let mut head = Vec::with_capacity(HEAD_BYTES);
    file.take(HEAD_BYTES as u64).read_to_end(&mut head)?;
    Ok(head)
}
