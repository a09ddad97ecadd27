//! A synthetic AWS organization for the benchmarks, built straight into
//! `ipam_monitor::domain::inventory` types (what the sources would have produced), and the
//! report the handler would build from it.
//!
//! Deterministic (a fixed-seed SplitMix64), so every run measures the same estate:
//!
//! - 100 accounts x 4 regions = 400 scopes; 10,000 VPCs, 100,000 subnets.
//! - A quarter of the scopes keep their default VPC (172.31.0.0/16, one /20 per AZ):
//!   one large overlap group across accounts and regions.
//! - Custom VPCs: subnets of /24.../28 packed into a primary block sized to fit with
//!   gaps (fragmented free space), 10 % with a secondary IPv4 block, 20 % with an
//!   IPv6 /56 (their subnets get /64s; a few subnets are IPv6-only), 20 copies of
//!   other accounts' CIDRs (overlaps), Name tags on everything (the tags the sources keep) and
//!   threshold tags on 1 %.
//! - AvailableIpAddressCount spread: most subnets 2-60 % used, some 60-95 %, 4 % above
//!   95 %, 1 % full, a few out of range (negative or above usable, as moto and old
//!   AWS answers give).
//! - IPAM: one IPAM, 1,000 pools: a 10.0.0.0/8 top pool, 16 /12 pools, 979 /18 leaf
//!   pools with the VPC allocations (and custom reservations) inside them, 4 IPv6
//!   pools; resource CIDRs (IPAM's own usage figures) for every IPv4 VPC block and
//!   subnet, 2 % of them disagreeing with the computed figure.

use ipam_monitor::domain::calculator::{self, Calculated};
use ipam_monitor::domain::inventory::{
    Inventory, IpamPool, PoolAllocation, ResourceCidr, ScanError, Scope, Subnet, Tags, Vpc,
};
use ipam_monitor::domain::report::{Report, ScopeOutcome};
use ipam_monitor::domain::thresholds::{ThresholdSource, Thresholds};
use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use std::net::{Ipv4Addr, Ipv6Addr};

/// The size of the synthetic organization.
#[derive(Debug, Clone)]
pub struct OrgSpec {
    pub accounts: usize,
    pub regions: Vec<&'static str>,
    pub vpcs: usize,
    pub subnets: usize,
    /// IPAM pools (at least 21: top, 16 /12 pools, 4 IPv6 pools, leaves).
    pub pools: usize,
    pub seed: u64,
}

impl OrgSpec {
    /// The benchmark size: 100k subnets, 10k VPCs, 1k pools.
    pub fn large() -> OrgSpec {
        OrgSpec {
            accounts: 100,
            regions: vec!["us-east-1", "eu-west-1", "us-west-2", "ap-southeast-2"],
            vpcs: 10_000,
            subnets: 100_000,
            pools: 1_000,
            seed: 0x1ba5_e0f1,
        }
    }

    /// The same estate scaled down by `factor` (pools too, never below 21).
    pub fn scaled(factor: usize) -> OrgSpec {
        let l = OrgSpec::large();
        OrgSpec {
            accounts: (l.accounts / factor).max(1),
            vpcs: l.vpcs / factor,
            subnets: l.subnets / factor,
            pools: (l.pools / factor).max(21),
            ..l
        }
    }
}

/// SplitMix64: tiny, fast, deterministic; no dependency needed.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    /// Uniform in 0..n.
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }
    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
    pub fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }
}

/// Hands out aligned IPv4 blocks from a list of ranges, in order.
struct Allocator {
    ranges: Vec<(u32, u32)>, // [start, end)
    current: usize,
    next: u32,
}

impl Allocator {
    fn new(ranges: &[&str]) -> Allocator {
        let ranges: Vec<(u32, u32)> = ranges
            .iter()
            .map(|r| {
                let n: Ipv4Net = r.parse().expect("range");
                let s = u32::from(n.network());
                (s, s + (1u32 << (32 - n.prefix_len())))
            })
            .collect();
        let next = ranges[0].0;
        Allocator {
            ranges,
            current: 0,
            next,
        }
    }

