//! A subnet's address map: what holds its IPv4 addresses, and how many free aligned
//! /28 blocks are left for EKS prefix delegation. Free addresses can be scattered one
//! by one between interfaces, so `AvailableIpAddressCount` alone cannot tell.
//!
//! Every figure is computed from what AWS listed, which may be hostile: an address
//! listed twice, a prefix over an address, an address outside the subnet. The free
//! space counts each used address once and ignores what lies outside the subnet (the
//! caller, which knows where the answer came from, owns any warning); the counts are
//! of what was listed, saturating rather than overflowing.

use crate::domain::addresses::{
    AddressMap, CidrReservation, HolderUsage, NetworkInterface, ReservationKind, SubnetAddresses,
    Usage,
};
use crate::domain::cidr;
use crate::domain::holder::Holder;
use ipnet::{IpNet, Ipv4Net};
use std::collections::BTreeMap;
use std::net::Ipv4Addr;

/// The prefix length VPC CNI prefix delegation assigns.
const DELEGATED_PREFIX_LEN: u8 = 28;

/// The address map of `subnet` from what the sweep `found` in it.
pub fn address_map(subnet: &Ipv4Net, found: &SubnetAddresses) -> AddressMap {
    let free = free_blocks(subnet, found);
    let interfaces = &found.interfaces;
    AddressMap {
        free_prefixes: free_prefixes(&free),
        largest_free_block: cidr::largest(&free),
        interfaces: count(interfaces.len()),
        ipv4_addresses: sum(interfaces.iter().map(|i| count(i.ipv4_addresses.len()))),
        ipv4_prefixes: sum(interfaces.iter().map(|i| count(i.ipv4_prefixes.len()))),
        ipv6_addresses: sum(interfaces.iter().map(|i| i.ipv6_addresses)),
        ipv6_prefixes: sum(interfaces.iter().map(|i| i.ipv6_prefixes)),
        reserved_addresses: found
            .reservations
            .as_deref()
            .map(|r| explicitly_reserved(subnet, r)),
        holders: holders(interfaces),
        detached: usage(interfaces.iter().filter(|i| i.detached)),
    }
}

/// The free space of `subnet` as the fewest aligned blocks: the subnet less AWS's
/// reserved addresses, every interface's addresses and prefixes, and every explicit
/// reservation. A prefix reservation stays free: AWS assigns delegated prefixes from
/// it, so its room is exactly what EKS can still get.
fn free_blocks(subnet: &Ipv4Net, found: &SubnetAddresses) -> Vec<IpNet> {
    let mut used: Vec<IpNet> = aws_reserved(subnet).map(host).collect();
    for interface in &found.interfaces {
        used.extend(interface.ipv4_addresses.iter().copied().map(host));
        used.extend(interface.ipv4_prefixes.iter().copied().map(IpNet::V4));
    }
    used.extend(explicit(found.reservations.as_deref().unwrap_or_default()).map(IpNet::V4));
    cidr::split(&IpNet::V4(*subnet), &used).free
}

/// AWS's five reserved addresses of every subnet: the network address, +1 (router),
/// +2 (DNS), +3 (future use) and the broadcast address. On a subnet too small for
/// them (never in AWS: subnets are /16 to /28) the extra ones fall outside it.
fn aws_reserved(subnet: &Ipv4Net) -> impl Iterator<Item = Ipv4Addr> {
    let network = u32::from(subnet.network());
    (0..=3)
        .filter_map(move |offset| network.checked_add(offset))
        .map(Ipv4Addr::from)
        .chain([subnet.broadcast()])
}

/// The number of free aligned /28 blocks. Each one lies inside exactly one of the
/// fewest aligned free blocks (aligned blocks nest or are apart), and a free block of
/// prefix length p ≤ 28 holds 2^(28 − p) of them; smaller blocks hold none.
fn free_prefixes(free: &[IpNet]) -> u32 {
    sum(free
        .iter()
        .filter(|b| b.prefix_len() <= DELEGATED_PREFIX_LEN)
        .map(|b| 1u32 << (DELEGATED_PREFIX_LEN - b.prefix_len())))
}

