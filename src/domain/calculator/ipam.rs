//! What IPAM knows, as the records need it: which VPC blocks an allocation manages,
//! and IPAM's own figures for each VPC block and subnet, compared with ours.

use crate::domain::cidr;
use crate::domain::inventory::{IpamPool, ResourceCidr, Subnet, Vpc};
use crate::domain::report::{round_percent, IpamObservation};
use crate::domain::text::Text;
use ipnet::IpNet;
use std::collections::HashMap;

/// IPAM's usage and ours may differ this much (percentage points) before it is flagged:
/// IPAM samples usage on its own schedule, so small drift is normal.
pub const DISAGREEMENT_POINTS: f64 = 10.0;

pub struct IpamView {
    /// VPC id -> the CIDRs IPAM allocated to that VPC, with the pool of each.
    vpc_allocations: HashMap<Text, Vec<(IpNet, Text)>>,
    /// VPC id -> IPAM's figures for each of its CIDR blocks.
    vpc_cidrs: HashMap<Text, Vec<Seen>>,
    /// Subnet id -> IPAM's figures for its CIDRs.
    subnet_cidrs: HashMap<Text, Vec<Seen>>,
    /// Every IPAM was read in full: a block without an allocation is then unmanaged,
    /// not unknown.
    complete: bool,
}

/// IPAM's figures for one resource CIDR, until a record shows them: each is shown on
/// one record only, the first that matches.
struct Seen {
    cidr: IpNet,
    /// The resource's region when IPAM names it: the same id and CIDR in another
    /// region is another resource.
    region: Option<Text>,
    observation: Option<IpamObservation>,
}

impl Seen {
    fn take(&mut self, cidr: &IpNet, region: &str) -> Option<IpamObservation> {
        let same_region = self.region.as_ref().is_none_or(|r| r == region);
        if self.cidr == *cidr && same_region {
            self.observation.take()
        } else {
            None
        }
    }
}

impl IpamView {
    /// `pools` with every copy of a shared pool, so no allocation is missed.
    pub fn new(pools: &[IpamPool], resource_cidrs: Vec<ResourceCidr>, complete: bool) -> IpamView {
        let mut vpc_allocations: HashMap<Text, Vec<(IpNet, Text)>> = HashMap::new();
        for pool in pools {
            for a in pool.allocations.iter().filter(|a| a.resource_type == "vpc") {
                if let Some(vpc_id) = &a.resource_id {
                    let allocations = vpc_allocations.entry(vpc_id.clone()).or_default();
                    allocations.push((a.cidr, Text::from(&pool.id)));
                }
            }
        }
        let (mut vpc_cidrs, mut subnet_cidrs) = (HashMap::new(), HashMap::new());
        for r in resource_cidrs {
            let by_id: &mut HashMap<Text, Vec<Seen>> = match r.resource_type.as_str() {
                "vpc" => &mut vpc_cidrs,
                _ => &mut subnet_cidrs,
            };
            let seen = Seen {
                cidr: r.cidr,
                region: r.resource_region,
                observation: Some(IpamObservation {
                    ipam_pool_id: r.pool_id,
                    ip_usage_percent: r.ip_usage.map(|u| round_percent(u * 100.0)),
                    compliance_status: r.compliance_status,
                    overlap_status: r.overlap_status,
                    management_state: r.management_state,
                    disagrees: false,
                }),
            };
            by_id.entry(r.resource_id).or_default().push(seen);
        }
        IpamView {
            vpc_allocations,
            vpc_cidrs,
            subnet_cidrs,
            complete,
        }
    }

    /// A VPC's CIDR block is managed when an IPAM allocation to that VPC covers it;
    /// the pool of that allocation comes along. Without one the block is unmanaged, or
    /// unknown (`None`) when some IPAM could not be read in full.
    pub fn managed(&self, vpc_id: &str, block: &IpNet) -> (Option<bool>, Option<Text>) {
        let allocation = self
            .vpc_allocations
            .get(vpc_id)
            .and_then(|allocations| allocations.iter().find(|(c, _)| cidr::contains(c, block)));
        match allocation {
            Some((_, pool_id)) => (Some(true), Some(pool_id.clone())),
            None if self.complete => (Some(false), None),
            None => (None, None),
        }
    }

    /// A subnet is managed as the VPC block that holds its IPv4 CIDR is; unknown
    /// without one (IPv6-only, or its VPC not listed).
    pub fn subnet_managed(&self, subnet: &Subnet, vpc: Option<&Vpc>) -> Option<bool> {
        let (net, vpc) = (subnet.ipv4_cidr?, vpc?);
        let block = vpc.ipv4_blocks.iter().find(|b| cidr::contains(b, &net))?;
        self.managed(&vpc.id, block).0
    }

    /// IPAM's figures for one of a VPC's blocks, compared with our `allocation_percent`.
    pub fn vpc_block_observation(
        &mut self,
        vpc: &Vpc,
        block: &IpNet,
        allocation_percent: f64,
    ) -> Option<IpamObservation> {
        let mut seen = take(&mut self.vpc_cidrs, &vpc.id, block, &vpc.region)?;
        seen.disagrees = disagrees(seen.ip_usage_percent, Some(allocation_percent));
        Some(seen)
    }

    /// IPAM's figures for a subnet's IPv4 CIDR. IPAM tracks no usage of a subnet's
    /// IPv6 CIDRs, so an IPv6-only subnet has none. The caller compares them with its
    /// own figure.
    pub fn subnet_observation(&mut self, subnet: &Subnet) -> Option<IpamObservation> {
        let net = subnet.ipv4_cidr?;
        take(&mut self.subnet_cidrs, &subnet.id, &net, &subnet.region)
    }
}

/// The first of IPAM's figures for `id` and `cidr` in `region` that no record has
/// shown yet.
fn take(
    by_id: &mut HashMap<Text, Vec<Seen>>,
    id: &str,
    cidr: &IpNet,
    region: &str,
) -> Option<IpamObservation> {
    let candidates = by_id.get_mut(id)?;
    candidates.iter_mut().find_map(|s| s.take(cidr, region))
}

/// IPAM's and our utilization are more than [`DISAGREEMENT_POINTS`] apart.
pub fn disagrees(theirs: Option<f64>, ours: Option<f64>) -> bool {
    matches!((theirs, ours), (Some(t), Some(o)) if (t - o).abs() > DISAGREEMENT_POINTS)
}

/// The warning for IPAM's figure and ours being far apart, after `block` (a VPC
/// block's CIDR) when there is one.
pub fn disagreement_warning(
    block: Option<&IpNet>,
    seen: &IpamObservation,
    ours: Option<f64>,
) -> String {
    let prefix = block.map(|b| format!("{b}: ")).unwrap_or_default();
    format!(
        "{prefix}IPAM reports {}% used where this run computed {}% (more than {} points apart)",
        seen.ip_usage_percent.unwrap_or_default(),
        ours.unwrap_or_default(),
        DISAGREEMENT_POINTS
    )
}
