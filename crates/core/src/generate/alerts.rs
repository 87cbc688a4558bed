//! Prometheus alerting rules for Cilium on EKS, written with the metric
//! names of one Cilium minor (`metrics.json`): an alert whose metric that
//! minor does not export is left out, and the file says so. Each alert
//! names the doctor rule that explains it (`runbook: eks-cilium-doctor
//! explain CODE`).
//!
//! Restarts and readiness come from kube-state-metrics (Cilium exports no
//! restart counter); the series names are those of kube-state-metrics'
//! docs (kubernetes/kube-state-metrics docs/metrics/workload/
//! pod-metrics.md, daemonset-metrics.md, deployment-metrics.md).

use super::yaml::{self, Entry, Yaml};
use super::{cilium_minor, GenerateError, AGENT_CONTAINER, AGENT_DAEMONSET, OPERATOR};
use crate::knowledge::{CiliumMetrics, Knowledge};
use crate::rules::CheckOptions;
use crate::version::Minor;

/// The two shapes promtool and the Prometheus Operator read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// A `monitoring.coreos.com/v1` PrometheusRule object.
    PrometheusRule,
    /// A plain Prometheus rules file (`groups:`).
    Rules,
}

/// How the rules are written out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertOptions {
    pub format: Format,
    /// The PrometheusRule's namespace.
    pub namespace: String,
}

/// Which series an alert reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    KubeStateMetrics,
    Cilium,
}

/// One alerting rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Alert {
    pub name: &'static str,
    /// The doctor rule that explains it.
    pub code: &'static str,
    /// The catalogue severity of that rule.
    pub severity: &'static str,
    pub source: Source,
    pub expr: String,
    pub for_: Option<&'static str>,
    pub summary: String,
    pub description: String,
}

/// An alert left out, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Omitted {
    pub name: &'static str,
    pub code: &'static str,
    pub reason: String,
}

/// The rules for one Cilium minor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertRules {
    pub minor: Minor,
    pub alerts: Vec<Alert>,
    pub omitted: Vec<Omitted>,
    /// Caveats written at the top (metrics off by default, ...).
    pub notes: Vec<String>,
}

/// The rule group names, by source.
pub const GROUP_KUBE_STATE_METRICS: &str = "cilium-eks.kube-state-metrics";
pub const GROUP_CILIUM: &str = "cilium-eks.cilium";

/// What an alert says and how it fires; the rest comes from its [`Spec`].
struct Body {
    expr: String,
    for_: Option<&'static str>,
    summary: String,
    description: String,
}

/// One alert of the catalogue: its identity, and how to write it for a
/// minor (or why that minor cannot have it).
struct Spec {
    name: &'static str,
    code: &'static str,
    severity: &'static str,
    source: Source,
    build: fn(&Cx) -> Result<Body, String>,
}

const fn spec(
    name: &'static str,
    code: &'static str,
    severity: &'static str,
    source: Source,
    build: fn(&Cx) -> Result<Body, String>,
) -> Spec {
    Spec {
        name,
        code,
        severity,
        source,
        build,
    }
}

use Source::{Cilium, KubeStateMetrics};

/// Severities are those of the rules in the catalogue (rules.md).
const SPECS: &[Spec] = &[
    spec(
        "CiliumPodRestarting",
        "OPS003",
        "high",
        KubeStateMetrics,
        pods_restarting,
    ),
    spec(
        "CiliumPodCrashLooping",
        "OPS003",
        "high",
        KubeStateMetrics,
        pods_crash_looping,
    ),
    spec(
        "CiliumAgentsNotReady",
        "OPS004",
        "critical",
        KubeStateMetrics,
        agents_not_ready,
    ),
    spec(
        "CiliumOperatorNotAvailable",
        "OPS004",
        "critical",
        KubeStateMetrics,
        operator_not_available,
    ),
    spec(
        "CiliumConntrackMapPressure",
        "OPS001",
        "high",
        Cilium,
        conntrack_pressure,
    ),
    spec(
        "CiliumConntrackInsertionFailed",
        "OPS001",
        "high",
        Cilium,
        conntrack_insertion_failed,
    ),
    spec(
        "CiliumNatMapPressure",
        "OPS002",
        "high",
        Cilium,
        nat_pressure,
    ),
    spec(
        "CiliumNatMappingFailed",
        "OPS002",
        "high",
        Cilium,
        nat_mapping_failed,
    ),
    spec(
        "CiliumIPAMNodeNeedsIPs",
        "CAP006",
        "high",
        Cilium,
        ipam_node_needs_ips,
    ),
    spec(
        "CiliumIPAMNodesAtCapacity",
        "CAP006",
        "high",
        Cilium,
        ipam_nodes_at_capacity,
    ),
    spec(
        "CiliumEndpointRegenerationFailing",
        "OPS004",
        "critical",
        Cilium,
        endpoint_regeneration_failing,
    ),
    spec(
        "CiliumUnreachableNodes",
        "OPS006",
        "high",
        Cilium,
        unreachable_nodes,
    ),
    spec(
        "CiliumUnreachableHealthEndpoints",
        "OPS006",
        "high",
        Cilium,
        unreachable_health_endpoints,
    ),
    spec(
        "CiliumPolicyImportErrors",
        "OPS004",
        "critical",
        Cilium,
        policy_import_errors,
    ),
];

