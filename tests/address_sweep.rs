//! The address sweep (`source::addresses`) on a real `aws_sdk_ec2::Client` whose HTTP
//! layer is `aws-smithy-mocks`: which subnets are swept, the exact request shapes,
//! paging, mapping, malformed answers and failures that cost only the map.

mod ec2_mocks;

use aws_sdk_ec2::operation::describe_network_interfaces::{
    DescribeNetworkInterfacesInput, DescribeNetworkInterfacesOutput,
};
use aws_sdk_ec2::operation::describe_subnets::DescribeSubnetsOutput;
use aws_sdk_ec2::operation::describe_vpcs::DescribeVpcsOutput;
use aws_sdk_ec2::operation::get_subnet_cidr_reservations::GetSubnetCidrReservationsOutput;
use aws_sdk_ec2::types as ec2;
use aws_sdk_ec2::Client;
use aws_smithy_mocks::{mock, Rule, RuleMode};
use ec2_mocks::{
    ec2_error, mocked, production_config, scope, tag, ACCOUNT, REGION, SHARING_ACCOUNT,
};
use ipam_monitor::domain::addresses::{HolderUsage, MappedSubnet, Usage};
use ipam_monitor::domain::holder::Holder;
use ipam_monitor::domain::inventory::ScopeInventory;
use ipam_monitor::source::addresses::AddressMapMode;
use ipam_monitor::source::ec2::scan_region_with;

/// A subnet tagged for EKS cluster `prod`, one without a cluster tag, and a cluster
/// subnet shared into the account by another (its owner maps it, not this scope).
fn subnets() -> Rule {
    let subnet = |id: &str, cidr: &str, owner: &str, eks: bool| {
        let b = ec2::Subnet::builder()
            .subnet_id(id)
            .vpc_id("vpc-1")
            .owner_id(owner)
            .cidr_block(cidr)
            .availability_zone("eu-west-1a")
            .available_ip_address_count(200)
            .tags(tag("Name", id));
        if eks {
            b.tags(tag("kubernetes.io/cluster/prod", "shared")).build()
        } else {
            b.build()
        }
    };
    let all = vec![
        subnet("subnet-eks", "10.0.0.0/24", ACCOUNT, true),
        subnet("subnet-plain", "10.0.1.0/24", ACCOUNT, false),
        subnet("subnet-shared-in", "10.0.2.0/24", SHARING_ACCOUNT, true),
    ];
    mock!(Client::describe_subnets).then_output(move || {
        DescribeSubnetsOutput::builder()
            .set_subnets(Some(all.clone()))
            .build()
    })
}

fn no_vpcs() -> Rule {
    mock!(Client::describe_vpcs).then_output(|| DescribeVpcsOutput::builder().build())
}

fn eni(
    id: &str,
    subnet: &str,
    description: &str,
    addresses: &[&str],
) -> ec2::builders::NetworkInterfaceBuilder {
    let mut b = ec2::NetworkInterface::builder()
        .network_interface_id(id)
        .subnet_id(subnet)
        .interface_type(ec2::NetworkInterfaceType::Interface)
        .description(description)
        .status(ec2::NetworkInterfaceStatus::InUse)
        .attachment(
            ec2::NetworkInterfaceAttachment::builder()
                .instance_id("i-0abc")
                .build(),
        );
    for a in addresses {
        b = b.private_ip_addresses(
            ec2::NetworkInterfacePrivateIpAddress::builder()
                .private_ip_address(*a)
                .build(),
        );
    }
    b
}

fn prefix(p: &str) -> ec2::Ipv4PrefixSpecification {
    ec2::Ipv4PrefixSpecification::builder()
        .ipv4_prefix(p)
        .build()
}

/// The `subnet-id` filter values of a request, or `None` for an unfiltered sweep.
fn filtered_subnets(r: &DescribeNetworkInterfacesInput) -> Option<Vec<String>> {
    let filters = r.filters();
    if filters.is_empty() {
        return None;
    }
    assert_eq!(filters.len(), 1, "{filters:?}");
    assert_eq!(filters[0].name(), Some("subnet-id"));
    Some(filters[0].values().to_vec())
}

