//! The EC2 adapter (`source::ec2`) against a real `aws_sdk_ec2::Client` whose HTTP
//! layer is replaced by `aws-smithy-mocks`: pagination, request shapes, mapping of
//! AWS shapes into the inventory types, malformed answers, errors and retries.

mod ec2_mocks;

use aws_sdk_ec2::operation::describe_regions::DescribeRegionsOutput;
use aws_sdk_ec2::operation::describe_subnets::{DescribeSubnetsInput, DescribeSubnetsOutput};
use aws_sdk_ec2::operation::describe_vpcs::{DescribeVpcsInput, DescribeVpcsOutput};
use aws_sdk_ec2::types as ec2;
use aws_sdk_ec2::Client;
use aws_smithy_mocks::{mock, Rule, RuleMode};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use ec2_mocks::{
    ec2_error, mocked, mocked_exactly, net, production_config, scope, tag, tags, throttled,
    ACCOUNT, REGION, SHARING_ACCOUNT,
};
use ipam_monitor::domain::inventory::{ScanError, Scope, ScopeInventory, Subnet, Tags, Vpc};
use ipam_monitor::source::ec2::{list_regions, scan_region, scope_client, PAGE_SIZE};
use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

// ---------------------------------------------------------------------------------
// Fixtures
// ---------------------------------------------------------------------------------

fn v4_assoc(n: u32, cidr: &str, state: ec2::VpcCidrBlockStateCode) -> ec2::VpcCidrBlockAssociation {
    ec2::VpcCidrBlockAssociation::builder()
        .association_id(format!("vpc-cidr-assoc-0a1b2c3d4e5f6{n:04x}"))
        .cidr_block(cidr)
        .cidr_block_state(ec2::VpcCidrBlockState::builder().state(state).build())
        .build()
}

fn v6_assoc(
    n: u32,
    cidr: &str,
    state: ec2::VpcCidrBlockStateCode,
) -> ec2::VpcIpv6CidrBlockAssociation {
    ec2::VpcIpv6CidrBlockAssociation::builder()
        .association_id(format!("vpc-cidr-assoc-0f9e8d7c6b5a4{n:04x}"))
        .ipv6_cidr_block(cidr)
        .ipv6_cidr_block_state(ec2::VpcCidrBlockState::builder().state(state).build())
        .network_border_group(REGION)
        .ipv6_pool("Amazon")
        .build()
}

/// A VPC as DescribeVpcs returns it: primary block both at the top level and in
/// `CidrBlockAssociationSet`.
fn vpc_shape(id: &str, primary: &str) -> ec2::builders::VpcBuilder {
    ec2::Vpc::builder()
        .vpc_id(id)
        .owner_id(ACCOUNT)
        .state(ec2::VpcState::Available)
        .cidr_block(primary)
        .cidr_block_association_set(v4_assoc(1, primary, ec2::VpcCidrBlockStateCode::Associated))
        .dhcp_options_id("dopt-0123456789abcdef0")
        .instance_tenancy(ec2::Tenancy::Default)
        .is_default(false)
}

fn vpc(id: &str, primary: &str) -> ec2::Vpc {
    vpc_shape(id, primary).build()
}

/// A subnet as DescribeSubnets returns it.
fn subnet_shape(
    id: &str,
    vpc_id: &str,
    cidr: &str,
    az: &str,
    available: i32,
) -> ec2::builders::SubnetBuilder {
    ec2::Subnet::builder()
        .subnet_id(id)
        .subnet_arn(format!("arn:aws:ec2:{REGION}:{ACCOUNT}:subnet/{id}"))
        .vpc_id(vpc_id)
        .owner_id(ACCOUNT)
        .state(ec2::SubnetState::Available)
        .cidr_block(cidr)
        .availability_zone(az)
        .availability_zone_id(format!("euw1-az{}", az.len() % 3 + 1))
        .available_ip_address_count(available)
        .default_for_az(false)
        .map_public_ip_on_launch(false)
        .assign_ipv6_address_on_creation(false)
        .ipv6_native(false)
}

fn subnet(id: &str, vpc_id: &str, cidr: &str, az: &str, available: i32) -> ec2::Subnet {
    subnet_shape(id, vpc_id, cidr, az, available).build()
}

fn unauthorized() -> HttpResponse {
    ec2_error(
        403,
        "UnauthorizedOperation",
        "You are not authorized to perform this operation. User: \
         arn:aws:sts::111122223333:assumed-role/ipam-monitor/run is not authorized \
         to perform: ec2:DescribeSubnets",
    )
}

fn vpcs_page(vpcs: Vec<ec2::Vpc>, next: Option<&str>) -> DescribeVpcsOutput {
    DescribeVpcsOutput::builder()
        .set_vpcs(Some(vpcs))
        .set_next_token(next.map(str::to_owned))
        .build()
}

fn subnets_page(subnets: Vec<ec2::Subnet>, next: Option<&str>) -> DescribeSubnetsOutput {
    DescribeSubnetsOutput::builder()
        .set_subnets(Some(subnets))
        .set_next_token(next.map(str::to_owned))
        .build()
}

/// One page of VPCs and one page of subnets, as simple `MatchAny` rules.
fn single_vpc_page(vpcs: Vec<ec2::Vpc>) -> Rule {
    mock!(Client::describe_vpcs)
        .match_requests(|r| r.max_results() == Some(PAGE_SIZE) && r.next_token().is_none())
        .then_output(move || vpcs_page(vpcs.clone(), None))
}

fn single_subnet_page(subnets: Vec<ec2::Subnet>) -> Rule {
    mock!(Client::describe_subnets)
        .match_requests(|r| r.max_results() == Some(PAGE_SIZE) && r.next_token().is_none())
        .then_output(move || subnets_page(subnets.clone(), None))
}

fn ids_vpcs(inv: &ScopeInventory) -> Vec<&str> {
    inv.vpcs.iter().map(|v| v.id.as_str()).collect()
}

fn ids_subnets(inv: &ScopeInventory) -> Vec<&str> {
    inv.subnets.iter().map(|s| s.id.as_str()).collect()
}

fn vpc_by_id<'a>(inv: &'a ScopeInventory, id: &str) -> &'a Vpc {
    inv.vpcs
        .iter()
        .find(|v| v.id == id)
        .unwrap_or_else(|| panic!("VPC {id} missing from {:?}", ids_vpcs(inv)))
}

fn subnet_by_id<'a>(inv: &'a ScopeInventory, id: &str) -> &'a Subnet {
    inv.subnets
        .iter()
        .find(|s| s.id == id)
        .unwrap_or_else(|| panic!("subnet {id} missing from {:?}", ids_subnets(inv)))
}

/// What each request of an operation carried: (MaxResults, NextToken).
type Seen = Arc<Mutex<Vec<(Option<i32>, Option<String>)>>>;

// ---------------------------------------------------------------------------------
// Pagination
// ---------------------------------------------------------------------------------

fn vpc_pages() -> Vec<DescribeVpcsOutput> {
    vec![
        vpcs_page(
            vec![
                vpc("vpc-0a00000000000001a", "10.0.0.0/16"),
                vpc("vpc-0a00000000000002a", "10.1.0.0/16"),
            ],
            Some("eyJ2IjoidnBjLXBhZ2UtMiJ9"),
        ),
        vpcs_page(
            vec![
                vpc("vpc-0a00000000000003a", "10.2.0.0/16"),
                vpc("vpc-0a00000000000004a", "10.3.0.0/16"),
            ],
            Some("eyJ2IjoidnBjLXBhZ2UtMyJ9"),
        ),
        vpcs_page(vec![vpc("vpc-0a00000000000005a", "10.4.0.0/16")], None),
    ]
}

