//! The IPAM adapter (`source::ipam::scan_ipam`) against a real `aws_sdk_ec2::Client`
//! whose HTTP layer is replaced by `aws-smithy-mocks`: pagination of all six IPAM
//! operations, request shapes, mapping of the AWS shapes into the inventory types,
//! per-call failures that keep the rest, and retries.
//!
//! Response shapes follow the EC2 API reference (DescribeIpams, DescribeIpamScopes,
//! DescribeIpamPools, GetIpamPoolCidrs, GetIpamPoolAllocations, GetIpamResourceCidrs).

mod ec2_mocks;

use aws_sdk_ec2::operation::describe_ipam_pools::DescribeIpamPoolsOutput;
use aws_sdk_ec2::operation::describe_ipam_scopes::DescribeIpamScopesOutput;
use aws_sdk_ec2::operation::describe_ipams::DescribeIpamsOutput;
use aws_sdk_ec2::operation::get_ipam_pool_allocations::GetIpamPoolAllocationsOutput;
use aws_sdk_ec2::operation::get_ipam_pool_cidrs::GetIpamPoolCidrsOutput;
use aws_sdk_ec2::operation::get_ipam_resource_cidrs::GetIpamResourceCidrsOutput;
use aws_sdk_ec2::types as ec2;
use aws_sdk_ec2::Client;
use aws_smithy_mocks::{mock, Rule, RuleMode};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use ec2_mocks::{ec2_error, mocked, net, tag, tags, throttled};
use ipam_monitor::domain::inventory::{
    IpamInventory, IpamPool, PoolAllocation, ResourceCidr, ScanError, Scope,
};
use ipam_monitor::source::ipam::{scan_ipam, ALLOCATIONS_PAGE_SIZE, PAGE_SIZE};
use ipnet::IpNet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The network account that owns the IPAM (delegated IPAM administrator).
const ACCOUNT: &str = "111122223333";
/// A member account whose VPCs were allocated from the pools.
const MEMBER: &str = "444455556666";
/// An account of another organization with its own IPAM.
const STRANGER: &str = "999988887777";
/// The IPAM home region: the only region that answers for the IPAM.
const REGION: &str = "us-east-1";

const IPAM_A: &str = "ipam-0a1b2c3d4e5f6a7b8";
const IPAM_B: &str = "ipam-0b1b2c3d4e5f6a7b8";
const IPAM_FOREIGN: &str = "ipam-0ffffffffffffffff";

const SCOPE_A_PRIVATE: &str = "ipam-scope-0a00000000000001a";
const SCOPE_A_PUBLIC: &str = "ipam-scope-0a00000000000002a";
const SCOPE_B_PRIVATE: &str = "ipam-scope-0b00000000000001b";
const SCOPE_FOREIGN: &str = "ipam-scope-0fffffffffffffff1";

const POOL_A1: &str = "ipam-pool-0a1000000000000a1";
const POOL_A2: &str = "ipam-pool-0a2000000000000a2";
const POOL_B1: &str = "ipam-pool-0b1000000000000b1";

// ---------------------------------------------------------------------------------
// Fixtures
// ---------------------------------------------------------------------------------

fn scope() -> Scope {
    Scope {
        account_id: ACCOUNT.to_string(),
        region: REGION.to_string(),
    }
}

/// IPAM ARNs carry no region: `arn:aws:ec2::<account>:ipam/<id>`.
fn ipam_arn_of(account: &str, id: &str) -> String {
    format!("arn:aws:ec2::{account}:ipam/{id}")
}

fn ipam_arn(id: &str) -> String {
    ipam_arn_of(ACCOUNT, id)
}

fn scope_arn_of(account: &str, id: &str) -> String {
    format!("arn:aws:ec2::{account}:ipam-scope/{id}")
}

fn scope_arn(id: &str) -> String {
    scope_arn_of(ACCOUNT, id)
}

fn pool_arn(id: &str) -> String {
    format!("arn:aws:ec2::{ACCOUNT}:ipam-pool/{id}")
}

/// An IPAM as DescribeIpams returns it.
fn ipam(id: &str) -> ec2::Ipam {
    ec2::Ipam::builder()
        .owner_id(ACCOUNT)
        .ipam_id(id)
        .ipam_arn(ipam_arn(id))
        .ipam_region(REGION)
        .scope_count(2)
        .description("Organization IPAM")
        .operating_regions(
            ec2::IpamOperatingRegion::builder()
                .region_name(REGION)
                .build(),
        )
        .operating_regions(
            ec2::IpamOperatingRegion::builder()
                .region_name("eu-west-1")
                .build(),
        )
        .state(ec2::IpamState::CreateComplete)
        .tier(ec2::IpamTier::Advanced)
        .tags(tag("Name", "org-ipam"))
        .build()
}

/// An IPAM scope as DescribeIpamScopes returns it.
fn ipam_scope_of(
    owner: &str,
    scope_id: &str,
    ipam_id: &str,
    kind: ec2::IpamScopeType,
) -> ec2::IpamScope {
    ec2::IpamScope::builder()
        .owner_id(owner)
        .ipam_scope_id(scope_id)
        .ipam_scope_arn(scope_arn_of(owner, scope_id))
        .ipam_arn(ipam_arn_of(owner, ipam_id))
        .ipam_region(REGION)
        .ipam_scope_type(kind)
        .is_default(true)
        .pool_count(1)
        .state(ec2::IpamScopeState::CreateComplete)
        .build()
}

fn ipam_scope(scope_id: &str, ipam_id: &str, kind: ec2::IpamScopeType) -> ec2::IpamScope {
    ipam_scope_of(ACCOUNT, scope_id, ipam_id, kind)
}

/// A top-level private IPv4 pool as DescribeIpamPools returns it (no locale: "None").
fn pool_shape(pool_id: &str, scope_id: &str, ipam_id: &str) -> ec2::builders::IpamPoolBuilder {
    ec2::IpamPool::builder()
        .owner_id(ACCOUNT)
        .ipam_pool_id(pool_id)
        .ipam_pool_arn(pool_arn(pool_id))
        .ipam_scope_arn(scope_arn(scope_id))
        .ipam_scope_type(ec2::IpamScopeType::Private)
        .ipam_arn(ipam_arn(ipam_id))
        .ipam_region(REGION)
        .locale("None")
        .pool_depth(1)
        .state(ec2::IpamPoolState::CreateComplete)
        .auto_import(false)
        .address_family(ec2::AddressFamily::Ipv4)
}

fn pool(pool_id: &str, scope_id: &str, ipam_id: &str) -> ec2::IpamPool {
    pool_shape(pool_id, scope_id, ipam_id).build()
}

/// A pool CIDR as GetIpamPoolCidrs returns it.
fn pool_cidr(cidr: &str, state: ec2::IpamPoolCidrState) -> ec2::IpamPoolCidr {
    let netmask = cidr
        .rsplit('/')
        .next()
        .and_then(|p| p.parse::<i32>().ok())
        .unwrap_or(0);
    ec2::IpamPoolCidr::builder()
        .cidr(cidr)
        .state(state)
        .ipam_pool_cidr_id(format!(
            "ipam-pool-cidr-{}",
            cidr.replace(['.', ':', '/'], "-")
        ))
        .netmask_length(netmask)
        .build()
}

fn provisioned(cidr: &str) -> ec2::IpamPoolCidr {
    pool_cidr(cidr, ec2::IpamPoolCidrState::Provisioned)
}

/// An allocation as GetIpamPoolAllocations returns it.
fn allocation(
    alloc_id: &str,
    cidr: &str,
    kind: ec2::IpamPoolAllocationResourceType,
    resource_id: Option<&str>,
    resource_region: &str,
    owner: &str,
) -> ec2::IpamPoolAllocation {
    ec2::IpamPoolAllocation::builder()
        .cidr(cidr)
        .ipam_pool_allocation_id(alloc_id)
        .resource_type(kind)
        .set_resource_id(resource_id.map(str::to_owned))
        .resource_region(resource_region)
        .resource_owner(owner)
        .build()
}

fn vpc_allocation(alloc_id: &str, cidr: &str, vpc_id: &str) -> ec2::IpamPoolAllocation {
    allocation(
        alloc_id,
        cidr,
        ec2::IpamPoolAllocationResourceType::Vpc,
        Some(vpc_id),
        REGION,
        MEMBER,
    )
}

