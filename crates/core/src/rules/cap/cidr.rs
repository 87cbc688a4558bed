//! A small IPv4 CIDR type for the subnet and pod-CIDR rules (CAP005,
//! CAP008): parse `a.b.c.d/len`, size, overlap. IPv6 text is rejected (the
//! rules that use this are IPv4-only: Cilium's ENI mode is IPv4-only, see
//! `/work/shared/data/cilium/eni_iam.json` `ipv6`).

use std::fmt;
use std::net::Ipv4Addr;
use std::str::FromStr;

/// An IPv4 network. The address is normalised to the network address
/// (`10.0.1.7/16` → `10.0.0.0/16`), as AWS and Kubernetes treat it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Ipv4Cidr {
    network: u32,
    prefix_len: u8,
}

impl Ipv4Cidr {
    fn mask(self) -> u32 {
        if self.prefix_len == 0 {
            0
        } else {
            u32::MAX << (32 - u32::from(self.prefix_len))
        }
    }

    /// Number of addresses in the block (2^(32-len)); a /0 is 2^32.
    pub fn size(self) -> u64 {
        1u64 << (32 - u32::from(self.prefix_len))
    }

    pub fn first(self) -> u32 {
        self.network
    }

    pub fn last(self) -> u32 {
        self.network | !self.mask()
    }

    /// Whether the two blocks share at least one address.
    pub fn overlaps(self, other: Ipv4Cidr) -> bool {
        self.first() <= other.last() && other.first() <= self.last()
    }
}

impl FromStr for Ipv4Cidr {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let s = text.trim();
        let (addr, len) = s
            .split_once('/')
            .ok_or_else(|| format!("not an IPv4 CIDR (no /length): {text:?}"))?;
        let addr: Ipv4Addr = addr
            .parse()
            .map_err(|_| format!("not an IPv4 address: {text:?}"))?;
        if len.is_empty() || !len.bytes().all(|b| b.is_ascii_digit()) || len.len() > 2 {
            return Err(format!("bad prefix length: {text:?}"));
        }
        let prefix_len: u8 = len
            .parse()
            .map_err(|_| format!("bad prefix length: {text:?}"))?;
        if prefix_len > 32 {
            return Err(format!("prefix length over 32: {text:?}"));
        }
        let mut cidr = Ipv4Cidr {
            network: u32::from(addr),
            prefix_len,
        };
        cidr.network &= cidr.mask();
        Ok(cidr)
    }
}

impl fmt::Display for Ipv4Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", Ipv4Addr::from(self.network), self.prefix_len)
    }
}