fn reservations_of(
    subnet: &'static str,
    items: Vec<(&'static str, ec2::SubnetCidrReservationType)>,
) -> Rule {
    mock!(Client::get_subnet_cidr_reservations)
        .match_requests(move |r| r.subnet_id() == Some(subnet) && r.max_results() == Some(1000))
        .then_output(move || {
            let mut out = GetSubnetCidrReservationsOutput::builder();
            for (cidr, kind) in &items {
                out = out.subnet_ipv4_cidr_reservations(
                    ec2::SubnetCidrReservation::builder()
                        .subnet_id(subnet)
                        .cidr(*cidr)
                        .reservation_type(kind.clone())
                        .build(),
                );
            }
            out.build()
        })
}

/// A scan of the scope over the mock `rules` with address maps in `mode`; the scope
/// itself is always read (what a sweep costs is its maps, never the scope).
async fn scan(mode: AddressMapMode, rules: &[&Rule]) -> ScopeInventory {
    let client = mocked(RuleMode::MatchAny, rules);
    scan_region_with(&client, &scope(), mode, None)
        .await
        .expect("the scope itself is read")
}

fn mapped<'a>(inv: &'a ScopeInventory, subnet: &str) -> &'a MappedSubnet {
    inv.addresses
        .subnets
        .iter()
        .find(|a| a.subnet_id == subnet)
        .unwrap_or_else(|| panic!("{subnet} not mapped: {:?}", inv.addresses))
}

#[tokio::test]
async fn eks_mode_filters_by_the_accounts_own_cluster_subnets_and_reads_every_page() {
    let first = mock!(Client::describe_network_interfaces)
        .match_requests(|r| {
            filtered_subnets(r) == Some(vec!["subnet-eks".into()])
                && r.max_results() == Some(1000)
                && r.next_token().is_none()
        })
        .then_output(|| {
            DescribeNetworkInterfacesOutput::builder()
                .network_interfaces(
                    eni(
                        "eni-cni",
                        "subnet-eks",
                        "aws-K8S-i-0abc",
                        &["10.0.0.10", "10.0.0.11"],
                    )
                    .ipv4_prefixes(prefix("10.0.0.32/28"))
                    .build(),
                )
                .next_token("page-2")
                .build()
        });
    let second = mock!(Client::describe_network_interfaces)
        .match_requests(|r| r.next_token() == Some("page-2"))
        .then_output(|| {
            DescribeNetworkInterfacesOutput::builder()
                .network_interfaces(
                    ec2::NetworkInterface::builder()
                        .network_interface_id("eni-left")
                        .subnet_id("subnet-eks")
                        .interface_type(ec2::NetworkInterfaceType::Interface)
                        .description("aws-K8S-i-0gone")
                        .status(ec2::NetworkInterfaceStatus::Available)
                        .private_ip_address("10.0.0.77")
                        .build(),
                )
                .build()
        });
    let reservations = reservations_of(
        "subnet-eks",
        vec![
            ("10.0.0.192/27", ec2::SubnetCidrReservationType::Explicit),
            ("10.0.0.128/26", ec2::SubnetCidrReservationType::Prefix),
            ("10.0.0.300/27", ec2::SubnetCidrReservationType::Explicit),
        ],
    );
    let inv = scan(
        AddressMapMode::Eks,
        &[&no_vpcs(), &subnets(), &first, &second, &reservations],
    )
    .await;
    assert!(
        inv.addresses.errors.is_empty(),
        "{:?}",
        inv.addresses.errors
    );
    // Neither the untagged subnet nor the one another account owns.
    assert_eq!(inv.addresses.subnets.len(), 1);
    let eks = mapped(&inv, "subnet-eks");
    let m = eks.map.as_ref().unwrap();
    // Both pages' interfaces: 10.0.0.10 and .11 and the /28 prefix on the CNI one, and
    // .77 on the detached one, read from the top level of an older answer shape.
    assert_eq!((m.interfaces, m.ipv4_addresses, m.ipv4_prefixes), (2, 3, 1));
    assert_eq!(
        m.holders,
        [HolderUsage {
            holder: Holder::Eks,
            usage: Usage {
                interfaces: 2,
                addresses_held: 19
            }
        }]
    );
    assert_eq!(
        m.detached,
        Usage {
            interfaces: 1,
            addresses_held: 1
        }
    );
    // The explicit /27; the prefix reservation stays free for prefixes, the malformed
    // one is skipped with a warning.
    assert_eq!(m.reserved_addresses, Some(32));
    assert_eq!(eks.warnings.len(), 1, "{:?}", eks.warnings);
    assert!(
        eks.warnings[0].contains("10.0.0.300/27"),
        "{:?}",
        eks.warnings
    );
    // Used /28s: .0 (reserved, .10, .11), .32 (prefix), .64 (.77), .192 and .208
    // (explicit), .240 (broadcast): 10 of 16 free, the largest .128/26.
    assert_eq!(m.free_prefixes, 10);
    assert_eq!(m.largest_free_block, Some("10.0.0.128/26".parse().unwrap()));
}

