//! CNI011: aws-cni chaining with kube-proxy replacement left at `probe`
//! (the default the chart renders for `upgradeCompatibility` 1.9–1.11).

use super::shared::{self, CiliumRole};
use crate::findings::{ObjectRef, Severity};
use crate::model::cilium::helm_get;
use crate::rules::{inputs, Area, Context, Missing, Outcome, Rule, RuleMeta};

pub struct ChainingKprProbe;

/// The known issue this rule is about (`data/known-issues.json`, from
/// `scripts/knowledge/known-issues.json`).
const ISSUE: &str = "KP001";

static META: RuleMeta = RuleMeta {
    code: "CNI011",
    name: "chaining-kpr-probe",
    severity: Severity::High,
    area: Area::Cni,
    summary: "aws-cni chaining with kube-proxy-replacement: probe (the chart's default for upgradeCompatibility 1.9-1.11): connectivity breaks",
    what_it_checks: "When Cilium chains onto the VPC CNI (`cni-chaining-mode: aws-cni`), reads \
`kube-proxy-replacement` in cilium-config (else Helm `kubeProxyReplacement`): it fires when the \
value is `probe`. The Helm values' `upgradeCompatibility`, when given (`--helm-values`), is \
quoted as the reason the chart rendered it.",
    why_it_matters: "Cilium's chart picks its defaults by `upgradeCompatibility`: with 1.9 to \
1.11 the 1.12 chart renders `kube-proxy-replacement: probe` although the values never ask for \
it, so an upgrade with unchanged values turns kube-proxy replacement on. In aws-cni chaining, \
where the VPC CNI owns pod networking and kube-proxy still runs, that broke connectivity for \
several DaemonSets and Deployments on the 1.11.11 -> 1.12.4 upgrade of cilium#22311.",
    how_to_fix: "Set `kubeProxyReplacement` explicitly in the Helm values (`disabled` on 1.12 \
and 1.13, `false` from 1.14) and upgrade again; the reporter's upgrade succeeded that way. Drop \
`upgradeCompatibility` once the cluster no longer depends on the old defaults.",
    known_limits: "Fires on the rendered `probe` value only; `partial` and `strict` chosen on \
purpose are not judged. The chart version that rendered it is not an input.",
    docs_url: "https://docs.cilium.io/en/stable/installation/cni-chaining-aws-cni/",
};

impl Rule for ChainingKprProbe {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, cx: &Context) -> Outcome {
        let c = cx.cluster;
        match shared::cilium_role(c)? {
            CiliumRole::Chaining => {}
            CiliumRole::Absent | CiliumRole::Primary => return Ok(vec![]),
        }
        let helm = c.helm_values.as_ref();
        let helm_text = |path: &str| {
            helm.and_then(|h| helm_get(h, path)).and_then(|v| match v {
                serde_json::Value::String(s) => Some(s.clone()),
                serde_json::Value::Number(n) => Some(n.to_string()),
                serde_json::Value::Bool(b) => Some(b.to_string()),
                _ => None,
            })
        };
        let (value, read_from) = match c.cilium.get("kube-proxy-replacement") {
            Some(v) => (v.to_string(), "cilium-config"),
            None => match helm_text("kubeProxyReplacement") {
                Some(v) => (v, "Helm values"),
                None => {
                    if c.cilium.config.is_none() {
                        return Err(Missing::new("cilium-config", inputs::CILIUM_CONFIG));
                    }
                    return Ok(vec![]);
                }
            },
        };
        if value != "probe" {
            return Ok(vec![]);
        }
        let issue = cx
            .knowledge
            .cited_issue(ISSUE)
            .ok_or_else(|| Missing::new(format!("known issue {ISSUE}"), inputs::KNOWLEDGE))?;
        let compat = helm_text("upgradeCompatibility");
        let mut f = META
            .finding(
                ObjectRef::new("ConfigMap", Some(shared::cilium_namespace(c)), "cilium-config"),
                format!(
                    "Cilium chains onto the VPC CNI with kube-proxy-replacement: probe{}: kube-proxy replacement is on next to kube-proxy and the VPC CNI, which broke connectivity on the 1.11 -> 1.12 upgrade",
                    match &compat {
                        Some(v) => format!(" (rendered from upgradeCompatibility {v:?})"),
                        None => String::new(),
                    }
                ),
            )
            .with_evidence(format!(
                "cni-chaining-mode: {}",
                c.cilium.chaining_mode.as_deref().unwrap_or("aws-cni")
            ))
            .with_evidence(format!("{read_from}: kube-proxy-replacement: {value}"));
        if let Some(v) = &compat {
            f = f.with_evidence(format!("Helm values: upgradeCompatibility: {v:?}"));
        }
        f = f.with_evidence(format!("{}: {}", issue.reference(), issue.symptom));
        let set = if c
            .cilium
            .version
            .is_some_and(|v| v.minor() >= crate::version::Minor::new(1, 14))
        {
            "--set kubeProxyReplacement=false"
        } else {
            "--set kubeProxyReplacement=disabled"
        };
        Ok(vec![f.with_remediation(format!(
            "# {}\n{}",
            issue.workaround,
            shared::helm_upgrade(c, &[set])
        ))])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::testing::{check, load_cluster};
    use serde_json::json;

    fn chained(kpr: Option<&str>) -> crate::model::Cluster {
        let mut data = json!({"cni-chaining-mode": "aws-cni"});
        if let Some(v) = kpr {
            data["kube-proxy-replacement"] = json!(v);
        }
        load_cluster(&[
            json!({"apiVersion": "apps/v1", "kind": "DaemonSet",
                "metadata": {"name": "cilium", "namespace": "kube-system", "labels": {"k8s-app": "cilium"}},
                "spec": {"template": {"spec": {"containers": [
                    {"name": "cilium-agent", "image": "quay.io/cilium/cilium:v1.12.4"}]}}}}),
            json!({"apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {"name": "cilium-config", "namespace": "kube-system"},
                "data": data}),
        ])
    }

    #[test]
    fn fires_on_probe_in_chaining() {
        let f = check(&ChainingKprProbe, &chained(Some("probe"))).unwrap();
        assert_eq!(f.len(), 1);
        assert!(f[0].message.contains("kube-proxy-replacement: probe"));
        assert!(f[0].remediation.contains("kubeProxyReplacement=disabled"));
    }

    #[test]
    fn quiet_when_disabled_or_unset() {
        assert!(check(&ChainingKprProbe, &chained(Some("disabled")))
            .unwrap()
            .is_empty());
        assert!(check(&ChainingKprProbe, &chained(None)).unwrap().is_empty());
    }
}
