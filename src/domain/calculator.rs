//! The usage calculator: pure and synchronous, no I/O, no clock, no SDK.
//! Turns an [`Inventory`] into report records, overlap groups and counts.

use crate::domain::cidr::{self, Family};
use crate::domain::inventory::{
    name_tag, Inventory, IpamPool, ResourceCidr, Subnet, Vpc, NAME_TAG,
};
use crate::domain::rank_sort::group_by_rank;
use crate::domain::report::{
    push_percent, round_percent, AddressUsage, AppliedThresholds, BlockUsage, Cidrs,
    IpamObservation, Measure, OverlapGroup, OverlapMember, PoolDetails, ResourceRecord,
    ResourceType, Summary, Unit,
};
use crate::domain::subnet_match::{cmp_ids, id_key, match_subnets, IpamSubnetCidrs, Matched};
use crate::domain::thresholds::{Status, ThresholdSource, Thresholds};
use compact_str::CompactString;
use ipnet::IpNet;
use rustc_hash::{FxHashMap, FxHashSet};
use std::cmp::Reverse;

/// Addresses AWS keeps in every subnet: network, router, DNS, future use, broadcast.
pub const AWS_RESERVED_PER_SUBNET: u128 = 5;

/// Addresses in one /64, the unit IPv6 figures are reported in.
const SLASH64: u128 = 1u128 << 64;

/// IPAM's usage and ours may differ this much (percentage points) before it is flagged:
/// IPAM samples usage on its own schedule, so small drift is normal.
pub const DISAGREEMENT_POINTS: f64 = 10.0;

/// What IPAM knows, indexed for the records.
struct IpamIndex<'a> {
    /// VPC id -> (allocated CIDR, pool id) of allocations made to that VPC.
    vpc_allocations: FxHashMap<&'a str, Vec<(IpNet, &'a str)>>,
    /// (resource id, CIDR) -> IPAM's view of it, for all but subnets, built from the
    /// inventory's resource CIDRs (which are consumed) and moved into the one record
    /// that shows it.
    observed: FxHashMap<(CompactString, IpNet), Box<IpamObservation>>,
    /// An IPAM call failed: a CIDR without an allocation may still be managed.
    incomplete: bool,
}

impl<'a> IpamIndex<'a> {
    fn new(
        pools: &'a [IpamPool],
        resource_cidrs: Vec<ResourceCidr>,
        incomplete: bool,
    ) -> (IpamIndex<'a>, IpamSubnetCidrs) {
        let mut vpc_allocations: FxHashMap<&str, Vec<(IpNet, &str)>> = FxHashMap::default();
        for pool in pools {
            for a in &pool.allocations {
                if let (true, Some(id)) = (a.resource_type == "vpc", a.resource_id.as_deref()) {
                    vpc_allocations
                        .entry(id)
                        .or_default()
                        .push((a.cidr, pool.id.as_str()));
                }
            }
        }
        // VPC blocks are few enough for a map; every other type goes to the subnets,
        // which are matched by sorting (subnet_match).
        let mut observed = FxHashMap::default();
        let mut subnet_cidrs = IpamSubnetCidrs::with_capacity(resource_cidrs.len());
        for r in resource_cidrs {
            let seen = IpamObservation {
                ipam_pool_id: r.pool_id,
                ip_usage_percent: r.ip_usage.map(|u| round_percent(u * 100.0)),
                compliance_status: r.compliance_status,
                overlap_status: r.overlap_status,
                management_state: r.management_state,
                disagrees: false,
            };
            if r.resource_type == "vpc" {
                // The first of two alike is kept, as for subnets.
                observed
                    .entry((r.resource_id, r.cidr))
                    .or_insert_with(|| Box::new(seen));
            } else {
                subnet_cidrs.push(r.resource_id, r.cidr, r.resource_region, seen);
            }
        }
        let index = IpamIndex {
            vpc_allocations,
            observed,
            incomplete,
        };
        (index, subnet_cidrs)
    }

    /// Whether an allocation to `vpc_id` covers `block`, and from which pool.
    fn managed(&self, vpc_id: &str, block: &IpNet) -> (Option<bool>, Option<CompactString>) {
        let pool = self
            .vpc_allocations
            .get(vpc_id)
            .and_then(|allocs| allocs.iter().find(|(c, _)| cidr::contains(c, block)));
        match pool {
            Some((_, pool_id)) => (Some(true), Some((*pool_id).into())),
            None if self.incomplete => (None, None),
            None => (Some(false), None),
        }
    }

    /// IPAM's view of `resource_id`'s `cidr`, compared with our `ours` percentage.
    /// Each is taken once: every (resource, CIDR) has one record after deduplication.
    fn observe(
        &mut self,
        resource_id: &str,
        cidr: &IpNet,
        ours: Option<f64>,
    ) -> Option<Box<IpamObservation>> {
        // An id of up to 24 bytes (every AWS id) makes this key without allocating.
        let mut seen = self
            .observed
            .remove(&(CompactString::new(resource_id), *cidr))?;
        seen.disagrees = disagrees(seen.ip_usage_percent, ours);
        Some(seen)
    }
}

