//! Kubernetes objects, from any format: one object is parsed straight into
//! its lean model type (never kept as a JSON tree), then added to the model.

use std::borrow::Cow;

use serde::de::DeserializeOwned;
use serde::Deserialize;

use super::loader::Loader;
use super::one_pass;
use super::shapes::{Fail, Source};
use crate::findings::InputNote;
use crate::model::{self, extend, Cluster, Collection, ObjectKey};

/// One object, parsed into the model type of its kind.
pub(super) enum Object {
    Node(model::Node),
    Pod(model::Pod),
    DaemonSet(model::Workload),
    /// Deployment, StatefulSet or ReplicaSet.
    Deployment(model::Workload),
    ServiceAccount(model::ServiceAccount),
    Service(model::Service),
    ConfigMap(model::ConfigMap),
    Webhook(model::WebhookConfiguration),
    Event(model::Event),
    SecurityGroupPolicy(model::SecurityGroupPolicy),
    NetworkPolicy(model::NetworkPolicy),
    CiliumEndpoint(model::CiliumEndpoint),
    CiliumNode(model::CiliumNode),
    NodePool(model::NodePool),
    Ec2NodeClass(model::Ec2NodeClass),
    /// Kinds whose presence is all the rules need (e.g. VPC CNI leftovers).
    Presence(ObjectKey),
}

/// What one item of a List (or one single object) turned out to be.
pub(super) enum Converted {
    Used {
        /// Borrowed for every kind of [`KEPT_KINDS`]: no copy per object.
        kind: Cow<'static, str>,
        object: Box<Object>,
    },
    /// A kind the rules have no use for (Secrets are never parsed).
    Unused(String),
    /// No `kind`, none from the List, none from `selfLink`.
    NoKind,
    /// A recognised object with a wrong field type: skipped with this reason.
    Invalid(String),
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct ProbeMeta {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    namespace: Option<String>,
    #[serde(default)]
    self_link: Option<String>,
}

/// The identity of an object; parsed first so that later errors can name it.
#[derive(Deserialize, Default)]
struct Probe {
    #[serde(default)]
    kind: Option<String>,
    #[serde(default, deserialize_with = "model::kube::null_default")]
    metadata: ProbeMeta,
}

/// The kind from a `selfLink` (`/api/v1/namespaces/ns/pods/name` → `Pod`):
/// old dumps (sonobuoy, `kubectl get -o json` of k8s < 1.20 via the API)
/// have bare arrays whose items carry no `kind` but do carry a selfLink.
fn kind_from_self_link(link: &str) -> Option<&'static str> {
    let mut parts = link.trim_end_matches('/').rsplit('/');
    parts.next()?;
    kind_of_plural(parts.next()?)
}

/// The kind of a resource's plural name (`ciliumendpoints` → `CiliumEndpoint`).
fn kind_of_plural(plural: &str) -> Option<&'static str> {
    Some(match plural {
        "nodes" => "Node",
        "pods" => "Pod",
        "daemonsets" => "DaemonSet",
        "deployments" => "Deployment",
        "statefulsets" => "StatefulSet",
        "replicasets" => "ReplicaSet",
        "serviceaccounts" => "ServiceAccount",
        "services" => "Service",
        "configmaps" => "ConfigMap",
        "events" => "Event",
        "networkpolicies" => "NetworkPolicy",
        "ciliumnetworkpolicies" => "CiliumNetworkPolicy",
        "ciliumclusterwidenetworkpolicies" => "CiliumClusterwideNetworkPolicy",
        "ciliumendpoints" => "CiliumEndpoint",
        "ciliumnodes" => "CiliumNode",
        "securitygrouppolicies" => "SecurityGroupPolicy",
        "validatingwebhookconfigurations" => "ValidatingWebhookConfiguration",
        "mutatingwebhookconfigurations" => "MutatingWebhookConfiguration",
        "customresourcedefinitions" => "CustomResourceDefinition",
        "clusterroles" => "ClusterRole",
        "clusterrolebindings" => "ClusterRoleBinding",
        "namespaces" => "Namespace",
        "nodepools" => "NodePool",
        "ec2nodeclasses" => "EC2NodeClass",
        "eniconfigs" => "ENIConfig",
        "secrets" => "Secret",
        _ => return None,
    })
}

