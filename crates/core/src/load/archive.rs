//! Archives, recognised by magic bytes and read in memory (nothing is ever
//! extracted to disk): `cilium sysdump` `.zip`, `.tar.gz` snapshots and
//! bugtool archives, and single gzipped files. Every member goes through
//! the same content recognition, its source named `archive!member`.
//!
//! Hostile archives are bounded by [`LoadOptions`](super::LoadOptions):
//! member count, bytes per member and in total (nested archives share
//! their parent's budget), compression ratio, nesting depth. Members with
//! `..` or absolute paths, links and special files are skipped with a
//! reason. A truncated or corrupt archive is malformed input.

use std::cell::Cell;
use std::io::{Cursor, Read};
use std::rc::Rc;

use flate2::read::MultiGzDecoder;

use super::detect::{is_archive, is_zip};
use super::error::{malformed, LoadError};
use super::limits::{self, ArchiveBudget, Capped};
use super::loader::Loader;
use super::{helm, logs};

/// How a member that is neither an archive nor Helm values is read: the
/// caller's content recognition (`walk::load_content`), passed down so this
/// module does not depend on the walk that calls it.
pub(super) type ReadContent = fn(&mut Loader, &str, &[u8]) -> Result<(), LoadError>;

/// Walk a top-level archive.
pub(super) fn load(
    loader: &mut Loader,
    source: &str,
    bytes: &[u8],
    content: ReadContent,
) -> Result<(), LoadError> {
    walk(
        loader,
        source,
        bytes,
        0,
        &mut ArchiveBudget::default(),
        content,
    )
}

fn walk(
    loader: &mut Loader,
    source: &str,
    bytes: &[u8],
    depth: u32,
    budget: &mut ArchiveBudget,
    content: ReadContent,
) -> Result<(), LoadError> {
    let files = if is_zip(bytes) {
        walk_zip(loader, source, bytes, depth, budget, content)?
    } else {
        walk_gzip(loader, source, bytes, depth, budget, content)?
    };
    if files == 0 {
        loader.skip(source, "archive holds no files");
    }
    Ok(())
}

/// Why a member path is refused (it would escape the archive's root):
/// `/x`, `C:\x`, `..` anywhere (even `a/../b`, which no tool writes).
fn unsafe_path(name: &str) -> Option<&'static str> {
    let normalized = name.replace('\\', "/");
    if normalized.starts_with('/')
        || normalized
            .split('/')
            .next()
            .is_some_and(|c| c.ends_with(':'))
    {
        return Some("absolute path");
    }
    if normalized.split('/').any(|c| c == "..") {
        return Some("path with `..`");
    }
    None
}

/// `cilium-helm-values-<ts>.yaml`: Helm values carry no marker of their own,
/// so inside an archive they are known by cilium-cli's fixed file name.
fn is_sysdump_helm_values(name: &str) -> bool {
    let file = name.rsplit('/').next().unwrap_or(name);
    file.starts_with("cilium-helm-values-") && file.ends_with(".yaml")
}

/// One member's bytes: another archive, sysdump Helm values, or content.
fn member(
    loader: &mut Loader,
    source: &str,
    name: &str,
    bytes: &[u8],
    depth: u32,
    budget: &mut ArchiveBudget,
    content: ReadContent,
) -> Result<(), LoadError> {
    if is_archive(bytes) {
        if depth + 1 > loader.options.archive_max_nesting {
            loader.skip(
                source,
                format!(
                    "archive nested deeper than {}: not opened",
                    loader.options.archive_max_nesting
                ),
            );
            return Ok(());
        }
        return walk(loader, source, bytes, depth + 1, budget, content);
    }
    if is_sysdump_helm_values(name) {
        let values = helm::parse_values(source, bytes, loader.options)?;
        loader.helm_layers.push(values);
        return Ok(());
    }
    content(loader, source, bytes)
}

/// The largest member that may still be read, and which limit sets it.
fn member_cap(loader: &Loader, budget: &ArchiveBudget, compressed: u64) -> (u64, &'static str) {
    let o = loader.options;
    let remaining = o.archive_max_total_bytes.saturating_sub(budget.bytes);
    [
        (o.archive_max_member_bytes, "over the per-member size limit"),
        (
            limits::ratio_cap(o, compressed),
            "compression ratio over the limit (zip bomb?)",
        ),
        (remaining, "over the archive's total size limit"),
    ]
    .into_iter()
    .min_by_key(|(cap, _)| *cap)
    .unwrap_or((0, ""))
}

