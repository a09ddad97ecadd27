//! The address map's free-space figures against a brute-force oracle, on thousands of
//! random subnets: the oracle marks every used address of the subnet one by one, then
//! walks every aligned block. It shares no code with `cidr::split`, so the two agree
//! only if the rule (fewest aligned blocks, 2^(28 − p) /28s in each) is right.

use ipam_monitor::domain::addresses::{
    address_map, CidrReservation, NetworkInterface, ReservationKind, SubnetAddresses,
};
use ipam_monitor::domain::holder::Holder;
use ipnet::{IpNet, Ipv4Net};
use proptest::prelude::*;
use std::net::Ipv4Addr;

/// A random subnet of /20 to /28, anywhere in the IPv4 space (its ends included).
fn subnet() -> impl Strategy<Value = Ipv4Net> {
    (20u8..=28, any::<u32>(), 0u8..8).prop_map(|(len, addr, edge)| {
        let addr = match edge {
            0 => 0,
            1 => u32::MAX,
            _ => addr,
        };
        Ipv4Net::new(Ipv4Addr::from(addr), len).unwrap().trunc()
    })
}

/// What the interfaces and reservations of one subnet are drawn from: offsets into
/// the subnet (taken modulo its size, so most things land inside it), with now and
/// then something outside it.
#[derive(Debug, Clone)]
struct Draw {
    interfaces: Vec<Drawn>,
    /// Where, how long, and whether explicit.
    reservations: Vec<(Place, u8, bool)>,
}

/// One interface: its addresses, its prefixes (where and how long), detached or not.
type Drawn = (Vec<Place>, Vec<(Place, u8)>, bool);

#[derive(Debug, Clone, Copy)]
enum Place {
    /// An offset into the subnet.
    Inside(u32),
    /// Anywhere at all.
    Anywhere(u32),
}

fn place() -> impl Strategy<Value = Place> {
    prop_oneof![
        8 => any::<u32>().prop_map(Place::Inside),
        // A handful of offsets, so the same address comes back often.
        3 => (0u32..24).prop_map(|k| Place::Inside(k * 7)),
        1 => any::<u32>().prop_map(Place::Anywhere),
    ]
}

fn draw() -> impl Strategy<Value = Draw> {
    let addresses = proptest::collection::vec(place(), 0..12);
    // Mostly /28s as VPC CNI assigns; other lengths too, the rule must not care.
    let prefix_len = prop_oneof![6 => Just(28u8), 1 => 24u8..=32];
    let prefixes = proptest::collection::vec((place(), prefix_len), 0..4);
    let interface = (addresses, prefixes, any::<bool>());
    let reservation = (place(), 22u8..=32, any::<bool>());
    (
        proptest::collection::vec(interface, 0..24),
        proptest::collection::vec(reservation, 0..4),
    )
        .prop_map(|(interfaces, reservations)| Draw {
            interfaces,
            reservations,
        })
}

fn address(subnet: &Ipv4Net, place: Place) -> Ipv4Addr {
    match place {
        Place::Inside(offset) => {
            let size = 1u32 << (32 - subnet.prefix_len());
            Ipv4Addr::from(u32::from(subnet.network()) + offset % size)
        }
        Place::Anywhere(a) => Ipv4Addr::from(a),
    }
}

fn block(subnet: &Ipv4Net, place: Place, len: u8) -> Ipv4Net {
    Ipv4Net::new(address(subnet, place), len).unwrap().trunc()
}

fn found(subnet: &Ipv4Net, draw: &Draw) -> SubnetAddresses {
    let interfaces = draw
        .interfaces
        .iter()
        .map(|(addresses, prefixes, detached)| NetworkInterface {
            id: "eni-0123456789abcdef0".into(),
            holder: Holder::Eks,
            detached: *detached,
            ipv4_addresses: addresses.iter().map(|p| address(subnet, *p)).collect(),
            ipv4_prefixes: prefixes
                .iter()
                .map(|(p, len)| block(subnet, *p, *len))
                .collect(),
            ipv6_addresses: 0,
            ipv6_prefixes: 0,
        })
        .collect();
    let reservations = draw
        .reservations
        .iter()
        .map(|(p, len, explicit)| CidrReservation {
            cidr: block(subnet, *p, *len),
            kind: if *explicit {
                ReservationKind::Explicit
            } else {
                ReservationKind::Prefix
            },
        })
        .collect();
    SubnetAddresses {
        subnet_id: "subnet-0123456789abcdef0".into(),
        interfaces,
        reservations: Some(reservations),
        warnings: vec![],
    }
}

/// The oracle's picture of the subnet: one flag per address, true when used.
struct Marks {
    first: u64,
    used: Vec<bool>,
}

impl Marks {
    fn new(subnet: &Ipv4Net) -> Marks {
        Marks {
            first: u64::from(u32::from(subnet.network())),
            used: vec![false; 1 << (32 - subnet.prefix_len())],
        }
    }