/// IPAM's and our utilization are more than [`DISAGREEMENT_POINTS`] apart.
fn disagrees(theirs: Option<f64>, ours: Option<f64>) -> bool {
    matches!((theirs, ours), (Some(t), Some(o)) if (t - o).abs() > DISAGREEMENT_POINTS)
}

/// The first item of each key, by reference, in input order.
fn first_of_each<'a, T, K: std::hash::Hash + Eq>(
    items: &'a [T],
    key: impl Fn(&'a T) -> K,
) -> Vec<&'a T> {
    let mut seen = FxHashSet::with_capacity_and_hasher(items.len(), Default::default());
    items.iter().filter(|i| seen.insert(key(i))).collect()
}

/// `vpc_of_each_subnet`'s mark for a subnet that is not kept or whose VPC is unlisted.
const NO_VPC: u32 = u32::MAX;

/// Each kept subnet's VPC as an index into `vpcs` (same region and id), or NO_VPC.
fn vpc_of_each_subnet(vpcs: &[&Vpc], subnets: &[Subnet], keep: &[bool]) -> Vec<u32> {
    // FxHash: 100k lookups of short, trusted keys, where SipHash's DoS resistance buys
    // nothing and cost a tenth of the run.
    let index: FxHashMap<(&str, &str), u32> = vpcs
        .iter()
        .enumerate()
        .map(|(i, v)| ((v.region.as_str(), v.id.as_str()), i as u32))
        .collect();
    // A VPC's subnets mostly come one after another: the previous answer is reused
    // when the region and VPC id are the same, without hashing them.
    let mut last: Option<((&str, &str), u32)> = None;
    subnets
        .iter()
        .zip(keep)
        .map(|(s, keep)| {
            let key = (s.region.as_str(), s.vpc_id.as_str());
            match (keep, last) {
                (false, _) => NO_VPC,
                (true, Some((k, v))) if k == key => v,
                (true, _) => {
                    let v = index.get(&key).copied().unwrap_or(NO_VPC);
                    last = Some((key, v));
                    v
                }
            }
        })
        .collect()
}

pub struct Calculated {
    pub resources: Vec<ResourceRecord>,
    pub overlaps: Vec<OverlapGroup>,
    pub summary: Summary,
}

/// Consumes the inventory: records take over its strings and IPAM's observations
/// instead of copying them, and each part is freed once used, so a large run holds
/// little more than its report (BENCHMARKS.md, peak memory).
pub fn calculate(inv: Inventory, thresholds: &Thresholds, source: ThresholdSource) -> Calculated {
    let incomplete = inv.ipam_incomplete();
    let Inventory {
        vpcs,
        subnets,
        pools,
        resource_cidrs,
        ..
    } = inv;
    // A shared VPC is seen from every account it is shared with and counts once
    // (shared subnets: match_subnets).
    let vpcs = first_of_each(&vpcs, |v| (v.region.as_str(), v.id.as_str()));
    // Allocations are indexed from every copy of a shared pool; records from the first.
    let (mut ipam, subnet_cidrs) = IpamIndex::new(&pools, resource_cidrs, incomplete);
    let pools = first_of_each(&pools, |p| p.id.as_str());
    let Matched { keep, observed } = match_subnets(&subnets, subnet_cidrs);
    let kept = keep.iter().filter(|k| **k).count();

    let mut records = Records::with_capacity(vpcs.len() + kept + pools.len());
    // Each kept subnet's VPC, by its index in `vpcs`; NO_VPC when its VPC was not listed.
    let vpc_of = vpc_of_each_subnet(&vpcs, &subnets, &keep);
    // Each VPC's blocks with their managed state, in one small flat list (VPC `v`'s are
    // `blocks[block_start[v]..block_start[v + 1]]`): what a subnet needs of its VPC,
    // without reading the VPC's record again.
    let mut blocks: Vec<(IpNet, Option<bool>)> = Vec::new();
    let mut block_start: Vec<u32> = Vec::with_capacity(vpcs.len() + 1);
    {
        // The kept subnets grouped by VPC in one flat vector, in inventory order within
        // a VPC: two passes instead of a growing vector per VPC.
        let mut start = vec![0usize; vpcs.len() + 1];
        for &v in vpc_of.iter().filter(|v| **v != NO_VPC) {
            start[v as usize + 1] += 1;
        }
        for v in 0..vpcs.len() {
            start[v + 1] += start[v];
        }
        // Subnet indices placed at their VPC's next free slot (a counting sort).
        let mut next = start.clone();
        let mut order = vec![0u32; start[vpcs.len()]];
        for (i, &v) in vpc_of.iter().enumerate().filter(|(_, v)| **v != NO_VPC) {
            order[next[v as usize]] = i as u32;
            next[v as usize] += 1;
        }
        let members: Vec<&Subnet> = order.into_iter().map(|i| &subnets[i as usize]).collect();
        let mut scratch = VpcScratch::default();
        for (v, &vpc) in vpcs.iter().enumerate() {
            let group = &members[start[v]..start[v + 1]];
            let rec = vpc_record(vpc, group, thresholds, source, &mut ipam, &mut scratch);
            block_start.push(blocks.len() as u32);
            blocks.extend(rec.cidr_blocks.iter().map(|b| (b.cidr, b.managed)));
            records.push(rec);
        }
        block_start.push(blocks.len() as u32);
    }
    // Each kept subnet's strings move into its record, and what is left of it is freed
    // at once, while it is still in cache.
    let mut observed = observed;
    for (i, mut s) in subnets.into_iter().enumerate().filter(|(i, _)| keep[*i]) {
        // The state of the VPC block that holds the subnet.
        let v = vpc_of[i] as usize;
        let vpc_blocks = match v {
            _ if v == NO_VPC as usize => &[][..],
            v => &blocks[block_start[v] as usize..block_start[v + 1] as usize],
        };
        let managed = s.ipv4_cidr.and_then(|net| {
            let block = vpc_blocks.iter().find(|b| cidr::contains(&b.0, &net));
            block?.1
        });
        records.push(subnet_record(
            &mut s,
            thresholds,
            source,
            managed,
            observed[i].take(),
        ));
    }
    drop((observed, keep, vpc_of, blocks, block_start));
    drop(ipam);
    for pool in pools {
        records.push(pool_record(pool, thresholds, source));
    }
    let overlaps = find_overlaps(&vpcs);
    records.finish(overlaps)
}

