//! IPAM pool records. For a pool, allocation is what runs out: the space of its
//! allocations (VPCs, child pools, custom reservations) inside its provisioned CIDRs.

use super::allocation::{block_usage, percent, reporting_unit};
use super::RunThresholds;
use crate::domain::cidr::{self, Family};
use crate::domain::inventory::{IpamPool, NAME_TAG};
use crate::domain::report::{
    KindDetails, Measure, PoolDetails, RecordSource, ResourceRecord, ResourceType,
};
use crate::domain::text::Text;
use crate::domain::thresholds::{free_block_breach, Rule, Status};
use ipnet::IpNet;

pub fn pool_record(pool: &IpamPool, run: &RunThresholds) -> ResourceRecord {
    let t = run.for_tags(&pool.tags);
    let mut warnings = pool.warnings.clone();
    warnings.extend(t.tag_warning);
    warnings.extend(allocations_outside(pool));

    let allocations: Vec<IpNet> = pool.allocations.iter().map(|a| a.cidr).collect();
    let mut blocks = Vec::new();
    let mut free_blocks = Vec::new();
    // Summed in addresses and converted at the end, so IPv6 totals stay exact.
    let (mut total, mut used) = (0u128, 0u128);
    for c in &pool.cidrs {
        let (usage, split) = block_usage(c, &allocations);
        total = total.saturating_add(cidr::size(c));
        used = used.saturating_add(split.covered);
        free_blocks.extend(split.free);
        blocks.push(usage);
    }
    let family = pool.cidrs.first().map(Family::of).unwrap_or(Family::Ipv4);
    let (unit, per_unit) = reporting_unit(family);
    let free = total - used;
    // A floor of free addresses, or of a free /N, means nothing for IPv6.
    let ipv4 = family == Family::Ipv4;
    let mut assessment = t.thresholds.assess(used, total, ipv4.then_some(free));
    let largest_free_block = cidr::largest(&free_blocks);
    if let Some(detail) =
        free_block_breach(t.thresholds.min_free_block, largest_free_block.as_ref())
    {
        if ipv4 && total > 0 {
            assessment.raise(Status::Warning, Rule::MinFreeBlock, detail);
        }
    }

    ResourceRecord {
        resource_type: ResourceType::IpamPool,
        resource_id: Text::from(&pool.id),
        name: pool
            .tags
            .get(NAME_TAG)
            .or(pool.description.as_deref())
            .map(Text::from),
        account_id: Text::from(&pool.account_id),
        region: Text::from(pool.locale.as_ref().unwrap_or(&pool.region)),
        vpc_id: None,
        availability_zone: None,
        cidrs: pool.cidrs.clone(),
        address_family: family,
        managed: Some(true),
        measure: Measure::Allocation,
        unit,
        total: total / per_unit,
        usable: total / per_unit,
        used: used / per_unit,
        free: free / per_unit,
        utilization_percent: percent(used, total),
        status: assessment.status,
        reasons: assessment.reasons.into_boxed_slice(),
        suppressed: run.suppression(&pool.tags, &pool.account_id),
        thresholds: t.applied,
        history: None,
        largest_free_block,
        free_blocks,
        cidr_blocks: blocks,
        kind: KindDetails::IpamPool {
            source: RecordSource::Ipam,
            pool: Box::new(PoolDetails {
                ipam_id: pool.ipam_id.clone(),
                scope_id: pool.scope_id.clone(),
                scope_type: pool.scope_type.clone(),
                parent_pool_id: pool.parent_pool_id.clone(),
                locale: pool.locale.clone(),
                depth: pool.depth,
                allocations: pool.allocations.len(),
            }),
        },
        warnings,
    }
}

fn allocations_outside(pool: &IpamPool) -> impl Iterator<Item = String> + '_ {
    pool.allocations
        .iter()
        .filter(|a| !pool.cidrs.iter().any(|c| cidr::contains(c, &a.cidr)))
        .map(|a| {
            format!(
                "allocation {} lies outside the pool's provisioned CIDRs",
                a.cidr
            )
        })
}
