//! Prefix arithmetic on IPv4 and IPv6 CIDRs.
//!
//! Addresses are held as `u128` for both families so that IPv6 sizes (up to 2^128)
//! never pass through `f64` or `u64`. Ranges are inclusive so a whole /0 fits.

use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

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

    pub fn bits(self) -> u32 {
        match self {
            Family::Ipv4 => 32,
            Family::Ipv6 => 128,
        }
    }
}

/// Number of addresses in a prefix of length `prefix_len`, saturating at `u128::MAX`
/// for an IPv6 /0 (the only size that does not fit).
pub fn block_size(family: Family, prefix_len: u8) -> u128 {
    let host_bits = family.bits() - u32::from(prefix_len);
    1u128.checked_shl(host_bits).unwrap_or(u128::MAX)
}

pub fn size(net: &IpNet) -> u128 {
    block_size(Family::of(net), net.prefix_len())
}

/// First and last address of `net` as integers.
pub fn bounds(net: &IpNet) -> (u128, u128) {
    match net {
        IpNet::V4(n) => (
            u128::from(u32::from(n.network())),
            u128::from(u32::from(n.broadcast())),
        ),
        IpNet::V6(n) => (u128::from(n.network()), u128::from(n.broadcast())),
    }
}

fn make_net(family: Family, start: u128, prefix_len: u8) -> IpNet {
    match family {
        // start fits in 32 bits: it comes from an IPv4 range.
        Family::Ipv4 => {
            IpNet::V4(Ipv4Net::new(Ipv4Addr::from(start as u32), prefix_len).expect("prefix <= 32"))
        }
        Family::Ipv6 => {
            IpNet::V6(Ipv6Net::new(Ipv6Addr::from(start), prefix_len).expect("prefix <= 128"))
        }
    }
}

/// True when `outer` contains every address of `inner` (same family): `inner` is no
/// larger and shares `outer`'s prefix bits. Computed on the integers, as ipnet's
/// `contains` is (it works out both networks and broadcasts first), because the
/// calculator asks this about a million times for 100k subnets.
pub fn contains(outer: &IpNet, inner: &IpNet) -> bool {
    match (outer, inner) {
        (IpNet::V4(o), IpNet::V4(i)) => {
            let differ = u32::from(o.addr()) ^ u32::from(i.addr());
            o.prefix_len() <= i.prefix_len()
                && differ
                    .checked_shr(32 - u32::from(o.prefix_len()))
                    .unwrap_or(0)
                    == 0
        }
        (IpNet::V6(o), IpNet::V6(i)) => {
            let differ = u128::from(o.addr()) ^ u128::from(i.addr());
            o.prefix_len() <= i.prefix_len()
                && differ
                    .checked_shr(128 - u32::from(o.prefix_len()))
                    .unwrap_or(0)
                    == 0
        }
        _ => false,
    }
}

/// True when the two CIDRs share at least one address. CIDRs are prefix-aligned, so
/// they overlap exactly when one contains the other.
pub fn overlaps(a: &IpNet, b: &IpNet) -> bool {
    contains(a, b) || contains(b, a)
}

/// The smaller of two overlapping CIDRs: the addresses they share.
pub fn intersection(a: &IpNet, b: &IpNet) -> Option<IpNet> {
    if contains(a, b) {
        Some(*b)
    } else if contains(b, a) {
        Some(*a)
    } else {
        None
    }
}

/// Splits the inclusive range `[start, end]` into the fewest aligned CIDR blocks,
/// appended to `out`.
pub fn range_to_cidrs_into(family: Family, mut start: u128, end: u128, out: &mut Vec<IpNet>) {
    let bits = family.bits();
    loop {
        // Largest block aligned at `start`...
        let align = if start == 0 {
            bits
        } else {
            start.trailing_zeros().min(bits)
        };
        // ...that does not run past `end`.
        let remaining = end - start; // count - 1, never overflows
        let fit = if remaining == u128::MAX {
            128
        } else {
            127 - (remaining + 1).leading_zeros()
        };
        let host_bits = align.min(fit);
        out.push(make_net(family, start, (bits - host_bits) as u8));
        let last = if host_bits >= 128 {
            u128::MAX
        } else {
            start + ((1u128 << host_bits) - 1)
        };
        if last >= end {
            return;
        }
        start = last + 1;
    }
}