/// A resource CIDR as GetIpamResourceCidrs returns it (managed, compliant VPC).
fn resource_shape(
    scope_id: &str,
    resource_id: &str,
    cidr: &str,
) -> ec2::builders::IpamResourceCidrBuilder {
    ec2::IpamResourceCidr::builder()
        .ipam_id(IPAM_A)
        .ipam_scope_id(scope_id)
        .resource_region(REGION)
        .resource_owner_id(MEMBER)
        .resource_id(resource_id)
        .resource_cidr(cidr)
        .resource_type(ec2::IpamResourceType::Vpc)
        .vpc_id(resource_id)
        .ip_usage(0.25)
        .compliance_status(ec2::IpamComplianceStatus::Compliant)
        .management_state(ec2::IpamManagementState::Managed)
        .overlap_status(ec2::IpamOverlapStatus::Nonoverlapping)
}

fn resource(scope_id: &str, resource_id: &str, cidr: &str) -> ec2::IpamResourceCidr {
    resource_shape(scope_id, resource_id, cidr).build()
}

/// AccessDenied as EC2 words it. The message deliberately names no pool or scope, so
/// that any id found in a ScanError message was put there by the adapter.
fn unauthorized() -> HttpResponse {
    ec2_error(
        403,
        "UnauthorizedOperation",
        "You are not authorized to perform this operation. Encoded authorization failure \
         message: 4Ad2zS7lGxjVd1iJ0yQ8cQ",
    )
}

fn ipams_page(items: Vec<ec2::Ipam>, next: Option<&str>) -> DescribeIpamsOutput {
    DescribeIpamsOutput::builder()
        .set_ipams(Some(items))
        .set_next_token(next.map(str::to_owned))
        .build()
}

fn scopes_page(items: Vec<ec2::IpamScope>, next: Option<&str>) -> DescribeIpamScopesOutput {
    DescribeIpamScopesOutput::builder()
        .set_ipam_scopes(Some(items))
        .set_next_token(next.map(str::to_owned))
        .build()
}

fn pools_page(items: Vec<ec2::IpamPool>, next: Option<&str>) -> DescribeIpamPoolsOutput {
    DescribeIpamPoolsOutput::builder()
        .set_ipam_pools(Some(items))
        .set_next_token(next.map(str::to_owned))
        .build()
}

fn cidrs_page(items: Vec<ec2::IpamPoolCidr>, next: Option<&str>) -> GetIpamPoolCidrsOutput {
    GetIpamPoolCidrsOutput::builder()
        .set_ipam_pool_cidrs(Some(items))
        .set_next_token(next.map(str::to_owned))
        .build()
}

fn allocations_page(
    items: Vec<ec2::IpamPoolAllocation>,
    next: Option<&str>,
) -> GetIpamPoolAllocationsOutput {
    GetIpamPoolAllocationsOutput::builder()
        .set_ipam_pool_allocations(Some(items))
        .set_next_token(next.map(str::to_owned))
        .build()
}

fn resources_page(
    items: Vec<ec2::IpamResourceCidr>,
    next: Option<&str>,
) -> GetIpamResourceCidrsOutput {
    GetIpamResourceCidrsOutput::builder()
        .set_ipam_resource_cidrs(Some(items))
        .set_next_token(next.map(str::to_owned))
        .build()
}

// Single-page rules: each matches only a first-page request with MaxResults as the
// adapter must send it (and the pool or scope it is about), so a wrong request finds
// no rule and the mock panics.

fn ipams_rule(items: Vec<ec2::Ipam>) -> Rule {
    mock!(Client::describe_ipams)
        .match_requests(|r| r.max_results() == Some(PAGE_SIZE) && r.next_token().is_none())
        .then_output(move || ipams_page(items.clone(), None))
}

fn scopes_rule(items: Vec<ec2::IpamScope>) -> Rule {
    mock!(Client::describe_ipam_scopes)
        .match_requests(|r| r.max_results() == Some(PAGE_SIZE) && r.next_token().is_none())
        .then_output(move || scopes_page(items.clone(), None))
}

fn pools_rule(items: Vec<ec2::IpamPool>) -> Rule {
    mock!(Client::describe_ipam_pools)
        .match_requests(|r| r.max_results() == Some(PAGE_SIZE) && r.next_token().is_none())
        .then_output(move || pools_page(items.clone(), None))
}

fn cidrs_rule(pool_id: &'static str, items: Vec<ec2::IpamPoolCidr>) -> Rule {
    mock!(Client::get_ipam_pool_cidrs)
        .match_requests(move |r| {
            r.ipam_pool_id() == Some(pool_id)
                && r.max_results() == Some(PAGE_SIZE)
                && r.next_token().is_none()
        })
        .then_output(move || cidrs_page(items.clone(), None))
}

fn allocations_rule(pool_id: &'static str, items: Vec<ec2::IpamPoolAllocation>) -> Rule {
    mock!(Client::get_ipam_pool_allocations)
        .match_requests(move |r| {
            r.ipam_pool_id() == Some(pool_id)
                && r.max_results() == Some(ALLOCATIONS_PAGE_SIZE)
                && r.next_token().is_none()
        })
        .then_output(move || allocations_page(items.clone(), None))
}

fn resources_rule(scope_id: &'static str, items: Vec<ec2::IpamResourceCidr>) -> Rule {
    mock!(Client::get_ipam_resource_cidrs)
        .match_requests(move |r| {
            r.ipam_scope_id() == Some(scope_id)
                && r.max_results() == Some(PAGE_SIZE)
                && r.next_token().is_none()
        })
        .then_output(move || resources_page(items.clone(), None))
}

/// What each request of one operation (for one pool or scope) carried:
/// (MaxResults, NextToken), in the order the requests were made.
type Requests = Vec<(Option<i32>, Option<String>)>;
type Seen = Arc<Mutex<Requests>>;

fn requests(seen: &Seen) -> Requests {
    seen.lock().unwrap().clone()
}

/// The requests one paginated read must make: the first page without a token, then
/// one request per NextToken, always with `max`.
fn chain(max: i32, tokens: &[&str]) -> Requests {
    std::iter::once((Some(max), None))
        .chain(tokens.iter().map(|t| (Some(max), Some(t.to_string()))))
        .collect()
}

/// One rule serving `pages` (an array of outputs) of an operation: the page is chosen by the request's
/// NextToken (none = first page, otherwise the page after the one that handed the
/// token out). It matches only requests for which `filter` holds and records their
/// (MaxResults, NextToken) in `seen`. An unknown token makes the mock panic.
macro_rules! paged_rule {
    ($op:expr, $seen:expr, $pages:expr) => {
        paged_rule!($op, $seen, $pages, |_r| true)
    };
    ($op:expr, $seen:expr, $pages:expr, |$r:ident| $filter:expr) => {{
        let seen: Seen = $seen.clone();
        let pages = $pages;
        mock!($op)
            .match_requests(move |$r| {
                let hit = $filter;
                if hit {
                    seen.lock()
                        .unwrap()
                        .push(($r.max_results(), $r.next_token().map(str::to_owned)));
                }
                hit
            })
            .then_compute_output(move |r| {
                let i = match r.next_token() {
                    None => 0,
                    Some(t) => {
                        1 + pages
                            .iter()
                            .position(|p| p.next_token() == Some(t))
                            .unwrap_or_else(|| panic!("request with unknown NextToken {t:?}"))
                    }
                };
                pages[i].clone()
            })
    }};
}

fn pool_by_id<'a>(inv: &'a IpamInventory, id: &str) -> &'a IpamPool {
    inv.pools.iter().find(|p| p.id == id).unwrap_or_else(|| {
        panic!(
            "pool {id} missing from {:?}",
            inv.pools.iter().map(|p| &p.id).collect::<Vec<_>>()
        )
    })
}

fn pool_ids(inv: &IpamInventory) -> Vec<&str> {
    inv.pools.iter().map(|p| p.id.as_str()).collect()
}

fn resource_ids(inv: &IpamInventory) -> Vec<(&str, String)> {
    inv.resource_cidrs
        .iter()
        .map(|r| (r.resource_id.as_str(), r.cidr.to_string()))
        .collect()
}

fn alloc_cidrs(p: &IpamPool) -> Vec<IpNet> {
    p.allocations.iter().map(|a| a.cidr).collect()
}

// ---------------------------------------------------------------------------------
// Pagination
// ---------------------------------------------------------------------------------