    /// The next free block of `prefix`, aligned; `None` when the space is used up.
    fn take(&mut self, prefix: u8) -> Option<Ipv4Net> {
        let size = 1u32 << (32 - prefix);
        loop {
            let (_, end) = *self.ranges.get(self.current)?;
            let start = self.next.div_ceil(size) * size;
            if u64::from(start) + u64::from(size) <= u64::from(end) {
                self.next = start + size;
                return Some(Ipv4Net::new(Ipv4Addr::from(start), prefix).expect("prefix"));
            }
            self.current += 1;
            if let Some((s, _)) = self.ranges.get(self.current) {
                self.next = *s;
            }
        }
    }

    /// Leaves a hole of `prefix` size (space reserved, decommissioned, or never used).
    fn skip(&mut self, prefix: u8) {
        let _ = self.take(prefix);
    }
}

fn v4(start: u32, prefix: u8) -> IpNet {
    IpNet::V4(Ipv4Net::new(Ipv4Addr::from(start), prefix).expect("prefix"))
}

fn hex_id(prefix: &str, n: u64) -> String {
    // 17 hex digits as AWS ids have; mixing makes them look random but stay unique.
    let mixed = n.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 4; // 60 bits, bijective on n < 2^60
    format!("{prefix}-{:017x}", mixed & 0x0fff_ffff_ffff_ffff)
}

fn account_id(a: usize) -> String {
    format!("{:012}", 210_000_000_000u64 + a as u64 * 7_919)
}

/// The tags the sources keep: `Name` and `ipam-monitor:*` (the resources also carry an
/// Environment tag in AWS, which the source drops; `env` is in the name instead).
fn tags(name: String, _env: &str, extra: Option<(&str, &str)>) -> Tags {
    let mut t = Tags::new();
    t.insert("Name".into(), name.into());
    if let Some((k, v)) = extra {
        t.insert(k.into(), v.into());
    }
    t
}

const ENVIRONMENTS: [&str; 4] = ["prod", "staging", "dev", "shared"];

/// Subnet prefix, weighted: /24 15 %, /25 15 %, /26 25 %, /27 25 %, /28 20 %.
fn subnet_prefix(rng: &mut Rng) -> u8 {
    match rng.below(100) {
        0..=14 => 24,
        15..=29 => 25,
        30..=54 => 26,
        55..=79 => 27,
        _ => 28,
    }
}

/// A realistic AvailableIpAddressCount for a subnet of `usable` addresses.
fn available(rng: &mut Rng, usable: i64) -> i64 {
    let roll = rng.below(10_000);
    let used_share = match roll {
        0..=4 => return -(rng.below(5) as i64) - 1, // moto-style negative count
        5..=9 => return usable + 1 + rng.below(10) as i64, // above usable
        10..=109 => 1.0,                            // 1 % full
        110..=509 => 0.95 + 0.05 * rng.unit(),      // 4 % critical
        510..=1509 => 0.8 + 0.15 * rng.unit(),      // 10 % warning
        1510..=4009 => 0.6 + 0.2 * rng.unit(),      // 25 % busy
        _ => 0.02 + 0.58 * rng.unit(),              // 60 % comfortable
    };
    usable - (used_share * usable as f64).round() as i64
}

/// Packs subnets of the given prefixes into a block at offset 0, largest first (so
/// alignment never wastes space), leaving a hole after ~20 % of them. Returns the
/// offsets and the end of the packed space.
fn pack(rng: &mut Rng, prefixes: &mut [u8]) -> (Vec<u32>, u32) {
    prefixes.sort_unstable();
    let mut offsets = Vec::with_capacity(prefixes.len());
    let mut cursor = 0u32;
    for &p in prefixes.iter() {
        let size = 1u32 << (32 - p);
        cursor = cursor.div_ceil(size) * size;
        offsets.push(cursor);
        cursor += size;
        if rng.chance(0.2) {
            cursor += size; // a hole of the same size: fragmented free space
        }
    }
    (offsets, cursor)
}