/// The records as they are made, with what the report needs of each taken while the
/// record is fresh in cache: its sort key and its counts in the summary. Two more
/// passes over 100k records of 400 bytes each cost a twentieth of the calculator.
struct Records {
    resources: Vec<ResourceRecord>,
    keys: Vec<ReportKey>,
    summary: Summary,
}

impl Records {
    fn with_capacity(n: usize) -> Records {
        Records {
            resources: Vec::with_capacity(n),
            keys: Vec::with_capacity(n),
            summary: Summary::default(),
        }
    }

    #[inline]
    fn push(&mut self, record: ResourceRecord) {
        self.keys
            .push(ReportKey::new(&record, self.resources.len()));
        count(&mut self.summary, &record);
        self.resources.push(record);
    }

    fn finish(self, overlaps: Vec<OverlapGroup>) -> Calculated {
        let Records {
            mut resources,
            keys,
            mut summary,
        } = self;
        summary.resources = resources.len();
        summary.overlap_groups = overlaps.len();
        summary.in_breach = summary.warning + summary.critical;
        sort_by_keys(&mut resources, keys);
        Calculated {
            resources,
            overlaps,
            summary,
        }
    }
}

fn applied(t: &Thresholds, source: ThresholdSource) -> AppliedThresholds {
    AppliedThresholds {
        warning_percent: t.warning_percent,
        critical_percent: t.critical_percent,
        min_free_addresses: t.min_free_addresses,
        source,
    }
}

fn percent(used: u128, total: u128) -> Option<f64> {
    (total > 0).then(|| round_percent(cidr::ratio(used, total) * 100.0))
}

/// A subnet's record, with its VPC block's managed state and IPAM's view of it. Takes
/// the subnet's strings and lists instead of copying them, and builds the record in one
/// piece at the end: at 100k subnets, moving ~230-byte subnets and ~420-byte records
/// through iterators and fix-ups was a tenth of the calculator.
fn subnet_record(
    s: &mut Subnet,
    base: &Thresholds,
    source: ThresholdSource,
    managed: Option<bool>,
    seen: Option<Box<IpamObservation>>,
) -> ResourceRecord {
    let (t, source, tag_warning) = base.with_tags(source, &s.tags);
    let name = s.tags.take(NAME_TAG);
    // Freed now, as the subnet would have been.
    drop(std::mem::take(&mut s.tags));
    let mut warnings = std::mem::take(&mut s.warnings);
    warnings.extend(tag_warning);

    let mut cidrs: Cidrs = s.ipv4_cidr.into_iter().collect();
    if !s.ipv6_cidrs.is_empty() {
        cidrs.extend_from_slice(&s.ipv6_cidrs);
    }

    let (mut family, mut unit, mut measure) = (Family::Ipv4, Unit::Address, Measure::None);
    let (mut total, mut usable, mut used, mut free) = (0, 0, 0, 0);
    let (mut utilization, mut status) = (None, Status::Ok);
    match s.ipv4_cidr {
        // IPv6-only (or unreadable) subnet: AWS reports no address usage for IPv6.
        None if !s.ipv6_cidrs.is_empty() => {
            (family, unit) = (Family::Ipv6, Unit::Slash64);
            total = s.ipv6_cidrs.iter().map(|n| cidr::size(n) / SLASH64).sum();
            usable = total;
        }
        None => {}
        Some(net) => {
            total = cidr::size(&net);
            usable = total.saturating_sub(AWS_RESERVED_PER_SUBNET);
            if let Some(available) = checked_available(s.available_ips, usable, &mut warnings) {
                measure = Measure::Addresses;
                free = available;
                used = usable - available;
                utilization = percent(used, usable);
                status = t.status(used, usable, Some(available));
            }
        }
    }
    // Only a subnet with an IPv4 CIDR has an observation (match_subnets).
    let ipam_observed = seen.map(|mut o| {
        o.disagrees = disagrees(o.ip_usage_percent, utilization);
        o
    });
    if let Some(o) = ipam_observed.as_ref().filter(|o| o.disagrees) {
        warnings.push(disagreement(None, o, utilization));
    }

    ResourceRecord {
        resource_type: ResourceType::Subnet,
        resource_id: std::mem::take(&mut s.id),
        name,
        account_id: std::mem::take(&mut s.account_id),
        region: std::mem::take(&mut s.region),
        vpc_id: Some(std::mem::take(&mut s.vpc_id)),
        availability_zone: Some(std::mem::take(&mut s.availability_zone)).filter(|z| !z.is_empty()),
        cidrs,
        address_family: family,
        managed,
        measure,
        unit,
        total,
        usable,
        used,
        free,
        utilization_percent: utilization,
        status,
        thresholds: applied(&t, source),
        largest_free_block: None,
        free_blocks: Vec::new(),
        cidr_blocks: Vec::new(),
        address_usage: None,
        pool: None,
        ipam_observed,
        warnings,
    }
}

