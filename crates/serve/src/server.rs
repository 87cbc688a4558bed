//! The HTTP/1 accept loop: what `axum::serve` does, plus the limits a
//! server facing a cluster network needs. Each connection must send its
//! request headers within `header_timeout` (hyper's header-read timeout,
//! which also runs while a kept-alive connection waits for its next
//! request, so it is the idle timeout too); at most `max_connections` are
//! open at once, and a new one closes the oldest, so a probe always gets
//! in while slowloris or idle sockets are dropped. The cap is lowered to
//! fit the process's file-descriptor limit.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::AbortHandle;

/// Connection limits of the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HttpLimits {
    /// Most connections open at once (before the file-descriptor limit).
    pub max_connections: usize,
    /// Time a connection has to send a request's headers, and the most a
    /// kept-alive connection stays idle.
    pub header_timeout: Duration,
}

impl Default for HttpLimits {
    fn default() -> Self {
        HttpLimits {
            max_connections: 1024,
            header_timeout: Duration::from_secs(10),
        }
    }
}

/// File descriptors kept free of connections: the listener, the API
/// clients, files read by an evaluation.
const RESERVED_FDS: u64 = 64;

impl HttpLimits {
    /// `max_connections`, lowered to fit `RLIMIT_NOFILE` (at least 8).
    pub fn effective_max_connections(&self) -> usize {
        let mut limit = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: getrlimit fills the struct it is given.
        let fds = if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } == 0 {
            limit.rlim_cur
        } else {
            u64::MAX
        };
        let fit = usize::try_from(fds.saturating_sub(RESERVED_FDS)).unwrap_or(usize::MAX);
        self.max_connections.min(fit).max(8)
    }
}

type Open = Arc<Mutex<BTreeMap<u64, AbortHandle>>>;

fn lock(open: &Open) -> std::sync::MutexGuard<'_, BTreeMap<u64, AbortHandle>> {
    open.lock().unwrap_or_else(|e| e.into_inner())
}

/// Removes its connection from the open set when the task ends (or is
/// aborted).
struct Registered(Open, u64);

impl Drop for Registered {
    fn drop(&mut self) {
        lock(&self.0).remove(&self.1);
    }
}

/// Serve `router` on `listener` until `stopped` turns true, then let open
/// connections finish their requests (the caller bounds that wait).
pub async fn run(
    listener: TcpListener,
    router: Router,
    limits: HttpLimits,
    mut stopped: watch::Receiver<bool>,
) {
    let max = limits.effective_max_connections();
    let open: Open = Arc::new(Mutex::new(BTreeMap::new()));
    let mut next_id: u64 = 0;
    loop {
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(_) => {
                    // Out of file descriptors, or a connection reset before
                    // it was accepted: free the oldest slot and go on.
                    if let Some((_, oldest)) = lock(&open).pop_first() {
                        oldest.abort();
                    }
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                }
            },
            () = async { let _ = stopped.wait_for(|s| *s).await; } => break,
        };
        let _ = stream.set_nodelay(true);
        let mut set = lock(&open);
        while set.len() >= max {
            match set.pop_first() {
                Some((_, oldest)) => oldest.abort(),
                None => break,
            }
        }
        let id = next_id;
        next_id += 1;
        let service = TowerToHyperService::new(router.clone());
        let registered = Registered(open.clone(), id);
        let mut stop = stopped.clone();
        let handle = tokio::spawn(async move {
            let _registered = registered;
            let mut builder = http1::Builder::new();
            builder
                .timer(TokioTimer::new())
                .header_read_timeout(limits.header_timeout)
                .keep_alive(true);
            let connection = builder.serve_connection(TokioIo::new(stream), service);
            let mut connection = std::pin::pin!(connection);
            tokio::select! {
                _ = connection.as_mut() => {}
                () = async { let _ = stop.wait_for(|s| *s).await; } => {
                    connection.as_mut().graceful_shutdown();
                    let _ = connection.await;
                }
            }
        });
        set.insert(id, handle.abort_handle());
    }
    // Draining: the requests in flight finish, idle connections close.
    while !lock(&open).is_empty() {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
