//! Allocation: how much of a CIDR block its children (subnets in a VPC block,
//! allocations in a pool CIDR) cover, and the free blocks left.

use crate::domain::cidr::{self, Family, Split};
use crate::domain::report::{round_percent, BlockUsage, Unit};
use ipnet::IpNet;

/// Addresses in one /64, the unit IPv6 figures are reported in.
const SLASH64: u128 = 1 << 64;

/// The unit a family's figures are reported in, and its size in addresses. IPv6 is
/// counted in /64s so figures stay readable and fit a JSON number.
pub fn reporting_unit(family: Family) -> (Unit, u128) {
    match family {
        Family::Ipv4 => (Unit::Address, 1),
        Family::Ipv6 => (Unit::Slash64, SLASH64),
    }
}

/// `used` of `total` as a percentage with two decimals; `None` when there is nothing
/// to measure.
pub fn percent(used: u128, total: u128) -> Option<f64> {
    (total > 0).then(|| round_percent(cidr::ratio(used, total) * 100.0))
}

/// One block's allocation by the children that lie wholly inside it, in the block's
/// reporting unit, and its split in addresses (covered space and free blocks).
pub fn block_usage(block: &IpNet, children: &[IpNet]) -> (BlockUsage, Split) {
    let inside: Vec<IpNet> = children
        .iter()
        .filter(|c| cidr::contains(block, c))
        .copied()
        .collect();
    let split = cidr::split(block, &inside);
    let total = cidr::size(block);
    let family = Family::of(block);
    let (unit, per_unit) = reporting_unit(family);
    let usage = BlockUsage {
        cidr: *block,
        address_family: family,
        unit,
        total: total / per_unit,
        allocated: split.covered / per_unit,
        free: (total - split.covered) / per_unit,
        allocation_percent: round_percent(cidr::ratio(split.covered, total) * 100.0),
        largest_free_block: cidr::largest(&split.free),
        managed: None,
        ipam_pool_id: None,
        ipam_observed: None,
    };
    (usage, split)
}