/// The addresses of `subnet` that explicit reservations hold, each counted once.
fn explicitly_reserved(subnet: &Ipv4Net, reservations: &[CidrReservation]) -> u32 {
    let explicit: Vec<IpNet> = explicit(reservations).map(IpNet::V4).collect();
    to_u32(cidr::split(&IpNet::V4(*subnet), &explicit).covered)
}

fn explicit(reservations: &[CidrReservation]) -> impl Iterator<Item = Ipv4Net> + '_ {
    reservations
        .iter()
        .filter(|r| r.kind == ReservationKind::Explicit)
        .map(|r| r.cidr)
}

/// One entry per holder that has an interface here, in holder order.
fn holders(interfaces: &[NetworkInterface]) -> Vec<HolderUsage> {
    let mut by_holder: BTreeMap<Holder, Usage> = BTreeMap::new();
    for interface in interfaces {
        let total = by_holder.entry(interface.holder).or_default();
        *total = add(*total, interface);
    }
    by_holder
        .into_iter()
        .map(|(holder, usage)| HolderUsage { holder, usage })
        .collect()
}

fn usage<'a>(interfaces: impl Iterator<Item = &'a NetworkInterface>) -> Usage {
    interfaces.fold(Usage::default(), add)
}

/// `total` with `interface` counted in: one interface, and the IPv4 addresses it takes,
/// one per private address and the whole size of each delegated prefix (16 for a /28).
fn add(total: Usage, interface: &NetworkInterface) -> Usage {
    Usage {
        interfaces: total.interfaces.saturating_add(1),
        addresses_held: total.addresses_held.saturating_add(ipv4_taken(interface)),
    }
}

fn ipv4_taken(interface: &NetworkInterface) -> u32 {
    let prefixes = interface
        .ipv4_prefixes
        .iter()
        .map(|p| to_u32(cidr::size(&IpNet::V4(*p))));
    sum(prefixes).saturating_add(count(interface.ipv4_addresses.len()))
}

fn host(address: Ipv4Addr) -> IpNet {
    IpNet::V4(Ipv4Net::from(address))
}

fn sum(counts: impl Iterator<Item = u32>) -> u32 {
    counts.fold(0, u32::saturating_add)
}