/// The kind a file's name says it lists, as `scripts/dump.sh` and people
/// name them (`ciliumendpoints.json`, `k8s-ciliumendpoints.yaml`,
/// `ciliumendpoints-20261126-101500.yaml` in a sysdump): a whole word of the
/// base name that is a resource's plural. Only for an empty generic `List`,
/// which says nothing else about what it lists.
fn kind_from_file_name(source: &str) -> Option<&'static str> {
    // `snapshot.tar.gz!dir/name.json`: the member's own name.
    let name = source.rsplit(['/', '\\', '!']).next()?;
    let mut kinds = name
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter_map(|word| kind_of_plural(&word.to_ascii_lowercase()));
    let kind = kinds.next()?;
    // Two kinds in one name (`pods-and-nodes.json`): not a name to trust.
    kinds.next().is_none().then_some(kind)
}

/// Parse one object. `list_kind` is the item kind a typed List implies
/// (`PodList` → `Pod`); the object's own `kind` wins over it.
pub(super) fn convert<S: Source + ?Sized>(
    src: &S,
    list_kind: Option<&str>,
) -> Result<Converted, Fail> {
    convert_or_defer(src, list_kind, false).map(|c| c.unwrap_or(Converted::NoKind))
}

/// [`convert`] for an item of a List whose own `kind` is not known yet
/// (it follows `items`): `None` when the item has no `kind` of its own, so
/// it must be converted again once the List's kind is known.
pub(super) fn convert_or_defer<S: Source + ?Sized>(
    src: &S,
    list_kind: Option<&str>,
    defer_without_kind: bool,
) -> Result<Option<Converted>, Fail> {
    if let Some(converted) = src
        .json_text()
        .and_then(|text| convert_once(text, list_kind, defer_without_kind))
    {
        return Ok(converted);
    }
    let probe: Probe = match src.parse() {
        Ok(p) => p,
        Err(Fail::Invalid(why)) => return Ok(Some(Converted::Invalid(format!("object: {why}")))),
        Err(e) => return Err(e),
    };
    if defer_without_kind && probe.kind.as_deref().is_none_or(str::is_empty) {
        return Ok(None);
    }
    let kind = probe
        .kind
        .as_deref()
        .filter(|k| !k.is_empty())
        .or(list_kind)
        .or_else(|| {
            probe
                .metadata
                .self_link
                .as_deref()
                .and_then(kind_from_self_link)
        });
    let Some(kind) = kind else {
        return Ok(Some(Converted::NoKind));
    };
    let namespace = probe.metadata.namespace.as_deref().unwrap_or("");
    let name = probe.metadata.name.as_deref().unwrap_or("");
    let object = match parse_kind(src, kind) {
        Ok(Some(Object::Presence(_))) => Object::Presence(ObjectKey::new(kind, namespace, name)),
        Ok(Some(object)) => object,
        Ok(None) => return Ok(Some(Converted::Unused(kind.to_string()))),
        Err(Fail::Invalid(why)) => {
            let at = match (namespace, name) {
                (_, "") => "(unnamed)".to_string(),
                ("", name) => name.to_string(),
                (namespace, name) => format!("{namespace}/{name}"),
            };
            return Ok(Some(Converted::Invalid(format!("{kind} {at}: {why}"))));
        }
        Err(e) => return Err(e),
    };
    Ok(Some(Converted::Used {
        kind: kind_name(kind),
        object: Box::new(object),
    }))
}

/// The common case in one parse ([`one_pass`]): an object of a kind the
/// model keeps, parsed without a hitch. `None` leaves the object to the
/// general path (probe, then typed parse), which gives the same results.
fn convert_once(
    text: &str,
    list_kind: Option<&str>,
    defer_without_kind: bool,
) -> Option<Option<Converted>> {
    let own = one_pass::peek_kind(text)?;
    let kind = match own.filter(|k| !k.is_empty()) {
        Some(kind) => kind,
        None if defer_without_kind => return Some(None),
        // No kind of its own: the List's, or (general path) the selfLink's.
        None => list_kind?,
    };
    let src = one_pass::Noted { text, kind: own };
    let object = parse_kind(&src, kind).ok()??;
    if let Object::Presence(_) = object {
        // Its name is only in the probe.
        return None;
    }
    Some(Some(Converted::Used {
        kind: kind_name(kind),
        object: Box::new(object),
    }))
}

/// A kept kind names itself with the table's static name: no copy per object.
fn kind_name(kind: &str) -> Cow<'static, str> {
    match model::kept_kind(kind) {
        Some((kept, _)) => Cow::Borrowed(kept),
        None => Cow::Owned(kind.to_string()),
    }
}

