//! The address-map step of issue 19 on its target size, as the run does it: 10,000
//! subnets (/22, /23 and /24 mixed) and 200,000 network interfaces in 10 scopes (5
//! accounts x 2 regions, each 10 VPCs of 100 subnets and 20,000 interfaces), in the
//! fragmented patterns a busy EKS estate leaves: node interfaces with secondary
//! addresses scattered across the subnet, some with delegated /28 prefixes, load
//! balancers, Lambda, NAT, endpoints, 5 % detached. The subnets of four VPCs in ten
//! carry a `kubernetes.io/cluster/<name>` tag; their CIDR reservations are read (as
//! `ADDRESS_MAP=all` reads them: only for tagged subnets), with an explicit /27 and a
//! prefix /26 on a tenth of them. Deterministic (the bench's fixed-seed Rng, one
//! stream per scope).
//!
//! One round is one modelled run, in the order src/source/addresses.rs and the
//! handler do it: for each scope, its interfaces are built (as the sweep would have
//! read them), each subnet is mapped (`address_map`) and its interfaces dropped, and
//! the scope's subnets and maps join the `Inventory` (`add_scope`); then
//! `calculate_with` (`MIN_FREE_PREFIXES=2`) attaches each map to its subnet's record,
//! the report is built, its JSON length measured and the archive objects written, as
//! `peak_rss` does. Timed: the map step (every `address_map` call of the run, each
//! subnet's interfaces dropped as in the source), the calculator, the report's
//! serialization. Prints the first round, the median and the spread of each, and the
//! process's peak RSS (VmHWM) after the first round and at the end.
//!
//! `--hold-all` is the shape before 3f8a059: every scope's interfaces are built and
//! held, then mapped, then the same inventory, calculator and report. Its peak RSS is
//! the comparison; the maps and the report are the same.
//!
//!     taskset -c 1 bench/target/release/address_map [N] [--hold-all]   (N rounds, default 15)
//!
//! Not modelled: the SDK's pages being parsed (one page of up to 1000 interfaces per
//! scope in flight), the state bucket, the metrics and alert sinks (`peak_rss` measures
//! those on 100k subnets without maps).

use ipam_monitor::domain::addresses::{
    address_map, AddressMap, CidrReservation, MappedSubnet, NetworkInterface, ReservationKind,
    SubnetAddresses,
};
use ipam_monitor::domain::calculator::{calculate_with, Suppressions};
use ipam_monitor::domain::holder::Holder;
use ipam_monitor::domain::inventory::{
    AddressSweep, Connectivity, Inventory, Scope, ScopeInventory, Subnet, Tags, Vpc,
};
use ipam_monitor::domain::report::json_len;
use ipam_monitor::domain::thresholds::{Rule, ThresholdSource, Thresholds};
use ipam_monitor::store::codec::{archive_records, archive_run};
use ipam_monitor_bench::{mb, report, status_kb, Rng};
use ipnet::{IpNet, Ipv4Net};
use std::hint::black_box;
use std::net::Ipv4Addr;
use std::time::Instant;

const SEED: u64 = 0x1ba5_e019;
const ACCOUNTS: usize = 5;
const REGIONS: [&str; 2] = ["us-east-1", "eu-west-1"];
const VPCS_PER_SCOPE: usize = 10;
const SUBNETS_PER_VPC: usize = 100;
/// Of every ten VPCs, these carry an EKS cluster.
const EKS_VPCS: usize = 4;
const INTERFACES_PER_SCOPE: usize = 20_000;
const MIN_FREE_PREFIXES: u16 = 2;

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

/// What one scope's listing and address sweep hand over: its VPCs and subnets (as
/// DescribeVpcs and DescribeSubnets give them) and each subnet's interfaces and
/// reservations (as the sweep would have read them), in the same order.
struct ScopeFound {
    scope: Scope,
    vpcs: Vec<Vpc>,
    subnets: Vec<Subnet>,
    cidrs: Vec<Ipv4Net>,
    found: Vec<SubnetAddresses>,
}

