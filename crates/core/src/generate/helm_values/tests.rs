use std::collections::BTreeMap;

use serde_json::Value as Json;

use super::*;

fn k() -> &'static Knowledge {
    Knowledge::embedded()
}

fn net(s: &str) -> Ipv4Net {
    s.parse().unwrap()
}

fn api() -> ApiServer {
    ApiServer {
        host: "ABCDEF0123456789.gr7.us-west-2.eks.amazonaws.com".into(),
        port: 443,
    }
}

/// Every combination of mode and options the generator accepts.
fn option_sets() -> Vec<HelmOptions> {
    let mut sets = Vec::new();
    for kpr in [false, true] {
        for named in [false, true] {
            let with = |mut o: HelmOptions| {
                o.kube_proxy_replacement = kpr.then(api);
                o.cluster_name = named.then(|| "prod-eks".to_string());
                o
            };
            for pd in [false, true] {
                for role in [false, true] {
                    let mut o = HelmOptions::new(Mode::Eni);
                    o.prefix_delegation = pd;
                    o.operator_role_arn =
                        role.then(|| "arn:aws:iam::111122223333:role/cilium-operator".into());
                    sets.push(with(o));
                }
            }
            let mut o = HelmOptions::new(Mode::Overlay);
            o.vpc_cidrs = vec![net("10.0.0.0/16")];
            sets.push(with(o.clone()));
            o.service_cidr = Some(net("172.20.0.0/16"));
            o.pod_cidr = Some(net("100.80.0.0/14"));
            sets.push(with(o));
        }
    }
    sets
}

