//! What the sources found, as plain data. Nothing here knows about the AWS SDK.

use ipnet::IpNet;
use serde::Serialize;
use std::collections::BTreeMap;

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

pub type Tags = BTreeMap<String, String>;

#[derive(Debug, Clone, PartialEq)]
pub struct Vpc {
    pub id: String,
    pub account_id: String,
    pub region: String,
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
    pub id: String,
    pub vpc_id: String,
    /// The account that owns the subnet; differs from the scanned account for subnets
    /// shared through AWS RAM.
    pub account_id: String,
    pub region: String,
    pub availability_zone: String,
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
    pub errors: Vec<ScanError>,
}

impl Inventory {
    pub fn add_scope(&mut self, scope: Scope, found: ScopeInventory) {
        self.scopes_scanned.push(scope);
        self.vpcs.extend(found.vpcs);
        self.subnets.extend(found.subnets);
    }
}

/// The `Name` tag, which people use to recognise a resource.
pub fn name_tag(tags: &Tags) -> Option<&str> {
    tags.get("Name").map(String::as_str)
}
