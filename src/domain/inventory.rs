//! What the sources found, as plain data. Nothing here knows about the AWS SDK.

use crate::domain::addresses::MappedSubnet;
use crate::domain::text::Text;
use ipnet::IpNet;
use serde::Serialize;

/// One account in one region: the unit that is scanned and that can fail.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct Scope {
    pub account_id: String,
    pub region: String,
}

impl std::fmt::Display for Scope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.account_id, self.region)
    }
}

/// A resource's tags. The sources keep only the tags this tool reads: `Name`, which
/// nearly every resource has, this tool's own `ipam-monitor:*` keys, which few do, and
/// the EKS cluster keys of a cluster's subnets.
/// `Name` is held on its own so that the common resource needs no list at all (at
/// organization scale a list per resource was a fifth of the inventory).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tags {
    name: Option<Text>,
    /// Every other tag, in the order AWS listed them.
    others: Vec<(Text, Text)>,
}

impl Tags {
    pub fn new() -> Tags {
        Tags::default()
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        if key == NAME_TAG {
            return self.name.as_deref();
        }
        self.others
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// Sets `key`; a key given twice keeps the last value, as a map would.
    pub fn insert(&mut self, key: Text, value: Text) {
        if key == NAME_TAG {
            self.name = Some(value);
            return;
        }
        match self.others.iter_mut().find(|(k, _)| *k == key) {
            Some((_, v)) => *v = value,
            None => self.others.push((key, value)),
        }
    }

    /// Whether any key starts with `prefix` (this tool's own tags share one).
    pub fn any_with_prefix(&self, prefix: &str) -> bool {
        let name = self.name.is_some() && NAME_TAG.starts_with(prefix);
        name || self.others.iter().any(|(k, _)| k.starts_with(prefix))
    }

    /// The EKS clusters the resource is tagged for (`kubernetes.io/cluster/<name>`).
    pub fn eks_clusters(&self) -> impl Iterator<Item = &str> {
        self.others
            .iter()
            .filter_map(|(k, _)| k.strip_prefix(EKS_CLUSTER_TAG_PREFIX))
            .filter(|name| !name.is_empty())
    }

    /// Removes `key` and hands its value over.
    pub fn remove(&mut self, key: &str) -> Option<Text> {
        if key == NAME_TAG {
            return self.name.take();
        }
        let at = self.others.iter().position(|(k, _)| *k == key)?;
        Some(self.others.remove(at).1)
    }

    pub fn len(&self) -> usize {
        usize::from(self.name.is_some()) + self.others.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl<K: Into<Text>, V: Into<Text>> FromIterator<(K, V)> for Tags {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(pairs: I) -> Tags {
        let mut t = Tags::new();
        for (k, v) in pairs {
            t.insert(k.into(), v.into());
        }
        t
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Vpc {
    pub id: Text,
    pub account_id: Text,
    pub region: Text,
    pub is_default: bool,
    /// Associated IPv4 blocks, primary first, then secondary, as AWS lists them.
    pub ipv4_blocks: Vec<IpNet>,
    pub ipv6_blocks: Vec<IpNet>,
    pub tags: Tags,
    /// Problems found while reading this VPC (e.g. a malformed CIDR that was skipped).
    pub warnings: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Subnet {
    pub id: Text,
    pub vpc_id: Text,
    /// The account that owns the subnet; differs from the scanned account for subnets
    /// shared through AWS RAM.
    pub account_id: Text,
    pub region: Text,
    pub availability_zone: Text,
    /// `None` for an IPv6-only subnet, or when the CIDR AWS returned was malformed.
    pub ipv4_cidr: Option<IpNet>,
    pub ipv6_cidrs: Vec<IpNet>,
    /// `AvailableIpAddressCount` exactly as AWS returned it; checked by the calculator.
    pub available_ips: Option<i64>,
    pub tags: Tags,
    pub warnings: Vec<String>,
}

/// A scope (or a whole step) that could not be read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ScanError {
    pub account_id: String,
    pub region: String,
    /// The AWS operation that failed, e.g. `DescribeSubnets`.
    pub operation: String,
    /// The AWS error code when AWS gave one (`AccessDenied`, `RequestLimitExceeded`...).
    pub code: Option<String>,
    pub message: String,
}

/// An IPAM pool with its provisioned CIDRs and the allocations made from them.
#[derive(Debug, Clone, PartialEq)]
pub struct IpamPool {
    pub id: String,
    pub ipam_id: String,
    pub scope_id: String,
    /// `private` or `public`.
    pub scope_type: String,
    /// The pool this one was carved from; its CIDRs are allocations there.
    pub parent_pool_id: Option<String>,
    /// The region the pool serves, or `None` for a pool without a locale.
    pub locale: Option<String>,
    pub depth: Option<i32>,
    pub account_id: String,
    /// The IPAM's home region, where the pool was read.
    pub region: String,
    pub description: Option<String>,
    pub tags: Tags,
    /// Provisioned CIDRs (state `provisioned`).
    pub cidrs: Vec<IpNet>,
    pub allocations: Vec<PoolAllocation>,
    pub warnings: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PoolAllocation {
    pub cidr: IpNet,
    /// `vpc`, `ipam-pool`, `custom`, `subnet`, `eip`...
    pub resource_type: Text,
    pub resource_id: Option<Text>,
    pub resource_region: Option<Text>,
    pub resource_owner: Option<Text>,
}

/// IPAM's own view of one resource CIDR (GetIpamResourceCidrs).
#[derive(Debug, Clone, PartialEq)]
pub struct ResourceCidr {
    pub resource_id: Text,
    /// The resource's Name tag, as IPAM reports it.
    pub name: Option<Text>,
    pub resource_type: Text,
    pub resource_region: Option<Text>,
    pub resource_owner: Option<Text>,
    pub vpc_id: Option<Text>,
    pub pool_id: Option<Text>,
    pub cidr: IpNet,
    /// IPAM's usage, 0...1.
    pub ip_usage: Option<f64>,
    pub compliance_status: Option<Text>,
    pub overlap_status: Option<Text>,
    pub management_state: Option<Text>,
}

/// What the IPAM calls of one scope yielded (empty where no IPAM is homed).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct IpamInventory {
    pub ipam_ids: Vec<String>,
    pub pools: Vec<IpamPool>,
    pub resource_cidrs: Vec<ResourceCidr>,
    /// Calls that failed after the IPAMs were found: what they would have added is
    /// missing, everything else is kept.
    pub errors: Vec<ScanError>,
}

/// How far one planned scope's IPAM was read. A VPC CIDR without an allocation is
/// unmanaged only if no IPAM that could have allocated it went unread; and which IPAM
/// that could be is unknowable without reading it (an organization's IPAM manages
/// every account and region), so any gap leaves every such CIDR unknown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IpamRead {
    /// IPAMs are homed here and every IPAM call answered.
    Read,
    /// No IPAM is homed here.
    NoIpam,
    /// A call failed: getting the scope's credentials (AssumeRole) before any IPAM
    /// call, an IPAM call, or a pool's or resource CIDRs' call after the IPAMs were found.
    Failed,
    /// Planned, but not scanned before the deadline.
    NotReached,
}

impl IpamRead {
    /// The state of a scope whose IPAM calls answered with `found`.
    pub fn of(found: &IpamInventory) -> IpamRead {
        if !found.errors.is_empty() {
            IpamRead::Failed
        } else if found.ipam_ids.is_empty() {
            IpamRead::NoIpam
        } else {
            IpamRead::Read
        }
    }

    /// Whether an IPAM may be homed here that was not read in full.
    pub fn leaves_a_gap(self) -> bool {
        matches!(self, IpamRead::Failed | IpamRead::NotReached)
    }
}

/// One end of a [`Link`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Endpoint {
    /// A VPC, known by its region and id.
    Vpc {
        region: Text,
        id: Text,
    },
    TransitGateway(Text),
}

/// A connection that lets traffic pass between its two ends: a VPC attached to a
/// Transit Gateway, two peered VPCs, two peered Transit Gateways. Pending ones count:
/// an overlap is a problem before the connection comes up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    /// The attachment or peering id (`tgw-attach-...`, `pcx-...`).
    pub id: Text,
    pub ends: [Endpoint; 2],
}

/// The connectivity sweep of one scope: what links it saw, or why it saw none.
#[derive(Debug, Clone, PartialEq)]
pub enum Connectivity {
    Read(Vec<Link>),
    /// The sweep failed: overlaps involving this scope's VPCs cannot be classified.
    Failed(ScanError),
}

impl Default for Connectivity {
    fn default() -> Self {
        Connectivity::Read(Vec::new())
    }
}

/// The address sweep of one scope (`ADDRESS_MAP`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AddressSweep {
    /// One entry per subnet the sweep was to map; without a map where it failed or
    /// ran out of time.
    pub subnets: Vec<MappedSubnet>,
    /// DescribeNetworkInterfaces or GetSubnetCidrReservations calls that failed; a
    /// failed interface sweep leaves the scope's subnets unmapped, with their address
    /// counts intact.
    pub errors: Vec<ScanError>,
}

/// Everything one scope yielded.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ScopeInventory {
    pub vpcs: Vec<Vpc>,
    pub subnets: Vec<Subnet>,
    pub connectivity: Connectivity,
    pub addresses: AddressSweep,
}

