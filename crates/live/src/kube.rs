//! Kubernetes collection through kube-rs: `/version`, then every kind of
//! [`KUBE_KINDS`] (a few at a time), each written as a typed List
//! (`PodList`, …) so that even an empty list tells the rules "none". A
//! custom resource that is not installed is *absent*, a 403 is a gap
//! naming the RBAC permission, and the rest goes on. Secrets are never read.

use std::path::PathBuf;
use std::sync::Arc;

use futures::stream::{self, StreamExt};
use kube::api::{Api, ApiResource, DynamicObject, ListParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, Config};
use serde_json::{json, Value};

use doctor_core::snapshot::{GapKind, KubernetesSource};

use crate::aws::FromKubernetes;
use crate::calls::{KubeKind, Read, KUBE_KINDS, KUBE_VERSION_PATH};
use crate::deadline::{describe, kube_call, CallError, Calls, Timeouts};
use crate::logs::{self, LogTail};
use crate::snapshot::Part;
use crate::LiveError;

/// Items per list page: bounds each response on large clusters.
const PAGE: u32 = 500;
/// Kinds read at once: enough to hide latency, few enough for a small API server.
const CONCURRENT: usize = 4;

const INSTANCE_TYPE_LABELS: &[&str] = &[
    "node.kubernetes.io/instance-type",
    "beta.kubernetes.io/instance-type",
];
const IRSA_ANNOTATION: &str = "eks.amazonaws.com/role-arn";

/// How to reach the API server.
#[derive(Debug, Clone, Default)]
pub struct KubeOptions {
    /// `--kubeconfig` (else `KUBECONFIG`, `~/.kube/config`, or in-cluster).
    pub kubeconfig: Option<PathBuf>,
    /// `--context` (else the current context).
    pub context: Option<String>,
    /// `--log-lines`: the Cilium containers' log tails.
    pub logs: LogTail,
}

fn config_error(e: impl std::fmt::Display) -> LiveError {
    LiveError::Config(format!("Kubernetes configuration: {e}"))
}

/// A client from the kubeconfig (or the in-cluster service account).
pub async fn connect(
    options: &KubeOptions,
    timeouts: &Timeouts,
) -> Result<(Client, KubernetesSource), LiveError> {
    let chosen = KubeConfigOptions {
        context: options.context.clone(),
        ..KubeConfigOptions::default()
    };
    let (config, context) = match (&options.kubeconfig, &options.context) {
        (Some(path), _) => {
            let file = Kubeconfig::read_from(path).map_err(config_error)?;
            let context = options
                .context
                .clone()
                .or_else(|| file.current_context.clone());
            let config = Config::from_custom_kubeconfig(file, &chosen)
                .await
                .map_err(config_error)?;
            (config, context)
        }
        (None, Some(context)) => {
            let config = Config::from_kubeconfig(&chosen)
                .await
                .map_err(config_error)?;
            (config, Some(context.clone()))
        }
        (None, None) => {
            let config = Config::infer().await.map_err(config_error)?;
            let context = Kubeconfig::read().ok().and_then(|k| k.current_context);
            (config, context)
        }
    };
    let source = KubernetesSource {
        context,
        server: config.cluster_url.to_string(),
    };
    let mut config = config;
    // Retries are ours (bounded, told, see crate::deadline), not kube's.
    config.default_retry = false;
    config.connect_timeout = Some(timeouts.request);
    let client = Client::try_from(config).map_err(config_error)?;
    Ok((client, source))
}

/// What one failed read means.
pub(crate) enum Failure {
    Denied(String),
    /// 404: the kind's API is not served, or the named object does not exist.
    NotFound,
    Fatal(LiveError),
}

/// A watcher's error (one attempt, no timeout of ours).
pub(crate) fn failure(call: &str, error: kube::Error) -> Failure {
    failure_after(call, "", CallError::Kube(error, 1))
}

/// What a failed call means; `permission` is what a 403 would need.
pub(crate) fn failure_after(call: &str, permission: &str, error: CallError) -> Failure {
    match error {
        CallError::Kube(kube::Error::Api(status), _) if status.code == 403 => {
            Failure::Denied(status.message)
        }
        CallError::Kube(kube::Error::Api(status), _) if status.code == 404 => Failure::NotFound,
        other => Failure::Fatal(LiveError::Kubernetes {
            call: call.to_string(),
            message: describe(&other, permission),
        }),
    }
}

