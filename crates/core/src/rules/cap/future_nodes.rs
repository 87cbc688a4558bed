//! The max pods that nodes *will* get, before they exist: per EKS managed
//! node group (its launch template version's user data, or the EKS-built
//! default) and per Karpenter NodePool (its EC2NodeClass `spec.kubelet`, or
//! v1beta1 NodePool `spec.template.spec.kubelet`, else Karpenter's ENI-limited
//! formula), for every instance type the group can launch. The sources and
//! precedence are `data/eks.json` `max_pods_settings`.

use std::collections::BTreeSet;

use super::ip_capacity::{self, Limits};
use crate::knowledge::{Hypervisor, InstanceType};
use crate::model::{
    Ec2NodeClass, KarpenterKubelet, LaunchTemplateVersion, NodePool, NodeSelectorRequirement,
    Nodegroup,
};
use crate::rules::Context;
use crate::userdata::{self, Launch};

/// How one future node of one instance type is set up.
pub struct TypeMaxPods<'a> {
    pub instance_type: String,
    pub limits: Limits<'a>,
    pub max_pods: u32,
    /// How max pods was found, step by step (evidence).
    pub how: Vec<String>,
}

/// Where future nodes come from.
pub struct Source<'a> {
    /// `Nodegroup` or `NodePool` (the finding's object kind).
    pub kind: &'static str,
    pub name: String,
    /// What decides their max pods: `launch template lt version 3`,
    /// `EC2NodeClass default spec.kubelet.maxPods`…
    pub origin: String,
    /// The user-data setting (or object field) to change, when one sets it.
    pub setting: Option<String>,
    /// The user data's format, for the fix (node groups).
    pub format: Option<userdata::Format>,
    /// The node group's AMI type (`AL2023_x86_64_STANDARD`, `BOTTLEROCKET_…`).
    pub ami_type: Option<String>,
    /// The EC2NodeClass that takes the fix (NodePools).
    pub node_class: Option<String>,
    /// v1beta1: the NodePool's own kubelet block sets max pods.
    pub nodepool_kubelet: bool,
    pub types: Vec<TypeMaxPods<'a>>,
    /// Instance types allowed but not evaluated (limits unknown).
    pub unknown_types: BTreeSet<String>,
    /// Whether the source itself says what new nodes get (a launch template
    /// version, a NodePool); false for the default EKS builds, where running
    /// nodes of the group are better evidence.
    pub authoritative: bool,
}

/// Every node group and NodePool whose future nodes can be judged; the
/// second list says, per group, why it could not be (for evidence and the
/// not-evaluated entry).
pub fn sources<'a>(cx: &Context<'a>) -> (Vec<Source<'a>>, Vec<String>) {
    let mut out = Vec::new();
    let mut skipped = Vec::new();
    for ng in cx.cluster.nodegroups.as_deref().unwrap_or_default() {
        match nodegroup(cx, ng) {
            Ok(Some(s)) => out.push(s),
            Ok(None) => {}
            Err(why) => skipped.push(format!("node group {}: {why}", ng.nodegroup_name)),
        }
    }
    for pool in cx.cluster.node_pools.as_deref().unwrap_or_default() {
        match nodepool(cx, pool) {
            Ok(s) => out.push(s),
            Err(why) => skipped.push(format!("NodePool {}: {why}", pool.metadata.name)),
        }
    }
    (out, skipped)
}

/// The launch template version a node group uses (`$Latest`, `$Default` or
/// a number), among the versions in the snapshot.
pub fn launch_template_of<'a>(
    cx: &Context<'a>,
    ng: &Nodegroup,
) -> Option<Result<&'a LaunchTemplateVersion, String>> {
    let lt = ng.launch_template.as_ref()?;
    let versions = cx.cluster.launch_template_versions.as_deref();
    let label = lt
        .name
        .as_deref()
        .or(lt.id.as_deref())
        .unwrap_or("(unnamed)")
        .to_string();
    let Some(versions) = versions else {
        return Some(Err(format!(
            "launch template {label}: no describe-launch-template-versions in the snapshot"
        )));
    };
    let same: Vec<&LaunchTemplateVersion> = versions
        .iter()
        .filter(|v| {
            lt.id
                .as_deref()
                .is_some_and(|id| id == v.launch_template_id)
                || lt
                    .name
                    .as_deref()
                    .is_some_and(|n| n == v.launch_template_name)
        })
        .collect();
    let wanted = lt.version.as_deref().unwrap_or("$Default");
    let found = match wanted {
        "$Latest" => same.iter().max_by_key(|v| v.version_number).copied(),
        "$Default" => same.iter().find(|v| v.default_version).copied(),
        n => n
            .parse::<u64>()
            .ok()
            .and_then(|n| same.iter().find(|v| v.version_number == n).copied()),
    };
    Some(found.ok_or_else(|| {
        format!("launch template {label} version {wanted} is not in the snapshot's describe-launch-template-versions")
    }))
}