/// Everything one run found, across scopes.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Inventory {
    pub scopes_scanned: Vec<Scope>,
    pub vpcs: Vec<Vpc>,
    pub subnets: Vec<Subnet>,
    pub pools: Vec<IpamPool>,
    pub resource_cidrs: Vec<ResourceCidr>,
    /// Each planned scope's IPAM state, one entry per scope; a planning step that
    /// failed (accounts or regions not listed) stands as one failed entry for the
    /// scopes it would have planned.
    pub ipam_reads: Vec<(Scope, IpamRead)>,
    /// Every link the scopes' connectivity sweeps saw; a link seen from both of its
    /// accounts is listed twice.
    pub links: Vec<Link>,
    /// Scanned scopes whose connectivity sweep failed: their VPCs' links are unknown.
    pub connectivity_unread: Vec<Scope>,
    /// The address maps the scopes' sweeps made, with the region of each subnet.
    pub subnet_maps: Vec<(Text, MappedSubnet)>,
    pub errors: Vec<ScanError>,
    /// VPCs and subnets IPAM lists that EC2 did not scan become records of their own
    /// (source modes `ipam` and `both`).
    pub ipam_records: bool,
    /// The regions such records may be in (the run's regions); `None`: any.
    pub ipam_record_regions: Option<Vec<String>>,
}

