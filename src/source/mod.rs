//! Sources: read AWS and hand back the project's own plain types.

pub mod accounts;
pub mod addresses;
pub mod connectivity;
pub mod ec2;
pub mod ipam;
pub mod map;

use crate::domain::inventory::{IpamInventory, ScanError, Scope, ScopeInventory};
use std::future::Future;
use std::time::Instant;

/// Where VPCs and subnets come from. The EC2 adapter implements it over HTTP; flow
/// tests use a plain fake.
pub trait NetworkSource: Send + Sync {
    /// The account the function's own credentials belong to.
    fn own_account_id(&self) -> impl Future<Output = Result<String, ScanError>> + Send;
    /// Every active account of the AWS organization. Sources without Organizations
    /// access (flow fakes) know none.
    fn organization_accounts(&self) -> impl Future<Output = Result<Vec<String>, ScanError>> + Send {
        async { Ok(Vec::new()) }
    }
    /// Regions enabled for the account, asked in `from_region`.
    fn enabled_regions(
        &self,
        account_id: &str,
        from_region: &str,
    ) -> impl Future<Output = Result<Vec<String>, ScanError>> + Send;
    /// Every VPC and subnet of one account in one region.
    fn scan(&self, scope: &Scope)
        -> impl Future<Output = Result<ScopeInventory, ScanError>> + Send;
    /// [`NetworkSource::scan`], for a run whose scanning is cut at `cutoff`: optional
    /// parts (the address sweep) give up in time for the rest to be kept.
    fn scan_until(
        &self,
        scope: &Scope,
        _cutoff: Option<Instant>,
    ) -> impl Future<Output = Result<ScopeInventory, ScanError>> + Send {
        self.scan(scope)
    }
    /// The IPAMs homed in one account and region, with their pools and resource CIDRs.
    /// An error means nothing could be read (not even whether an IPAM is homed there);
    /// a call that fails after the IPAMs were found goes in [`IpamInventory::errors`]
    /// and the rest is kept. Sources without IPAM (flow fakes) answer "no IPAM".
    fn scan_ipam(
        &self,
        _scope: &Scope,
    ) -> impl Future<Output = Result<IpamInventory, ScanError>> + Send {
        async { Ok(IpamInventory::default()) }
    }
}
