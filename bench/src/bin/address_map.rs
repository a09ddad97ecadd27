//! The address-map step of issue 19 on its target size: 10,000 subnets (/22, /23 and
//! /24 mixed) and 200,000 network interfaces spread over them by size, in the
//! fragmented patterns a busy EKS estate leaves: node interfaces with secondary
//! addresses scattered across the subnet, some with delegated /28 prefixes, load
//! balancers, Lambda, NAT, endpoints, 5 % detached, explicit and prefix reservations
//! on a tenth of the subnets. Deterministic (the bench's fixed-seed Rng).
//!
//! Times only `address_map` over every subnet (the maps are kept, as the calculator
//! would keep them), N rounds in one process, and prints the first round, the
//! median and the spread, then the process's peak RSS (VmHWM).
//!
//!     taskset -c 1 bench/target/release/address_map [N]     (default 15)

use ipam_monitor::domain::calculator::address_map;
use ipam_monitor::domain::addresses::{
    AddressMap, CidrReservation, NetworkInterface, ReservationKind, SubnetAddresses,
};
use ipam_monitor::domain::holder::Holder;
use ipam_monitor_bench::Rng;
use ipnet::Ipv4Net;
use std::hint::black_box;
use std::net::Ipv4Addr;
use std::time::Instant;

const SUBNETS: usize = 10_000;
const INTERFACES: usize = 200_000;

