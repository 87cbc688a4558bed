//! A Grafana dashboard (Grafana's dashboard JSON model, schemaVersion 41 of
//! Grafana 12) for `serve`'s metrics and the Cilium metrics the rules
//! watch, with a Prometheus data source variable.
//!
//! The doctor's panels use the families `serve` exports on `/metrics`
//! (crates/serve/src/metrics.rs; a test renders a real exposition and
//! checks every name). The Cilium panels use the metric names of one
//! Cilium minor (`metrics.json`), as `generate alerts` does: IPAM (the
//! agents' allocated addresses against their capacity, the operator's
//! used, available and needed ENI IPs, nodes at capacity), conntrack and
//! NAT map pressure (`cilium_bpf_map_pressure`, OPS001/OPS002's maps) and
//! drops by reason. A panel whose metric the minor lacks is left out, and
//! the dashboard's description says which.

use serde_json::{json, Value};

use super::alerts::{DROP_CT_MAP_INSERTION_FAILED, DROP_NO_NAT_MAPPING, MAP_PRESSURE_THRESHOLD};
use super::GenerateError;
use crate::knowledge::{CiliumMetrics, Knowledge};
use crate::version::Minor;

/// Grafana 12's dashboard schema version (apps/dashboard/pkg/migration/
/// schemaversion in grafana/grafana): no migration up to it touches the
/// fields written here.
pub const SCHEMA_VERSION: u32 = 41;
/// The data source template variable every panel queries.
pub const DATASOURCE_VARIABLE: &str = "datasource";
/// The dashboard's uid, stable so a re-import replaces it.
pub const UID: &str = "eks-cilium-doctor";

/// Options of `generate grafana-dashboard`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DashboardOptions {
    /// The Cilium minor whose metric names to use.
    pub cilium: Minor,
}

/// One query of a panel: PromQL and its legend.
struct Query {
    expr: String,
    legend: &'static str,
}

fn q(expr: impl Into<String>, legend: &'static str) -> Query {
    Query {
        expr: expr.into(),
        legend,
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Stat,
    TimeSeries,
    Table,
}

struct Panel {
    kind: Kind,
    title: String,
    description: String,
    unit: &'static str,
    /// Width out of 24 columns.
    width: u32,
    queries: Vec<Query>,
    /// A red threshold (stat colours, time-series threshold line).
    red_at: Option<f64>,
    stacked: bool,
}

fn panel(kind: Kind, title: impl Into<String>, description: impl Into<String>) -> Panel {
    Panel {
        kind,
        title: title.into(),
        description: description.into(),
        unit: "short",
        width: match kind {
            Kind::Stat => 6,
            Kind::TimeSeries => 12,
            Kind::Table => 24,
        },
        queries: Vec::new(),
        red_at: None,
        stacked: false,
    }
}

impl Panel {
    fn query(mut self, query: Query) -> Panel {
        self.queries.push(query);
        self
    }
    fn unit(mut self, unit: &'static str) -> Panel {
        self.unit = unit;
        self
    }
    fn red_at(mut self, value: f64) -> Panel {
        self.red_at = Some(value);
        self
    }
    fn stacked(mut self) -> Panel {
        self.stacked = true;
        self
    }
}

fn datasource() -> Value {
    json!({"type": "prometheus", "uid": format!("${{{DATASOURCE_VARIABLE}}}")})
}

fn thresholds(red_at: Option<f64>) -> Value {
    let mut steps = vec![json!({"color": "green", "value": null})];
    if let Some(red) = red_at {
        steps.push(json!({"color": "red", "value": red}));
    }
    json!({"mode": "absolute", "steps": steps})
}

impl Panel {
    fn to_json(&self, id: u32, x: u32, y: u32) -> Value {
        let height = if self.kind == Kind::Stat { 4 } else { 8 };
        let refs = ["A", "B", "C", "D", "E", "F"];
        let targets: Vec<Value> = self
            .queries
            .iter()
            .zip(refs)
            .map(|(query, ref_id)| {
                let mut t = json!({
                    "refId": ref_id,
                    "datasource": datasource(),
                    "expr": query.expr,
                    "legendFormat": query.legend,
                });
                match self.kind {
                    Kind::Table => {
                        t["format"] = json!("table");
                        t["instant"] = json!(true);
                        t["range"] = json!(false);
                    }
                    _ => t["range"] = json!(true),
                }
                t
            })
            .collect();
        let mut defaults = json!({
            "unit": self.unit,
            "thresholds": thresholds(self.red_at),
            "color": {"mode": if self.kind == Kind::Stat { "thresholds" } else { "palette-classic" }},
        });
        let options = match self.kind {
            Kind::Stat => json!({
                "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": false},
                "colorMode": "value",
                "graphMode": "area",
                "justifyMode": "auto",
                "orientation": "auto",
                "textMode": "auto",
            }),
            Kind::TimeSeries => {
                defaults["custom"] = json!({
                    "drawStyle": "line",
                    "lineWidth": 1,
                    "fillOpacity": if self.stacked { 30 } else { 10 },
                    "showPoints": "never",
                    "spanNulls": false,
                    "stacking": {"mode": if self.stacked { "normal" } else { "none" }, "group": "A"},
                    "thresholdsStyle": {"mode": if self.red_at.is_some() { "dashed" } else { "off" }},
                });
                json!({
                    "legend": {"displayMode": "list", "placement": "bottom", "showLegend": true, "calcs": []},
                    "tooltip": {"mode": "multi", "sort": "desc"},
                })
            }
            Kind::Table => json!({"showHeader": true, "cellHeight": "sm"}),
        };
        let mut p = json!({
            "id": id,
            "type": match self.kind {
                Kind::Stat => "stat",
                Kind::TimeSeries => "timeseries",
                Kind::Table => "table",
            },
            "title": self.title,
            "description": self.description,
            "datasource": datasource(),
            "gridPos": {"h": height, "w": self.width, "x": x, "y": y},
            "targets": targets,
            "fieldConfig": {"defaults": defaults, "overrides": []},
            "options": options,
        });
        if self.kind == Kind::Table {
            p["transformations"] = json!([
                {"id": "organize", "options": {"excludeByName": {"Time": true, "Value": true}}}
            ]);
        }
        p
    }
}