/// Smallest prefix (largest block) that holds `bytes` addresses, /16.../28.
fn prefix_for(space: u32) -> u8 {
    let bits = 32 - (space.max(16) - 1).leading_zeros();
    (32 - bits).clamp(16, 28) as u8
}

struct Builder<'a> {
    spec: &'a OrgSpec,
    rng: Rng,
    alloc: Allocator,
    inv: Inventory,
    next_vpc: u64,
    next_subnet: u64,
    next_v6: u64,
    /// (VPC id, region, account, primary block) of the custom VPCs, for IPAM.
    custom: Vec<(String, String, String, Ipv4Net)>,
    /// (VPC id, region, account, /56) of the IPv6 VPCs.
    v6_vpcs: Vec<(String, String, String, IpNet)>,
}

impl Builder<'_> {
    fn subnet(
        &mut self,
        vpc: &Vpc,
        zone: &str,
        cidr: Option<IpNet>,
        ipv6: Vec<IpNet>,
        env: &str,
    ) -> Subnet {
        self.next_subnet += 1;
        let n = self.next_subnet;
        let available_ips =
            cidr.map(|c| available(&mut self.rng, (1i64 << (32 - c.prefix_len())) - 5));
        let extra = self
            .rng
            .chance(0.01)
            .then_some(("ipam-monitor:warning-percent", "70"));
        Subnet {
            id: hex_id("subnet", n).into(),
            vpc_id: vpc.id.clone(),
            account_id: vpc.account_id.clone(),
            region: vpc.region.clone(),
            availability_zone: zone.into(),
            ipv4_cidr: cidr,
            ipv6_cidrs: ipv6,
            available_ips,
            tags: tags(format!("{env}-subnet-{n}"), env, extra),
            warnings: Vec::new(),
        }
    }

    fn new_vpc(&mut self, scope: &Scope, blocks: Vec<IpNet>, is_default: bool, env: &str) -> Vpc {
        self.next_vpc += 1;
        let n = self.next_vpc;
        let extra = self
            .rng
            .chance(0.01)
            .then_some(("ipam-monitor:critical-percent", "90"));
        Vpc {
            id: hex_id("vpc", n).into(),
            account_id: scope.account_id.as_str().into(),
            region: scope.region.as_str().into(),
            is_default,
            ipv4_blocks: blocks,
            ipv6_blocks: Vec::new(),
            tags: tags(
                if is_default {
                    "default".to_string()
                } else {
                    format!("{env}-vpc-{n}")
                },
                env,
                extra,
            ),
            warnings: Vec::new(),
        }
    }

    fn default_vpc(&mut self, scope: &Scope) -> usize {
        let zones = if scope.region == "us-east-1" { 6 } else { 3 };
        let vpc = self.new_vpc(
            scope,
            vec!["172.31.0.0/16".parse().unwrap()],
            true,
            "default",
        );
        for z in 0..zones {
            let zone = format!("{}{}", scope.region, (b'a' + z as u8) as char);
            let s = self.subnet(
                &vpc,
                &zone,
                Some(v4(0xac1f_0000 + (z << 12), 20)),
                Vec::new(),
                "default",
            );
            self.inv.subnets.push(s);
        }
        self.inv.vpcs.push(vpc);
        zones as usize
    }

    /// A custom VPC with `n` subnets; a `copy` reuses another VPC's primary block (an
    /// overlap) instead of fresh space.
    fn custom_vpc(&mut self, scope: &Scope, n: usize, copy: bool) {
        let env = ENVIRONMENTS[self.rng.below(4) as usize];
        let secondary_count = if n >= 3 && !copy && self.rng.chance(0.10) {
            1 + self.rng.below(2) as usize
        } else {
            0
        };
        let primary_count = n - secondary_count;
        let mut primary_prefixes: Vec<u8> = (0..primary_count)
            .map(|_| subnet_prefix(&mut self.rng))
            .collect();
        let (offsets, end) = pack(&mut self.rng, &mut primary_prefixes);
        // Rounding up to a CIDR block leaves 0-50 % head room.
        let prefix = prefix_for(end);
        // A copy reuses the primary block of an earlier VPC (of another account or
        // region) that is large enough, as a merger or a lab would.
        let copied = copy.then(|| {
            let from = self.rng.below(self.custom.len() as u64) as usize;
            (0..self.custom.len())
                .map(|i| self.custom[(from + i) % self.custom.len()].3)
                .find(|b| b.prefix_len() <= prefix)
        });
        let primary = match copied.flatten() {
            Some(b) => b,
            None => self.alloc.take(prefix).expect("address space"),
        };
        let copy = copied.flatten().is_some();
        if !copy && self.rng.chance(0.1) {
            self.alloc.skip(primary.prefix_len()); // space left between VPCs
        }
        let mut blocks = vec![IpNet::V4(primary)];
        let mut secondary = None;
        let mut secondary_prefixes: Vec<u8> = (0..secondary_count)
            .map(|_| subnet_prefix(&mut self.rng))
            .collect();
        let (sec_offsets, sec_end) = pack(&mut self.rng, &mut secondary_prefixes);
        if secondary_count > 0 {
            let b = self.alloc.take(prefix_for(sec_end)).expect("address space");
            blocks.push(IpNet::V4(b));
            secondary = Some(b);
        }
        let mut vpc = self.new_vpc(scope, blocks, false, env);
        let v6 = self.rng.chance(0.2).then(|| {
            self.next_v6 += 1;
            // 2600:1f10::/32 (Amazon-provided style), one /56 per VPC.
            let base: u128 = (0x2600_1f10u128 << 96) | (u128::from(self.next_v6) << 72);
            IpNet::V6(Ipv6Net::new(Ipv6Addr::from(base), 56).expect("prefix"))
        });
        if let Some(b) = v6 {
            vpc.ipv6_blocks.push(b);
            self.v6_vpcs.push((
                vpc.id.to_string(),
                vpc.region.to_string(),
                vpc.account_id.to_string(),
                b,
            ));
        }
        let base = u32::from(primary.network());
        let mut index = 0u128;
        let zones = 3;
        let mut place = |this: &mut Self, cidr: IpNet| {
            let zone = format!("{}{}", scope.region, (b'a' + (index % zones) as u8) as char);
            let mut ipv6 = Vec::new();
            let mut ipv4 = Some(cidr);
            if let Some(IpNet::V6(b)) = v6 {
                if this.rng.chance(0.7) {
                    let start = u128::from(b.network()) | (index << 64);
                    ipv6.push(IpNet::V6(
                        Ipv6Net::new(Ipv6Addr::from(start), 64).expect("prefix"),
                    ));
                    if this.rng.chance(0.05) {
                        ipv4 = None; // IPv6-only subnet
                    }
                }
            }
            index += 1;
            let s = this.subnet(&vpc, &zone, ipv4, ipv6, env);
            this.inv.subnets.push(s);
        };
        for (p, off) in primary_prefixes.iter().zip(&offsets) {
            place(self, v4(base + off, *p));
        }
        if let Some(b) = secondary {
            let sbase = u32::from(b.network());
            for (p, off) in secondary_prefixes.iter().zip(&sec_offsets) {
                place(self, v4(sbase + off, *p));
            }
        }
        if !copy {
            self.custom.push((
                vpc.id.to_string(),
                vpc.region.to_string(),
                vpc.account_id.to_string(),
                primary,
            ));
        }
        self.inv.vpcs.push(vpc);
    }
}