/// The YAML read back and flattened to dotted keys (lists are leaves).
fn flatten(text: &str) -> BTreeMap<String, Json> {
    fn walk(prefix: &str, v: &Json, out: &mut BTreeMap<String, Json>) {
        match v {
            Json::Object(map) => {
                for (key, value) in map {
                    let path = if prefix.is_empty() {
                        key.clone()
                    } else {
                        format!("{prefix}.{key}")
                    };
                    walk(&path, value, out);
                }
            }
            leaf => {
                out.insert(prefix.to_string(), leaf.clone());
            }
        }
    }
    let doc: Json = serde_saphyr::from_str(text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    let mut out = BTreeMap::new();
    walk("", &doc, &mut out);
    out
}

#[test]
fn every_minor_mode_and_option_gives_chart_keys_only() {
    let mut checked = 0;
    for cilium in &k().cilium {
        let keys = k().helm_keys(cilium.minor).unwrap();
        for options in option_sets() {
            let values = helm_values(k(), cilium.minor, &options)
                .unwrap_or_else(|e| panic!("{} {options:?}: {e}", cilium.minor));
            let text = values.to_yaml();
            let flat = flatten(&text);
            let set: Vec<&str> = values.keys().collect();
            assert_eq!(
                flat.keys().map(String::as_str).collect::<Vec<_>>(),
                {
                    let mut sorted = set.clone();
                    sorted.sort_unstable();
                    sorted
                },
                "{text}"
            );
            for key in flat.keys() {
                assert!(keys.contains(key), "{} has no key {key}", cilium.minor);
            }
            checked += 1;
        }
    }
    assert_eq!(checked, k().cilium.len() * option_sets().len());
}

fn flat(minor: Minor, options: &HelmOptions) -> BTreeMap<String, Json> {
    flatten(&helm_values(k(), minor, options).unwrap().to_yaml())
}

#[test]
fn eni_mode_uses_the_routing_key_of_each_minor() {
    let eni = HelmOptions::new(Mode::Eni);
    let old = flat(Minor::new(1, 13), &eni);
    assert_eq!(old["tunnel"], "disabled");
    assert!(!old.contains_key("routingMode"));
    assert_eq!(old["egressMasqueradeInterfaces"], "eth0");
    for minor in [Minor::new(1, 14), Minor::new(1, 15), Minor::new(1, 20)] {
        let v = flat(minor, &eni);
        assert_eq!(v["routingMode"], "native", "{minor}");
        assert!(!v.contains_key("tunnel"), "{minor}");
        assert_eq!(v["eni.enabled"], true);
        assert_eq!(v["ipam.mode"], "eni");
    }
    assert_eq!(
        flat(Minor::new(1, 17), &eni)["egressMasqueradeInterfaces"],
        "eth+"
    );
    assert!(!flat(Minor::new(1, 18), &eni).contains_key("egressMasqueradeInterfaces"));
    let mut al2023 = HelmOptions::new(Mode::Eni);
    al2023.egress_masquerade_interfaces = Some("ens+".into());
    assert_eq!(
        flat(Minor::new(1, 16), &al2023)["egressMasqueradeInterfaces"],
        "ens+"
    );
    let err = helm_values(k(), Minor::new(1, 18), &al2023).unwrap_err();
    assert!(
        err.0.contains("sets no egressMasqueradeInterfaces"),
        "{err}"
    );
}

#[test]
fn kube_proxy_replacement_is_spelled_per_minor() {
    let mut o = HelmOptions::new(Mode::Eni);
    o.kube_proxy_replacement = Some(api());
    assert_eq!(
        flat(Minor::new(1, 12), &o)["kubeProxyReplacement"],
        "strict"
    );
    let v = flat(Minor::new(1, 16), &o);
    assert_eq!(v["kubeProxyReplacement"], "true");
    assert_eq!(v["k8sServiceHost"], api().host.as_str());
    assert_eq!(v["k8sServicePort"], 443);
    for host in [
        "https://x.eks.amazonaws.com",
        "x.eks.amazonaws.com/path",
        "",
        "a..b",
    ] {
        o.kube_proxy_replacement = Some(ApiServer {
            host: host.into(),
            port: 443,
        });
        let err = helm_values(k(), Minor::new(1, 16), &o).unwrap_err();
        assert!(err.0.starts_with("--api-server-host"), "{host}: {err}");
    }
}

#[test]
fn overlay_pool_avoids_the_vpc_and_service_cidrs() {
    let mut o = HelmOptions::new(Mode::Overlay);
    o.vpc_cidrs = vec![net("100.64.0.0/16"), net("10.0.0.0/16")];
    o.service_cidr = Some(net("100.65.0.0/16"));
    let v = flat(Minor::new(1, 16), &o);
    assert_eq!(v["ipam.mode"], "cluster-pool");
    assert_eq!(
        v["ipam.operator.clusterPoolIPv4PodCIDRList"],
        serde_json::json!(["100.66.0.0/16"])
    );
    assert_eq!(v["ipam.operator.clusterPoolIPv4MaskSize"], 24);
    o.pod_cidr = Some(net("10.1.0.0/17"));
    assert!(helm_values(k(), Minor::new(1, 16), &o).is_ok());
    o.pod_cidr = Some(net("10.0.0.0/8"));
    let err = helm_values(k(), Minor::new(1, 16), &o).unwrap_err();
    assert!(err.0.contains("overlaps the VPC CIDR 10.0.0.0/16"), "{err}");
    o.pod_cidr = Some(net("192.168.0.0/24"));
    let err = helm_values(k(), Minor::new(1, 16), &o).unwrap_err();
    assert!(err.0.contains("larger than one /24"), "{err}");
    o.vpc_cidrs.clear();
    let err = helm_values(k(), Minor::new(1, 16), &o).unwrap_err();
    assert!(err.0.contains("needs --vpc-cidr"), "{err}");
}

#[test]
fn options_of_the_other_mode_are_refused() {
    let mut o = HelmOptions::new(Mode::Overlay);
    o.vpc_cidrs = vec![net("10.0.0.0/16")];
    o.prefix_delegation = true;
    assert!(helm_values(k(), Minor::new(1, 20), &o)
        .unwrap_err()
        .0
        .contains("--prefix-delegation applies to --mode eni"));
    let mut e = HelmOptions::new(Mode::Eni);
    e.vpc_cidrs = vec![net("10.0.0.0/16")];
    assert!(helm_values(k(), Minor::new(1, 20), &e)
        .unwrap_err()
        .0
        .contains("apply to --mode overlay"));
    let mut e = HelmOptions::new(Mode::Eni);
    e.operator_role_arn = Some("arn:aws:iam::1234:role/x".into());
    assert!(helm_values(k(), Minor::new(1, 20), &e)
        .unwrap_err()
        .0
        .contains("--operator-role-arn"));
    assert!(
        helm_values(k(), Minor::new(1, 11), &HelmOptions::new(Mode::Eni))
            .unwrap_err()
            .0
            .contains("unknown Cilium minor 1.11")
    );
}

#[test]
fn a_key_the_chart_lacks_is_an_error() {
    let mut knowledge = k().clone();
    let m = Minor::new(1, 20);
    knowledge
        .helm_keys
        .get_mut(&m)
        .unwrap()
        .remove("routingMode");
    let err = helm_values(&knowledge, m, &HelmOptions::new(Mode::Eni)).unwrap_err();
    assert_eq!(
        err.0,
        "bug: routingMode is not a value of the Cilium 1.20 chart"
    );
}

#[test]
fn prefix_delegation_names_the_instances_it_works_on() {
    let mut o = HelmOptions::new(Mode::Eni);
    o.prefix_delegation = true;
    let comment = |minor| {
        let values = helm_values(k(), minor, &o).unwrap();
        let pd = values
            .values
            .iter()
            .find(|v| v.key == "eni.awsEnablePrefixDelegation")
            .unwrap();
        pd.comments.join(" ")
    };
    assert!(comment(Minor::new(1, 19)).contains("nitro and bare-metal instances"));
    assert!(comment(Minor::new(1, 16)).contains("nitro instances only"));
}
