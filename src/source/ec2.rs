//! EC2 adapter: DescribeRegions, DescribeVpcs and DescribeSubnets, paginated, mapped
//! into [`crate::domain::inventory`] types; then the scope's connectivity sweep and,
//! when asked, its address sweep.

use super::accounts::AccountAccess;
use super::addresses::AddressMapMode;
use super::map::{association_counts, push_cidr, sdk_error, tags};
use super::NetworkSource;
use crate::domain::cidr::Family;
use crate::domain::inventory::{IpamInventory, ScanError, Scope, ScopeInventory, Subnet, Vpc};
use aws_sdk_ec2::config::retry::RetryPartition;
use aws_sdk_ec2::config::Credentials;
use aws_sdk_ec2::Client;
use std::time::Instant;

/// The largest page DescribeVpcs and DescribeSubnets accept.
pub const PAGE_SIZE: i32 = 1000;

pub struct Ec2Source {
    /// Client configuration shared by every scope; each sets its region and, for
    /// member accounts, assumed-role credentials.
    base: aws_sdk_ec2::Config,
    accounts: AccountAccess,
    address_map: AddressMapMode,
}

impl Ec2Source {
    pub fn new(sdk: &aws_config::SdkConfig, member_role: Option<String>) -> Ec2Source {
        Ec2Source {
            base: aws_sdk_ec2::Config::new(sdk),
            accounts: AccountAccess::new(sdk, member_role),
            address_map: AddressMapMode::Off,
        }
    }

    /// Maps who holds the addresses of the subnets `mode` selects (`ADDRESS_MAP`).
    pub fn with_address_map(mut self, mode: AddressMapMode) -> Ec2Source {
        self.address_map = mode;
        self
    }

    async fn client_for(&self, scope: &Scope) -> Result<Client, ScanError> {
        let creds = self
            .accounts
            .credentials_for(&scope.account_id)
            .await
            .map_err(|mut e| {
                e.region = scope.region.clone();
                e
            })?;
        Ok(scope_client(&self.base, scope, creds))
    }
}

/// An EC2 client for one scope: its region, the account's credentials (`None`: the
/// function's own), and a retry partition of its own. EC2 throttles each account and
/// region separately, so each scope gets its own retry quota and adaptive rate
/// limiter; the SDK's default partition is per region only, where one throttled
/// account would use up the retries of every other account in that region.
pub fn scope_client(
    base: &aws_sdk_ec2::Config,
    scope: &Scope,
    creds: Option<Credentials>,
) -> Client {
    let mut conf = base
        .to_builder()
        .region(aws_sdk_ec2::config::Region::new(scope.region.clone()))
        .retry_partition(RetryPartition::new(format!(
            "ec2-{}-{}",
            scope.account_id, scope.region
        )));
    if let Some(creds) = creds {
        conf = conf.credentials_provider(creds);
    }
    Client::from_conf(conf.build())
}

impl NetworkSource for Ec2Source {
    async fn own_account_id(&self) -> Result<String, ScanError> {
        self.accounts.own_account_id().await
    }

    async fn organization_accounts(&self) -> Result<Vec<String>, ScanError> {
        self.accounts.organization_accounts().await
    }

    async fn enabled_regions(
        &self,
        account_id: &str,
        from_region: &str,
    ) -> Result<Vec<String>, ScanError> {
        let scope = Scope {
            account_id: account_id.to_string(),
            region: from_region.to_string(),
        };
        list_regions(&self.client_for(&scope).await?, account_id, from_region).await
    }

    async fn scan(&self, scope: &Scope) -> Result<ScopeInventory, ScanError> {
        self.scan_until(scope, None).await
    }

    async fn scan_until(
        &self,
        scope: &Scope,
        cutoff: Option<Instant>,
    ) -> Result<ScopeInventory, ScanError> {
        let client = self.client_for(scope).await?;
        let sweep_until = cutoff.map(super::addresses::sweep_deadline);
        scan_region_with(&client, scope, self.address_map, sweep_until).await
    }

    async fn scan_ipam(&self, scope: &Scope) -> Result<IpamInventory, ScanError> {
        super::ipam::scan_ipam(&self.client_for(scope).await?, scope).await
    }
}

/// Regions enabled for the account (opted-out regions are left out by AWS).
pub async fn list_regions(
    client: &Client,
    account_id: &str,
    region: &str,
) -> Result<Vec<String>, ScanError> {
    let out = client
        .describe_regions()
        .send()
        .await
        .map_err(|e| sdk_error(account_id, region, "DescribeRegions", e))?;
    let mut names: Vec<String> = out
        .regions()
        .iter()
        .filter_map(|r| r.region_name().map(str::to_owned))
        .collect();
    names.sort();
    Ok(names)
}

/// The warning on a resource AWS listed without its id. It is reported on its own:
/// it cannot be matched with its RAM-shared copies, its VPC's record or IPAM.
fn no_id(field: &str) -> String {
    format!("{field}: missing in the AWS answer; reported on its own, unmatched")
}

