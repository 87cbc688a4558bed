//! CFG004: kube-proxy replacement on while kube-proxy still runs.

use crate::findings::{ObjectRef, Severity};
use crate::model::cilium::image_tag;
use crate::rules::cni::shared;
use crate::rules::inputs;
use crate::rules::{Area, Context, Outcome, Rule, RuleMeta};

pub struct KprWithKubeProxy;

/// The EKS add-on name of kube-proxy (/work/shared/data/aws/addons.json
/// `managed_addon_names.names.kube-proxy`).
const KUBE_PROXY: &str = "kube-proxy";

static META: RuleMeta = RuleMeta {
    code: "CFG004",
    name: "kpr-with-kube-proxy",
    severity: Severity::Medium,
    area: Area::Cfg,
    summary: "kube-proxy replacement is on while the kube-proxy DaemonSet or EKS add-on still runs",
    what_it_checks: "When cilium-config sets `kube-proxy-replacement: true` (or `strict`), the \
rule fires if the DaemonSet kube-system/kube-proxy can still run pods (desired above 0, or no \
nodeSelector keeping it off the nodes) or the EKS managed add-on `kube-proxy` is installed.",
    why_it_matters: "Both then implement Services on every node: Cilium in eBPF, kube-proxy in \
iptables. Traffic handled by Cilium's socket and tc hooks never reaches the iptables rules, so \
the iptables work is wasted CPU and memory on large clusters, and whatever bypasses Cilium \
(host processes before the agent is up, features Cilium does not replace) follows \
kube-proxy's rules instead: two Service implementations that may disagree during rollouts. An \
EKS add-on update re-creates kube-proxy if it was deleted by hand.",
    how_to_fix: "Make sure the agents have the API server address first (CFG003), then remove \
kube-proxy: delete the EKS add-on (it removes the DaemonSet) or the self-managed DaemonSet and \
its ConfigMap, and clear kube-proxy's iptables rules on the nodes (or replace the nodes).",
    known_limits: "Node affinity of kube-proxy is not evaluated, only its nodeSelector and \
status.",
    docs_url: "https://docs.cilium.io/en/stable/network/kubernetes/kubeproxy-free/",
};

impl Rule for KprWithKubeProxy {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, cx: &Context) -> Outcome {
        let c = cx.cluster;
        if !shared::cilium_config_known(c)? {
            return Ok(vec![]);
        }
        if c.cilium.kube_proxy_replacement != Some(true) {
            return Ok(vec![]);
        }
        if c.daemonsets.is_none() && c.addon_names.is_none() && c.addons.is_none() {
            return META.missing(
                "no DaemonSets or EKS add-on list (to see whether kube-proxy runs)",
                format!("{}; {}", inputs::DAEMONSETS, inputs::ADDONS),
            );
        }
        let ds = c
            .daemonset("kube-system", KUBE_PROXY)
            .map(|ds| (ds, shared::daemonset_scheduling(ds, c.nodes.as_deref())))
            .filter(|(_, s)| s.can_schedule());
        let listed = c
            .addon_names
            .as_deref()
            .unwrap_or_default()
            .iter()
            .any(|a| a == KUBE_PROXY);
        let described = c
            .addons
            .as_deref()
            .unwrap_or_default()
            .iter()
            .find(|a| a.addon_name == KUBE_PROXY);
        let addon = listed || described.is_some();
        if ds.is_none() && !addon {
            return Ok(vec![]);
        }
        let object = if ds.is_some() {
            ObjectRef::new("DaemonSet", Some("kube-system"), KUBE_PROXY)
        } else {
            ObjectRef::global("EksAddon", KUBE_PROXY)
        };
        let what = match (&ds, addon) {
            (Some(_), true) => "the kube-proxy DaemonSet (EKS add-on kube-proxy) still runs",
            (Some(_), false) => "the kube-proxy DaemonSet still runs",
            (None, _) => "the EKS add-on kube-proxy is still installed",
        };
        let mut finding = META
            .finding(
                object,
                format!("kube-proxy replacement is on but {what}: two Service implementations on every node"),
            )
            .with_evidence(
                c.cilium
                    .get("kube-proxy-replacement")
                    .map(|v| format!("cilium-config kube-proxy-replacement: {v}"))
                    .unwrap_or_else(|| "Helm values kubeProxyReplacement: true".to_string()),
            );
        if let Some((ds, sched)) = &ds {
            for line in sched.evidence() {
                finding = finding.with_evidence(format!("kube-proxy DaemonSet: {line}"));
            }
            if let Some(image) = shared::container_image(ds, KUBE_PROXY) {
                finding = finding.with_evidence(format!(
                    "kube-proxy image: {image} ({})",
                    image_tag(image).unwrap_or("no tag")
                ));
            }
        }
        if listed {
            finding = finding.with_evidence("aws eks list-addons: includes \"kube-proxy\"");
        }
        if let Some(a) = described {
            finding = finding.with_evidence(format!(
                "describe-addon kube-proxy: version {}, status {}",
                a.addon_version.as_deref().unwrap_or("unknown"),
                a.status.as_deref().unwrap_or("unknown")
            ));
        }
        let mut fix = String::from(
            "# First make sure the agents reach the API server without kube-proxy (k8sServiceHost set, see CFG003).\n",
        );
        if addon {
            fix.push_str(&format!(
                "# Remove the managed add-on; this deletes the kube-proxy DaemonSet:\n\
aws eks delete-addon --cluster-name {} --addon-name {KUBE_PROXY}\n",
                cx.cluster_name()
            ));
        } else {
            fix.push_str(
                "kubectl -n kube-system delete daemonset kube-proxy\n\
kubectl -n kube-system delete configmap kube-proxy\n",
            );
        }
        fix.push_str(
            "# Clear the iptables rules kube-proxy left on each node (or replace the nodes):\n\
iptables-save | grep -v KUBE | iptables-restore",
        );
        Ok(vec![finding.with_remediation(fix)])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::testing::{check, load_cluster};
    use serde_json::json;