/// Scope `k`: VPC `v` of it is 10.x.0.0/15 (x = 2 (10k + v)), its 100 subnets (/22 a
/// quarter of the time, /23 a third, /24 the rest) packed from its start.
fn scope_found(k: usize) -> ScopeFound {
    let mut rng = Rng::new(SEED ^ (k as u64 + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15));
    let scope = Scope {
        account_id: format!(
            "{:012}",
            210_000_000_000u64 + (k / REGIONS.len()) as u64 * 7_919
        ),
        region: REGIONS[k % REGIONS.len()].to_string(),
    };
    let mut vpcs = Vec::with_capacity(VPCS_PER_SCOPE);
    let mut subnets = Vec::with_capacity(VPCS_PER_SCOPE * SUBNETS_PER_VPC);
    let mut cidrs = Vec::with_capacity(VPCS_PER_SCOPE * SUBNETS_PER_VPC);
    for v in 0..VPCS_PER_SCOPE {
        let n = k * VPCS_PER_SCOPE + v;
        let base = u32::from(Ipv4Addr::new(10, (2 * n) as u8, 0, 0));
        let mut vpc_tags = Tags::new();
        vpc_tags.insert("Name".into(), format!("vpc-{n}").into());
        let vpc = Vpc {
            id: format!("vpc-{n:017x}").into(),
            account_id: scope.account_id.as_str().into(),
            region: scope.region.as_str().into(),
            is_default: false,
            ipv4_blocks: vec![IpNet::V4(
                Ipv4Net::new(Ipv4Addr::from(base), 15).expect("prefix"),
            )],
            ipv6_blocks: Vec::new(),
            tags: vpc_tags,
            warnings: Vec::new(),
        };
        let cluster = (v < EKS_VPCS).then(|| format!("kubernetes.io/cluster/eks-{k}-{v}"));
        let mut next = base;
        for i in 0..SUBNETS_PER_VPC {
            let len = match rng.below(12) {
                0..=2 => 22,
                3..=6 => 23,
                _ => 24,
            };
            let size = 1u32 << (32 - len);
            next = next.div_ceil(size) * size;
            let net = Ipv4Net::new(Ipv4Addr::from(next), len).expect("prefix");
            next += size;
            let s = n * SUBNETS_PER_VPC + i;
            let mut tags = Tags::new();
            tags.insert("Name".into(), format!("subnet-{s}").into());
            if let Some(c) = &cluster {
                tags.insert(c.as_str().into(), "shared".into());
            }
            subnets.push(Subnet {
                id: format!("subnet-{s:017x}").into(),
                vpc_id: vpc.id.clone(),
                account_id: vpc.account_id.clone(),
                region: vpc.region.clone(),
                availability_zone: format!("{}{}", scope.region, (b'a' + (i % 3) as u8) as char)
                    .into(),
                ipv4_cidr: Some(IpNet::V4(net)),
                ipv6_cidrs: Vec::new(),
                available_ips: None, // set below, from the interfaces
                tags,
                warnings: Vec::new(),
            });
            cidrs.push(net);
        }
        vpcs.push(vpc);
    }
    // Interfaces land on subnets in proportion to their size: a /22 is listed four
    // times, a /23 twice, a /24 once.
    let weighted: Vec<usize> = cidrs
        .iter()
        .enumerate()
        .flat_map(|(i, n)| std::iter::repeat_n(i, 1 << (24 - n.prefix_len())))
        .collect();
    let mut found: Vec<SubnetAddresses> = subnets
        .iter()
        .map(|s| SubnetAddresses {
            subnet_id: s.id.clone(),
            interfaces: Vec::new(),
            reservations: None,
            warnings: Vec::new(),
        })
        .collect();
    for e in 0..INTERFACES_PER_SCOPE {
        let s = weighted[rng.below(weighted.len() as u64) as usize];
        let eni = interface(&mut rng, k * INTERFACES_PER_SCOPE + e, &cidrs[s]);
        found[s].interfaces.push(eni);
    }
    for ((net, f), s) in cidrs.iter().zip(&mut found).zip(&mut subnets) {
        let reserved = rng.chance(0.1).then(|| {
            vec![
                CidrReservation {
                    cidr: block(&mut rng, net, 27),
                    kind: ReservationKind::Explicit,
                },
                CidrReservation {
                    cidr: block(&mut rng, net, 26),
                    kind: ReservationKind::Prefix,
                },
            ]
        });
        if s.tags.eks_clusters().next().is_some() {
            f.reservations = Some(reserved.unwrap_or_default());
        }
        // AvailableIpAddressCount as EC2 would give it: a /28 prefix takes 16.
        let taken: i64 = f
            .interfaces
            .iter()
            .map(|i| (i.ipv4_addresses.len() + 16 * i.ipv4_prefixes.len()) as i64)
            .sum();
        let usable = (1i64 << (32 - net.prefix_len())) - 5;
        s.available_ips = Some((usable - taken).max(0));
    }
    ScopeFound {
        scope,
        vpcs,
        subnets,
        cidrs,
        found,
    }
}

