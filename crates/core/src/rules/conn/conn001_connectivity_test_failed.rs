//! CONN001 connectivity-test-failed.

use crate::findings::{ObjectRef, Severity};
use crate::model::{Cluster, IpPermission};
use crate::rules::inputs;
use crate::rules::{Area, Context, Outcome, Rule, RuleMeta};

pub struct ConnectivityTestFailed;

/// Kubernetes' default NodePort range (kube-apiserver `--service-node-port-range`).
const NODEPORT_RANGE: (u32, u32) = (30000, 32767);
const VXLAN_PORT: u32 = 8472;
const GENEVE_PORT: u32 = 6081;

static META: RuleMeta = RuleMeta {
    code: "CONN001",
    name: "connectivity-test-failed",
    severity: Severity::High,
    area: Area::Conn,
    summary: "A `cilium connectivity test` scenario failed; where the snapshot has the AWS facts, the finding names the security-group or route cause",
    what_it_checks: "`cilium connectivity test --junit-file` reports (cilium-cli's JUnit: \
suite `connectivity test`): every test whose status is `failed`, with its failed actions. \
For failures between nodes (`echo-other-node`, `node-to-node`, remote NodePort) it reads \
the node security groups (DescribeInstances + DescribeSecurityGroups) for an inbound rule \
that admits the port the action used from the other nodes (their security groups, or a \
CIDR of the VPC), and in tunnel mode the tunnel port; for failures to the world \
(`pod-to-world`, `to-fqdns`, `pod-to-cidr`) it reads the route tables for a default route.",
    why_it_matters: "Each connectivity test scenario exercises one path pods depend on: pod \
to pod on another node, pod to a NodePort, pod to the internet through DNS policy. On EKS a \
failure between nodes is most often a node security group that does not allow the traffic \
between the nodes (in ENI mode pod addresses carry the node security groups; in tunnel mode \
the tunnel port must be open), and a failure to the world a subnet without a route out.",
    how_to_fix: "Open the port the finding names between the node security groups \
(`aws ec2 authorize-security-group-ingress --group-id SG --protocol tcp --port PORT \
--source-group SG`), or give the node subnets a default route (NAT gateway or internet \
gateway). When the snapshot has no such cause, rerun the failed test alone with `cilium \
connectivity test --test NAME --debug` and read the flows it prints (`hubble observe \
--verdict DROPPED`).",
    known_limits: "Security-group analysis needs the instances and their security groups \
in the snapshot; network ACLs, security groups for pods (SGP rules) and policies of your \
own are not read. A failure with an AWS cause not listed here is reported without one.",
    docs_url: "https://docs.cilium.io/en/stable/contributing/testing/e2e/",
};

/// What a failed test's actions exercised.
#[derive(Default)]
struct Paths {
    /// Destination ports of actions between nodes (echo-other-node, node-to-node).
    cross_node_ports: Vec<u32>,
    /// Destination ports of actions to a NodePort on another node.
    nodeports: Vec<u32>,
    world: bool,
}

/// `… -> ns/dst (10.0.2.101:8080)` → 8080.
fn destination_port(action: &str) -> Option<u32> {
    let (_, dst) = action.rsplit_once("->")?;
    let inside = dst.rsplit_once('(')?.1.split_once(')')?.0;
    inside.rsplit_once(':')?.1.parse().ok()
}

fn paths(test: &str, actions: &[String]) -> Paths {
    let mut p = Paths::default();
    for a in actions {
        let scenario = a.split(':').next().unwrap_or("");
        let port = destination_port(a);
        if scenario.contains("nodeport") && !scenario.contains("local") {
            p.nodeports.extend(port);
        } else if a.contains("other-node") || scenario.contains("node-to-node") {
            p.cross_node_ports.extend(port);
        }
        if [
            "pod-to-world",
            "to-fqdns",
            "pod-to-cidr",
            "to-entities-world",
        ]
        .iter()
        .any(|w| scenario.contains(w) || test.contains(w))
        {
            p.world = true;
        }
    }
    p.cross_node_ports.sort_unstable();
    p.cross_node_ports.dedup();
    p.nodeports.sort_unstable();
    p.nodeports.dedup();
    p
}

