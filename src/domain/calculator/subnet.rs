//! Subnet records: addresses in use out of the addresses AWS lets a subnet hand out.

use super::allocation::reporting_unit;
use super::ipam::{disagreement_warning, disagrees};
use super::{allocation::percent, RunThresholds};
use crate::domain::addresses::MappedSubnet;
use crate::domain::cidr::{self, Family};
use crate::domain::inventory::{Subnet, Tags, NAME_TAG};
use crate::domain::report::{
    Addressing, IpamObservation, KindDetails, Measure, RecordSource, ResourceRecord, ResourceType,
    Unit,
};
use crate::domain::text::Text;
use crate::domain::thresholds::{
    free_prefixes_breach, Assessment, Rule, Status, TAG_MIN_FREE_PREFIXES,
};
use ipnet::IpNet;

/// Addresses AWS keeps in every IPv4 subnet: network, router, DNS, future use, broadcast.
pub const AWS_RESERVED_PER_SUBNET: u128 = 5;

/// The addresses a subnet of `cidr` can hand out: its size less AWS's reserved five.
pub fn usable_addresses(cidr: &IpNet) -> u128 {
    cidr::size(cidr).saturating_sub(AWS_RESERVED_PER_SUBNET)
}

/// AWS's `AvailableIpAddressCount`, made safe to compute with. Out-of-range values are
/// clamped and explained in `warnings` rather than trusted or dropped.
pub fn checked_available(
    raw: Option<i64>,
    usable: u128,
    warnings: &mut Vec<String>,
) -> Option<u128> {
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

/// What a subnet's figures measure and their values.
struct Figures {
    family: Family,
    unit: Unit,
    measure: Measure,
    total: u128,
    usable: u128,
    used: u128,
    /// Free addresses, known only when usage is measured.
    free: Option<u128>,
}

/// A subnet with an IPv4 CIDR is measured by its addresses in use. An IPv6-only subnet
/// shows its size in /64s and no usage: AWS reports none for IPv6.
fn measure(s: &Subnet, warnings: &mut Vec<String>) -> Figures {
    let unmeasured = |family, total| Figures {
        family,
        unit: reporting_unit(family).0,
        measure: Measure::None,
        total,
        usable: total,
        used: 0,
        free: None,
    };
    match s.ipv4_cidr {
        Some(net) => {
            let usable = usable_addresses(&net);
            let available = checked_available(s.available_ips, usable, warnings);
            Figures {
                family: Family::Ipv4,
                unit: Unit::Address,
                measure: available.map_or(Measure::None, |_| Measure::Addresses),
                total: cidr::size(&net),
                usable,
                used: available.map_or(0, |a| usable - a),
                free: available,
            }
        }
        None if !s.ipv6_cidrs.is_empty() => {
            let (_, per_unit) = reporting_unit(Family::Ipv6);
            let size = s.ipv6_cidrs.iter().map(|n| cidr::size(n) / per_unit);
            unmeasured(Family::Ipv6, size.fold(0, u128::saturating_add))
        }
        // No readable CIDR at all: the source's warning says why.
        None => unmeasured(Family::Ipv4, 0),
    }
}

/// What the calculator knows of a subnet besides its own listing.
pub struct SubnetContext {
    /// Whether an IPAM allocation covers the VPC block that holds it.
    pub managed: Option<bool>,
    /// IPAM's view of its IPv4 CIDR.
    pub ipam_observed: Option<IpamObservation>,
    /// The map its owner's address sweep made of it.
    pub mapped: Option<MappedSubnet>,
}

/// The /28 floor is about EKS: it applies to a subnet tagged for a cluster, or one
/// that carries its own `ipam-monitor:min-free-prefixes` tag. Elsewhere (a /28 for a
/// Transit Gateway attachment never has a free /28) it would be a permanent WARNING.
fn prefix_floor_applies(tags: &Tags, eks_clusters: &[Text]) -> bool {
    !eks_clusters.is_empty() || tags.get(TAG_MIN_FREE_PREFIXES).is_some()
}

/// A subnet's record.
pub fn subnet_record(mut s: Subnet, run: &RunThresholds, context: SubnetContext) -> ResourceRecord {
    let SubnetContext {
        managed,
        ipam_observed,
        mapped,
    } = context;
    let mut t = run.for_tags(&s.tags);
    let mut warnings = std::mem::take(&mut s.warnings);
    warnings.extend(t.tag_warning);

    let f = measure(&s, &mut warnings);
    let utilization = f.free.and_then(|_| percent(f.used, f.usable));
    let mut assessment = match f.free {
        Some(free) => t.thresholds.assess(f.used, f.usable, Some(free)),
        // AWS reports no IPv6 usage, and a /64 holds 2^64 addresses: nothing to fear.
        None if f.family == Family::Ipv6 => Assessment::ok(),
        // No count, or no readable CIDR: not measured, so not known to be fine.
        None if s.ipv4_cidr.is_some() => Assessment::unmeasured("AWS gave no usable address count"),
        None => Assessment::unmeasured("no readable CIDR"),
    };
    let ipam_observed = ipam_observed.map(|mut o| {
        o.disagrees = disagrees(o.ip_usage_percent, utilization);
        o
    });
    if let Some(o) = ipam_observed.as_ref().filter(|o| o.disagrees) {
        warnings.push(disagreement_warning(None, o, utilization));
    }

    let map_unread = mapped.as_ref().is_some_and(|m| m.map.is_none());
    let address_map = mapped.and_then(|m| {
        warnings.extend(m.warnings);
        m.map
    });
    let eks_clusters: Vec<Text> = s.tags.eks_clusters().map(Text::from).collect();
    let floor = t
        .thresholds
        .min_free_prefixes
        .filter(|_| prefix_floor_applies(&s.tags, &eks_clusters));
    t.applied.min_free_prefixes = floor;
    if let Some(map) = &address_map {
        if let Some(detail) = free_prefixes_breach(floor, map.free_prefixes) {
            assessment.raise(Status::Warning, Rule::MinFreePrefixes, detail);
        }
    }
    let addressing = (!eks_clusters.is_empty() || address_map.is_some() || map_unread).then(|| {
        Box::new(Addressing {
            eks_clusters,
            address_map,
            map_unread,
        })
    });

    let suppressed = run.suppression(&s.tags, &s.account_id);
    let mut cidrs = Vec::with_capacity(1 + s.ipv6_cidrs.len());
    cidrs.extend(s.ipv4_cidr);
    cidrs.extend(&s.ipv6_cidrs);
    ResourceRecord {
        resource_type: ResourceType::Subnet,
        name: s.tags.remove(NAME_TAG),
        resource_id: s.id,
        account_id: s.account_id,
        region: s.region,
        vpc_id: Some(s.vpc_id),
        availability_zone: Some(s.availability_zone).filter(|z| !z.is_empty()),
        cidrs,
        address_family: f.family,
        managed,
        measure: f.measure,
        unit: f.unit,
        total: f.total,
        usable: f.usable,
        used: f.used,
        free: f.free.unwrap_or(0),
        utilization_percent: utilization,
        status: assessment.status,
        reasons: assessment.reasons.into_boxed_slice(),
        suppressed,
        thresholds: t.applied,
        history: None,
        largest_free_block: None,
        free_blocks: Vec::new(),
        cidr_blocks: Vec::new(),
        kind: KindDetails::Subnet {
            source: RecordSource::Ec2,
            ipam_observed,
            addressing,
        },
        warnings,
    }
}
