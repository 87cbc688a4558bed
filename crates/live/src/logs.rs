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
//! and a tail cut there is said by a gap.

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
}

/// `--log-lines`' default.
pub const DEFAULT_LINES: u32 = 2_000;
/// 2,000 lines of JSON logs with long error values stay well under this.
pub const DEFAULT_MAX_BYTES: usize = 4 * 1024 * 1024;

impl Default for LogTail {
    fn default() -> Self {
        LogTail {
            lines: DEFAULT_LINES,
            max_bytes: DEFAULT_MAX_BYTES,
        }
    }
}

/// One container instance to tail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Target {
    pub namespace: String,
    pub pod: String,
    pub container: String,
    pub previous: bool,
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
    Gap(GapKind, String),
}

/// The tails of the Cilium containers of `pods`, into a part of their own.
pub(crate) async fn collect(client: &Client, pods: &[Value], tail: LogTail, calls: &Calls) -> Part {
    let mut part = Part::new("kubernetes", calls.progress.clone());
    if tail.lines == 0 {
        return part;
    }
    let stamp = stamp();
    let reads = stream::iter(targets(pods))
        .map(|target| async move {
            let got = read(client, &target, tail, calls).await;
            (target, got)
        })
        .buffered(CONCURRENT)
        .collect::<Vec<_>>()
        .await;
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
            Tail::Gap(kind, why) => part.gap(&call, kind, POD_LOGS, &why),
        }
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
                ("cilium-abcde/cilium-agent".to_string(), false),
                (
                    "cilium-operator-6b9c-x2x/cilium-operator".to_string(),
                    false
                ),
                ("cilium-operator-6b9c-x2x/cilium-operator".to_string(), true),
            ]
        );
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
