//! Helpers shared by the integration tests that start real services (kmock,
//! `serve`) or need external tools. Each test binary uses a part of them.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStderr, Command as Process, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use assert_cmd::cargo::CommandCargoExt;

pub fn here(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

/// Whether a tool runs (`program probe...` succeeds); under CI its absence
/// fails the test instead of skipping it.
pub fn available(program: &str, probe: &[&str]) -> bool {
    let found = Process::new(program)
        .args(probe)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !found {
        assert!(
            std::env::var_os("CI").is_none(),
            "{program} {probe:?} failed: scripts/test.sh installs it"
        );
        eprintln!("SKIPPED: {program} {probe:?} failed (bash scripts/test.sh installs it)");
    }
    found
}

/// A child process killed when dropped.
pub struct Service(pub Child);

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// kmock (PyPI) serving the objects of `examples/demo` through
/// `tests/live/kmock_server.py` (with its `extra` flags), and a kubeconfig
/// for it in `dir`: (the process, its URL, the kubeconfig's path).
pub fn kmock(dir: &Path, extra: &[&str]) -> Option<(Service, String, PathBuf)> {
    if !available("python3", &["-c", "import kmock"]) {
        return None;
    }
    let mut child = Process::new("python3")
        .arg(here("tests/live/kmock_server.py"))
        .arg(here("../../examples/demo"))
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start kmock");
    let mut url = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut url)
        .unwrap();
    let url = url.trim().to_string();
    assert!(
        url.starts_with("http://127.0.0.1:"),
        "kmock printed {url:?}"
    );
    let kubeconfig = dir.join("kubeconfig");
    std::fs::write(
        &kubeconfig,
        format!(
            "apiVersion: v1\nkind: Config\ncurrent-context: kmock\n\
             clusters:\n- name: kmock\n  cluster:\n    server: {url}\n\
             users:\n- name: doctor\n  user:\n    token: test-token\n\
             contexts:\n- name: kmock\n  context:\n    cluster: kmock\n    user: doctor\n"
        ),
    )
    .unwrap();
    Some((Service(child), url, kubeconfig))
}

/// A running `serve`.
pub struct Server {
    pub child: Service,
    pub url: String,
    /// The rest of stderr, line by line.
    pub log: mpsc::Receiver<String>,
}

/// `serve ARGS --listen 127.0.0.1:0`; its base URL, read from stderr.
pub fn serve(args: &[&str]) -> Server {
    let mut child = Process::cargo_bin("eks-cilium-doctor")
        .unwrap()
        .arg("serve")
        .args(args)
        .args(["--listen", "127.0.0.1:0"])
        .env_remove("KUBECONFIG")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let log = lines(child.stderr.take().unwrap());
    let first = log.recv_timeout(Duration::from_secs(30)).unwrap();
    let url = first
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("first stderr line: {first:?}"))
        .to_string();
    Server {
        child: Service(child),
        url,
        log,
    }
}

fn lines(stderr: ChildStderr) -> mpsc::Receiver<String> {
    let (send, receive) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            if send.send(line).is_err() {
                break;
            }
        }
    });
    receive
}