/// The alerting rules for Cilium `minor`; `cilium_namespace` is where
/// Cilium runs (the kube-state-metrics selectors).
pub fn alert_rules(
    knowledge: &Knowledge,
    minor: Minor,
    cilium_namespace: &str,
) -> Result<AlertRules, GenerateError> {
    cilium_minor(knowledge, minor)?;
    check_namespace("--cilium-namespace", cilium_namespace)?;
    let metrics = knowledge.metrics(minor).ok_or_else(|| {
        GenerateError(format!(
            "no metric names for Cilium {minor} in the knowledge"
        ))
    })?;
    let cx = Cx {
        knowledge,
        minor,
        metrics,
        ns: cilium_namespace,
    };
    let mut alerts = Vec::new();
    let mut omitted = Vec::new();
    for spec in SPECS {
        match (spec.build)(&cx) {
            Ok(body) => alerts.push(Alert {
                name: spec.name,
                code: spec.code,
                severity: spec.severity,
                source: spec.source,
                expr: body.expr,
                for_: body.for_,
                summary: body.summary,
                description: body.description,
            }),
            Err(reason) => omitted.push(Omitted {
                name: spec.name,
                code: spec.code,
                reason,
            }),
        }
    }
    let notes = disabled_notes(&alerts, metrics);
    Ok(AlertRules {
        minor,
        alerts,
        omitted,
        notes,
    })
}

/// The Cilium metrics the alerts use that this minor does not export by
/// default.
fn disabled_notes(alerts: &[Alert], metrics: &CiliumMetrics) -> Vec<String> {
    metrics
        .disabled_by_default
        .iter()
        .filter_map(|metric| {
            let users: Vec<&str> = alerts
                .iter()
                .filter(|a| a.expr.contains(metric.as_str()))
                .map(|a| a.name)
                .collect();
            (!users.is_empty()).then(|| {
                format!(
                    "{metric} is off by default in Cilium {}: enable it in the Helm value {METRICS_LIST_KEY}, \
                     or {} never fire.",
                    metrics.minor,
                    users.join(" and ")
                )
            })
        })
        .collect()
}

fn check_namespace(flag: &str, ns: &str) -> Result<(), GenerateError> {
    super::trust_policy::ServiceAccount::new(ns, "x")
        .map(|_| ())
        .map_err(|_| GenerateError(format!("{flag} {ns:?}: not a Kubernetes namespace name")))
}

/// What a spec may ask about the minor.
struct Cx<'k> {
    knowledge: &'k Knowledge,
    minor: Minor,
    metrics: &'k CiliumMetrics,
    ns: &'k str,
}