/// The nodes' security groups: those of the EC2 instances and the EKS
/// cluster security group.
fn node_groups(c: &Cluster) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let groups = c
        .instances
        .as_deref()
        .unwrap_or_default()
        .iter()
        .flat_map(|i| &i.security_groups)
        .filter_map(|g| g.group_id.clone())
        .chain(
            c.eks
                .as_ref()
                .and_then(|e| e.resources_vpc_config.cluster_security_group_id.clone()),
        );
    for g in groups {
        if !out.contains(&g) {
            out.push(g);
        }
    }
    out
}

fn admits(r: &IpPermission, port: u32, proto: &str) -> bool {
    let number = if proto == "tcp" { "6" } else { "17" };
    match r.ip_protocol.as_deref() {
        Some("-1") => true,
        Some(p) if p == proto || p == number => {
            let from = r.from_port.and_then(|p| u32::try_from(p).ok()).unwrap_or(0);
            let to = r
                .to_port
                .and_then(|p| u32::try_from(p).ok())
                .unwrap_or(u32::MAX);
            from <= port && port <= to
        }
        _ => false,
    }
}

/// From the other nodes: one of the node groups, or any CIDR (the VPC's
/// CIDRs are not always in the snapshot, so a CIDR source counts).
fn from_nodes(r: &IpPermission, groups: &[String]) -> bool {
    !r.ip_ranges.is_empty()
        || r.user_id_group_pairs
            .iter()
            .filter_map(|g| g.group_id.as_deref())
            .any(|g| groups.iter().any(|x| x == g))
}

/// The security-group verdict for (port, proto): `None` when the snapshot
/// cannot tell, `Some(true)` when some node group admits it.
fn open(c: &Cluster, groups: &[String], port: u32, proto: &str) -> Option<bool> {
    let sgs = c.security_groups.as_deref()?;
    let node_sgs: Vec<_> = sgs
        .iter()
        .filter(|s| groups.contains(&s.group_id))
        .collect();
    if node_sgs.is_empty() {
        return None;
    }
    Some(node_sgs.iter().any(|s| {
        s.ip_permissions
            .iter()
            .any(|r| admits(r, port, proto) && from_nodes(r, groups))
    }))
}