    fn docs(kpr: &str) -> Vec<serde_json::Value> {
        vec![
            json!({"apiVersion": "apps/v1", "kind": "DaemonSet",
                "metadata": {"name": "cilium", "namespace": "kube-system", "labels": {"k8s-app": "cilium"}},
                "spec": {"template": {"spec": {"containers": [
                    {"name": "cilium-agent", "image": "quay.io/cilium/cilium:v1.16.19"}]}}}}),
            json!({"apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {"name": "cilium-config", "namespace": "kube-system"},
                "data": {"kube-proxy-replacement": kpr, "k8s-service-host": "0A1B.gr7.eu-west-1.eks.amazonaws.com"}}),
        ]
    }

    fn kube_proxy(desired: u32) -> serde_json::Value {
        json!({"apiVersion": "apps/v1", "kind": "DaemonSet",
            "metadata": {"name": "kube-proxy", "namespace": "kube-system", "labels": {"k8s-app": "kube-proxy"}},
            "spec": {"template": {"spec": {"containers": [{"name": "kube-proxy",
                "image": "602401143452.dkr.ecr.eu-west-1.amazonaws.com/eks/kube-proxy:v1.31.3-minimal-eksbuild.2"}]}}},
            "status": {"desiredNumberScheduled": desired, "numberReady": desired}})
    }

    #[test]
    fn daemonset_or_addon() {
        let mut d = docs("true");
        d.push(kube_proxy(3));
        assert_eq!(
            check(&KprWithKubeProxy, &load_cluster(&d)).unwrap().len(),
            1
        );
        let mut addon_only = docs("true");
        addon_only.push(json!({"addons": ["coredns", "kube-proxy"]}));
        let f = check(&KprWithKubeProxy, &load_cluster(&addon_only)).unwrap();
        assert!(f[0].remediation.contains("--addon-name kube-proxy"));
    }

    #[test]
    fn quiet_cases() {
        let mut off = docs("false");
        off.push(kube_proxy(3));
        assert!(check(&KprWithKubeProxy, &load_cluster(&off))
            .unwrap()
            .is_empty());
        let gone = docs("true");
        assert!(check(&KprWithKubeProxy, &load_cluster(&gone))
            .unwrap()
            .is_empty());
    }
}
