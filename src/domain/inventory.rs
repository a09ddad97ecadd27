//! What the sources found, as plain data. Nothing here knows about the AWS SDK.

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

/// A resource's tags, in the order AWS listed them. The sources keep only the tags this
/// tool reads (`Name` and its own `ipam-monitor:*` keys), so a list is all it takes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tags(Vec<(Text, Text)>);

impl Tags {
    pub fn new() -> Tags {
        Tags::default()
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// Sets `key`; a key given twice keeps the last value, as a map would.
    pub fn insert(&mut self, key: Text, value: Text) {
        match self.0.iter_mut().find(|(k, _)| *k == key) {
            Some((_, v)) => *v = value,
            None => self.0.push((key, value)),
        }
    }

    /// Whether any key starts with `prefix` (this tool's own tags share one).
    pub fn any_with_prefix(&self, prefix: &str) -> bool {
        self.0.iter().any(|(k, _)| k.starts_with(prefix))
    }

    /// Removes `key` and hands its value over.
    pub fn remove(&mut self, key: &str) -> Option<Text> {
        let at = self.0.iter().position(|(k, _)| *k == key)?;
        Some(self.0.remove(at).1)
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
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

/// Everything one scope yielded.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ScopeInventory {
    pub vpcs: Vec<Vpc>,
    pub subnets: Vec<Subnet>,
}

/// Everything one run found, across scopes.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Inventory {
    pub scopes_scanned: Vec<Scope>,
    pub vpcs: Vec<Vpc>,
    pub subnets: Vec<Subnet>,
    pub pools: Vec<IpamPool>,
    pub resource_cidrs: Vec<ResourceCidr>,
    /// True once any IPAM was read; with no IPAM data every CIDR is unmanaged.
    pub ipam_seen: bool,
    pub errors: Vec<ScanError>,
}

impl Inventory {
    pub fn add_scope(&mut self, scope: Scope, found: ScopeInventory) {
        self.scopes_scanned.push(scope);
        self.vpcs.extend(found.vpcs);
        self.subnets.extend(found.subnets);
    }

    pub fn add_ipam(&mut self, found: IpamInventory) {
        self.ipam_seen |= !found.ipam_ids.is_empty();
        self.errors.extend(found.errors);
        self.pools.extend(found.pools);
        self.resource_cidrs.extend(found.resource_cidrs);
    }

    /// An IPAM call failed somewhere: "unmanaged" can then not be proven.
    pub fn ipam_incomplete(&self) -> bool {
        self.errors.iter().any(|e| e.operation.contains("Ipam"))
    }
}

/// The tag people use to recognise a resource.
pub const NAME_TAG: &str = "Name";