#[tokio::test]
async fn every_page_of_every_ipam_operation_is_read_once() {
    // DescribeIpams: two pages (two IPAMs homed in the region).
    let seen_ipams = Seen::default();
    let ipams = paged_rule!(
        Client::describe_ipams,
        seen_ipams,
        [
            ipams_page(vec![ipam(IPAM_A)], Some("ipams-tok-2")),
            ipams_page(vec![ipam(IPAM_B)], None),
        ]
    );

    // DescribeIpamScopes: three pages, the middle one empty but with a token (EC2 does
    // answer like that); paging must not stop there.
    let seen_scopes = Seen::default();
    let scopes = paged_rule!(
        Client::describe_ipam_scopes,
        seen_scopes,
        [
            scopes_page(
                vec![
                    ipam_scope(SCOPE_A_PRIVATE, IPAM_A, ec2::IpamScopeType::Private),
                    ipam_scope(SCOPE_A_PUBLIC, IPAM_A, ec2::IpamScopeType::Public),
                ],
                Some("scopes-tok-2"),
            ),
            scopes_page(vec![], Some("scopes-tok-3")),
            scopes_page(
                vec![ipam_scope(
                    SCOPE_B_PRIVATE,
                    IPAM_B,
                    ec2::IpamScopeType::Private,
                )],
                None,
            ),
        ]
    );

    // DescribeIpamPools: three pages of one pool each.
    let seen_pools = Seen::default();
    let pools = paged_rule!(
        Client::describe_ipam_pools,
        seen_pools,
        [
            pools_page(
                vec![pool(POOL_A1, SCOPE_A_PRIVATE, IPAM_A)],
                Some("pools-tok-2")
            ),
            pools_page(
                vec![pool_shape(POOL_A2, SCOPE_A_PRIVATE, IPAM_A)
                    .source_ipam_pool_id(POOL_A1)
                    .pool_depth(2)
                    .locale(REGION)
                    .build()],
                Some("pools-tok-3"),
            ),
            pools_page(vec![pool(POOL_B1, SCOPE_B_PRIVATE, IPAM_B)], None),
        ]
    );

    // GetIpamPoolCidrs and GetIpamPoolAllocations: two pages per pool.
    let cidr_pages = |a: &str, b: &str, tok: &str| {
        vec![
            cidrs_page(vec![provisioned(a)], Some(tok)),
            cidrs_page(vec![provisioned(b)], None),
        ]
    };
    let seen_cidrs_a1 = Seen::default();
    let cidrs_a1 = paged_rule!(
        Client::get_ipam_pool_cidrs,
        seen_cidrs_a1,
        cidr_pages("10.0.0.0/12", "10.16.0.0/12", "a1-cidrs-tok-2"),
        |r| r.ipam_pool_id() == Some(POOL_A1)
    );
    let seen_cidrs_a2 = Seen::default();
    let cidrs_a2 = paged_rule!(
        Client::get_ipam_pool_cidrs,
        seen_cidrs_a2,
        cidr_pages("10.0.0.0/16", "10.1.0.0/16", "a2-cidrs-tok-2"),
        |r| r.ipam_pool_id() == Some(POOL_A2)
    );
    let seen_cidrs_b1 = Seen::default();
    let cidrs_b1 = paged_rule!(
        Client::get_ipam_pool_cidrs,
        seen_cidrs_b1,
        cidr_pages("172.16.0.0/16", "172.17.0.0/16", "b1-cidrs-tok-2"),
        |r| r.ipam_pool_id() == Some(POOL_B1)
    );

    let seen_allocs_a1 = Seen::default();
    let allocs_a1 = paged_rule!(
        Client::get_ipam_pool_allocations,
        seen_allocs_a1,
        [
            allocations_page(
                vec![allocation(
                    "ipam-pool-alloc-0a1000000000000000000000000000001",
                    "10.0.0.0/16",
                    ec2::IpamPoolAllocationResourceType::IpamPool,
                    Some(POOL_A2),
                    REGION,
                    ACCOUNT,
                )],
                Some("a1-allocs-tok-2"),
            ),
            allocations_page(
                vec![allocation(
                    "ipam-pool-alloc-0a1000000000000000000000000000002",
                    "10.1.0.0/16",
                    ec2::IpamPoolAllocationResourceType::IpamPool,
                    Some(POOL_A2),
                    REGION,
                    ACCOUNT,
                )],
                None,
            ),
        ],
        |r| r.ipam_pool_id() == Some(POOL_A1)
    );
    let seen_allocs_a2 = Seen::default();
    let allocs_a2 = paged_rule!(
        Client::get_ipam_pool_allocations,
        seen_allocs_a2,
        [
            allocations_page(
                vec![
                    vpc_allocation(
                        "ipam-pool-alloc-0a2000000000000000000000000000001",
                        "10.0.0.0/20",
                        "vpc-0a00000000000001a",
                    ),
                    vpc_allocation(
                        "ipam-pool-alloc-0a2000000000000000000000000000002",
                        "10.0.16.0/20",
                        "vpc-0a00000000000002a",
                    ),
                ],
                Some("a2-allocs-tok-2"),
            ),
            allocations_page(
                vec![vpc_allocation(
                    "ipam-pool-alloc-0a2000000000000000000000000000003",
                    "10.1.0.0/20",
                    "vpc-0a00000000000003a",
                )],
                None,
            ),
        ],
        |r| r.ipam_pool_id() == Some(POOL_A2)
    );
    let seen_allocs_b1 = Seen::default();
    let allocs_b1 = paged_rule!(
        Client::get_ipam_pool_allocations,
        seen_allocs_b1,
        [
            allocations_page(
                vec![allocation(
                    "ipam-pool-alloc-0b1000000000000000000000000000001",
                    "172.16.0.0/20",
                    ec2::IpamPoolAllocationResourceType::Custom,
                    None,
                    REGION,
                    ACCOUNT,
                )],
                Some("b1-allocs-tok-2"),
            ),
            allocations_page(
                vec![vpc_allocation(
                    "ipam-pool-alloc-0b1000000000000000000000000000002",
                    "172.17.0.0/24",
                    "vpc-0b00000000000004b",
                )],
                None,
            ),
        ],
        |r| r.ipam_pool_id() == Some(POOL_B1)
    );

    // GetIpamResourceCidrs: two pages per scope.
    let seen_res_a_priv = Seen::default();
    let res_a_priv = paged_rule!(
        Client::get_ipam_resource_cidrs,
        seen_res_a_priv,
        [
            resources_page(
                vec![
                    resource(SCOPE_A_PRIVATE, "vpc-0a00000000000001a", "10.0.0.0/20"),
                    resource(SCOPE_A_PRIVATE, "vpc-0a00000000000002a", "10.0.16.0/20"),
                ],
                Some("res-a-priv-tok-2"),
            ),
            resources_page(
                vec![resource(
                    SCOPE_A_PRIVATE,
                    "vpc-0a00000000000003a",
                    "10.1.0.0/20",
                )],
                None,
            ),
        ],
        |r| r.ipam_scope_id() == Some(SCOPE_A_PRIVATE)
    );
    let seen_res_a_pub = Seen::default();
    let res_a_pub = paged_rule!(
        Client::get_ipam_resource_cidrs,
        seen_res_a_pub,
        [
            resources_page(
                vec![resource(
                    SCOPE_A_PUBLIC,
                    "vpc-0a00000000000001a",
                    "2600:1f18:abcd:1200::/56",
                )],
                Some("res-a-pub-tok-2"),
            ),
            resources_page(
                vec![
                    resource_shape(SCOPE_A_PUBLIC, "eipalloc-0a0000000000000e1", "3.5.140.2/32")
                        .resource_type(ec2::IpamResourceType::Eip)
                        .set_vpc_id(None)
                        .build()
                ],
                None,
            ),
        ],
        |r| r.ipam_scope_id() == Some(SCOPE_A_PUBLIC)
    );
    let seen_res_b_priv = Seen::default();
    let res_b_priv = paged_rule!(
        Client::get_ipam_resource_cidrs,
        seen_res_b_priv,
        [
            resources_page(
                vec![resource(
                    SCOPE_B_PRIVATE,
                    "vpc-0b00000000000004b",
                    "172.17.0.0/24",
                )],
                Some("res-b-priv-tok-2"),
            ),
            resources_page(
                vec![resource(
                    SCOPE_B_PRIVATE,
                    "vpc-0b00000000000005b",
                    "172.18.0.0/16",
                )],
                None,
            ),
        ],
        |r| r.ipam_scope_id() == Some(SCOPE_B_PRIVATE)
    );

    let rules = [
        &ipams,
        &scopes,
        &pools,
        &cidrs_a1,
        &cidrs_a2,
        &cidrs_b1,
        &allocs_a1,
        &allocs_a2,
        &allocs_b1,
        &res_a_priv,
        &res_a_pub,
        &res_b_priv,
    ];
    let client = mocked(RuleMode::MatchAny, &rules);

    let inv = scan_ipam(&client, &scope()).await.expect("scan succeeds");

    // Every item of every page, exactly once.
    assert!(inv.errors.is_empty(), "errors: {:?}", inv.errors);
    assert_eq!(inv.ipam_ids, vec![IPAM_A, IPAM_B]);
    assert_eq!(pool_ids(&inv), vec![POOL_A1, POOL_A2, POOL_B1]);
    assert_eq!(
        pool_by_id(&inv, POOL_A1).cidrs,
        vec![net("10.0.0.0/12"), net("10.16.0.0/12")]
    );
    assert_eq!(
        pool_by_id(&inv, POOL_A2).cidrs,
        vec![net("10.0.0.0/16"), net("10.1.0.0/16")]
    );
    assert_eq!(
        pool_by_id(&inv, POOL_B1).cidrs,
        vec![net("172.16.0.0/16"), net("172.17.0.0/16")]
    );
    assert_eq!(
        alloc_cidrs(pool_by_id(&inv, POOL_A1)),
        vec![net("10.0.0.0/16"), net("10.1.0.0/16")]
    );
    assert_eq!(
        alloc_cidrs(pool_by_id(&inv, POOL_A2)),
        vec![net("10.0.0.0/20"), net("10.0.16.0/20"), net("10.1.0.0/20")]
    );
    assert_eq!(
        alloc_cidrs(pool_by_id(&inv, POOL_B1)),
        vec![net("172.16.0.0/20"), net("172.17.0.0/24")]
    );
    // Pools of a late page are mapped like those of the first.
    let b1 = pool_by_id(&inv, POOL_B1);
    assert_eq!(
        (b1.ipam_id.as_str(), b1.scope_id.as_str()),
        (IPAM_B, SCOPE_B_PRIVATE)
    );
    let a2 = pool_by_id(&inv, POOL_A2);
    assert_eq!(a2.parent_pool_id.as_deref(), Some(POOL_A1));
    assert_eq!(a2.locale.as_deref(), Some(REGION));
    for p in &inv.pools {
        assert!(p.warnings.is_empty(), "pool {}: {:?}", p.id, p.warnings);
    }

    let mut got = resource_ids(&inv);
    got.sort();
    let mut want = vec![
        ("vpc-0a00000000000001a", "10.0.0.0/20".to_string()),
        ("vpc-0a00000000000002a", "10.0.16.0/20".to_string()),
        ("vpc-0a00000000000003a", "10.1.0.0/20".to_string()),
        (
            "vpc-0a00000000000001a",
            "2600:1f18:abcd:1200::/56".to_string(),
        ),
        ("eipalloc-0a0000000000000e1", "3.5.140.2/32".to_string()),
        ("vpc-0b00000000000004b", "172.17.0.0/24".to_string()),
        ("vpc-0b00000000000005b", "172.18.0.0/16".to_string()),
    ];
    want.sort();
    assert_eq!(got, want, "each resource CIDR of each page exactly once");

    // One request per page, following the NextToken chain, with the MaxResults the
    // code promises: 1000 everywhere; GetIpamPoolAllocations' minimum is 1000.
    assert_eq!(PAGE_SIZE, 1000);
    assert_eq!(ALLOCATIONS_PAGE_SIZE, 1000);
    assert_eq!(requests(&seen_ipams), chain(1000, &["ipams-tok-2"]));
    assert_eq!(
        requests(&seen_scopes),
        chain(1000, &["scopes-tok-2", "scopes-tok-3"])
    );
    assert_eq!(
        requests(&seen_pools),
        chain(1000, &["pools-tok-2", "pools-tok-3"])
    );
    assert_eq!(requests(&seen_cidrs_a1), chain(1000, &["a1-cidrs-tok-2"]));
    assert_eq!(requests(&seen_cidrs_a2), chain(1000, &["a2-cidrs-tok-2"]));
    assert_eq!(requests(&seen_cidrs_b1), chain(1000, &["b1-cidrs-tok-2"]));
    assert_eq!(requests(&seen_allocs_a1), chain(1000, &["a1-allocs-tok-2"]));
    assert_eq!(requests(&seen_allocs_a2), chain(1000, &["a2-allocs-tok-2"]));
    assert_eq!(requests(&seen_allocs_b1), chain(1000, &["b1-allocs-tok-2"]));
    assert_eq!(
        requests(&seen_res_a_priv),
        chain(1000, &["res-a-priv-tok-2"])
    );
    assert_eq!(requests(&seen_res_a_pub), chain(1000, &["res-a-pub-tok-2"]));
    assert_eq!(
        requests(&seen_res_b_priv),
        chain(1000, &["res-b-priv-tok-2"])
    );

    let calls: Vec<usize> = rules.iter().map(|r| r.num_calls()).collect();
    assert_eq!(
        calls,
        vec![2, 3, 3, 2, 2, 2, 2, 2, 2, 2, 2, 2],
        "calls = pages"
    );
}

