//! Log tails of the Cilium containers (`collect`, `check --live`, `serve`):
//! the last lines of every `cilium-agent` and `cilium-operator` container
//! of the pods just read, and of its previous instance when it restarted,
//! through `GET pods/{name}/log` (`tailLines`, `previous`, `container`,
//! `limitBytes`). Each tail becomes a snapshot file named as cilium-cli's
//! sysdump names logs (`logs-<pod>-<container>-<YYYYMMDD-HHMMSS>[-prev].log`),
//! so the same log loader scans it and the LOG rules read it exactly as
//! they read a sysdump's. A 403 is a gap naming `get pods/log`; a 400 on
//! `previous=true` (no previous instance) and a 404 (the pod is gone) are
//! simply no tail; any other failure is a gap too, never the end of the
//! run. Memory is bounded: at most [`LogTail::max_bytes`] per container
//! (asked of the server with `limitBytes`, and enforced while reading),
//! and a tail cut there is said by a gap; at most
//! [`LogTail::max_total_bytes`] for all tails of one collection (operators
//! first), the tails past it not read and said by one gap.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use futures::stream::{self, StreamExt};
use futures::AsyncReadExt;
use kube::api::{Api, LogParams};
use kube::Client;
use serde_json::Value;

use doctor_core::snapshot::GapKind;

use crate::calls::{POD_LOGS, POD_LOG_CONTAINERS};
use crate::deadline::{describe, kube_call, CallError, Calls};
use crate::snapshot::Part;

/// Tails read at once.
const CONCURRENT: usize = 4;

/// How much of each container's log is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogTail {
    /// Last lines per container instance (`--log-lines`); 0: no tails.
    pub lines: u32,
    /// Most bytes kept per container instance.
    pub max_bytes: usize,
    /// Most bytes of all tails of one collection.
    pub max_total_bytes: usize,
    /// `serve`: how long the tails read stay in use while the Cilium
    /// containers stay the same (a new pod or restart reads them at once).
    pub refresh: Duration,
}

/// `--log-lines`' default.
pub const DEFAULT_LINES: u32 = 2_000;
/// 2,000 lines of JSON logs with long error values stay well under this.
pub const DEFAULT_MAX_BYTES: usize = 4 * 1024 * 1024;
/// Sixteen full tails; a few hundred agents' usual 2,000 lines.
pub const DEFAULT_MAX_TOTAL_BYTES: usize = 64 * 1024 * 1024;
/// `serve --log-interval`'s default.
pub const DEFAULT_REFRESH: Duration = Duration::from_secs(300);

impl Default for LogTail {
    fn default() -> Self {
        LogTail {
            lines: DEFAULT_LINES,
            max_bytes: DEFAULT_MAX_BYTES,
            max_total_bytes: DEFAULT_MAX_TOTAL_BYTES,
            refresh: DEFAULT_REFRESH,
        }
    }
}

/// One container instance to tail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Target {
    pub(crate) namespace: String,
    pub(crate) pod: String,
    pub(crate) container: String,
    pub(crate) previous: bool,
}

impl Target {
    fn call(&self) -> String {
        format!(
            "get pods/log ({}/{}, {}{})",
            self.namespace,
            self.pod,
            self.container,
            if self.previous { ", previous" } else { "" }
        )
    }

    /// The sysdump name (`crate::logs::sysdump_log_name` reads it back).
    fn file(&self, stamp: &str) -> String {
        format!(
            "logs-{}-{}-{stamp}{}.log",
            self.pod,
            self.container,
            if self.previous { "-prev" } else { "" }
        )
    }
}

/// The Cilium containers of `pods` (items of a `PodList`): each one, and
/// its previous instance when its status says it restarted (a previous
/// instance asked of a container that never restarted only gives a 400).
pub(crate) fn targets(pods: &[Value]) -> Vec<Target> {
    let mut out = Vec::new();
    for pod in pods {
        let meta = &pod["metadata"];
        let (Some(namespace), Some(name)) = (meta["namespace"].as_str(), meta["name"].as_str())
        else {
            continue;
        };
        let Some(containers) = pod["spec"]["containers"].as_array() else {
            continue;
        };
        for container in containers.iter().filter_map(|c| c["name"].as_str()) {
            if !POD_LOG_CONTAINERS.contains(&container) {
                continue;
            }
            let status = pod["status"]["containerStatuses"]
                .as_array()
                .and_then(|s| s.iter().find(|s| s["name"] == container));
            let restarted = status.is_some_and(|s| {
                s["restartCount"].as_u64().unwrap_or(0) > 0
                    || s["lastState"]["terminated"].is_object()
            });
            for previous in [false, true] {
                let target = Target {
                    namespace: namespace.to_string(),
                    pod: name.to_string(),
                    container: container.to_string(),
                    previous,
                };
                // A list may name a pod twice (pages of a changing list).
                if (previous && !restarted) || out.contains(&target) {
                    continue;
                }
                out.push(target);
            }
        }
    }
    // Operators first: one of them holds the allocator's errors of the
    // whole cluster, each agent only its node's.
    out.sort_by_key(|t| t.container != "cilium-operator");
    out
}

