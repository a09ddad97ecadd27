//! IPAM adapter: IPAMs, all their scopes, pools, pool CIDRs, allocations and resource
//! CIDRs, each paginated to the end, mapped into [`crate::domain::inventory`] types.
//!
//! An IPAM is answered only in its home region, so a region without one is the normal
//! case: an empty result, not an error.

use super::map::{push_cidr, sdk_error, tags};
use crate::domain::cidr;
use crate::domain::inventory::{
    IpamInventory, IpamPool, PoolAllocation, ResourceCidr, ScanError, Scope,
};
use aws_sdk_ec2::types::IpamPoolCidrState;
use aws_sdk_ec2::Client;
use futures::stream::{self, StreamExt};

/// DescribeIpams/Scopes/Pools, GetIpamPoolCidrs and GetIpamResourceCidrs: 5...1000.
pub const PAGE_SIZE: i32 = 1000;
/// GetIpamPoolAllocations accepts 1000...100000.
pub const ALLOCATIONS_PAGE_SIZE: i32 = 1000;
/// Pools read at once within one region (each pool is two paginated calls).
const POOL_CONCURRENCY: usize = 4;

pub async fn scan_ipam(client: &Client, scope: &Scope) -> Result<IpamInventory, ScanError> {
    let ipams: Vec<_> = client
        .describe_ipams()
        .max_results(PAGE_SIZE)
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(on_error(scope, "DescribeIpams", None))?;
    if ipams.is_empty() {
        tracing::debug!(scope = %scope, "no IPAM homed in this region");
        return Ok(IpamInventory::default());
    }
    let ipam_arns: Vec<&str> = ipams.iter().filter_map(|i| i.ipam_arn()).collect();

    let scopes: Vec<_> = client
        .describe_ipam_scopes()
        .max_results(PAGE_SIZE)
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(on_error(scope, "DescribeIpamScopes", None))?;
    let scopes: Vec<_> = scopes
        .into_iter()
        .filter(|s| s.ipam_arn().is_some_and(|a| ipam_arns.contains(&a)))
        .collect();

    let pools: Vec<_> = client
        .describe_ipam_pools()
        .max_results(PAGE_SIZE)
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(on_error(scope, "DescribeIpamPools", None))?;

    // From here on a failed call loses only what it would have read.
    let mut errors = Vec::new();
    let results: Vec<Result<IpamPool, ScanError>> = stream::iter(pools)
        .map(|p| read_pool(client, scope, p))
        .buffered(POOL_CONCURRENCY)
        .collect()
        .await;
    let mut pools = Vec::with_capacity(results.len());
    for r in results {
        match r {
            Ok(p) => pools.push(p),
            Err(e) => errors.push(e),
        }
    }

    let mut resource_cidrs = Vec::new();
    for s in &scopes {
        let Some(scope_id) = s.ipam_scope_id() else {
            continue;
        };
        // Mapped page by page, so no more than one page of SDK items (each several
        // times the size of what is kept of it) is held at once.
        let mut pages = client
            .get_ipam_resource_cidrs()
            .ipam_scope_id(scope_id)
            .max_results(PAGE_SIZE)
            .into_paginator()
            .send();
        // Pages read before a failure are kept; the error says what is missing.
        while let Some(page) = pages.next().await {
            match page {
                Ok(page) => resource_cidrs.extend(
                    page.ipam_resource_cidrs()
                        .iter()
                        .filter_map(map_resource_cidr),
                ),
                Err(e) => {
                    let mut e = on_error(scope, "GetIpamResourceCidrs", None)(e);
                    e.message = format!("scope {scope_id}: {}", e.message);
                    errors.push(e);
                    break;
                }
            }
        }
    }

    Ok(IpamInventory {
        ipam_ids: ipams
            .iter()
            .filter_map(|i| i.ipam_id().map(str::to_owned))
            .collect(),
        pools,
        resource_cidrs,
        errors,
    })
}

