//! Watch mode for `serve`: one kube-rs reflector per listed kind of
//! [`KUBE_KINDS`] keeps the cluster in memory, and [`KubeWatch::part`]
//! turns the stores into the same files [`crate::kube::collect`] writes,
//! so that `serve` evaluates exactly what `check --live` would. Objects are
//! stored as `collect` writes them ([`crate::kube::strip`]): without
//! `managedFields`, the last-applied annotation, literal env values, and
//! CRDs by name only. A kind that is denied
//! is a gap, a custom resource that is not installed is absent, as in
//! `collect`; the watchers retry with backoff, so a CRD installed later
//! or a permission granted later shows up by itself.

use std::sync::{Arc, Mutex};
use std::time::{Instant, SystemTime};

use futures::StreamExt;
use kube::api::{Api, DynamicObject};
use kube::runtime::reflector::{self, store::Writer, Store};
use kube::runtime::watcher::{self, watcher, Event};
use kube::runtime::WatchStreamExt;
use kube::Client;
use serde_json::Value;
use tokio::sync::Notify;

use doctor_core::snapshot::KubernetesSource;

use crate::aws::FromKubernetes;
use crate::calls::{KubeKind, Read, KUBE_KINDS};
use crate::deadline::{describe, kube_call, Calls, Timeouts};
use crate::kube::{failure, read_kind, read_version, resource, settle, strip, Failure};
use crate::logs::{self, LogTail, Target};
use crate::snapshot::Part;
use crate::{LiveError, Quiet};

/// Items per page of a watcher's (re)list, as in `collect`.
const PAGE: u32 = 500;

/// Where one kind's watcher stands.
#[derive(Debug, Clone, PartialEq, Eq)]
enum KindState {
    /// No answer yet.
    Starting,
    /// The store holds the kind's objects.
    Synced,
    /// 403 on list or watch: a gap naming the permission.
    Denied(String),
    /// 404: not installed (custom resources) or not served.
    NotFound,
    /// Any other error. `synced` tells whether the store still holds an
    /// earlier, now stale, copy.
    Failing { error: String, synced: bool },
}

struct Watched {
    kind: &'static KubeKind,
    store: Store<DynamicObject>,
    state: Arc<Mutex<KindState>>,
}

/// The watched cluster; cheap to share (`Arc`), the watchers run as tasks
/// on the runtime that created it and stop when it is dropped.
pub struct KubeWatch {
    client: Client,
    calls: Arc<Calls>,
    changed: Arc<Notify>,
    source: KubernetesSource,
    kinds: Vec<Watched>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    last_event: Arc<Mutex<Option<SystemTime>>>,
    logs: LogTail,
    /// The last tails read, of which containers, and when.
    tails: Mutex<Option<(Instant, Vec<Target>, Part)>>,
}

impl Drop for KubeWatch {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

/// The freshness of the Kubernetes side.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WatchHealth {
    /// Every kind has answered once (synced, denied or absent).
    pub ready: bool,
    /// The first error of a kind whose watcher is failing now.
    pub error: Option<String>,
    /// When a watcher last heard from the API server.
    pub last_success: Option<SystemTime>,
}

impl KubeWatch {
    /// Start a watcher per listed kind; `changed` is notified on every
    /// change of objects or of a kind's state.
    pub fn start(
        client: Client,
        source: KubernetesSource,
        changed: Arc<Notify>,
        timeouts: Timeouts,
        logs: LogTail,
    ) -> KubeWatch {
        let last_event = Arc::new(Mutex::new(None));
        let mut kinds = Vec::new();
        let mut tasks = Vec::new();
        for kind in KUBE_KINDS.iter().filter(|k| k.read == Read::List) {
            let writer = Writer::new(resource(kind));
            let store = writer.as_reader();
            let state = Arc::new(Mutex::new(KindState::Starting));
            tasks.push(tokio::spawn(run(
                client.clone(),
                kind,
                writer,
                state.clone(),
                changed.clone(),
                last_event.clone(),
            )));
            kinds.push(Watched { kind, store, state });
        }
        KubeWatch {
            client,
            calls: Calls::new(timeouts, Arc::new(Quiet)),
            changed,
            source,
            kinds,
            tasks,
            last_event,
            logs,
            tails: Mutex::new(None),
        }
    }