/// Count a member against the budget; false (with a skip) when over it.
fn admit(loader: &mut Loader, source: &str, budget: &mut ArchiveBudget) -> bool {
    budget.members += 1;
    if budget.members > loader.options.archive_max_members {
        if budget.members == loader.options.archive_max_members + 1 {
            loader.skip(
                source,
                format!(
                    "archive has more than {} members: the rest are not read",
                    loader.options.archive_max_members
                ),
            );
        }
        return false;
    }
    true
}

/// Returns how many files (not directories) the archive lists.
fn walk_zip(
    loader: &mut Loader,
    source: &str,
    bytes: &[u8],
    depth: u32,
    budget: &mut ArchiveBudget,
    content: ReadContent,
) -> Result<usize, LoadError> {
    let mut zip = zip::ZipArchive::new(Cursor::new(bytes))
        .map_err(|e| malformed(source, None, format!("unreadable zip archive: {e}")))?;
    let mut files = 0;
    for index in 0..zip.len() {
        let shown = zip
            .name_for_index(index)
            .and_then(Result::ok)
            .map_or_else(|| format!("#{index}"), |n| n.into_owned());
        let member_source = format!("{source}!{shown}");
        let mut file = match zip.by_index(index) {
            Ok(file) => file,
            Err(zip::result::ZipError::UnsupportedArchive(why)) => {
                loader.skip(&member_source, format!("unsupported zip member: {why}"));
                continue;
            }
            Err(e) => {
                return Err(malformed(
                    &member_source,
                    None,
                    format!("corrupt zip member: {e}"),
                ))
            }
        };
        if file.is_dir() {
            continue;
        }
        files += 1;
        if let Some(why) = unsafe_path(&shown) {
            loader.skip(&member_source, format!("{why}: member refused"));
            continue;
        }
        if !admit(loader, source, budget) {
            break;
        }
        let (cap, why) = member_cap(loader, budget, file.compressed_size());
        let declared = file.size();
        if declared > cap {
            loader.skip(
                &member_source,
                format!("{declared} bytes uncompressed: {why}"),
            );
            continue;
        }
        // A log (every sysdump has one per Cilium container) is streamed
        // from the member, never held whole.
        let corrupt =
            |e: std::io::Error| malformed(&member_source, None, format!("corrupt zip member: {e}"));
        let mut head = Vec::with_capacity(logs::HEAD_BYTES.min(declared as usize));
        (&mut file)
            .take(logs::HEAD_BYTES as u64)
            .read_to_end(&mut head)
            .map_err(corrupt)?;
        if crate::logs::looks_like_log(&head) {
            let rest = (&mut file).take(cap.saturating_sub(head.len() as u64));
            logs::load_log(loader, &member_source, Cursor::new(head).chain(rest))?;
            budget.bytes += declared;
            continue;
        }
        let read = limits::read_capped(Cursor::new(head).chain(&mut file), cap, declared)
            .map_err(corrupt)?;
        let data = match read {
            Capped::Read(data) => data,
            Capped::Over => {
                loader.skip(
                    &member_source,
                    format!("more than {cap} bytes uncompressed: {why}"),
                );
                continue;
            }
        };
        drop(file);
        budget.bytes += data.len() as u64;
        member(
            loader,
            &member_source,
            &shown,
            &data,
            depth,
            budget,
            content,
        )?;
    }
    Ok(files)
}

/// A reader that stops at `left` bytes: the total and ratio limits of a
/// gzip stream, whose tar members are not compressed one by one.
struct LimitedStream<R> {
    inner: R,
    left: u64,
    hit: Rc<Cell<bool>>,
}

impl<R: Read> Read for LimitedStream<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.left == 0 && !buf.is_empty() {
            // Exactly at the cap is fine if the stream ends there.
            if self.inner.read(&mut [0u8])? == 0 {
                return Ok(0);
            }
            self.hit.set(true);
            return Err(std::io::Error::other("archive size limit reached"));
        }
        let want = buf
            .len()
            .min(usize::try_from(self.left).unwrap_or(usize::MAX));
        let n = self.inner.read(&mut buf[..want])?;
        self.left -= n as u64;
        Ok(n)
    }
}

fn over_limit(cap: u64) -> String {
    format!(
        "stopped after {cap} uncompressed bytes: compression ratio or archive size over the limit"
    )
}