async fn read_pool(
    client: &Client,
    scope: &Scope,
    p: aws_sdk_ec2::types::IpamPool,
) -> Result<IpamPool, ScanError> {
    let id = p.ipam_pool_id().unwrap_or_default().to_string();
    let mut warnings = Vec::new();

    let cidrs: Vec<_> = client
        .get_ipam_pool_cidrs()
        .ipam_pool_id(&id)
        .max_results(PAGE_SIZE)
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(on_error(scope, "GetIpamPoolCidrs", Some(&id)))?;
    let mut provisioned = Vec::new();
    for c in &cidrs {
        // Space counts while it is provisioned, including while a deprovisioning is
        // pending or has failed (allocations can still sit in it); space still being
        // provisioned, or already gone, does not.
        let counts = matches!(
            c.state(),
            Some(
                IpamPoolCidrState::Provisioned
                    | IpamPoolCidrState::PendingDeprovision
                    | IpamPoolCidrState::FailedDeprovision
            )
        );
        if !counts {
            continue;
        }
        push_cidr(c.cidr(), "pool CIDR", None, &mut provisioned, &mut warnings);
    }

    let allocations: Vec<_> = client
        .get_ipam_pool_allocations()
        .ipam_pool_id(&id)
        .max_results(ALLOCATIONS_PAGE_SIZE)
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(on_error(scope, "GetIpamPoolAllocations", Some(&id)))?;
    let mut allocs = Vec::new();
    for a in &allocations {
        match a.cidr().map(cidr::parse) {
            Some(Ok(net)) => allocs.push(PoolAllocation {
                cidr: net,
                resource_type: a
                    .resource_type()
                    .map(|t| t.as_str().into())
                    .unwrap_or_default(),
                resource_id: a.resource_id().map(Into::into),
                resource_region: a.resource_region().map(Into::into),
                resource_owner: a.resource_owner().map(Into::into),
            }),
            Some(Err(e)) => warnings.push(format!(
                "allocation {}: {e}; skipped",
                a.ipam_pool_allocation_id().unwrap_or("?")
            )),
            None => warnings.push("allocation: CIDR missing in the AWS answer".into()),
        }
    }

    Ok(IpamPool {
        ipam_id: p.ipam_arn().and_then(arn_id).unwrap_or_default(),
        scope_id: p.ipam_scope_arn().and_then(arn_id).unwrap_or_default(),
        scope_type: p
            .ipam_scope_type()
            .map(|t| t.as_str().to_string())
            .unwrap_or_default(),
        parent_pool_id: p.source_ipam_pool_id().map(str::to_owned),
        // AWS writes "None" for a pool without a locale.
        locale: p
            .locale()
            .filter(|l| !l.is_empty() && *l != "None")
            .map(str::to_owned),
        depth: p.pool_depth(),
        account_id: p.owner_id().unwrap_or(&scope.account_id).to_string(),
        region: p.ipam_region().unwrap_or(&scope.region).to_string(),
        description: p.description().map(str::to_owned),
        tags: tags(p.tags()),
        cidrs: provisioned,
        allocations: allocs,
        warnings,
        id,
    })
}

fn map_resource_cidr(r: &aws_sdk_ec2::types::IpamResourceCidr) -> Option<ResourceCidr> {
    // An unreadable CIDR cannot be matched to anything; it is dropped with a log line.
    let cidr = match r.resource_cidr().map(cidr::parse) {
        Some(Ok(net)) => net,
        other => {
            tracing::warn!(resource = ?r.resource_id(), answer = ?other, "IPAM resource CIDR unreadable; skipped");
            return None;
        }
    };
    Some(ResourceCidr {
        resource_id: r.resource_id()?.into(),
        name: r.resource_name().filter(|n| !n.is_empty()).map(Into::into),
        resource_type: r
            .resource_type()
            .map(|t| t.as_str().into())
            .unwrap_or_default(),
        resource_region: r.resource_region().map(Into::into),
        resource_owner: r.resource_owner_id().map(Into::into),
        vpc_id: r.vpc_id().map(Into::into),
        pool_id: r.ipam_pool_id().map(Into::into),
        cidr,
        ip_usage: r.ip_usage(),
        compliance_status: r.compliance_status().map(|s| s.as_str().into()),
        overlap_status: r.overlap_status().map(|s| s.as_str().into()),
        management_state: r.management_state().map(|s| s.as_str().into()),
    })
}

/// Maps an SDK error of `operation` (about `pool`, if any) into a scope error.
fn on_error<'a, E>(
    scope: &'a Scope,
    operation: &'a str,
    pool: Option<&'a str>,
) -> impl Fn(crate::aws::error::AwsError<E>) -> ScanError + 'a
where
    E: aws_sdk_ec2::error::ProvideErrorMetadata + std::error::Error + 'static,
{
    move |e| {
        let mut se = sdk_error(&scope.account_id, &scope.region, operation, e);
        if let Some(id) = pool {
            se.message = format!("pool {id}: {}", se.message);
        }
        se
    }
}

/// `arn:aws:ec2::123456789012:ipam-scope/ipam-scope-0abc` -> `ipam-scope-0abc`.
fn arn_id(arn: &str) -> Option<String> {
    arn.rsplit('/')
        .next()
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}