/// Builds the organization described by `spec`.
pub fn organization(spec: &OrgSpec) -> Inventory {
    let mut b = Builder {
        spec,
        rng: Rng::new(spec.seed),
        alloc: Allocator::new(&[
            "10.0.0.0/8",
            "100.64.0.0/10",
            "172.16.0.0/13",
            "192.168.0.0/16",
        ]),
        inv: Inventory::default(),
        next_vpc: 0,
        next_subnet: 0,
        next_v6: 0,
        custom: Vec::new(),
        v6_vpcs: Vec::new(),
    };
    let scopes: Vec<Scope> = (0..spec.accounts)
        .flat_map(|a| {
            spec.regions.iter().map(move |r| Scope {
                account_id: account_id(a),
                region: r.to_string(),
            })
        })
        .collect();
    b.inv.scopes_scanned = scopes.clone();

    // Default VPCs in every fourth scope.
    let mut default_subnets = 0;
    let mut default_vpcs = 0;
    for scope in scopes.iter().step_by(4) {
        if default_vpcs < spec.vpcs / 10 {
            default_subnets += b.default_vpc(scope);
            default_vpcs += 1;
        }
    }
    // Custom VPCs round-robin over the scopes; subnet counts 1...19 around the mean,
    // corrected at the end so the totals are exact.
    let custom = spec.vpcs - default_vpcs;
    let remaining = spec.subnets - default_subnets;
    let mean = remaining as f64 / custom as f64;
    let mut counts: Vec<usize> = (0..custom)
        .map(|_| {
            let spread = (mean - 1.0).max(0.0);
            (1.0 + 2.0 * spread * b.rng.unit()).round() as usize
        })
        .collect();
    let mut total: isize = counts.iter().sum::<usize>() as isize;
    let mut i = 0;
    while total != remaining as isize {
        let c = &mut counts[i % custom];
        if total > remaining as isize && *c > 1 {
            *c -= 1;
            total -= 1;
        } else if total < remaining as isize && *c < 30 {
            *c += 1;
            total += 1;
        }
        i += 1;
    }
    // The last 20 VPCs copy an earlier VPC's primary block: overlaps.
    let copies = 20.min(custom / 50);
    for (k, n) in counts.iter().enumerate() {
        let scope = &scopes[(k * 7) % scopes.len()];
        b.custom_vpc(scope, *n, k >= custom - copies);
    }

    ipam(&mut b);
    b.inv
}