impl Inventory {
    pub fn add_scope(&mut self, scope: Scope, found: ScopeInventory) {
        match found.connectivity {
            Connectivity::Read(links) => self.links.extend(links),
            Connectivity::Failed(e) => {
                self.errors.push(e);
                self.connectivity_unread.push(scope.clone());
            }
        }
        self.errors.extend(found.addresses.errors);
        let region = Text::from(scope.region.as_str());
        self.subnet_maps.extend(
            found
                .addresses
                .subnets
                .into_iter()
                .map(|a| (region.clone(), a)),
        );
        self.scopes_scanned.push(scope);
        self.vpcs.extend(found.vpcs);
        self.subnets.extend(found.subnets);
    }

    /// Keeps what `scope`'s IPAM calls read and their errors, and records its state.
    pub fn add_ipam(&mut self, scope: Scope, found: IpamInventory) {
        self.ipam_reads.push((scope, IpamRead::of(&found)));
        self.errors.extend(found.errors);
        self.pools.extend(found.pools);
        self.resource_cidrs.extend(found.resource_cidrs);
    }

    /// `scope`'s IPAM could not be read at all (no credentials, DescribeIpams failed...).
    pub fn ipam_failed(&mut self, scope: Scope, error: ScanError) {
        self.ipam_reads.push((scope, IpamRead::Failed));
        self.errors.push(error);
    }

    /// `scope` was cut by the deadline. Its error covers the whole scope and is the
    /// caller's to record.
    pub fn ipam_not_reached(&mut self, scope: Scope) {
        self.ipam_reads.push((scope, IpamRead::NotReached));
    }

