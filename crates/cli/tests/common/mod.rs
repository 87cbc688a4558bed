//! Helpers shared by the integration tests that start real services (kmock,
//! `serve`) or need external tools. Each test binary uses a part of them.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStderr, Command as Process, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use assert_cmd::cargo::CommandCargoExt;

pub mod faults;

pub fn here(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

/// A bundled example snapshot (`examples/NAME`).
pub fn examples(name: &str) -> String {
    here("../../examples").join(name).display().to_string()
}

/// A fixture of the core crate (`crates/core/tests/fixtures/PATH`).
pub fn core_fixture(path: &str) -> String {
    here("../core/tests/fixtures")
        .join(path)
        .display()
        .to_string()
}

/// A scratch directory, removed when the test ends.
pub fn temp_dir(tag: &str) -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix(&format!("doctor-{tag}-"))
        .tempdir()
        .unwrap()
}

/// `eks-cilium-doctor ARGS`, without colour or the caller's kubeconfig:
/// (exit code, stdout, stderr).
pub fn doctor(args: &[&str]) -> (i32, String, String) {
    let out = Process::cargo_bin("eks-cilium-doctor")
        .unwrap()
        .args(args)
        .env("NO_COLOR", "1")
        .env_remove("KUBECONFIG")
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

/// Exit 0; stdout.
pub fn success(args: &[&str]) -> String {
    let (code, stdout, stderr) = doctor(args);
    assert_eq!(code, 0, "{args:?} failed: {stderr}");
    stdout
}

/// Exit 2 with nothing on stdout, one `error: ...` line and no panic; stderr.
pub fn usage_error(args: &[&str]) -> String {
    let (code, stdout, stderr) = doctor(args);
    assert_eq!(code, 2, "{args:?}: {stdout}{stderr}");
    assert!(stdout.is_empty(), "{args:?}: {stdout}");
    assert!(stderr.starts_with("error: "), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    stderr
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
    let kubeconfig = write_kubeconfig(dir, &url);
    Some((Service(child), url, kubeconfig))
}

/// `dir/kubeconfig`, context `kmock`, for the API server at `url`.
pub fn write_kubeconfig(dir: &Path, url: &str) -> PathBuf {
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
    kubeconfig
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
    serve_with(args, |_| {})
}

/// [`serve`], with the command adjusted first (e.g. [`isolate_aws`]).
pub fn serve_with(args: &[&str], adjust: impl FnOnce(&mut Process)) -> Server {
    let mut command = Process::cargo_bin("eks-cilium-doctor").unwrap();
    command.env_remove("KUBECONFIG");
    adjust(&mut command);
    let mut child = command
        .arg("serve")
        .args(args)
        .args(["--listen", "127.0.0.1:0"])
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

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A moto server with the AWS-managed policies loaded, and the test cluster in it.
pub fn moto() -> Option<(Service, String)> {
    if !available("python3", &["-c", "import moto.server, boto3"]) {
        return None;
    }
    let port = free_port();
    let child = Process::new("python3")
        .args([
            "-m",
            "moto.server",
            "-H",
            "127.0.0.1",
            "-p",
            &port.to_string(),
        ])
        .env("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start moto");
    let service = Service(child);
    let deadline = Instant::now() + Duration::from_secs(30);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "moto did not start on port {port}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let url = format!("http://127.0.0.1:{port}");
    let setup = Process::new("python3")
        .arg(here("tests/live/moto_setup.py"))
        .arg(&url)
        .output()
        .unwrap();
    assert!(
        setup.status.success(),
        "{}",
        String::from_utf8_lossy(&setup.stderr)
    );
    Some((service, url))
}

/// Only the test's AWS settings: fake credentials, no config files, no
/// instance metadata, and AWS_ENDPOINT_URL at the emulator (when given).
pub fn isolate_aws(cmd: &mut Process, endpoint: Option<&str>) {
    for (key, _) in std::env::vars() {
        if key.starts_with("AWS_") || key == "KUBECONFIG" {
            cmd.env_remove(key);
        }
    }
    cmd.env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_CONFIG_FILE", "/nonexistent")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
        .env("AWS_EC2_METADATA_DISABLED", "true");
    if let Some(endpoint) = endpoint {
        cmd.env("AWS_ENDPOINT_URL", endpoint);
    }
}
