//! VPC records. A VPC's status follows what runs out: the addresses in use across
//! its IPv4 subnets. Its *allocation*, the share of its CIDR space covered by
//! subnets, is a planning fact ("is there room for a new subnet?"): a VPC carved into
//! subnets on day one is full by allocation and fine by usage. Space alerts are
//! opt-in through the `min_free_block` rule.

use super::allocation::{block_usage, percent};
use super::ipam::{disagreement_warning, IpamView};
use super::subnet::{checked_available, usable_addresses};
use super::RunThresholds;
use crate::domain::cidr::{self, Family};
use crate::domain::inventory::{Subnet, Vpc, NAME_TAG};
use crate::domain::report::{
    BlockUsage, KindDetails, Measure, RecordSource, ResourceRecord, ResourceType, Unit,
    VpcAllocation,
};
use crate::domain::text::Text;
use crate::domain::thresholds::{free_block_breach, Assessment, Rule, Status};
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
    let (mut space, mut allocated) = (0u128, 0u128);
    for block in &vpc.ipv4_blocks {
        let (usage, split) = block_usage(block, &v4);
        // Saturating: the sums stay in range for IPv4 blocks, whatever a source hands in.
        space = space.saturating_add(cidr::size(block));
        allocated = allocated.saturating_add(split.covered);
        free_blocks.extend(split.free);
        blocks.push(usage);
    }
    // IPv6 blocks: allocation per block only; AWS reports no IPv6 usage.
    for block in &vpc.ipv6_blocks {
        blocks.push(block_usage(block, &v6).0);
    }
    warnings.extend(subnets_outside_blocks(vpc, subnets));

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

    let usage = address_usage(subnets);
    let no_cidr = vpc.ipv4_blocks.is_empty() && vpc.ipv6_blocks.is_empty();
    let mut assessment = if no_cidr {
        // The source's warning says why: nothing readable, so not known to be fine.
        Assessment::unmeasured("no readable CIDR")
    } else if usage.usable > 0 {
        let free = usage.usable - usage.used;
        t.thresholds.assess(usage.used, usage.usable, Some(free))
    } else if usage.unmeasured > 0 {
        // Subnets whose counts AWS did not give: not known to be fine.
        let n = usage.unmeasured;
        Assessment::unmeasured(format!(
            "none of its {n} IPv4 subnet(s) has an address count"
        ))
    } else {
        // No IPv4 subnet: nothing is in use, so nothing can run out.
        Assessment::ok()
    };
    let largest_free_block = cidr::largest(&free_blocks);
    if !vpc.ipv4_blocks.is_empty() {
        if let Some(detail) =
            free_block_breach(t.thresholds.min_free_block, largest_free_block.as_ref())
        {
            assessment.raise(Status::Warning, Rule::MinFreeBlock, detail);
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
        measure: if no_cidr || (usage.measured == 0 && usage.unmeasured > 0) {
            Measure::None
        } else {
            Measure::Addresses
        },
        unit: Unit::Address,
        total: usage.total,
        usable: usage.usable,
        used: usage.used,
        free: usage.usable - usage.used,
        utilization_percent: percent(usage.used, usage.usable),
        status: assessment.status,
        reasons: assessment.reasons.into_boxed_slice(),
        suppressed: run.suppression(&vpc.tags, &vpc.account_id),
        thresholds: t.applied,
        history: None,
        largest_free_block,
        free_blocks,
        cidr_blocks: blocks,
        kind: KindDetails::Vpc {
            source: RecordSource::Ec2,
            allocation: VpcAllocation {
                total: space,
                allocated,
                free: space - allocated,
                allocation_percent: percent(allocated, space),
            },
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

/// The addresses of a VPC's IPv4 subnets whose usage AWS reported.
struct AddressUsage {
    /// Subnet sizes, usable addresses (size less AWS's five) and addresses in use.
    total: u128,
    usable: u128,
    used: u128,
    /// IPv4 subnets counted, and those without a usable count.
    measured: usize,
    unmeasured: usize,
}

fn address_usage(subnets: &[&Subnet]) -> AddressUsage {
    let mut u = AddressUsage {
        total: 0,
        usable: 0,
        used: 0,
        measured: 0,
        unmeasured: 0,
    };
    for s in subnets {
        let Some(net) = s.ipv4_cidr else { continue };
        let usable = usable_addresses(&net);
        // The subnet's own record carries any warning about its count.
        match checked_available(s.available_ips, usable, &mut Vec::new()) {
            Some(available) => {
                u.total = u.total.saturating_add(cidr::size(&net));
                u.usable = u.usable.saturating_add(usable);
                u.used = u.used.saturating_add(usable - available);
                u.measured += 1;
            }
            None => u.unmeasured += 1,
        }
    }
    u
}