fn count(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

fn to_u32(n: u128) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn net(s: &str) -> Ipv4Net {
        s.parse().unwrap()
    }

    fn interface(holder: Holder, addresses: &[&str], prefixes: &[&str]) -> NetworkInterface {
        NetworkInterface {
            id: "eni-0123456789abcdef0".into(),
            holder,
            detached: false,
            ipv4_addresses: addresses.iter().map(|a| a.parse().unwrap()).collect(),
            ipv4_prefixes: prefixes.iter().map(|p| net(p)).collect(),
            ipv6_addresses: 0,
            ipv6_prefixes: 0,
        }
    }

    fn detached(mut i: NetworkInterface) -> NetworkInterface {
        i.detached = true;
        i
    }

    fn found(
        interfaces: Vec<NetworkInterface>,
        reservations: Option<Vec<CidrReservation>>,
    ) -> SubnetAddresses {
        SubnetAddresses {
            subnet_id: "subnet-0123456789abcdef0".into(),
            interfaces,
            reservations,
            warnings: vec![],
        }
    }

    fn reservation(cidr: &str, kind: ReservationKind) -> CidrReservation {
        CidrReservation {
            cidr: net(cidr),
            kind,
        }
    }

    fn map(subnet: &str, found: &SubnetAddresses) -> AddressMap {
        address_map(&net(subnet), found)
    }

    fn block(s: &str) -> Option<IpNet> {
        Some(s.parse().unwrap())
    }

    #[test]
    fn an_empty_26_has_two_free_28s() {
        // 10.0.0.0/26 = four /28s. AWS holds .0-.3 (first /28) and .63 (last /28).
        // Free: .4-.62 = .4/30 .8/29 .16/28 .32/28 .48/29 .56/30 .60/31 .62/32;
        // .16-.47 is two /28s, not a /27 (a /27 would start at .0 or .32).
        let m = map("10.0.0.0/26", &found(vec![], None));
        assert_eq!(m.free_prefixes, 2);
        assert_eq!(m.largest_free_block, block("10.0.0.16/28"));
        assert_eq!(m.interfaces, 0);
        assert_eq!(m.reserved_addresses, None);
        assert!(m.holders.is_empty());
        assert_eq!(m.detached, Usage::default());
    }

    #[test]
    fn one_address_in_every_28_leaves_no_free_28() {
        // 10.0.0.0/24 with .8, .24, .40 ... .248 taken: one address in each of the
        // sixteen /28s. Free: 256 - 5 reserved - 16 = 235 addresses, and not one /28.
        // The first /28 keeps .4/30 and .9-.15; the second .16/29 (.16-.23), the
        // first /29 in address order.
        let addresses: Vec<String> = (0..16).map(|k| format!("10.0.0.{}", 16 * k + 8)).collect();
        let addresses: Vec<&str> = addresses.iter().map(String::as_str).collect();
        let eni = interface(Holder::Eks, &addresses, &[]);
        let m = map("10.0.0.0/24", &found(vec![eni], None));
        assert_eq!(m.free_prefixes, 0);
        assert_eq!(m.largest_free_block, block("10.0.0.16/29"));
        assert_eq!(m.ipv4_addresses, 16);
    }

    #[test]
    fn prefixes_and_explicit_reservations_take_28s_prefix_reservations_do_not() {
        // 10.0.1.0/24: sixteen /28s, #0 (.0-.15) and #15 (.240-.255) hold AWS's
        // reserved addresses, so 14 are free to start with.
        // - .20 (#1) and the prefixes .32/28 (#2), .48/28 (#3): 11 left;
        // - an explicit reservation .64/27 (#4, #5): 9 left;
        // - a prefix reservation .128/26 (#8-#11): AWS assigns prefixes from it, 9 left.
        // Free blocks: .96/27, .128/26, .192/27, .224/28; the largest is the /26.
        let eni = interface(
            Holder::Eks,
            &["10.0.1.20"],
            &["10.0.1.32/28", "10.0.1.48/28"],
        );
        let reservations = vec![
            reservation("10.0.1.64/27", ReservationKind::Explicit),
            reservation("10.0.1.128/26", ReservationKind::Prefix),
        ];
        let m = map("10.0.1.0/24", &found(vec![eni.clone()], Some(reservations)));
        assert_eq!(m.free_prefixes, 9);
        assert_eq!(m.largest_free_block, block("10.0.1.128/26"));
        assert_eq!(m.reserved_addresses, Some(32));
        assert_eq!((m.ipv4_addresses, m.ipv4_prefixes), (1, 2));
        // One EKS interface: 1 address + 2 × 16 for its prefixes.
        let eks = Usage {
            interfaces: 1,
            addresses_held: 33,
        };
        assert_eq!(
            m.holders,
            [HolderUsage {
                holder: Holder::Eks,
                usage: eks
            }]
        );

        // Without the explicit reservation, #4 and #5 are free again: 11.
        let prefix_only = vec![reservation("10.0.1.128/26", ReservationKind::Prefix)];
        let m = map("10.0.1.0/24", &found(vec![eni], Some(prefix_only)));
        assert_eq!(m.free_prefixes, 11);
        assert_eq!(m.reserved_addresses, Some(0));
    }

    #[test]
    fn a_28_subnet_never_has_a_free_28() {
        // 10.0.2.0/28: .0-.3 and .15 reserved; free .4/30 .8/30 .12/31 .14/32.
        let m = map("10.0.2.0/28", &found(vec![], Some(vec![])));
        assert_eq!(m.free_prefixes, 0);
        assert_eq!(m.largest_free_block, block("10.0.2.4/30"));
        assert_eq!(m.reserved_addresses, Some(0));
    }

    #[test]
    fn detached_interfaces_and_what_they_hold() {
        let interfaces = vec![
            interface(Holder::Instance, &["10.0.0.10", "10.0.0.11"], &[]),
            detached(interface(
                Holder::Other,
                &["10.0.0.20", "10.0.0.21", "10.0.0.22"],
                &[],
            )),
            detached(interface(Holder::Eks, &["10.0.0.30"], &["10.0.0.48/28"])),
        ];
        let m = map("10.0.0.0/24", &found(interfaces, None));
        // 3 + (1 + 16) addresses on the two detached interfaces.
        assert_eq!(
            m.detached,
            Usage {
                interfaces: 2,
                addresses_held: 20
            }
        );
        assert_eq!(m.interfaces, 3);
        assert_eq!(m.ipv4_addresses, 6);
        // #1 (.16-.31) and #3 (.48-.63) are taken: 14 - 2 = 12 free /28s; .0-.15
        // was never free (.0-.3 reserved).
        assert_eq!(m.free_prefixes, 12);
    }

    #[test]
    fn holders_come_in_holder_order_whatever_the_listing_order() {
        let interfaces = vec![
            interface(Holder::Other, &["10.0.0.10"], &[]),
            interface(Holder::LoadBalancer, &["10.0.0.11", "10.0.0.12"], &[]),
            interface(Holder::Eks, &["10.0.0.13"], &["10.0.0.32/28"]),
            interface(Holder::Instance, &["10.0.0.14"], &[]),
            interface(Holder::Eks, &["10.0.0.15"], &[]),
        ];
        let m = map("10.0.0.0/24", &found(interfaces, None));
        let got: Vec<(Holder, u32, u32)> = m
            .holders
            .iter()
            .map(|h| (h.holder, h.usage.interfaces, h.usage.addresses_held))
            .collect();
        assert_eq!(
            got,
            [
                (Holder::Eks, 2, 18),
                (Holder::Instance, 1, 1),
                (Holder::LoadBalancer, 1, 2),
                (Holder::Other, 1, 1),
            ]
        );
    }

    #[test]
    fn duplicates_overlaps_and_strays_are_counted_once_or_ignored() {
        // 10.0.3.0/24: .20 listed twice on one interface and once on another, under
        // a prefix .16/28 that covers it too: only #1 is taken, 14 - 1 = 13 free.
        // 10.9.9.9 and 10.9.9.16/28 are outside the subnet and take nothing.
        let interfaces = vec![
            interface(
                Holder::Eks,
                &["10.0.3.20", "10.0.3.20", "10.9.9.9"],
                &["10.0.3.16/28", "10.9.9.16/28"],
            ),
            interface(Holder::Instance, &["10.0.3.20"], &[]),
        ];
        let m = map("10.0.3.0/24", &found(interfaces.clone(), None));
        assert_eq!(m.free_prefixes, 13);
        // The counts are of what AWS listed.
        assert_eq!((m.ipv4_addresses, m.ipv4_prefixes), (4, 2));

        // Explicit reservations that overlap (.128/26 inside .128/25), and one
        // outside: 128 addresses, each counted once. They take #8-#15, which leaves
        // #2-#7 free: .32/27 and .64/26.
        let reservations = vec![
            reservation("10.0.3.128/25", ReservationKind::Explicit),
            reservation("10.0.3.128/26", ReservationKind::Explicit),
            reservation("10.9.0.0/24", ReservationKind::Explicit),
        ];
        let m = map("10.0.3.0/24", &found(interfaces, Some(reservations)));
        assert_eq!(m.free_prefixes, 6);
        assert_eq!(m.largest_free_block, block("10.0.3.64/26"));
        assert_eq!(m.reserved_addresses, Some(128));
    }

    #[test]
    fn counts_saturate_instead_of_overflowing() {
        let mut a = interface(Holder::Eks, &[], &["0.0.0.0/0"]);
        a.ipv6_addresses = u32::MAX;
        a.ipv6_prefixes = 7;
        let mut b = interface(Holder::Eks, &["10.0.0.9"], &[]);
        b.ipv6_addresses = 2;
        b.ipv6_prefixes = u32::MAX;
        let m = map("10.0.0.0/24", &found(vec![a, b], None));
        assert_eq!(m.ipv6_addresses, u32::MAX);
        assert_eq!(m.ipv6_prefixes, u32::MAX);
        // A /0 holds 2^32 addresses: more than a u32 holds.
        assert_eq!(m.holders[0].usage.addresses_held, u32::MAX);
        // And it covers the whole subnet.
        assert_eq!((m.free_prefixes, m.largest_free_block), (0, None));
    }
}