impl Rule for ConnectivityTestFailed {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, cx: &Context) -> Outcome {
        let c = cx.cluster;
        let Some(reports) = c.connectivity_tests.as_deref() else {
            return META.missing(
                "no `cilium connectivity test` JUnit report",
                inputs::CONNECTIVITY_TEST,
            );
        };
        let groups = node_groups(c);
        let tunnel = c.cilium.routing_mode.as_deref() == Some("tunnel");
        let mut findings = Vec::new();
        for r in reports {
            let source = crate::rules::ops::common::display_source(&r.source);
            for t in r.tests.iter().filter(|t| t.status == "failed") {
                let p = paths(&t.name, &t.failed_actions);
                let mut causes = Vec::new();
                let mut fixes = Vec::new();
                let sg = groups
                    .first()
                    .map_or("NODE_SECURITY_GROUP_ID", String::as_str);
                let mut checks: Vec<(u32, &str, String)> = Vec::new();
                if tunnel && !(p.cross_node_ports.is_empty() && p.nodeports.is_empty()) {
                    let (port, name) = if c.cilium.tunnel_protocol.as_deref() == Some("geneve") {
                        (GENEVE_PORT, "Geneve")
                    } else {
                        (VXLAN_PORT, "VXLAN")
                    };
                    checks.push((port, "udp", format!("the {name} tunnel port")));
                } else {
                    for port in &p.cross_node_ports {
                        checks.push((
                            *port,
                            "tcp",
                            format!("port {port} the test's echo server listens on"),
                        ));
                    }
                }
                for port in &p.nodeports {
                    let what = if (NODEPORT_RANGE.0..=NODEPORT_RANGE.1).contains(port) {
                        format!(
                            "NodePort {port} (range {}-{})",
                            NODEPORT_RANGE.0, NODEPORT_RANGE.1
                        )
                    } else {
                        format!("NodePort {port}")
                    };
                    checks.push((*port, "tcp", what));
                }
                let mut unknown = false;
                for (port, proto, what) in &checks {
                    match open(c, &groups, *port, proto) {
                        Some(false) => {
                            causes.push(format!(
                                "no node security group ({}) admits {proto} {what} from the other nodes",
                                groups.join(", ")
                            ));
                            fixes.push(format!(
                                "aws ec2 authorize-security-group-ingress --group-id {sg} --protocol {proto} --port {port} --source-group {sg}"
                            ));
                        }
                        Some(true) => {}
                        None => unknown = true,
                    }
                }
                if p.world {
                    match c.route_tables.as_deref() {
                        Some(tables) if !tables.is_empty() => {
                            let default = tables.iter().any(|t| {
                                t.routes.iter().any(|r| {
                                    r.destination_cidr_block.as_deref() == Some("0.0.0.0/0")
                                        && r.state.as_deref() != Some("blackhole")
                                })
                            });
                            if !default {
                                causes.push(
                                    "no route table of the VPC has a default route (0.0.0.0/0): pods cannot reach the internet"
                                        .to_string(),
                                );
                                fixes.push("aws ec2 create-route --route-table-id RTB_ID --destination-cidr-block 0.0.0.0/0 --nat-gateway-id NAT_ID".to_string());
                            }
                        }
                        _ => unknown = true,
                    }
                }
                let mut message = format!(
                    "cilium connectivity test: `{}` failed ({} action(s))",
                    t.name,
                    t.failed_actions.len()
                );
                if !causes.is_empty() {
                    message.push_str(": ");
                    message.push_str(&causes.join("; "));
                }
                let mut f = META.finding(ObjectRef::global("ConnectivityTest", &t.name), message);
                for a in crate::rules::ops::common::capped(t.failed_actions.clone(), 8) {
                    f = f.with_evidence(format!("{source}: {a}"));
                }
                if causes.is_empty() && unknown {
                    f = f.with_evidence(
                        "the snapshot lacks the facts to tell an AWS cause: add ec2-instances.json, ec2-security-groups.json (describe-instances, describe-security-groups) and ec2-route-tables.json",
                    );
                }
                let mut fix = fixes.join("\n");
                if !fix.is_empty() {
                    fix.push('\n');
                }
                fix.push_str(&format!(
                    "cilium connectivity test --test '{}' --debug\nhubble observe --verdict DROPPED --last 200",
                    t.name
                ));
                findings.push(f.with_remediation(fix));
            }
        }
        Ok(findings)
    }
}

#[cfg(test)]
#[allow(clippy::field_reassign_with_default)]
mod tests {
    use super::*;
    use crate::model::{ConnectivityTest, ConnectivityTestReport};
    use crate::rules::testing::{fired, load_cluster, outcome};
    use serde_json::{json, Value};

    const ACTION: &str = "no-policies/pod-to-pod/curl-ipv4-2: cilium-test-1/client-645b68dcf7-w7kcn (10.0.1.64) -> cilium-test-1/echo-other-node-689b8c9477-rvkw4 (10.0.2.101:8080)";

    fn report(name: &str, status: &str, actions: &[&str]) -> ConnectivityTestReport {
        ConnectivityTestReport {
            source: "cilium-junit.xml".into(),
            args: None,
            tests: vec![ConnectivityTest {
                name: name.into(),
                status: status.into(),
                failed_actions: actions.iter().map(|a| a.to_string()).collect(),
            }],
        }
    }

