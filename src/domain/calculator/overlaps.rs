//! VPC CIDR blocks that share addresses across VPCs, accounts and regions, and
//! whether the VPCs can route to each other: only then is it the routing problem IPAM
//! exists to prevent.

use super::routing::RoutingDomains;
use super::suppress::{Suppressions, BY_ACCEPTED_OVERLAPS};
use crate::domain::cidr::{self, Family};
use crate::domain::inventory::{Scope, Vpc};
use crate::domain::report::{OverlapGroup, OverlapMember, OverlapRouting, Suppression};
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

/// Names each member's routing domain and says whether the group is a conflict: two
/// members of different VPCs in one domain whose blocks overlap each other (members of
/// one group all lie in its outer block, but two inner ones may not touch). A conflict
/// whose every overlapping pair is accepted is suppressed; a group without a conflict
/// whose members' connectivity was not all read is unknown.
pub fn classify(
    group: &mut OverlapGroup,
    domains: &RoutingDomains,
    unread: &[Scope],
    accepted: &Suppressions,
) {
    for m in &mut group.members {
        m.routing_domain = domains.of_vpc(&m.region, &m.resource_id).map(Into::into);
    }
    let mut conflict = false;
    let mut accepting = Vec::new();
    let members = &group.members;
    for (i, a) in members.iter().enumerate() {
        let Some(domain) = &a.routing_domain else {
            continue;
        };
        for b in &members[i + 1..] {
            let same_domain = b.routing_domain.as_ref() == Some(domain);
            let other_vpc = (a.region.as_str(), a.resource_id.as_str())
                != (b.region.as_str(), b.resource_id.as_str());
            let touch = cidr::contains(&a.cidr, &b.cidr) || cidr::contains(&b.cidr, &a.cidr);
            if !(same_domain && other_vpc && touch) {
                continue;
            }
            conflict = true;
            match accepted.accepting((&a.resource_id, &a.cidr), (&b.resource_id, &b.cidr)) {
                Some(entry) => accepting.push(entry.to_string()),
                None => {
                    // One pair nobody accepted makes the group alert: no need to look on.
                    group.routing = OverlapRouting::Conflict;
                    return;
                }
            }
        }
    }
    let unknown = || {
        group.members.iter().any(|m| {
            unread
                .iter()
                .any(|s| s.account_id == m.account_id.as_str() && s.region == m.region.as_str())
        })
    };
    group.routing = if conflict {
        accepting.sort();
        accepting.dedup();
        group.suppressed = Some(Suppression {
            by: BY_ACCEPTED_OVERLAPS.into(),
            reason: format!("accepted by {}", accepting.join(", ")),
        });
        OverlapRouting::Conflict
    } else if unknown() {
        OverlapRouting::Unknown
    } else {
        OverlapRouting::Isolated
    };
}
