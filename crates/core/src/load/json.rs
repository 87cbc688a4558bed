//! JSON inputs: Kubernetes objects and Lists (kubectl / API), `kubectl
//! version`, and the AWS CLI shapes. The top level is split into raw slices
//! first, so a large List is parsed once, item by item, straight into the
//! lean model types.

use std::borrow::Cow;
use std::collections::BTreeMap;

use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::value::RawValue;

use super::LoadError;
use crate::findings::SkippedInput;
use crate::model::{self, extend, Cluster, ObjectKey};

type TopLevel<'a> = BTreeMap<Cow<'a, str>, &'a RawValue>;

fn malformed(source: &str, message: impl Into<String>) -> LoadError {
    LoadError::Malformed {
        path: source.to_string(),
        location: None,
        message: message.into(),
    }
}

fn json_error(source: &str, e: &serde_json::Error) -> LoadError {
    LoadError::Malformed {
        path: source.to_string(),
        location: Some(format!("line {} column {}", e.line(), e.column())),
        message: format!("invalid JSON: {e}"),
    }
}

fn parse<T: DeserializeOwned>(source: &str, what: &str, raw: &RawValue) -> Result<T, LoadError> {
    serde_json::from_str(raw.get()).map_err(|e| malformed(source, format!("{what}: {e}")))
}

/// Load one JSON document.
pub(super) fn load_json(
    cluster: &mut Cluster,
    skipped: &mut Vec<SkippedInput>,
    source: &str,
    text: &str,
) -> Result<(), LoadError> {
    if text.trim_start().starts_with('[') {
        // A bare array of Kubernetes objects (some dump tools write these).
        let items: Vec<&RawValue> =
            serde_json::from_str(text).map_err(|e| json_error(source, &e))?;
        return load_items(cluster, skipped, source, None, &items);
    }
    let top: TopLevel = serde_json::from_str(text).map_err(|e| json_error(source, &e))?;
    let has = |k: &str| top.contains_key(k);

    if has("kind") || has("items") {
        return load_kube(cluster, skipped, source, &top);
    }
    if let Some(raw) = top.get("serverVersion") {
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Info {
            git_version: String,
        }
        let info: Info = parse(source, "serverVersion", raw)?;
        let version = info
            .git_version
            .parse()
            .map_err(|e: String| malformed(source, format!("serverVersion.gitVersion: {e}")))?;
        cluster.server_version = Some(model::ServerVersion {
            git_version: info.git_version,
            version,
        });
        return Ok(());
    }
    if let Some(raw) = top.get("cluster") {
        cluster.eks = Some(parse(source, "EKS cluster", raw)?);
        return Ok(());
    }
    if let Some(raw) = top.get("nodegroup") {
        extend(
            &mut cluster.nodegroups,
            [parse(source, "EKS nodegroup", raw)?],
        );
        return Ok(());
    }
    if let Some(raw) = top.get("addons") {
        let names: Vec<String> = parse(source, "EKS add-on names", raw)?;
        extend(&mut cluster.addon_names, names);
        return Ok(());
    }
    if let Some(raw) = top.get("addon") {
        extend(&mut cluster.addons, [parse(source, "EKS add-on", raw)?]);
        return Ok(());
    }
    if let Some(raw) = top.get("Subnets") {
        let v: Vec<model::Subnet> = parse(source, "Subnets", raw)?;
        extend(&mut cluster.subnets, v);
        return Ok(());
    }
    if let Some(raw) = top.get("Vpcs") {
        let v: Vec<model::Vpc> = parse(source, "Vpcs", raw)?;
        extend(&mut cluster.vpcs, v);
        return Ok(());
    }
    if let Some(raw) = top.get("RouteTables") {
        let v: Vec<model::RouteTable> = parse(source, "RouteTables", raw)?;
        extend(&mut cluster.route_tables, v);
        return Ok(());
    }
    if let Some(raw) = top.get("SecurityGroups") {
        let v: Vec<model::SecurityGroup> = parse(source, "SecurityGroups", raw)?;
        extend(&mut cluster.security_groups, v);
        return Ok(());
    }
    if let Some(raw) = top.get("NetworkInterfaces") {
        let v: Vec<model::NetworkInterface> = parse(source, "NetworkInterfaces", raw)?;
        extend(&mut cluster.network_interfaces, v);
        return Ok(());
    }
    if let Some(raw) = top.get("VpcPeeringConnections") {
        let v: Vec<model::VpcPeeringConnection> = parse(source, "VpcPeeringConnections", raw)?;
        extend(&mut cluster.peering_connections, v);
        return Ok(());
    }
    if let Some(raw) = top.get("Reservations") {
        #[derive(Deserialize)]
        #[serde(rename_all = "PascalCase")]
        struct Reservation {
            #[serde(default, deserialize_with = "model::kube::null_default")]
            instances: Vec<model::Ec2Instance>,
        }
        let v: Vec<Reservation> = parse(source, "Reservations", raw)?;
        extend(
            &mut cluster.instances,
            v.into_iter().flat_map(|r| r.instances),
        );
        return Ok(());
    }
    skipped.push(SkippedInput {
        path: source.to_string(),
        reason: "JSON of no recognised shape (not a Kubernetes object/List, kubectl version, or a known AWS CLI output)".into(),
    });
    Ok(())
}

