//! A fault-injecting TCP proxy on 127.0.0.1 for the live tests: passes
//! bytes to an upstream (kmock), or freezes (accepts, answers nothing,
//! and stops forwarding on open connections), or answers every request
//! with one HTTP status, or fails the next N connections with a status,
//! or is down (closes every connection at once).
//! Going back to passing closes every connection, as a restarted API
//! server would. Threads stop when the proxy is dropped.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU16, AtomicU32, AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const PASS: u8 = 0;
const FREEZE: u8 = 1;
const STATUS: u8 = 2;
const DOWN: u8 = 3;

#[derive(Default)]
struct State {
    mode: AtomicU8,
    status: AtomicU16,
    fail_next: AtomicU32,
    stop: AtomicBool,
    open: Mutex<Vec<TcpStream>>,
}

pub struct FaultProxy {
    pub url: String,
    state: Arc<State>,
}

impl FaultProxy {
    /// A proxy to `upstream` (`127.0.0.1:PORT`), passing.
    pub fn start(upstream: &str) -> FaultProxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let state = Arc::new(State::default());
        let upstream = upstream.trim_start_matches("http://").to_string();
        let shared = state.clone();
        std::thread::spawn(move || accept(listener, upstream, shared));
        FaultProxy { url, state }
    }

    /// Accept connections and answer nothing, on new and open ones.
    pub fn freeze(&self) {
        self.state.mode.store(FREEZE, Ordering::SeqCst);
    }

    /// Close every connection and every new one at once, as a server
    /// that is down (watches fail instead of hanging).
    pub fn down(&self) {
        self.state.mode.store(DOWN, Ordering::SeqCst);
        self.close_all();
    }

    /// Answer every request with `code`.
    pub fn answer_all(&self, code: u16) {
        self.state.status.store(code, Ordering::SeqCst);
        self.state.mode.store(STATUS, Ordering::SeqCst);
    }

    /// Answer the first request of the next `count` connections with `code`.
    pub fn fail_next(&self, count: u32, code: u16) {
        self.state.status.store(code, Ordering::SeqCst);
        self.state.fail_next.store(count, Ordering::SeqCst);
    }

    /// Pass again; every open connection is closed first.
    pub fn pass(&self) {
        self.close_all();
        self.state.mode.store(PASS, Ordering::SeqCst);
    }

    fn close_all(&self) {
        for stream in self.state.open.lock().unwrap().drain(..) {
            let _ = stream.shutdown(Shutdown::Both);
        }
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.state.stop.store(true, Ordering::SeqCst);
        self.close_all();
    }
}

fn accept(listener: TcpListener, upstream: String, state: Arc<State>) {
    while !state.stop.load(Ordering::SeqCst) {
        let client = match listener.accept() {
            Ok((client, _)) => client,
            Err(_) => {
                std::thread::sleep(Duration::from_millis(5));
                continue;
            }
        };
        let _ = client.set_nonblocking(false);
        if state.mode.load(Ordering::SeqCst) == DOWN {
            let _ = client.shutdown(Shutdown::Both);
            continue;
        }
        let failing = state
            .fail_next
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok();
        let mode = state.mode.load(Ordering::SeqCst);
        if let Ok(copy) = client.try_clone() {
            state.open.lock().unwrap().push(copy);
        }
        if failing || mode == STATUS {
            let code = state.status.load(Ordering::SeqCst);
            std::thread::spawn(move || answer(client, code));
            continue;
        }
        if mode == FREEZE {
            continue; // held open in `open`, never read
        }
        let Ok(server) = TcpStream::connect(&upstream) else {
            continue;
        };
        if let Ok(copy) = server.try_clone() {
            state.open.lock().unwrap().push(copy);
        }
        for (from, to) in [
            (client.try_clone().unwrap(), server.try_clone().unwrap()),
            (server, client),
        ] {
            let state = state.clone();
            std::thread::spawn(move || pump(from, to, state));
        }
    }
}

/// Copy bytes until either side closes; while frozen, forward nothing.
fn pump(mut from: TcpStream, mut to: TcpStream, state: Arc<State>) {
    let _ = from.set_read_timeout(Some(Duration::from_millis(100)));
    let mut buf = [0u8; 16 * 1024];
    while !state.stop.load(Ordering::SeqCst) {
        if state.mode.load(Ordering::SeqCst) == FREEZE {
            std::thread::sleep(Duration::from_millis(20));
            continue;
        }
        match from.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                if to.write_all(&buf[..n]).is_err() {
                    break;
                }
            }
            Err(e)
                if e.kind() == std::io::ErrorKind::WouldBlock
                    || e.kind() == std::io::ErrorKind::TimedOut => {}
            Err(_) => break,
        }
    }
    let _ = to.shutdown(Shutdown::Both);
}

/// Read one request head, answer `code` with a Kubernetes Status, close.
fn answer(mut client: TcpStream, code: u16) {
    let _ = client.set_read_timeout(Some(Duration::from_secs(5)));
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") && head.len() < 64 * 1024 {
        match client.read(&mut byte) {
            Ok(1) => head.push(byte[0]),
            _ => return,
        }
    }
    let reason = match code {
        429 => "TooManyRequests",
        500 => "InternalError",
        503 => "ServiceUnavailable",
        _ => "Failure",
    };
    let body = format!(
        r#"{{"kind":"Status","apiVersion":"v1","metadata":{{}},"status":"Failure","message":"injected {code}","reason":"{reason}","code":{code}}}"#
    );
    let _ = write!(
        client,
        "HTTP/1.1 {code} {reason}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = client.shutdown(Shutdown::Both);
}