/// The doctor's own panels: serve's families only.
fn doctor_panels() -> Vec<Panel> {
    vec![
        panel(Kind::Stat, "Active findings", "Findings not suppressed, all severities (eks_cilium_doctor_findings).")
            .query(q("sum(eks_cilium_doctor_findings)", "findings"))
            .red_at(1.0),
        panel(Kind::Stat, "Stale sources", "Data sources whose last read failed: the served evaluation is older than it looks (eks_cilium_doctor_source_stale).")
            .query(q("sum(eks_cilium_doctor_source_stale)", "stale"))
            .red_at(1.0),
        panel(Kind::Stat, "Since the last evaluation", "Time since the served evaluation ran (eks_cilium_doctor_last_evaluation_timestamp_seconds).")
            .query(q("time() - max(eks_cilium_doctor_last_evaluation_timestamp_seconds)", "age"))
            .unit("s")
            .red_at(3600.0),
        panel(Kind::Stat, "Ready", "1 once serve has published a first full evaluation (eks_cilium_doctor_ready).")
            .query(q("min(eks_cilium_doctor_ready)", "ready")),
        panel(Kind::TimeSeries, "Findings by severity", "Active findings by severity over time.")
            .query(q("sum by (severity) (eks_cilium_doctor_findings)", "{{severity}}"))
            .stacked(),
        panel(Kind::TimeSeries, "Findings by rule", "Objects each rule finds, over time (one eks_cilium_doctor_finding series per rule and object).")
            .query(q("count by (rule) (eks_cilium_doctor_finding)", "{{rule}}"))
            .stacked(),
        panel(Kind::TimeSeries, "Stale sources and read errors", "1 while a source is stale; failed reads per source in the interval.")
            .query(q("max by (source) (eks_cilium_doctor_source_stale)", "stale {{source}}"))
            .query(q(
                "sum by (source) (increase(eks_cilium_doctor_source_errors_total[$__rate_interval]))",
                "errors {{source}}",
            )),
        panel(Kind::TimeSeries, "Evaluation duration", "How long the served evaluation took (loading and rules), and failed evaluations in the interval.")
            .query(q("max(eks_cilium_doctor_last_evaluation_duration_seconds)", "duration"))
            .query(q(
                "sum(increase(eks_cilium_doctor_evaluation_errors_total[$__rate_interval]))",
                "failed evaluations",
            ))
            .unit("s"),
        panel(Kind::TimeSeries, "Knowledge age", "Age of the newest source of each fact family of the doctor's knowledge on the evaluation date; VER011 fires past its thresholds (cilium_releases 60, eks_calendar 120, ec2_limits 90 by default).")
            .query(q("max by (family) (eks_cilium_doctor_knowledge_age_seconds)", "{{family}}"))
            .unit("s"),
        panel(Kind::TimeSeries, "Suppressed, not evaluated, not collected", "Findings hidden by a suppression, rules that could not run for a missing input, and calls denied or unsupported per source.")
            .query(q("max(eks_cilium_doctor_suppressed_findings)", "suppressed"))
            .query(q("max(eks_cilium_doctor_rules_not_evaluated)", "not evaluated"))
            .query(q("sum by (source) (eks_cilium_doctor_collection_gaps)", "not collected {{source}}")),
        panel(Kind::Table, "Active findings", "One row per rule and object, as served now (eks_cilium_doctor_finding); /report shows each with its evidence and fix.")
            .query(q(
                "max by (rule, severity, namespace, kind, name) (eks_cilium_doctor_finding)",
                "",
            )),
    ]
}