fn subnet_pages() -> Vec<DescribeSubnetsOutput> {
    vec![
        subnets_page(
            vec![
                subnet(
                    "subnet-0b0000000000001b",
                    "vpc-0a00000000000001a",
                    "10.0.0.0/24",
                    "eu-west-1a",
                    251,
                ),
                subnet(
                    "subnet-0b0000000000002b",
                    "vpc-0a00000000000001a",
                    "10.0.1.0/24",
                    "eu-west-1b",
                    200,
                ),
                subnet(
                    "subnet-0b0000000000003b",
                    "vpc-0a00000000000002a",
                    "10.1.0.0/20",
                    "eu-west-1c",
                    4091,
                ),
            ],
            Some("eyJzIjoic3VibmV0LXBhZ2UtMiJ9"),
        ),
        subnets_page(
            vec![
                subnet(
                    "subnet-0b0000000000004b",
                    "vpc-0a00000000000003a",
                    "10.2.0.0/24",
                    "eu-west-1a",
                    10,
                ),
                subnet(
                    "subnet-0b0000000000005b",
                    "vpc-0a00000000000004a",
                    "10.3.0.0/28",
                    "eu-west-1b",
                    0,
                ),
            ],
            Some("eyJzIjoic3VibmV0LXBhZ2UtMyJ9"),
        ),
        subnets_page(
            vec![subnet(
                "subnet-0b0000000000006b",
                "vpc-0a00000000000005a",
                "10.4.0.0/22",
                "eu-west-1c",
                1019,
            )],
            None,
        ),
    ]
}

/// DescribeVpcs rule answering the page named by the request's NextToken; it only
/// matches requests with MaxResults = 1000 and records every request it sees.
fn paged_vpcs_rule(seen: Seen) -> Rule {
    mock!(Client::describe_vpcs)
        .match_requests(move |r: &DescribeVpcsInput| {
            seen.lock()
                .unwrap()
                .push((r.max_results(), r.next_token().map(str::to_owned)));
            r.max_results() == Some(1000)
        })
        .then_compute_output(|r| {
            let pages = vpc_pages();
            match r.next_token() {
                None => pages[0].clone(),
                Some("eyJ2IjoidnBjLXBhZ2UtMiJ9") => pages[1].clone(),
                Some("eyJ2IjoidnBjLXBhZ2UtMyJ9") => pages[2].clone(),
                Some(other) => panic!("DescribeVpcs called with unknown NextToken {other:?}"),
            }
        })
}

fn paged_subnets_rule(seen: Seen) -> Rule {
    mock!(Client::describe_subnets)
        .match_requests(move |r: &DescribeSubnetsInput| {
            seen.lock()
                .unwrap()
                .push((r.max_results(), r.next_token().map(str::to_owned)));
            r.max_results() == Some(1000)
        })
        .then_compute_output(|r| {
            let pages = subnet_pages();
            match r.next_token() {
                None => pages[0].clone(),
                Some("eyJzIjoic3VibmV0LXBhZ2UtMiJ9") => pages[1].clone(),
                Some("eyJzIjoic3VibmV0LXBhZ2UtMyJ9") => pages[2].clone(),
                Some(other) => panic!("DescribeSubnets called with unknown NextToken {other:?}"),
            }
        })
}

#[tokio::test]
async fn three_pages_of_vpcs_and_subnets_are_all_read_once() {
    let seen_vpcs: Seen = Default::default();
    let seen_subnets: Seen = Default::default();
    let vpcs = paged_vpcs_rule(seen_vpcs.clone());
    let subnets = paged_subnets_rule(seen_subnets.clone());
    let client = mocked(RuleMode::MatchAny, &[&vpcs, &subnets]);

    let inv = scan_region(&client, &scope()).await.expect("scan succeeds");

    // Every resource of every page, exactly once, in page order.
    assert_eq!(
        ids_vpcs(&inv),
        vec![
            "vpc-0a00000000000001a",
            "vpc-0a00000000000002a",
            "vpc-0a00000000000003a",
            "vpc-0a00000000000004a",
            "vpc-0a00000000000005a",
        ]
    );
    assert_eq!(
        ids_subnets(&inv),
        vec![
            "subnet-0b0000000000001b",
            "subnet-0b0000000000002b",
            "subnet-0b0000000000003b",
            "subnet-0b0000000000004b",
            "subnet-0b0000000000005b",
            "subnet-0b0000000000006b",
        ]
    );
    let unique: BTreeSet<&str> = ids_subnets(&inv).into_iter().collect();
    assert_eq!(unique.len(), inv.subnets.len(), "a subnet was listed twice");

    // One call per page, following the NextToken chain, always MaxResults = 1000.
    assert_eq!(vpcs.num_calls(), 3, "DescribeVpcs calls");
    assert_eq!(subnets.num_calls(), 3, "DescribeSubnets calls");
    assert_eq!(
        *seen_vpcs.lock().unwrap(),
        vec![
            (Some(1000), None),
            (Some(1000), Some("eyJ2IjoidnBjLXBhZ2UtMiJ9".to_string())),
            (Some(1000), Some("eyJ2IjoidnBjLXBhZ2UtMyJ9".to_string())),
        ]
    );
    assert_eq!(
        *seen_subnets.lock().unwrap(),
        vec![
            (Some(1000), None),
            (Some(1000), Some("eyJzIjoic3VibmV0LXBhZ2UtMiJ9".to_string())),
            (Some(1000), Some("eyJzIjoic3VibmV0LXBhZ2UtMyJ9".to_string())),
        ]
    );

    // Data of a late page is mapped like the first (not just the ids).
    let last = subnet_by_id(&inv, "subnet-0b0000000000006b");
    assert_eq!(last.ipv4_cidr, Some(net("10.4.0.0/22")));
    assert_eq!(last.available_ips, Some(1019));
    assert_eq!(last.vpc_id, "vpc-0a00000000000005a");
    assert_eq!(
        vpc_by_id(&inv, "vpc-0a00000000000004a").ipv4_blocks,
        vec![net("10.3.0.0/16")]
    );
}

/// Same pages served by one rule per page in strict order: a request out of order, or
/// without MaxResults = 1000, makes the mock panic.
#[tokio::test]
async fn pages_are_requested_in_next_token_order() {
    let v = vpc_pages();
    let s = subnet_pages();
    let tokens_v = [
        None,
        Some("eyJ2IjoidnBjLXBhZ2UtMiJ9"),
        Some("eyJ2IjoidnBjLXBhZ2UtMyJ9"),
    ];
    let tokens_s = [
        None,
        Some("eyJzIjoic3VibmV0LXBhZ2UtMiJ9"),
        Some("eyJzIjoic3VibmV0LXBhZ2UtMyJ9"),
    ];
    let mut rules = Vec::new();
    for (page, token) in v.into_iter().zip(tokens_v) {
        rules.push(
            mock!(Client::describe_vpcs)
                .match_requests(move |r| {
                    r.max_results() == Some(PAGE_SIZE) && r.next_token() == token
                })
                .then_output(move || page.clone()),
        );
    }
    for (page, token) in s.into_iter().zip(tokens_s) {
        rules.push(
            mock!(Client::describe_subnets)
                .match_requests(move |r| {
                    r.max_results() == Some(PAGE_SIZE) && r.next_token() == token
                })
                .then_output(move || page.clone()),
        );
    }
    let refs: Vec<&Rule> = rules.iter().collect();
    let client = mocked(RuleMode::Sequential, &refs);

    let inv = scan_region(&client, &scope()).await.expect("scan succeeds");

    assert_eq!(inv.vpcs.len(), 5);
    assert_eq!(inv.subnets.len(), 6);
    for (i, rule) in rules.iter().enumerate() {
        assert_eq!(rule.num_calls(), 1, "rule {i} (one page) called once");
    }
}

