//! Deadlines and retries of live calls. Every Kubernetes call runs under
//! a per-request timeout; a 429 or 5xx answer or a connection failure is
//! retried a bounded number of times with exponential backoff (each retry
//! told to [`Progress::retrying`]); a whole collection runs under an
//! overall deadline that names the call in flight when it passes. kube's
//! own retry layer is off: its unbounded waits on 429 hid everything for
//! minutes. Failures are described in one line: the status, the reason,
//! the call, and what to grant or check.

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::Progress;

/// How long live calls may take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// One request (one attempt), answer included.
    pub request: Duration,
    /// A whole `collect` or `check --live` collection.
    pub deadline: Duration,
    /// Attempts of a call that failed with 429, 5xx or a connection error.
    pub attempts: u32,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            request: Duration::from_secs(20),
            deadline: Duration::from_secs(300),
            attempts: 4,
        }
    }
}

/// `20 s`, `1.5 s`, `500 ms`.
pub fn seconds(d: Duration) -> String {
    if d < Duration::from_secs(1) {
        format!("{} ms", d.as_millis())
    } else if d.subsec_millis() == 0 {
        format!("{} s", d.as_secs())
    } else {
        format!("{:.1} s", d.as_secs_f64())
    }
}

/// The calls of one collection: their limits, where retries are told,
/// and the call in flight (named when the deadline passes).
pub struct Calls {
    pub timeouts: Timeouts,
    pub progress: Arc<dyn Progress>,
    current: Mutex<String>,
}

impl Calls {
    pub fn new(timeouts: Timeouts, progress: Arc<dyn Progress>) -> Arc<Calls> {
        Arc::new(Calls {
            timeouts,
            progress,
            current: Mutex::new(String::new()),
        })
    }

    pub fn current(&self) -> String {
        self.current
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    pub(crate) fn set_current(&self, call: &str) {
        *self.current.lock().unwrap_or_else(|e| e.into_inner()) = call.to_string();
    }
}

/// Why a Kubernetes call gave up.
#[derive(Debug)]
pub(crate) enum CallError {
    /// No answer within the per-request timeout.
    Timeout(Duration),
    /// The last error, after this many attempts.
    Kube(kube::Error, u32),
}

fn retryable(error: &kube::Error) -> bool {
    match error {
        kube::Error::Api(status) => status.code == 429 || status.code >= 500,
        kube::Error::HyperError(_) | kube::Error::Service(_) => true,
        _ => false,
    }
}

/// 0.5 s, 1 s, 2 s, … at most 8 s.
fn backoff(attempt: u32) -> Duration {
    Duration::from_millis(500u64.saturating_mul(1 << (attempt - 1).min(4)))
}

/// Run one Kubernetes call under the timeouts of `calls`.
pub(crate) async fn kube_call<T, Fut>(
    calls: &Calls,
    call: &str,
    mut attempt_once: impl FnMut() -> Fut,
) -> Result<T, CallError>
where
    Fut: Future<Output = Result<T, kube::Error>>,
{
    calls.set_current(call);
    let attempts = calls.timeouts.attempts.max(1);
    let mut attempt = 1;
    loop {
        match tokio::time::timeout(calls.timeouts.request, attempt_once()).await {
            Err(_) => return Err(CallError::Timeout(calls.timeouts.request)),
            Ok(Ok(value)) => return Ok(value),
            Ok(Err(e)) if attempt < attempts && retryable(&e) => {
                let wait = backoff(attempt);
                calls.progress.retrying(
                    "kubernetes",
                    call,
                    &short_kube(&e),
                    attempt,
                    attempts - 1,
                    wait,
                );
                tokio::time::sleep(wait).await;
                attempt += 1;
            }
            Ok(Err(e)) => return Err(CallError::Kube(e, attempt)),
        }
    }
}

/// One line, at most `max` characters.
pub(crate) fn one_line(text: &str, max: usize) -> String {
    let joined: String = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    match joined.char_indices().nth(max) {
        Some((at, _)) => format!("{}…", &joined[..at]),
        None => joined,
    }
}

/// The error's sources, innermost last, joined: `error trying to connect:
/// tcp connect error: Connection refused (os error 111)`.
pub(crate) fn chain(error: &dyn std::error::Error) -> String {
    let mut parts = vec![error.to_string()];
    let mut source = error.source();
    while let Some(inner) = source {
        let text = inner.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        source = inner.source();
    }
    parts.join(": ")
}

/// `HTTP 429 TooManyRequests: too many requests`, or the transport error.
pub(crate) fn short_kube(error: &kube::Error) -> String {
    match error {
        kube::Error::Api(status) => {
            let reason = if status.reason.is_empty() {
                String::new()
            } else {
                format!(" {}", status.reason)
            };
            let message = if status.message.is_empty() {
                String::new()
            } else {
                format!(": {}", one_line(&status.message, 200))
            };
            format!("HTTP {}{reason}{message}", status.code)
        }
        kube::Error::HyperError(e) => one_line(&chain(e), 300),
        kube::Error::Service(e) => one_line(&chain(e.as_ref()), 300),
        other => one_line(&chain(other), 300),
    }
}

/// What to do about a failed call.
fn hint(error: &kube::Error, permission: &str) -> String {
    match error {
        kube::Error::Api(status) => match status.code {
            401 => "check the kubeconfig's credentials (an expired token? run the \
                    kubeconfig's `aws eks get-token` yourself)"
                .into(),
            403 => format!("grant: {permission} (deploy/rbac.yaml lists every permission)"),
            429 => "the API server is throttling this client (API Priority and Fairness): \
                    retry later or raise its priority"
                .into(),
            code if code >= 500 => "the API server failed: check its health \
                                    (kubectl get --raw /readyz)"
                .into(),
            _ => "check the API server address and version in the kubeconfig".into(),
        },
        _ => "check that the API server in the kubeconfig is reachable from here \
              (network, VPN, endpoint access)"
            .into(),
    }
}

/// The one line of a failed call: status, reason, attempts, what to check.
pub(crate) fn describe(error: &CallError, permission: &str) -> String {
    match error {
        CallError::Timeout(after) => format!(
            "no answer within {} (--request-timeout); check that the API server in the \
             kubeconfig is reachable and not overloaded",
            seconds(*after)
        ),
        CallError::Kube(e, attempts) => {
            let tries = if *attempts > 1 {
                format!(" (after {attempts} attempts)")
            } else {
                String::new()
            };
            format!("{}{tries}; {}", short_kube(e), hint(e, permission))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_8_s() {
        let waits: Vec<u64> = (1..=6).map(|a| backoff(a).as_millis() as u64).collect();
        assert_eq!(waits, [500, 1000, 2000, 4000, 8000, 8000]);
    }

    #[test]
    fn lines_are_joined_and_cut() {
        assert_eq!(one_line("a\n\n  b  \n", 10), "a b");
        assert_eq!(one_line(&"x".repeat(20), 5), "xxxxx…");
        assert_eq!(seconds(Duration::from_millis(1500)), "1.5 s");
        assert_eq!(seconds(Duration::from_secs(20)), "20 s");
    }
}