fn walk_gzip(
    loader: &mut Loader,
    source: &str,
    bytes: &[u8],
    depth: u32,
    budget: &mut ArchiveBudget,
    content: ReadContent,
) -> Result<usize, LoadError> {
    let o = loader.options;
    let remaining = o.archive_max_total_bytes.saturating_sub(budget.bytes);
    let cap = limits::ratio_cap(o, bytes.len() as u64).min(remaining);
    let hit = Rc::new(Cell::new(false));
    let mut stream = LimitedStream {
        inner: MultiGzDecoder::new(bytes),
        left: cap,
        hit: hit.clone(),
    };
    let corrupt = |e: std::io::Error| malformed(source, None, format!("corrupt gzip stream: {e}"));
    // The first block tells a tar stream (`ustar` at byte 257, or the zero
    // block that ends an empty tar) from one gzipped file.
    let mut head = Vec::with_capacity(512);
    if let Err(e) = (&mut stream).take(512).read_to_end(&mut head) {
        if hit.get() {
            loader.skip(source, over_limit(cap));
            return Ok(1);
        }
        return Err(corrupt(e));
    }
    let is_tar =
        head.get(257..262) == Some(b"ustar") || (head.len() == 512 && head.iter().all(|b| *b == 0));
    let mut whole = Cursor::new(head).chain(stream);
    if is_tar {
        return walk_tar(loader, source, whole, depth, budget, (&hit, cap), content);
    }
    // One gzipped file is one member: the per-member limit applies.
    let member_limit = o.archive_max_member_bytes;
    let data = match limits::read_capped(&mut whole, member_limit, 0) {
        Ok(Capped::Read(data)) => data,
        Ok(Capped::Over) => {
            loader.skip(
                source,
                format!("more than {member_limit} bytes gunzipped: over the per-member size limit"),
            );
            return Ok(1);
        }
        Err(_) if hit.get() => {
            loader.skip(source, over_limit(cap));
            return Ok(1);
        }
        Err(e) => return Err(corrupt(e)),
    };
    if admit(loader, source, budget) {
        budget.bytes += data.len() as u64;
        let name = format!("{source}!(gunzipped)");
        member(loader, &name, "", &data, depth, budget, content)?;
    }
    Ok(1)
}

/// `limit`: whether the stream hit its cap, and the cap (for the message).
fn walk_tar(
    loader: &mut Loader,
    source: &str,
    stream: impl Read,
    depth: u32,
    budget: &mut ArchiveBudget,
    limit: (&Cell<bool>, u64),
    content: ReadContent,
) -> Result<usize, LoadError> {
    let (hit, cap) = limit;
    let mut files = 0;
    let mut tar = tar::Archive::new(stream);
    let corrupt = |at: &str, e: std::io::Error| {
        malformed(at, None, format!("corrupt or truncated tar.gz: {e}"))
    };
    let entries = tar.entries().map_err(|e| corrupt(source, e))?;
    for entry in entries {
        let mut entry = match entry {
            Ok(entry) => entry,
            Err(_) if hit.get() => {
                loader.skip(source, over_limit(cap));
                return Ok(files + 1);
            }
            Err(e) => return Err(corrupt(source, e)),
        };
        let name = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        let member_source = format!("{source}!{name}");
        let kind = entry.header().entry_type();
        if kind.is_dir() {
            continue;
        }
        files += 1;
        if let Some(why) = unsafe_path(&name) {
            loader.skip(&member_source, format!("{why}: member refused"));
            continue;
        }
        if kind.is_symlink() || kind.is_hard_link() {
            loader.skip(&member_source, "link: not followed");
            continue;
        }
        if !kind.is_file() {
            loader.skip(&member_source, "not a regular file");
            continue;
        }
        if !admit(loader, source, budget) {
            break;
        }
        let member_limit = loader.options.archive_max_member_bytes;
        let size = entry.size();
        if size > member_limit {
            loader.skip(
                &member_source,
                format!("{size} bytes: over the per-member size limit"),
            );
            continue;
        }
        // The header's size is untrusted: the gzip stream's own cap bounds it.
        let data = match limits::read_capped(&mut entry, member_limit, size.min(cap)) {
            Ok(Capped::Read(data)) => data,
            Ok(Capped::Over) => {
                loader.skip(&member_source, "over the per-member size limit");
                continue;
            }
            Err(_) if hit.get() => {
                loader.skip(source, over_limit(cap));
                return Ok(files);
            }
            Err(e) => return Err(corrupt(&member_source, e)),
        };
        budget.bytes += data.len() as u64;
        member(loader, &member_source, &name, &data, depth, budget, content)?;
    }
    Ok(files)
}