#[tokio::test]
async fn empty_region_gives_empty_inventory() {
    let vpcs = single_vpc_page(vec![]);
    let subnets = single_subnet_page(vec![]);
    let client = mocked(RuleMode::MatchAny, &[&vpcs, &subnets]);

    let inv = scan_region(&client, &scope())
        .await
        .expect("an empty region is not an error");

    assert_eq!(inv, ScopeInventory::default());
    assert_eq!(vpcs.num_calls(), 1);
    assert_eq!(subnets.num_calls(), 1);
}

/// AWS leaves the list out entirely (not an empty list) in some empty answers.
#[tokio::test]
async fn answer_without_lists_gives_empty_inventory() {
    let vpcs = mock!(Client::describe_vpcs).then_output(|| DescribeVpcsOutput::builder().build());
    let subnets =
        mock!(Client::describe_subnets).then_output(|| DescribeSubnetsOutput::builder().build());
    let client = mocked(RuleMode::MatchAny, &[&vpcs, &subnets]);

    let inv = scan_region(&client, &scope()).await.expect("no error");

    assert_eq!(inv, ScopeInventory::default());
}

// ---------------------------------------------------------------------------------
// Mapping
// ---------------------------------------------------------------------------------

fn estate_vpc() -> ec2::Vpc {
    vpc_shape("vpc-0123456789abcdef0", "10.0.0.0/16")
        .cidr_block_association_set(v4_assoc(
            2,
            "100.64.0.0/16",
            ec2::VpcCidrBlockStateCode::Associated,
        ))
        .cidr_block_association_set(v4_assoc(
            3,
            "10.50.0.0/16",
            ec2::VpcCidrBlockStateCode::Disassociated,
        ))
        .ipv6_cidr_block_association_set(v6_assoc(
            1,
            "2600:1f18:abcd:1200::/56",
            ec2::VpcCidrBlockStateCode::Associated,
        ))
        .ipv6_cidr_block_association_set(v6_assoc(
            2,
            "2600:1f18:abcd:ff00::/56",
            ec2::VpcCidrBlockStateCode::Disassociated,
        ))
        .tags(tag("Name", "prod-core"))
        .tags(tag("Environment", "prod"))
        .build()
}

fn estate_subnets() -> Vec<ec2::Subnet> {
    vec![
        // Dual stack, own account.
        subnet_shape(
            "subnet-0aaaaaaaaaaaaaaa1",
            "vpc-0123456789abcdef0",
            "10.0.1.0/24",
            "eu-west-1a",
            247,
        )
        .assign_ipv6_address_on_creation(true)
        .ipv6_cidr_block_association_set(
            ec2::SubnetIpv6CidrBlockAssociation::builder()
                .association_id("subnet-cidr-assoc-0123456789abcdef0")
                .ipv6_cidr_block("2600:1f18:abcd:1200::/64")
                .ipv6_cidr_block_state(
                    ec2::SubnetCidrBlockState::builder()
                        .state(ec2::SubnetCidrBlockStateCode::Associated)
                        .build(),
                )
                .build(),
        )
        .ipv6_cidr_block_association_set(
            ec2::SubnetIpv6CidrBlockAssociation::builder()
                .association_id("subnet-cidr-assoc-0123456789abcdef1")
                .ipv6_cidr_block("2600:1f18:abcd:12ff::/64")
                .ipv6_cidr_block_state(
                    ec2::SubnetCidrBlockState::builder()
                        .state(ec2::SubnetCidrBlockStateCode::Disassociated)
                        .build(),
                )
                .build(),
        )
        .tags(tag("Name", "prod-app-a"))
        .tags(tag("ipam-monitor:warning", "70"))
        .build(),
        // Shared through RAM from another account: OwnerId is the VPC owner.
        subnet_shape(
            "subnet-0bbbbbbbbbbbbbbb2",
            "vpc-0fedcba9876543210",
            "10.20.0.0/24",
            "eu-west-1b",
            100,
        )
        .owner_id(SHARING_ACCOUNT)
        .subnet_arn(format!(
            "arn:aws:ec2:{REGION}:{SHARING_ACCOUNT}:subnet/subnet-0bbbbbbbbbbbbbbb2"
        ))
        .tags(tag("Name", "shared-network-b"))
        .build(),
        // Over-consumed /28 (the emulator reports a negative count): carried as-is.
        subnet(
            "subnet-0ccccccccccccccc3",
            "vpc-0123456789abcdef0",
            "100.64.0.0/28",
            "eu-west-1c",
            -4,
        ),
    ]
}

#[tokio::test]
async fn vpc_blocks_tags_and_owner_are_mapped() {
    // The answer tags the VPC Environment=prod and Name=prod-core: only the tags this
    // tool reads (Name, ipam-monitor:*) are kept.
    let vpcs = single_vpc_page(vec![estate_vpc()]);
    let subnets = single_subnet_page(estate_subnets());
    let client = mocked(RuleMode::MatchAny, &[&vpcs, &subnets]);

    let inv = scan_region(&client, &scope()).await.expect("scan succeeds");

    assert_eq!(
        inv.vpcs,
        vec![Vpc {
            id: "vpc-0123456789abcdef0".into(),
            account_id: ACCOUNT.into(),
            region: REGION.into(),
            is_default: false,
            // Primary first, associated secondary kept, disassociated one dropped.
            ipv4_blocks: vec![net("10.0.0.0/16"), net("100.64.0.0/16")],
            ipv6_blocks: vec![net("2600:1f18:abcd:1200::/56")],
            tags: tags(&[("Name", "prod-core")]),
            warnings: vec![],
        }]
    );
}