/// One IPAM with `spec.pools` pools over 10.0.0.0/8 and the IPv6 VPC space, and
/// resource CIDRs for every IPv4 VPC block and subnet.
fn ipam(b: &mut Builder) {
    let spec = b.spec;
    let owner = account_id(0);
    let home = spec.regions[0].to_string();
    let ipam_id = hex_id("ipam", 1);
    let scope_id = hex_id("ipam-scope", 1);
    let mut next_pool = 0u64;
    let mut pool = |cidrs: Vec<IpNet>,
                    parent: Option<String>,
                    locale: Option<String>,
                    depth: i32,
                    desc: String| {
        next_pool += 1;
        IpamPool {
            id: hex_id("ipam-pool", next_pool),
            ipam_id: ipam_id.clone(),
            scope_id: scope_id.clone(),
            scope_type: "private".into(),
            parent_pool_id: parent,
            locale,
            depth: Some(depth),
            account_id: owner.clone(),
            region: home.clone(),
            description: Some(desc.clone()),
            tags: tags(desc, "shared", None),
            cidrs,
            allocations: Vec::new(),
            warnings: Vec::new(),
        }
    };
    let alloc =
        |cidr: IpNet, kind: &str, id: Option<String>, region: Option<String>, owner: &str| {
            PoolAllocation {
                cidr,
                resource_type: kind.into(),
                resource_id: id.map(Into::into),
                resource_region: region.map(Into::into),
                resource_owner: Some(owner.into()),
            }
        };

    let ipv6_pools = 4usize;
    let mids = 16usize;
    let leaves = spec.pools.saturating_sub(1 + mids + ipv6_pools).min(1024);
    let mut top = pool(
        vec!["10.0.0.0/8".parse().unwrap()],
        None,
        None,
        1,
        "organization IPv4".into(),
    );
    let mut mid_pools: Vec<IpamPool> = (0..mids)
        .map(|m| {
            let c = v4(0x0a00_0000 + ((m as u32) << 20), 12);
            let region = spec.regions[m % spec.regions.len()].to_string();
            top.allocations
                .push(alloc(c, "ipam-pool", None, None, &owner));
            pool(
                vec![c],
                Some(top.id.clone()),
                Some(region.clone()),
                2,
                format!("{region} block {m}"),
            )
        })
        .collect();
    for (i, m) in mid_pools.iter().enumerate() {
        top.allocations[i].resource_id = Some(m.id.as_str().into());
    }
    let mut leaf_pools: Vec<IpamPool> = (0..leaves)
        .map(|l| {
            let c = v4(0x0a00_0000 + ((l as u32) << 14), 18);
            let mid = &mut mid_pools[l / 64];
            let p = pool(
                vec![c],
                Some(mid.id.clone()),
                mid.locale.clone(),
                3,
                format!("leaf {l}"),
            );
            mid.allocations
                .push(alloc(c, "ipam-pool", Some(p.id.clone()), None, &owner));
            p
        })
        .collect();
    // VPC allocations: each custom VPC whose primary block lies in a leaf.
    let mut last_end = vec![0u32; leaves];
    for (id, region, account, block) in &b.custom {
        let start = u32::from(block.network());
        if !(0x0a00_0000..0x0b00_0000).contains(&start) || block.prefix_len() < 18 {
            continue;
        }
        let l = ((start - 0x0a00_0000) >> 14) as usize;
        if l >= leaves {
            continue;
        }
        leaf_pools[l].allocations.push(alloc(
            IpNet::V4(*block),
            "vpc",
            Some(id.clone()),
            Some(region.clone()),
            account,
        ));
        last_end[l] = last_end[l].max(u32::from(block.broadcast()) + 1);
    }
    // A custom reservation ("next VPC") after the last VPC of every fifth leaf.
    for (l, p) in leaf_pools.iter_mut().enumerate().step_by(5) {
        let leaf_end = 0x0a00_0000 + ((l as u32 + 1) << 14);
        let start = last_end[l].max(0x0a00_0000 + ((l as u32) << 14));
        let start = start.div_ceil(1024) * 1024;
        if start + 1024 <= leaf_end {
            p.allocations
                .push(alloc(v4(start, 22), "custom", None, None, &owner));
        }
    }
    // IPv6 pools: each a /36 of 2600:1f10::/32 with the VPC /56s inside.
    let mut v6_pools: Vec<IpamPool> = (0..ipv6_pools)
        .map(|k| {
            let base: u128 = (0x2600_1f10u128 << 96) | ((k as u128) << 92);
            let c = IpNet::V6(Ipv6Net::new(Ipv6Addr::from(base), 36).unwrap());
            pool(
                vec![c],
                None,
                Some(spec.regions[k % spec.regions.len()].to_string()),
                1,
                format!("ipv6 {k}"),
            )
        })
        .collect();
    for (id, region, account, block) in &b.v6_vpcs {
        if let Some(p) = v6_pools.iter_mut().find(|p| p.cidrs[0].contains(block)) {
            p.allocations.push(alloc(
                *block,
                "vpc",
                Some(id.clone()),
                Some(region.clone()),
                account,
            ));
        }
    }
    let mut pools = vec![top];
    pools.extend(mid_pools);
    pools.extend(leaf_pools);
    pools.extend(v6_pools);
    b.inv.pools = pools;

    // IPAM's own view of every IPv4 VPC block and subnet.
    let mut rc = Vec::with_capacity(b.inv.vpcs.len() + b.inv.subnets.len());
    for v in &b.inv.vpcs {
        for c in &v.ipv4_blocks {
            rc.push(resource_cidr(&mut b.rng, &v.id, "vpc", v, *c, 0.5));
        }
    }
    for s in &b.inv.subnets {
        let Some(c) = s.ipv4_cidr else { continue };
        let usable = (1i64 << (32 - c.prefix_len())) - 5;
        let used = usable - s.available_ips.unwrap_or(usable).clamp(0, usable);
        let share = used as f64 / usable as f64;
        rc.push(ResourceCidr {
            resource_id: s.id.clone(),
            name: None,
            resource_type: "subnet".into(),
            resource_region: Some(s.region.clone()),
            resource_owner: Some(s.account_id.clone()),
            vpc_id: Some(s.vpc_id.clone()),
            pool_id: None,
            cidr: c,
            ip_usage: Some(drift(&mut b.rng, share)),
            compliance_status: Some("unmanaged".into()),
            overlap_status: Some("nonoverlapping".into()),
            management_state: Some("unmanaged".into()),
        });
    }
    b.inv.resource_cidrs = rc;
}