#[derive(Deserialize)]
struct KindProbe {
    #[serde(default)]
    kind: Option<String>,
}

fn load_kube(
    cluster: &mut Cluster,
    skipped: &mut Vec<SkippedInput>,
    source: &str,
    top: &TopLevel,
) -> Result<(), LoadError> {
    let kind: Option<String> = match top.get("kind") {
        Some(raw) => parse(source, "kind", raw)?,
        None => None,
    };
    if let Some(items) = top.get("items") {
        let items: Vec<&RawValue> = serde_json::from_str(items.get())
            .map_err(|e| malformed(source, format!("items: {e}")))?;
        // `PodList` items may omit their own kind; `List` items carry it.
        let item_kind = kind
            .as_deref()
            .and_then(|k| k.strip_suffix("List"))
            .filter(|k| !k.is_empty());
        return load_items(cluster, skipped, source, item_kind, &items);
    }
    let raw = serde_json::to_string(top).map_err(|e| malformed(source, e.to_string()))?;
    let raw = RawValue::from_string(raw).map_err(|e| malformed(source, e.to_string()))?;
    load_items(cluster, skipped, source, None, &[&raw])
}

fn load_items(
    cluster: &mut Cluster,
    skipped: &mut Vec<SkippedInput>,
    source: &str,
    default_kind: Option<&str>,
    items: &[&RawValue],
) -> Result<(), LoadError> {
    if let Some(kind) = default_kind {
        mark_listed(cluster, kind);
    }
    let mut unknown: BTreeMap<String, usize> = BTreeMap::new();
    for (index, raw) in items.iter().enumerate() {
        let probe: KindProbe = parse(source, &format!("item {index}"), raw)?;
        let Some(kind) = probe.kind.as_deref().or(default_kind) else {
            *unknown.entry("(no kind)".into()).or_default() += 1;
            continue;
        };
        let what = format!("item {index} ({kind})");
        if !add_object(cluster, source, &what, kind, raw)? {
            *unknown.entry(kind.to_string()).or_default() += 1;
        }
    }
    if !unknown.is_empty() && unknown.values().sum::<usize>() == items.len() && !items.is_empty() {
        let kinds: Vec<String> = unknown.iter().map(|(k, n)| format!("{k} ×{n}")).collect();
        skipped.push(SkippedInput {
            path: source.to_string(),
            reason: format!("no object the rules use ({})", kinds.join(", ")),
        });
    }
    Ok(())
}