impl Cx<'_> {
    /// `name` if this minor exports it, else the reason the alert is left out.
    fn metric(&self, name: &'static str) -> Result<&'static str, String> {
        if self.metrics.has(name) {
            return Ok(name);
        }
        let listed: Vec<String> = self
            .knowledge
            .metrics
            .minors
            .values()
            .filter(|m| m.has(name))
            .map(|m| m.minor.to_string())
            .collect();
        let when = match (listed.first(), listed.last()) {
            (Some(first), Some(last)) if first == last => format!("only {first}"),
            (Some(first), Some(last)) => format!("{first} to {last}"),
            _ => "no minor".to_string(),
        };
        Err(format!(
            "Cilium {} exports no {name} (the metrics docs list it for {when})",
            self.minor
        ))
    }

    /// The first of `names` this minor exports.
    fn first_metric(&self, names: &[&'static str]) -> Result<&'static str, String> {
        names
            .iter()
            .find(|n| self.metrics.has(n))
            .copied()
            .ok_or_else(|| format!("Cilium {} exports none of {}", self.minor, names.join(", ")))
    }

    fn drop_reason(&self, code: u16) -> Result<&str, String> {
        self.knowledge
            .drop_reason(self.minor, code)
            .ok_or_else(|| format!("Cilium {} has no drop reason {code}", self.minor))
    }

    fn pressure_maps(&self, table: &[String]) -> String {
        table.join("|")
    }
}

/// Drop reason codes of pkg/monitor/api/drop.go (texts from the knowledge).
pub(super) const DROP_CT_MAP_INSERTION_FAILED: u16 = 155;
pub(super) const DROP_NO_NAT_MAPPING: u16 = 167;

/// The Helm values that turn the agent and operator metrics on, and the
/// agent's list of extra metrics; the header names them (a test checks
/// every chart has them).
const SCRAPE_KEYS: [&str; 2] = ["prometheus.enabled", "operator.prometheus.enabled"];
const METRICS_LIST_KEY: &str = "prometheus.metrics";

/// rules.md OPS001/OPS002: pressure at or above this fires.
pub(super) const MAP_PRESSURE_THRESHOLD: &str = "0.9";

// Label values Cilium's metrics use: `outcome` is "success" or "fail"
// (pkg/metrics LabelValueOutcomeSuccess/Fail; cilium/metrics.json's note
// says "failure"), so `outcome!="success"` counts every failure either way.

fn pods_restarting(cx: &Cx) -> Result<Body, String> {
    let threshold = CheckOptions::default().restart_threshold;
    Ok(Body {
        expr: format!(
            "increase(kube_pod_container_status_restarts_total{{namespace=\"{ns}\",container=~\"{AGENT_CONTAINER}|{OPERATOR}\"}}[1h]) > {threshold}",
            ns = cx.ns
        ),
        for_: None,
        summary: "Cilium container {{ $labels.container }} in {{ $labels.pod }} keeps restarting".into(),
        description: format!(
            "{{{{ $labels.container }}}} in {{{{ $labels.namespace }}}}/{{{{ $labels.pod }}}} restarted \
             {{{{ printf \"%.0f\" $value }}}} times in the last hour (more than {threshold}). While the agent \
             restarts, its node gets no new pod IPs or policy updates; the operator stops allocating ENI IPs."
        ),
    })
}

fn pods_crash_looping(cx: &Cx) -> Result<Body, String> {
    Ok(Body {
        expr: format!(
            "max by (namespace, pod, container) (kube_pod_container_status_waiting_reason{{namespace=\"{ns}\",container=~\"{AGENT_CONTAINER}|{OPERATOR}\",reason=\"CrashLoopBackOff\"}}) == 1",
            ns = cx.ns
        ),
        for_: Some("5m"),
        summary: "Cilium container {{ $labels.container }} in {{ $labels.pod }} is in CrashLoopBackOff".into(),
        description: "{{ $labels.container }} in {{ $labels.namespace }}/{{ $labels.pod }} has been waiting in \
                      CrashLoopBackOff for 5 minutes: read its previous logs (kubectl logs --previous)."
            .into(),
    })
}

fn agents_not_ready(cx: &Cx) -> Result<Body, String> {
    let sel = format!(
        "{{namespace=\"{}\",daemonset=\"{AGENT_DAEMONSET}\"}}",
        cx.ns
    );
    Ok(Body {
        expr: format!(
            "kube_daemonset_status_number_ready{sel} < kube_daemonset_status_desired_number_scheduled{sel}"
        ),
        for_: Some("10m"),
        summary: "Cilium agents are not ready on every node".into(),
        description: format!(
            "Ready agent pods of the DaemonSet {{{{ $labels.namespace }}}}/{AGENT_DAEMONSET}: {{{{ $value }}}}, fewer than \
             it schedules, for 10 minutes. Pods on nodes without a ready agent get no network."
        ),
    })
}

fn operator_not_available(cx: &Cx) -> Result<Body, String> {
    let sel = format!("{{namespace=\"{}\",deployment=\"{OPERATOR}\"}}", cx.ns);
    Ok(Body {
        expr: format!(
            "kube_deployment_status_replicas_available{sel} < kube_deployment_spec_replicas{sel}"
        ),
        for_: Some("10m"),
        summary: "The cilium-operator has fewer available replicas than it wants".into(),
        description: format!(
            "Available replicas of {{{{ $labels.namespace }}}}/{OPERATOR}: {{{{ $value }}}}, fewer than wanted, for 10 \
             minutes. Without the operator no ENI IPs are allocated and new nodes get no pod IPs."
        ),
    })
}

fn map_pressure(cx: &Cx, table: &str, maps: &[String]) -> Result<Body, String> {
    let metric = cx.metric("cilium_bpf_map_pressure")?;
    Ok(Body {
        expr: format!(
            "{metric}{{map_name=~\"{}\"}} >= {MAP_PRESSURE_THRESHOLD}",
            cx.pressure_maps(maps)
        ),
        for_: Some("5m"),
        summary: format!("The {table} map {{{{ $labels.map_name }}}} is nearly full"),
        description: format!(
            "The {table} map {{{{ $labels.map_name }}}} of {{{{ $labels.instance }}}} is \
             {{{{ $value | humanizePercentage }}}} full; when it is full new connections are dropped."
        ),
    })
}

fn conntrack_pressure(cx: &Cx) -> Result<Body, String> {
    let maps = &cx.knowledge.metrics.pressure_maps.conntrack;
    map_pressure(cx, "conntrack", maps)
}

fn nat_pressure(cx: &Cx) -> Result<Body, String> {
    let maps = &cx.knowledge.metrics.pressure_maps.nat;
    map_pressure(cx, "NAT", maps)
}

fn drops(cx: &Cx, drop_code: u16, what: &str) -> Result<Body, String> {
    let metric = cx.metric("cilium_drop_count_total")?;
    let reason = cx.drop_reason(drop_code)?;
    Ok(Body {
        expr: format!("sum by (instance) (rate({metric}{{reason=\"{reason}\"}}[5m])) > 0"),
        for_: Some("5m"),
        summary: format!("Cilium drops packets: {reason}"),
        description: format!(
            "{{{{ $labels.instance }}}} has dropped {{{{ printf \"%.2f\" $value }}}} packets/s with reason \
             \"{reason}\" for 5 minutes: {what}."
        ),
    })
}

fn conntrack_insertion_failed(cx: &Cx) -> Result<Body, String> {
    drops(
        cx,
        DROP_CT_MAP_INSERTION_FAILED,
        "the conntrack table is full",
    )
}

fn nat_mapping_failed(cx: &Cx) -> Result<Body, String> {
    drops(
        cx,
        DROP_NO_NAT_MAPPING,
        "no NAT entry could be created (the NAT table is full or out of ports)",
    )
}

fn ipam_node_needs_ips(cx: &Cx) -> Result<Body, String> {
    let metric = cx.metric("cilium_operator_ipam_needed_ips")?;
    Ok(Body {
        expr: format!("{metric} > 0"),
        for_: Some("15m"),
        summary: "Node {{ $labels.target_node }} has needed pod IPs for 15 minutes".into(),
        description: "The operator has needed {{ $value }} more IPs for node {{ $labels.target_node }} for \
                      15 minutes: the node is at its ENI limits or its subnets are exhausted, and new pods \
                      wait for an IP."
            .into(),
    })
}

fn ipam_nodes_at_capacity(cx: &Cx) -> Result<Body, String> {
    let metric = cx.first_metric(&[
        "cilium_operator_ipam_nodes",
        "cilium_operator_ipam_nodes_at_capacity",
    ])?;
    let expr = match metric {
        "cilium_operator_ipam_nodes" => format!("{metric}{{category=\"at-capacity\"}} > 0"),
        _ => format!("{metric} > 0"),
    };
    Ok(Body {
        expr,
        for_: Some("15m"),
        summary: "Nodes cannot get more pod IPs".into(),
        description: "Nodes unable to allocate more IP addresses: {{ $value }}, for 15 minutes \
             (cilium-operator IPAM)."
            .into(),
    })
}

fn endpoint_regeneration_failing(cx: &Cx) -> Result<Body, String> {
    let metric = cx.metric("cilium_endpoint_regenerations_total")?;
    Ok(Body {
        expr: format!("sum by (instance) (rate({metric}{{outcome!=\"success\"}}[5m])) > 0"),
        for_: Some("10m"),
        summary: "Endpoint regenerations fail on {{ $labels.instance }}".into(),
        description:
            "{{ $labels.instance }} has failed endpoint regenerations for 10 minutes: pods there \
                      may run with stale policy or datapath state."
                .into(),
    })
}

fn unreachable(cx: &Cx, metric: &'static str, what: &str) -> Result<Body, String> {
    let metric = cx.metric(metric)?;
    Ok(Body {
        expr: format!("{metric} > 0"),
        for_: Some("10m"),
        summary: format!("{{{{ $labels.instance }}}} cannot reach {what}"),
        description: format!(
            "Unreachable {what} seen from {{{{ $labels.instance }}}}: {{{{ $value }}}}, for 10 minutes \
             (cilium-health status shows which)."
        ),
    })
}

fn unreachable_nodes(cx: &Cx) -> Result<Body, String> {
    unreachable(cx, "cilium_unreachable_nodes", "nodes")
}

fn unreachable_health_endpoints(cx: &Cx) -> Result<Body, String> {
    unreachable(
        cx,
        "cilium_unreachable_health_endpoints",
        "health endpoints",
    )
}

fn policy_import_errors(cx: &Cx) -> Result<Body, String> {
    // cilium_policy_import_errors_total was deprecated in 1.14 for
    // cilium_policy_change_total and removed in 1.15 (metrics.json).
    let metric = cx.first_metric(&[
        "cilium_policy_change_total",
        "cilium_policy_import_errors_total",
    ])?;
    let selector = match metric {
        "cilium_policy_change_total" => "{outcome!=\"success\"}",
        _ => "",
    };
    Ok(Body {
        expr: format!("sum by (instance) (increase({metric}{selector}[10m])) > 0"),
        for_: None,
        summary: "Cilium on {{ $labels.instance }} failed to import network policies".into(),
        description: "{{ $labels.instance }} failed {{ printf \"%.0f\" $value }} policy imports or changes in \
                      the last 10 minutes: check the policies with cilium policy get and the agent log."
            .into(),
    })
}

impl AlertRules {
    /// The rules as a PrometheusRule object or a plain rules file.
    pub fn to_yaml(&self, options: &AlertOptions) -> Result<String, GenerateError> {
        let groups = Yaml::List(
            [
                (GROUP_KUBE_STATE_METRICS, Source::KubeStateMetrics),
                (GROUP_CILIUM, Source::Cilium),
            ]
            .into_iter()
            .filter(|(_, source)| self.alerts.iter().any(|a| a.source == *source))
            .map(|(name, source)| {
                let rules = self
                    .alerts
                    .iter()
                    .filter(|a| a.source == source)
                    .map(rule)
                    .collect();
                Yaml::map([("name", Yaml::str(name)), ("rules", Yaml::List(rules))])
            })
            .collect(),
        );
        let root = match options.format {
            Format::Rules => Yaml::map([("groups", groups)]),
            Format::PrometheusRule => {
                check_namespace("--namespace", &options.namespace)?;
                Yaml::Map(vec![
                    Entry::new("apiVersion", Yaml::str("monitoring.coreos.com/v1")),
                    Entry::new("kind", Yaml::str("PrometheusRule")),
                    Entry::new(
                        "metadata",
                        Yaml::map([
                            ("name", Yaml::str("cilium-eks")),
                            ("namespace", Yaml::str(&options.namespace)),
                        ]),
                    ),
                    Entry::new("spec", Yaml::map([("groups", groups)])),
                ])
            }
        };
        Ok(yaml::document(&self.header(), &root))
    }

    fn header(&self) -> Vec<String> {
        let minor = self.minor;
        let mut lines = vec![
            format!(
                "Prometheus alerting rules for Cilium {minor} on Amazon EKS (eks-cilium-doctor generate alerts)."
            ),
            format!("The Cilium metric names are those of the Cilium {minor} metrics docs."),
            format!(
                "Group {GROUP_KUBE_STATE_METRICS} reads kube-state-metrics series: it needs kube-state-metrics."
            ),
            format!(
                "Group {GROUP_CILIUM} needs the agent and operator metrics scraped \
                 (Helm {}; OPS005).",
                SCRAPE_KEYS.join(", ")
            ),
            "Each alert's runbook annotation names the doctor rule that explains it.".to_string(),
        ];
        lines.extend(self.notes.iter().cloned());
        for o in &self.omitted {
            lines.push(format!("Left out {} ({}): {}.", o.name, o.code, o.reason));
        }
        lines.push(String::new());
        lines
    }
}

fn rule(alert: &Alert) -> Yaml {
    let mut entries = vec![
        Entry::new("alert", Yaml::str(alert.name)),
        Entry::new("expr", Yaml::str(&alert.expr)),
    ];
    if let Some(duration) = alert.for_ {
        entries.push(Entry::new("for", Yaml::str(duration)));
    }
    entries.push(Entry::new(
        "labels",
        Yaml::map([("severity", Yaml::str(alert.severity))]),
    ));
    entries.push(Entry::new(
        "annotations",
        Yaml::map([
            ("summary", Yaml::str(&alert.summary)),
            ("description", Yaml::str(&alert.description)),
            (
                "runbook",
                Yaml::str(format!("eks-cilium-doctor explain {}", alert.code)),
            ),
        ]),
    ));
    Yaml::Map(entries)
}

#[cfg(test)]
mod tests;