pub(crate) fn resource(kind: &KubeKind) -> ApiResource {
    ApiResource {
        group: kind.group.to_string(),
        version: kind.version.to_string(),
        api_version: kind.api_version(),
        kind: kind.kind.to_string(),
        plural: kind.plural.to_string(),
    }
}

/// Collect `/version`, every kind, and the log tails of the Cilium pods.
pub async fn collect(
    client: Client,
    calls: Arc<Calls>,
    tail: LogTail,
) -> Result<(Part, FromKubernetes), LiveError> {
    let mut part = Part::new("kubernetes", calls.progress.clone());
    read_version(&client, &calls, &mut part).await?;
    let reads = stream::iter(KUBE_KINDS)
        .map(|kind| read_kind(client.clone(), kind, calls.clone()))
        .buffered(CONCURRENT)
        .collect::<Vec<_>>()
        .await;
    let mut facts = FromKubernetes::default();
    let mut pods = Vec::new();
    for read in reads {
        let (kind, kind_part, items) = read?;
        facts.learn(kind, &items);
        part.append(kind_part);
        if kind.kind == "Pod" {
            pods = items;
        }
    }
    part.append(logs::collect(&client, &pods, tail, &calls).await);
    Ok((part, facts))
}

/// `/version` into `part`, or the gap it gave.
pub(crate) async fn read_version(
    client: &Client,
    calls: &Calls,
    part: &mut Part,
) -> Result<(), LiveError> {
    let permission = format!("get {KUBE_VERSION_PATH} (nonResourceURLs)");
    match kube_call(calls, "get /version", || client.apiserver_version()).await {
        Ok(info) => part.put(
            "version.json".into(),
            "get /version",
            1,
            &json!({ "serverVersion": info }),
        ),
        Err(e) => match failure_after("get /version", &permission, e) {
            Failure::Denied(why) => part.gap(
                "get /version",
                GapKind::Denied,
                &format!("get {KUBE_VERSION_PATH}"),
                &why,
            ),
            Failure::NotFound => part.gap("get /version", GapKind::Unsupported, "", "HTTP 404"),
            Failure::Fatal(e) => return Err(e),
        },
    }
    Ok(())
}

/// Items of one kind, with the gap or absence it gave.
pub(crate) async fn read_kind(
    client: Client,
    kind: &'static KubeKind,
    calls: Arc<Calls>,
) -> Result<(&'static KubeKind, Part, Vec<Value>), LiveError> {
    let mut part = Part::new("kubernetes", calls.progress.clone());
    let call = format!("{} {}", kind.read.verb(), kind.plural);
    let items = match kind.read {
        Read::List => list(client, kind, &call, &calls).await,
        Read::Get(names) => get(client, kind, &call, names, &calls).await,
    };
    let items = settle(kind, &mut part, &call, items)?;
    Ok((kind, part, items))
}

/// A kind's read into `part`: its file, or the gap or absence it gave
/// (then no items).
pub(crate) fn settle(
    kind: &KubeKind,
    part: &mut Part,
    call: &str,
    items: Result<Vec<Value>, Failure>,
) -> Result<Vec<Value>, LiveError> {
    let items = match items {
        Ok(items) => items,
        Err(Failure::Denied(why)) => {
            part.gap(call, GapKind::Denied, &kind.permission(), &why);
            return Ok(Vec::new());
        }
        Err(Failure::NotFound) if kind.optional => {
            part.absent.push(format!(
                "{} ({}): not installed",
                kind.kind,
                kind.api_version()
            ));
            return Ok(Vec::new());
        }
        Err(Failure::NotFound) => {
            part.gap(call, GapKind::Unsupported, &kind.permission(), "HTTP 404");
            return Ok(Vec::new());
        }
        Err(Failure::Fatal(e)) => return Err(e),
    };
    let value = json!({
        "apiVersion": kind.api_version(),
        "kind": format!("{}List", kind.kind),
        "metadata": {},
        "items": items,
    });
    part.put(kind.file.to_string(), call, items.len(), &value);
    Ok(items)
}

/// Every page of a list. kube sends `resourceVersion=0` (served from the
/// API server's cache) only on unpaginated lists: with `limit`, pages come
/// from etcd with a consistent `continue` token instead.
async fn list(
    client: Client,
    kind: &KubeKind,
    call: &str,
    calls: &Calls,
) -> Result<Vec<Value>, Failure> {
    let api: Api<DynamicObject> = Api::all_with(client, &resource(kind));
    let mut items = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let mut params = ListParams::default().limit(PAGE);
        if let Some(token) = &token {
            params = params.continue_token(token);
        }
        let page = kube_call(calls, call, || api.list(&params))
            .await
            .map_err(|e| failure_after(call, &kind.permission(), e))?;
        items.extend(page.items.into_iter().map(|o| lean(kind, o)));
        match page.metadata.continue_ {
            Some(next) if !next.is_empty() => token = Some(next),
            _ => return Ok(items),
        }
    }
}