/// The Cilium panels of `minor`, and why any is left out.
fn cilium_panels(knowledge: &Knowledge, metrics: &CiliumMetrics) -> (Vec<Panel>, Vec<String>) {
    let minor = metrics.minor;
    let mut panels = Vec::new();
    let mut left_out = Vec::new();
    let has = |name: &str| metrics.has(name);
    let off_by_default = |name: &str| {
        if metrics.disabled_by_default.contains(name) {
            format!(" {name} is off by default in Cilium {minor}: add it to the Helm value prometheus.metrics.")
        } else {
            String::new()
        }
    };

    if has("cilium_ip_addresses") {
        let mut p = panel(
            Kind::TimeSeries,
            "Agent pod IPs: allocated and capacity",
            format!(
                "Addresses each agent has allocated (cilium_ip_addresses){}. In ENI mode the pool is what the node's ENIs hold; CAP001/CAP006 compare it with max pods.",
                if has("cilium_ipam_capacity") { " against its IPAM capacity (cilium_ipam_capacity)" } else { "" }
            ),
        )
        .query(q("sum by (instance, family) (cilium_ip_addresses)", "allocated {{instance}} {{family}}"));
        if has("cilium_ipam_capacity") {
            p = p.query(q(
                "sum by (instance, family) (cilium_ipam_capacity)",
                "capacity {{instance}} {{family}}",
            ));
        }
        panels.push(p);
    } else {
        left_out.push(format!(
            "agent pod IPs: Cilium {minor} exports no cilium_ip_addresses"
        ));
    }

    let eni = [
        "cilium_operator_ipam_used_ips",
        "cilium_operator_ipam_available_ips",
        "cilium_operator_ipam_needed_ips",
    ];
    if eni.iter().all(|n| has(n)) {
        panels.push(
            panel(Kind::TimeSeries, "Operator IPAM: used, available and needed IPs", "ENI IPs the cilium-operator has handed out, still has, and needs but cannot get (needed > 0 for long: ENI limits or subnet exhaustion, CAP003/CAP005).")
                .query(q("sum(cilium_operator_ipam_used_ips)", "used"))
                .query(q("sum(cilium_operator_ipam_available_ips)", "available"))
                .query(q("sum(cilium_operator_ipam_needed_ips)", "needed")),
        );
    } else if has("cilium_operator_ipam_ips") {
        panels.push(
            panel(
                Kind::TimeSeries,
                "Operator IPAM: IPs by type",
                "ENI IPs of the cilium-operator by type (available, used, needed).",
            )
            .query(q("sum by (type) (cilium_operator_ipam_ips)", "{{type}}")),
        );
    } else {
        left_out.push(format!(
            "operator IPAM: Cilium {minor} exports no cilium_operator_ipam_ips"
        ));
    }

    if has("cilium_operator_ipam_nodes") {
        panels.push(
            panel(Kind::TimeSeries, "Nodes at IPAM capacity", "Nodes the operator cannot give more IPs (cilium_operator_ipam_nodes, category at-capacity).")
                .query(q("max(cilium_operator_ipam_nodes{category=\"at-capacity\"})", "at capacity"))
                .red_at(1.0),
        );
    } else if has("cilium_operator_ipam_nodes_at_capacity") {
        panels.push(
            panel(
                Kind::TimeSeries,
                "Nodes at IPAM capacity",
                "Nodes the operator cannot give more IPs (cilium_operator_ipam_nodes_at_capacity).",
            )
            .query(q(
                "max(cilium_operator_ipam_nodes_at_capacity)",
                "at capacity",
            ))
            .red_at(1.0),
        );
    } else {
        left_out.push(format!(
            "nodes at IPAM capacity: Cilium {minor} exports neither operator metric"
        ));
    }

    let threshold: f64 = MAP_PRESSURE_THRESHOLD.parse().unwrap_or(0.9);
    if has("cilium_bpf_map_pressure") {
        let tables = [
            (
                "Conntrack map pressure",
                "OPS001",
                &knowledge.metrics.pressure_maps.conntrack,
            ),
            (
                "NAT map pressure",
                "OPS002",
                &knowledge.metrics.pressure_maps.nat,
            ),
        ];
        for (title, rule, maps) in tables {
            panels.push(
                panel(
                    Kind::TimeSeries,
                    title,
                    format!(
                        "Fill of the {} maps per agent (cilium_bpf_map_pressure); {rule} and its alert fire at {threshold}: when a map is full new connections are dropped.{}",
                        maps.join(", "),
                        off_by_default("cilium_bpf_map_pressure")
                    ),
                )
                .query(q(
                    format!("max by (instance, map_name) (cilium_bpf_map_pressure{{map_name=~\"{}\"}})", maps.join("|")),
                    "{{instance}} {{map_name}}",
                ))
                .unit("percentunit")
                .red_at(threshold),
            );
        }
    } else {
        left_out.push(format!(
            "map pressure: Cilium {minor} exports no cilium_bpf_map_pressure"
        ));
    }

    if has("cilium_drop_count_total") {
        panels.push(
            panel(
                Kind::TimeSeries,
                "Drops by reason",
                "Packets the datapath dropped per second, by reason (cilium_drop_count_total).",
            )
            .query(q(
                "sum by (reason) (rate(cilium_drop_count_total[$__rate_interval]))",
                "{{reason}}",
            ))
            .unit("pps"),
        );
        let reasons: Vec<&str> = [DROP_CT_MAP_INSERTION_FAILED, DROP_NO_NAT_MAPPING]
            .iter()
            .filter_map(|&code| knowledge.drop_reason(minor, code))
            .collect();
        if !reasons.is_empty() {
            let selector = reasons.join("|");
            panels.push(
                panel(
                    Kind::TimeSeries,
                    "Drops from full conntrack and NAT tables",
                    format!("Drops with reason {} per agent: the tables of the map pressure panels are full (OPS001, OPS002).", reasons.iter().map(|r| format!("\"{r}\"")).collect::<Vec<_>>().join(" or ")),
                )
                .query(q(
                    format!("sum by (instance, reason) (rate(cilium_drop_count_total{{reason=~\"{selector}\"}}[$__rate_interval]))"),
                    "{{instance}} {{reason}}",
                ))
                .unit("pps")
                .red_at(0.0001),
            );
        }
    } else {
        left_out.push(format!(
            "drops: Cilium {minor} exports no cilium_drop_count_total"
        ));
    }
    (panels, left_out)
}

