//! `ip rule` and `ip route` outputs as iproute2 prints them (the bugtool
//! captures of a sysdump: `cmd/ip-rule.md`, `cmd/ip--d-rule.md`,
//! `cmd/ip--4-r.md`), recognised by content.

use crate::model::{IpRoute, IpRouteList, IpRule, IpRuleList};

/// Route types iproute2 prints before the destination.
const ROUTE_TYPES: [&str; 8] = [
    "unicast",
    "local",
    "broadcast",
    "multicast",
    "unreachable",
    "blackhole",
    "prohibit",
    "throw",
];

/// The significant lines of a text (the first `max`).
fn lines(text: &str, max: usize) -> impl Iterator<Item = &str> {
    text.lines()
        .map(str::trim_end)
        .filter(|l| !l.trim().is_empty())
        .take(max)
}

/// `0:\tfrom all lookup local`: a priority, a colon, then a selector.
fn rule_line(line: &str) -> Option<IpRule> {
    let (priority, rest) = line.split_once(':')?;
    let priority: u32 = priority.trim().parse().ok()?;
    let mut words = rest.split_whitespace().peekable();
    let mut rule = IpRule {
        priority,
        // iproute2 puts a tab after the priority; evidence reads better with spaces.
        line: line.split_whitespace().collect::<Vec<_>>().join(" "),
        ..IpRule::default()
    };
    if words.peek() == Some(&"not") {
        rule.not = true;
        words.next();
    }
    if words.next()? != "from" {
        return None;
    }
    rule.from = words.next()?.to_string();
    while let Some(word) = words.next() {
        match word {
            "to" => rule.to = Some(words.next()?.to_string()),
            "lookup" | "table" => rule.table = Some(words.next()?.to_string()),
            _ => {}
        }
    }
    Some(rule)
}

/// Whether a word is an address or prefix (`10.0.0.0/16`, `fe80::/64`).
fn is_address(word: &str) -> bool {
    let addr = word.split('/').next().unwrap_or(word);
    addr.parse::<std::net::IpAddr>().is_ok()
}

/// Words of an `ip neigh` line (`10.0.0.1 dev eth0 lladdr 0a:… REACHABLE`),
/// which otherwise reads like a route.
const NEIGHBOUR_WORDS: [&str; 10] = [
    "lladdr",
    "REACHABLE",
    "STALE",
    "DELAY",
    "PROBE",
    "FAILED",
    "INCOMPLETE",
    "PERMANENT",
    "NOARP",
    "router",
];

fn route_line(line: &str) -> Option<IpRoute> {
    if line
        .split_whitespace()
        .any(|w| NEIGHBOUR_WORDS.contains(&w))
    {
        return None;
    }
    let mut words = line.split_whitespace().peekable();
    let mut destination = words.next()?.to_string();
    if ROUTE_TYPES.contains(&destination.as_str()) {
        destination = format!("{destination} {}", words.next()?);
    }
    let target = destination.rsplit(' ').next().unwrap_or(&destination);
    if target != "default" && !is_address(target) {
        return None;
    }
    let mut route = IpRoute {
        destination,
        line: line.trim().to_string(),
        ..IpRoute::default()
    };
    let mut seen_key = false;
    while let Some(word) = words.next() {
        match word {
            "via" => route.via = Some(words.next()?.to_string()),
            "dev" => route.dev = Some(words.next()?.to_string()),
            "proto" => route.proto = Some(words.next()?.to_string()),
            "table" => route.table = Some(words.next()?.to_string()),
            "metric" => route.metric = Some(words.next()?.parse().ok()?),
            _ => {}
        }
        seen_key |= matches!(word, "via" | "dev" | "scope" | "proto");
    }
    (seen_key || route.destination.contains(' ')).then_some(route)
}

/// `ip rule` output: every significant line a rule (at least one).
pub(super) fn is_rules(head: &str) -> bool {
    let mut any = false;
    for l in lines(head, 100) {
        if rule_line(l).is_none() {
            return false;
        }
        any = true;
    }
    any
}