// ---------------------------------------------------------------------------------
// No IPAM in the region
// ---------------------------------------------------------------------------------

/// Rules for every call after DescribeIpams, answering with data, so that a call
/// that should not happen would also show up in the result.
fn rules_after_describe_ipams() -> Vec<Rule> {
    vec![
        mock!(Client::describe_ipam_scopes).then_output(|| {
            scopes_page(
                vec![ipam_scope(
                    SCOPE_A_PRIVATE,
                    IPAM_A,
                    ec2::IpamScopeType::Private,
                )],
                None,
            )
        }),
        mock!(Client::describe_ipam_pools)
            .then_output(|| pools_page(vec![pool(POOL_A1, SCOPE_A_PRIVATE, IPAM_A)], None)),
        mock!(Client::get_ipam_pool_cidrs)
            .then_output(|| cidrs_page(vec![provisioned("10.0.0.0/8")], None)),
        mock!(Client::get_ipam_pool_allocations).then_output(|| {
            allocations_page(
                vec![vpc_allocation(
                    "ipam-pool-alloc-0a1000000000000000000000000000001",
                    "10.0.0.0/16",
                    "vpc-0a00000000000001a",
                )],
                None,
            )
        }),
        mock!(Client::get_ipam_resource_cidrs).then_output(|| {
            resources_page(
                vec![resource(
                    SCOPE_A_PRIVATE,
                    "vpc-0a00000000000001a",
                    "10.0.0.0/16",
                )],
                None,
            )
        }),
    ]
}

#[tokio::test]
async fn no_ipam_gives_empty_inventory_and_no_other_call() {
    let ipams = ipams_rule(vec![]);
    let others = rules_after_describe_ipams();
    let mut rules = vec![&ipams];
    rules.extend(others.iter());
    let client = mocked(RuleMode::MatchAny, &rules);

    let inv = scan_ipam(&client, &scope())
        .await
        .expect("a region without an IPAM is not an error");

    assert_eq!(inv, IpamInventory::default());
    assert_eq!(ipams.num_calls(), 1);
    let calls: Vec<usize> = others.iter().map(Rule::num_calls).collect();
    assert_eq!(
        calls,
        vec![0, 0, 0, 0, 0],
        "no IPAM call after DescribeIpams"
    );
}

/// EC2 may leave the list out entirely instead of sending an empty one.
#[tokio::test]
async fn describe_ipams_without_a_list_is_no_ipam() {
    let ipams =
        mock!(Client::describe_ipams).then_output(|| DescribeIpamsOutput::builder().build());
    let others = rules_after_describe_ipams();
    let mut rules = vec![&ipams];
    rules.extend(others.iter());
    let client = mocked(RuleMode::MatchAny, &rules);

    let inv = scan_ipam(&client, &scope()).await.expect("no error");

    assert_eq!(inv, IpamInventory::default());
    assert!(others.iter().all(|r| r.num_calls() == 0));
}

// ---------------------------------------------------------------------------------
// Errors and retries
// ---------------------------------------------------------------------------------