fn parse_kind<S: Source + ?Sized>(src: &S, kind: &str) -> Result<Option<Object>, Fail> {
    fn p<T: DeserializeOwned, S: Source + ?Sized>(src: &S) -> Result<T, Fail> {
        src.parse()
    }
    fn workload<S: Source + ?Sized>(src: &S, kind: &str) -> Result<model::Workload, Fail> {
        let mut w: model::Workload = src.parse()?;
        w.kind = kind.to_string();
        Ok(w)
    }
    // Secrets and every other kind are never kept.
    let Some((kind, collection)) = model::kept_kind(kind) else {
        return Ok(None);
    };
    Ok(Some(match collection {
        Collection::Nodes => Object::Node(p(src)?),
        Collection::Pods => Object::Pod(p(src)?),
        Collection::DaemonSets => Object::DaemonSet(workload(src, kind)?),
        Collection::Workloads => Object::Deployment(workload(src, kind)?),
        Collection::ServiceAccounts => Object::ServiceAccount(p(src)?),
        Collection::Services => Object::Service(p(src)?),
        Collection::ConfigMaps => Object::ConfigMap(p(src)?),
        Collection::Webhooks => {
            let mut w: model::WebhookConfiguration = p(src)?;
            w.kind = kind.to_string();
            Object::Webhook(w)
        }
        Collection::Events => Object::Event(p(src)?),
        Collection::SecurityGroupPolicies => Object::SecurityGroupPolicy(p(src)?),
        Collection::NetworkPolicies => {
            #[derive(Deserialize)]
            struct Policy {
                #[serde(default)]
                metadata: model::Meta,
                #[serde(default, deserialize_with = "model::kube::null_default")]
                spec: policy::Spec,
                /// CiliumNetworkPolicy `specs`: several rules in one object.
                #[serde(default, deserialize_with = "model::kube::null_default")]
                specs: Vec<policy::Spec>,
            }
            let policy: Policy = p(src)?;
            let mut specs = vec![policy.spec];
            specs.extend(policy.specs);
            let egress = policy::egress(kind, &specs);
            let selector = specs
                .iter()
                .find_map(|s| {
                    s.pod_selector
                        .clone()
                        .or_else(|| s.endpoint_selector.clone())
                })
                .unwrap_or_default();
            Object::NetworkPolicy(model::NetworkPolicy {
                kind: kind.to_string(),
                metadata: policy.metadata,
                selector,
                egress,
            })
        }
        Collection::CiliumEndpoints => Object::CiliumEndpoint(p(src)?),
        Collection::CiliumNodes => Object::CiliumNode(p(src)?),
        Collection::NodePools => Object::NodePool(p(src)?),
        Collection::Ec2NodeClasses => Object::Ec2NodeClass(p(src)?),
        Collection::Presence => Object::Presence(ObjectKey::default()),
    }))
}

/// A provided list (even empty) marks its typed collection as present;
/// false when the rules use no collection or presence of that kind.
pub(super) fn mark_listed(cluster: &mut Cluster, kind: &str) -> bool {
    // The kind's name is copied once per kind.
    if !cluster.kinds_listed.contains(kind) {
        cluster.kinds_listed.insert(kind.to_string());
    }
    let Some((_, collection)) = model::kept_kind(kind) else {
        return false;
    };
    if let Some(slot) = collection_slot(cluster, collection) {
        slot.mark_provided();
    }
    true
}

/// Room for `additional` objects of `kind` in their collection, reserved
/// before a streamed List's items are added: grown one object at a time, a
/// collection of 150,000 pods is copied (and fresh memory faulted in) again
/// at every doubling.
pub(super) fn reserve(cluster: &mut Cluster, kind: &str, additional: usize) {
    if let Some(slot) = model::kept_kind(kind).and_then(|(_, c)| collection_slot(cluster, c)) {
        slot.reserve(additional);
    }
}

/// A typed collection, whatever its object type.
trait Slot {
    fn mark_provided(&mut self);
    fn reserve(&mut self, additional: usize);
}

impl<T> Slot for Option<Vec<T>> {
    fn mark_provided(&mut self) {
        self.get_or_insert_with(Vec::new);
    }
    fn reserve(&mut self, additional: usize) {
        self.get_or_insert_with(Vec::new).reserve(additional);
    }
}

