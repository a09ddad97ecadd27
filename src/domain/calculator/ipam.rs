//! What IPAM knows, as the records need it: which VPC blocks an allocation manages,
//! and IPAM's own figures for each VPC block and subnet, compared with ours.

use super::FastMap;
use crate::domain::cidr;
use crate::domain::inventory::{IpamPool, ResourceCidr, Subnet, Vpc};
use crate::domain::report::{round_percent, IpamObservation};
use crate::domain::text::Text;
use ipnet::IpNet;

/// IPAM's usage and ours may differ this much (percentage points) before it is flagged:
/// IPAM samples usage on its own schedule, so small drift is normal.
pub const DISAGREEMENT_POINTS: f64 = 10.0;

pub struct IpamView {
    /// VPC id -> the CIDRs IPAM allocated to that VPC, with the pool of each.
    vpc_allocations: FastMap<Text, Vec<(IpNet, Text)>>,
    /// IPAM's own figures for each resource CIDR, in IPAM's order, until a record
    /// shows them: each is shown once, on the first record it matches.
    unshown: Vec<Option<IpamObservation>>,
    /// Where each listing is in `unshown` (the first, when IPAM lists one twice).
    by_listing: FastMap<Listing, usize>,
    /// Every IPAM was read in full: a block without an allocation is then unmanaged,
    /// not unknown.
    complete: bool,
}

/// What names a resource CIDR in IPAM's list. A listing alike in all of these to an
/// earlier one adds nothing.
#[derive(Clone, PartialEq, Eq, Hash)]
struct Listing {
    is_vpc: bool,
    id: Text,
    cidr: IpNet,
    /// The resource's region when IPAM names it: the same id and CIDR in another
    /// region is another resource. Without one, it matches the id and CIDR anywhere.
    region: Option<Text>,
}

impl IpamView {
    /// `pools` with every copy of a shared pool, so no allocation is missed.
    pub fn new(pools: &[IpamPool], listed: Vec<ResourceCidr>, complete: bool) -> IpamView {
        let mut vpc_allocations: FastMap<Text, Vec<(IpNet, Text)>> = FastMap::default();
        for pool in pools {
            for a in pool.allocations.iter().filter(|a| a.resource_type == "vpc") {
                if let Some(vpc_id) = &a.resource_id {
                    let allocations = vpc_allocations.entry(vpc_id.clone()).or_default();
                    allocations.push((a.cidr, Text::from(&pool.id)));
                }
            }
        }
        let mut by_listing = FastMap::with_capacity_and_hasher(listed.len(), Default::default());
        for (at, r) in listed.iter().enumerate() {
            by_listing.entry(Listing::of(r)).or_insert(at);
        }
        // Collected over `listed`'s own allocation, then shrunk to the smaller items:
        // no second allocation of 100k observations.
        let mut unshown: Vec<_> = listed.into_iter().map(|r| Some(observation(r))).collect();
        unshown.shrink_to_fit();
        IpamView {
            vpc_allocations,
            unshown,
            by_listing,
            complete,
        }
    }

    /// A VPC's CIDR block is managed when an IPAM allocation to that VPC covers it.
    /// Without one the block is unmanaged, or unknown (`None`) when some IPAM could
    /// not be read in full.
    pub fn managed(&self, vpc_id: &str, block: &IpNet) -> Option<bool> {
        self.managed_by(self.managing_pool(vpc_id, block))
    }

    /// [`IpamView::managed`] from the block's managing pool, already looked up.
    pub fn managed_by(&self, pool: Option<&Text>) -> Option<bool> {
        match pool {
            Some(_) => Some(true),
            None if self.complete => Some(false),
            None => None,
        }
    }

    /// The pool of the allocation to `vpc_id` that covers `block`.
    pub fn managing_pool(&self, vpc_id: &str, block: &IpNet) -> Option<&Text> {
        let allocations = self.vpc_allocations.get(vpc_id)?;
        let (_, pool_id) = allocations.iter().find(|(c, _)| cidr::contains(c, block))?;
        Some(pool_id)
    }

    /// A subnet is managed as the VPC block that holds its IPv4 CIDR is; unknown
    /// without one (IPv6-only, or its VPC not listed).
    pub fn subnet_managed(&self, subnet: &Subnet, vpc: Option<&Vpc>) -> Option<bool> {
        let (net, vpc) = (subnet.ipv4_cidr?, vpc?);
        let block = vpc.ipv4_blocks.iter().find(|b| cidr::contains(b, &net))?;
        self.managed(&vpc.id, block)
    }

    /// IPAM's figures for one of a VPC's blocks, compared with our `allocation_percent`.
    pub fn vpc_block_observation(
        &mut self,
        vpc: &Vpc,
        block: &IpNet,
        allocation_percent: f64,
    ) -> Option<IpamObservation> {
        let mut seen = self.show(true, &vpc.id, block, &vpc.region)?;
        seen.disagrees = disagrees(seen.ip_usage_percent, Some(allocation_percent));
        Some(seen)
    }

    /// IPAM's figures for a subnet's IPv4 CIDR. IPAM tracks no usage of a subnet's
    /// IPv6 CIDRs, so an IPv6-only subnet has none. The caller compares them with its
    /// own figure.
    pub fn subnet_observation(&mut self, subnet: &Subnet) -> Option<IpamObservation> {
        let net = subnet.ipv4_cidr?;
        self.show(false, &subnet.id, &net, &subnet.region)
    }

    /// The first listing of `id` and `cidr`, in `region` or in no named region, that no
    /// record has shown yet.
    fn show(
        &mut self,
        is_vpc: bool,
        id: &Text,
        cidr: &IpNet,
        region: &Text,
    ) -> Option<IpamObservation> {
        let here = Listing {
            is_vpc,
            id: id.clone(),
            cidr: *cidr,
            region: Some(region.clone()),
        };
        let anywhere = Listing {
            region: None,
            ..here.clone()
        };
        let unshown = |listing| {
            let at = *self.by_listing.get(&listing)?;
            self.unshown[at].is_some().then_some(at)
        };
        // Of a listing here and one in no named region, the one listed first.
        let at = match (unshown(here), unshown(anywhere)) {
            (Some(h), Some(a)) => h.min(a),
            (h, a) => h.or(a)?,
        };
        self.unshown[at].take()
    }
}

impl Listing {
    fn of(r: &ResourceCidr) -> Listing {
        Listing {
            is_vpc: r.resource_type == "vpc",
            id: r.resource_id.clone(),
            cidr: r.cidr,
            region: r.resource_region.clone(),
        }
    }
}

/// IPAM's figures for a resource CIDR, before they are compared with ours.
fn observation(r: ResourceCidr) -> IpamObservation {
    IpamObservation {
        ipam_pool_id: r.pool_id,
        ip_usage_percent: r.ip_usage.map(|u| round_percent(u * 100.0) as f32),
        compliance_status: r.compliance_status,
        overlap_status: r.overlap_status,
        management_state: r.management_state,
        disagrees: false,
    }
}

/// IPAM's and our utilization are more than [`DISAGREEMENT_POINTS`] apart.
pub fn disagrees(theirs: Option<f32>, ours: Option<f64>) -> bool {
    matches!((theirs, ours), (Some(t), Some(o)) if (f64::from(t) - o).abs() > DISAGREEMENT_POINTS)
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
