//! `serve` facing a hostile network (issue 18, part 4), as a process on
//! 127.0.0.1: the headers of every answer, 400 without `Host`, a
//! slowloris of 500 connections and hundreds of idle sockets under a
//! 256-descriptor limit, while `/healthz` must answer within 1 s. Loops
//! are bounded in count and time; only loopback addresses are used.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command as Process, Stdio};
use std::time::{Duration, Instant};

use assert_cmd::cargo::CommandCargoExt;

mod common;
use common::{examples, Service};

/// `serve --from examples/demo ARGS` (through `sh -c PREFIX` when given,
/// e.g. a `ulimit`): the process and its address (`127.0.0.1:PORT`).
fn serve_demo(prefix: &str, args: &[&str]) -> (Service, String) {
    let binary = Process::cargo_bin("eks-cilium-doctor")
        .unwrap()
        .get_program()
        .to_owned();
    let mut command = Process::new("sh");
    command
        .arg("-c")
        .arg(format!("{prefix} exec \"$0\" \"$@\""))
        .arg(binary)
        .args([
            "serve",
            "--from",
            &examples("demo"),
            "--listen",
            "127.0.0.1:0",
        ])
        .args(args)
        .env_remove("KUBECONFIG")
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let mut child = command.spawn().unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut first = String::new();
    stderr.read_line(&mut first).unwrap();
    // Keep draining stderr so the server never blocks on it.
    std::thread::spawn(move || std::io::copy(&mut stderr, &mut std::io::sink()));
    let address = first
        .trim()
        .strip_prefix("listening on http://")
        .unwrap_or_else(|| panic!("first stderr line: {first:?}"))
        .to_string();
    (Service(child), address)
}

/// One request on a new connection: the status line and the headers
/// (lower-cased names), or why it failed; within `timeout`.
fn request(
    address: &str,
    raw: &str,
    timeout: Duration,
) -> Result<(String, Vec<(String, String)>), String> {
    let mut stream = TcpStream::connect(address).map_err(|e| e.to_string())?;
    stream.set_read_timeout(Some(timeout)).unwrap();
    stream
        .write_all(raw.as_bytes())
        .map_err(|e| e.to_string())?;
    let mut reader = BufReader::new(stream);
    let mut status = String::new();
    reader.read_line(&mut status).map_err(|e| e.to_string())?;
    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).map_err(|e| e.to_string())?;
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        let (name, value) = line.split_once(':').unwrap_or((line, ""));
        headers.push((name.to_ascii_lowercase(), value.trim().to_string()));
    }
    Ok((status.trim_end().to_string(), headers))
}

fn get(address: &str, path: &str) -> (String, Vec<(String, String)>) {
    request(
        address,
        &format!("GET {path} HTTP/1.1\r\nHost: doctor\r\nConnection: close\r\n\r\n"),
        Duration::from_secs(10),
    )
    .unwrap_or_else(|e| panic!("GET {path}: {e}"))
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

/// `/healthz` answered 200 within 1 s, on a new connection.
fn assert_healthz_fast(address: &str, while_: &str) {
    let started = Instant::now();
    let answer = request(
        address,
        "GET /healthz HTTP/1.1\r\nHost: doctor\r\nConnection: close\r\n\r\n",
        Duration::from_secs(1),
    );
    let took = started.elapsed();
    match answer {
        Ok((status, _)) => assert!(status.contains(" 200 "), "{while_}: {status}"),
        Err(e) => panic!("{while_}: /healthz failed after {took:?}: {e}"),
    }
    assert!(
        took < Duration::from_secs(1),
        "{while_}: /healthz took {took:?}"
    );
}

fn wait_ready(address: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !get(address, "/readyz").0.contains(" 200 ") {
        assert!(Instant::now() < deadline, "not ready within 60 s");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn every_answer_carries_the_security_headers_and_host_is_required() {
    let (_server, address) = serve_demo("", &[]);
    wait_ready(&address);
    for path in [
        "/",
        "/healthz",
        "/readyz",
        "/metrics",
        "/report",
        "/api/v1/report",
        "/nope",
    ] {
        let (status, headers) = get(&address, path);
        assert_eq!(
            header(&headers, "x-content-type-options"),
            Some("nosniff"),
            "{path} {status}"
        );
        assert_eq!(
            header(&headers, "cache-control"),
            Some("no-store"),
            "{path}"
        );
        let csp = header(&headers, "content-security-policy").unwrap_or_default();
        assert!(csp.contains("frame-ancestors 'none'"), "{path}: {csp:?}");
        if path == "/report" {
            assert!(csp.contains("script-src 'sha256-"), "{csp}");
        }
    }
    for raw in [
        "GET /healthz HTTP/1.0\r\n\r\n",
        "GET /report HTTP/1.1\r\n\r\n",
    ] {
        let (status, _) = request(&address, raw, Duration::from_secs(10)).unwrap();
        assert!(status.contains(" 400 "), "{raw:?}: {status}");
    }
}

#[test]
fn a_slowloris_neither_holds_connections_nor_starves_probes() {
    let (_server, address) = serve_demo("", &["--header-timeout", "2s"]);
    wait_ready(&address);
    // 500 connections that send headers one line at a time, forever.
    let mut slow: Vec<TcpStream> = (0..500)
        .map(|_| {
            let mut s = TcpStream::connect(&address).unwrap();
            s.write_all(b"GET /report HTTP/1.1\r\nHost: doctor\r\n")
                .unwrap();
            s
        })
        .collect();
    let started = Instant::now();
    let mut rounds = 0;
    while started.elapsed() < Duration::from_secs(5) {
        for s in &mut slow {
            let _ = s.write_all(b"X-Slow: 1\r\n");
        }
        assert_healthz_fast(&address, "during the slowloris");
        rounds += 1;
        std::thread::sleep(Duration::from_millis(500));
    }
    assert!(rounds >= 5);
    // Past the header timeout the server has closed every one of them.
    let mut closed = 0;
    for s in &mut slow {
        s.set_read_timeout(Some(Duration::from_millis(200)))
            .unwrap();
        let mut buf = [0u8; 512];
        // Closed: EOF, a reset, or a 408 then EOF.
        match s.read(&mut buf) {
            Ok(_) => closed += 1,
            Err(e)
                if e.kind() != std::io::ErrorKind::WouldBlock
                    && e.kind() != std::io::ErrorKind::TimedOut =>
            {
                closed += 1
            }
            Err(_) => {}
        }
    }
    assert_eq!(
        closed,
        slow.len(),
        "connections still held after the header timeout"
    );
}

#[test]
fn idle_sockets_past_the_descriptor_limit_leave_probes_answered() {
    let (_server, address) = serve_demo("ulimit -n 256 &&", &[]);
    wait_ready(&address);
    let mut idle = Vec::new();
    for _ in 0..300 {
        if let Ok(s) = TcpStream::connect(&address) {
            idle.push(s);
        }
    }
    std::thread::sleep(Duration::from_millis(300));
    for round in 0..5 {
        assert_healthz_fast(&address, &format!("with 300 idle sockets, round {round}"));
    }
    drop(idle);
}
