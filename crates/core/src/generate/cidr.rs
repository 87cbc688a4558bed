//! IPv4 CIDR blocks: parsing, overlap, and picking a free block for an
//! overlay pod pool.

use std::fmt;
use std::net::Ipv4Addr;
use std::str::FromStr;

/// An IPv4 network such as `10.0.0.0/16` (host bits zero).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Ipv4Net {
    network: u32,
    prefix: u8,
}

impl Ipv4Net {
    pub fn new(addr: Ipv4Addr, prefix: u8) -> Result<Ipv4Net, String> {
        if prefix > 32 {
            return Err(format!("prefix length /{prefix} is above /32"));
        }
        let bits = u32::from(addr);
        let network = bits & mask(prefix);
        if network != bits {
            let net = Ipv4Net { network, prefix };
            return Err(format!(
                "{addr}/{prefix} has host bits set (the network is {net})"
            ));
        }
        Ok(Ipv4Net { network, prefix })
    }

    pub fn prefix(self) -> u8 {
        self.prefix
    }

    fn last(self) -> u32 {
        self.network | !mask(self.prefix)
    }

    pub fn overlaps(self, other: Ipv4Net) -> bool {
        self.network <= other.last() && other.network <= self.last()
    }

    /// The blocks of length `prefix` inside `self`, in address order.
    fn blocks(self, prefix: u8) -> impl Iterator<Item = Ipv4Net> {
        let step = 1u64 << (32 - u32::from(prefix));
        let count = if prefix >= self.prefix {
            1u64 << (prefix - self.prefix)
        } else {
            0
        };
        let start = u64::from(self.network);
        (0..count).map(move |i| Ipv4Net {
            network: (start + i * step) as u32,
            prefix,
        })
    }
}

fn mask(prefix: u8) -> u32 {
    match prefix {
        0 => 0,
        p => u32::MAX << (32 - u32::from(p)),
    }
}

impl fmt::Display for Ipv4Net {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", Ipv4Addr::from(self.network), self.prefix)
    }
}

impl FromStr for Ipv4Net {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let bad = || format!("not an IPv4 CIDR such as 10.0.0.0/16: {text:?}");
        let (addr, prefix) = text.trim().split_once('/').ok_or_else(bad)?;
        let addr: Ipv4Addr = addr.parse().map_err(|_| bad())?;
        let prefix: u8 = prefix.parse().map_err(|_| bad())?;
        Ipv4Net::new(addr, prefix)
    }
}

/// The private ranges an overlay pod pool is taken from, in order of
/// preference: the RFC 6598 shared space first (rarely a VPC's primary CIDR,
/// so least likely to clash with peered networks), then RFC 1918.
pub const POD_POOL_RANGES: [(Ipv4Addr, u8); 4] = [
    (Ipv4Addr::new(100, 64, 0, 0), 10),
    (Ipv4Addr::new(10, 0, 0, 0), 8),
    (Ipv4Addr::new(172, 16, 0, 0), 12),
    (Ipv4Addr::new(192, 168, 0, 0), 16),
];

/// The first block of length `prefix` in [`POD_POOL_RANGES`] that overlaps
/// none of `avoid`.
pub fn free_block(prefix: u8, avoid: &[Ipv4Net]) -> Option<Ipv4Net> {
    POD_POOL_RANGES
        .iter()
        .filter_map(|&(addr, len)| Ipv4Net::new(addr, len).ok())
        .flat_map(|range| range.blocks(prefix))
        .find(|block| !avoid.iter().any(|a| a.overlaps(*block)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn net(s: &str) -> Ipv4Net {
        s.parse().unwrap()
    }

    #[test]
    fn parses_and_refuses() {
        assert_eq!(net("10.0.0.0/16").to_string(), "10.0.0.0/16");
        assert_eq!(net("0.0.0.0/0").to_string(), "0.0.0.0/0");
        let err = "10.0.0.1/16".parse::<Ipv4Net>().unwrap_err();
        assert!(
            err.contains("host bits") && err.contains("10.0.0.0/16"),
            "{err}"
        );
        for bad in ["10.0.0.0", "10.0.0.0/33", "10.0.0/8", "x/8", "10.0.0.0/-1"] {
            assert!(bad.parse::<Ipv4Net>().is_err(), "{bad}");
        }
    }

    #[test]
    fn overlap_is_symmetric_and_exact_at_the_edges() {
        assert!(net("10.0.0.0/8").overlaps(net("10.20.0.0/16")));
        assert!(net("10.20.0.0/16").overlaps(net("10.0.0.0/8")));
        assert!(!net("10.0.0.0/16").overlaps(net("10.1.0.0/16")));
        assert!(net("0.0.0.0/0").overlaps(net("192.168.1.0/24")));
    }

    #[test]
    fn free_block_skips_what_it_must_avoid() {
        assert_eq!(free_block(16, &[]), Some(net("100.64.0.0/16")));
        let avoid = [net("100.64.0.0/16"), net("100.65.0.0/17")];
        assert_eq!(free_block(16, &avoid), Some(net("100.66.0.0/16")));
        assert_eq!(
            free_block(16, &[net("100.64.0.0/10")]),
            Some(net("10.0.0.0/16"))
        );
        let all = [
            net("100.64.0.0/10"),
            net("10.0.0.0/8"),
            net("172.16.0.0/12"),
            net("192.168.0.0/16"),
        ];
        assert_eq!(free_block(16, &all), None);
        assert_eq!(free_block(8, &[]), Some(net("10.0.0.0/8")));
    }
}