/// Split a list as Cilium and Helm write them (space-, comma- or
/// newline-separated) and parse each IPv4 entry; IPv6 and unparsable entries
/// are returned separately so the caller can mention them.
pub fn parse_list(text: &str) -> (Vec<Ipv4Cidr>, Vec<String>) {
    let mut good = Vec::new();
    let mut bad = Vec::new();
    for item in text
        .split(|c: char| c.is_whitespace() || c == ',')
        .map(|i| i.trim_matches(|c| c == '"' || c == '\'' || c == '[' || c == ']'))
        .filter(|i| !i.is_empty())
    {
        match item.parse::<Ipv4Cidr>() {
            Ok(c) => good.push(c),
            Err(_) => bad.push(item.to_string()),
        }
    }
    (good, bad)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(s: &str) -> Ipv4Cidr {
        s.parse().unwrap()
    }

    #[test]
    fn parses_and_normalises() {
        assert_eq!(c("10.0.1.7/16").to_string(), "10.0.0.0/16");
        assert_eq!(c(" 192.168.0.0/24 ").size(), 256);
        assert_eq!(c("0.0.0.0/0").size(), 1 << 32);
        assert_eq!(c("1.2.3.4/0").to_string(), "0.0.0.0/0");
        assert_eq!(c("10.0.0.5/32").size(), 1);
        assert_eq!(c("10.0.0.5/32").to_string(), "10.0.0.5/32");
        assert_eq!(c("255.255.255.255/32").last(), u32::MAX);
        assert_eq!(c("0.0.0.0/0").last(), u32::MAX);
    }

    #[test]
    fn rejects_invalid_text() {
        for bad in [
            "",
            "10.0.0.0",
            "10.0.0.0/",
            "10.0.0.0/33",
            "10.0.0.0/-1",
            "10.0.0.0/+8",
            "10.0.0.0/008",
            "10.0.0/8",
            "10.0.0.256/8",
            "fd00::/104",
            "abc/8",
            "10.0.0.0/8/8",
        ] {
            assert!(bad.parse::<Ipv4Cidr>().is_err(), "{bad:?} should not parse");
        }
    }

    #[test]
    fn overlap() {
        assert!(c("10.0.0.0/8").overlaps(c("10.1.0.0/16")));
        assert!(c("10.1.0.0/16").overlaps(c("10.0.0.0/8")));
        assert!(!c("10.0.0.0/16").overlaps(c("10.1.0.0/16")));
        // Adjacent blocks do not overlap.
        assert!(!c("10.0.0.0/24").overlaps(c("10.0.1.0/24")));
        assert!(c("0.0.0.0/0").overlaps(c("203.0.113.7/32")));
        assert!(c("10.0.0.1/32").overlaps(c("10.0.0.1/32")));
        assert!(!c("10.0.0.1/32").overlaps(c("10.0.0.2/32")));
        assert!(c("172.20.0.0/16").overlaps(c("172.16.0.0/12")));
        assert!(!c("100.64.0.0/16").overlaps(c("10.0.0.0/8")));
    }

    #[test]
    fn lists() {
        let (good, bad) = parse_list("10.0.0.0/8 100.64.0.0/16,fd00::/104\n  [\"192.168.0.0/16\"]");
        assert_eq!(
            good.iter().map(ToString::to_string).collect::<Vec<_>>(),
            ["10.0.0.0/8", "100.64.0.0/16", "192.168.0.0/16"]
        );
        assert_eq!(bad, ["fd00::/104"]);
        assert_eq!(parse_list("").0, vec![]);
    }
}

#[cfg(test)]
mod proptests {
    use super::*;
    use proptest::prelude::*;

    fn cidr() -> impl Strategy<Value = Ipv4Cidr> {
        (any::<u32>(), 0u8..=32).prop_map(|(addr, len)| {
            format!("{}/{len}", Ipv4Addr::from(addr))
                .parse()
                .expect("valid CIDR")
        })
    }

    proptest! {
        #[test]
        fn display_parses_back(c in cidr()) {
            prop_assert_eq!(c.to_string().parse::<Ipv4Cidr>(), Ok(c));
        }

        #[test]
        fn overlap_is_symmetric_and_reflexive(a in cidr(), b in cidr()) {
            prop_assert!(a.overlaps(a));
            prop_assert_eq!(a.overlaps(b), b.overlaps(a));
        }

        #[test]
        fn overlap_means_a_shared_address(a in cidr(), b in cidr()) {
            // CIDR blocks nest or are disjoint: they overlap exactly when
            // one holds the other's first address.
            let holds = |c: Ipv4Cidr, ip: u32| c.first() <= ip && ip <= c.last();
            prop_assert_eq!(a.overlaps(b), holds(a, b.first()) || holds(b, a.first()));
        }

        #[test]
        fn size_matches_first_and_last(c in cidr()) {
            prop_assert_eq!(u64::from(c.last() - c.first()) + 1, c.size());
            prop_assert_eq!(c.first() % (c.size().min(1 << 31) as u32).max(1), 0);
        }

        #[test]
        fn any_text_parses_or_errors(text in ".{0,24}") {
            let _ = text.parse::<Ipv4Cidr>();
        }
    }
}