/// `ip route` output: every significant line a route, one at least with
/// a device or gateway.
pub(super) fn is_routes(head: &str) -> bool {
    let mut any = false;
    for l in lines(head, 100) {
        if route_line(l).is_none() {
            return false;
        }
        any = true;
    }
    any
}

/// The rules of an `ip rule` output; lines that are not rules are skipped.
pub(super) fn parse_rules(source: &str, text: &str) -> IpRuleList {
    IpRuleList {
        source: source.to_string(),
        rules: lines(text, usize::MAX).filter_map(rule_line).collect(),
    }
}

/// The routes of an `ip route` output; lines that are not routes are skipped.
pub(super) fn parse_routes(source: &str, text: &str) -> IpRouteList {
    IpRouteList {
        source: source.to_string(),
        routes: lines(text, usize::MAX).filter_map(route_line).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A real capture: `cmd/ip-rule.md` of the sysdump in
    /// ../shared/data/realworld/cilium (g00ntar, 2022-11-10).
    const REAL_RULES: &str = "0:\tfrom all lookup local\n32766:\tfrom all lookup main\n32767:\tfrom all lookup default\n";
    /// `cmd/ip--4-r.md` of the same sysdump.
    const REAL_ROUTES: &str = "default via 192.168.5.2 dev eth0 metric 202 \n192.168.5.0/24 dev eth0 proto kernel scope link src 192.168.5.15 \n";

    #[test]
    fn reads_real_rule_and_route_captures() {
        assert!(is_rules(REAL_RULES));
        assert!(!is_routes(REAL_RULES));
        let rules = parse_rules("ip-rule.md", REAL_RULES);
        assert_eq!(rules.rules.len(), 3);
        assert_eq!(rules.rules[0].priority, 0);
        assert_eq!(rules.rules[0].table.as_deref(), Some("local"));
        assert!(is_routes(REAL_ROUTES));
        assert!(!is_rules(REAL_ROUTES));
        let routes = parse_routes("ip--4-r.md", REAL_ROUTES);
        assert_eq!(routes.routes[0].destination, "default");
        assert_eq!(routes.routes[0].dev.as_deref(), Some("eth0"));
        assert_eq!(routes.routes[0].metric, Some(202));
        assert_eq!(routes.routes[1].metric, None);
        // `ip route show table all` names the table of routes outside main.
        let all = parse_routes(
            "ip--4-route-show-table-all.md",
            "default via 10.0.0.1 dev ens6 table 11 proto kernel\nlocal 10.0.1.12 dev ens5 table local proto kernel scope host src 10.0.1.12\n",
        );
        assert_eq!(all.routes[0].table.as_deref(), Some("11"));
        assert_eq!(all.routes[1].destination, "local 10.0.1.12");
    }

    #[test]
    fn reads_eni_rules_with_details() {
        let text = "0:\tfrom all lookup local proto kernel\n20:\tfrom all to 10.0.1.45 lookup main proto kernel\n111:\tfrom 10.0.1.45 to 10.0.0.0/16 lookup 11 proto kernel\n1000:\tnot from all fwmark 0x200/0xf00 lookup 2004\n32766:\tfrom all lookup main proto kernel\n";
        let rules = parse_rules("ip--d-rule.md", text);
        assert_eq!(rules.rules.len(), 5);
        assert_eq!(rules.rules[2].from, "10.0.1.45");
        assert_eq!(rules.rules[2].to.as_deref(), Some("10.0.0.0/16"));
        assert_eq!(rules.rules[2].table.as_deref(), Some("11"));
        assert!(rules.rules[3].not);
    }

    #[test]
    fn other_texts_are_neither() {
        for text in [
            "apiVersion: v1\nkind: Pod\n",
            "level=info msg=\"Started\"\n",
            "Linux lima 5.15.74 #1 SMP aarch64 GNU/Linux\n",
            "",
            "default\n",
            // `ip -4 n` of the same real sysdump: neighbours, not routes.
            "192.168.5.2 dev eth0 lladdr 52:55:55:12:34:56 REACHABLE\n",
            "fe80::2 dev eth0 lladdr 52:55:55:12:34:56 router STALE\n",
        ] {
            assert!(!is_rules(text), "{text:?}");
            assert!(!is_routes(text), "{text:?}");
        }
    }
}