/// The source's step: each subnet mapped as the sweep returns, its interfaces dropped
/// once its map is made.
fn map_scope(cidrs: &[Ipv4Net], found: Vec<SubnetAddresses>) -> Vec<MappedSubnet> {
    cidrs
        .iter()
        .zip(found)
        .map(|(cidr, f)| MappedSubnet {
            map: Some(address_map(cidr, &f)),
            subnet_id: f.subnet_id,
            warnings: f.warnings,
        })
        .collect()
}

fn add(inv: &mut Inventory, s: ScopeFound, maps: Vec<MappedSubnet>) {
    inv.add_scope(
        s.scope,
        ScopeInventory {
            vpcs: s.vpcs,
            subnets: s.subnets,
            connectivity: Connectivity::default(),
            addresses: AddressSweep {
                subnets: maps,
                errors: Vec::new(),
            },
        },
    );
}

/// What the maps say, so that a change of rule shows as a change of figures.
#[derive(Default, PartialEq, Debug)]
struct MapFigures {
    subnets: usize,
    interfaces: u64,
    addresses: u64,
    free: u64,
    exhausted: usize,
    detached: u64,
}

impl MapFigures {
    fn add(&mut self, m: &AddressMap) {
        self.subnets += 1;
        self.interfaces += u64::from(m.interfaces);
        self.addresses += u64::from(m.ipv4_addresses) + u64::from(m.ipv4_prefixes);
        self.free += u64::from(m.free_prefixes);
        self.exhausted += usize::from(m.free_prefixes == 0);
        self.detached += u64::from(m.detached.interfaces);
    }
}

struct Round {
    map_ms: f64,
    calc_ms: f64,
    report_ms: f64,
    figures: MapFigures,
    json_bytes: usize,
    records: usize,
    mapped_records: usize,
    prefix_warnings: usize,
    clusters: usize,
}

/// One modelled run.
fn run(hold_all: bool) -> Round {
    let mut inv = Inventory::default();
    let mut figures = MapFigures::default();
    let mut map_ms = 0.0;
    if hold_all {
        let mut all: Vec<ScopeFound> = (0..ACCOUNTS * REGIONS.len()).map(scope_found).collect();
        let start = Instant::now();
        let maps: Vec<Vec<MappedSubnet>> = all
            .iter_mut()
            .map(|s| black_box(map_scope(black_box(&s.cidrs), std::mem::take(&mut s.found))))
            .collect();
        map_ms += start.elapsed().as_secs_f64() * 1000.0;
        for (s, maps) in all.into_iter().zip(maps) {
            maps.iter()
                .for_each(|m| figures.add(m.map.as_ref().expect("every subnet is mapped")));
            add(&mut inv, s, maps);
        }
    } else {
        for k in 0..ACCOUNTS * REGIONS.len() {
            let mut s = scope_found(k);
            let found = std::mem::take(&mut s.found);
            let start = Instant::now();
            let maps = black_box(map_scope(black_box(&s.cidrs), found));
            map_ms += start.elapsed().as_secs_f64() * 1000.0;
            maps.iter()
                .for_each(|m| figures.add(m.map.as_ref().expect("every subnet is mapped")));
            add(&mut inv, s, maps);
        }
    }

    // monitor() keeps the scopes and errors, and the calculator consumes the rest.
    let (scopes, errors) = (inv.scopes_scanned.clone(), inv.errors.clone());
    let thresholds = Thresholds {
        min_free_prefixes: Some(MIN_FREE_PREFIXES),
        ..Thresholds::default()
    };
    let start = Instant::now();
    let calc = black_box(calculate_with(
        inv,
        &thresholds,
        ThresholdSource::Config,
        &Suppressions::default(),
    ));
    let calc_ms = start.elapsed().as_secs_f64() * 1000.0;
    let report = report(&scopes, &errors, calc);

    // As `peak_rss`: the JSON measured (the handler's inline-or-S3 choice), the archive
    // objects written (the report to S3).
    let start = Instant::now();
    let json_bytes = json_len(&report);
    let records = archive_records(&report);
    let run = archive_run(&report);
    black_box((&records, &run));
    let report_ms = start.elapsed().as_secs_f64() * 1000.0;
    drop((records, run));

    Round {
        map_ms,
        calc_ms,
        report_ms,
        figures,
        json_bytes,
        records: report.resources.len(),
        mapped_records: report
            .resources
            .iter()
            .filter(|r| r.address_map().is_some())
            .count(),
        prefix_warnings: report
            .resources
            .iter()
            .filter(|r| r.reasons.iter().any(|x| x.rule == Rule::MinFreePrefixes))
            .count(),
        clusters: report.outcome.eks_clusters.len(),
    }
}