fn nodegroup<'a>(cx: &Context<'a>, ng: &Nodegroup) -> Result<Option<Source<'a>>, String> {
    let ami_type = ng.ami_type.clone();
    if ami_type
        .as_deref()
        .is_some_and(|a| a.to_ascii_uppercase().starts_with("WINDOWS"))
    {
        // Windows nodes do not run Cilium.
        return Ok(None);
    }
    let lt = match launch_template_of(cx, ng) {
        None => None,
        Some(Ok(v)) => Some(v),
        Some(Err(why)) => return Err(why),
    };
    if let Some(e) = lt.and_then(|v| v.user_data_error.as_deref()) {
        return Err(format!(
            "{}: {e}",
            lt.map(|v| v.label()).unwrap_or_default()
        ));
    }
    let custom_ami =
        ami_type.as_deref() == Some("CUSTOM") || lt.is_some_and(|v| v.image_id.is_some());
    let launch = Launch::ManagedNodeGroup { custom_ami };
    let mut types: Vec<String> = ng.instance_types.clone();
    if types.is_empty() {
        types.extend(lt.and_then(|v| v.instance_type.clone()));
    }
    if types.is_empty() {
        return Err("no instance types (describe-nodegroup instanceTypes or the launch template's InstanceType)".into());
    }
    let empty = userdata::KubeletMaxPods::default();
    let user_data = lt.map_or(&empty, |v| &v.user_data);
    let mut source = Source {
        kind: "Nodegroup",
        name: ng.nodegroup_name.clone(),
        origin: match lt {
            Some(v) => v.label(),
            None => "the launch template EKS builds (the node group has none of its own)".into(),
        },
        setting: None,
        format: lt.map(|v| v.user_data.format),
        ami_type,
        node_class: None,
        nodepool_kubelet: false,
        types: Vec::new(),
        unknown_types: BTreeSet::new(),
        authoritative: lt.is_some(),
    };
    for t in types {
        let Some(limits) = ip_capacity::instance_limits(cx, &t) else {
            source.unknown_types.insert(t);
            continue;
        };
        let e = userdata::effective(user_data, &limits.it, launch)
            .map_err(|why| format!("{}: {why}", source.origin))?;
        source.setting = source.setting.or(e.setting);
        source.types.push(TypeMaxPods {
            instance_type: t,
            limits,
            max_pods: e.max_pods,
            how: e.how,
        });
    }
    Ok(Some(source))
}

fn node_class<'a>(cx: &Context<'a>, pool: &NodePool) -> Option<&'a Ec2NodeClass> {
    let name = &pool.spec.template.spec.node_class_ref.name;
    cx.cluster
        .ec2_node_classes
        .as_deref()
        .unwrap_or_default()
        .iter()
        .find(|c| &c.metadata.name == name)
}

