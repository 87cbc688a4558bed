//! Writing `--output FILE` (every command that writes a report or a
//! snapshot goes through [`write_output`]):
//! - `-`, `/dev/stdout` (and `/dev/fd/1`, `/proc/self/fd/1`) write to
//!   standard output, `/dev/stderr` to standard error;
//! - character devices (`/dev/null`) and FIFOs are written through, never
//!   replaced;
//! - a regular file (or none yet) is replaced atomically: a temporary file
//!   in the same directory, fsync, rename. Readers see the old content or
//!   the whole new one, never half a report. A symbolic link is followed
//!   (the link stays, its target is replaced), an existing file keeps its
//!   mode (and, where allowed, its owner), and SIGINT/SIGTERM/SIGHUP
//!   between creating and renaming the temporary file remove it;
//! - targets that cannot be written safely are refused with the reason:
//!   directories, block devices, sockets, files with other hard links
//!   (replacing one name would leave the others with the old content),
//!   symbolic link loops.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{FileTypeExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

/// Mode of a report file created anew (the umask applies).
pub const REPORT_MODE: u32 = 0o666;
/// Mode of a snapshot created anew: it holds the whole cluster's state.
pub const PRIVATE_MODE: u32 = 0o600;

/// Where [`write_output`] put the bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Written {
    Stdout,
    Stderr,
    /// A device or FIFO, written through.
    Through(PathBuf),
    /// A regular file, replaced (or created) atomically; the path is the
    /// final one, after following symbolic links.
    File(PathBuf),
}

/// Write `bytes` to `path` as the module documentation says; `new_mode`
/// is the mode of a file created anew. Errors name the path.
pub fn write_output(path: &Path, bytes: &[u8], new_mode: u32) -> io::Result<Written> {
    let named = |e: io::Error| io::Error::new(e.kind(), format!("{}: {e}", path.display()));
    match std_stream(path) {
        Some(Stream::Stdout) => {
            return write_stream(io::stdout().lock(), bytes)
                .map(|()| Written::Stdout)
                .map_err(named)
        }
        Some(Stream::Stderr) => {
            return write_stream(io::stderr().lock(), bytes)
                .map(|()| Written::Stderr)
                .map_err(named)
        }
        None => {}
    }
    let existing = match fs::metadata(path) {
        Ok(meta) => Some(meta),
        Err(e) if e.kind() == io::ErrorKind::NotFound => None,
        Err(e) => return Err(named(e)),
    };
    if let Some(meta) = &existing {
        let kind = meta.file_type();
        if kind.is_char_device() || kind.is_fifo() {
            let mut file = OpenOptions::new().write(true).open(path).map_err(named)?;
            file.write_all(bytes).map_err(named)?;
            return Ok(Written::Through(path.to_path_buf()));
        }
        let refuse = |why: String| Err(named(io::Error::new(io::ErrorKind::InvalidInput, why)));
        if kind.is_dir() {
            return refuse("is a directory: give a file name".into());
        }
        if kind.is_block_device() {
            return refuse("is a block device: not written".into());
        }
        if !kind.is_file() {
            return refuse("is a socket or other special file: not written".into());
        }
        if meta.nlink() > 1 {
            return refuse(format!(
                "has {} hard links: replacing it would leave the other names with the old \
                 content; write to another file",
                meta.nlink()
            ));
        }
    }
    let target = resolve(path).map_err(named)?;
    replace(&target, bytes, existing.as_ref(), new_mode).map_err(named)?;
    Ok(Written::File(target))
}

/// [`write_output`] with the report mode, kept for callers that only write
/// regular files.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> io::Result<()> {
    write_output(path, bytes, REPORT_MODE).map(|_| ())
}

enum Stream {
    Stdout,
    Stderr,
}

fn std_stream(path: &Path) -> Option<Stream> {
    match path.to_str()? {
        "-" | "/dev/stdout" | "/dev/fd/1" | "/proc/self/fd/1" => Some(Stream::Stdout),
        "/dev/stderr" | "/dev/fd/2" | "/proc/self/fd/2" => Some(Stream::Stderr),
        _ => None,
    }
}

/// A reader that went away (`| head`) is not an error worth a message.
fn write_stream(mut out: impl Write, bytes: &[u8]) -> io::Result<()> {
    match out.write_all(bytes).and_then(|()| out.flush()) {
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        other => other,
    }
}