fn row(id: u32, y: u32, title: &str) -> Value {
    json!({
        "id": id,
        "type": "row",
        "title": title,
        "collapsed": false,
        "gridPos": {"h": 1, "w": 24, "x": 0, "y": y},
        "panels": [],
    })
}

/// Lays `sections` (a row title and its panels) out left to right, top to
/// bottom, 24 columns wide.
fn layout(sections: Vec<(String, Vec<Panel>)>) -> Vec<Value> {
    let mut out = Vec::new();
    let (mut id, mut y) = (1, 0);
    for (title, panels) in sections {
        out.push(row(id, y, &title));
        id += 1;
        y += 1;
        let (mut x, mut line_height) = (0, 0);
        for p in panels {
            if x + p.width > 24 {
                x = 0;
                y += line_height;
                line_height = 0;
            }
            let value = p.to_json(id, x, y);
            line_height = line_height.max(value["gridPos"]["h"].as_u64().unwrap_or(8) as u32);
            out.push(value);
            id += 1;
            x += p.width;
        }
        y += line_height;
    }
    out
}

/// The dashboard, ready for Grafana's import (`id` null, a stable `uid`).
pub fn dashboard(
    knowledge: &Knowledge,
    options: &DashboardOptions,
) -> Result<Value, GenerateError> {
    let minor = options.cilium;
    let metrics = knowledge.metrics(minor).ok_or_else(|| {
        GenerateError(format!(
            "no metric names for Cilium {minor} in the knowledge (known: {})",
            knowledge.cilium_minors_list()
        ))
    })?;
    let (cilium, left_out) = cilium_panels(knowledge, metrics);
    let mut description = format!(
        "eks-cilium-doctor serve's metrics and the Cilium {minor} metrics its rules watch \
         (eks-cilium-doctor generate grafana-dashboard --cilium {minor}; knowledge of {}). \
         Cilium's need the Helm values prometheus.enabled and operator.prometheus.enabled.",
        knowledge.dates.date()
    );
    if !left_out.is_empty() {
        description.push_str(&format!(" Left out: {}.", left_out.join("; ")));
    }
    let panels = layout(vec![
        ("eks-cilium-doctor".to_string(), doctor_panels()),
        (
            format!("Cilium {minor}: IPAM, conntrack and NAT, drops"),
            cilium,
        ),
    ]);
    Ok(json!({
        "id": null,
        "uid": UID,
        "title": "eks-cilium-doctor: Cilium on EKS",
        "description": description,
        "tags": ["eks-cilium-doctor", "cilium", "eks"],
        "editable": true,
        "graphTooltip": 1,
        "fiscalYearStartMonth": 0,
        "liveNow": false,
        "links": [],
        "timezone": "browser",
        "time": {"from": "now-24h", "to": "now"},
        "timepicker": {},
        "refresh": "1m",
        "schemaVersion": SCHEMA_VERSION,
        "version": 1,
        "annotations": {"list": [{
            "builtIn": 1,
            "datasource": {"type": "grafana", "uid": "-- Grafana --"},
            "enable": true,
            "hide": true,
            "iconColor": "rgba(0, 211, 255, 1)",
            "name": "Annotations & Alerts",
            "type": "dashboard",
        }]},
        "templating": {"list": [{
            "name": DATASOURCE_VARIABLE,
            "label": "Prometheus",
            "type": "datasource",
            "query": "prometheus",
            "current": {},
            "hide": 0,
            "includeAll": false,
            "multi": false,
            "options": [],
            "refresh": 1,
            "regex": "",
            "skipUrlSync": false,
        }]},
        "panels": panels,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all_panels(minor: &str) -> Value {
        let options = DashboardOptions {
            cilium: minor.parse().unwrap(),
        };
        dashboard(Knowledge::embedded(), &options).unwrap()
    }

    #[test]
    fn panels_tile_the_grid_without_overlap() {
        for minor in Knowledge::embedded().metrics.minors.keys() {
            let d = all_panels(&minor.to_string());
            let mut cells = std::collections::HashSet::new();
            let mut ids = std::collections::HashSet::new();
            for p in d["panels"].as_array().unwrap() {
                assert!(ids.insert(p["id"].as_u64().unwrap()), "duplicate id");
                let g = &p["gridPos"];
                let (x, y, w, h) = (
                    g["x"].as_u64().unwrap(),
                    g["y"].as_u64().unwrap(),
                    g["w"].as_u64().unwrap(),
                    g["h"].as_u64().unwrap(),
                );
                assert!(x + w <= 24, "{p}");
                for cx in x..x + w {
                    for cy in y..y + h {
                        assert!(
                            cells.insert((cx, cy)),
                            "overlap at {cx},{cy}: {}",
                            p["title"]
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn every_minor_has_the_cilium_panels_its_metrics_allow() {
        let d = all_panels("1.12");
        let titles: Vec<&str> = d["panels"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["title"].as_str().unwrap())
            .collect();
        assert!(titles.contains(&"Operator IPAM: IPs by type"), "{titles:?}");
        assert!(titles.contains(&"Conntrack map pressure"));
        // Off by default in 1.12: the panel says so.
        let ct = d["panels"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["title"] == "Conntrack map pressure")
            .unwrap();
        assert!(ct["description"]
            .as_str()
            .unwrap()
            .contains("off by default in Cilium 1.12"));
        let d = all_panels("1.20");
        let titles: Vec<&str> = d["panels"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["title"].as_str().unwrap())
            .collect();
        assert!(
            titles.contains(&"Operator IPAM: used, available and needed IPs"),
            "{titles:?}"
        );
        assert!(!d["description"].as_str().unwrap().contains("Left out"));
    }

    #[test]
    fn an_unknown_minor_is_refused() {
        let options = DashboardOptions {
            cilium: "1.99".parse().unwrap(),
        };
        let err = dashboard(Knowledge::embedded(), &options).unwrap_err();
        assert!(err.0.contains("no metric names for Cilium 1.99"), "{err}");
    }
}