#[tokio::test]
async fn subnets_are_mapped_with_owner_az_tags_and_raw_available_count() {
    let vpcs = single_vpc_page(vec![estate_vpc()]);
    let subnets = single_subnet_page(estate_subnets());
    let client = mocked(RuleMode::MatchAny, &[&vpcs, &subnets]);

    let inv = scan_region(&client, &scope()).await.expect("scan succeeds");

    assert_eq!(
        inv.subnets,
        vec![
            Subnet {
                id: "subnet-0aaaaaaaaaaaaaaa1".into(),
                vpc_id: "vpc-0123456789abcdef0".into(),
                account_id: ACCOUNT.into(),
                region: REGION.into(),
                availability_zone: "eu-west-1a".into(),
                ipv4_cidr: Some(net("10.0.1.0/24")),
                ipv6_cidrs: vec![net("2600:1f18:abcd:1200::/64")],
                available_ips: Some(247),
                tags: tags(&[("Name", "prod-app-a"), ("ipam-monitor:warning", "70")]),
                warnings: vec![],
            },
            Subnet {
                id: "subnet-0bbbbbbbbbbbbbbb2".into(),
                vpc_id: "vpc-0fedcba9876543210".into(),
                account_id: SHARING_ACCOUNT.into(),
                region: REGION.into(),
                availability_zone: "eu-west-1b".into(),
                ipv4_cidr: Some(net("10.20.0.0/24")),
                ipv6_cidrs: vec![],
                available_ips: Some(100),
                tags: tags(&[("Name", "shared-network-b")]),
                warnings: vec![],
            },
            Subnet {
                id: "subnet-0ccccccccccccccc3".into(),
                vpc_id: "vpc-0123456789abcdef0".into(),
                account_id: ACCOUNT.into(),
                region: REGION.into(),
                availability_zone: "eu-west-1c".into(),
                ipv4_cidr: Some(net("100.64.0.0/28")),
                ipv6_cidrs: vec![],
                available_ips: Some(-4),
                tags: Tags::new(),
                warnings: vec![],
            },
        ]
    );
}

#[tokio::test]
async fn ipv6_only_subnet_has_no_ipv4_and_no_warning() {
    let v6_only = ec2::Subnet::builder()
        .subnet_id("subnet-0dddddddddddddd66")
        .subnet_arn(format!(
            "arn:aws:ec2:{REGION}:{ACCOUNT}:subnet/subnet-0dddddddddddddd66"
        ))
        .vpc_id("vpc-0123456789abcdef0")
        .owner_id(ACCOUNT)
        .state(ec2::SubnetState::Available)
        .availability_zone("eu-west-1a")
        .availability_zone_id("euw1-az1")
        .available_ip_address_count(0)
        .ipv6_native(true)
        .assign_ipv6_address_on_creation(true)
        .ipv6_cidr_block_association_set(
            ec2::SubnetIpv6CidrBlockAssociation::builder()
                .association_id("subnet-cidr-assoc-0aaaaaaaaaaaaaaa6")
                .ipv6_cidr_block("2600:1f18:abcd:1266::/64")
                .ipv6_cidr_block_state(
                    ec2::SubnetCidrBlockState::builder()
                        .state(ec2::SubnetCidrBlockStateCode::Associated)
                        .build(),
                )
                .build(),
        )
        .build();
    let vpcs = single_vpc_page(vec![estate_vpc()]);
    let subnets = single_subnet_page(vec![v6_only]);
    let client = mocked(RuleMode::MatchAny, &[&vpcs, &subnets]);

    let inv = scan_region(&client, &scope()).await.expect("scan succeeds");

    let s = subnet_by_id(&inv, "subnet-0dddddddddddddd66");
    assert_eq!(s.ipv4_cidr, None);
    assert_eq!(s.ipv6_cidrs, vec![net("2600:1f18:abcd:1266::/64")]);
    assert!(s.warnings.is_empty(), "warnings: {:?}", s.warnings);
}

#[tokio::test]
async fn default_vpc_flag_and_top_level_only_cidr_are_mapped() {
    // Some emulators answer with the top-level CidrBlock only.
    let default_vpc = ec2::Vpc::builder()
        .vpc_id("vpc-0d0d0d0d0d0d0d0d0")
        .owner_id(ACCOUNT)
        .state(ec2::VpcState::Available)
        .cidr_block("172.31.0.0/16")
        .is_default(true)
        .build();
    let vpcs = single_vpc_page(vec![default_vpc]);
    let subnets = single_subnet_page(vec![]);
    let client = mocked(RuleMode::MatchAny, &[&vpcs, &subnets]);

    let inv = scan_region(&client, &scope()).await.expect("scan succeeds");

    let v = vpc_by_id(&inv, "vpc-0d0d0d0d0d0d0d0d0");
    assert!(v.is_default);
    assert_eq!(v.ipv4_blocks, vec![net("172.31.0.0/16")]);
    assert!(v.warnings.is_empty(), "warnings: {:?}", v.warnings);
}

// ---------------------------------------------------------------------------------
// Malformed answers
// ---------------------------------------------------------------------------------

#[tokio::test]
async fn malformed_cidrs_become_warnings_naming_the_value() {
    let bad_secondary = vpc_shape("vpc-0badbadbadbadbad1", "10.0.0.0/16")
        .cidr_block_association_set(v4_assoc(
            2,
            "not-a-cidr",
            ec2::VpcCidrBlockStateCode::Associated,
        ))
        .ipv6_cidr_block_association_set(v6_assoc(
            1,
            "2600:1f18:abcd:1200::/129",
            ec2::VpcCidrBlockStateCode::Associated,
        ))
        .build();
    let bad_primary = ec2::Vpc::builder()
        .vpc_id("vpc-0badbadbadbadbad2")
        .owner_id(ACCOUNT)
        .state(ec2::VpcState::Available)
        .cidr_block("10.0.0.0/33")
        .cidr_block_association_set(v4_assoc(
            1,
            "10.0.0.0/33",
            ec2::VpcCidrBlockStateCode::Associated,
        ))
        .is_default(false)
        .build();
    let good_vpc = vpc("vpc-0600d600d600d600d", "10.9.0.0/16");

    let bad_subnet = subnet(
        "subnet-0badbadbadbadbad1",
        "vpc-0badbadbadbadbad1",
        "10.0.0.0/33",
        "eu-west-1a",
        100,
    );
    let host_bits_subnet = subnet(
        "subnet-0badbadbadbadbad2",
        "vpc-0badbadbadbadbad1",
        "10.0.1.7/24",
        "eu-west-1b",
        100,
    );
    let good_subnet = subnet(
        "subnet-0600d600d600d600d",
        "vpc-0600d600d600d600d",
        "10.9.1.0/24",
        "eu-west-1a",
        240,
    );

    let vpcs = single_vpc_page(vec![bad_secondary, bad_primary, good_vpc]);
    let subnets = single_subnet_page(vec![bad_subnet, host_bits_subnet, good_subnet]);
    let client = mocked(RuleMode::MatchAny, &[&vpcs, &subnets]);

    let inv = scan_region(&client, &scope())
        .await
        .expect("malformed CIDRs are warnings, not errors");

    // The good block of a VPC with a bad secondary survives; each bad value is named.
    let v1 = vpc_by_id(&inv, "vpc-0badbadbadbadbad1");
    assert_eq!(v1.ipv4_blocks, vec![net("10.0.0.0/16")]);
    assert!(v1.ipv6_blocks.is_empty());
    assert_eq!(v1.warnings.len(), 2, "warnings: {:?}", v1.warnings);
    assert!(
        v1.warnings.iter().any(|w| w.contains("not-a-cidr")),
        "warnings: {:?}",
        v1.warnings
    );
    assert!(
        v1.warnings
            .iter()
            .any(|w| w.contains("2600:1f18:abcd:1200::/129")),
        "warnings: {:?}",
        v1.warnings
    );

    let v2 = vpc_by_id(&inv, "vpc-0badbadbadbadbad2");
    assert!(v2.ipv4_blocks.is_empty());
    assert!(
        v2.warnings.iter().any(|w| w.contains("10.0.0.0/33")),
        "warnings: {:?}",
        v2.warnings
    );

    let s1 = subnet_by_id(&inv, "subnet-0badbadbadbadbad1");
    assert_eq!(s1.ipv4_cidr, None);
    assert_eq!(s1.available_ips, Some(100));
    assert_eq!(s1.warnings.len(), 1, "warnings: {:?}", s1.warnings);
    assert!(s1.warnings[0].contains("10.0.0.0/33"), "{:?}", s1.warnings);

    let s2 = subnet_by_id(&inv, "subnet-0badbadbadbadbad2");
    assert_eq!(s2.ipv4_cidr, None);
    assert!(
        s2.warnings.iter().any(|w| w.contains("10.0.1.7/24")),
        "warnings: {:?}",
        s2.warnings
    );

    // The healthy resources are untouched.
    let good = vpc_by_id(&inv, "vpc-0600d600d600d600d");
    assert_eq!(good.ipv4_blocks, vec![net("10.9.0.0/16")]);
    assert!(good.warnings.is_empty());
    let good = subnet_by_id(&inv, "subnet-0600d600d600d600d");
    assert_eq!(good.ipv4_cidr, Some(net("10.9.1.0/24")));
    assert_eq!(good.available_ips, Some(240));
    assert!(good.warnings.is_empty());
    assert_eq!(inv.vpcs.len(), 3);
    assert_eq!(inv.subnets.len(), 3);
}