/// The file a chain of symbolic links ends at (which may not exist yet:
/// a dangling link is written through, as a shell's `>` would).
fn resolve(path: &Path) -> io::Result<PathBuf> {
    let mut at = path.to_path_buf();
    for _ in 0..40 {
        match fs::symlink_metadata(&at) {
            Ok(meta) if meta.file_type().is_symlink() => {
                let next = fs::read_link(&at)?;
                at = if next.is_absolute() {
                    next
                } else {
                    parent(&at).join(next)
                };
            }
            Ok(_) => return Ok(at),
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(at),
            Err(e) => return Err(e),
        }
    }
    Err(io::Error::other("too many levels of symbolic links"))
}

fn parent(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// Temporary file, fsync, rename over `target`; the temporary file is
/// removed on any error and on SIGINT/SIGTERM/SIGHUP meanwhile.
fn replace(
    target: &Path,
    bytes: &[u8],
    existing: Option<&fs::Metadata>,
    new_mode: u32,
) -> io::Result<()> {
    let name = target
        .file_name()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "not a file name"))?;
    let dir = parent(target);
    let mode = existing.map_or(new_mode, |m| m.mode() & 0o7777);
    let (tmp, mut file) = create_temp(dir, &name.to_string_lossy(), mode)?;
    let guard = signal::RemoveOnSignal::new(&tmp);
    let written = (|| {
        if let Some(meta) = existing {
            // The umask applied at creation: set the old mode exactly,
            // and the old owner where allowed (root), best effort.
            file.set_permissions(fs::Permissions::from_mode(mode))?;
            let _ = std::os::unix::fs::fchown(&file, Some(meta.uid()), Some(meta.gid()));
        }
        file.write_all(bytes)?;
        file.sync_all()?;
        hold_for_tests();
        fs::rename(&tmp, target)
    })();
    drop(guard);
    if let Err(e) = written {
        let _ = fs::remove_file(&tmp);
        return Err(e);
    }
    sync_dir(dir);
    Ok(())
}

/// `EKS_CILIUM_DOCTOR_TEST_HOLD_OUTPUT_MS`: the tests' window between
/// creating the temporary file and renaming it (to send a signal there).
fn hold_for_tests() {
    if let Some(ms) = std::env::var("EKS_CILIUM_DOCTOR_TEST_HOLD_OUTPUT_MS")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
    {
        std::thread::sleep(std::time::Duration::from_millis(ms.min(60_000)));
    }
}

