//! The usage calculator: pure and synchronous, no I/O, no clock, no SDK. Turns an
//! [`Inventory`] into one record per resource, the overlap groups and the counts, in
//! the order a reader thinks about them:
//!
//! 1. a resource shared through AWS RAM counts once ([`shared`]);
//! 2. subnets are matched to their VPC, and every CIDR to what IPAM knows of it
//!    ([`ipam`]);
//! 3. each kind of record is measured and its thresholds applied ([`subnet`],
//!    [`vpc`], [`pool`]); a subnet its owner's sweep mapped brings its address map
//!    ([`crate::domain::addresses`], made by the source as each scope returns);
//! 4. VPC CIDRs that share addresses are grouped, and each group is a conflict only
//!    when its VPCs can route to each other ([`overlaps`], [`routing`]);
//! 5. what the team acknowledged leaves the alert ([`suppress`]);
//! 6. the records are sorted worst first ([`order`], run by its fast twin in
//!    [`crate::domain::fast`]), counted ([`summarize`]) and summed up per EKS
//!    cluster and zone ([`eks`]);
//! 7. when the run has a memory, [`remember`] compares each record with the last run's
//!    state: hysteresis, the growth trend and forecast ([`trend`]), and what changed
//!    since the last alert ([`history`]); then ranks and counts again.

mod allocation;
mod eks;
mod history;
mod ipam;
mod ipam_only;
mod order;
mod overlaps;
mod pool;
mod routing;
mod shared;
mod subnet;
mod suppress;
mod trend;
mod vpc;

use crate::domain::addresses::MappedSubnet;
use crate::domain::fast;
use crate::domain::inventory::{Inventory, Subnet, Tags, Vpc};
pub use crate::domain::report::Calculated;
use crate::domain::report::{
    AppliedThresholds, OverlapGroup, RecordSource, ResourceRecord, ResourceType, Summary,
    Suppression,
};
use crate::domain::text::Text;
use crate::domain::thresholds::{Status, ThresholdSource, Thresholds};
use rustc_hash::FxBuildHasher;
use std::collections::{HashMap, HashSet};

pub use history::{days_text, mark_told, remember, HistoryRules, RunMark};
pub use ipam::DISAGREEMENT_POINTS;
pub use ipam_only::available_from_usage;
pub use order::{sort_worst_first, worst_first};
pub use overlaps::find_overlaps;
pub use subnet::{usable_addresses, AWS_RESERVED_PER_SUBNET};
pub use suppress::{AcceptedOverlap, Suppressions};
pub use trend::{trend, Trend};

/// [`calculate_with`] nothing acknowledged.
pub fn calculate(inv: Inventory, thresholds: &Thresholds, source: ThresholdSource) -> Calculated {
    calculate_with(inv, thresholds, source, &Suppressions::default())
}

/// Consumes the inventory: each subnet's record takes over its strings.
pub fn calculate_with(
    inv: Inventory,
    thresholds: &Thresholds,
    source: ThresholdSource,
    suppressions: &Suppressions,
) -> Calculated {
    let run = RunThresholds {
        thresholds: *thresholds,
        source,
        suppressions,
    };
    let ipam_complete = !inv.ipam_incomplete();
    let Inventory {
        mut vpcs,
        mut subnets,
        pools,
        resource_cidrs,
        links,
        connectivity_unread,
        subnet_maps,
        scopes_scanned,
        ipam_records,
        ipam_record_regions,
        ..
    } = inv;

    // What IPAM knows and EC2 did not scan joins the inventory, to be measured alike.
    let from_ipam = if ipam_records {
        let found = ipam_only::items_from_ipam(
            &resource_cidrs,
            &vpcs,
            &subnets,
            &scopes_scanned,
            ipam_record_regions.as_deref(),
        );
        vpcs.extend(found.vpcs);
        subnets.extend(found.subnets);
        found.keys
    } else {
        FastSet::default()
    };

    // Allocations count from every copy of a shared pool; the records from the first.
    let mut ipam = ipam::IpamView::new(&pools, resource_cidrs, ipam_complete);
    let vpcs = shared::first_copies(vpcs, shared::vpc_key);
    let subnets = shared::first_copies(subnets, shared::subnet_key);
    let pools = shared::first_copies(pools, shared::pool_key);

    // Owned, so that each map moves into its record rather than being copied.
    let mut maps: FastMap<(Text, Text), MappedSubnet> = subnet_maps
        .into_iter()
        .map(|(region, m)| ((region, m.subnet_id.clone()), m))
        .collect();
    let vpc_index = index_vpcs(&vpcs);
    let mut resources = Vec::with_capacity(vpcs.len() + subnets.len() + pools.len());
    for (vpc, its_subnets) in vpcs
        .iter()
        .zip(subnets_by_vpc(&vpc_index, vpcs.len(), &subnets))
    {
        resources.push(vpc::vpc_record(vpc, &its_subnets, &run, &mut ipam));
    }
    for s in subnets {
        let vpc = vpc_index.get(&subnet_vpc_key(&s)).map(|&i| &vpcs[i]);
        let context = subnet::SubnetContext {
            managed: ipam.subnet_managed(&s, vpc),
            ipam_observed: ipam.subnet_observation(&s),
            mapped: maps.remove(&(s.region.clone(), s.id.clone())),
        };
        resources.push(subnet::subnet_record(s, &run, context));
    }
    for pool in &pools {
        resources.push(pool::pool_record(pool, &run));
    }

    let domains = routing::RoutingDomains::new(&links);
    let mut overlaps = find_overlaps(&vpcs);
    for group in &mut overlaps {
        overlaps::classify(group, &domains, &connectivity_unread, suppressions);
    }
    if !from_ipam.is_empty() {
        for r in resources
            .iter_mut()
            .filter(|r| r.resource_type != ResourceType::IpamPool)
        {
            if from_ipam.contains(&(r.region.clone(), r.resource_id.clone())) {
                r.set_source(RecordSource::Ipam);
            }
        }
    }
    let mut calculated = Calculated {
        resources,
        overlaps,
        summary: Summary::default(),
        history: None,
        eks_clusters: Vec::new(),
    };
    rank_and_count(&mut calculated);
    calculated
}