#[tokio::test]
async fn all_mode_sweeps_unfiltered_and_keeps_only_the_accounts_own_subnets() {
    let sweep = mock!(Client::describe_network_interfaces)
        .match_requests(|r| filtered_subnets(r).is_none())
        .then_output(|| {
            DescribeNetworkInterfacesOutput::builder()
                .network_interfaces(eni("eni-a", "subnet-plain", "", &["10.0.1.9"]).build())
                .network_interfaces(eni("eni-b", "subnet-shared-in", "", &["10.0.2.9"]).build())
                .network_interfaces(
                    eni("eni-c", "subnet-plain", "", &["10.0.1.999", "10.0.1.10"])
                        .ipv4_prefixes(prefix("2001:db8::/64"))
                        .build(),
                )
                .build()
        });
    let reservations = reservations_of("subnet-eks", vec![]);
    let inv = scan(
        AddressMapMode::All,
        &[&no_vpcs(), &subnets(), &sweep, &reservations],
    )
    .await;
    let ids: Vec<&str> = inv
        .addresses
        .subnets
        .iter()
        .map(|a| a.subnet_id.as_str())
        .collect();
    assert_eq!(ids, ["subnet-eks", "subnet-plain"]);
    let plain = mapped(&inv, "subnet-plain");
    let m = plain.map.as_ref().unwrap();
    assert_eq!(m.interfaces, 2);
    assert_eq!(m.holders.len(), 1);
    assert_eq!(m.holders[0].holder, Holder::Instance);
    // Reservations are read for cluster subnets only.
    assert_eq!(m.reserved_addresses, None);
    assert_eq!(
        mapped(&inv, "subnet-eks")
            .map
            .as_ref()
            .unwrap()
            .reserved_addresses,
        Some(0)
    );
    // The malformed address and the IPv6 "prefix" are skipped, each named.
    assert_eq!((m.ipv4_addresses, m.ipv4_prefixes), (2, 0));
    assert_eq!(plain.warnings.len(), 2, "{:?}", plain.warnings);
    assert!(plain.warnings[0].contains("eni-c") && plain.warnings[0].contains("10.0.1.999"));
    assert!(plain.warnings[1].contains("2001:db8::/64"));
}

#[tokio::test]
async fn a_denied_interface_sweep_keeps_the_subnets_and_their_counts() {
    let denied = mock!(Client::describe_network_interfaces).then_http_response(|| {
        ec2_error(
            403,
            "UnauthorizedOperation",
            "not authorized: ec2:DescribeNetworkInterfaces",
        )
    });
    let inv = scan(AddressMapMode::Eks, &[&no_vpcs(), &subnets(), &denied]).await;
    assert_eq!(inv.subnets.len(), 3);
    assert!(inv.subnets.iter().all(|s| s.available_ips == Some(200)));
    let e = &inv.addresses.errors[0];
    assert_eq!(
        (e.operation.as_str(), e.code.as_deref(), e.region.as_str()),
        (
            "DescribeNetworkInterfaces",
            Some("UnauthorizedOperation"),
            REGION
        )
    );
    // The subnet that would have been mapped is listed without a map, saying why;
    // the others are not listed at all.
    let eks = mapped(&inv, "subnet-eks");
    assert_eq!(inv.addresses.subnets.len(), 1);
    assert_eq!(eks.map, None);
    assert_eq!(
        eks.warnings,
        ["address map not read: DescribeNetworkInterfaces failed (see errors)"]
    );
}

#[tokio::test]
async fn a_denied_reservation_call_maps_the_subnet_without_reservations() {
    let sweep = mock!(Client::describe_network_interfaces)
        .then_output(|| DescribeNetworkInterfacesOutput::builder().build());
    let denied = mock!(Client::get_subnet_cidr_reservations).then_http_response(|| {
        ec2_error(
            403,
            "UnauthorizedOperation",
            "not authorized: ec2:GetSubnetCidrReservations",
        )
    });
    let inv = scan(
        AddressMapMode::Eks,
        &[&no_vpcs(), &subnets(), &sweep, &denied],
    )
    .await;
    // Mapped without its reservations, and it says so: explicit ones count as free.
    let eks = mapped(&inv, "subnet-eks");
    let map = eks.map.as_ref().expect("mapped from its interfaces");
    assert_eq!(map.reserved_addresses, None);
    // No interface: only AWS's reserved addresses, in the first and last /28.
    assert_eq!(map.free_prefixes, 14);
    assert_eq!(
        eks.warnings,
        ["CIDR reservations not read: GetSubnetCidrReservations failed (see errors); explicit reservations count as free"]
    );
    let operations: Vec<&str> = inv
        .addresses
        .errors
        .iter()
        .map(|e| e.operation.as_str())
        .collect();
    assert_eq!(operations, ["GetSubnetCidrReservations"]);
}