/// What one tail gave.
enum Tail {
    Text {
        bytes: Vec<u8>,
        cut: bool,
    },
    /// No such instance (400 on `previous`) or pod (404): nothing to say.
    None,
    /// Not read: the total cap was reached.
    OverTotal,
    Gap(GapKind, String),
}

/// The tails of the Cilium containers of `pods`, into a part of their own.
pub(crate) async fn collect(client: &Client, pods: &[Value], tail: LogTail, calls: &Calls) -> Part {
    read_tails(client, targets(pods), tail, calls).await
}

/// The tails of `targets`, into a part of their own.
pub(crate) async fn read_tails(
    client: &Client,
    targets: Vec<Target>,
    tail: LogTail,
    calls: &Calls,
) -> Part {
    let mut part = Part::new("kubernetes", calls.progress.clone());
    if tail.lines == 0 {
        return part;
    }
    let stamp = stamp();
    let total = AtomicUsize::new(0);
    let total = &total;
    let reads = stream::iter(targets)
        .map(|target| async move {
            // Reads in flight may pass the cap by at most CONCURRENT tails.
            if total.load(Ordering::Relaxed) >= tail.max_total_bytes {
                return (target, Tail::OverTotal);
            }
            let got = read(client, &target, tail, calls).await;
            if let Tail::Text { bytes, .. } = &got {
                total.fetch_add(bytes.len(), Ordering::Relaxed);
            }
            (target, got)
        })
        .buffered(CONCURRENT)
        .collect::<Vec<_>>()
        .await;
    let mut over = 0;
    for (target, got) in reads {
        let call = target.call();
        match got {
            Tail::Text { bytes, cut } => {
                if cut {
                    part.gap(
                        &call,
                        GapKind::Truncated,
                        "",
                        &format!(
                            "the tail was cut at {} bytes: only its oldest lines were scanned",
                            tail.max_bytes
                        ),
                    );
                }
                // An empty log has nothing to scan (and is no log to the loader).
                if bytes.iter().all(u8::is_ascii_whitespace) {
                    continue;
                }
                let lines = bytes.iter().filter(|b| **b == b'\n').count();
                part.put_bytes(target.file(&stamp), &call, lines, bytes);
            }
            Tail::None => {}
            Tail::OverTotal => over += 1,
            Tail::Gap(kind, why) => part.gap(&call, kind, POD_LOGS, &why),
        }
    }
    if over > 0 {
        part.gap(
            "get pods/log",
            GapKind::Truncated,
            "",
            &format!(
                "{over} container logs not read: the tails read reached {} bytes, the cap \
                 of one collection (lower --log-lines to read more containers)",
                tail.max_total_bytes
            ),
        );
    }
    part
}

async fn read(client: &Client, target: &Target, tail: LogTail, calls: &Calls) -> Tail {
    let api: Api<k8s_openapi::api::core::v1::Pod> =
        Api::namespaced(client.clone(), &target.namespace);
    let params = LogParams {
        container: Some(target.container.clone()),
        previous: target.previous,
        tail_lines: Some(i64::from(tail.lines)),
        limit_bytes: Some(tail.max_bytes as i64),
        ..LogParams::default()
    };
    let call = target.call();
    let keep = tail.max_bytes;
    let got = kube_call(calls, &call, || async {
        let stream = api.log_stream(&target.pod, &params).await?;
        // One byte more than kept tells a cut tail from one that fits.
        let mut bytes = Vec::new();
        stream
            .take(keep as u64 + 1)
            .read_to_end(&mut bytes)
            .await
            .map_err(kube::Error::ReadEvents)?;
        Ok(bytes)
    })
    .await;
    match got {
        Ok(mut bytes) => {
            // `limitBytes` cuts at the limit exactly; so does our own cap.
            let cut = bytes.len() >= keep;
            bytes.truncate(keep);
            if cut {
                // Keep whole lines only.
                match bytes.iter().rposition(|b| *b == b'\n') {
                    Some(end) => bytes.truncate(end + 1),
                    None => bytes.clear(),
                }
            }
            Tail::Text { bytes, cut }
        }
        Err(CallError::Kube(kube::Error::Api(status), _)) if status.code == 403 => {
            Tail::Gap(GapKind::Denied, status.message.clone())
        }
        Err(CallError::Kube(kube::Error::Api(status), _))
            if status.code == 404 || (status.code == 400 && target.previous) =>
        {
            Tail::None
        }
        Err(other) => Tail::Gap(GapKind::Failed, describe(&other, POD_LOGS)),
    }
}

