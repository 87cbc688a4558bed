use super::*;

fn k() -> &'static Knowledge {
    Knowledge::embedded()
}

fn rules(minor: Minor) -> AlertRules {
    alert_rules(k(), minor, "kube-system").unwrap()
}

fn find<'a>(r: &'a AlertRules, name: &str) -> Option<&'a Alert> {
    r.alerts.iter().find(|a| a.name == name)
}

#[test]
fn every_cilium_metric_an_alert_reads_exists_in_its_minor() {
    for c in &k().cilium {
        let r = rules(c.minor);
        let metrics = k().metrics(c.minor).unwrap();
        for alert in r.alerts.iter().filter(|a| a.source == Source::Cilium) {
            let used: Vec<&str> = alert
                .expr
                .split(|ch: char| !(ch.is_ascii_alphanumeric() || ch == '_'))
                .filter(|w| w.starts_with("cilium_"))
                .collect();
            assert!(!used.is_empty(), "{}", alert.name);
            for metric in used {
                assert!(metrics.has(metric), "{} {}: {metric}", c.minor, alert.name);
            }
        }
        assert_eq!(r.alerts.len() + r.omitted.len(), SPECS.len(), "{}", c.minor);
    }
}

#[test]
fn names_change_between_minors() {
    let old = rules(Minor::new(1, 12));
    assert!(find(&old, "CiliumIPAMNodeNeedsIPs").is_none());
    let left_out = &old.omitted[0];
    assert_eq!(left_out.name, "CiliumIPAMNodeNeedsIPs");
    assert_eq!(
        left_out.reason,
        "Cilium 1.12 exports no cilium_operator_ipam_needed_ips (the metrics docs list it for 1.14 to 1.20)"
    );
    assert_eq!(
        find(&old, "CiliumIPAMNodesAtCapacity").unwrap().expr,
        "cilium_operator_ipam_nodes_at_capacity > 0"
    );
    assert!(find(&old, "CiliumPolicyImportErrors")
        .unwrap()
        .expr
        .contains("cilium_policy_import_errors_total"));
    assert!(old.notes[0].starts_with("cilium_bpf_map_pressure is off by default in Cilium 1.12"));

    let new = rules(Minor::new(1, 20));
    assert!(new.omitted.is_empty());
    assert!(new.notes.is_empty());
    assert_eq!(
        find(&new, "CiliumIPAMNodesAtCapacity").unwrap().expr,
        "cilium_operator_ipam_nodes{category=\"at-capacity\"} > 0"
    );
    assert!(find(&new, "CiliumPolicyImportErrors")
        .unwrap()
        .expr
        .contains("cilium_policy_change_total{outcome!=\"success\"}"));
}

#[test]
fn drops_and_pressure_use_the_knowledge_names() {
    let r = rules(Minor::new(1, 16));
    assert_eq!(
        find(&r, "CiliumConntrackInsertionFailed").unwrap().expr,
        "sum by (instance) (rate(cilium_drop_count_total{reason=\"CT: Map insertion failed\"}[5m])) > 0"
    );
    assert_eq!(
        find(&r, "CiliumNatMapPressure").unwrap().expr,
        "cilium_bpf_map_pressure{map_name=~\"snat_v4_external|snat_v6_external\"} >= 0.9"
    );
}

#[test]
fn runbooks_name_catalogue_codes_with_their_severity() {
    for spec in SPECS {
        assert!(
            crate::rules::codes::status(spec.code).is_some(),
            "{}",
            spec.code
        );
        // Once the rule is registered, its severity must be the alert's.
        if let Some(meta) = crate::rules::find_meta(spec.code) {
            assert_eq!(meta.severity.to_string(), spec.severity, "{}", spec.code);
        }
    }
}

#[test]
fn both_formats_hold_the_same_groups() {
    let r = rules(Minor::new(1, 18));
    let mut options = AlertOptions {
        format: Format::Rules,
        namespace: "monitoring".into(),
    };
    let plain: serde_json::Value = serde_saphyr::from_str(&r.to_yaml(&options).unwrap()).unwrap();
    options.format = Format::PrometheusRule;
    let object: serde_json::Value = serde_saphyr::from_str(&r.to_yaml(&options).unwrap()).unwrap();
    assert_eq!(object["apiVersion"], "monitoring.coreos.com/v1");
    assert_eq!(object["kind"], "PrometheusRule");
    assert_eq!(object["metadata"]["namespace"], "monitoring");
    assert_eq!(object["spec"], plain);
    let groups = plain["groups"].as_array().unwrap();
    assert_eq!(groups[0]["name"], GROUP_KUBE_STATE_METRICS);
    let first = &groups[0]["rules"][0];
    assert_eq!(
        first["annotations"]["runbook"],
        "eks-cilium-doctor explain OPS003"
    );
    options.namespace = "Monitoring".into();
    assert!(r.to_yaml(&options).is_err());
}

#[test]
fn bad_inputs_are_refused() {
    assert!(alert_rules(k(), Minor::new(1, 21), "kube-system")
        .unwrap_err()
        .0
        .contains("unknown Cilium minor 1.21"));
    assert!(alert_rules(k(), Minor::new(1, 20), "Kube_System")
        .unwrap_err()
        .0
        .starts_with("--cilium-namespace"));
}

#[test]
fn the_helm_keys_the_header_names_exist_in_every_chart() {
    for c in &k().cilium {
        let keys = k().helm_keys(c.minor).unwrap();
        for key in SCRAPE_KEYS.iter().chain([&METRICS_LIST_KEY]) {
            assert!(keys.contains(*key), "{}: {key}", c.minor);
        }
    }
}
