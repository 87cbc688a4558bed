//! Text outputs found in sysdumps (and saved by hand): `cilium status`
//! (agent, `cilium-dbg status [--verbose]`), `cilium-health status`, and the
//! Go `version.Info{…}` text of a sysdump's `k8s-version-<ts>.txt`.

use crate::model::{
    CiliumHealthReport, CiliumStatusReport, FailingController, StatusComponent, StatusDevice,
};

/// Component names `cilium status` prints at the start of a line.
const STATUS_NAMES: &[&str] = &[
    "KVStore:",
    "Kubernetes:",
    "Kubernetes APIs:",
    "KubeProxyReplacement:",
    "Cilium:",
    "NodeMonitor:",
    "Cilium health daemon:",
    "IPAM:",
    "Controller Status:",
    "Proxy Status:",
    "Cluster health:",
];

pub(super) fn is_status(text: &str) -> bool {
    let starts = |name: &str| text.lines().any(|l| l.starts_with(name));
    (starts("KVStore:") || starts("Cilium health daemon:"))
        && STATUS_NAMES.iter().filter(|n| starts(n)).count() >= 3
}

pub(super) fn is_health(text: &str) -> bool {
    let mut lines = text.lines().map(str::trim_end);
    lines.clone().any(|l| l.starts_with("Probe time:")) && lines.any(|l| l == "Nodes:")
}

/// `x/y` with x < y, or `unreachable`: not fully reachable.
fn degraded(status: &str) -> bool {
    if status.eq_ignore_ascii_case("unreachable") {
        return true;
    }
    match status.split_once('/') {
        Some((ok, total)) => match (ok.parse::<u32>(), total.parse::<u32>()) {
            (Ok(ok), Ok(total)) => ok < total,
            _ => false,
        },
        None => false,
    }
}

/// `  name [(localhost)]   IP   node-status   endpoints-status`: the node
/// name when not fully reachable.
fn health_row(line: &str) -> Option<String> {
    let words: Vec<&str> = line.split_whitespace().collect();
    let (name, rest) = words.split_first()?;
    let statuses = match rest.first() {
        Some(&"(localhost)") => rest.get(2..)?,
        _ => rest.get(1..)?,
    };
    statuses
        .iter()
        .any(|s| degraded(s))
        .then(|| name.to_string())
}

pub(super) fn parse_status(source: &str, text: &str) -> CiliumStatusReport {
    /// The indented block the parser is in.
    #[derive(PartialEq)]
    enum Block {
        None,
        Allocations,
        Health,
        Controllers,
        KprDetails,
    }
    let mut report = CiliumStatusReport {
        source: source.to_string(),
        ..CiliumStatusReport::default()
    };
    let mut block = Block::None;
    for line in text.lines() {
        let line = line.trim_end();
        if line.trim().is_empty() {
            continue;
        }
        let indented = line.starts_with([' ', '\t']);
        if block == Block::Allocations && indented {
            // `  10.0.1.147 (router)`, `  10.0.1.29  (default/nginx-6f8c...)`
            if let Some((address, owner)) = allocation(line) {
                report
                    .allocation_owners
                    .get_or_insert_with(Vec::new)
                    .push(owner.clone());
                report.allocations.push((address, owner));
            }
            continue;
        }
        if line == "Allocated addresses:" {
            block = Block::Allocations;
            report.allocation_owners.get_or_insert_with(Vec::new);
            continue;
        }
        let table_header = line.trim_start().starts_with("Name") && line.contains(" IP ");
        if block == Block::Health && (indented || table_header) {
            if !table_header {
                if line.contains("(localhost)") {
                    report.local_node = line.split_whitespace().next().map(str::to_string);
                }
                report.unreachable_nodes.extend(health_row(line));
            }
            continue;
        }
        if block == Block::Controllers && indented {
            if let Some(failing) = controller_row(line) {
                report.failing_controllers.push(failing);
            }
            continue;
        }
        if block == Block::KprDetails && indented {
            if let Some(devices) = line.trim_start().strip_prefix("Devices:") {
                if report.kpr_devices.is_empty() {
                    report.kpr_devices = devices_of(devices);
                }
            }
            continue;
        }
        block = Block::None;
        // Other indented lines detail a section (maps, proxy, encryption…).
        if indented {
            continue;
        }
        if line == "KubeProxyReplacement Details:" {
            block = Block::KprDetails;
            continue;
        }
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let name = name.trim();
        let value = value.trim();
        let (state, detail) = value
            .split_once(char::is_whitespace)
            .map_or((value, ""), |(s, d)| (s, d.trim()));
        match name {
            "Cluster health" => {
                block = Block::Health;
                report.cluster_health = fraction(state);
            }
            "Controller Status" => {
                block = Block::Controllers;
                report.controllers = fraction(state);
            }
            "KubeProxyReplacement" => {
                if let Some(list) = detail
                    .strip_prefix('[')
                    .map(|l| l.split_once(']').map_or(l, |(inside, _)| inside))
                {
                    report.kpr_devices = devices_of(list);
                }
            }
            "IPAM" => {
                report.ipam_ipv4 = value
                    .split_once("IPv4:")
                    .and_then(|(_, rest)| rest.split_whitespace().next())
                    .and_then(fraction);
            }
            _ => {}
        }
        report.components.push(StatusComponent {
            name: name.to_string(),
            state: state.to_string(),
            detail: detail.to_string(),
        });
    }
    report
}