/// AWS's `AvailableIpAddressCount`, made safe to compute with. Out-of-range values are
/// clamped and explained in `warnings` rather than trusted or dropped.
fn checked_available(raw: Option<i64>, usable: u128, warnings: &mut Vec<String>) -> Option<u128> {
    let Some(raw) = raw else {
        warnings.push("AWS returned no AvailableIpAddressCount; usage not computed".into());
        return None;
    };
    if raw < 0 {
        warnings.push(format!(
            "AvailableIpAddressCount {raw} is negative; counted as 0 free (subnet full)"
        ));
        return Some(0);
    }
    let raw = raw as u128;
    if raw > usable {
        warnings.push(format!(
            "AvailableIpAddressCount {raw} exceeds the {usable} usable addresses; counted as {usable}"
        ));
        return Some(usable);
    }
    Some(raw)
}

/// The warning for IPAM's figure and ours being far apart, after `prefix` (a VPC
/// block's CIDR). Built by hand in one allocation: through `format!` the numbers cost
/// ~3,000 instructions a warning (push_percent).
fn disagreement(prefix: Option<&IpNet>, seen: &IpamObservation, ours: Option<f64>) -> String {
    let mut text = String::with_capacity(112);
    if let Some(cidr) = prefix {
        cidr::push_cidr(&mut text, cidr);
        text.push_str(": ");
    }
    text.push_str("IPAM reports ");
    push_percent(&mut text, seen.ip_usage_percent.unwrap_or_default());
    text.push_str("% used where this run computed ");
    push_percent(&mut text, ours.unwrap_or_default());
    text.push_str("% (more than ");
    push_percent(&mut text, DISAGREEMENT_POINTS);
    text.push_str(" points apart)");
    text
}

/// Working space `vpc_record` reuses from one VPC to the next (10k VPCs, 10k times
/// fewer allocations).
#[derive(Default)]
struct VpcScratch {
    v4_subnets: Vec<IpNet>,
    v6_subnets: Vec<IpNet>,
    spans: Vec<(u128, u128)>,
    ignored: Vec<IpNet>,
}

fn vpc_record(
    vpc: &Vpc,
    subnets: &[&Subnet],
    base: &Thresholds,
    source: ThresholdSource,
    ipam: &mut IpamIndex,
    scratch: &mut VpcScratch,
) -> ResourceRecord {
    let (t, source, tag_warning) = base.with_tags(source, &vpc.tags);
    let mut warnings = vpc.warnings.clone();
    warnings.extend(tag_warning);

    let VpcScratch {
        v4_subnets,
        v6_subnets,
        spans,
        ignored,
    } = scratch;
    v4_subnets.clear();
    v4_subnets.extend(subnets.iter().filter_map(|s| s.ipv4_cidr));
    v6_subnets.clear();
    v6_subnets.extend(subnets.iter().flat_map(|s| s.ipv6_cidrs.iter().copied()));

    let mut blocks = Vec::with_capacity(vpc.ipv4_blocks.len() + vpc.ipv6_blocks.len());
    let mut free_blocks = Vec::new();
    let (mut total, mut allocated) = (0u128, 0u128);
    for block in &vpc.ipv4_blocks {
        let (usage, _) = block_usage(block, v4_subnets, spans, &mut free_blocks);
        total += usage.total;
        allocated += usage.allocated;
        blocks.push(usage);
    }
    // Subnets outside every IPv4 block would mean the inventory is inconsistent.
    for s in subnets {
        if let Some(net) = s.ipv4_cidr {
            if !vpc.ipv4_blocks.iter().any(|b| cidr::contains(b, &net)) {
                warnings.push(format!(
                    "subnet {} ({net}) lies outside the VPC's IPv4 CIDR blocks",
                    s.id
                ));
            }
        }
    }

    let mut status = t.status(allocated, total, Some(total - allocated));
    for block in &vpc.ipv6_blocks {
        ignored.clear();
        let (usage, _) = block_usage(block, v6_subnets, spans, ignored);
        status = status.max(t.status(usage.allocated, usage.total, None));
        blocks.push(usage);
    }

    for b in &mut blocks {
        (b.managed, b.ipam_pool_id) = ipam.managed(&vpc.id, &b.cidr);
        b.ipam_observed = ipam.observe(&vpc.id, &b.cidr, Some(b.allocation_percent));
        if let Some(o) = b.ipam_observed.as_ref().filter(|o| o.disagrees) {
            warnings.push(disagreement(Some(&b.cidr), o, Some(b.allocation_percent)));
        }
    }
    let managed = if blocks.iter().any(|b| b.managed == Some(false)) {
        Some(false)
    } else if blocks.iter().all(|b| b.managed == Some(true)) {
        Some(true)
    } else {
        None
    };

    let address_usage = subnet_address_usage(subnets);
    let mut cidrs = Cidrs::from_slice(&vpc.ipv4_blocks);
    cidrs.extend_from_slice(&vpc.ipv6_blocks);
    ResourceRecord {
        resource_type: ResourceType::Vpc,
        resource_id: vpc.id.clone(),
        name: name_tag(&vpc.tags).map(Into::into),
        account_id: vpc.account_id.clone(),
        region: vpc.region.clone(),
        vpc_id: Some(vpc.id.clone()),
        availability_zone: None,
        cidrs,
        address_family: Family::Ipv4,
        managed,
        measure: Measure::Allocation,
        unit: Unit::Address,
        total,
        usable: total,
        used: allocated,
        free: total - allocated,
        utilization_percent: percent(allocated, total),
        status,
        thresholds: applied(&t, source),
        largest_free_block: cidr::largest(&free_blocks),
        free_blocks,
        cidr_blocks: blocks,
        address_usage: Some(Box::new(address_usage)),
        pool: None,
        ipam_observed: None,
        warnings,
    }
}