/// A new, uniquely named file next to the target. `create_new` never
/// opens a file someone else made, so a stale or hostile one is skipped.
fn create_temp(dir: &Path, name: &str, mode: u32) -> io::Result<(PathBuf, File)> {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    loop {
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let tmp = dir.join(format!(".{name}.{}.{n}.tmp", std::process::id()));
        match OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode)
            .open(&tmp)
        {
            Ok(file) => return Ok((tmp, file)),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
}

/// Persist the rename itself. Best effort: the new content is complete
/// either way, only durability across a power cut depends on this.
fn sync_dir(dir: &Path) {
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
}

/// Removing the temporary file when the process is told to stop.
mod signal {
    use std::ffi::CString;
    use std::os::unix::ffi::OsStrExt;
    use std::path::Path;
    use std::sync::atomic::{AtomicPtr, Ordering};

    const SIGNALS: [libc::c_int; 3] = [libc::SIGINT, libc::SIGTERM, libc::SIGHUP];

    /// The temporary file to unlink from the handler (async-signal-safe:
    /// one atomic load and `unlink`). Paths are leaked on purpose: a
    /// handler running on another thread may still hold the pointer.
    static TEMP: AtomicPtr<libc::c_char> = AtomicPtr::new(std::ptr::null_mut());

    extern "C" fn on_signal(signal: libc::c_int) {
        let path = TEMP.load(Ordering::SeqCst);
        // SAFETY: `path` is null or a leaked, NUL-terminated CString;
        // unlink, signal and raise are async-signal-safe.
        unsafe {
            if !path.is_null() {
                libc::unlink(path);
            }
            libc::signal(signal, libc::SIG_DFL);
            libc::raise(signal);
        }
    }

    /// While alive, the three signals remove the file, then do what they
    /// would have done (end the process). Signals the process ignores or
    /// handles itself are left alone.
    pub(super) struct RemoveOnSignal {
        installed: Vec<(libc::c_int, libc::sigaction)>,
    }

    impl RemoveOnSignal {
        pub(super) fn new(path: &Path) -> RemoveOnSignal {
            let Ok(path) = CString::new(path.as_os_str().as_bytes()) else {
                return RemoveOnSignal {
                    installed: Vec::new(),
                };
            };
            TEMP.store(path.into_raw(), Ordering::SeqCst);
            let mut installed = Vec::new();
            for signal in SIGNALS {
                // SAFETY: plain sigaction calls with zeroed, then filled, structs.
                unsafe {
                    let mut old: libc::sigaction = std::mem::zeroed();
                    if libc::sigaction(signal, std::ptr::null(), &mut old) != 0
                        || old.sa_sigaction != libc::SIG_DFL
                    {
                        continue;
                    }
                    let mut new: libc::sigaction = std::mem::zeroed();
                    new.sa_sigaction = on_signal as extern "C" fn(libc::c_int) as usize;
                    libc::sigemptyset(&mut new.sa_mask);
                    if libc::sigaction(signal, &new, std::ptr::null_mut()) == 0 {
                        installed.push((signal, old));
                    }
                }
            }
            RemoveOnSignal { installed }
        }
    }

    impl Drop for RemoveOnSignal {
        fn drop(&mut self) {
            for (signal, old) in &self.installed {
                // SAFETY: restores the disposition saved above.
                unsafe {
                    libc::sigaction(*signal, old, std::ptr::null_mut());
                }
            }
            TEMP.store(std::ptr::null_mut(), Ordering::SeqCst);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fresh empty directory for one test, removed on drop.
    struct TempDir(PathBuf);

    impl TempDir {
        fn new(test: &str) -> TempDir {
            let dir =
                std::env::temp_dir().join(format!("doctor-output-{test}-{}", std::process::id()));
            let _ = fs::remove_dir_all(&dir);
            fs::create_dir_all(&dir).unwrap();
            TempDir(dir)
        }

        fn entries(&self) -> Vec<String> {
            let mut names: Vec<String> = fs::read_dir(&self.0)
                .unwrap()
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect();
            names.sort();
            names
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    #[test]
    fn writes_and_replaces_leaving_no_temp_file() {
        let dir = TempDir::new("replace");
        let target = dir.0.join("report.json");
        write_atomically(&target, b"first").unwrap();
        write_atomically(&target, b"second").unwrap();
        assert_eq!(fs::read(&target).unwrap(), b"second");
        assert_eq!(dir.entries(), ["report.json"]);
    }

    #[test]
    fn missing_directory_is_an_error_and_leaves_nothing() {
        let dir = TempDir::new("missing");
        let target = dir.0.join("no-such-dir").join("report.json");
        let err = write_atomically(&target, b"x").unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::NotFound);
        assert!(err.to_string().contains("no-such-dir"), "{err}");
        assert!(dir.entries().is_empty());
    }

    #[test]
    fn a_directory_is_refused_and_left_alone() {
        let dir = TempDir::new("dir");
        let target = dir.0.join("taken");
        fs::create_dir(&target).unwrap();
        fs::write(target.join("keep"), b"k").unwrap();
        let err = write_atomically(&target, b"x").unwrap_err();
        assert!(err.to_string().contains("is a directory"), "{err}");
        assert_eq!(dir.entries(), ["taken"]);
        assert_eq!(fs::read(target.join("keep")).unwrap(), b"k");
    }

    #[test]
    fn a_path_without_file_name_is_rejected() {
        assert!(write_atomically(Path::new("/"), b"x").is_err());
    }

    #[test]
    fn links_are_followed_and_modes_kept() {
        let dir = TempDir::new("links");
        let real = dir.0.join("real.txt");
        fs::write(&real, b"old").unwrap();
        fs::set_permissions(&real, fs::Permissions::from_mode(0o600)).unwrap();
        let link = dir.0.join("link");
        std::os::unix::fs::symlink("real.txt", &link).unwrap();
        assert_eq!(
            write_output(&link, b"new", REPORT_MODE).unwrap(),
            Written::File(dir.0.join("real.txt"))
        );
        assert!(fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink());
        assert_eq!(fs::read(&real).unwrap(), b"new");
        assert_eq!(fs::metadata(&real).unwrap().mode() & 0o777, 0o600);

        let dangling = dir.0.join("dangling");
        std::os::unix::fs::symlink("made.txt", &dangling).unwrap();
        write_output(&dangling, b"made", PRIVATE_MODE).unwrap();
        assert_eq!(fs::read(dir.0.join("made.txt")).unwrap(), b"made");
        assert_eq!(
            fs::metadata(dir.0.join("made.txt")).unwrap().mode() & 0o777,
            0o600
        );

        let looping = dir.0.join("loop");
        std::os::unix::fs::symlink("loop", &looping).unwrap();
        assert!(write_output(&looping, b"x", REPORT_MODE).is_err());

        let hard = dir.0.join("hard");
        fs::hard_link(&real, &hard).unwrap();
        let err = write_output(&hard, b"x", REPORT_MODE).unwrap_err();
        assert!(err.to_string().contains("2 hard links"), "{err}");
    }
}