#[tokio::test]
async fn access_denied_on_describe_ipams_is_a_scan_error() {
    let ipams = mock!(Client::describe_ipams).then_http_response(unauthorized);
    let others = rules_after_describe_ipams();
    let mut rules = vec![&ipams];
    rules.extend(others.iter());
    let client = mocked(RuleMode::MatchAny, &rules);

    let err: ScanError = scan_ipam(&client, &scope())
        .await
        .expect_err("a denied DescribeIpams fails the scope");

    assert_eq!(err.account_id, ACCOUNT);
    assert_eq!(err.region, REGION);
    assert_eq!(err.operation, "DescribeIpams");
    assert_eq!(err.code.as_deref(), Some("UnauthorizedOperation"));
    assert!(
        err.message.contains("not authorized"),
        "message: {}",
        err.message
    );
    assert_eq!(ipams.num_calls(), 1, "an access error is not retried");
    assert!(
        others.iter().all(|r| r.num_calls() == 0),
        "nothing else is asked after DescribeIpams failed"
    );
}

/// One IPAM with a private and a public scope, two pools: the shared base of the
/// error tests.
fn two_pool_ipam_rules() -> (Rule, Rule, Rule) {
    (
        ipams_rule(vec![ipam(IPAM_A)]),
        scopes_rule(vec![
            ipam_scope(SCOPE_A_PRIVATE, IPAM_A, ec2::IpamScopeType::Private),
            ipam_scope(SCOPE_A_PUBLIC, IPAM_A, ec2::IpamScopeType::Public),
        ]),
        pools_rule(vec![
            pool(POOL_A1, SCOPE_A_PRIVATE, IPAM_A),
            pool_shape(POOL_A2, SCOPE_A_PRIVATE, IPAM_A)
                .source_ipam_pool_id(POOL_A1)
                .pool_depth(2)
                .locale("eu-west-1")
                .build(),
        ]),
    )
}

/// Both pools' provisioned CIDRs and allocations, answered in full.
fn two_pool_detail_rules() -> (Rule, Rule, Rule, Rule) {
    (
        cidrs_rule(POOL_A1, vec![provisioned("10.0.0.0/8")]),
        cidrs_rule(POOL_A2, vec![provisioned("10.0.0.0/16")]),
        allocations_rule(POOL_A1, a1_allocations()),
        allocations_rule(POOL_A2, a2_allocations()),
    )
}

fn a1_allocations() -> Vec<ec2::IpamPoolAllocation> {
    vec![
        allocation(
            "ipam-pool-alloc-0a1000000000000000000000000000001",
            "10.0.0.0/16",
            ec2::IpamPoolAllocationResourceType::IpamPool,
            Some(POOL_A2),
            REGION,
            ACCOUNT,
        ),
        vpc_allocation(
            "ipam-pool-alloc-0a1000000000000000000000000000002",
            "10.1.0.0/16",
            "vpc-0a00000000000001a",
        ),
    ]
}

fn a2_allocations() -> Vec<ec2::IpamPoolAllocation> {
    vec![allocation(
        "ipam-pool-alloc-0a2000000000000000000000000000001",
        "10.0.0.0/20",
        ec2::IpamPoolAllocationResourceType::Vpc,
        Some("vpc-0a00000000000002a"),
        "eu-west-1",
        MEMBER,
    )]
}

#[tokio::test]
async fn access_denied_on_resource_cidrs_keeps_pools_with_one_error_per_scope() {
    let (ipams, scopes, pools) = two_pool_ipam_rules();
    let (cidrs_a1, cidrs_a2, allocs_a1, allocs_a2) = two_pool_detail_rules();
    let denied = mock!(Client::get_ipam_resource_cidrs)
        .match_requests(|r| r.max_results() == Some(PAGE_SIZE))
        .then_http_response(unauthorized);
    let client = mocked(
        RuleMode::MatchAny,
        &[
            &ipams, &scopes, &pools, &cidrs_a1, &cidrs_a2, &allocs_a1, &allocs_a2, &denied,
        ],
    );

    let inv = scan_ipam(&client, &scope())
        .await
        .expect("a denied GetIpamResourceCidrs loses only the resource CIDRs");

    // Pools are complete.
    assert_eq!(inv.ipam_ids, vec![IPAM_A]);
    assert_eq!(pool_ids(&inv), vec![POOL_A1, POOL_A2]);
    assert_eq!(pool_by_id(&inv, POOL_A1).cidrs, vec![net("10.0.0.0/8")]);
    assert_eq!(
        alloc_cidrs(pool_by_id(&inv, POOL_A1)),
        vec![net("10.0.0.0/16"), net("10.1.0.0/16")]
    );
    assert_eq!(pool_by_id(&inv, POOL_A2).cidrs, vec![net("10.0.0.0/16")]);
    assert_eq!(
        alloc_cidrs(pool_by_id(&inv, POOL_A2)),
        vec![net("10.0.0.0/20")]
    );
    assert!(inv.resource_cidrs.is_empty());

    // One error per scope, each naming the operation and its scope.
    assert_eq!(inv.errors.len(), 2, "errors: {:?}", inv.errors);
    for e in &inv.errors {
        assert_eq!(e.account_id, ACCOUNT);
        assert_eq!(e.region, REGION);
        assert_eq!(e.operation, "GetIpamResourceCidrs");
        assert_eq!(e.code.as_deref(), Some("UnauthorizedOperation"));
    }
    for s in [SCOPE_A_PRIVATE, SCOPE_A_PUBLIC] {
        assert_eq!(
            inv.errors.iter().filter(|e| e.message.contains(s)).count(),
            1,
            "exactly one error names scope {s}: {:?}",
            inv.errors
        );
    }
    assert_eq!(denied.num_calls(), 2, "one call per scope, not retried");
}

#[tokio::test]
async fn access_denied_on_one_pools_allocations_keeps_the_other_pool() {
    let (ipams, scopes, pools) = two_pool_ipam_rules();
    let cidrs_a1 = cidrs_rule(POOL_A1, vec![provisioned("10.0.0.0/8")]);
    let cidrs_a2 = cidrs_rule(POOL_A2, vec![provisioned("10.0.0.0/16")]);
    let allocs_a1 = allocations_rule(POOL_A1, a1_allocations());
    let denied_a2 = mock!(Client::get_ipam_pool_allocations)
        .match_requests(|r| r.ipam_pool_id() == Some(POOL_A2))
        .then_http_response(unauthorized);
    let res_private = resources_rule(
        SCOPE_A_PRIVATE,
        vec![resource(
            SCOPE_A_PRIVATE,
            "vpc-0a00000000000001a",
            "10.1.0.0/16",
        )],
    );
    let res_public = resources_rule(SCOPE_A_PUBLIC, vec![]);
    let client = mocked(
        RuleMode::MatchAny,
        &[
            &ipams,
            &scopes,
            &pools,
            &cidrs_a1,
            &cidrs_a2,
            &allocs_a1,
            &denied_a2,
            &res_private,
            &res_public,
        ],
    );

    let inv = scan_ipam(&client, &scope())
        .await
        .expect("a denied pool is an error in the inventory, not of the scope");

    // The readable pool is complete.
    assert_eq!(pool_ids(&inv), vec![POOL_A1]);
    let a1 = pool_by_id(&inv, POOL_A1);
    assert_eq!(a1.cidrs, vec![net("10.0.0.0/8")]);
    assert_eq!(
        a1.allocations,
        vec![
            PoolAllocation {
                cidr: net("10.0.0.0/16"),
                resource_type: "ipam-pool".into(),
                resource_id: Some(POOL_A2.into()),
                resource_region: Some(REGION.into()),
                resource_owner: Some(ACCOUNT.into()),
            },
            PoolAllocation {
                cidr: net("10.1.0.0/16"),
                resource_type: "vpc".into(),
                resource_id: Some("vpc-0a00000000000001a".into()),
                resource_region: Some(REGION.into()),
                resource_owner: Some(MEMBER.into()),
            },
        ]
    );
    assert!(a1.warnings.is_empty(), "warnings: {:?}", a1.warnings);

    // The denied pool is one error naming it.
    assert_eq!(inv.errors.len(), 1, "errors: {:?}", inv.errors);
    let e = &inv.errors[0];
    assert_eq!(e.account_id, ACCOUNT);
    assert_eq!(e.region, REGION);
    assert_eq!(e.operation, "GetIpamPoolAllocations");
    assert_eq!(e.code.as_deref(), Some("UnauthorizedOperation"));
    assert!(e.message.contains(POOL_A2), "message: {}", e.message);
    assert!(!e.message.contains(POOL_A1), "message: {}", e.message);

    // Resource CIDRs are still read.
    assert_eq!(
        resource_ids(&inv),
        vec![("vpc-0a00000000000001a", "10.1.0.0/16".to_string())]
    );
    assert_eq!(denied_a2.num_calls(), 1, "an access error is not retried");
    assert_eq!(allocs_a1.num_calls(), 1);
}