/// A field of /proc/self/status in kB.
fn status_kb(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

fn mb(kb: u64) -> f64 {
    kb as f64 / 1024.0
}

/// /22 a quarter of the time, /23 a third, /24 the rest, packed one after the other
/// from 10.0.0.0 (each aligned to its size).
fn subnets(rng: &mut Rng) -> Vec<Ipv4Net> {
    let mut next = u32::from(Ipv4Addr::new(10, 0, 0, 0));
    (0..SUBNETS)
        .map(|_| {
            let len = match rng.below(12) {
                0..=2 => 22,
                3..=6 => 23,
                _ => 24,
            };
            let size = 1u32 << (32 - len);
            next = next.div_ceil(size) * size;
            let net = Ipv4Net::new(Ipv4Addr::from(next), len).expect("prefix");
            next += size;
            net
        })
        .collect()
}

/// A random address of `subnet` past AWS's first four (the broadcast may come up:
/// hostile answers are part of the load).
fn address(rng: &mut Rng, subnet: &Ipv4Net) -> Ipv4Addr {
    let size = 1u64 << (32 - subnet.prefix_len());
    Ipv4Addr::from(u32::from(subnet.network()) + (4 + rng.below(size - 4)) as u32)
}

/// A random aligned block of `len` bits inside `subnet`.
fn block(rng: &mut Rng, subnet: &Ipv4Net, len: u8) -> Ipv4Net {
    let blocks = 1u64 << (len - subnet.prefix_len());
    let start = u32::from(subnet.network()) + ((rng.below(blocks) as u32) << (32 - len));
    Ipv4Net::new(Ipv4Addr::from(start), len).expect("prefix")
}

fn interface(rng: &mut Rng, n: usize, subnet: &Ipv4Net) -> NetworkInterface {
    let roll = rng.below(100);
    let (holder, addresses, prefixes) = match roll {
        // VPC CNI in secondary-address mode: a primary and up to 14 secondaries,
        // wherever the subnet had one free.
        0..=29 => (Holder::Eks, 1 + rng.below(15), 0),
        // VPC CNI with prefix delegation: a primary and one to three /28s.
        30..=39 => (Holder::Eks, 1, 1 + rng.below(3)),
        40..=64 => (Holder::Instance, 1 + rng.below(2), 0),
        65..=74 => (Holder::LoadBalancer, 1, 0),
        75..=81 => (Holder::Lambda, 1, 0),
        82..=83 => (Holder::NatGateway, 1, 0),
        84..=89 => (Holder::VpcEndpoint, 1, 0),
        90..=91 => (Holder::TransitGateway, 1, 0),
        _ => (Holder::Other, 1 + rng.below(2), 0),
    };
    NetworkInterface {
        id: format!("eni-{:017x}", n).into(),
        holder,
        detached: rng.chance(0.05),
        ipv4_addresses: (0..addresses).map(|_| address(rng, subnet)).collect(),
        ipv4_prefixes: (0..prefixes).map(|_| block(rng, subnet, 28)).collect(),
        ipv6_addresses: u32::from(rng.chance(0.1)),
        ipv6_prefixes: 0,
    }
}

fn estate(seed: u64) -> (Vec<Ipv4Net>, Vec<SubnetAddresses>) {
    let mut rng = Rng::new(seed);
    let nets = subnets(&mut rng);
    // Interfaces land on subnets in proportion to their size: a /22 is listed four
    // times, a /23 twice, a /24 once.
    let weighted: Vec<usize> = nets
        .iter()
        .enumerate()
        .flat_map(|(i, n)| std::iter::repeat_n(i, 1 << (24 - n.prefix_len())))
        .collect();
    let mut found: Vec<SubnetAddresses> = (0..nets.len())
        .map(|i| SubnetAddresses {
            subnet_id: format!("subnet-{:017x}", i).into(),
            interfaces: Vec::new(),
            reservations: None,
            warnings: Vec::new(),
        })
        .collect();
    for n in 0..INTERFACES {
        let s = weighted[rng.below(weighted.len() as u64) as usize];
        let eni = interface(&mut rng, n, &nets[s]);
        found[s].interfaces.push(eni);
    }
    for (net, f) in nets.iter().zip(&mut found) {
        if rng.chance(0.1) {
            f.reservations = Some(vec![
                CidrReservation {
                    cidr: block(&mut rng, net, 27),
                    kind: ReservationKind::Explicit,
                },
                CidrReservation {
                    cidr: block(&mut rng, net, 26),
                    kind: ReservationKind::Prefix,
                },
            ]);
        }
    }
    (nets, found)
}

fn map_all(nets: &[Ipv4Net], found: &[SubnetAddresses]) -> Vec<AddressMap> {
    nets.iter()
        .zip(found)
        .map(|(net, f)| address_map(net, f))
        .collect()
}

fn main() {
    let rounds: usize = std::env::args()
        .nth(1)
        .map(|v| v.parse().expect("N is a whole number"))
        .unwrap_or(15);
    let (nets, found) = estate(0x1ba5_e019);
    let interfaces: usize = found.iter().map(|f| f.interfaces.len()).sum();
    let addresses: usize = found
        .iter()
        .flat_map(|f| &f.interfaces)
        .map(|i| i.ipv4_addresses.len() + i.ipv4_prefixes.len())
        .sum();
    println!(
        "address_map: {} subnets, {interfaces} interfaces, {addresses} addresses and prefixes; \
         estate built, VmRSS {:.1} MB",
        nets.len(),
        mb(status_kb("VmRSS"))
    );

    let mut ms = Vec::with_capacity(rounds);
    let mut last = Vec::new();
    for _ in 0..rounds {
        drop(last);
        let start = Instant::now();
        last = black_box(map_all(black_box(&nets), black_box(&found)));
        ms.push(start.elapsed().as_secs_f64() * 1000.0);
    }
    let first = ms[0];
    ms.sort_by(f64::total_cmp);
    let (min, median, max) = (ms[0], ms[ms.len() / 2], ms[ms.len() - 1]);
    println!(
        "address maps: first {first:.1} ms; min {min:.1} ms, median {median:.1} ms, \
         max {max:.1} ms over {rounds} rounds (target: under 200 ms on one core)"
    );

    // What the maps say, so that a change of rule shows as a change of figures.
    let free: u64 = last.iter().map(|m| u64::from(m.free_prefixes)).sum();
    let exhausted = last.iter().filter(|m| m.free_prefixes == 0).count();
    let detached: u64 = last.iter().map(|m| u64::from(m.detached.interfaces)).sum();
    println!(
        "free /28s: {free} in all; {exhausted} subnets with none; {detached} detached interfaces"
    );
    let peak = status_kb("VmHWM");
    println!(
        "sizes: NetworkInterface {} B, AddressMap {} B (plus their vectors)",
        std::mem::size_of::<NetworkInterface>(),
        std::mem::size_of::<AddressMap>()
    );
    println!("peak RSS (VmHWM): {:.1} MB", mb(peak));
    println!("PEAK_RSS_KB={peak}");
}
