//! Prefix arithmetic on IPv4 and IPv6 CIDRs.
//!
//! Address counts are `u128` for both families, so IPv6 sizes (up to 2^128) never pass
//! through `f64` or `u64`. Ranges are inclusive, so a whole /0 fits.

use ipnet::{IpNet, Ipv4Subnets, Ipv6Subnets};
use std::net::{Ipv4Addr, Ipv6Addr};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Family {
    Ipv4,
    Ipv6,
}

impl Family {
    pub fn of(net: &IpNet) -> Family {
        match net {
            IpNet::V4(_) => Family::Ipv4,
            IpNet::V6(_) => Family::Ipv6,
        }
    }
}

/// The number of addresses in `net`; an IPv6 /0, the one size that does not fit,
/// saturates at `u128::MAX`.
pub fn size(net: &IpNet) -> u128 {
    let host_bits = net.max_prefix_len() - net.prefix_len();
    1u128.checked_shl(u32::from(host_bits)).unwrap_or(u128::MAX)
}

/// The first and last address of `net` as integers.
pub fn bounds(net: &IpNet) -> (u128, u128) {
    match net {
        IpNet::V4(n) => (
            u32::from(n.network()).into(),
            u32::from(n.broadcast()).into(),
        ),
        IpNet::V6(n) => (n.network().into(), n.broadcast().into()),
    }
}

/// True when `outer` holds every address of `inner`: `inner` is no larger and shares
/// `outer`'s prefix bits. Never across families.
pub fn contains(outer: &IpNet, inner: &IpNet) -> bool {
    let same_prefix = |differing_bits: u128, prefix_len: u8, bits: u32| {
        differing_bits >> (bits - u32::from(prefix_len)) == 0
    };
    match (outer, inner) {
        (IpNet::V4(o), IpNet::V4(i)) => {
            let differ = u32::from(o.addr()) ^ u32::from(i.addr());
            o.prefix_len() <= i.prefix_len() && same_prefix(differ.into(), o.prefix_len(), 32)
        }
        (IpNet::V6(o), IpNet::V6(i)) => {
            let differ = u128::from(o.addr()) ^ u128::from(i.addr());
            o.prefix_len() <= i.prefix_len()
                && (o.prefix_len() == 0 || same_prefix(differ, o.prefix_len(), 128))
        }
        _ => false,
    }
}

/// A parent block split by the blocks used inside it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Split {
    /// Addresses the used blocks cover, each address counted once.
    pub covered: u128,
    /// The rest, as the fewest aligned blocks, in address order.
    pub free: Vec<IpNet>,
}

/// Splits `parent` into the space `used` covers and the free rest. Used blocks are
/// clipped to the parent; those outside it, or of the other family, are ignored.
pub fn split(parent: &IpNet, used: &[IpNet]) -> Split {
    let (first, last) = bounds(parent);
    let mut ranges: Vec<(u128, u128)> = used
        .iter()
        .filter(|u| contains(parent, u) || contains(u, parent))
        .map(|u| {
            let (s, e) = bounds(u);
            (s.max(first), e.min(last))
        })
        .collect();
    ranges.sort_unstable();

    let mut split = Split {
        covered: 0,
        free: Vec::new(),
    };
    // The first address not yet known to be used; `None` once the parent is covered
    // to its end.
    let mut next = Some(first);
    for (s, e) in ranges {
        let Some(n) = next else { break };
        if s > n {
            push_blocks_of_range(parent, n, s - 1, &mut split.free);
        }
        if e >= n {
            split.covered = split
                .covered
                .saturating_add((e - s.max(n)).saturating_add(1));
            next = e.checked_add(1).filter(|a| *a <= last);
        }
    }
    if let Some(n) = next {
        push_blocks_of_range(parent, n, last, &mut split.free);
    }
    split
}

/// Appends the fewest aligned blocks, of `parent`'s family, that make up
/// `[start, end]`.
fn push_blocks_of_range(parent: &IpNet, start: u128, end: u128, out: &mut Vec<IpNet>) {
    match parent {
        // The range lies inside an IPv4 parent, so both ends fit 32 bits.
        IpNet::V4(_) => {
            let (s, e) = (Ipv4Addr::from(start as u32), Ipv4Addr::from(end as u32));
            out.extend(Ipv4Subnets::new(s, e, 0).map(IpNet::V4));
        }
        IpNet::V6(_) => {
            let (s, e) = (Ipv6Addr::from(start), Ipv6Addr::from(end));
            out.extend(Ipv6Subnets::new(s, e, 0).map(IpNet::V6));
        }
    }
}

/// The largest block (shortest prefix) among `blocks`, the first on a tie.
pub fn largest(blocks: &[IpNet]) -> Option<IpNet> {
    blocks.iter().min_by_key(|b| b.prefix_len()).copied()
}

/// `num / den` without converting either count to a float first: both are shifted
/// right until they fit a float's 53-bit mantissa, so IPv6-sized counts keep their
/// ratio. 0 when `den` is 0.
pub fn ratio(num: u128, den: u128) -> f64 {
    if den == 0 {
        return 0.0;
    }
    let shift = (128 - den.leading_zeros()).saturating_sub(53);
    (num >> shift) as f64 / (den >> shift) as f64
}