    /// Marks every address of `[start, end]` that lies in the subnet.
    fn mark(&mut self, start: u64, end: u64) {
        for a in start..=end {
            if let Some(i) = a.checked_sub(self.first) {
                if let Some(flag) = self.used.get_mut(i as usize) {
                    *flag = true;
                }
            }
        }
    }

    fn mark_net(&mut self, net: &Ipv4Net) {
        let start = u64::from(u32::from(net.network()));
        self.mark(start, u64::from(u32::from(net.broadcast())));
    }

    /// Whether the aligned block of `len` bits starting at offset `i` is all free.
    fn free(&self, i: usize, len: u8) -> bool {
        let size = 1usize << (32 - len);
        self.used[i..i + size].iter().all(|u| !u)
    }
}

/// Every address the rule counts as used, marked one by one.
fn oracle_marks(subnet: &Ipv4Net, found: &SubnetAddresses) -> Marks {
    let mut m = Marks::new(subnet);
    let size = m.used.len() as u64;
    // AWS's five: the first four and the last.
    m.mark(m.first, m.first + 3);
    m.mark(m.first + size - 1, m.first + size - 1);
    for i in &found.interfaces {
        for a in &i.ipv4_addresses {
            let a = u64::from(u32::from(*a));
            m.mark(a, a);
        }
        for p in &i.ipv4_prefixes {
            m.mark_net(p);
        }
    }
    for r in found.reservations.iter().flatten() {
        if r.kind == ReservationKind::Explicit {
            m.mark_net(&r.cidr);
        }
    }
    m
}

/// Free aligned /28s: every aligned /28 of the subnet whose 16 addresses are free.
fn oracle_free_prefixes(subnet: &Ipv4Net, marks: &Marks) -> u32 {
    if subnet.prefix_len() > 28 {
        return 0;
    }
    (0..marks.used.len())
        .step_by(16)
        .filter(|i| marks.free(*i, 28))
        .count() as u32
}

/// The largest free aligned block, the first in address order among equals: try
/// every block from the subnet's own length down to /32.
fn oracle_largest(subnet: &Ipv4Net, marks: &Marks) -> Option<IpNet> {
    (subnet.prefix_len()..=32).find_map(|len| {
        (0..marks.used.len())
            .step_by(1 << (32 - len))
            .find(|i| marks.free(*i, len))
            .map(|i| {
                let start = Ipv4Addr::from(marks.first as u32 + i as u32);
                IpNet::V4(Ipv4Net::new(start, len).unwrap())
            })
    })
}

/// Addresses of the subnet in explicit reservations, each counted once.
fn oracle_reserved(subnet: &Ipv4Net, found: &SubnetAddresses) -> u32 {
    let mut m = Marks::new(subnet);
    for r in found.reservations.iter().flatten() {
        if r.kind == ReservationKind::Explicit {
            m.mark_net(&r.cidr);
        }
    }
    m.used.iter().filter(|u| **u).count() as u32
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn free_space_agrees_with_a_walk_over_every_aligned_block(
        subnet in subnet(),
        draw in draw(),
    ) {
        let found = found(&subnet, &draw);
        let map = address_map(&subnet, &found);
        let marks = oracle_marks(&subnet, &found);
        prop_assert_eq!(map.free_prefixes, oracle_free_prefixes(&subnet, &marks));
        prop_assert_eq!(map.largest_free_block, oracle_largest(&subnet, &marks));
        prop_assert_eq!(map.reserved_addresses, Some(oracle_reserved(&subnet, &found)));
    }
}

/// The oracle itself, on two hand-built subnets whose answers are known: an empty /24
/// (14 free /28s, the largest the two middle /26s) and one with an address in every
/// /28 (none). An oracle that always agreed would make the property above hollow.
#[test]
fn the_oracle_sees_both_free_and_exhausted_subnets() {
    let subnet: Ipv4Net = "10.0.0.0/24".parse().unwrap();
    let mut found = SubnetAddresses {
        subnet_id: "subnet-1".into(),
        interfaces: vec![],
        reservations: None,
        warnings: vec![],
    };
    let marks = oracle_marks(&subnet, &found);
    assert_eq!(oracle_free_prefixes(&subnet, &marks), 14);
    assert_eq!(
        oracle_largest(&subnet, &marks),
        Some("10.0.0.64/26".parse().unwrap())
    );
    found.interfaces.push(NetworkInterface {
        id: "eni-1".into(),
        holder: Holder::Instance,
        detached: false,
        ipv4_addresses: (0..16)
            .map(|k| Ipv4Addr::new(10, 0, 0, 16 * k + 8))
            .collect(),
        ipv4_prefixes: vec![],
        ipv6_addresses: 0,
        ipv6_prefixes: 0,
    });
    let marks = oracle_marks(&subnet, &found);
    assert_eq!(oracle_free_prefixes(&subnet, &marks), 0);
    assert_eq!(address_map(&subnet, &found).free_prefixes, 0);
}