/// The model's collection of `collection`; none for presence-only kinds.
fn collection_slot(cluster: &mut Cluster, collection: Collection) -> Option<&mut dyn Slot> {
    let c = cluster;
    Some(match collection {
        Collection::Nodes => &mut c.nodes,
        Collection::Pods => &mut c.pods,
        Collection::DaemonSets => &mut c.daemonsets,
        Collection::Workloads => &mut c.deployments,
        Collection::ServiceAccounts => &mut c.service_accounts,
        Collection::Services => &mut c.services,
        Collection::ConfigMaps => &mut c.config_maps,
        Collection::Webhooks => &mut c.webhook_configurations,
        Collection::Events => &mut c.events,
        Collection::SecurityGroupPolicies => &mut c.security_group_policies,
        Collection::NetworkPolicies => &mut c.network_policies,
        Collection::CiliumEndpoints => &mut c.cilium_endpoints,
        Collection::CiliumNodes => &mut c.cilium_nodes,
        Collection::NodePools => &mut c.node_pools,
        Collection::Ec2NodeClasses => &mut c.ec2_node_classes,
        Collection::Presence => return None,
    })
}

/// `object`, marked with the input it was read from.
fn from_input<T: model::kube::KubeObject>(mut object: T, input: u32) -> [T; 1] {
    object.meta_mut().input = input;
    [object]
}

fn add(cluster: &mut Cluster, object: Object, input: u32) {
    let i = input;
    match object {
        Object::Node(o) => extend(&mut cluster.nodes, from_input(o, i)),
        Object::Pod(o) => extend(&mut cluster.pods, from_input(o, i)),
        Object::DaemonSet(o) => extend(&mut cluster.daemonsets, from_input(o, i)),
        Object::Deployment(o) => extend(&mut cluster.deployments, from_input(o, i)),
        Object::ServiceAccount(o) => extend(&mut cluster.service_accounts, from_input(o, i)),
        Object::Service(o) => extend(&mut cluster.services, from_input(o, i)),
        Object::ConfigMap(o) => extend(&mut cluster.config_maps, from_input(o, i)),
        Object::Webhook(o) => extend(&mut cluster.webhook_configurations, from_input(o, i)),
        Object::Event(o) => extend(&mut cluster.events, from_input(o, i)),
        Object::SecurityGroupPolicy(o) => {
            extend(&mut cluster.security_group_policies, from_input(o, i))
        }
        Object::NetworkPolicy(o) => extend(&mut cluster.network_policies, from_input(o, i)),
        Object::CiliumEndpoint(o) => extend(&mut cluster.cilium_endpoints, from_input(o, i)),
        Object::CiliumNode(o) => extend(&mut cluster.cilium_nodes, from_input(o, i)),
        Object::NodePool(o) => extend(&mut cluster.node_pools, from_input(o, i)),
        Object::Ec2NodeClass(o) => extend(&mut cluster.ec2_node_classes, from_input(o, i)),
        // Typed objects are found in their collections (`Cluster::has_object`).
        Object::Presence(key) => {
            cluster.objects.insert(key);
        }
    }
}

/// Where an object sits in its input, named in a skip reason; formatted
/// only when an object is skipped, never for every object read.
#[derive(Debug, Clone, Copy)]
pub(super) enum Position<'a> {
    /// The index of a List item.
    Item(usize),
    /// A document named by its reader (`JSON`, `YAML document 2`).
    Named(&'a str),
}

impl std::fmt::Display for Position<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Position::Item(index) => write!(f, "item {index}"),
            Position::Named(what) => f.write_str(what),
        }
    }
}

/// Add one converted object; `what` names it in a skip reason.
pub(super) fn apply(loader: &mut Loader, source: &str, what: Position, converted: Converted) {
    match converted {
        Converted::Used { kind, object } => {
            add(&mut loader.cluster, *object, loader.current_input);
            // Marked once per run of objects of one kind, not per object.
            if loader.last_listed.as_deref() != Some(&*kind) {
                mark_listed(&mut loader.cluster, &kind);
                loader.last_listed = Some(kind);
            }
            loader.tally.used += 1;
        }
        Converted::Unused(kind) => loader.tally.unused_kind(&kind),
        Converted::NoKind => loader.tally.no_kind += 1,
        Converted::Invalid(why) => {
            loader.tally.invalid += 1;
            loader.skip(source, format!("{what}: {why}; object skipped"));
        }
    }
}