/// Sorts the records worst first, counts them and sums up the EKS clusters; again
/// after [`remember`] changes statuses.
fn rank_and_count(calculated: &mut Calculated) {
    fast::report_order::sort_worst_first(&mut calculated.resources);
    calculated.summary = summarize(&calculated.resources, &calculated.overlaps);
    calculated.eks_clusters = eks::eks_clusters(&calculated.resources);
}

/// The run's thresholds and where they came from (a resource's tags may override
/// them), and what the run acknowledges.
pub(crate) struct RunThresholds<'a> {
    thresholds: Thresholds,
    source: ThresholdSource,
    suppressions: &'a Suppressions,
}

/// The thresholds that apply to one resource.
pub(crate) struct ResourceThresholds {
    thresholds: Thresholds,
    applied: AppliedThresholds,
    /// Why the resource's own threshold tags were not used, when they were not.
    tag_warning: Option<String>,
}

impl RunThresholds<'_> {
    /// Whether a resource with these tags in this account is acknowledged.
    fn suppression(&self, tags: &Tags, account_id: &str) -> Option<Box<Suppression>> {
        self.suppressions.resource(tags, account_id).map(Box::new)
    }

    fn for_tags(&self, tags: &Tags) -> ResourceThresholds {
        let (t, source, tag_warning) = self.thresholds.with_tags(self.source, tags);
        ResourceThresholds {
            thresholds: t,
            applied: AppliedThresholds {
                warning_percent: t.warning_percent,
                critical_percent: t.critical_percent,
                min_free_addresses: t.min_free_addresses,
                min_free_block: t.min_free_block,
                // Only where the /28 floor applies: set by the subnet's record.
                min_free_prefixes: None,
                source,
            },
            tag_warning,
        }
    }
}

/// The calculator's maps and sets: keyed by AWS's own ids, which no caller chooses to
/// collide, so a fast non-keyed hash is safe (SipHash was a fifth of the run).
type FastMap<K, V> = HashMap<K, V, FxBuildHasher>;
type FastSet<T> = HashSet<T, FxBuildHasher>;

/// A VPC is known by its region and id: the same id in two regions is two VPCs.
type VpcKey<'a> = (&'a str, &'a str);

/// A VPC listed without an id is indexed under none: no subnet can name it.
fn index_vpcs(vpcs: &[Vpc]) -> FastMap<VpcKey<'_>, usize> {
    vpcs.iter()
        .enumerate()
        .filter(|(_, v)| !v.id.is_empty())
        .map(|(i, v)| ((v.region.as_str(), v.id.as_str()), i))
        .collect()
}

fn subnet_vpc_key(s: &Subnet) -> VpcKey<'_> {
    (s.region.as_str(), s.vpc_id.as_str())
}

/// Each VPC's subnets in inventory order (`vpcs[i]`'s are at `i`). A subnet whose VPC
/// was not listed belongs to none.
fn subnets_by_vpc<'s>(
    vpc_index: &FastMap<VpcKey<'_>, usize>,
    vpcs: usize,
    subnets: &'s [Subnet],
) -> Vec<Vec<&'s Subnet>> {
    let mut groups = vec![Vec::new(); vpcs];
    for s in subnets {
        if let Some(&i) = vpc_index.get(&subnet_vpc_key(s)) {
            groups[i].push(s);
        }
    }
    groups
}

/// The report's counts (the run adds its scopes and errors).
fn summarize(resources: &[ResourceRecord], overlaps: &[OverlapGroup]) -> Summary {
    let mut s = Summary {
        resources: resources.len(),
        overlap_groups: overlaps.len(),
        overlap_conflicts: overlaps.iter().filter(|g| g.alerts()).count(),
        ..Summary::default()
    };
    for r in resources {
        match r.resource_type {
            ResourceType::Vpc => s.vpcs += 1,
            ResourceType::Subnet => s.subnets += 1,
            ResourceType::IpamPool => s.ipam_pools += 1,
        }
        for b in &r.cidr_blocks {
            match b.managed {
                Some(true) => s.managed_cidrs += 1,
                Some(false) => s.unmanaged_cidrs += 1,
                None => {}
            }
        }
        let observations = r.cidr_blocks.iter().map(|b| b.ipam_observed.as_ref());
        s.ipam_disagreements += std::iter::once(r.ipam_observed())
            .chain(observations)
            .filter(|o| o.is_some_and(|o| o.disagrees))
            .count();
        match r.status {
            _ if r.suppressed.is_some() => s.suppressed += 1,
            Status::Ok => s.ok += 1,
            Status::Unknown => s.unknown += 1,
            Status::Warning => s.warning += 1,
            Status::Critical => s.critical += 1,
        }
        s.resources_with_warnings += usize::from(!r.warnings.is_empty());
    }
    s.in_breach = s.warning + s.critical;
    s
}
