//! One object per identity. People attach a dump and a sysdump of the same
//! cluster, or give a directory twice: an object read from several inputs
//! (same kind, namespace, name and uid) is kept once, the copy with the
//! newest `resourceVersion`, and the report says which inputs overlapped.

use std::collections::BTreeMap;

use foldhash::{HashMap, HashMapExt};

use crate::findings::InputNote;
use crate::model::kube::KubeObject;
use crate::model::Cluster;

/// (input of the dropped copy, input of the kept copy) → objects by kind.
type Overlaps = BTreeMap<(u32, u32), BTreeMap<String, usize>>;

/// Drop the repeated objects of every typed collection; one note per pair
/// of inputs that overlapped.
pub(super) fn one_of_each(cluster: &mut Cluster, inputs: &[String]) -> Vec<InputNote> {
    let mut overlaps = Overlaps::new();
    let c = cluster;
    keep_newest(&mut c.nodes, "Node", &mut overlaps);
    keep_newest(&mut c.pods, "Pod", &mut overlaps);
    keep_newest(&mut c.daemonsets, "DaemonSet", &mut overlaps);
    keep_newest(&mut c.deployments, "Deployment", &mut overlaps);
    keep_newest(&mut c.service_accounts, "ServiceAccount", &mut overlaps);
    keep_newest(&mut c.services, "Service", &mut overlaps);
    keep_newest(&mut c.config_maps, "ConfigMap", &mut overlaps);
    keep_newest(
        &mut c.webhook_configurations,
        "WebhookConfiguration",
        &mut overlaps,
    );
    keep_newest(&mut c.events, "Event", &mut overlaps);
    keep_newest(
        &mut c.security_group_policies,
        "SecurityGroupPolicy",
        &mut overlaps,
    );
    keep_newest(&mut c.network_policies, "NetworkPolicy", &mut overlaps);
    keep_newest(&mut c.cilium_endpoints, "CiliumEndpoint", &mut overlaps);
    keep_newest(&mut c.cilium_nodes, "CiliumNode", &mut overlaps);
    keep_newest(&mut c.node_pools, "NodePool", &mut overlaps);
    keep_newest(&mut c.ec2_node_classes, "EC2NodeClass", &mut overlaps);
    let name = |i: u32| inputs.get(i as usize).map_or("?", String::as_str);
    overlaps
        .into_iter()
        .map(|((dropped, kept), kinds)| {
            let counts: Vec<String> = kinds
                .iter()
                .map(|(kind, n)| format!("{n} {kind}"))
                .collect();
            let note = if dropped == kept {
                format!("objects listed twice ({}): counted once", counts.join(", "))
            } else {
                format!(
                    "the same objects as {} ({}): counted once, the newer resourceVersion kept",
                    name(kept),
                    counts.join(", ")
                )
            };
            InputNote {
                path: name(dropped).to_string(),
                note,
            }
        })
        .collect()
}

fn keep_newest<T: KubeObject>(items: &mut Option<Vec<T>>, usual: &str, overlaps: &mut Overlaps) {
    let Some(list) = items.as_mut() else {
        return;
    };
    // One input per collection is the common case: nothing to compare.
    let first = list.first().map(|o| o.meta().input);
    if list.iter().all(|o| Some(o.meta().input) == first) {
        return;
    }
    let mut seen: HashMap<(&str, &str, &str, u64), usize> = HashMap::with_capacity(list.len());
    // Indexes to drop, and for each kept index the winner's position.
    let mut drop = vec![false; list.len()];
    for (index, object) in list.iter().enumerate() {
        let meta = object.meta();
        let kind = match object.own_kind() {
            "" => usual,
            own => own,
        };
        let key = (kind, meta.namespace(), meta.name.as_str(), meta.uid);
        match seen.get(&key) {
            None => {
                seen.insert(key, index);
            }
            Some(&earlier) => {
                let old = list[earlier].meta();
                let (lose, win) = if meta.resource_version > old.resource_version {
                    (earlier, index)
                } else {
                    (index, earlier)
                };
                drop[lose] = true;
                let pair = (list[lose].meta().input, list[win].meta().input);
                *overlaps
                    .entry(pair)
                    .or_default()
                    .entry(kind.to_string())
                    .or_default() += 1;
                seen.insert(key, win);
            }
        }
    }
    if !drop.iter().any(|d| *d) {
        return;
    }
    let mut index = 0;
    list.retain(|_| {
        let keep = !drop[index];
        index += 1;
        keep
    });
}