/// The item kind a List implies: `PodList` → `Pod`, `List` → none.
pub(super) fn item_kind(list_kind: Option<&str>) -> Option<&str> {
    list_kind
        .and_then(|k| k.strip_suffix("List"))
        .filter(|k| !k.is_empty())
}

/// Start a List: a typed List marks its collection as provided even when
/// empty (an empty `PodList` tells the rules there are no pods).
pub(super) fn begin_list(loader: &mut Loader, source: &str, list_kind: Option<&str>, len: usize) {
    let generic = list_kind.is_none_or(|k| k == "List");
    if len == 0 && generic {
        if let Some(kind) = kind_from_file_name(source) {
            if mark_listed(&mut loader.cluster, kind) {
                loader.tally.used += 1;
                loader.notes.push(InputNote {
                    path: source.to_string(),
                    note: format!(
                        "an empty List: its kind, {kind}, taken from the file name (kubectl writes \
                         `kind: List` for an empty result)"
                    ),
                });
                return;
            }
        }
    }
    let used = item_kind(list_kind).is_some_and(|kind| mark_listed(&mut loader.cluster, kind));
    if len == 0 {
        if used {
            loader.tally.used += 1;
        } else {
            loader
                .tally
                .note(format!("empty {} (no items)", list_kind.unwrap_or("List")));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_parsed_is_a_kept_kind() {
        for (kind, _) in model::KEPT_KINDS {
            let doc = serde_json::json!({"kind": kind, "metadata": {"name": "x"}});
            assert!(
                parse_kind(&doc, kind).unwrap().is_some(),
                "{kind} is kept but not parsed"
            );
        }
        let doc = serde_json::json!({"kind": "Secret", "metadata": {"name": "x"}});
        assert!(parse_kind(&doc, "Secret").unwrap().is_none());
    }

    #[test]
    fn every_kept_kind_is_listed_and_looked_up_through_its_collection() {
        let mut cluster = Cluster::default();
        for (kind, collection) in model::KEPT_KINDS {
            assert!(
                mark_listed(&mut cluster, kind),
                "{kind} is kept but not marked"
            );
            assert!(matches!(kind_name(kind), Cow::Borrowed(_)), "{kind} copied");
            assert_eq!(
                cluster.metas_of_kind(kind).is_some(),
                *collection != Collection::Presence,
                "{kind}: typed collections are looked up, presence kinds are not"
            );
        }
        assert!(!mark_listed(&mut cluster, "Secret"));
    }

    #[test]
    fn kinds_from_self_links() {
        assert_eq!(
            kind_from_self_link("/api/v1/nodes/ip-10-0-1-1"),
            Some("Node")
        );
        assert_eq!(
            kind_from_self_link("/api/v1/namespaces/kube-system/pods/calico-1"),
            Some("Pod")
        );
        assert_eq!(
            kind_from_self_link("/apis/apps/v1beta2/namespaces/kube-system/daemonsets/kube-proxy"),
            Some("DaemonSet")
        );
        assert_eq!(kind_from_self_link("/apis/foo/v1/widgets/w"), None);
        assert_eq!(kind_from_self_link(""), None);
        assert_eq!(item_kind(Some("PodList")), Some("Pod"));
        assert_eq!(item_kind(Some("List")), None);
    }
}

/// The egress side of NetworkPolicy / CiliumNetworkPolicy specs.
mod policy {
    use serde::Deserialize;
    use serde_json::Value;

    use crate::model::{self, PolicyEgress};

    #[derive(Deserialize, Default)]
    #[serde(rename_all = "camelCase")]
    pub(super) struct Spec {
        #[serde(default)]
        pub pod_selector: Option<model::LabelSelector>,
        #[serde(default)]
        pub endpoint_selector: Option<model::LabelSelector>,
        #[serde(default)]
        policy_types: Option<Vec<String>>,
        #[serde(default)]
        egress: Option<Vec<Value>>,
        #[serde(default)]
        egress_deny: Option<Vec<Value>>,
        #[serde(default)]
        enable_default_deny: Option<Value>,
    }

    /// Cilium entities that include the local host.
    const HOST_ENTITIES: [&str; 3] = ["host", "cluster", "all"];
    /// NetworkPolicy peer keys and Cilium egress selector keys.
    const PEER_KEYS: [&str; 12] = [
        "ipBlock",
        "podSelector",
        "namespaceSelector",
        "toEndpoints",
        "toCIDR",
        "toCIDRSet",
        "toEntities",
        "toFQDNs",
        "toServices",
        "toGroups",
        "toNodes",
        "toRequires",
    ];

    /// The TCP ports a rule opens (`0`: every port), from NetworkPolicy
    /// `ports` or Cilium `toPorts`; None: the rule names no ports.
    fn tcp_ports(rule: &Value, kind: &str) -> Option<Vec<u16>> {
        let entries: Vec<&Value> = if kind == "NetworkPolicy" {
            rule.get("ports")?.as_array()?.iter().collect()
        } else {
            rule.get("toPorts")?
                .as_array()?
                .iter()
                .filter_map(|p| p.get("ports")?.as_array())
                .flatten()
                .collect()
        };
        let mut out = Vec::new();
        for e in entries {
            let protocol = e.get("protocol").and_then(Value::as_str).unwrap_or("TCP");
            if !matches!(protocol, "TCP" | "ANY") {
                continue;
            }
            let port = match e.get("port") {
                None => Some(0),
                Some(Value::Number(n)) => n.as_u64().and_then(|n| u16::try_from(n).ok()),
                Some(Value::String(s)) => s.parse::<u16>().ok(),
                _ => None,
            };
            let Some(port) = port else { continue };
            let end = e
                .get("endPort")
                .and_then(Value::as_u64)
                .and_then(|n| u16::try_from(n).ok());
            match end {
                Some(end) if port != 0 && end >= port && end - port < 1024 => {
                    out.extend(port..=end)
                }
                Some(_) if port != 0 => out.push(0),
                _ => out.push(port),
            }
        }
        Some(out)
    }

    fn describe(key: &str, value: &Value) -> String {
        let text = match value {
            Value::Array(a) => a
                .iter()
                .map(|v| match v {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                })
                .collect::<Vec<_>>()
                .join(", "),
            Value::Object(o) if key == "ipBlock" => o
                .get("cidr")
                .and_then(Value::as_str)
                .unwrap_or("?")
                .to_string(),
            other => other.to_string(),
        };
        format!("{key} {text}")
    }

    /// The egress side of a policy's specs; None when none restricts egress.
    pub(super) fn egress(kind: &str, specs: &[Spec]) -> Option<PolicyEgress> {
        let mut restricts = false;
        let mut out = PolicyEgress::default();
        for spec in specs {
            let rules = spec.egress.as_deref().unwrap_or_default();
            let enforced = if kind == "NetworkPolicy" {
                match &spec.policy_types {
                    Some(types) => types.iter().any(|t| t == "Egress"),
                    None => spec.egress.is_some(),
                }
            } else {
                let default_deny = spec
                    .enable_default_deny
                    .as_ref()
                    .and_then(|d| d.get("egress"))
                    .and_then(Value::as_bool)
                    .unwrap_or(true);
                (spec.egress.is_some() || spec.egress_deny.is_some()) && default_deny
            };
            if !enforced {
                continue;
            }
            restricts = true;
            for rule in rules {
                let peers: Vec<(&str, &Value)> = if kind == "NetworkPolicy" {
                    rule.get("to")
                        .and_then(Value::as_array)
                        .into_iter()
                        .flatten()
                        .filter_map(Value::as_object)
                        .flat_map(|o| o.iter().map(|(k, v)| (k.as_str(), v)))
                        .filter(|(k, _)| PEER_KEYS.contains(k))
                        .collect()
                } else {
                    rule.as_object()
                        .into_iter()
                        .flat_map(|o| o.iter().map(|(k, v)| (k.as_str(), v)))
                        .filter(|(k, _)| PEER_KEYS.contains(k))
                        .collect()
                };
                for (k, v) in &peers {
                    out.peers.push(describe(k, v));
                }
                let reaches_host = peers.is_empty()
                    || peers.iter().any(|(k, v)| {
                        *k == "toEntities"
                            && v.as_array().is_some_and(|a| {
                                a.iter()
                                    .filter_map(Value::as_str)
                                    .any(|e| HOST_ENTITIES.contains(&e))
                            })
                    });
                if !reaches_host {
                    continue;
                }
                match tcp_ports(rule, kind) {
                    None => out.allows_host_on.push(0),
                    Some(ports) => out.allows_host_on.extend(ports),
                }
            }
        }
        out.allows_host_on.sort_unstable();
        out.allows_host_on.dedup();
        restricts.then_some(out)
    }
}