/// Splits `parent` into the space `used` covers, returned (in addresses, without
/// double counting), and the rest, appended to `free_out` as aggregated blocks in
/// address order. Both come from one sort and one walk; `ranges` is scratch space a
/// caller can reuse across calls. Used blocks outside `parent` (or of the other
/// family) are ignored, the others clipped to it: one that contains `parent` leaves
/// nothing free.
pub fn split<'a>(
    parent: &IpNet,
    used: impl IntoIterator<Item = &'a IpNet>,
    ranges: &mut Vec<(u128, u128)>,
    free_out: &mut Vec<IpNet>,
) -> u128 {
    let family = Family::of(parent);
    let (p_start, p_end) = bounds(parent);
    ranges.clear();
    ranges.extend(used.into_iter().filter(|u| overlaps(parent, u)).map(|u| {
        let (s, e) = bounds(u);
        (s.max(p_start), e.min(p_end))
    }));
    ranges.sort_unstable();

    let mut covered: u128 = 0;
    let mut cursor = Some(p_start); // next address not yet known to be used
    for &(s, e) in ranges.iter() {
        let Some(c) = cursor else { break };
        if s > c {
            range_to_cidrs_into(family, c, s - 1, free_out);
        }
        if e >= c {
            covered = covered.saturating_add(range_len(s.max(c), e));
            cursor = e.checked_add(1).filter(|n| *n <= p_end);
        }
    }
    if let Some(c) = cursor {
        range_to_cidrs_into(family, c, p_end, free_out);
    }
    covered
}

fn range_len(start: u128, end: u128) -> u128 {
    (end - start).saturating_add(1)
}

/// The largest block (shortest prefix) among `blocks`, the first one in address order
/// on a tie.
pub fn largest(blocks: &[IpNet]) -> Option<IpNet> {
    blocks.iter().min_by_key(|b| b.prefix_len()).copied()
}

/// `num / den` as a fraction without converting either operand to a float first:
/// both are shifted right until they fit the 53-bit mantissa, so IPv6-sized counts
/// keep their ratio. Returns 0 when `den` is 0.
pub fn ratio(num: u128, den: u128) -> f64 {
    if den == 0 {
        return 0.0;
    }
    let shift = (128 - den.leading_zeros()).saturating_sub(53);
    to_f64(num >> shift) / to_f64(den >> shift)
}

/// Appends `net` as its `Display` writes it. IPv4 is written from its octets: through
/// `Display` a block cost ~1,400 instructions, and a run writes thousands in warnings.
pub fn push_cidr(out: &mut String, net: &IpNet) {
    match net {
        IpNet::V4(n) => {
            let mut digits = itoa::Buffer::new();
            for (i, octet) in n.addr().octets().into_iter().enumerate() {
                if i > 0 {
                    out.push('.');
                }
                out.push_str(digits.format(octet));
            }
            out.push('/');
            out.push_str(digits.format(n.prefix_len()));
        }
        IpNet::V6(_) => {
            use std::fmt::Write as _;
            let _ = write!(out, "{net}");
        }
    }
}