/// `YYYYMMDD-HHMMSS` now (UTC), as sysdump log names carry it.
fn stamp() -> String {
    let now = crate::snapshot::now_rfc3339();
    let digits: String = now.chars().filter(char::is_ascii_digit).collect();
    format!("{}-{}", &digits[..8], &digits[8..14])
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pod(name: &str, containers: &[&str], restarts: u64) -> Value {
        json!({
            "metadata": { "namespace": "kube-system", "name": name },
            "spec": { "containers": containers.iter().map(|c| json!({"name": c})).collect::<Vec<_>>() },
            "status": { "containerStatuses": containers.iter()
                .map(|c| json!({"name": c, "restartCount": restarts})).collect::<Vec<_>>() },
        })
    }

    #[test]
    fn only_cilium_containers_and_previous_instances_of_restarted_ones() {
        let pods = [
            pod("cilium-abcde", &["cilium-agent", "cilium-monitor"], 0),
            pod("cilium-operator-6b9c-x2x", &["cilium-operator"], 3),
            pod("coredns-1", &["coredns"], 9),
            pod("cilium-abcde", &["cilium-agent"], 0),
        ];
        let got: Vec<(String, bool)> = targets(&pods)
            .into_iter()
            .map(|t| (format!("{}/{}", t.pod, t.container), t.previous))
            .collect();
        assert_eq!(
            got,
            [
                (
                    "cilium-operator-6b9c-x2x/cilium-operator".to_string(),
                    false
                ),
                ("cilium-operator-6b9c-x2x/cilium-operator".to_string(), true),
                ("cilium-abcde/cilium-agent".to_string(), false),
            ]
        );
    }

    /// A recorded API server: every `pods/NAME/log` request is answered
    /// with `lines` lines (cut to `limitBytes`, as the kubelet does), after
    /// checking the query kube-rs built.
    fn recorded(line_bytes: usize, lines: usize) -> Client {
        let service = tower::service_fn(
            move |request: http::Request<kube::client::Body>| async move {
                let uri = request.uri().to_string();
                assert!(
                    uri.starts_with("/api/v1/namespaces/kube-system/pods/"),
                    "{uri}"
                );
                assert!(
                    uri.contains("/log?") && uri.contains("tailLines=2000"),
                    "{uri}"
                );
                let limit: usize = uri
                    .split(['?', '&'])
                    .find_map(|p| p.strip_prefix("limitBytes="))
                    .unwrap()
                    .parse()
                    .unwrap();
                let line = format!(
                    "level=info msg=\"{}\" subsys=daemon\n",
                    "x".repeat(line_bytes - 32)
                );
                let mut body = line.repeat(lines).into_bytes();
                body.truncate(limit);
                Ok::<_, std::convert::Infallible>(
                    http::Response::builder()
                        .status(200)
                        .body(http_body_util::Full::new(bytes::Bytes::from(body)))
                        .unwrap(),
                )
            },
        );
        Client::new(service, "default")
    }

    fn agents(n: usize) -> Vec<Value> {
        (0..n)
            .map(|i| pod(&format!("cilium-a{i:04}"), &["cilium-agent"], 0))
            .collect()
    }

    #[tokio::test]
    async fn the_tails_of_one_collection_stop_at_the_total_cap() {
        // Six agents logging 1 MiB each; a total cap below one tail: the
        // four read at once are kept, the two after them are not read.
        let client = recorded(1024, 1024);
        let calls = Calls::new(
            crate::Timeouts::default(),
            std::sync::Arc::new(crate::Quiet),
        );
        let tail = LogTail {
            max_total_bytes: 512 * 1024,
            ..LogTail::default()
        };
        let part = collect(&client, &agents(6), tail, &calls).await;
        assert_eq!(part.files.len(), 4);
        assert!(part.files.iter().all(|(_, b)| b.len() == 1024 * 1024));
        assert_eq!(part.gaps.len(), 1, "{:?}", part.gaps);
        assert_eq!(part.gaps[0].kind, GapKind::Truncated);
        assert!(
            part.gaps[0]
                .message
                .starts_with("2 container logs not read"),
            "{:?}",
            part.gaps
        );

        // A tail over the per-container cap keeps its whole lines, and says so.
        let tail = LogTail {
            max_bytes: 10 * 1024 + 100,
            ..LogTail::default()
        };
        let part = collect(&client, &agents(1), tail, &calls).await;
        assert_eq!(part.files[0].1.len(), 10 * 1024);
        assert_eq!(part.gaps[0].kind, GapKind::Truncated);
        assert_eq!(
            part.gaps[0].call,
            "get pods/log (kube-system/cilium-a0000, cilium-agent)"
        );

        // --log-lines 0: no call at all (any call would have given a one-line tail).
        let off = LogTail {
            lines: 0,
            ..LogTail::default()
        };
        let part = collect(&recorded(1024, 1), &agents(3), off, &calls).await;
        assert!(part.files.is_empty() && part.gaps.is_empty());
    }

    #[test]
    fn file_names_are_sysdump_names() {
        let target = Target {
            namespace: "kube-system".into(),
            pod: "cilium-operator-6b9c-x2x".into(),
            container: "cilium-operator".into(),
            previous: true,
        };
        let name = target.file(&stamp());
        let (pod, container, previous) = doctor_core::logs::sysdump_log_name(&name).unwrap();
        assert_eq!(pod.as_deref(), Some("cilium-operator-6b9c-x2x"));
        assert_eq!(container, doctor_core::logs::Container::Operator);
        assert!(previous);
    }
}
