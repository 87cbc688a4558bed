//! The report page in a real browser: `check --format html` on the demo,
//! served by Python's http.server, loaded in Debian's `chromium` by
//! `tests/browser/check-page.js` (playwright-core from npm, which
//! scripts/test.sh installs with `npm ci` into `target/browser-test`; no
//! downloaded browser). The script takes the page's URL, so `serve`'s tests
//! can run it against `/report` too:
//! `NODE_PATH=target/browser-test/node_modules node crates/cli/tests/browser/check-page.js URL PNG`.
//! Under CI a missing chromium, node or playwright-core fails the tests.

use std::io::Write;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use assert_cmd::cargo::CommandCargoExt;

mod common;

const AS_OF: &str = "2026-11-26";

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn runs(program: &Path, arg: &str) -> bool {
    Command::new(program)
        .arg(arg)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// What the browser check needs, or `None` (a skip, which fails under CI).
struct Browser {
    chromium: PathBuf,
    node_modules: PathBuf,
}

fn browser() -> Option<Browser> {
    let chromium = std::env::var_os("CHROMIUM").map_or("/usr/bin/chromium".into(), PathBuf::from);
    let node_modules = workspace().join("target/browser-test/node_modules");
    let missing = [
        (!runs(&chromium, "--version")).then_some("chromium (apt-get install chromium)"),
        (!runs(Path::new("node"), "--version")).then_some("node (apt-get install nodejs)"),
        (!node_modules.join("playwright-core").is_dir())
            .then_some("playwright-core (npm ci in target/browser-test)"),
        (!runs(Path::new("python3"), "--version")).then_some("python3"),
    ];
    let missing: Vec<&str> = missing.into_iter().flatten().collect();
    if missing.is_empty() {
        return Some(Browser {
            chromium,
            node_modules,
        });
    }
    if std::env::var_os("CI").is_some() {
        panic!(
            "missing {}, and CI is set so the browser test must run",
            missing.join(", ")
        );
    }
    // Straight to stderr: libtest swallows eprintln! of a passing test.
    let _ = writeln!(
        std::io::stderr(),
        "skipped: {} missing (scripts/test.sh installs them)",
        missing.join(", ")
    );
    None
}

/// Python's http.server over `dir` on a free port, stopped when dropped.
struct Server {
    child: Child,
    port: u16,
}

impl Server {
    fn start(dir: &Path) -> Server {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new("python3")
            .args([
                "-m",
                "http.server",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
            ])
            .arg("--directory")
            .arg(dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("python3 -m http.server");
        let server = Server { child, port };
        let started = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "http.server did not listen"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        server
    }

    fn url(&self, file: &str) -> String {
        format!("http://127.0.0.1:{}/{file}", self.port)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs check-page.js on `url`; (success, stdout + stderr).
fn check_page(b: &Browser, url: &str, screenshot: &Path) -> (bool, String) {
    let script = workspace().join("crates/cli/tests/browser/check-page.js");
    let out = Command::new("node")
        .arg(script)
        .arg(url)
        .arg(screenshot)
        .env("NODE_PATH", &b.node_modules)
        .env("CHROMIUM", &b.chromium)
        .output()
        .expect("node runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

/// `check examples/demo --format html` into `dir/report.html`.
fn demo_page(dir: &Path) -> PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    let page = dir.join("report.html");
    let out = Command::cargo_bin("eks-cilium-doctor")
        .unwrap()
        .arg("check")
        .arg(workspace().join("examples/demo"))
        .args(["--format", "html", "--as-of", AS_OF, "-o"])
        .arg(&page)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "the demo has high findings: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    page
}

#[test]
fn report_page_loads_filters_and_draws_in_chromium() {
    let Some(b) = browser() else {
        return;
    };
    let dir = workspace().join("target/browser");
    demo_page(&dir);
    let server = Server::start(&dir);
    let screenshot = dir.join("report.png");
    let _ = std::fs::remove_file(&screenshot);
    let (ok, output) = check_page(&b, &server.url("report.html"), &screenshot);
    assert!(ok, "browser check failed:\n{output}");
    let png = std::fs::read(&screenshot).expect("a screenshot");
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n") && png.len() > 10_000);
    let _ = writeln!(
        std::io::stderr(),
        "{output}screenshot: {}",
        screenshot.canonicalize().unwrap().display()
    );
}

/// Acceptance of `serve`: its `/report` passes the same browser check.
#[test]
fn serve_report_page_passes_the_browser_check() {
    let Some(b) = browser() else {
        return;
    };
    let demo = workspace().join("examples/demo");
    let server = common::serve(&["--from", demo.to_str().unwrap()]);
    let dir = workspace().join("target/browser");
    std::fs::create_dir_all(&dir).unwrap();
    let screenshot = dir.join("serve-report.png");
    let _ = std::fs::remove_file(&screenshot);
    // The first evaluation may still run: /readyz says when the page is there.
    let ready = format!("{}/readyz", server.url);
    let started = Instant::now();
    while !Command::new("python3")
        .args([
            "-c",
            "import sys, urllib.request; urllib.request.urlopen(sys.argv[1])",
        ])
        .arg(&ready)
        .status()
        .is_ok_and(|s| s.success())
    {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "serve never got ready"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let (ok, output) = check_page(&b, &format!("{}/report", server.url), &screenshot);
    assert!(ok, "browser check of serve's /report failed:\n{output}");
    assert!(std::fs::read(&screenshot).is_ok_and(|png| png.starts_with(b"\x89PNG")));
}

/// The check is live: a script the CSP does not allow is caught.
#[test]
fn browser_check_catches_a_script_outside_the_csp() {
    let Some(b) = browser() else {
        return;
    };
    let dir = workspace().join("target/browser-hostile");
    let page = demo_page(&dir);
    let html = std::fs::read_to_string(&page).unwrap();
    let injected = html.replacen(
        "</main>",
        "<script>document.title = 'ran'</script></main>",
        1,
    );
    assert_ne!(html, injected);
    std::fs::write(&page, injected).unwrap();
    let server = Server::start(&dir);
    let (ok, output) = check_page(&b, &server.url("report.html"), &dir.join("hostile.png"));
    assert!(
        !ok,
        "an inline script outside the CSP went unnoticed:\n{output}"
    );
    assert!(
        output.contains("Content Security Policy") || output.contains("CSP"),
        "{output}"
    );
}