    /// Some scope's IPAM was not read in full: "unmanaged" can then not be proven.
    pub fn ipam_incomplete(&self) -> bool {
        self.ipam_reads.iter().any(|(_, read)| read.leaves_a_gap())
    }
}

/// The tag people use to recognise a resource.
pub const NAME_TAG: &str = "Name";
/// EKS and its load balancer controller find a cluster's subnets by this tag key,
/// followed by the cluster's name (value `shared` or `owned`).
pub const EKS_CLUSTER_TAG_PREFIX: &str = "kubernetes.io/cluster/";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_keep_the_last_value_of_a_key_and_find_prefixes() {
        let mut tags: Tags = [("Name", "a"), ("ipam-monitor:warning-percent", "50")]
            .into_iter()
            .collect();
        tags.insert("Name".into(), "b".into());
        assert_eq!(tags.get("Name"), Some("b"));
        assert_eq!(tags.len(), 2);
        assert!(tags.any_with_prefix("ipam-monitor:"));
        assert!(!tags.any_with_prefix("ipam-monitor:critical"));
        assert_eq!(tags.remove("Name").as_deref(), Some("b"));
        assert_eq!(tags.get("Name"), None);
        let just_before: Tags = [("ipam-monitor", "")].into_iter().collect();
        assert!(!just_before.any_with_prefix("ipam-monitor:"));
    }

    fn scope(region: &str) -> Scope {
        Scope {
            account_id: "111111111111".into(),
            region: region.into(),
        }
    }

    fn scan_error(operation: &str) -> ScanError {
        ScanError {
            account_id: "111111111111".into(),
            region: "us-east-1".into(),
            operation: operation.into(),
            code: Some("AccessDenied".into()),
            message: "denied".into(),
        }
    }

    /// One inventory where `us-east-1` ends in `read` beside a read IPAM and a region
    /// without one.
    fn with(read: IpamRead) -> Inventory {
        let mut inv = Inventory::default();
        let read_ipam = IpamInventory {
            ipam_ids: vec!["ipam-1".into()],
            ..IpamInventory::default()
        };
        inv.add_ipam(scope("eu-west-1"), read_ipam);
        inv.add_ipam(scope("ap-south-1"), IpamInventory::default());
        inv.ipam_reads.push((scope("us-east-1"), read));
        inv
    }

    #[test]
    fn ipam_is_incomplete_exactly_when_a_scope_failed_or_was_not_reached() {
        assert!(!with(IpamRead::Read).ipam_incomplete());
        assert!(!with(IpamRead::NoIpam).ipam_incomplete());
        assert!(with(IpamRead::Failed).ipam_incomplete());
        assert!(with(IpamRead::NotReached).ipam_incomplete());
        assert!(!Inventory::default().ipam_incomplete());
    }

    #[test]
    fn each_way_of_recording_a_scope_gives_its_state() {
        let mut inv = Inventory::default();
        inv.add_ipam(scope("a"), IpamInventory::default());
        inv.add_ipam(
            scope("b"),
            IpamInventory {
                ipam_ids: vec!["ipam-1".into()],
                ..IpamInventory::default()
            },
        );
        inv.add_ipam(
            scope("c"),
            IpamInventory {
                ipam_ids: vec!["ipam-1".into()],
                errors: vec![scan_error("GetIpamResourceCidrs")],
                ..IpamInventory::default()
            },
        );
        // Failing before any IPAM call is a failure too, whatever the operation.
        inv.ipam_failed(scope("d"), scan_error("AssumeRole"));
        inv.ipam_not_reached(scope("e"));
        let states: Vec<(&str, IpamRead)> = inv
            .ipam_reads
            .iter()
            .map(|(s, r)| (s.region.as_str(), *r))
            .collect();
        assert_eq!(
            states,
            [
                ("a", IpamRead::NoIpam),
                ("b", IpamRead::Read),
                ("c", IpamRead::Failed),
                ("d", IpamRead::Failed),
                ("e", IpamRead::NotReached),
            ]
        );
        let operations: Vec<&str> = inv.errors.iter().map(|e| e.operation.as_str()).collect();
        assert_eq!(operations, ["GetIpamResourceCidrs", "AssumeRole"]);
    }
}