    fn aws(ingress: Value) -> Vec<Value> {
        vec![
            json!({"Reservations": [{"Instances": [
                {"InstanceId": "i-1", "SecurityGroups": [{"GroupId": "sg-nodes"}]},
                {"InstanceId": "i-2", "SecurityGroups": [{"GroupId": "sg-nodes"}]}]}]}),
            json!({"SecurityGroups": [{"GroupId": "sg-nodes", "IpPermissions": ingress}]}),
        ]
    }

    #[test]
    fn cross_node_failure_with_a_closed_port() {
        let mut c = load_cluster(&aws(json!([
            {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443,
             "UserIdGroupPairs": [{"GroupId": "sg-nodes"}]}])));
        c.connectivity_tests = Some(vec![report("no-policies", "failed", &[ACTION])]);
        let f = fired(outcome(&ConnectivityTestFailed, &c));
        assert_eq!(f.len(), 1);
        assert!(f[0].message.starts_with("cilium connectivity test: `no-policies` failed (1 action(s)): no node security group (sg-nodes) admits tcp port 8080"), "{}", f[0].message);
        assert!(f[0].evidence[0].contains("echo-other-node"));
        assert!(f[0]
            .remediation
            .contains("--protocol tcp --port 8080 --source-group sg-nodes"));
    }

    #[test]
    fn open_ports_and_unknown_facts_name_no_cause() {
        let mut c = load_cluster(&aws(json!([
            {"IpProtocol": "-1", "UserIdGroupPairs": [{"GroupId": "sg-nodes"}]}])));
        c.connectivity_tests = Some(vec![report("no-policies", "failed", &[ACTION])]);
        let f = fired(outcome(&ConnectivityTestFailed, &c));
        assert!(
            f[0].message.ends_with("failed (1 action(s))"),
            "{}",
            f[0].message
        );
        let mut c = Cluster::default();
        c.connectivity_tests = Some(vec![report("to-fqdns", "failed", &["to-fqdns/pod-to-world/http-to-one.one.one.one-0: cilium-test-1/client (10.0.1.64) -> one.one.one.one-http (one.one.one.one:80)"])]);
        let f = fired(outcome(&ConnectivityTestFailed, &c));
        assert!(f[0].evidence.iter().any(|e| e.contains("lacks the facts")));
    }

    #[test]
    fn passed_skipped_and_missing() {
        let mut c = Cluster::default();
        assert!(outcome(&ConnectivityTestFailed, &c).is_err());
        c.connectivity_tests = Some(vec![
            report("no-policies", "passed", &[]),
            report("x", "skipped", &[]),
        ]);
        assert_eq!(outcome(&ConnectivityTestFailed, &c), Ok(vec![]));
    }

    #[test]
    fn tunnel_mode_checks_the_tunnel_port_and_nodeports() {
        let mut c = load_cluster(&aws(json!([
            {"IpProtocol": "tcp", "FromPort": 8080, "ToPort": 8080, "IpRanges": [{"CidrIp": "10.0.0.0/16"}]}])));
        c.cilium.routing_mode = Some("tunnel".into());
        c.connectivity_tests = Some(vec![report("no-policies", "failed", &[
            ACTION,
            "no-policies/pod-to-remote-nodeport/curl-ipv4-0: cilium-test-1/client (10.0.1.64) -> cilium-test-1/echo-other-node (10.0.2.15:31313)",
        ])]);
        let f = fired(outcome(&ConnectivityTestFailed, &c));
        assert!(
            f[0].message.contains("udp the VXLAN tunnel port"),
            "{}",
            f[0].message
        );
        assert!(
            f[0].message.contains("NodePort 31313 (range 30000-32767)"),
            "{}",
            f[0].message
        );
    }
}