/// Parses a CIDR the way AWS writes it; the error names the text.
pub fn parse(text: &str) -> Result<IpNet, String> {
    let net: IpNet = text
        .trim()
        .parse()
        .map_err(|_| format!("malformed CIDR {text:?}"))?;
    if net.trunc() != net {
        return Err(format!("CIDR {text:?} has host bits set"));
    }
    Ok(net)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(s: &str) -> IpNet {
        s.parse().unwrap()
    }

    fn free(parent: &str, used: &[&str]) -> Vec<IpNet> {
        let used: Vec<IpNet> = used.iter().map(|u| n(u)).collect();
        split(&n(parent), &used).free
    }

    #[test]
    fn sizes_use_u128_for_ipv6() {
        assert_eq!(size(&n("10.0.0.0/16")), 65_536);
        assert_eq!(size(&n("0.0.0.0/0")), 1u128 << 32);
        assert_eq!(size(&n("2001:db8::/56")), 1u128 << 72);
        assert_eq!(size(&n("::/0")), u128::MAX);
    }

    /// The bit arithmetic agrees with ipnet's `contains` on every pair of a grid of
    /// CIDRs: all prefix lengths, addresses with host bits set, both families, /0.
    #[test]
    fn contains_agrees_with_ipnet() {
        let mut nets = Vec::new();
        for prefix in 0..=32u8 {
            for addr in [
                "0.0.0.0",
                "10.1.2.3",
                "10.1.0.0",
                "10.0.0.0",
                "255.255.255.255",
            ] {
                nets.push(IpNet::new(addr.parse().unwrap(), prefix).unwrap());
            }
        }
        for prefix in [0u8, 1, 8, 48, 56, 63, 64, 65, 127, 128] {
            for addr in ["::", "2001:db8::", "2001:db8:0:1::5", "ffff::1"] {
                nets.push(IpNet::new(addr.parse().unwrap(), prefix).unwrap());
            }
        }
        let mut inside = 0;
        for a in &nets {
            for b in &nets {
                assert_eq!(contains(a, b), a.contains(b), "{a} contains {b}");
                inside += usize::from(a.contains(b));
            }
        }
        // Both answers occur often, so the grid tests something.
        assert!(
            inside > 1000 && inside < nets.len() * nets.len() / 2,
            "{inside}"
        );
    }

    #[test]
    fn contains_never_crosses_families() {
        assert!(contains(&n("10.0.0.0/8"), &n("10.1.0.0/16")));
        assert!(!contains(&n("10.1.0.0/16"), &n("10.0.0.0/8")));
        assert!(!contains(&n("0.0.0.0/0"), &n("::/0")));
        assert!(!contains(&n("::/0"), &n("10.0.0.0/8")));
    }

    #[test]
    fn free_space_is_the_fewest_aligned_blocks() {
        assert_eq!(
            free("10.0.0.0/24", &["10.0.0.0/32"]),
            [
                "10.0.0.1/32",
                "10.0.0.2/31",
                "10.0.0.4/30",
                "10.0.0.8/29",
                "10.0.0.16/28",
                "10.0.0.32/27",
                "10.0.0.64/26",
                "10.0.0.128/25"
            ]
            .map(n)
        );
        assert_eq!(free("0.0.0.0/0", &[]), vec![n("0.0.0.0/0")]);
        assert_eq!(free("::/0", &[]), vec![n("::/0")]);
    }

    #[test]
    fn free_blocks_of_fragmented_parent() {
        let parent = "10.0.0.0/22";
        assert_eq!(
            free(parent, &["10.0.0.0/24", "10.0.2.0/25", "10.0.3.128/25"]),
            ["10.0.1.0/24", "10.0.2.128/25", "10.0.3.0/25"].map(n)
        );
        assert_eq!(free(parent, &[parent]), vec![]);
        assert_eq!(free(parent, &["10.0.0.0/8"]), vec![]);
        assert_eq!(free(parent, &["192.168.0.0/24"]), vec![n(parent)]);
        assert_eq!(free(parent, &["::/0"]), vec![n(parent)]);
    }

    #[test]
    fn free_blocks_ipv6() {
        let got = free("2001:db8:0:100::/56", &["2001:db8:0:100::/64"]);
        assert_eq!(got.len(), 8); // /64, /63, /62 ... /57
        assert_eq!(largest(&got), Some(n("2001:db8:0:180::/57")));
        let free_total: u128 = got.iter().map(size).sum();
        assert_eq!(free_total, size(&n("2001:db8:0:100::/56")) - (1 << 64));
    }

    #[test]
    fn split_counts_overlapping_used_blocks_once() {
        let parent = n("10.0.0.0/22");
        let used = ["10.0.0.0/24", "10.0.0.0/25", "10.0.1.0/24"].map(n);
        assert_eq!(
            split(&parent, &used),
            Split {
                covered: 512,
                free: vec![n("10.0.2.0/23")]
            }
        );
        // Clipped to the parent; nothing used and everything used.
        assert_eq!(split(&parent, &[n("10.0.0.0/8")]).covered, 1024);
        assert_eq!(split(&parent, &[]).covered, 0);
        assert_eq!(
            split(&n("::/0"), &[n("::/1")]),
            Split {
                covered: 1 << 127,
                free: vec![n("8000::/1")]
            }
        );
    }

    #[test]
    fn ratio_keeps_precision_for_huge_counts() {
        assert_eq!(ratio(1u128 << 64, 1u128 << 72), 1.0 / 256.0);
        assert_eq!(ratio(u128::MAX, u128::MAX), 1.0);
        assert_eq!(ratio(240, 251), 240.0 / 251.0);
        assert_eq!(ratio(1, 0), 0.0);
    }

    #[test]
    fn parse_rejects_garbage_and_host_bits() {
        assert!(parse("10.0.0.0/16").is_ok());
        assert!(parse("10.0.0.1/16").unwrap_err().contains("host bits"));
        assert!(parse("10.0.0.0/33").unwrap_err().contains("malformed"));
        assert!(parse("banana").unwrap_err().contains("\"banana\""));
    }
}