fn mark_listed(cluster: &mut Cluster, kind: &str) {
    cluster.kinds_listed.insert(kind.to_string());
    // A provided list (even empty) marks its typed collection as present.
    match kind {
        "Node" => extend(&mut cluster.nodes, []),
        "Pod" => extend(&mut cluster.pods, []),
        "DaemonSet" => extend(&mut cluster.daemonsets, []),
        "Deployment" | "StatefulSet" | "ReplicaSet" => extend(&mut cluster.deployments, []),
        "ServiceAccount" => extend(&mut cluster.service_accounts, []),
        "Service" => extend(&mut cluster.services, []),
        "ConfigMap" => extend(&mut cluster.config_maps, []),
        "ValidatingWebhookConfiguration" | "MutatingWebhookConfiguration" => {
            extend(&mut cluster.webhook_configurations, [])
        }
        "Event" => extend(&mut cluster.events, []),
        "SecurityGroupPolicy" => extend(&mut cluster.security_group_policies, []),
        "NetworkPolicy" | "CiliumNetworkPolicy" | "CiliumClusterwideNetworkPolicy" => {
            extend(&mut cluster.network_policies, [])
        }
        "CiliumEndpoint" => extend(&mut cluster.cilium_endpoints, []),
        "CiliumNode" => extend(&mut cluster.cilium_nodes, []),
        "NodePool" => extend(&mut cluster.node_pools, []),
        _ => {}
    }
}

/// Add one object of `kind`; false when the rules have no use for the kind.
fn add_object(
    cluster: &mut Cluster,
    source: &str,
    what: &str,
    kind: &str,
    raw: &RawValue,
) -> Result<bool, LoadError> {
    #[derive(Deserialize, Default)]
    struct MetaOnly {
        #[serde(default)]
        metadata: model::Meta,
    }
    let meta: MetaOnly = parse(source, what, raw)?;
    let key = ObjectKey::new(kind, meta.metadata.namespace(), &meta.metadata.name);
    match kind {
        "Node" => extend(&mut cluster.nodes, [parse(source, what, raw)?]),
        "Pod" => extend(&mut cluster.pods, [parse(source, what, raw)?]),
        "DaemonSet" | "Deployment" | "StatefulSet" | "ReplicaSet" => {
            let mut w: model::Workload = parse(source, what, raw)?;
            w.kind = kind.to_string();
            if kind == "DaemonSet" {
                extend(&mut cluster.daemonsets, [w]);
            } else {
                extend(&mut cluster.deployments, [w]);
            }
        }
        "ServiceAccount" => extend(&mut cluster.service_accounts, [parse(source, what, raw)?]),
        "Service" => extend(&mut cluster.services, [parse(source, what, raw)?]),
        "ConfigMap" => extend(&mut cluster.config_maps, [parse(source, what, raw)?]),
        "ValidatingWebhookConfiguration" | "MutatingWebhookConfiguration" => {
            let mut w: model::WebhookConfiguration = parse(source, what, raw)?;
            w.kind = kind.to_string();
            extend(&mut cluster.webhook_configurations, [w]);
        }
        "Event" => extend(&mut cluster.events, [parse(source, what, raw)?]),
        "SecurityGroupPolicy" => extend(
            &mut cluster.security_group_policies,
            [parse(source, what, raw)?],
        ),
        "NetworkPolicy" | "CiliumNetworkPolicy" | "CiliumClusterwideNetworkPolicy" => {
            #[derive(Deserialize, Default)]
            #[serde(rename_all = "camelCase")]
            struct Spec {
                #[serde(default)]
                pod_selector: Option<model::LabelSelector>,
                #[serde(default)]
                endpoint_selector: Option<model::LabelSelector>,
            }
            #[derive(Deserialize)]
            struct Policy {
                #[serde(default)]
                metadata: model::Meta,
                #[serde(default)]
                spec: Spec,
            }
            let p: Policy = parse(source, what, raw)?;
            extend(
                &mut cluster.network_policies,
                [model::NetworkPolicy {
                    kind: kind.to_string(),
                    metadata: p.metadata,
                    selector: p
                        .spec
                        .pod_selector
                        .or(p.spec.endpoint_selector)
                        .unwrap_or_default(),
                }],
            );
        }
        "CiliumEndpoint" => extend(&mut cluster.cilium_endpoints, [parse(source, what, raw)?]),
        "CiliumNode" => extend(&mut cluster.cilium_nodes, [parse(source, what, raw)?]),
        "NodePool" => extend(&mut cluster.node_pools, [parse(source, what, raw)?]),
        // Presence is all the rules need of these (e.g. VPC CNI leftovers).
        "ClusterRole" | "ClusterRoleBinding" | "CustomResourceDefinition" | "Namespace" => {}
        // Secrets and every other kind are never kept.
        _ => return Ok(false),
    }
    mark_listed(cluster, kind);
    cluster.objects.insert(key);
    Ok(true)
}