/// `6/14` → (6, 14).
fn fraction(text: &str) -> Option<(u32, u32)> {
    let (a, b) = text.split_once('/')?;
    Some((a.parse().ok()?, b.trim_end_matches(',').parse().ok()?))
}

/// `ens5   10.0.10.206 fe80::… (Direct Routing), ens6   10.0.10.91` → the
/// devices; a list cut short keeps what it has.
fn devices_of(list: &str) -> Vec<StatusDevice> {
    list.split(',')
        .filter_map(|entry| {
            let direct_routing = entry.contains("(Direct Routing)");
            let entry = entry.replace("(Direct Routing)", " ");
            let mut words = entry.split_whitespace();
            let name = words.next()?.to_string();
            Some(StatusDevice {
                name,
                addresses: words.map(str::to_string).collect(),
                direct_routing,
            })
        })
        .collect()
}

/// `Last success` / `Last error` cell: `never` or `<duration> ago`; the
/// number of words it takes.
fn time_cell(words: &[&str]) -> Option<usize> {
    match words {
        ["never", ..] => Some(1),
        [_, "ago", ..] => Some(2),
        _ => None,
    }
}

/// One row of the controller table (`Name  Last success  Last error  Count
/// Message`): the controller when its consecutive failure count is above
/// zero. Names can hold spaces (`sync-to-k8s-ciliumendpoint (1234)`).
fn controller_row(line: &str) -> Option<FailingController> {
    let words: Vec<&str> = line.split_whitespace().collect();
    if words.first() == Some(&"Name") {
        return None;
    }
    for start in 1..words.len() {
        let Some(success) = time_cell(&words[start..]) else {
            continue;
        };
        let error_at = start + success;
        let Some(error) = time_cell(&words[error_at..]) else {
            continue;
        };
        let count_at = error_at + error;
        let Some(count) = words.get(count_at).and_then(|w| w.parse::<u64>().ok()) else {
            continue;
        };
        if count == 0 {
            return None;
        }
        return Some(FailingController {
            name: words[..start].join(" "),
            last_error: words[error_at..count_at].join(" "),
            count,
            message: words[count_at + 1..].join(" "),
        });
    }
    None
}

/// One `Allocated addresses:` line: the address and the text in
/// parentheses after it.
fn allocation(line: &str) -> Option<(String, String)> {
    let (address, rest) = line.trim().split_once(char::is_whitespace)?;
    address.parse::<std::net::IpAddr>().ok()?;
    let owner = rest.trim().strip_prefix('(')?.split_once(')')?.0.trim();
    (!owner.is_empty()).then(|| (address.to_string(), owner.to_string()))
}

/// Nodes whose host (`unreachable_nodes`) or health endpoint
/// (`unreachable_endpoints`) failed a probe; both list node names.
pub(super) fn parse_health(source: &str, text: &str) -> CiliumHealthReport {
    #[derive(PartialEq)]
    enum Section {
        None,
        Host,
        Endpoint,
    }
    let mut report = CiliumHealthReport {
        source: source.to_string(),
        ..CiliumHealthReport::default()
    };
    let mut in_nodes = false;
    let mut node = String::new();
    let mut section = Section::None;
    for line in text.lines() {
        let trimmed = line.trim();
        if trimmed.is_empty() {
            continue;
        }
        if !line.starts_with([' ', '\t']) {
            in_nodes = trimmed == "Nodes:";
            continue;
        }
        if !in_nodes {
            continue;
        }
        if let Some(head) = trimmed.strip_suffix(':') {
            if head.starts_with("Host connectivity to") {
                section = Section::Host;
            } else if head.starts_with("Endpoint connectivity to") {
                section = Section::Endpoint;
            } else if !head.contains(" to ") {
                node = head.trim_end_matches("(localhost)").trim().to_string();
                section = Section::None;
            }
            continue;
        }
        let Some((_, status)) = trimmed.split_once(':') else {
            continue;
        };
        if status.trim().starts_with("OK") || section == Section::None {
            continue;
        }
        let list = if section == Section::Host {
            &mut report.unreachable_nodes
        } else {
            &mut report.unreachable_endpoints
        };
        if !list.contains(&node) {
            list.push(node.clone());
        }
    }
    report
}

