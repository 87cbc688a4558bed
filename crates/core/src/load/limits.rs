//! Resource limits: every input is untrusted, so each parser runs under an
//! explicit budget (file size, YAML depth/aliases/size, archive members,
//! sizes and compression ratio). Breaching one is reported, never a crash.

use std::io::Read;

use super::detect;
use super::error::LoadOptions;

/// Files smaller than this are read whole (streaming gains nothing there).
pub(super) const STREAM_MIN_BYTES: u64 = 16 << 20;

/// Members smaller than this are never rejected for their compression ratio:
/// tiny highly repetitive files (a YAML list of identical events) compress
/// far better than the ratio, and are harmless.
pub(super) const RATIO_FLOOR_BYTES: u64 = 1024 * 1024;

/// serde-saphyr options for one YAML text of `len` bytes.
///
/// Event, node and document budgets scale with the input (a YAML node needs
/// at least one byte), so a 3,000-pod List loads while amplification can
/// only come from aliases, which have their own small budget.
pub(super) fn yaml_options(options: &LoadOptions, len: usize) -> serde_saphyr::Options {
    let alias = options.yaml_max_alias_expansion;
    let mut budget = serde_saphyr::Budget::default();
    budget.max_reader_input_bytes = Some(options.yaml_max_document_bytes);
    budget.max_depth = options.yaml_max_depth;
    budget.max_events = len
        .saturating_mul(2)
        .saturating_add(alias)
        .saturating_add(4096);
    budget.max_nodes = len.saturating_add(alias).saturating_add(4096);
    budget.max_documents = len / 4 + 16;
    budget.max_total_scalar_bytes = len.saturating_add(alias).saturating_add(4096);
    budget.max_aliases = alias;
    budget.max_recorded_anchor_events = alias;

    let mut yaml = serde_saphyr::Options::default();
    yaml.budget = Some(budget);
    yaml.alias_limits.max_total_replayed_events = alias;
    // YAML forbids duplicate keys and kubectl rejects them: so do we (with the line).
    yaml.duplicate_keys = serde_saphyr::DuplicateKeyPolicy::Error;
    yaml.non_finite_float_policy = serde_saphyr::NonFiniteFloatPolicy::PassThrough;
    yaml.with_snippet = false;
    yaml
}

/// Run a YAML parse on a thread whose stack fits `yaml_max_depth`: the
/// serde-saphyr deserializer recurses once per nesting level (tens of KiB a
/// level in debug builds), more than a 2 MiB test or worker thread holds.
pub(super) fn with_yaml_stack<T: Send>(
    options: &LoadOptions,
    parse: impl FnOnce() -> T + Send,
) -> std::io::Result<T> {
    let stack = (8 << 20) + options.yaml_max_depth.saturating_mul(128 << 10);
    std::thread::scope(|scope| {
        let handle = std::thread::Builder::new()
            .name("yaml".into())
            .stack_size(stack)
            .spawn_scoped(scope, parse)?;
        Ok(handle
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic)))
    })
}

/// Per-archive running totals (nested archives share their parent's).
#[derive(Debug, Default)]
pub(super) struct ArchiveBudget {
    pub members: usize,
    pub bytes: u64,
}

/// Why a member was not read.
pub(super) enum Capped {
    Read(Vec<u8>),
    /// More than the cap (reading stopped there).
    Over,
}

/// Read at most `cap` bytes; a longer stream is reported, not read further.
/// `expected` (a file's length, a member's declared size) sizes the buffer
/// so a big file is read in one go; it never exceeds `cap`, so a lying
/// archive header cannot make it allocate more than the limits allow.
pub(super) fn read_capped(reader: impl Read, cap: u64, expected: u64) -> std::io::Result<Capped> {
    let mut bytes = Vec::with_capacity(usize::try_from(expected.min(cap)).unwrap_or(0));
    let read = reader.take(cap.saturating_add(1)).read_to_end(&mut bytes)? as u64;
    Ok(if read > cap {
        Capped::Over
    } else {
        Capped::Read(bytes)
    })
}

/// What [`read_stream`] read.
pub(super) enum Streamed {
    Capped(Capped),
    /// The first bytes are binary and no archive: the rest is not read.
    Binary(&'static str),
}

/// Bytes looked at before a stream is read whole.
const STREAM_HEAD_BYTES: usize = 64 * 1024;

/// A stream (standard input, a pipe) read up to `cap`, unless its first
/// 64 KiB already show binary content that is no archive (`/dev/zero`,
/// `/dev/urandom` through a pipe): then it stops there.
pub(super) fn read_stream(mut reader: impl Read, cap: u64) -> std::io::Result<Streamed> {
    let mut head = Vec::with_capacity(STREAM_HEAD_BYTES);
    (&mut reader)
        .take(STREAM_HEAD_BYTES as u64)
        .read_to_end(&mut head)?;
    if !detect::is_archive(&head) && detect::decode_bom(&head).is_none() {
        if let Err(why) = detect::text_prefix(&head) {
            return Ok(Streamed::Binary(why));
        }
    }
    let expected = head.len() as u64;
    read_capped(std::io::Cursor::new(head).chain(reader), cap, expected).map(Streamed::Capped)
}

/// The largest uncompressed size accepted for `compressed` bytes.
pub(super) fn ratio_cap(options: &LoadOptions, compressed: u64) -> u64 {
    compressed
        .saturating_mul(options.archive_max_ratio)
        .max(RATIO_FLOOR_BYTES)
}