/// IPAM's usage: ours, or (2 %) something else, as IPAM's sampling can lag.
fn drift(rng: &mut Rng, share: f64) -> f64 {
    if rng.chance(0.02) {
        (share + 0.3).min(1.0) * 0.5
    } else {
        share
    }
}

fn resource_cidr(
    rng: &mut Rng,
    id: &str,
    kind: &str,
    v: &Vpc,
    c: IpNet,
    share: f64,
) -> ResourceCidr {
    ResourceCidr {
        resource_id: id.into(),
        name: None,
        resource_type: kind.into(),
        resource_region: Some(v.region.clone()),
        resource_owner: Some(v.account_id.clone()),
        vpc_id: Some(v.id.clone()),
        pool_id: None,
        cidr: c,
        ip_usage: Some(drift(rng, share)),
        compliance_status: Some("compliant".into()),
        overlap_status: Some("nonoverlapping".into()),
        management_state: Some("managed".into()),
    }
}

pub fn thresholds() -> Thresholds {
    Thresholds::default()
}

/// The report `monitor` builds from an inventory's scopes and errors and the
/// calculation that consumed the rest of it.
pub fn report(scopes: &[Scope], errors: &[ScanError], calc: Calculated) -> Report {
    Report::new(
        "bench-00000000-0000-0000-0000-000000000000".into(),
        // 2026-05-01T00:00:00Z
        std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_777_593_600),
        thresholds(),
        ThresholdSource::Config,
        scopes
            .iter()
            .map(|s| ScopeOutcome {
                scope: s.clone(),
                ok: true,
            })
            .collect(),
        errors.to_vec(),
        calc,
    )
}