/// `x` as the nearest f64. Through u64 where it fits: the same rounding without
/// u128's software conversion (every record and block takes a ratio).
pub fn to_f64(x: u128) -> f64 {
    // Out of line, so the slow conversion is not computed on both paths.
    #[cold]
    #[inline(never)]
    fn wide(x: u128) -> f64 {
        x as f64
    }
    match u64::try_from(x) {
        Ok(x) => x as f64,
        Err(_) => wide(x),
    }
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

/// Address of an `IpAddr` as an integer (used to order mixed lists).
pub fn addr_value(addr: IpAddr) -> u128 {
    match addr {
        IpAddr::V4(a) => u128::from(u32::from(a)),
        IpAddr::V6(a) => u128::from(a),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// IPv4 written from its octets reads as `Display` writes it, IPv6 goes through it.
    #[test]
    fn push_cidr_writes_what_display_writes() {
        let mut nets: Vec<IpNet> = Vec::new();
        for prefix in 0..=32u8 {
            for addr in ["0.0.0.0", "10.1.2.3", "172.31.255.0", "255.255.255.255"] {
                nets.push(IpNet::V4(
                    Ipv4Net::new(addr.parse().unwrap(), prefix).unwrap(),
                ));
            }
        }
        nets.extend(
            ["2600:1f18:abcd::/56", "::/0", "fd00::1/128"].map(|n| n.parse::<IpNet>().unwrap()),
        );
        for net in nets {
            let mut out = String::from("x ");
            push_cidr(&mut out, &net);
            assert_eq!(out, format!("x {net}"));
        }
    }

    /// The integer form agrees with ipnet's `contains` on every pair of a grid of
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
                nets.push(IpNet::V4(
                    Ipv4Net::new(addr.parse().unwrap(), prefix).unwrap(),
                ));
            }
        }
        for prefix in [0u8, 1, 8, 48, 56, 63, 64, 65, 127, 128] {
            for addr in ["::", "2001:db8::", "2001:db8:0:1::5", "ffff::1"] {
                nets.push(IpNet::V6(
                    Ipv6Net::new(addr.parse().unwrap(), prefix).unwrap(),
                ));
            }
        }
        let mut inside = 0;
        for a in &nets {
            for b in &nets {
                let want = Family::of(a) == Family::of(b) && a.contains(b);
                assert_eq!(contains(a, b), want, "{a} contains {b}");
                inside += usize::from(want);
            }
        }
        // Both answers occur often, so the grid tests something.
        assert!(
            inside > 1000 && inside < nets.len() * nets.len() / 2,
            "{inside}"
        );
    }

    fn n(s: &str) -> IpNet {
        s.parse().unwrap()
    }

    fn range_to_cidrs(family: Family, start: u128, end: u128) -> Vec<IpNet> {
        let mut out = Vec::new();
        range_to_cidrs_into(family, start, end, &mut out);
        out
    }

    /// The free blocks `split` appends, on their own.
    fn free_blocks<'a>(parent: &IpNet, used: impl IntoIterator<Item = &'a IpNet>) -> Vec<IpNet> {
        let mut free = Vec::new();
        split(parent, used, &mut Vec::new(), &mut free);
        free
    }

    #[test]
    fn sizes_use_u128_for_ipv6() {
        assert_eq!(size(&n("10.0.0.0/16")), 65_536);
        assert_eq!(size(&n("0.0.0.0/0")), 1u128 << 32);
        assert_eq!(size(&n("2001:db8::/56")), 1u128 << 72);
        assert_eq!(size(&n("::/0")), u128::MAX);
    }

    #[test]
    fn range_decomposition_is_minimal() {
        let got = range_to_cidrs(Family::Ipv4, 0x0a00_0001, 0x0a00_00ff);
        let want: Vec<IpNet> = [
            "10.0.0.1/32",
            "10.0.0.2/31",
            "10.0.0.4/30",
            "10.0.0.8/29",
            "10.0.0.16/28",
            "10.0.0.32/27",
            "10.0.0.64/26",
            "10.0.0.128/25",
        ]
        .iter()
        .map(|s| n(s))
        .collect();
        assert_eq!(got, want);
        assert_eq!(
            range_to_cidrs(Family::Ipv4, 0, u128::from(u32::MAX)),
            vec![n("0.0.0.0/0")]
        );
        assert_eq!(range_to_cidrs(Family::Ipv6, 0, u128::MAX), vec![n("::/0")]);
    }

    #[test]
    fn free_blocks_of_fragmented_parent() {
        let parent = n("10.0.0.0/22");
        let used = [n("10.0.0.0/24"), n("10.0.2.0/25"), n("10.0.3.128/25")];
        assert_eq!(
            free_blocks(&parent, &used),
            vec![n("10.0.1.0/24"), n("10.0.2.128/25"), n("10.0.3.0/25")]
        );
        assert_eq!(free_blocks(&parent, &[parent]), vec![]);
        assert_eq!(free_blocks(&parent, &[n("10.0.0.0/8")]), vec![]);
        assert_eq!(free_blocks(&parent, &[n("192.168.0.0/24")]), vec![parent]);
        assert_eq!(free_blocks(&parent, &[]), vec![parent]);
    }

    #[test]
    fn free_blocks_ipv6() {
        let parent = n("2001:db8:0:100::/56");
        let used = [n("2001:db8:0:100::/64")];
        let free = free_blocks(&parent, &used);
        assert_eq!(free.len(), 8); // /64, /63, /62 ... /57
        assert_eq!(largest(&free), Some(n("2001:db8:0:180::/57")));
        let free_total: u128 = free.iter().map(size).sum();
        assert_eq!(free_total, size(&parent) - size(&used[0]));
    }

    #[test]
    fn ratio_keeps_precision_for_huge_counts() {
        assert_eq!(ratio(1u128 << 64, 1u128 << 72), 1.0 / 256.0);
        assert_eq!(ratio(u128::MAX, u128::MAX), 1.0);
        assert_eq!(ratio(240, 251), 240.0 / 251.0);
        assert_eq!(ratio(1, 0), 0.0);
    }

    #[test]
    fn split_counts_overlapping_used_blocks_once() {
        let parent = n("10.0.0.0/22");
        let used = [n("10.0.0.0/24"), n("10.0.0.0/25"), n("10.0.1.0/24")];
        let (mut scratch, mut free) = (Vec::new(), vec![n("192.0.2.0/24")]);
        assert_eq!(split(&parent, &used, &mut scratch, &mut free), 512);
        // Appended after what was there.
        assert_eq!(free, vec![n("192.0.2.0/24"), n("10.0.2.0/23")]);

        // Clipped to the parent; nothing used and everything used.
        free.clear();
        assert_eq!(
            split(&parent, &[n("10.0.0.0/8")], &mut scratch, &mut free),
            1024
        );
        assert_eq!(free, vec![]);
        assert_eq!(split(&parent, &[], &mut scratch, &mut free), 0);
        assert_eq!(free, vec![parent]);
        let all = n("::/0");
        free.clear();
        assert_eq!(
            split(&all, &[n("::/1")], &mut scratch, &mut free),
            1u128 << 127
        );
        assert_eq!(free, vec![n("8000::/1")]);
    }

    #[test]
    fn parse_rejects_garbage_and_host_bits() {
        assert!(parse("10.0.0.0/16").is_ok());
        assert!(parse("10.0.0.1/16").unwrap_err().contains("host bits"));
        assert!(parse("10.0.0.0/33").unwrap_err().contains("malformed"));
        assert!(parse("banana").unwrap_err().contains("\"banana\""));
    }
}
