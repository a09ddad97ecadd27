//! VPC CIDR blocks that share addresses across VPCs, accounts and regions, and
//! whether the VPCs can route to each other: only then is it the routing problem IPAM
//! exists to prevent.

use super::routing::RoutingDomains;
use super::suppress::{Suppressions, BY_ACCEPTED_OVERLAPS};
use crate::domain::cidr::{self, Family};
use crate::domain::inventory::{Scope, Vpc};
use crate::domain::report::{
    OverlapConflict, OverlapGroup, OverlapMember, OverlapRouting, Suppression,
};
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
                // Until classified: connected to nothing.
                routing: OverlapRouting::Isolated,
                suppressed: None,
                members: group.iter().map(|(b, v)| member(v, b)).collect(),
                conflicts: Vec::new(),
                change: None,
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
        routing_domain: None,
    }
}

/// Names each member's Transit Gateway domain and lists the conflicts: two members of
/// different VPCs that can route to each other and whose blocks overlap each other
/// (members of one group all lie in its outer block, but two inner ones may not
/// touch). A group whose every conflict is accepted is suppressed; a group without a
/// conflict whose members' connectivity was not all read is unknown.
pub fn classify(
    group: &mut OverlapGroup,
    domains: &RoutingDomains,
    unread: &[Scope],
    accepted: &Suppressions,
) {
    for m in &mut group.members {
        m.routing_domain = domains.of_vpc(&m.region, &m.resource_id).map(Into::into);
    }
    // Only connected members can conflict: thousands of default VPCs that share
    // 172.31.0.0/16 and connect to nothing cost one look each, not one per pair.
    let connected: Vec<&OverlapMember> = group
        .members
        .iter()
        .filter(|m| domains.connected(&m.region, &m.resource_id))
        .collect();
    let mut conflicts = Vec::new();
    for (i, a) in connected.iter().enumerate() {
        for b in &connected[i + 1..] {
            let same_vpc = (&a.region, &a.resource_id) == (&b.region, &b.resource_id);
            let touch = cidr::contains(&a.cidr, &b.cidr) || cidr::contains(&b.cidr, &a.cidr);
            if same_vpc || !touch {
                continue;
            }
            let Some(via) =
                domains.route_between((&a.region, &a.resource_id), (&b.region, &b.resource_id))
            else {
                continue;
            };
            let accepted_by = accepted
                .accepting((&a.resource_id, &a.cidr), (&b.resource_id, &b.cidr))
                .map(ToString::to_string);
            conflicts.push(OverlapConflict {
                vpc_ids: [a.resource_id.clone(), b.resource_id.clone()],
                cidrs: [a.cidr, b.cidr],
                via: via.into(),
                accepted_by,
            });
        }
    }
    let unknown = || {
        group.members.iter().any(|m| {
            unread
                .iter()
                .any(|s| s.account_id == m.account_id.as_str() && s.region == m.region.as_str())
        })
    };
    group.routing = if !conflicts.is_empty() {
        OverlapRouting::Conflict
    } else if unknown() {
        OverlapRouting::Unknown
    } else {
        OverlapRouting::Isolated
    };
    if !conflicts.is_empty() && conflicts.iter().all(|c| c.accepted_by.is_some()) {
        let mut entries: Vec<&str> = conflicts
            .iter()
            .filter_map(|c| c.accepted_by.as_deref())
            .collect();
        entries.sort_unstable();
        entries.dedup();
        group.suppressed = Some(Suppression {
            by: BY_ACCEPTED_OVERLAPS.into(),
            reason: format!("accepted by {}", entries.join(", ")),
        });
    }
    group.conflicts = conflicts;
}