// ---------------------------------------------------------------------------------
// Errors and retries
// ---------------------------------------------------------------------------------

fn first_subnet_page_rule() -> Rule {
    let page = subnet_pages().remove(0);
    mock!(Client::describe_subnets)
        .match_requests(|r| r.max_results() == Some(PAGE_SIZE) && r.next_token().is_none())
        .then_output(move || page.clone())
}

fn is_second_subnet_page(r: &DescribeSubnetsInput) -> bool {
    r.max_results() == Some(PAGE_SIZE) && r.next_token() == Some("eyJzIjoic3VibmV0LXBhZ2UtMiJ9")
}

#[tokio::test]
async fn unauthorized_on_second_subnet_page_is_a_scan_error() {
    let vpcs = single_vpc_page(vec![vpc("vpc-0a00000000000001a", "10.0.0.0/16")]);
    let page1 = first_subnet_page_rule();
    let page2 = mock!(Client::describe_subnets)
        .match_requests(is_second_subnet_page)
        .then_http_response(unauthorized);
    let client = mocked(RuleMode::MatchAny, &[&vpcs, &page1, &page2]);

    let err: ScanError = scan_region(&client, &scope())
        .await
        .expect_err("a denied page fails the scope");

    assert_eq!(err.account_id, ACCOUNT);
    assert_eq!(err.region, REGION);
    assert_eq!(err.operation, "DescribeSubnets");
    assert_eq!(err.code.as_deref(), Some("UnauthorizedOperation"));
    assert!(
        err.message.contains("not authorized"),
        "message: {}",
        err.message
    );
    assert_eq!(page1.num_calls(), 1);
    assert_eq!(page2.num_calls(), 1, "an access error is not retried");
}

#[tokio::test]
async fn throttling_on_every_retry_of_second_subnet_page_is_a_scan_error() {
    let vpcs = single_vpc_page(vec![vpc("vpc-0a00000000000001a", "10.0.0.0/16")]);
    let page1 = first_subnet_page_rule();
    let page2 = mock!(Client::describe_subnets)
        .match_requests(is_second_subnet_page)
        .sequence()
        .http_response(throttled)
        .repeatedly()
        .build();
    let client = mocked(RuleMode::MatchAny, &[&vpcs, &page1, &page2]);

    let err = tokio::time::timeout(Duration::from_secs(30), scan_region(&client, &scope()))
        .await
        .expect("retries with a 1 ms backoff finish quickly")
        .expect_err("throttled on every attempt");

    assert_eq!(err.account_id, ACCOUNT);
    assert_eq!(err.region, REGION);
    assert_eq!(err.operation, "DescribeSubnets");
    assert_eq!(err.code.as_deref(), Some("RequestLimitExceeded"));
    assert_eq!(
        page2.num_calls(),
        3,
        "max_attempts = 3: one call and two retries"
    );
}

#[tokio::test]
async fn throttled_first_pages_that_then_succeed_give_full_data() {
    let v = vpc_pages();
    let s = subnet_pages();
    let mut rules = Vec::new();
    let tokens_v = [
        None,
        Some("eyJ2IjoidnBjLXBhZ2UtMiJ9"),
        Some("eyJ2IjoidnBjLXBhZ2UtMyJ9"),
    ];
    let tokens_s = [
        None,
        Some("eyJzIjoic3VibmV0LXBhZ2UtMiJ9"),
        Some("eyJzIjoic3VibmV0LXBhZ2UtMyJ9"),
    ];
    for (i, (page, token)) in v.into_iter().zip(tokens_v).enumerate() {
        let b = mock!(Client::describe_vpcs)
            .match_requests(move |r| r.max_results() == Some(PAGE_SIZE) && r.next_token() == token)
            .sequence();
        // The first VPC page is throttled twice, then answers.
        let b = if i == 0 {
            b.http_response(throttled).times(2)
        } else {
            b
        };
        rules.push(b.output(move || page.clone()).build());
    }
    for (i, (page, token)) in s.into_iter().zip(tokens_s).enumerate() {
        let b = mock!(Client::describe_subnets)
            .match_requests(move |r| r.max_results() == Some(PAGE_SIZE) && r.next_token() == token)
            .sequence();
        // The first subnet page is throttled once, then answers.
        let b = if i == 0 {
            b.http_response(throttled)
        } else {
            b
        };
        rules.push(b.output(move || page.clone()).build());
    }
    let refs: Vec<&Rule> = rules.iter().collect();
    let client = mocked(RuleMode::MatchAny, &refs);

    let inv = tokio::time::timeout(Duration::from_secs(30), scan_region(&client, &scope()))
        .await
        .expect("retries with a 1 ms backoff finish quickly")
        .expect("throttling that clears is retried transparently");

    assert_eq!(inv.vpcs.len(), 5);
    assert_eq!(inv.subnets.len(), 6);
    let unique: BTreeSet<&str> = ids_vpcs(&inv).into_iter().collect();
    assert_eq!(unique.len(), 5, "no VPC duplicated by a retry");
    let unique: BTreeSet<&str> = ids_subnets(&inv).into_iter().collect();
    assert_eq!(unique.len(), 6, "no subnet duplicated by a retry");
    let calls: Vec<usize> = rules.iter().map(Rule::num_calls).collect();
    assert_eq!(calls, vec![3, 1, 1, 2, 1, 1]);
}

#[tokio::test]
async fn error_on_describe_vpcs_names_that_operation_and_skips_subnets() {
    let vpcs = mock!(Client::describe_vpcs).then_http_response(|| {
        ec2_error(
            403,
            "UnauthorizedOperation",
            "You are not authorized to perform this operation.",
        )
    });
    let subnets = single_subnet_page(vec![]);
    let client = mocked(RuleMode::MatchAny, &[&vpcs, &subnets]);

    let err = scan_region(&client, &scope()).await.expect_err("denied");

    assert_eq!(err.operation, "DescribeVpcs");
    assert_eq!(err.code.as_deref(), Some("UnauthorizedOperation"));
    assert_eq!(err.account_id, ACCOUNT);
    assert_eq!(err.region, REGION);
    assert_eq!(subnets.num_calls(), 0);
}