/// "first F ms; min, median, max over N rounds".
fn spread(what: &str, ms: &mut [f64]) -> f64 {
    let first = ms[0];
    ms.sort_by(f64::total_cmp);
    let (min, median, max) = (ms[0], ms[ms.len() / 2], ms[ms.len() - 1]);
    println!(
        "{what}: first {first:.1} ms; min {min:.1} ms, median {median:.1} ms, max {max:.1} ms \
         over {} rounds",
        ms.len()
    );
    median
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let hold_all = args.iter().any(|a| a == "--hold-all");
    let rounds: usize = args
        .iter()
        .find(|a| !a.starts_with("--"))
        .map(|v| v.parse().expect("N is a whole number"))
        .unwrap_or(15)
        .max(1);
    let scopes = ACCOUNTS * REGIONS.len();
    println!(
        "address_map: {} subnets, {} interfaces in {scopes} scopes; {}; VmRSS at start {:.1} MB",
        scopes * VPCS_PER_SCOPE * SUBNETS_PER_VPC,
        scopes * INTERFACES_PER_SCOPE,
        if hold_all {
            "--hold-all: every scope's interfaces held, then mapped"
        } else {
            "each scope mapped as its sweep returns, its interfaces dropped"
        },
        mb(status_kb("VmRSS"))
    );

    let (mut map_ms, mut calc_ms, mut report_ms) = (Vec::new(), Vec::new(), Vec::new());
    let mut first_peak = 0;
    let mut last = None;
    for i in 0..rounds {
        let r = run(hold_all);
        if i == 0 {
            first_peak = status_kb("VmHWM");
        } else if let Some(prev) = &last {
            let prev: &Round = prev;
            assert_eq!(prev.figures, r.figures, "rounds differ");
        }
        map_ms.push(r.map_ms);
        calc_ms.push(r.calc_ms);
        report_ms.push(r.report_ms);
        last = Some(r);
    }
    let r = last.expect("one round");
    let f = &r.figures;
    println!(
        "maps: {} subnets, {} interfaces, {} addresses and prefixes; {} free /28s in all; \
         {} subnets with none; {} detached interfaces",
        f.subnets, f.interfaces, f.addresses, f.free, f.exhausted, f.detached
    );
    println!(
        "report: {} records, {} with an address map, {} warned by MIN_FREE_PREFIXES={MIN_FREE_PREFIXES}, \
         {} EKS clusters; JSON {:.1} MB",
        r.records,
        r.mapped_records,
        r.prefix_warnings,
        r.clusters,
        r.json_bytes as f64 / 1e6
    );
    let map = spread(
        "map step (address_map per subnet, each one's interfaces dropped after it)",
        &mut map_ms,
    );
    spread("calculator with the maps (calculate_with)", &mut calc_ms);
    spread("report JSON measured + archive objects", &mut report_ms);
    println!("map step median {map:.1} ms (target: under 200 ms on one core)");
    println!(
        "sizes: NetworkInterface {} B, AddressMap {} B, MappedSubnet {} B (plus their vectors)",
        size_of::<NetworkInterface>(),
        size_of::<AddressMap>(),
        size_of::<MappedSubnet>()
    );
    let peak = status_kb("VmHWM");
    println!(
        "peak RSS (VmHWM): {:.1} MB after the first run, {:.1} MB after {rounds} (target: under 128 MB)",
        mb(first_peak),
        mb(peak)
    );
    println!("PEAK_RSS_KB={first_peak}");
}