const IPV4: Option<Family> = Some(Family::Ipv4);
const IPV6: Option<Family> = Some(Family::Ipv6);

/// One sweep of VPCs, one of subnets and one of connectivity for the whole region
/// (not one call per VPC), without address maps.
pub async fn scan_region(client: &Client, scope: &Scope) -> Result<ScopeInventory, ScanError> {
    scan_region_with(client, scope, AddressMapMode::Off, None).await
}

/// [`scan_region`], then the address sweep `address_map` asks for, given up at
/// `sweep_until` (the scope's VPCs and subnets are kept).
pub async fn scan_region_with(
    client: &Client,
    scope: &Scope,
    address_map: AddressMapMode,
    sweep_until: Option<Instant>,
) -> Result<ScopeInventory, ScanError> {
    let mut found = ScopeInventory::default();

    let mut pages = client
        .describe_vpcs()
        .max_results(PAGE_SIZE)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page =
            page.map_err(|e| sdk_error(&scope.account_id, &scope.region, "DescribeVpcs", e))?;
        found
            .vpcs
            .extend(page.vpcs().iter().map(|v| map_vpc(v, scope)));
    }

    let mut pages = client
        .describe_subnets()
        .max_results(PAGE_SIZE)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page =
            page.map_err(|e| sdk_error(&scope.account_id, &scope.region, "DescribeSubnets", e))?;
        found
            .subnets
            .extend(page.subnets().iter().map(|s| map_subnet(s, scope)));
    }
    found.connectivity = super::connectivity::sweep(client, scope).await;
    found.addresses =
        super::addresses::sweep(client, scope, &found.subnets, address_map, sweep_until).await;
    Ok(found)
}

fn map_vpc(v: &aws_sdk_ec2::types::Vpc, scope: &Scope) -> Vpc {
    let mut warnings = Vec::new();
    let w = &mut warnings;
    let mut ipv4_blocks = Vec::new();
    for a in v.cidr_block_association_set() {
        let state = a.cidr_block_state().and_then(|s| s.state());
        // associating, disassociated, failed...: not address space of the VPC
        if association_counts(state.map(|s| s.as_str()), "CidrBlock", w) {
            push_cidr(a.cidr_block(), "CidrBlock", IPV4, &mut ipv4_blocks, w);
        }
    }
    // Older answers (and some emulators) give only the primary block at the top level.
    if v.cidr_block_association_set().is_empty() {
        push_cidr(v.cidr_block(), "CidrBlock", IPV4, &mut ipv4_blocks, w);
    }
    let mut ipv6_blocks = Vec::new();
    for a in v.ipv6_cidr_block_association_set() {
        let state = a.ipv6_cidr_block_state().and_then(|s| s.state());
        if association_counts(state.map(|s| s.as_str()), "Ipv6CidrBlock", w) {
            push_cidr(
                a.ipv6_cidr_block(),
                "Ipv6CidrBlock",
                IPV6,
                &mut ipv6_blocks,
                w,
            );
        }
    }
    let id = v.vpc_id().unwrap_or_default();
    if id.is_empty() {
        warnings.push(no_id("VpcId"));
    }
    Vpc {
        id: id.into(),
        account_id: v.owner_id().unwrap_or(&scope.account_id).into(),
        region: scope.region.as_str().into(),
        is_default: v.is_default().unwrap_or(false),
        ipv4_blocks,
        ipv6_blocks,
        tags: tags(v.tags()),
        warnings,
    }
}

fn map_subnet(s: &aws_sdk_ec2::types::Subnet, scope: &Scope) -> Subnet {
    let mut warnings = Vec::new();
    let w = &mut warnings;
    let mut v4 = Vec::new();
    if s.cidr_block().is_some() {
        push_cidr(s.cidr_block(), "CidrBlock", IPV4, &mut v4, w);
    }
    let mut ipv6_cidrs = Vec::new();
    for a in s.ipv6_cidr_block_association_set() {
        let state = a.ipv6_cidr_block_state().and_then(|st| st.state());
        if association_counts(state.map(|st| st.as_str()), "Ipv6CidrBlock", w) {
            push_cidr(
                a.ipv6_cidr_block(),
                "Ipv6CidrBlock",
                IPV6,
                &mut ipv6_cidrs,
                w,
            );
        }
    }
    if v4.is_empty() && ipv6_cidrs.is_empty() && warnings.is_empty() {
        warnings.push("neither CidrBlock nor an associated Ipv6CidrBlock in the AWS answer".into());
    }
    let id = s.subnet_id().unwrap_or_default();
    if id.is_empty() {
        warnings.push(no_id("SubnetId"));
    }
    Subnet {
        id: id.into(),
        vpc_id: s.vpc_id().unwrap_or_default().into(),
        account_id: s.owner_id().unwrap_or(&scope.account_id).into(),
        region: scope.region.as_str().into(),
        availability_zone: s.availability_zone().unwrap_or_default().into(),
        ipv4_cidr: v4.first().copied(),
        ipv6_cidrs,
        available_ips: s.available_ip_address_count().map(i64::from),
        tags: tags(s.tags()),
        warnings,
    }
}