// ---------------------------------------------------------------------------------
// Connectivity
// ---------------------------------------------------------------------------------

fn tgw_attachment(
    id: &str,
    tgw: &str,
    vpc: &str,
    state: ec2::TransitGatewayAttachmentState,
) -> ec2::TransitGatewayVpcAttachment {
    ec2::TransitGatewayVpcAttachment::builder()
        .transit_gateway_attachment_id(id)
        .transit_gateway_id(tgw)
        .vpc_id(vpc)
        .vpc_owner_id(ACCOUNT)
        .state(state)
        .build()
}

fn peering_info(vpc: &str, region: &str) -> ec2::VpcPeeringConnectionVpcInfo {
    ec2::VpcPeeringConnectionVpcInfo::builder()
        .vpc_id(vpc)
        .owner_id(SHARING_ACCOUNT)
        .region(region)
        .build()
}

#[tokio::test]
async fn connectivity_keeps_live_links_with_their_regions_and_drops_gone_ones() {
    use aws_sdk_ec2::operation::describe_transit_gateway_peering_attachments::DescribeTransitGatewayPeeringAttachmentsOutput;
    use aws_sdk_ec2::operation::describe_transit_gateway_vpc_attachments::DescribeTransitGatewayVpcAttachmentsOutput;
    use aws_sdk_ec2::operation::describe_vpc_peering_connections::DescribeVpcPeeringConnectionsOutput;
    use ec2::TransitGatewayAttachmentState as S;
    use ipam_monitor::domain::inventory::{Connectivity, Endpoint};

    let vpcs = single_vpc_page(vec![]);
    let subnets = single_subnet_page(vec![]);
    let attachments = mock!(Client::describe_transit_gateway_vpc_attachments)
        .match_requests(|r| r.max_results() == Some(1000))
        .then_output(|| {
            DescribeTransitGatewayVpcAttachmentsOutput::builder()
                .transit_gateway_vpc_attachments(tgw_attachment(
                    "tgw-attach-1",
                    "tgw-1",
                    "vpc-1",
                    S::Available,
                ))
                .transit_gateway_vpc_attachments(tgw_attachment(
                    "tgw-attach-2",
                    "tgw-1",
                    "vpc-2",
                    S::PendingAcceptance,
                ))
                .transit_gateway_vpc_attachments(tgw_attachment(
                    "tgw-attach-3",
                    "tgw-1",
                    "vpc-3",
                    S::Deleted,
                ))
                .build()
        });
    let tgw_peerings =
        mock!(Client::describe_transit_gateway_peering_attachments).then_output(|| {
            DescribeTransitGatewayPeeringAttachmentsOutput::builder()
                .transit_gateway_peering_attachments(
                    ec2::TransitGatewayPeeringAttachment::builder()
                        .transit_gateway_attachment_id("tgw-attach-p")
                        .requester_tgw_info(
                            ec2::PeeringTgwInfo::builder()
                                .transit_gateway_id("tgw-1")
                                .region(REGION)
                                .build(),
                        )
                        .accepter_tgw_info(
                            ec2::PeeringTgwInfo::builder()
                                .transit_gateway_id("tgw-9")
                                .region("us-west-2")
                                .build(),
                        )
                        .state(S::Available)
                        .build(),
                )
                .build()
        });
    let peerings = mock!(Client::describe_vpc_peering_connections).then_output(|| {
        let status = |code| {
            ec2::VpcPeeringConnectionStateReason::builder()
                .code(code)
                .build()
        };
        DescribeVpcPeeringConnectionsOutput::builder()
            .vpc_peering_connections(
                ec2::VpcPeeringConnection::builder()
                    .vpc_peering_connection_id("pcx-live")
                    .requester_vpc_info(peering_info("vpc-1", REGION))
                    .accepter_vpc_info(peering_info("vpc-far", "ap-south-1"))
                    .status(status(ec2::VpcPeeringConnectionStateReasonCode::Active))
                    .build(),
            )
            .vpc_peering_connections(
                ec2::VpcPeeringConnection::builder()
                    .vpc_peering_connection_id("pcx-rejected")
                    .requester_vpc_info(peering_info("vpc-1", REGION))
                    .accepter_vpc_info(peering_info("vpc-2", REGION))
                    .status(status(ec2::VpcPeeringConnectionStateReasonCode::Rejected))
                    .build(),
            )
            .build()
    });
    let client = mocked_exactly(
        RuleMode::MatchAny,
        &[&vpcs, &subnets, &attachments, &tgw_peerings, &peerings],
    );

    let inv = scan_region(&client, &scope()).await.expect("scan succeeds");

    let Connectivity::Read(links) = inv.connectivity else {
        panic!("sweep failed: {:?}", inv.connectivity);
    };
    let ids: Vec<&str> = links.iter().map(|l| l.id.as_str()).collect();
    assert_eq!(
        ids,
        ["tgw-attach-1", "tgw-attach-2", "tgw-attach-p", "pcx-live"]
    );
    assert_eq!(
        links[0].ends,
        [
            Endpoint::Vpc {
                region: REGION.into(),
                id: "vpc-1".into()
            },
            Endpoint::TransitGateway("tgw-1".into())
        ]
    );
    // A peering's far end is in its own region.
    assert_eq!(
        links[3].ends[1],
        Endpoint::Vpc {
            region: "ap-south-1".into(),
            id: "vpc-far".into()
        }
    );
    assert_eq!(
        (
            attachments.num_calls(),
            tgw_peerings.num_calls(),
            peerings.num_calls()
        ),
        (1, 1, 1)
    );
}

#[tokio::test]
async fn a_denied_connectivity_sweep_keeps_the_scope_and_names_the_operation() {
    use aws_sdk_ec2::operation::describe_transit_gateway_vpc_attachments::DescribeTransitGatewayVpcAttachmentsOutput;
    use ipam_monitor::domain::inventory::Connectivity;

    let vpcs = single_vpc_page(vec![vpc("vpc-1", "10.0.0.0/16")]);
    let subnets = single_subnet_page(vec![]);
    let attachments = mock!(Client::describe_transit_gateway_vpc_attachments)
        .then_output(|| DescribeTransitGatewayVpcAttachmentsOutput::builder().build());
    let denied =
        mock!(Client::describe_transit_gateway_peering_attachments).then_http_response(|| {
            ec2_error(
                403,
                "UnauthorizedOperation",
                "You are not authorized to perform this operation.",
            )
        });
    let client = mocked_exactly(
        RuleMode::MatchAny,
        &[&vpcs, &subnets, &attachments, &denied],
    );

    let inv = scan_region(&client, &scope())
        .await
        .expect("the scope itself is read");
    assert_eq!(inv.vpcs.len(), 1);
    let Connectivity::Failed(e) = inv.connectivity else {
        panic!("expected a failed sweep");
    };
    assert_eq!(
        (e.operation.as_str(), e.code.as_deref(), e.region.as_str()),
        (
            "DescribeTransitGatewayPeeringAttachments",
            Some("UnauthorizedOperation"),
            REGION
        )
    );
}

// ---------------------------------------------------------------------------------
// Regions
// ---------------------------------------------------------------------------------

fn region(name: &str) -> ec2::Region {
    ec2::Region::builder()
        .region_name(name)
        .endpoint(format!("ec2.{name}.amazonaws.com"))
        .opt_in_status("opt-in-not-required")
        .build()
}