#[tokio::test]
async fn throttled_first_pages_that_then_succeed_give_full_data() {
    // Each operation's first page is throttled before it answers; DescribeIpams twice.
    let ipams = mock!(Client::describe_ipams)
        .match_requests(|r| r.max_results() == Some(PAGE_SIZE) && r.next_token().is_none())
        .sequence()
        .http_response(throttled)
        .times(2)
        .output(|| ipams_page(vec![ipam(IPAM_A)], None))
        .build();
    let scopes = mock!(Client::describe_ipam_scopes)
        .match_requests(|r| r.max_results() == Some(PAGE_SIZE) && r.next_token().is_none())
        .sequence()
        .http_response(throttled)
        .output(|| {
            scopes_page(
                vec![
                    ipam_scope(SCOPE_A_PRIVATE, IPAM_A, ec2::IpamScopeType::Private),
                    ipam_scope(SCOPE_A_PUBLIC, IPAM_A, ec2::IpamScopeType::Public),
                ],
                None,
            )
        })
        .build();
    let pools_p1 = mock!(Client::describe_ipam_pools)
        .match_requests(|r| r.max_results() == Some(PAGE_SIZE) && r.next_token().is_none())
        .sequence()
        .http_response(throttled)
        .output(|| {
            pools_page(
                vec![pool(POOL_A1, SCOPE_A_PRIVATE, IPAM_A)],
                Some("pools-tok-2"),
            )
        })
        .build();
    let pools_p2 = mock!(Client::describe_ipam_pools)
        .match_requests(|r| {
            r.max_results() == Some(PAGE_SIZE) && r.next_token() == Some("pools-tok-2")
        })
        .sequence()
        .output(|| {
            pools_page(
                vec![pool_shape(POOL_A2, SCOPE_A_PRIVATE, IPAM_A)
                    .source_ipam_pool_id(POOL_A1)
                    .pool_depth(2)
                    .locale("eu-west-1")
                    .build()],
                None,
            )
        })
        .build();
    let cidrs_a1 = mock!(Client::get_ipam_pool_cidrs)
        .match_requests(|r| r.ipam_pool_id() == Some(POOL_A1) && r.next_token().is_none())
        .sequence()
        .http_response(throttled)
        .output(|| cidrs_page(vec![provisioned("10.0.0.0/8")], None))
        .build();
    let cidrs_a2 = cidrs_rule(POOL_A2, vec![provisioned("10.0.0.0/16")]);
    let allocs_a1 = mock!(Client::get_ipam_pool_allocations)
        .match_requests(|r| {
            r.ipam_pool_id() == Some(POOL_A1)
                && r.max_results() == Some(ALLOCATIONS_PAGE_SIZE)
                && r.next_token().is_none()
        })
        .sequence()
        .http_response(throttled)
        .output(|| allocations_page(a1_allocations(), None))
        .build();
    let allocs_a2 = allocations_rule(POOL_A2, a2_allocations());
    let res_priv_p1 = mock!(Client::get_ipam_resource_cidrs)
        .match_requests(|r| r.ipam_scope_id() == Some(SCOPE_A_PRIVATE) && r.next_token().is_none())
        .sequence()
        .http_response(throttled)
        .output(|| {
            resources_page(
                vec![resource(
                    SCOPE_A_PRIVATE,
                    "vpc-0a00000000000001a",
                    "10.1.0.0/16",
                )],
                Some("res-tok-2"),
            )
        })
        .build();
    let res_priv_p2 = mock!(Client::get_ipam_resource_cidrs)
        .match_requests(|r| {
            r.ipam_scope_id() == Some(SCOPE_A_PRIVATE) && r.next_token() == Some("res-tok-2")
        })
        .sequence()
        .output(|| {
            resources_page(
                vec![resource(
                    SCOPE_A_PRIVATE,
                    "vpc-0a00000000000002a",
                    "10.0.0.0/20",
                )],
                None,
            )
        })
        .build();
    let res_pub = resources_rule(SCOPE_A_PUBLIC, vec![]);
    let rules = [
        &ipams,
        &scopes,
        &pools_p1,
        &pools_p2,
        &cidrs_a1,
        &cidrs_a2,
        &allocs_a1,
        &allocs_a2,
        &res_priv_p1,
        &res_priv_p2,
        &res_pub,
    ];
    let client = mocked(RuleMode::MatchAny, &rules);

    let inv = tokio::time::timeout(Duration::from_secs(30), scan_ipam(&client, &scope()))
        .await
        .expect("retries with a 1 ms backoff finish quickly")
        .expect("throttling that clears is retried transparently");

    assert!(inv.errors.is_empty(), "errors: {:?}", inv.errors);
    assert_eq!(inv.ipam_ids, vec![IPAM_A]);
    assert_eq!(pool_ids(&inv), vec![POOL_A1, POOL_A2]);
    let a1 = pool_by_id(&inv, POOL_A1);
    assert_eq!(a1.cidrs, vec![net("10.0.0.0/8")]);
    assert_eq!(
        alloc_cidrs(a1),
        vec![net("10.0.0.0/16"), net("10.1.0.0/16")]
    );
    let a2 = pool_by_id(&inv, POOL_A2);
    assert_eq!(a2.cidrs, vec![net("10.0.0.0/16")]);
    assert_eq!(alloc_cidrs(a2), vec![net("10.0.0.0/20")]);
    assert_eq!(
        resource_ids(&inv),
        vec![
            ("vpc-0a00000000000001a", "10.1.0.0/16".to_string()),
            ("vpc-0a00000000000002a", "10.0.0.0/20".to_string()),
        ],
        "no resource lost or duplicated by a retry"
    );
    let calls: Vec<usize> = rules.iter().map(|r| r.num_calls()).collect();
    assert_eq!(calls, vec![3, 2, 2, 1, 2, 1, 2, 1, 2, 1, 1]);
}

#[tokio::test]
async fn throttling_that_never_clears_on_pool_cidrs_loses_only_that_pool() {
    let (ipams, scopes, pools) = two_pool_ipam_rules();
    let cidrs_a1 = cidrs_rule(POOL_A1, vec![provisioned("10.0.0.0/8")]);
    let cidrs_a2 = mock!(Client::get_ipam_pool_cidrs)
        .match_requests(|r| r.ipam_pool_id() == Some(POOL_A2))
        .sequence()
        .http_response(throttled)
        .repeatedly()
        .build();
    let allocs_a1 = allocations_rule(POOL_A1, a1_allocations());
    let allocs_a2 = allocations_rule(POOL_A2, a2_allocations());
    let res_private = resources_rule(SCOPE_A_PRIVATE, vec![]);
    let res_public = resources_rule(SCOPE_A_PUBLIC, vec![]);
    let client = mocked(
        RuleMode::MatchAny,
        &[
            &ipams,
            &scopes,
            &pools,
            &cidrs_a1,
            &cidrs_a2,
            &allocs_a1,
            &allocs_a2,
            &res_private,
            &res_public,
        ],
    );

    let inv = tokio::time::timeout(Duration::from_secs(30), scan_ipam(&client, &scope()))
        .await
        .expect("retries with a 1 ms backoff finish quickly")
        .expect("one pool's failure is not the scope's");

    assert_eq!(pool_ids(&inv), vec![POOL_A1]);
    assert_eq!(inv.errors.len(), 1, "errors: {:?}", inv.errors);
    let e = &inv.errors[0];
    assert_eq!(e.operation, "GetIpamPoolCidrs");
    assert_eq!(e.code.as_deref(), Some("RequestLimitExceeded"));
    assert!(e.message.contains(POOL_A2), "message: {}", e.message);
    assert_eq!(
        cidrs_a2.num_calls(),
        3,
        "max_attempts = 3: one call and two retries"
    );
    // The other pool is complete.
    let a1 = pool_by_id(&inv, POOL_A1);
    assert_eq!(a1.cidrs, vec![net("10.0.0.0/8")]);
    assert_eq!(
        alloc_cidrs(a1),
        vec![net("10.0.0.0/16"), net("10.1.0.0/16")]
    );
}