/// A pool: allocation = space of its allocations (VPCs, child pools, custom) inside
/// its provisioned CIDRs; free space = provisioned minus allocations.
fn pool_record(pool: &IpamPool, base: &Thresholds, source: ThresholdSource) -> ResourceRecord {
    let (t, source, tag_warning) = base.with_tags(source, &pool.tags);
    let mut warnings = pool.warnings.clone();
    warnings.extend(tag_warning);

    let allocated: Vec<IpNet> = pool.allocations.iter().map(|a| a.cidr).collect();
    let mut free_blocks = Vec::new();
    let mut scratch = Vec::with_capacity(allocated.len());
    let mut blocks = Vec::with_capacity(pool.cidrs.len());
    // Summed in addresses, then converted, so IPv6 totals stay exact.
    let (mut total, mut used) = (0u128, 0u128);
    for c in &pool.cidrs {
        let (usage, covered) = block_usage(c, &allocated, &mut scratch, &mut free_blocks);
        total = total.saturating_add(cidr::size(c));
        used = used.saturating_add(covered);
        blocks.push(usage);
    }
    for a in &pool.allocations {
        if !pool.cidrs.iter().any(|c| cidr::contains(c, &a.cidr)) {
            warnings.push(format!(
                "allocation {} lies outside the pool's provisioned CIDRs",
                a.cidr
            ));
        }
    }
    let family = pool.cidrs.first().map(Family::of).unwrap_or(Family::Ipv4);
    let (unit, div) = match family {
        Family::Ipv4 => (Unit::Address, 1),
        Family::Ipv6 => (Unit::Slash64, SLASH64),
    };
    let free = total - used;
    let floor_free = (family == Family::Ipv4).then_some(free);

    ResourceRecord {
        resource_type: ResourceType::IpamPool,
        resource_id: pool.id.as_str().into(),
        name: name_tag(&pool.tags)
            .or(pool.description.as_deref())
            .map(Into::into),
        account_id: pool.account_id.as_str().into(),
        region: pool.locale.as_deref().unwrap_or(&pool.region).into(),
        vpc_id: None,
        availability_zone: None,
        cidrs: Cidrs::from_slice(&pool.cidrs),
        address_family: family,
        managed: Some(true),
        measure: Measure::Allocation,
        unit,
        total: total / div,
        usable: total / div,
        used: used / div,
        free: free / div,
        utilization_percent: percent(used, total),
        status: t.status(used, total, floor_free),
        thresholds: applied(&t, source),
        largest_free_block: cidr::largest(&free_blocks),
        free_blocks,
        cidr_blocks: blocks,
        address_usage: None,
        pool: Some(Box::new(PoolDetails {
            ipam_id: pool.ipam_id.clone(),
            scope_id: pool.scope_id.clone(),
            scope_type: pool.scope_type.clone(),
            parent_pool_id: pool.parent_pool_id.clone(),
            locale: pool.locale.clone(),
            depth: pool.depth,
            allocations: pool.allocations.len(),
        })),
        ipam_observed: None,
        warnings,
    }
}