#[tokio::test]
async fn list_regions_returns_sorted_names() {
    let rule = mock!(Client::describe_regions)
        // Only the regions enabled for the account: AllRegions is not asked for.
        .match_requests(|r| r.all_regions() != Some(true))
        .then_output(|| {
            DescribeRegionsOutput::builder()
                .regions(region("us-west-2"))
                .regions(region("eu-west-1"))
                .regions(region("ap-southeast-2"))
                .regions(region("us-east-1"))
                .regions(region("eu-central-1"))
                .build()
        });
    let client = mocked(RuleMode::MatchAny, &[&rule]);

    let names = list_regions(&client, ACCOUNT, "us-east-1")
        .await
        .expect("regions");

    assert_eq!(
        names,
        vec![
            "ap-southeast-2",
            "eu-central-1",
            "eu-west-1",
            "us-east-1",
            "us-west-2"
        ]
    );
    assert_eq!(rule.num_calls(), 1);
}

#[tokio::test]
async fn list_regions_error_is_a_scan_error() {
    let rule = mock!(Client::describe_regions).then_http_response(|| {
        ec2_error(
            403,
            "UnauthorizedOperation",
            "You are not authorized to perform this operation.",
        )
    });
    let client = mocked(RuleMode::MatchAny, &[&rule]);

    let err = list_regions(&client, ACCOUNT, "us-east-1")
        .await
        .expect_err("denied");

    assert_eq!(
        (
            err.account_id.as_str(),
            err.region.as_str(),
            err.operation.as_str()
        ),
        (ACCOUNT, "us-east-1", "DescribeRegions")
    );
    assert_eq!(err.code.as_deref(), Some("UnauthorizedOperation"));
}

// ---------------------------------------------------------------------------------
// Server errors (5xx)
// ---------------------------------------------------------------------------------

fn internal_error() -> HttpResponse {
    ec2_error(
        500,
        "InternalError",
        "An internal error has occurred. Retry your request.",
    )
}

fn unavailable() -> HttpResponse {
    ec2_error(
        503,
        "Unavailable",
        "The server is overloaded and can't handle the request.",
    )
}

/// A proxy's answer: a 502 whose body is not EC2's XML at all.
fn bad_gateway() -> HttpResponse {
    let mut resp = HttpResponse::new(
        aws_smithy_runtime_api::http::StatusCode::try_from(502).unwrap(),
        aws_smithy_types::body::SdkBody::from("<html><body>502 Bad Gateway</body></html>"),
    );
    resp.headers_mut().insert("content-type", "text/html");
    resp
}

#[tokio::test]
async fn server_errors_that_clear_are_retried_and_lose_nothing() {
    // The first page of each fixture, as the only page.
    let vpcs = vpc_pages()[0].vpcs().to_vec();
    let subnets = subnet_pages()[0].subnets().to_vec();
    let v1 = mock!(Client::describe_vpcs)
        .sequence()
        .http_response(internal_error)
        .output(move || vpcs_page(vpcs.clone(), None))
        .build();
    let s1 = mock!(Client::describe_subnets)
        .sequence()
        .http_response(unavailable)
        .http_response(bad_gateway)
        .output(move || subnets_page(subnets.clone(), None))
        .build();
    let client = mocked(RuleMode::MatchAny, &[&v1, &s1]);

    let inv = tokio::time::timeout(Duration::from_secs(30), scan_region(&client, &scope()))
        .await
        .expect("retries with a 1 ms backoff finish quickly")
        .expect("5xx answers that clear are retried transparently");

    assert_eq!(
        ids_vpcs(&inv),
        ["vpc-0a00000000000001a", "vpc-0a00000000000002a"]
    );
    assert_eq!(
        ids_subnets(&inv),
        [
            "subnet-0b0000000000001b",
            "subnet-0b0000000000002b",
            "subnet-0b0000000000003b"
        ]
    );
    assert_eq!(
        subnet_by_id(&inv, "subnet-0b0000000000002b").available_ips,
        Some(200)
    );
    assert_eq!((v1.num_calls(), s1.num_calls()), (2, 3));
}

#[tokio::test]
async fn a_server_error_that_never_clears_names_operation_and_code() {
    let vpcs = single_vpc_page(vec![vpc("vpc-0a00000000000001a", "10.0.0.0/16")]);
    let subnets = mock!(Client::describe_subnets)
        .sequence()
        .http_response(internal_error)
        .repeatedly()
        .build();
    let client = mocked(RuleMode::MatchAny, &[&vpcs, &subnets]);

    let err = tokio::time::timeout(Duration::from_secs(30), scan_region(&client, &scope()))
        .await
        .expect("retries with a 1 ms backoff finish quickly")
        .expect_err("500 on every attempt");

    assert_eq!(
        (
            err.account_id.as_str(),
            err.region.as_str(),
            err.operation.as_str(),
            err.code.as_deref()
        ),
        (ACCOUNT, REGION, "DescribeSubnets", Some("InternalError"))
    );
    assert!(err.message.contains("internal error"), "{}", err.message);
    assert_eq!(subnets.num_calls(), 3, "max_attempts = 3");
}

#[tokio::test]
async fn a_gateway_error_without_an_aws_body_still_explains_itself() {
    let vpcs = mock!(Client::describe_vpcs)
        .sequence()
        .http_response(bad_gateway)
        .repeatedly()
        .build();
    let client = mocked(RuleMode::MatchAny, &[&vpcs]);

    let err = tokio::time::timeout(Duration::from_secs(30), scan_region(&client, &scope()))
        .await
        .expect("retries with a 1 ms backoff finish quickly")
        .expect_err("502 on every attempt");

    assert_eq!(err.operation, "DescribeVpcs");
    assert_eq!(vpcs.num_calls(), 3, "a 502 is transient and retried");
    assert_eq!(err.code, None, "the answer named no AWS error");
    assert_eq!(
        err.message, "HTTP 502 answer without an AWS error code or message",
        "the status, not a dump of the response"
    );
}

// ---------------------------------------------------------------------------------
// Retry quota per account and region
// ---------------------------------------------------------------------------------

/// VPCs throttled `throttles` times, then one page of one VPC; no subnets.
fn throttled_then_one_vpc(throttles: usize) -> (Rule, Rule) {
    let vpcs = mock!(Client::describe_vpcs)
        .sequence()
        .http_response(throttled)
        .times(throttles)
        .output(|| vpcs_page(vec![vpc("vpc-0a00000000000001a", "10.0.0.0/16")], None))
        .build();
    (vpcs, single_subnet_page(vec![]))
}