// ---------------------------------------------------------------------------------
// Mapping
// ---------------------------------------------------------------------------------

#[tokio::test]
async fn pools_allocations_and_resource_cidrs_are_mapped() {
    let top = pool_shape(POOL_A1, SCOPE_A_PRIVATE, IPAM_A)
        .description("Organization private IPv4")
        .allocation_default_netmask_length(16)
        .tags(tag("Name", "org-private"))
        .tags(tag("ipam-monitor:warning", "70"))
        .build();
    let child = pool_shape(POOL_A2, SCOPE_A_PRIVATE, IPAM_A)
        .source_ipam_pool_id(POOL_A1)
        .pool_depth(2)
        .locale("eu-west-1")
        .description("eu-west-1 workloads")
        .tags(tag("Name", "euw1"))
        .build();
    let ipams = ipams_rule(vec![ipam(IPAM_A)]);
    let scopes = scopes_rule(vec![ipam_scope(
        SCOPE_A_PRIVATE,
        IPAM_A,
        ec2::IpamScopeType::Private,
    )]);
    let pools = pools_rule(vec![top, child]);
    let cidrs_top = cidrs_rule(
        POOL_A1,
        vec![
            provisioned("10.0.0.0/8"),
            pool_cidr("172.16.0.0/12", ec2::IpamPoolCidrState::PendingProvision),
            pool_cidr("192.168.0.0/16", ec2::IpamPoolCidrState::FailedProvision),
            pool_cidr("198.18.0.0/15", ec2::IpamPoolCidrState::Deprovisioned),
            provisioned("100.64.0.0/10"),
            // Still provisioned while a deprovisioning is pending or has failed.
            pool_cidr("203.0.113.0/24", ec2::IpamPoolCidrState::PendingDeprovision),
            pool_cidr("198.51.100.0/24", ec2::IpamPoolCidrState::FailedDeprovision),
        ],
    );
    let cidrs_child = cidrs_rule(POOL_A2, vec![provisioned("10.0.0.0/16")]);
    let allocs_top = allocations_rule(
        POOL_A1,
        vec![
            allocation(
                "ipam-pool-alloc-0a1000000000000000000000000000001",
                "10.0.0.0/16",
                ec2::IpamPoolAllocationResourceType::IpamPool,
                Some(POOL_A2),
                REGION,
                ACCOUNT,
            ),
            allocation(
                "ipam-pool-alloc-0a1000000000000000000000000000002",
                "10.300.0.0/16",
                ec2::IpamPoolAllocationResourceType::Custom,
                None,
                REGION,
                ACCOUNT,
            ),
            allocation(
                "ipam-pool-alloc-0a1000000000000000000000000000003",
                "100.64.0.0/16",
                ec2::IpamPoolAllocationResourceType::Custom,
                None,
                REGION,
                ACCOUNT,
            ),
        ],
    );
    let allocs_child = allocations_rule(
        POOL_A2,
        vec![allocation(
            "ipam-pool-alloc-0a2000000000000000000000000000001",
            "10.0.0.0/20",
            ec2::IpamPoolAllocationResourceType::Vpc,
            Some("vpc-0123456789abcdef0"),
            "eu-west-1",
            MEMBER,
        )],
    );
    let resources = resources_rule(
        SCOPE_A_PRIVATE,
        vec![
            resource_shape(SCOPE_A_PRIVATE, "vpc-0123456789abcdef0", "10.0.0.0/20")
                .resource_region("eu-west-1")
                .ipam_pool_id(POOL_A2)
                .ip_usage(0.4375)
                .build(),
            resource_shape(SCOPE_A_PRIVATE, "subnet-0123456789abcdef1", "10.0.1.0/24")
                .resource_region("eu-west-1")
                .resource_type(ec2::IpamResourceType::Subnet)
                .vpc_id("vpc-0123456789abcdef0")
                .ip_usage(0.95)
                .build(),
            resource_shape(SCOPE_A_PRIVATE, "vpc-0feedface00000001", "10.0.0.0/16")
                .resource_owner_id(STRANGER)
                .ip_usage(0.0)
                .compliance_status(ec2::IpamComplianceStatus::Unmanaged)
                .management_state(ec2::IpamManagementState::Unmanaged)
                .overlap_status(ec2::IpamOverlapStatus::Overlapping)
                .build(),
            resource_shape(SCOPE_A_PRIVATE, "vpc-0badc0ffee0000001", "10.2.0.0/16")
                .ipam_pool_id(POOL_A1)
                .ip_usage(0.1)
                .compliance_status(ec2::IpamComplianceStatus::Noncompliant)
                .management_state(ec2::IpamManagementState::Ignored)
                .overlap_status(ec2::IpamOverlapStatus::Ignored)
                .build(),
        ],
    );
    let client = mocked(
        RuleMode::MatchAny,
        &[
            &ipams,
            &scopes,
            &pools,
            &cidrs_top,
            &cidrs_child,
            &allocs_top,
            &allocs_child,
            &resources,
        ],
    );

    let inv = scan_ipam(&client, &scope()).await.expect("scan succeeds");

    assert!(inv.errors.is_empty(), "errors: {:?}", inv.errors);
    assert_eq!(inv.ipam_ids, vec![IPAM_A]);

    // Top-level pool: ids from ARNs, "None" locale is no locale, only provisioned CIDRs,
    // the malformed allocation is a warning naming its value.
    let mut top = pool_by_id(&inv, POOL_A1).clone();
    let warnings = std::mem::take(&mut top.warnings);
    assert_eq!(
        top,
        IpamPool {
            id: POOL_A1.into(),
            ipam_id: IPAM_A.into(),
            scope_id: SCOPE_A_PRIVATE.into(),
            scope_type: "private".into(),
            parent_pool_id: None,
            locale: None,
            depth: Some(1),
            account_id: ACCOUNT.into(),
            region: REGION.into(),
            description: Some("Organization private IPv4".into()),
            tags: tags(&[("Name", "org-private"), ("ipam-monitor:warning", "70")]),
            cidrs: vec![
                net("10.0.0.0/8"),
                net("100.64.0.0/10"),
                net("203.0.113.0/24"),
                net("198.51.100.0/24"),
            ],
            allocations: vec![
                PoolAllocation {
                    cidr: net("10.0.0.0/16"),
                    resource_type: "ipam-pool".into(),
                    resource_id: Some(POOL_A2.into()),
                    resource_region: Some(REGION.into()),
                    resource_owner: Some(ACCOUNT.into()),
                },
                PoolAllocation {
                    cidr: net("100.64.0.0/16"),
                    resource_type: "custom".into(),
                    resource_id: None,
                    resource_region: Some(REGION.into()),
                    resource_owner: Some(ACCOUNT.into()),
                },
            ],
            warnings: vec![],
        }
    );
    assert_eq!(warnings.len(), 1, "warnings: {warnings:?}");
    assert!(
        warnings[0].contains("10.300.0.0/16"),
        "warning: {warnings:?}"
    );

    // Child pool: parent, depth and locale.
    assert_eq!(
        *pool_by_id(&inv, POOL_A2),
        IpamPool {
            id: POOL_A2.into(),
            ipam_id: IPAM_A.into(),
            scope_id: SCOPE_A_PRIVATE.into(),
            scope_type: "private".into(),
            parent_pool_id: Some(POOL_A1.into()),
            locale: Some("eu-west-1".into()),
            depth: Some(2),
            account_id: ACCOUNT.into(),
            region: REGION.into(),
            description: Some("eu-west-1 workloads".into()),
            tags: tags(&[("Name", "euw1")]),
            cidrs: vec![net("10.0.0.0/16")],
            allocations: vec![PoolAllocation {
                cidr: net("10.0.0.0/20"),
                resource_type: "vpc".into(),
                resource_id: Some("vpc-0123456789abcdef0".into()),
                resource_region: Some("eu-west-1".into()),
                resource_owner: Some(MEMBER.into()),
            }],
            warnings: vec![],
        }
    );

    // Resource CIDRs keep IPAM's own usage, compliance, overlap and management state.
    assert_eq!(
        inv.resource_cidrs,
        vec![
            ResourceCidr {
                resource_id: "vpc-0123456789abcdef0".into(),
                name: None,
                resource_type: "vpc".into(),
                resource_region: Some("eu-west-1".into()),
                resource_owner: Some(MEMBER.into()),
                vpc_id: Some("vpc-0123456789abcdef0".into()),
                pool_id: Some(POOL_A2.into()),
                cidr: net("10.0.0.0/20"),
                ip_usage: Some(0.4375),
                compliance_status: Some("compliant".into()),
                overlap_status: Some("nonoverlapping".into()),
                management_state: Some("managed".into()),
            },
            ResourceCidr {
                resource_id: "subnet-0123456789abcdef1".into(),
                name: None,
                resource_type: "subnet".into(),
                resource_region: Some("eu-west-1".into()),
                resource_owner: Some(MEMBER.into()),
                vpc_id: Some("vpc-0123456789abcdef0".into()),
                pool_id: None,
                cidr: net("10.0.1.0/24"),
                ip_usage: Some(0.95),
                compliance_status: Some("compliant".into()),
                overlap_status: Some("nonoverlapping".into()),
                management_state: Some("managed".into()),
            },
            ResourceCidr {
                resource_id: "vpc-0feedface00000001".into(),
                name: None,
                resource_type: "vpc".into(),
                resource_region: Some(REGION.into()),
                resource_owner: Some(STRANGER.into()),
                vpc_id: Some("vpc-0feedface00000001".into()),
                pool_id: None,
                cidr: net("10.0.0.0/16"),
                ip_usage: Some(0.0),
                compliance_status: Some("unmanaged".into()),
                overlap_status: Some("overlapping".into()),
                management_state: Some("unmanaged".into()),
            },
            ResourceCidr {
                resource_id: "vpc-0badc0ffee0000001".into(),
                name: None,
                resource_type: "vpc".into(),
                resource_region: Some(REGION.into()),
                resource_owner: Some(MEMBER.into()),
                vpc_id: Some("vpc-0badc0ffee0000001".into()),
                pool_id: Some(POOL_A1.into()),
                cidr: net("10.2.0.0/16"),
                ip_usage: Some(0.1),
                compliance_status: Some("noncompliant".into()),
                overlap_status: Some("ignored".into()),
                management_state: Some("ignored".into()),
            },
        ]
    );
}

