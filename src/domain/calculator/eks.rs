//! The EKS view: each cluster's subnets by availability zone. A cluster spreads its
//! nodes and pods over its zones, so it fails when one zone's subnets run out of
//! addresses or /28 blocks, however much room the other zones have.

use crate::domain::cidr::Family;
use crate::domain::report::{EksCluster, EksZone, ResourceRecord};
use crate::domain::text::Text;
use crate::domain::thresholds::Status;
use std::collections::BTreeMap;

/// The clusters the subnet records are tagged for, in account, region and cluster
/// order, each with its zones in zone order.
pub fn eks_clusters(resources: &[ResourceRecord]) -> Vec<EksCluster> {
    let mut clusters: BTreeMap<(&Text, &Text, &Text), BTreeMap<&str, EksZone>> = BTreeMap::new();
    for r in resources {
        for cluster in r.eks_clusters() {
            let zone_name = r.availability_zone.as_deref().unwrap_or_default();
            let zones = clusters
                .entry((&r.account_id, &r.region, cluster))
                .or_default();
            let zone = zones.entry(zone_name).or_insert_with(|| EksZone {
                availability_zone: zone_name.into(),
                subnets: 0,
                free_addresses: 0,
                free_prefixes: Some(0),
                detached_interfaces: 0,
                status: Status::Ok,
            });
            add_subnet(zone, r);
        }
    }
    clusters
        .into_iter()
        .map(|((account_id, region, cluster), zones)| {
            let zones: Vec<EksZone> = zones.into_values().collect();
            EksCluster {
                cluster: cluster.clone(),
                account_id: account_id.clone(),
                region: region.clone(),
                status: zones.iter().map(|z| z.status).max().unwrap_or(Status::Ok),
                zones,
            }
        })
        .collect()
}

/// Adds one subnet's figures to its zone. A suppressed subnet's room still counts
/// (the cluster uses it either way); its status does not, as in the alert.
fn add_subnet(zone: &mut EksZone, r: &ResourceRecord) {
    zone.subnets += 1;
    if r.address_family == Family::Ipv4 {
        zone.free_addresses = zone.free_addresses.saturating_add(r.free);
    }
    let map = r.address_map();
    zone.free_prefixes = match (zone.free_prefixes, map) {
        (Some(sum), Some(m)) => Some(sum.saturating_add(m.free_prefixes)),
        // An IPv6-only subnet has no /28s to count, and no map: it leaves the sum.
        (sum, None) if r.address_family != Family::Ipv4 => sum,
        _ => None,
    };
    if let Some(m) = map {
        zone.detached_interfaces = zone
            .detached_interfaces
            .saturating_add(m.detached.interfaces);
    }
    if r.suppressed.is_none() {
        zone.status = zone.status.max(r.status);
    }
}