#[tokio::test]
async fn a_throttled_account_does_not_use_up_the_retries_of_another_in_its_region() {
    // Account ids of this test only: retry quotas live in a process-wide map by name.
    let noisy = Scope {
        account_id: "210000000001".into(),
        region: REGION.into(),
    };
    let quiet = Scope {
        account_id: "210000000002".into(),
        region: REGION.into(),
    };
    // The noisy account is throttled on every attempt until its quota (500 tokens, 5
    // per throttled retry) is gone: 60 scans of 3 attempts would need 120 retries.
    let always = mock!(Client::describe_vpcs)
        .sequence()
        .http_response(throttled)
        .repeatedly()
        .build();
    let base = mocked(RuleMode::MatchAny, &[&always]);
    let noisy_client = scope_client(base.config(), &noisy, None);
    for _ in 0..60 {
        let err = scan_region(&noisy_client, &noisy)
            .await
            .expect_err("throttled");
        assert_eq!(err.code.as_deref(), Some("RequestLimitExceeded"));
    }
    assert!(
        always.num_calls() < 180,
        "the quota ran out and some retries were refused ({} calls)",
        always.num_calls()
    );

    // Another client in the noisy scope shares its spent quota: a throttled first
    // attempt is not retried.
    let (vpcs, subnets) = throttled_then_one_vpc(1);
    let again = mocked(RuleMode::MatchAny, &[&vpcs, &subnets]);
    let err = scan_region(&scope_client(again.config(), &noisy, None), &noisy)
        .await
        .expect_err("no retry left in the noisy scope");
    assert_eq!(err.code.as_deref(), Some("RequestLimitExceeded"));
    assert_eq!(vpcs.num_calls(), 1);

    // The quiet account in the same region still has its own retries.
    let (vpcs, subnets) = throttled_then_one_vpc(2);
    let other = mocked(RuleMode::MatchAny, &[&vpcs, &subnets]);
    let inv = scan_region(&scope_client(other.config(), &quiet, None), &quiet)
        .await
        .expect("the quiet account retries its throttled call");
    assert_eq!(ids_vpcs(&inv), ["vpc-0a00000000000001a"]);
    assert_eq!(vpcs.num_calls(), 3);
}

#[tokio::test]
async fn cidrs_of_the_wrong_family_are_warnings_and_unknown_association_states_are_kept() {
    // An IPv6 CIDR where AWS documents IPv4 (and the reverse): refused, named, and
    // nothing of it reaches the IPv4 sums.
    let mixed = vpc_shape("vpc-0f0f0f0f0f0f0f0f1", "10.0.0.0/16")
        .cidr_block_association_set(v4_assoc(2, "::/0", ec2::VpcCidrBlockStateCode::Associated))
        .ipv6_cidr_block_association_set(v6_assoc(
            1,
            "10.1.0.0/16",
            ec2::VpcCidrBlockStateCode::Associated,
        ))
        .build();
    // A state a newer EC2 may send: the block still counts, with a warning.
    let future = vpc_shape("vpc-0f0f0f0f0f0f0f0f2", "10.2.0.0/16")
        .cidr_block_association_set(v4_assoc(
            2,
            "10.3.0.0/16",
            ec2::VpcCidrBlockStateCode::from("resizing"),
        ))
        .build();
    let v6_in_v4 = subnet(
        "subnet-0f0f0f0f0f0f0f0f1",
        "vpc-0f0f0f0f0f0f0f0f1",
        "2600:1f18::/64",
        "eu-west-1a",
        100,
    );
    let vpcs = single_vpc_page(vec![mixed, future]);
    let subnets = single_subnet_page(vec![v6_in_v4]);
    let client = mocked(RuleMode::MatchAny, &[&vpcs, &subnets]);
    let inv = scan_region(&client, &scope())
        .await
        .expect("warnings, not errors");

    let mixed = vpc_by_id(&inv, "vpc-0f0f0f0f0f0f0f0f1");
    assert_eq!(mixed.ipv4_blocks, vec![net("10.0.0.0/16")]);
    assert!(mixed.ipv6_blocks.is_empty());
    let w = &mixed.warnings;
    assert!(
        w.iter().any(|w| w.contains("::/0 is not an IPv4 CIDR")),
        "{w:?}"
    );
    assert!(
        w.iter()
            .any(|w| w.contains("10.1.0.0/16 is not an IPv6 CIDR")),
        "{w:?}"
    );

    let future = vpc_by_id(&inv, "vpc-0f0f0f0f0f0f0f0f2");
    assert_eq!(
        future.ipv4_blocks,
        vec![net("10.2.0.0/16"), net("10.3.0.0/16")]
    );
    let w = &future.warnings;
    assert!(w.len() == 1 && w[0].contains("\"resizing\""), "{w:?}");

    let s = subnet_by_id(&inv, "subnet-0f0f0f0f0f0f0f0f1");
    assert_eq!(s.ipv4_cidr, None);
    assert!(
        s.warnings[0].contains("2600:1f18::/64 is not an IPv4 CIDR"),
        "{:?}",
        s.warnings
    );
}

#[tokio::test]
async fn resources_without_an_id_are_kept_with_a_warning() {
    let no_id = ec2::Subnet::builder()
        .vpc_id("vpc-0a0a0a0a0a0a0a0a1")
        .owner_id(ACCOUNT)
        .cidr_block("10.0.1.0/24")
        .availability_zone("eu-west-1a")
        .available_ip_address_count(100)
        .build();
    let vpcs = single_vpc_page(vec![vpc("vpc-0a0a0a0a0a0a0a0a1", "10.0.0.0/16")]);
    let subnets = single_subnet_page(vec![no_id.clone(), no_id]);
    let client = mocked(RuleMode::MatchAny, &[&vpcs, &subnets]);
    let inv = scan_region(&client, &scope())
        .await
        .expect("warnings, not errors");
    assert_eq!(inv.subnets.len(), 2);
    for s in &inv.subnets {
        assert_eq!(s.id, "");
        assert_eq!(s.warnings.len(), 1, "{:?}", s.warnings);
        assert!(
            s.warnings[0].starts_with("SubnetId: missing"),
            "{:?}",
            s.warnings
        );
    }
}

/// A region named in REGIONS that the account has not opted in to: EC2 answers 401
/// OptInRequired. The scope fails at once (not retried: a retry cannot opt in), with
/// AWS's code, and nothing else is asked there.
#[tokio::test]
async fn a_region_not_opted_in_fails_its_scope_once_with_aws_code() {
    let vpcs = mock!(Client::describe_vpcs).then_http_response(|| {
        ec2_error(
            401,
            "OptInRequired",
            "You are not subscribed to this service. Please go to http://aws.amazon.com to subscribe.",
        )
    });
    let subnets = mock!(Client::describe_subnets).then_output(|| {
        aws_sdk_ec2::operation::describe_subnets::DescribeSubnetsOutput::builder().build()
    });
    let client = mocked(RuleMode::MatchAny, &[&vpcs, &subnets]);

    let err = scan_region(&client, &scope())
        .await
        .expect_err("not opted in");

    assert_eq!(
        (
            err.region.as_str(),
            err.operation.as_str(),
            err.code.as_deref()
        ),
        (REGION, "DescribeVpcs", Some("OptInRequired"))
    );
    assert!(err.message.contains("not subscribed"), "{}", err.message);
    assert_eq!(vpcs.num_calls(), 1, "not retried");
}

#[tokio::test]
async fn connection_refused_is_the_scopes_error_naming_the_call() {
    // A port nothing listens on: bound, read, and closed again.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let client = scope_client(&production_config(port), &scope(), None);
    // The guard only keeps a regression from hanging the test.
    let err = tokio::time::timeout(Duration::from_secs(60), scan_region(&client, &scope()))
        .await
        .expect("retries of a refused connection end")
        .expect_err("nothing listens");
    assert_eq!(
        (
            err.operation.as_str(),
            err.region.as_str(),
            err.code.as_deref()
        ),
        ("DescribeVpcs", REGION, None)
    );
    assert!(
        err.message.to_lowercase().contains("connect") || err.message.contains("dispatch"),
        "{}",
        err.message
    );
}