fn nodepool<'a>(cx: &Context<'a>, pool: &NodePool) -> Result<Source<'a>, String> {
    let spec = &pool.spec.template.spec;
    let class = node_class(cx, pool);
    let class_name = spec.node_class_ref.name.clone();
    if class.is_none() && spec.kubelet.is_none() {
        if cx.cluster.ec2_node_classes.is_none() {
            return Err(format!(
                "its EC2NodeClass {class_name} is not in the snapshot (kubectl get ec2nodeclasses -o json)"
            ));
        }
        return Err(format!("EC2NodeClass {class_name} not found"));
    }
    if class
        .and_then(|c| c.spec.ami_family.as_deref())
        .is_some_and(|f| f.to_ascii_lowercase().starts_with("windows"))
        || class.is_some_and(|c| {
            c.spec
                .ami_selector_terms
                .iter()
                .any(|t| t.alias.as_deref().is_some_and(|a| a.starts_with("windows")))
        })
    {
        return Err("Windows nodes do not run Cilium".into());
    }
    // v1: the EC2NodeClass; v1beta1: the NodePool itself.
    let (kubelet, origin, nodepool_kubelet): (Option<&KarpenterKubelet>, String, bool) = match (
        class.and_then(|c| c.spec.kubelet.as_ref()),
        spec.kubelet.as_ref(),
    ) {
        (Some(k), _) if k.max_pods.is_some() || k.pods_per_core.is_some() => (
            Some(k),
            format!("EC2NodeClass {class_name} spec.kubelet"),
            false,
        ),
        (_, Some(k)) if k.max_pods.is_some() || k.pods_per_core.is_some() => (
            Some(k),
            format!(
                "NodePool {} spec.template.spec.kubelet (karpenter.sh/v1beta1)",
                pool.metadata.name
            ),
            true,
        ),
        _ => (
            None,
            format!("Karpenter's default (EC2NodeClass {class_name} sets no spec.kubelet.maxPods)"),
            false,
        ),
    };
    let candidates = pool_types(cx, &spec.requirements)?;
    let mut source = Source {
        kind: "NodePool",
        name: pool.metadata.name.clone(),
        origin: origin.clone(),
        setting: kubelet
            .and_then(|k| k.max_pods)
            .map(|_| format!("{origin}.maxPods")),
        format: None,
        ami_type: None,
        node_class: Some(class_name),
        nodepool_kubelet,
        types: Vec::new(),
        unknown_types: BTreeSet::new(),
        authoritative: true,
    };
    for t in candidates {
        let Some(limits) = ip_capacity::instance_limits(cx, &t) else {
            source.unknown_types.insert(t);
            continue;
        };
        let it = &limits.it;
        let (mut max_pods, mut how) = match kubelet.and_then(|k| k.max_pods) {
            Some(m) => (m, vec![format!("{origin}.maxPods = {m}")]),
            None => {
                let v = crate::capacity::eks_default_max_pods(it);
                (
                    v,
                    vec![format!(
                        "Karpenter's ENI-limited pods {} ENIs × ({} IPv4 per ENI - 1) + 2 = {v} (reserved ENIs 0)",
                        it.enis, it.ipv4_per_eni
                    )],
                )
            }
        };
        if let (Some(ppc), Some(vcpus)) = (kubelet.and_then(|k| k.pods_per_core), it.vcpus) {
            let cap = ppc.saturating_mul(vcpus);
            if ppc > 0 && cap < max_pods {
                how.push(format!("podsPerCore {ppc} × {vcpus} vCPUs = {cap}"));
                max_pods = cap;
            }
        }
        source.types.push(TypeMaxPods {
            instance_type: t,
            limits,
            max_pods,
            how,
        });
    }
    Ok(source)
}

// ---------------------------------------------------------------- requirements

/// Requirement keys that do not select instance types.
const NOT_INSTANCE_KEYS: &[&str] = &[
    "karpenter.sh/capacity-type",
    "karpenter.sh/nodepool",
    "topology.kubernetes.io/zone",
    "topology.kubernetes.io/region",
    "kubernetes.io/os",
    "node.kubernetes.io/windows-build",
    "karpenter.k8s.aws/capacity-reservation-id",
    "karpenter.k8s.aws/capacity-reservation-type",
];

/// `m7gd` → (`m`, 7, `gd`).
fn family_parts(family: &str) -> (&str, Option<u32>, &str) {
    let cat_end = family
        .find(|c: char| !c.is_ascii_alphabetic())
        .unwrap_or(family.len());
    let rest = &family[cat_end..];
    let gen_end = rest
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(rest.len());
    (
        &family[..cat_end],
        rest[..gen_end].parse().ok(),
        &rest[gen_end..],
    )
}

/// Graviton (arm64) families: `a1`, and a `g` among the attributes after
/// the generation (`m7g`, `c6gn`, `is4gen`; not the GPU category `g5`).
fn is_arm64(name: &str) -> bool {
    let family = name.split('.').next().unwrap_or(name);
    let (_, _, attrs) = family_parts(family);
    family == "a1" || attrs.contains('g')
}

