//! Step 0: the VPCs and subnets IPAM knows that EC2 did not scan. An organization-wide
//! IPAM lists every VPC and subnet CIDR of every member account and operating region
//! with its own `IpUsage`; each such resource becomes an inventory item, measured by
//! the same rules as a scanned one:
//! - a subnet's address count is derived from IpUsage: used = round(IpUsage × usable),
//!   `AvailableIpAddressCount` = usable − used (no IpUsage yet: no count, UNKNOWN);
//! - a VPC's figures are its subnets', as for a scanned VPC; its allocation comes from
//!   its subnets' CIDRs, and IPAM's own figure for each block is shown beside it.
//!
//! EC2 stays the authority where it answered: a resource is taken from IPAM only when
//! EC2 did not list it and did not scan its owner's account in its region (IPAM may
//! still list what was deleted there since its last discovery).

use super::subnet::usable_addresses;
use super::{FastMap, FastSet};
use crate::domain::cidr::Family;
use crate::domain::inventory::{ResourceCidr, Scope, Subnet, Tags, Vpc, NAME_TAG};
use crate::domain::text::Text;

/// The items, and the `(region, id)` of each, to mark their records' source.
#[derive(Default)]
pub struct FromIpam {
    pub vpcs: Vec<Vpc>,
    pub subnets: Vec<Subnet>,
    pub keys: FastSet<(Text, Text)>,
}

/// One resource as IPAM lists it: every CIDR of it, with the IPv4 one's usage.
#[derive(Default)]
struct Listed {
    owner: Text,
    vpc_id: Option<Text>,
    name: Option<Text>,
    ipv4: Vec<ipnet::IpNet>,
    ipv6: Vec<ipnet::IpNet>,
    /// IpUsage of the first IPv4 CIDR (a subnet has one).
    ipv4_usage: Option<f64>,
}

/// The VPCs and subnets in `listed` that EC2 did not give: not in `vpcs`/`subnets`,
/// owned by an account EC2 did not scan in that region (`scanned`), and in one of
/// `regions` (`None`: any).
pub fn items_from_ipam(
    listed: &[ResourceCidr],
    vpcs: &[Vpc],
    subnets: &[Subnet],
    scanned: &[Scope],
    regions: Option<&[String]>,
) -> FromIpam {
    let known: FastSet<(&str, &str)> = vpcs
        .iter()
        .map(|v| (v.region.as_str(), v.id.as_str()))
        .chain(subnets.iter().map(|s| (s.region.as_str(), s.id.as_str())))
        .collect();
    let scanned: FastSet<(&str, &str)> = scanned
        .iter()
        .map(|s| (s.account_id.as_str(), s.region.as_str()))
        .collect();

    // Grouped by kind, region and id, in IPAM's order of first appearance.
    let mut order: Vec<(bool, Text, Text)> = Vec::new();
    let mut groups: FastMap<(bool, Text, Text), Listed> = FastMap::default();
    for r in listed {
        let is_vpc = match r.resource_type.as_str() {
            "vpc" => true,
            "subnet" => false,
            _ => continue,
        };
        let (Some(region), Some(owner)) = (&r.resource_region, &r.resource_owner) else {
            continue;
        };
        let wanted = regions.is_none_or(|list| list.iter().any(|w| w == region.as_str()));
        if !wanted
            || known.contains(&(region.as_str(), r.resource_id.as_str()))
            || scanned.contains(&(owner.as_str(), region.as_str()))
        {
            continue;
        }
        let key = (is_vpc, region.clone(), r.resource_id.clone());
        let entry = groups.entry(key.clone()).or_insert_with(|| {
            order.push(key);
            Listed {
                owner: owner.clone(),
                ..Listed::default()
            }
        });
        entry.vpc_id = entry.vpc_id.take().or_else(|| r.vpc_id.clone());
        entry.name = entry.name.take().or_else(|| r.name.clone());
        match Family::of(&r.cidr) {
            Family::Ipv4 if !entry.ipv4.contains(&r.cidr) => {
                if entry.ipv4.is_empty() {
                    entry.ipv4_usage = r.ip_usage;
                }
                entry.ipv4.push(r.cidr);
            }
            Family::Ipv6 if !entry.ipv6.contains(&r.cidr) => entry.ipv6.push(r.cidr),
            _ => {}
        }
    }

    let mut out = FromIpam::default();
    for key in order {
        let Some(mut l) = groups.remove(&key) else {
            continue;
        };
        let (is_vpc, region, id) = key;
        out.keys.insert((region.clone(), id.clone()));
        let mut tags = Tags::new();
        if let Some(name) = l.name.take() {
            tags.insert(NAME_TAG.into(), name);
        }
        if is_vpc {
            out.vpcs.push(Vpc {
                id,
                account_id: l.owner,
                region,
                is_default: false,
                ipv4_blocks: l.ipv4,
                ipv6_blocks: l.ipv6,
                tags,
                warnings: Vec::new(),
            });
        } else {
            out.subnets.push(subnet(id, region, l, tags));
        }
    }
    out
}

fn subnet(id: Text, region: Text, l: Listed, tags: Tags) -> Subnet {
    let ipv4 = l.ipv4.first().copied();
    let mut warnings = Vec::new();
    let available_ips = match (ipv4, l.ipv4_usage) {
        (Some(net), Some(usage)) => Some(available_from_usage(&net, usage)),
        (Some(_), None) => {
            warnings.push("IPAM reports no IpUsage for this subnet yet".to_string());
            None
        }
        (None, _) => None,
    };
    Subnet {
        id,
        vpc_id: l.vpc_id.unwrap_or_default(),
        account_id: l.owner,
        region,
        availability_zone: Text::default(),
        ipv4_cidr: ipv4,
        ipv6_cidrs: l.ipv6,
        available_ips,
        tags,
        warnings,
    }
}

/// `AvailableIpAddressCount` of the IPv4 subnet `net` that IPAM says is `usage`
/// (0...1) used: usable − round(usage × usable), usage clamped to 0...1.
pub fn available_from_usage(net: &ipnet::IpNet, usage: f64) -> i64 {
    // At most 2^32 addresses: exact in i64 and f64.
    let usable = usable_addresses(net).min(1 << 32) as i64;
    let usage = if usage.is_finite() {
        usage.clamp(0.0, 1.0)
    } else {
        0.0
    };
    usable - (usage * usable as f64).round() as i64
}