    /// The client the watchers use (`serve --policy-report` writes through it).
    pub fn client(&self) -> &Client {
        &self.client
    }

    pub fn source(&self) -> &KubernetesSource {
        &self.source
    }

    pub fn health(&self) -> WatchHealth {
        let mut health = WatchHealth {
            ready: true,
            error: None,
            last_success: *lock(&self.last_event),
        };
        for watched in &self.kinds {
            match &*lock(&watched.state) {
                KindState::Starting | KindState::Failing { synced: false, .. } => {
                    health.ready = false;
                }
                _ => {}
            }
            if let KindState::Failing { error, .. } = &*lock(&watched.state) {
                health.error.get_or_insert_with(|| error.clone());
            }
        }
        health
    }

    /// The Kubernetes part of a snapshot: the stores of the watched kinds,
    /// plus `/version` and the objects read by name (a few small gets), in
    /// `collect`'s order, then the log tails of the Cilium pods (read anew
    /// each time: logs change without an event). Fails when the API server
    /// cannot be reached.
    pub async fn part(&self) -> Result<(Part, FromKubernetes), LiveError> {
        let mut part = Part::new("kubernetes", Arc::new(Quiet));
        read_version(&self.client, &self.calls, &mut part).await?;
        let mut facts = FromKubernetes::default();
        let mut pods = Vec::new();
        for kind in KUBE_KINDS {
            let items = match kind.read {
                Read::Get(_) => {
                    let (_, got, items) =
                        read_kind(self.client.clone(), kind, self.calls.clone()).await?;
                    part.append(got);
                    items
                }
                Read::List => {
                    let Some(watched) = self.kinds.iter().find(|w| w.kind == kind) else {
                        continue;
                    };
                    let call = format!("list {}", kind.plural);
                    let state = lock(&watched.state).clone();
                    let items = match state {
                        KindState::Denied(why) => Err(Failure::Denied(why)),
                        KindState::NotFound => Err(Failure::NotFound),
                        KindState::Failing {
                            error,
                            synced: false,
                        } => Err(Failure::Fatal(LiveError::Kubernetes {
                            call: call.clone(),
                            message: error,
                        })),
                        // A failing watcher's store still holds the last
                        // list: stale, and said so by the health.
                        _ => Ok(items_of(&watched.store)),
                    };
                    settle(kind, &mut part, &call, items)?
                }
            };
            facts.learn(kind, &items);
            if kind.kind == "Pod" {
                pods = items;
            }
        }
        part.append(self.tails(&pods).await);
        Ok((part, facts))
    }

    /// The log tails of the Cilium containers of `pods`: those read last
    /// while they are younger than `--log-interval` and of the same
    /// containers (a new pod or a restart reads them all again), else read
    /// now. Each evaluation would otherwise read every agent's log again.
    async fn tails(&self, pods: &[Value]) -> Part {
        let targets = logs::targets(pods);
        if let Some((at, of, part)) = &*lock(&self.tails) {
            if *of == targets && at.elapsed() < self.logs.refresh {
                return part.clone();
            }
        }
        let part = logs::read_tails(&self.client, targets.clone(), self.logs, &self.calls).await;
        *lock(&self.tails) = Some((Instant::now(), targets, part.clone()));
        part
    }
}