#[tokio::test]
async fn off_and_no_cluster_subnet_make_no_call() {
    // No DescribeNetworkInterfaces rule: a call would fail the test's mock client.
    let inv = scan(AddressMapMode::Off, &[&no_vpcs(), &subnets()]).await;
    assert_eq!(inv.addresses, Default::default());

    let untagged = mock!(Client::describe_subnets).then_output(|| {
        DescribeSubnetsOutput::builder()
            .subnets(
                ec2::Subnet::builder()
                    .subnet_id("subnet-plain")
                    .vpc_id("vpc-1")
                    .owner_id(ACCOUNT)
                    .cidr_block("10.0.1.0/24")
                    .available_ip_address_count(200)
                    .build(),
            )
            .build()
    });
    let inv = scan(AddressMapMode::Eks, &[&no_vpcs(), &untagged]).await;
    assert_eq!(inv.addresses, Default::default());
}

#[tokio::test]
async fn a_sweep_takes_one_call_per_thousand_interfaces() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    // 2,500 interfaces in the account's cluster subnet, served 1,000 a page as EC2
    // does: ⌈2,500 / 1,000⌉ = 3 calls.
    const INTERFACES: usize = 2_500;
    let served = Arc::new(AtomicUsize::new(0));
    let counter = served.clone();
    let pages = mock!(Client::describe_network_interfaces)
        .match_requests(|r| r.max_results() == Some(1000))
        .then_output(move || {
            // Answers are served in order: the n-th call gets the n-th page.
            let page = counter.fetch_add(1, Ordering::SeqCst);
            let first = page * 1000;
            let last = (first + 1000).min(INTERFACES);
            let mut out = DescribeNetworkInterfacesOutput::builder();
            for n in first..last {
                let address = format!("10.0.{}.{}", n / 250, n % 250 + 4);
                out = out.network_interfaces(
                    eni(
                        &format!("eni-{n}"),
                        "subnet-eks",
                        "aws-K8S-i-0abc",
                        &[&address],
                    )
                    .build(),
                );
            }
            if last < INTERFACES {
                out = out.next_token(format!("page-{}", page + 1));
            }
            out.build()
        });
    let reservations = reservations_of("subnet-eks", vec![]);
    let wide = mock!(Client::describe_subnets).then_output(|| {
        DescribeSubnetsOutput::builder()
            .subnets(
                ec2::Subnet::builder()
                    .subnet_id("subnet-eks")
                    .vpc_id("vpc-1")
                    .owner_id(ACCOUNT)
                    .cidr_block("10.0.0.0/20")
                    .available_ip_address_count(1590)
                    .tags(tag("kubernetes.io/cluster/prod", "owned"))
                    .build(),
            )
            .build()
    });
    let inv = scan(
        AddressMapMode::Eks,
        &[&no_vpcs(), &wide, &pages, &reservations],
    )
    .await;
    assert_eq!(served.load(Ordering::SeqCst), 3);
    let m = mapped(&inv, "subnet-eks").map.as_ref().unwrap();
    assert_eq!((m.interfaces, m.ipv4_addresses), (2_500, 2_500));
}

#[tokio::test]
async fn a_sweep_not_done_in_time_leaves_its_subnets_unmapped() {
    use ipam_monitor::source::addresses::sweep;
    // An endpoint that accepts connections and never answers.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let held = tokio::spawn(async move {
        let mut open = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            open.push(socket);
        }
    });
    let client = Client::from_conf(production_config(port));
    let cluster_subnet = ipam_monitor::domain::inventory::Subnet {
        id: "subnet-eks".into(),
        vpc_id: "vpc-1".into(),
        account_id: ACCOUNT.into(),
        region: REGION.into(),
        availability_zone: "eu-west-1a".into(),
        ipv4_cidr: Some("10.0.0.0/24".parse().unwrap()),
        ipv6_cidrs: vec![],
        available_ips: Some(200),
        tags: [("kubernetes.io/cluster/prod", "owned")]
            .into_iter()
            .collect(),
        warnings: vec![],
    };
    let until = std::time::Instant::now() + std::time::Duration::from_millis(300);
    // The guard only keeps a regression from hanging the test (the SDK would wait
    // 30 s per attempt).
    let found = tokio::time::timeout(
        std::time::Duration::from_secs(20),
        sweep(
            &client,
            &scope(),
            &[cluster_subnet],
            AddressMapMode::Eks,
            Some(until),
        ),
    )
    .await
    .expect("the sweep gives up at its deadline");
    let e = &found.errors[0];
    assert_eq!(
        (e.operation.as_str(), e.code.as_deref()),
        ("DescribeNetworkInterfaces", Some("DeadlineExceeded"))
    );
    assert_eq!(found.subnets.len(), 1);
    assert_eq!(found.subnets[0].map, None);
    held.abort();
}