/// Allocation of one CIDR block by the children inside it; appends its free blocks.
/// Returns the allocation in addresses too (the block's figures are in its unit).
/// `scratch` is reused across calls to save an allocation per block.
fn block_usage(
    block: &IpNet,
    children: &[IpNet],
    scratch: &mut Vec<(u128, u128)>,
    free_out: &mut Vec<IpNet>,
) -> (BlockUsage, u128) {
    let family = Family::of(block);
    let first_free = free_out.len();
    let inside = children.iter().filter(|c| cidr::contains(block, c));
    let allocated = cidr::split(block, inside, scratch, free_out);
    let total = cidr::size(block);
    let (unit, div) = match family {
        Family::Ipv4 => (Unit::Address, 1),
        Family::Ipv6 => (Unit::Slash64, SLASH64),
    };
    let usage = BlockUsage {
        cidr: *block,
        address_family: family,
        unit,
        total: total / div,
        allocated: allocated / div,
        free: (total - allocated) / div,
        allocation_percent: round_percent(cidr::ratio(allocated, total) * 100.0),
        largest_free_block: cidr::largest(&free_out[first_free..]),
        managed: None,
        ipam_pool_id: None,
        ipam_observed: None,
    };
    (usage, allocated)
}

fn subnet_address_usage(subnets: &[&Subnet]) -> AddressUsage {
    let (mut usable, mut used) = (0u128, 0u128);
    for s in subnets {
        let Some(net) = s.ipv4_cidr else { continue };
        let u = cidr::size(&net).saturating_sub(AWS_RESERVED_PER_SUBNET);
        let mut ignored = Vec::new();
        if let Some(avail) = checked_available(s.available_ips, u, &mut ignored) {
            usable += u;
            used += u - avail;
        }
    }
    AddressUsage {
        usable,
        used,
        free: usable - used,
        utilization_percent: percent(used, usable),
    }
}

/// Groups VPC CIDR blocks that share addresses across VPCs, accounts and regions.
/// CIDRs are prefix-aligned, so blocks sorted by start (outermost first) form groups
/// of consecutive items: O(n log n) and linear output even when thousands of default
/// VPCs share 172.31.0.0/16.
pub fn find_overlaps(vpcs: &[&Vpc]) -> Vec<OverlapGroup> {
    let items: Vec<(Family, u128, u128, IpNet, &Vpc)> = vpcs
        .iter()
        .flat_map(|v| {
            v.ipv4_blocks
                .iter()
                .chain(&v.ipv6_blocks)
                .map(move |b| (b, *v))
        })
        .map(|(b, v)| {
            let (s, e) = cidr::bounds(b);
            (Family::of(b), s, e, *b, v)
        })
        .collect();
    // Outermost first; alike blocks in input order. Unstable on small keys with the
    // position as the last one: the same order as a stable sort of the 64-byte items,
    // for a sixth fewer instructions in find_overlaps (18.3 M to 15.3 M at 10k VPCs).
    let mut order: Vec<(Family, u128, Reverse<u128>, u32)> = items
        .iter()
        .enumerate()
        .map(|(i, it)| (it.0, it.1, Reverse(it.2), i as u32))
        .collect();
    order.sort_unstable();
    let items: Vec<_> = order.iter().map(|o| items[o.3 as usize]).collect();

    let mut groups = Vec::new();
    let mut i = 0;
    while i < items.len() {
        let (family, _, end, outer, _) = items[i];
        let mut j = i + 1;
        while j < items.len() && items[j].0 == family && items[j].1 <= end {
            j += 1;
        }
        let group = &items[i..j];
        let distinct_vpcs: FxHashSet<(&str, &str)> = group
            .iter()
            .map(|g| (g.4.region.as_str(), g.4.id.as_str()))
            .collect();
        if distinct_vpcs.len() > 1 {
            groups.push(OverlapGroup {
                cidr: outer,
                members: group
                    .iter()
                    .map(|g| OverlapMember {
                        resource_id: g.4.id.clone(),
                        account_id: g.4.account_id.clone(),
                        region: g.4.region.clone(),
                        cidr: g.3,
                    })
                    .collect(),
            });
        }
        i = j;
    }
    groups
}

/// The report's order as a comparison: worst status first, then higher utilization
/// (unmeasured last), then resource id. `calculate` sorts by it, stably, through
/// [`sort_worst_first`]; this form is the definition that one is checked against.
pub fn worst_first(a: &ResourceRecord, b: &ResourceRecord) -> std::cmp::Ordering {
    b.status
        .cmp(&a.status)
        .then_with(|| {
            let (ua, ub) = (
                a.utilization_percent.unwrap_or(-1.0),
                b.utilization_percent.unwrap_or(-1.0),
            );
            ub.total_cmp(&ua)
        })
        .then_with(|| a.resource_id.cmp(&b.resource_id))
}

/// A stable sort by [`worst_first`] (as `calculate` sorts, with the keys made here).
#[cfg(test)]
fn sort_worst_first(resources: &mut [ResourceRecord]) {
    let keys = resources
        .iter()
        .enumerate()
        .map(|(i, r)| ReportKey::new(r, i))
        .collect();
    sort_by_keys(resources, keys);
}

