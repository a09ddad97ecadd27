//! VPC CIDR blocks that share addresses across VPCs, accounts and regions: the
//! routing problem IPAM exists to prevent.

use crate::domain::cidr::{self, Family};
use crate::domain::inventory::Vpc;
use crate::domain::report::{OverlapGroup, OverlapMember};
use ipnet::IpNet;
use std::cmp::Reverse;
use std::collections::HashSet;

/// Groups the VPC blocks that overlap a block of another VPC. CIDRs are aligned, so two
/// blocks overlap exactly when one contains the other: sorted by first address,
/// outermost first, the blocks of one group come one after another. Sorting makes
/// this O(n log n) even when thousands of default VPCs share 172.31.0.0/16.
pub fn find_overlaps(vpcs: &[Vpc]) -> Vec<OverlapGroup> {
    let mut blocks: Vec<(&IpNet, &Vpc)> = vpcs
        .iter()
        .flat_map(|v| {
            v.ipv4_blocks
                .iter()
                .chain(&v.ipv6_blocks)
                .map(move |b| (b, v))
        })
        .collect();
    // Stable: alike blocks stay in inventory order.
    blocks.sort_by_key(|(b, _)| {
        let (first, last) = cidr::bounds(b);
        (Family::of(b), first, Reverse(last))
    });

    let mut groups = Vec::new();
    let mut rest = blocks.as_slice();
    while let Some(&(outer, _)) = rest.first() {
        let inside = rest
            .iter()
            .take_while(|(b, _)| cidr::contains(outer, b))
            .count();
        let (group, after) = rest.split_at(inside);
        if spans_several_vpcs(group) {
            groups.push(OverlapGroup {
                cidr: *outer,
                members: group.iter().map(|(b, v)| member(v, b)).collect(),
            });
        }
        rest = after;
    }
    groups
}

/// A VPC's blocks overlapping each other is not a conflict.
fn spans_several_vpcs(group: &[(&IpNet, &Vpc)]) -> bool {
    let vpcs: HashSet<(&str, &str)> = group
        .iter()
        .map(|(_, v)| (v.region.as_str(), v.id.as_str()))
        .collect();
    vpcs.len() > 1
}

fn member(vpc: &Vpc, block: &IpNet) -> OverlapMember {
    OverlapMember {
        resource_id: vpc.id.clone(),
        account_id: vpc.account_id.clone(),
        region: vpc.region.clone(),
        cidr: *block,
    }
}
