//! Running the external validators (promtool, parliament) from tests: they
//! are required under CI, where a missing one fails the test, and optional
//! elsewhere, where the test says it is skipped and why.

use std::io::Write;
use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Where `scripts/test.sh` installs the Python validators.
fn workspace_bin(program: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../target/validators/bin")
        .join(program)
}

/// The command to run `program`: from PATH, else from the workspace venv.
/// `None` (with a skip message) when neither runs outside CI; a panic
/// under CI.
pub fn tool(program: &str, install: &str) -> Option<PathBuf> {
    let candidates = [PathBuf::from(program), workspace_bin(program)];
    let runs = |p: &PathBuf| {
        Command::new(p)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if let Some(found) = candidates.into_iter().find(runs) {
        return Some(found);
    }
    if std::env::var_os("CI").is_some() {
        panic!("{program} is not installed, and CI is set so this test must run: {install}");
    }
    // Written to stderr directly: libtest would swallow an eprintln! of a
    // passing test, and a skip must be seen.
    let _ = writeln!(
        std::io::stderr(),
        "skipped: {program} is not installed ({install}; scripts/test.sh does it)"
    );
    None
}

/// A scratch directory removed when dropped.
pub struct Scratch(pub PathBuf);

impl Scratch {
    pub fn new(name: &str) -> Scratch {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "eks-cilium-doctor-{name}-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }

    pub fn write(&self, rel: &str, text: &str) -> PathBuf {
        let path = self.0.join(rel);
        std::fs::write(&path, text).unwrap();
        path
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Runs `command` and returns (success, stdout + stderr).
pub fn run(command: &mut Command) -> (bool, String) {
    let out = command.output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}