/// A stable sort by [`worst_first`], given each record's key. Sorts the small keys,
/// then moves each record once: sorting the records themselves moved hundreds of
/// bytes per comparison.
fn sort_by_keys(resources: &mut [ResourceRecord], mut keys: Vec<ReportKey>) {
    let id = |at: u32| resources[at as usize].resource_id.as_str();
    let cmp = |a: &ReportKey, b: &ReportKey| {
        (a.status, a.utilization)
            .cmp(&(b.status, b.utilization))
            .then_with(|| cmp_ids((a.words, a.len), || id(a.at), (b.words, b.len), || id(b.at)))
            .then(a.at.cmp(&b.at))
    };
    let mut order: Vec<u32> = Vec::with_capacity(keys.len());
    if keys.iter().all(|k| k.rank != NO_RANK) {
        // Grouped by status and utilization first, so comparisons happen only inside a
        // group of equal (or nearly equal) figures.
        let (mut grouped, start) = group_by_rank(&keys, REPORT_RANKS, |k| k.rank as usize);
        let mut packed = Vec::new();
        for r in 0..REPORT_RANKS {
            let group = &mut grouped[start[r] as usize..start[r + 1] as usize];
            let alike = group.iter().all(|k| k.utilization == group[0].utilization);
            if alike {
                sort_by_id(group, &mut packed, id);
                order.extend(packed.iter().map(|&(_, low)| low as u32));
            } else {
                group.sort_unstable_by(cmp);
                order.extend(group.iter().map(|k| k.at));
            }
        }
    } else {
        keys.sort_unstable_by(cmp);
        order.extend(keys.iter().map(|k| k.at));
    }
    drop(keys);
    // Follow each cycle of the permutation; a visited slot points at itself.
    for start in 0..order.len() {
        let mut at = start;
        loop {
            let from = order[at] as usize;
            order[at] = at as u32;
            if from == start || from == at {
                break;
            }
            resources.swap(at, from);
            at = from;
        }
    }
}

/// Sorts one group of equal figures by id, then position, into `packed`; each entry
/// ends in `length << 32 | position`. The report's groups hold thousands of records
/// (small subnets share their figures), and comparing full keys through `cmp_ids` was
/// a sixth of the calculator, so ids are sorted as integers: when the group shares
/// its first id word (the usual case, `subnet-0`), as one u128 of the other two.
fn sort_by_id<'t>(
    group: &[ReportKey],
    packed: &mut Vec<(u128, u128)>,
    id: impl Fn(u32) -> &'t str,
) {
    let shared = group.iter().all(|k| k.words[0] == group[0].words[0]);
    let pack = |k: &ReportKey| {
        let [w0, w1, w2] = k.words.map(u128::from);
        let low = u128::from(k.len) << 32 | u128::from(k.at);
        match shared {
            true => (w1 << 64 | w2, low),
            false => (w0 << 64 | w1, w2 << 64 | low),
        }
    };
    packed.clear();
    packed.extend(group.iter().map(pack));
    if shared {
        packed.sort_unstable_by_key(|p| p.0);
    } else {
        packed.sort_unstable();
    }
    // Ids alike in their first 24 bytes now sit side by side: ordered by length, then
    // position, or by text, then position, when one is longer than 24 bytes (cmp_ids).
    let same_words =
        |a: &(u128, u128), b: &(u128, u128)| a.0 == b.0 && (shared || a.1 >> 64 == b.1 >> 64);
    let long = |p: &(u128, u128)| (p.1 >> 32) as u32 > 24;
    let mut i = 0;
    while i < packed.len() {
        let run = 1 + packed[i + 1..]
            .iter()
            .take_while(|p| same_words(&packed[i], p))
            .count();
        let tied = &mut packed[i..i + run];
        if run > 1 && tied.iter().any(long) {
            tied.sort_unstable_by(|a, b| {
                let (a, b) = (a.1 as u32, b.1 as u32);
                id(a).cmp(id(b)).then(a.cmp(&b))
            });
        } else if run > 1 {
            tied.sort_unstable_by_key(|p| p.1);
        }
        i += run;
    }
}

/// Utilization ranks: a hundredth of a point each from 100 % down to 0 %, then
/// unmeasured.
const UTILIZATION_RANKS: usize = 10_002;
/// Status ranks times utilization ranks.
const REPORT_RANKS: usize = 3 * UTILIZATION_RANKS;
/// A utilization outside 0-100 % (or not a number) has no rank; the keys are then
/// sorted without grouping.
const NO_RANK: u32 = u32::MAX;

/// A record's place in the report as integers, in 48 bytes: the id's text is read only
/// for ids over 24 bytes.
#[derive(Clone, Copy)]
struct ReportKey {
    status: Reverse<Status>,
    utilization: Reverse<i64>,
    words: [u64; 3],
    len: u32,
    /// Status and utilization as one group number that never decreases along the
    /// report's order (worst first); equal figures share it.
    rank: u32,
    at: u32,
}

impl ReportKey {
    fn new(r: &ResourceRecord, at: usize) -> ReportKey {
        let utilization = r.utilization_percent.unwrap_or(-1.0);
        let (words, len) = id_key(&r.resource_id);
        let status_rank = match r.status {
            Status::Critical => 0,
            Status::Warning => 1,
            Status::Ok => 2,
        };
        // Higher utilization first; -1 (unmeasured) last.
        let utilization_rank = if utilization == -1.0 {
            Some(UTILIZATION_RANKS - 1)
        } else if (0.0..=100.0).contains(&utilization) {
            Some(10_000 - (utilization * 100.0).round() as usize)
        } else {
            None
        };
        ReportKey {
            status: Reverse(r.status),
            utilization: Reverse(total_order_key(utilization)),
            words,
            len: len as u32,
            rank: utilization_rank
                .map_or(NO_RANK, |u| (status_rank * UTILIZATION_RANKS + u) as u32),
            at: at as u32,
        }
    }
}