/// `version.Info{Major:"1", …, GitVersion:"v1.25.3+k3s1", …}` → `v1.25.3+k3s1`.
pub(super) fn parse_go_version_info(text: &str) -> Option<String> {
    let after = text.split_once("GitVersion:\"")?.1;
    let version = after.split_once('"')?.0;
    (!version.is_empty()).then(|| version.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    const STATUS: &str = "\
KVStore:                 Disabled   
Kubernetes:              Ok         1.34 (v1.34.4-eks-f69f56f) [linux/amd64]
Cilium:                  Ok   1.18.7 (v1.18.7-2adae214)
Cilium health daemon:    Ok   
IPAM:                    IPv4: 6/14 allocated, 
Controller Status:       38/38 healthy
  Name                   Last success   Last error   Count   Message
  cilium-health-ep       17s ago        never        0       no error
Hubble:                  Ok              Current/Max Flows: 4095/4095 (100.00%)
Cluster health:          1/3 reachable   (2026-04-13T11:45:41Z)
Name                     IP              Node                     Endpoints
  ip-10-0-10-244 (localhost)   10.0.10.244     1/1          0/1
  ip-10-0-10-72            10.0.10.72      0/1                      0/1
  ip-10-0-10-9             10.0.10.9       reachable                reachable
  ip-10-0-10-8             10.0.10.8       unreachable              reachable
Modules Health:          Stopped(12) Degraded(0) OK(77)
";

    #[test]
    fn verbose_status_lists_the_allocation_owners() {
        // As `cilium-dbg status --verbose` prints it (1.14.3 on a cluster-pool
        // node; ENI mode prints the same list).
        let verbose = "\
KVStore:                Ok   Disabled
Kubernetes:             Ok   1.28 (v1.28.3) [linux/amd64]
Cilium:                 Ok   1.14.3 (v1.14.3-252a99ef)
Cilium health daemon:   Ok
IPAM:                   IPv4: 4/254 allocated from 10.18.64.0/24,
Allocated addresses:
  10.18.64.11 (kube-system/coredns-66f779496c-cqzgq)
  10.18.64.178 (router)
  10.18.64.4 (health)
  10.18.64.89  (kube-system/coredns-66f779496c-h6rnw)
IPv4 BIG TCP:           Disabled
Controller Status:      17/17 healthy
";
        let r = parse_status("agent", verbose);
        assert_eq!(
            r.allocation_owners.as_deref(),
            Some(
                &[
                    "kube-system/coredns-66f779496c-cqzgq".to_string(),
                    "router".into(),
                    "health".into(),
                    "kube-system/coredns-66f779496c-h6rnw".into()
                ][..]
            )
        );
        assert!(r.components.iter().any(|c| c.name == "IPv4 BIG TCP"));
        assert_eq!(parse_status("agent", STATUS).allocation_owners, None);
    }

    #[test]
    fn verbose_status_facts() {
        // Shaped after cilium#22601 (controller table) and cilium#34615
        // (the KubeProxyReplacement device list on EKS with Pod Identity).
        let text = "\
KVStore:                 Ok   Disabled
Kubernetes:              Ok   1.30 (v1.30.3-eks-a18cd3a) [linux/amd64]
KubeProxyReplacement:    True   [ens5    (Direct Routing), pod-id-link0    169.254.170.23 fd00:ec2::23]
Cilium:                  Ok   1.16.1 (v1.16.1-68579055)
Cilium health daemon:    Ok
IPAM:                    IPv4: 14/14 allocated,
Allocated addresses:
  10.0.145.134 (health)
  10.0.145.20 (router)
  10.0.145.77 (default/web-1)
Controller Status:       20/21 healthy
  Name                                  Last success   Last error   Count   Message
  bpf-map-sync-cilium_lxc               6s ago         never        0       no error
  endpoint-2565-regeneration-recovery   never          never        0       no error
  ipcache-inject-labels                 never          7s ago       8       k8s cache not fully synced
  sync-to-k8s-ciliumendpoint (1234)     1m2s ago       3s ago       2       timeout
KubeProxyReplacement Details:
  Status:                 True
  Devices:                ens5 10.0.145.10 (Direct Routing)
Cluster health:          2/2 reachable   (2024-09-01T10:00:00Z)
  Name                   IP              Node        Endpoints
  ip-10-0-145-10.ec2.internal (localhost)   10.0.145.10   reachable   reachable
  ip-10-0-146-11.ec2.internal               10.0.146.11   reachable   reachable
";
        let r = parse_status("s", text);
        assert_eq!(r.ipam_ipv4, Some((14, 14)));
        assert_eq!(
            r.allocations[0],
            ("10.0.145.134".to_string(), "health".to_string())
        );
        assert_eq!(r.controllers, Some((20, 21)));
        assert_eq!(r.failing_controllers.len(), 2);
        assert_eq!(r.failing_controllers[0].name, "ipcache-inject-labels");
        assert_eq!(r.failing_controllers[0].last_error, "7s ago");
        assert_eq!(r.failing_controllers[0].count, 8);
        assert_eq!(
            r.failing_controllers[0].message,
            "k8s cache not fully synced"
        );
        assert_eq!(
            r.failing_controllers[1].name,
            "sync-to-k8s-ciliumendpoint (1234)"
        );
        let names: Vec<&str> = r.kpr_devices.iter().map(|d| d.name.as_str()).collect();
        assert_eq!(names, ["ens5", "pod-id-link0"], "the one-line list wins");
        assert!(r.kpr_devices[0].direct_routing);
        assert_eq!(
            r.kpr_devices[1].addresses,
            ["169.254.170.23", "fd00:ec2::23"]
        );
        assert_eq!(r.local_node.as_deref(), Some("ip-10-0-145-10.ec2.internal"));
        assert!(r.unreachable_nodes.is_empty());
        // Cut in the middle of a line: what was read stays, nothing panics.
        for cut in [40, 300, 700, 1000, text.len() - 5] {
            let mut end = cut.min(text.len());
            while !text.is_char_boundary(end) {
                end -= 1;
            }
            let _ = parse_status("cut", &text[..end]);
        }
        // The verbose `Devices:` line is read when the one-line list is absent.
        let r = parse_status(
            "v",
            "KubeProxyReplacement:   True\nKubeProxyReplacement Details:\n  Devices:   eth0 10.1.2.3 (Direct Routing), pod-id-link0 169.254.170.23\n",
        );
        assert_eq!(r.kpr_devices.len(), 2);
    }

    #[test]
    fn status_components_and_cluster_health() {
        assert!(is_status(STATUS));
        let r = parse_status("agent-1", STATUS);
        assert_eq!(r.source, "agent-1");
        assert_eq!(r.cluster_health, Some((1, 3)));
        assert_eq!(
            r.unreachable_nodes,
            ["ip-10-0-10-244", "ip-10-0-10-72", "ip-10-0-10-8"]
        );
        let get = |n: &str| r.components.iter().find(|c| c.name == n).unwrap();
        assert_eq!(get("KVStore").state, "Disabled");
        assert_eq!(get("Kubernetes").state, "Ok");
        assert_eq!(
            get("Kubernetes").detail,
            "1.34 (v1.34.4-eks-f69f56f) [linux/amd64]"
        );
        assert_eq!(
            get("Hubble").detail,
            "Current/Max Flows: 4095/4095 (100.00%)"
        );
        assert_eq!(get("Modules Health").state, "Stopped(12)");
        assert!(r
            .components
            .iter()
            .all(|c| c.name != "Name" && !c.name.starts_with(' ')));
        assert!(!is_status(
            "Error: Get \"http:///var/run/cilium/cilium.sock/v1/healthz\"\n"
        ));
    }

    #[test]
    fn health_probes() {
        let text = "\
Probe time:   2020-12-29T15:17:02Z
Nodes:
  cluster1/node1 (localhost):
    Host connectivity to 10.5.6.60:
      ICMP to stack:   OK, RTT=9.557967ms
      HTTP to agent:   OK, RTT=405.072µs
    Endpoint connectivity to 10.6.2.213:
      ICMP to stack:   OK, RTT=9.951333ms
      HTTP to agent:   Get \"http://10.6.2.213:4240/hello\": context deadline exceeded
  cluster1/node2:
    Host connectivity to 10.5.6.61:
      ICMP to stack:   Connection timed out
      HTTP to agent:   Connection timed out
";
        assert!(is_health(text));
        let r = parse_health("h", text);
        assert_eq!(r.unreachable_nodes, ["cluster1/node2"]);
        assert_eq!(r.unreachable_endpoints, ["cluster1/node1"]);
    }

    #[test]
    fn go_version_info() {
        let text = r#"version.Info{Major:"1", Minor:"25", GitVersion:"v1.25.3+k3s1", GitCommit:"f2585c1"}"#;
        assert_eq!(parse_go_version_info(text).as_deref(), Some("v1.25.3+k3s1"));
        assert_eq!(parse_go_version_info("version.Info{Major:\"1\"}"), None);
    }
}
