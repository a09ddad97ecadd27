//! VPC records. A VPC has two figures: its *allocation*, the share of its CIDR space
//! covered by subnets, which gives its status; and its *address usage*, addresses in
//! use over usable addresses across its IPv4 subnets, reported beside it.

use super::allocation::{block_usage, percent};
use super::ipam::{disagreement_warning, IpamView};
use super::subnet::{checked_available, usable_addresses};
use super::RunThresholds;
use crate::domain::cidr::{self, Family};
use crate::domain::inventory::{Subnet, Vpc, NAME_TAG};
use crate::domain::report::{
    AddressUsage, BlockUsage, KindDetails, Measure, ResourceRecord, ResourceType, Unit,
};
use crate::domain::text::Text;
use ipnet::IpNet;

/// A VPC's record from its own subnets (those of its region and id).
pub fn vpc_record(
    vpc: &Vpc,
    subnets: &[&Subnet],
    run: &RunThresholds,
    ipam: &mut IpamView,
) -> ResourceRecord {
    let t = run.for_tags(&vpc.tags);
    let mut warnings = vpc.warnings.clone();
    warnings.extend(t.tag_warning);

    let v4: Vec<IpNet> = subnets.iter().filter_map(|s| s.ipv4_cidr).collect();
    let v6: Vec<IpNet> = subnets
        .iter()
        .flat_map(|s| s.ipv6_cidrs.iter().copied())
        .collect();
    let mut blocks = Vec::with_capacity(vpc.ipv4_blocks.len() + vpc.ipv6_blocks.len());
    let mut free_blocks = Vec::new();
    let (mut total, mut allocated) = (0u128, 0u128);
    for block in &vpc.ipv4_blocks {
        let (usage, split) = block_usage(block, &v4);
        // Saturating: the sums stay in range for IPv4 blocks, whatever a source hands in.
        total = total.saturating_add(cidr::size(block));
        allocated = allocated.saturating_add(split.covered);
        free_blocks.extend(split.free);
        blocks.push(usage);
    }
    warnings.extend(subnets_outside_blocks(vpc, subnets));

    // The IPv4 space as a whole, and each IPv6 block on its own (in /64s, no floor).
    let mut status = t
        .thresholds
        .status(allocated, total, Some(total - allocated));
    for block in &vpc.ipv6_blocks {
        let (usage, _) = block_usage(block, &v6);
        status = status.max(t.thresholds.status(usage.allocated, usage.total, None));
        blocks.push(usage);
    }

    for b in &mut blocks {
        let pool = ipam.managing_pool(&vpc.id, &b.cidr);
        b.managed = ipam.managed_by(pool);
        b.ipam_pool_id = pool.cloned();
        b.ipam_observed = ipam.vpc_block_observation(vpc, &b.cidr, b.allocation_percent);
        if let Some(seen) = b.ipam_observed.as_ref().filter(|o| o.disagrees) {
            let ours = Some(b.allocation_percent);
            warnings.push(disagreement_warning(Some(&b.cidr), seen, ours));
        }
    }

    ResourceRecord {
        resource_type: ResourceType::Vpc,
        resource_id: vpc.id.clone(),
        name: vpc.tags.get(NAME_TAG).map(Text::from),
        account_id: vpc.account_id.clone(),
        region: vpc.region.clone(),
        vpc_id: Some(vpc.id.clone()),
        availability_zone: None,
        cidrs: vpc
            .ipv4_blocks
            .iter()
            .chain(&vpc.ipv6_blocks)
            .copied()
            .collect(),
        address_family: Family::Ipv4,
        managed: managed_as_a_whole(&blocks),
        measure: Measure::Allocation,
        unit: Unit::Address,
        total,
        usable: total,
        used: allocated,
        free: total - allocated,
        utilization_percent: percent(allocated, total),
        status,
        thresholds: t.applied,
        largest_free_block: cidr::largest(&free_blocks),
        free_blocks,
        cidr_blocks: blocks,
        kind: KindDetails::Vpc {
            address_usage: address_usage(subnets),
        },
        warnings,
    }
}

/// Subnets outside every IPv4 block mean the inventory is inconsistent.
fn subnets_outside_blocks<'a>(
    vpc: &'a Vpc,
    subnets: &'a [&Subnet],
) -> impl Iterator<Item = String> + 'a {
    subnets.iter().filter_map(|s| {
        let net = s.ipv4_cidr?;
        let inside = vpc.ipv4_blocks.iter().any(|b| cidr::contains(b, &net));
        (!inside).then(|| {
            format!(
                "subnet {} ({net}) lies outside the VPC's IPv4 CIDR blocks",
                s.id
            )
        })
    })
}

/// Unmanaged if any block is; managed if every block is; otherwise unknown.
fn managed_as_a_whole(blocks: &[BlockUsage]) -> Option<bool> {
    if blocks.iter().any(|b| b.managed == Some(false)) {
        Some(false)
    } else if blocks.iter().all(|b| b.managed == Some(true)) {
        Some(true)
    } else {
        None
    }
}

/// Addresses used over usable across the subnets whose usage AWS reported.
fn address_usage(subnets: &[&Subnet]) -> AddressUsage {
    let (mut usable, mut used) = (0u128, 0u128);
    for s in subnets {
        let Some(net) = s.ipv4_cidr else { continue };
        let u = usable_addresses(&net);
        // The subnet's own record carries any warning about its count.
        if let Some(available) = checked_available(s.available_ips, u, &mut Vec::new()) {
            usable = usable.saturating_add(u);
            used = used.saturating_add(u - available);
        }
    }
    AddressUsage {
        usable,
        used,
        free: usable - used,
        utilization_percent: percent(used, usable),
    }
}