/// Inventory, calculation and report for `spec`, as the handler would have them.
pub fn org_report(spec: &OrgSpec) -> (Inventory, Report) {
    let inv = organization(spec);
    let calc = calculator::calculate(inv.clone(), &thresholds(), ThresholdSource::Config);
    let report = report(&inv.scopes_scanned, &inv.errors, calc);
    (inv, report)
}

/// Figures about an inventory, to print next to the timings.
pub fn describe(inv: &Inventory) -> String {
    let blocks: usize = inv.vpcs.iter().map(|v| v.ipv4_blocks.len()).sum();
    let secondary = inv.vpcs.iter().filter(|v| v.ipv4_blocks.len() > 1).count();
    let v6 = inv
        .vpcs
        .iter()
        .filter(|v| !v.ipv6_blocks.is_empty())
        .count();
    let v6_only = inv.subnets.iter().filter(|s| s.ipv4_cidr.is_none()).count();
    let allocations: usize = inv.pools.iter().map(|p| p.allocations.len()).sum();
    format!(
        "{} scopes, {} VPCs ({} IPv4 blocks, {} with a secondary block, {} with IPv6), \
         {} subnets ({} IPv6-only), {} IPAM pools with {} allocations, {} resource CIDRs",
        inv.scopes_scanned.len(),
        inv.vpcs.len(),
        blocks,
        secondary,
        v6,
        inv.subnets.len(),
        v6_only,
        inv.pools.len(),
        allocations,
        inv.resource_cidrs.len()
    )
}

/// A field of /proc/self/status in kB (`VmRSS`, `VmHWM`); 0 where it is missing.
pub fn status_kb(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// kB as MB.
pub fn mb(kb: u64) -> f64 {
    kb as f64 / 1024.0
}