impl KubeWatch {
    /// A deadline-bound look at the API server (`GET /version`), so that a
    /// server that accepts and never answers shows as stale; the watchers
    /// alone would wait on it forever. When it answers, every kind whose
    /// watcher failed after its store was synced is read once (one item):
    /// a watch that resumed without an event (a quiet kind) counts as
    /// recovered then. `Err`: the one-line reason.
    pub async fn probe(&self) -> Result<(), String> {
        kube_call(&self.calls, "get /version", || {
            self.client.apiserver_version()
        })
        .await
        .map_err(|e| {
            format!(
                "get /version: {}",
                describe(&e, "get /version (nonResourceURLs)")
            )
        })?;
        let mut recovered = false;
        for watched in &self.kinds {
            if !matches!(
                &*lock(&watched.state),
                KindState::Failing { synced: true, .. }
            ) {
                continue;
            }
            let api: Api<DynamicObject> =
                Api::all_with(self.client.clone(), &resource(watched.kind));
            let call = format!("list {}", watched.kind.plural);
            let params = kube::api::ListParams::default().limit(1);
            if kube_call(&self.calls, &call, || api.list(&params))
                .await
                .is_ok()
            {
                let mut state = lock(&watched.state);
                if matches!(&*state, KindState::Failing { synced: true, .. }) {
                    *state = KindState::Synced;
                    recovered = true;
                }
            }
        }
        if recovered {
            *lock(&self.last_event) = Some(SystemTime::now());
            self.changed.notify_one();
        }
        Ok(())
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

/// A store's objects as JSON, sorted by namespace and name (stores are
/// unordered; reports should not be).
fn items_of(store: &Store<DynamicObject>) -> Vec<Value> {
    let mut objects = store.state();
    objects.sort_by(|a, b| {
        (&a.metadata.namespace, &a.metadata.name).cmp(&(&b.metadata.namespace, &b.metadata.name))
    });
    objects
        .iter()
        .map(|o| serde_json::to_value(&**o).unwrap_or(Value::Null))
        .collect()
}

/// One kind's watcher: feeds the store, tracks the state, signals changes.
async fn run(
    client: Client,
    kind: &'static KubeKind,
    writer: Writer<DynamicObject>,
    state: Arc<Mutex<KindState>>,
    changed: Arc<Notify>,
    last_event: Arc<Mutex<Option<SystemTime>>>,
) {
    let api: Api<DynamicObject> = Api::all_with(client, &resource(kind));
    let events = watcher(api, watcher::Config::default().page_size(PAGE))
        .map(move |event| event.map(|e| e.modify(|o| strip(kind, o))));
    let mut events = std::pin::pin!(reflector::reflector(writer, events).default_backoff());
    while let Some(event) = events.next().await {
        let next = match event {
            Ok(Event::InitDone | Event::Apply(_) | Event::Delete(_)) => KindState::Synced,
            // Objects of a (re)list: the store swaps them in at InitDone.
            Ok(Event::Init | Event::InitApply(_)) => continue,
            Err(e) => classify(kind, e, &lock(&state)),
        };
        if next == KindState::Synced {
            *lock(&last_event) = Some(SystemTime::now());
        }
        let was = std::mem::replace(&mut *lock(&state), next.clone());
        // Object changes always count; errors only when the state changes.
        if next == KindState::Synced || was != next {
            changed.notify_one();
        }
    }
}

fn classify(kind: &KubeKind, error: watcher::Error, now: &KindState) -> KindState {
    let call = format!("list {}", kind.plural);
    let failed = match error {
        watcher::Error::InitialListFailed(e)
        | watcher::Error::WatchStartFailed(e)
        | watcher::Error::WatchFailed(e) => failure(&call, e),
        watcher::Error::WatchError(status) if status.code == 403 => Failure::Denied(status.message),
        other => Failure::Fatal(LiveError::Kubernetes {
            call,
            message: other.to_string(),
        }),
    };
    match failed {
        Failure::Denied(why) => KindState::Denied(why),
        Failure::NotFound => KindState::NotFound,
        Failure::Fatal(e) => KindState::Failing {
            error: e.to_string(),
            synced: matches!(
                now,
                KindState::Synced | KindState::Failing { synced: true, .. }
            ),
        },
    }
}