/// An integer that orders like `f64::total_cmp`.
fn total_order_key(x: f64) -> i64 {
    let bits = x.to_bits() as i64;
    bits ^ ((((bits >> 63) as u64) >> 1) as i64)
}

/// Adds one record to the summary's counts (`Records::finish` fills in the totals).
fn count(s: &mut Summary, r: &ResourceRecord) {
    match r.resource_type {
        ResourceType::Vpc => {
            s.vpcs += 1;
            for b in &r.cidr_blocks {
                match b.managed {
                    Some(true) => s.managed_cidrs += 1,
                    Some(false) => s.unmanaged_cidrs += 1,
                    None => {}
                }
                s.ipam_disagreements +=
                    usize::from(b.ipam_observed.as_ref().is_some_and(|o| o.disagrees));
            }
        }
        ResourceType::Subnet => s.subnets += 1,
        ResourceType::IpamPool => s.ipam_pools += 1,
    }
    s.ipam_disagreements += usize::from(r.ipam_observed.as_ref().is_some_and(|o| o.disagrees));
    match r.status {
        Status::Ok => s.ok += 1,
        Status::Warning => s.warning += 1,
        Status::Critical => s.critical += 1,
    }
    if !r.warnings.is_empty() {
        s.resources_with_warnings += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::inventory::Tags;

    fn record(id: &str, status: Status, utilization: Option<f64>) -> ResourceRecord {
        let mut s = Subnet {
            id: id.into(),
            vpc_id: "vpc-1".into(),
            account_id: "111111111111".into(),
            region: "us-east-1".into(),
            availability_zone: "us-east-1a".into(),
            ipv4_cidr: Some("10.0.0.0/24".parse().expect("cidr")),
            ipv6_cidrs: Vec::new(),
            available_ips: Some(100),
            tags: Tags::new(),
            warnings: Vec::new(),
        };
        let mut r = subnet_record(
            &mut s,
            &Thresholds::default(),
            ThresholdSource::Config,
            None,
            None,
        );
        (r.status, r.utilization_percent) = (status, utilization);
        r
    }

    /// Records in a scrambled order, sorted by `sort_worst_first` and by a plain
    /// stable sort with `worst_first`: the same ids in the same order.
    fn check(utilizations: &[Option<f64>]) {
        check_ids(utilizations, |k| format!("subnet-{:03}", k % 40));
    }

    fn check_ids(utilizations: &[Option<f64>], id: impl Fn(usize) -> String) {
        let statuses = [Status::Ok, Status::Warning, Status::Critical];
        let mut records: Vec<ResourceRecord> = (0..300usize)
            .map(|i| {
                let k = (i * 113) % 300;
                let id = id(k);
                record(&id, statuses[k % 3], utilizations[k % utilizations.len()])
            })
            .collect();
        let mut want = records.clone();
        want.sort_by(worst_first);
        sort_worst_first(&mut records);
        let ids = |v: &[ResourceRecord]| -> Vec<(Status, String)> {
            v.iter()
                .map(|r| {
                    (
                        r.status,
                        format!("{}@{:?}", r.resource_id, r.utilization_percent),
                    )
                })
                .collect()
        };
        assert_eq!(ids(&records), ids(&want));
    }

    /// Figures of 0-100 % (and unmeasured) are grouped before comparing; -0.0 and
    /// 0.0, or 33.33 and 33.334, share a group and are still told apart.
    #[test]
    fn grouped_sort_gives_the_documented_order() {
        check(&[
            Some(0.0),
            Some(-0.0),
            None,
            Some(100.0),
            Some(33.33),
            Some(33.334),
            Some(0.01),
        ]);
    }

    /// Ids over 24 bytes that share their first 24 (or are a prefix of each other) are
    /// told apart by their whole text, as the ids of equal figures are sorted.
    #[test]
    fn long_ids_sharing_24_bytes_sort_by_their_text() {
        let shared = "ipam-pool-0123456789abcd";
        let tails = ["", "e", "ef", "e0", "f", "", "0", "ef"];
        check_ids(&[Some(50.0), Some(50.0), None], |k| {
            format!("{shared}{}", tails[k % tails.len()])
        });
        // Prefixes that differ within one group, with repeats of each id.
        let kinds = ["vpc-0", "subnet-0", "ipam-pool-0123456789abcdef0"];
        check_ids(&[Some(50.0)], |k| format!("{}{:03}", kinds[k % 3], k % 7));
        let longer = format!("{shared}e0f1");
        check_ids(&[Some(12.5)], |k| {
            format!("{}{}", &longer[..20 + k % 8], k % 3)
        });
    }

    /// Any other figure (none that the calculator makes) falls back to one sort.
    #[test]
    fn figures_outside_0_to_100_still_sort_in_order() {
        check(&[
            Some(150.0),
            Some(f64::NAN),
            Some(-5.0),
            None,
            Some(50.0),
            Some(f64::INFINITY),
        ]);
    }
}