/// Named objects only; one that does not exist is simply not in the list.
async fn get(
    client: Client,
    kind: &KubeKind,
    call: &str,
    names: &[(&str, &str)],
    calls: &Calls,
) -> Result<Vec<Value>, Failure> {
    let mut items = Vec::new();
    for (namespace, name) in names {
        let api: Api<DynamicObject> = if namespace.is_empty() {
            Api::all_with(client.clone(), &resource(kind))
        } else {
            Api::namespaced_with(client.clone(), namespace, &resource(kind))
        };
        // `get` rather than `get_opt`: some servers' 404 reasons make
        // `get_opt` fail instead of answering None.
        match kube_call(calls, call, || api.get(name))
            .await
            .map_err(|e| failure_after(call, &kind.permission(), e))
        {
            Ok(object) => items.push(lean(kind, object)),
            Err(Failure::NotFound) => {}
            Err(other) => return Err(other),
        }
    }
    Ok(items)
}

/// An object as JSON, stripped as `serve`'s stores are ([`strip`]).
pub(crate) fn lean(kind: &KubeKind, mut object: DynamicObject) -> Value {
    strip(kind, &mut object);
    if kind.kind == "CustomResourceDefinition" {
        return json!({ "metadata": { "name": object.metadata.name } });
    }
    serde_json::to_value(object).unwrap_or(Value::Null)
}

const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";

/// Env vars whose literal values the rules read (IAM: how the operator
/// gets its credentials); every other literal value is dropped.
const KEPT_ENV_VALUES: &[&str] = &["AWS_ROLE_ARN", "AWS_CONTAINER_CREDENTIALS_FULL_URI"];

/// Drop what no rule reads, what makes objects big, and what may be a
/// secret: `managedFields`, the last-applied annotation (a copy of the
/// object, env values included), literal env values of containers (pods
/// and pod templates; names stay), and all but the name of a CRD. Used by
/// `collect`, `check --live` and `serve`'s stores alike.
pub(crate) fn strip(kind: &KubeKind, object: &mut DynamicObject) {
    object.metadata.managed_fields = None;
    if let Some(annotations) = &mut object.metadata.annotations {
        annotations.remove(LAST_APPLIED);
    }
    if kind.kind == "CustomResourceDefinition" {
        object.data = Value::Null;
        object.metadata = kube::api::ObjectMeta {
            name: object.metadata.name.take(),
            ..Default::default()
        };
        return;
    }
    let spec = &mut object.data["spec"];
    strip_env(spec);
    strip_env(&mut spec["template"]["spec"]);
    // CronJobs, should they be read one day.
    strip_env(&mut spec["jobTemplate"]["spec"]["template"]["spec"]);
}

fn strip_env(pod_spec: &mut Value) {
    for list in ["containers", "initContainers", "ephemeralContainers"] {
        let Some(containers) = pod_spec.get_mut(list).and_then(Value::as_array_mut) else {
            continue;
        };
        for env in containers
            .iter_mut()
            .filter_map(|c| c.get_mut("env").and_then(Value::as_array_mut))
            .flatten()
        {
            let kept = env["name"]
                .as_str()
                .is_some_and(|n| KEPT_ENV_VALUES.contains(&n));
            if let (false, Some(var)) = (kept, env.as_object_mut()) {
                var.remove("value");
            }
        }
    }
}

impl FromKubernetes {
    /// Node instance types and the cilium-operator's IRSA role.
    pub(crate) fn learn(&mut self, kind: &KubeKind, items: &[Value]) {
        for item in items {
            let meta = &item["metadata"];
            match kind.kind {
                "Node" => self.instance_types.extend(
                    INSTANCE_TYPE_LABELS
                        .iter()
                        .filter_map(|l| meta["labels"][l].as_str())
                        .map(str::to_string),
                ),
                "ServiceAccount"
                    if meta["namespace"] == "kube-system" && meta["name"] == "cilium-operator" =>
                {
                    if let Some(arn) = meta["annotations"][IRSA_ANNOTATION].as_str() {
                        self.role_arns.insert(arn.to_string());
                    }
                }
                _ => {}
            }
        }
    }
}