/// A requirement's value of the type, or None when the key says nothing
/// about instance types.
fn label_of(it: &InstanceType, key: &str) -> Result<Option<String>, String> {
    let (family, size) = it.name.split_once('.').unwrap_or((&it.name, ""));
    let (category, generation, _) = family_parts(family);
    Ok(Some(match key {
        "node.kubernetes.io/instance-type" | "beta.kubernetes.io/instance-type" => it.name.clone(),
        "karpenter.k8s.aws/instance-family" => family.to_string(),
        "karpenter.k8s.aws/instance-category" => category.to_string(),
        "karpenter.k8s.aws/instance-size" => size.to_string(),
        "karpenter.k8s.aws/instance-generation" => match generation {
            Some(g) => g.to_string(),
            None => return Ok(Some(String::new())),
        },
        "karpenter.k8s.aws/instance-cpu" => match it.vcpus {
            Some(v) => v.to_string(),
            None => return Ok(Some(String::new())),
        },
        "karpenter.k8s.aws/instance-hypervisor" => match it.hypervisor {
            Hypervisor::Nitro => "nitro".into(),
            Hypervisor::Xen => "xen".into(),
            Hypervisor::Unknown => String::new(),
        },
        "kubernetes.io/arch" | "beta.kubernetes.io/arch" => {
            if is_arm64(&it.name) { "arm64" } else { "amd64" }.to_string()
        }
        k if NOT_INSTANCE_KEYS.contains(&k) => return Ok(None),
        k if k.starts_with("karpenter.k8s.aws/") || k.starts_with("node.kubernetes.io/") => {
            return Err(format!(
                "requirement {k} selects instance types in a way this check does not model"
            ))
        }
        // The pool's own labels: they label nodes, they do not select types.
        _ => return Ok(None),
    }))
}

fn satisfies(value: &str, r: &NodeSelectorRequirement) -> bool {
    let num = |s: &str| s.parse::<i64>().ok();
    match r.operator.as_str() {
        "In" => r.values.iter().any(|v| v == value),
        "NotIn" => !value.is_empty() && r.values.iter().all(|v| v != value),
        "Exists" => !value.is_empty(),
        "DoesNotExist" => value.is_empty(),
        "Gt" => {
            matches!((num(value), r.values.first().and_then(|v| num(v))), (Some(a), Some(b)) if a > b)
        }
        "Lt" => {
            matches!((num(value), r.values.first().and_then(|v| num(v))), (Some(a), Some(b)) if a < b)
        }
        "Gte" => {
            matches!((num(value), r.values.first().and_then(|v| num(v))), (Some(a), Some(b)) if a >= b)
        }
        "Lte" => {
            matches!((num(value), r.values.first().and_then(|v| num(v))), (Some(a), Some(b)) if a <= b)
        }
        _ => false,
    }
}

/// The instance types a NodePool's requirements allow, among the types the
/// knowledge lists (Mac and Windows-only families are not EKS Linux nodes).
pub fn pool_types(
    cx: &Context,
    requirements: &[NodeSelectorRequirement],
) -> Result<Vec<String>, String> {
    // An explicit list needs no table.
    let mut out = Vec::new();
    'types: for it in cx.knowledge.instances.values() {
        if it.name.starts_with("mac") {
            continue;
        }
        for r in requirements {
            if let Some(v) = label_of(it, &r.key)? {
                if !satisfies(&v, r) {
                    continue 'types;
                }
            }
        }
        out.push(it.name.clone());
    }
    // Types named by the pool that the table lacks: kept, reported unknown.
    for r in requirements
        .iter()
        .filter(|r| r.key == "node.kubernetes.io/instance-type" && r.operator == "In")
    {
        for v in &r.values {
            if cx.knowledge.instance(v).is_none() && !out.contains(v) {
                out.push(v.clone());
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn families() {
        assert_eq!(family_parts("m7gd"), ("m", Some(7), "gd"));
        assert_eq!(family_parts("is4gen"), ("is", Some(4), "gen"));
        assert_eq!(family_parts("g5"), ("g", Some(5), ""));
        assert!(is_arm64("c6gn.large") && is_arm64("a1.medium") && is_arm64("g5g.xlarge"));
        assert!(!is_arm64("g5.xlarge") && !is_arm64("m5dn.large") && !is_arm64("t3.micro"));
    }

    #[test]
    fn operators() {
        let r = |op: &str, v: &[&str]| NodeSelectorRequirement {
            key: "k".into(),
            operator: op.into(),
            values: v.iter().map(|s| s.to_string()).collect(),
        };
        assert!(satisfies("5", &r("Gt", &["4"])));
        assert!(!satisfies("4", &r("Gt", &["4"])));
        assert!(satisfies("m", &r("In", &["c", "m"])));
        assert!(!satisfies("r", &r("In", &["c", "m"])));
        assert!(satisfies("r", &r("NotIn", &["c", "m"])));
        assert!(!satisfies("", &r("Gt", &["4"])));
    }
}