#[tokio::test]
async fn public_ipv6_pool_with_a_locale_is_mapped() {
    let v6 = pool_shape(POOL_B1, SCOPE_A_PUBLIC, IPAM_A)
        .ipam_scope_type(ec2::IpamScopeType::Public)
        .address_family(ec2::AddressFamily::Ipv6)
        .locale(REGION)
        .aws_service(ec2::IpamPoolAwsService::Ec2)
        .publicly_advertisable(false)
        .build();
    let ipams = ipams_rule(vec![ipam(IPAM_A)]);
    let scopes = scopes_rule(vec![ipam_scope(
        SCOPE_A_PUBLIC,
        IPAM_A,
        ec2::IpamScopeType::Public,
    )]);
    let pools = pools_rule(vec![v6]);
    let cidrs = cidrs_rule(POOL_B1, vec![provisioned("2600:1f18:abcd::/48")]);
    let allocs = allocations_rule(
        POOL_B1,
        vec![vpc_allocation(
            "ipam-pool-alloc-0b1000000000000000000000000000001",
            "2600:1f18:abcd:1200::/56",
            "vpc-0123456789abcdef0",
        )],
    );
    let resources = resources_rule(SCOPE_A_PUBLIC, vec![]);
    let client = mocked(
        RuleMode::MatchAny,
        &[&ipams, &scopes, &pools, &cidrs, &allocs, &resources],
    );

    let inv = scan_ipam(&client, &scope()).await.expect("scan succeeds");

    let p = pool_by_id(&inv, POOL_B1);
    assert_eq!(p.scope_id, SCOPE_A_PUBLIC);
    assert_eq!(p.scope_type, "public");
    assert_eq!(p.locale.as_deref(), Some(REGION));
    assert_eq!(p.cidrs, vec![net("2600:1f18:abcd::/48")]);
    assert_eq!(alloc_cidrs(p), vec![net("2600:1f18:abcd:1200::/56")]);
    assert!(p.warnings.is_empty(), "warnings: {:?}", p.warnings);
}

// ---------------------------------------------------------------------------------
// Scopes of another IPAM
// ---------------------------------------------------------------------------------

#[tokio::test]
async fn scopes_of_another_ipam_are_not_queried_for_resource_cidrs() {
    let ipams = ipams_rule(vec![ipam(IPAM_A)]);
    let scopes = scopes_rule(vec![
        ipam_scope(SCOPE_A_PRIVATE, IPAM_A, ec2::IpamScopeType::Private),
        // Same scope type, another IPAM (another account's).
        ipam_scope_of(
            STRANGER,
            SCOPE_FOREIGN,
            IPAM_FOREIGN,
            ec2::IpamScopeType::Private,
        ),
    ]);
    let pools = pools_rule(vec![pool(POOL_A1, SCOPE_A_PRIVATE, IPAM_A)]);
    let cidrs = cidrs_rule(POOL_A1, vec![provisioned("10.0.0.0/8")]);
    let allocs = allocations_rule(POOL_A1, vec![]);
    let own = resources_rule(
        SCOPE_A_PRIVATE,
        vec![resource(
            SCOPE_A_PRIVATE,
            "vpc-0a00000000000001a",
            "10.0.0.0/16",
        )],
    );
    // Matches any request about the foreign scope (whatever its paging parameters),
    // and would add a resource that must not appear.
    let foreign = mock!(Client::get_ipam_resource_cidrs)
        .match_requests(|r| r.ipam_scope_id() == Some(SCOPE_FOREIGN))
        .then_output(|| {
            resources_page(
                vec![
                    resource_shape(SCOPE_FOREIGN, "vpc-0f00000000000000f", "192.168.0.0/16")
                        .ipam_id(IPAM_FOREIGN)
                        .resource_owner_id(STRANGER)
                        .build(),
                ],
                None,
            )
        });
    let client = mocked(
        RuleMode::MatchAny,
        &[&ipams, &scopes, &pools, &cidrs, &allocs, &own, &foreign],
    );

    let inv = scan_ipam(&client, &scope()).await.expect("scan succeeds");

    assert_eq!(foreign.num_calls(), 0, "the foreign scope was queried");
    assert_eq!(own.num_calls(), 1);
    assert_eq!(
        resource_ids(&inv),
        vec![("vpc-0a00000000000001a", "10.0.0.0/16".to_string())]
    );
    assert!(inv.errors.is_empty(), "errors: {:?}", inv.errors);
    assert_eq!(pool_ids(&inv), vec![POOL_A1]);
}

#[tokio::test]
async fn resource_cidr_pages_read_before_a_failure_are_kept() {
    let (ipams, scopes, pools) = two_pool_ipam_rules();
    let (cidrs_a1, cidrs_a2, allocs_a1, allocs_a2) = two_pool_detail_rules();
    let first = mock!(Client::get_ipam_resource_cidrs)
        .match_requests(|r| r.ipam_scope_id() == Some(SCOPE_A_PRIVATE) && r.next_token().is_none())
        .then_output(|| {
            resources_page(
                vec![resource(
                    SCOPE_A_PRIVATE,
                    "vpc-0a00000000000001a",
                    "10.0.0.0/16",
                )],
                Some("page-2"),
            )
        });
    let second = mock!(Client::get_ipam_resource_cidrs)
        .match_requests(|r| r.next_token() == Some("page-2"))
        .then_http_response(unauthorized);
    let public = resources_rule(SCOPE_A_PUBLIC, vec![]);
    let client = mocked(
        RuleMode::MatchAny,
        &[
            &ipams, &scopes, &pools, &cidrs_a1, &cidrs_a2, &allocs_a1, &allocs_a2, &first, &second,
            &public,
        ],
    );

    let inv = scan_ipam(&client, &scope()).await.expect("scan succeeds");

    assert_eq!(
        resource_ids(&inv),
        vec![("vpc-0a00000000000001a", "10.0.0.0/16".to_string())],
        "the first page's CIDR is kept"
    );
    assert_eq!(inv.errors.len(), 1, "errors: {:?}", inv.errors);
    assert_eq!(inv.errors[0].operation, "GetIpamResourceCidrs");
    assert_eq!(inv.errors[0].code.as_deref(), Some("UnauthorizedOperation"));
    assert!(inv.errors[0].message.contains(SCOPE_A_PRIVATE));
    assert_eq!((first.num_calls(), second.num_calls()), (1, 1));
    assert_eq!(pool_ids(&inv), vec![POOL_A1, POOL_A2]);
}
