//! Table-driven tests of the pure usage calculator: every number it reports.

use ipam_monitor::domain::calculator::{calculate, worst_first};
use ipam_monitor::domain::cidr::Family;
use ipam_monitor::domain::inventory::{
    Inventory, IpamPool, PoolAllocation, ResourceCidr, Subnet, Tags, Vpc,
};
use ipam_monitor::domain::report::{Measure, ResourceRecord, ResourceType, Unit};
use ipam_monitor::domain::text::Text;
use ipam_monitor::domain::thresholds::{Rule, Status, ThresholdSource, Thresholds, TAG_WARNING};
use ipnet::IpNet;

fn net(s: &str) -> IpNet {
    s.parse().unwrap()
}

fn vpc(id: &str, region: &str, account: &str, v4: &[&str], v6: &[&str]) -> Vpc {
    Vpc {
        id: id.into(),
        account_id: account.into(),
        region: region.into(),
        is_default: false,
        ipv4_blocks: v4.iter().map(|s| net(s)).collect(),
        ipv6_blocks: v6.iter().map(|s| net(s)).collect(),
        tags: Tags::new(),
        warnings: vec![],
    }
}

fn subnet(id: &str, vpc_id: &str, cidr: &str, available: Option<i64>) -> Subnet {
    Subnet {
        id: id.into(),
        vpc_id: vpc_id.into(),
        account_id: "111111111111".into(),
        region: "us-east-1".into(),
        availability_zone: "us-east-1a".into(),
        ipv4_cidr: Some(net(cidr)),
        ipv6_cidrs: vec![],
        available_ips: available,
        tags: Tags::new(),
        warnings: vec![],
    }
}

fn run(inv: &Inventory, t: Thresholds) -> Vec<ResourceRecord> {
    calculate(inv.clone(), &t, ThresholdSource::Config).resources
}

fn find<'a>(rs: &'a [ResourceRecord], id: &str) -> &'a ResourceRecord {
    rs.iter()
        .find(|r| r.resource_id == id)
        .unwrap_or_else(|| panic!("{id} missing"))
}

struct SubnetCase {
    name: &'static str,
    cidr: &'static str,
    available: Option<i64>,
    thresholds: Thresholds,
    total: u128,
    usable: u128,
    used: u128,
    free: u128,
    percent: Option<f64>,
    status: Status,
    warns: bool,
}

const DEFAULT: Thresholds = Thresholds {
    warning_percent: 80.0,
    critical_percent: 95.0,
    min_free_addresses: None,
    min_free_block: None,
    min_free_prefixes: None,
};

#[test]
fn subnet_figures() {
    let floor = Thresholds {
        min_free_addresses: Some(20),
        ..DEFAULT
    };
    let cases = [
        SubnetCase {
            name: "/28 empty has 11 usable",
            cidr: "10.0.0.0/28",
            available: Some(11),
            thresholds: DEFAULT,
            total: 16,
            usable: 11,
            used: 0,
            free: 11,
            percent: Some(0.0),
            status: Status::Ok,
            warns: false,
        },
        SubnetCase {
            name: "/16 half used",
            cidr: "10.0.0.0/16",
            available: Some(32_765),
            thresholds: DEFAULT,
            total: 65_536,
            usable: 65_531,
            used: 32_766,
            free: 32_765,
            percent: Some(50.0),
            status: Status::Ok,
            warns: false,
        },
        SubnetCase {
            name: "/24 with 0 available is full",
            cidr: "10.0.1.0/24",
            available: Some(0),
            thresholds: DEFAULT,
            total: 256,
            usable: 251,
            used: 251,
            free: 0,
            percent: Some(100.0),
            status: Status::Critical,
            warns: false,
        },
        SubnetCase {
            name: "/24 with 251 available is empty",
            cidr: "10.0.1.0/24",
            available: Some(251),
            thresholds: DEFAULT,
            total: 256,
            usable: 251,
            used: 0,
            free: 251,
            percent: Some(0.0),
            status: Status::Ok,
            warns: false,
        },
        SubnetCase {
            name: "exactly at critical 100 is CRITICAL",
            cidr: "10.0.2.0/28",
            available: Some(0),
            thresholds: Thresholds {
                warning_percent: 50.0,
                critical_percent: 100.0,
                min_free_addresses: None,
                min_free_block: None,
                min_free_prefixes: None,
            },
            total: 16,
            usable: 11,
            used: 11,
            free: 0,
            percent: Some(100.0),
            status: Status::Critical,
            warns: false,
        },
        SubnetCase {
            name: "one below warning is OK",
            cidr: "10.0.2.0/26",
            available: Some(59 - 47),
            thresholds: Thresholds {
                warning_percent: 80.0,
                ..DEFAULT
            },
            total: 64,
            usable: 59,
            used: 47,
            free: 12,
            percent: Some(79.66),
            status: Status::Ok,
            warns: false,
        },
        SubnetCase {
            name: "above critical",
            cidr: "10.0.3.0/24",
            available: Some(5),
            thresholds: DEFAULT,
            total: 256,
            usable: 251,
            used: 246,
            free: 5,
            percent: Some(98.01),
            status: Status::Critical,
            warns: false,
        },
        SubnetCase {
            name: "free floor breached at equality",
            cidr: "10.0.4.0/24",
            available: Some(20),
            thresholds: floor,
            total: 256,
            usable: 251,
            used: 231,
            free: 20,
            percent: Some(92.03),
            status: Status::Warning,
            warns: false,
        },
        SubnetCase {
            name: "free floor breached while percent is low",
            cidr: "10.0.5.0/27",
            available: Some(20),
            thresholds: floor,
            total: 32,
            usable: 27,
            used: 7,
            free: 20,
            percent: Some(25.93),
            status: Status::Warning,
            warns: false,
        },
        SubnetCase {
            name: "free floor not breached",
            cidr: "10.0.6.0/24",
            available: Some(21),
            thresholds: floor,
            total: 256,
            usable: 251,
            used: 230,
            free: 21,
            percent: Some(91.63),
            status: Status::Warning,
            warns: false,
        },
        SubnetCase {
            name: "negative available (moto /28 with -4) counts as full",
            cidr: "10.0.7.0/28",
            available: Some(-4),
            thresholds: DEFAULT,
            total: 16,
            usable: 11,
            used: 11,
            free: 0,
            percent: Some(100.0),
            status: Status::Critical,
            warns: true,
        },
        SubnetCase {
            name: "available above usable is clamped",
            cidr: "10.0.8.0/28",
            available: Some(500),
            thresholds: DEFAULT,
            total: 16,
            usable: 11,
            used: 0,
            free: 11,
            percent: Some(0.0),
            status: Status::Ok,
            warns: true,
        },
        SubnetCase {
            name: "missing available: no usage, a warning, UNKNOWN (never OK)",
            cidr: "10.0.9.0/28",
            available: None,
            thresholds: DEFAULT,
            total: 16,
            usable: 11,
            used: 0,
            free: 0,
            percent: None,
            status: Status::Unknown,
            warns: true,
        },
    ];
    for c in &cases {
        let inv = Inventory {
            subnets: vec![subnet("subnet-1", "vpc-1", c.cidr, c.available)],
            ..Inventory::default()
        };
        let rs = run(&inv, c.thresholds);
        let r = find(&rs, "subnet-1");
        let got = (
            r.total,
            r.usable,
            r.used,
            r.free,
            r.utilization_percent,
            r.status,
            !r.warnings.is_empty(),
        );
        let want = (
            c.total, c.usable, c.used, c.free, c.percent, c.status, c.warns,
        );
        assert_eq!(got, want, "case: {}", c.name);
        assert_eq!(r.unit, Unit::Address, "case: {}", c.name);
    }
}

#[test]
fn bad_count_warning_names_the_value() {
    let inv = Inventory {
        subnets: vec![subnet("subnet-1", "vpc-1", "10.0.7.0/28", Some(-4))],
        ..Inventory::default()
    };
    let rs = run(&inv, DEFAULT);
    assert!(rs[0].warnings[0].contains("-4"), "{:?}", rs[0].warnings);
}

#[test]
fn vpc_with_secondary_cidr_reports_per_block_and_whole_vpc() {
    let inv = Inventory {
        vpcs: vec![vpc(
            "vpc-1",
            "us-east-1",
            "111111111111",
            &["10.0.0.0/16", "100.64.0.0/24"],
            &[],
        )],
        subnets: vec![
            subnet("s-a", "vpc-1", "10.0.0.0/17", Some(100)),
            subnet("s-b", "vpc-1", "10.0.128.0/18", Some(16_379)),
            subnet("s-c", "vpc-1", "100.64.0.0/25", Some(0)),
        ],
        ..Inventory::default()
    };
    let rs = run(&inv, DEFAULT);
    let v = find(&rs, "vpc-1");
    // Status from the addresses in use across the subnets: usable 32763 + 16379 + 123,
    // used 32663 + 0 + 123.
    assert_eq!(v.measure, Measure::Addresses);
    assert_eq!(
        (v.total, v.usable, v.used, v.free),
        (32_768 + 16_384 + 128, 49_265, 32_786, 16_479)
    );
    assert_eq!(v.utilization_percent, Some(66.55));
    assert_eq!(v.status, Status::Ok);
    // Allocation, the space the subnets cover, is a planning fact.
    let a = v.allocation().unwrap();
    assert_eq!(
        (a.total, a.allocated, a.free),
        (65_536 + 256, 32_768 + 16_384 + 128, 16_384 + 128)
    );
    assert_eq!(a.allocation_percent, Some(74.9)); // 49280 / 65792 = 0.74903
    assert_eq!(v.cidr_blocks.len(), 2);
    let primary = &v.cidr_blocks[0];
    assert_eq!(
        (primary.total, primary.allocated, primary.free),
        (65_536, 49_152, 16_384)
    );
    assert_eq!(primary.allocation_percent, 75.0);
    assert_eq!(primary.largest_free_block, Some(net("10.0.192.0/18")));
    let secondary = &v.cidr_blocks[1];
    assert_eq!((secondary.total, secondary.allocated), (256, 128));
    assert_eq!(secondary.largest_free_block, Some(net("100.64.0.128/25")));
    assert_eq!(
        v.free_blocks,
        vec![net("10.0.192.0/18"), net("100.64.0.128/25")]
    );
    assert_eq!(v.largest_free_block, Some(net("10.0.192.0/18")));
}

#[test]
fn vpc_exactly_at_warning_is_in_breach() {
    // 67 of the 123 + 11 usable addresses of a /25 and a /28: exactly 50 %.
    let inv = Inventory {
        vpcs: vec![vpc("vpc-1", "us-east-1", "1", &["10.0.0.0/24"], &[])],
        subnets: vec![
            subnet("s-a", "vpc-1", "10.0.0.0/25", Some(123 - 67)),
            subnet("s-b", "vpc-1", "10.0.0.128/28", Some(11)),
        ],
        ..Inventory::default()
    };
    for (warning, want) in [(50.0, Status::Warning), (50.01, Status::Ok)] {
        let t = Thresholds {
            warning_percent: warning,
            ..DEFAULT
        };
        let v = run(&inv, t)
            .into_iter()
            .find(|r| r.resource_id == "vpc-1")
            .unwrap();
        assert_eq!(
            (v.utilization_percent, v.status),
            (Some(50.0), want),
            "warning {warning}"
        );
        let rules: Vec<Rule> = v.reasons.iter().map(|r| r.rule).collect();
        let want_rules: &[Rule] = if want == Status::Ok {
            &[]
        } else {
            &[Rule::WarningPercent]
        };
        assert_eq!(rules, want_rules);
    }
}

#[test]
fn fully_carved_vpc_with_nothing_in_use_is_ok_and_space_alerts_are_opt_in() {
    let inv = Inventory {
        vpcs: vec![vpc("vpc-1", "us-east-1", "1", &["10.2.0.0/23"], &[])],
        subnets: vec![
            subnet("s-a", "vpc-1", "10.2.0.0/24", Some(251)),
            subnet("s-b", "vpc-1", "10.2.1.0/24", Some(251)),
        ],
        ..Inventory::default()
    };
    let vpc_of = |t: Thresholds| {
        run(&inv, t)
            .into_iter()
            .find(|r| r.resource_id == "vpc-1")
            .unwrap()
    };
    let v = vpc_of(DEFAULT);
    assert_eq!(
        (v.used, v.usable, v.utilization_percent, v.status),
        (0, 502, Some(0.0), Status::Ok)
    );
    let a = v.allocation().unwrap();
    assert_eq!(
        (a.allocated, a.free, a.allocation_percent),
        (512, 0, Some(100.0))
    );
    assert_eq!(v.largest_free_block, None);
    assert!(v.free_blocks.is_empty() && v.reasons.is_empty());

    // Asking for room for a new /26 makes it a WARNING, and says why.
    let v = vpc_of(Thresholds {
        min_free_block: Some(26),
        ..DEFAULT
    });
    assert_eq!(v.status, Status::Warning);
    assert_eq!(v.reasons.len(), 1);
    assert_eq!(v.reasons[0].rule, Rule::MinFreeBlock);
    assert!(
        v.reasons[0].detail.contains("no free /26"),
        "{:?}",
        v.reasons
    );
    assert_eq!(v.thresholds.min_free_block, Some(26));
}

#[test]
fn space_alert_fires_only_when_no_block_of_the_asked_size_is_left() {
    // 10.3.0.0/24 with a /25 taken: the largest free block is a /25.
    let inv = Inventory {
        vpcs: vec![vpc("vpc-1", "us-east-1", "1", &["10.3.0.0/24"], &[])],
        subnets: vec![subnet("s-a", "vpc-1", "10.3.0.0/25", Some(100))],
        ..Inventory::default()
    };
    for (prefix, want) in [(25, Status::Ok), (26, Status::Ok), (24, Status::Warning)] {
        let t = Thresholds {
            min_free_block: Some(prefix),
            ..DEFAULT
        };
        let v = run(&inv, t)
            .into_iter()
            .find(|r| r.resource_id == "vpc-1")
            .unwrap();
        assert_eq!(v.status, want, "/{prefix}");
    }
}

#[test]
fn fragmented_vpc_free_blocks_are_aggregated() {
    // 10.0.0.0/24 with subnets at .0/28, .32/27, .128/26: free = .16/28, .64/26, .192/26.
    let inv = Inventory {
        vpcs: vec![vpc("vpc-1", "us-east-1", "1", &["10.0.0.0/24"], &[])],
        subnets: vec![
            subnet("s-a", "vpc-1", "10.0.0.0/28", Some(11)),
            subnet("s-b", "vpc-1", "10.0.0.32/27", Some(27)),
            subnet("s-c", "vpc-1", "10.0.0.128/26", Some(59)),
        ],
        ..Inventory::default()
    };
    let rs = run(&inv, DEFAULT);
    let v = find(&rs, "vpc-1");
    assert_eq!(
        v.free_blocks,
        vec![
            net("10.0.0.16/28"),
            net("10.0.0.64/26"),
            net("10.0.0.192/26")
        ]
    );
    // Two /26s tie; the first in address order is reported.
    assert_eq!(v.largest_free_block, Some(net("10.0.0.64/26")));
    let a = v.allocation().unwrap();
    assert_eq!((a.allocated, a.free), (16 + 32 + 64, 16 + 64 + 64));
}

#[test]
fn ipv6_vpc_allocation_in_slash64_units() {
    let mut s1 = subnet("s-6a", "vpc-6", "10.9.0.0/24", Some(251));
    s1.ipv6_cidrs = vec![net("2600:1f18:abcd:1200::/64")];
    let mut s2 = subnet("s-6b", "vpc-6", "10.9.1.0/24", Some(251));
    s2.ipv6_cidrs = vec![net("2600:1f18:abcd:1201::/64")];
    let mut only6 = subnet("s-6c", "vpc-6", "10.9.2.0/24", None);
    only6.ipv4_cidr = None;
    only6.ipv6_cidrs = vec![net("2600:1f18:abcd:1202::/64")];
    let inv = Inventory {
        vpcs: vec![vpc(
            "vpc-6",
            "us-east-1",
            "1",
            &["10.9.0.0/16"],
            &["2600:1f18:abcd:1200::/56"],
        )],
        subnets: vec![s1, s2, only6],
        ..Inventory::default()
    };
    let rs = run(&inv, DEFAULT);
    let v = find(&rs, "vpc-6");
    let b6 = v
        .cidr_blocks
        .iter()
        .find(|b| b.address_family == Family::Ipv6)
        .unwrap();
    assert_eq!(b6.unit, Unit::Slash64);
    assert_eq!((b6.total, b6.allocated, b6.free), (256, 3, 253));
    assert_eq!(b6.allocation_percent, 1.17);
    assert_eq!(b6.largest_free_block, Some(net("2600:1f18:abcd:1280::/57")));
    // IPv6 free space is not mixed into the IPv4 free blocks of the VPC.
    assert!(v.free_blocks.iter().all(|b| matches!(b, IpNet::V4(_))));

    let o = find(&rs, "s-6c");
    assert_eq!(
        (o.address_family, o.unit, o.total, o.measure),
        (Family::Ipv6, Unit::Slash64, 1, Measure::None)
    );
    assert_eq!((o.utilization_percent, o.status), (None, Status::Ok));
}

#[test]
fn ipv6_block_fully_allocated_is_a_planning_fact() {
    let subnets: Vec<Subnet> = (0..256)
        .map(|i| {
            let mut s = subnet(&format!("s-{i}"), "vpc-6", "10.0.0.0/28", None);
            s.ipv4_cidr = None;
            s.ipv6_cidrs = vec![net(&format!("2600:1f18:0:{:x}::/64", 0x1200 + i))];
            s
        })
        .collect();
    let inv = Inventory {
        vpcs: vec![vpc(
            "vpc-6",
            "us-east-1",
            "1",
            &["10.9.0.0/16"],
            &["2600:1f18:0:1200::/56"],
        )],
        subnets,
        ..Inventory::default()
    };
    let rs = run(&inv, DEFAULT);
    let v = find(&rs, "vpc-6");
    // No IPv4 subnet, so no address in use; the full /56 is in its block's figures.
    assert_eq!((v.utilization_percent, v.status), (None, Status::Ok));
    let b6 = v
        .cidr_blocks
        .iter()
        .find(|b| b.address_family == Family::Ipv6);
    assert_eq!(b6.unwrap().allocation_percent, 100.0);
}

#[test]
fn overlaps_across_vpcs_accounts_and_regions_are_grouped() {
    let inv = Inventory {
        vpcs: vec![
            vpc("vpc-a", "us-east-1", "111111111111", &["10.0.0.0/16"], &[]),
            vpc(
                "vpc-b",
                "eu-west-1",
                "111111111111",
                &["10.0.128.0/20"],
                &[],
            ),
            vpc(
                "vpc-c",
                "us-east-1",
                "222222222222",
                &["10.0.200.0/24"],
                &[],
            ),
            vpc(
                "vpc-d",
                "us-east-1",
                "111111111111",
                &["10.1.0.0/16", "10.2.0.0/16"],
                &[],
            ),
            vpc(
                "vpc-e",
                "us-east-1",
                "333333333333",
                &["192.168.0.0/24"],
                &["2600:1f18::/56"],
            ),
            vpc(
                "vpc-f",
                "us-west-2",
                "333333333333",
                &["172.16.0.0/24"],
                &["2600:1f18::/64"],
            ),
        ],
        ..Inventory::default()
    };
    let overlaps = calculate(inv, &DEFAULT, ThresholdSource::Config).overlaps;
    assert_eq!(overlaps.len(), 2, "{overlaps:#?}");
    assert_eq!(overlaps[0].cidr, net("10.0.0.0/16"));
    let ids: Vec<&str> = overlaps[0]
        .members
        .iter()
        .map(|m| m.resource_id.as_str())
        .collect();
    assert_eq!(ids, ["vpc-a", "vpc-b", "vpc-c"]);
    assert_eq!(overlaps[0].members[2].account_id, "222222222222");
    assert_eq!(overlaps[1].cidr, net("2600:1f18::/56"));
    assert_eq!(overlaps[1].members.len(), 2);
}

#[test]
fn adjacent_blocks_do_not_overlap() {
    let inv = Inventory {
        vpcs: vec![
            vpc("vpc-a", "us-east-1", "1", &["10.0.0.0/24"], &[]),
            vpc("vpc-b", "us-east-1", "1", &["10.0.1.0/24"], &[]),
        ],
        ..Inventory::default()
    };
    assert!(calculate(inv, &DEFAULT, ThresholdSource::Config)
        .overlaps
        .is_empty());
}

#[test]
fn tag_overrides_thresholds_for_one_resource() {
    let mut tagged = subnet("s-tag", "vpc-1", "10.0.0.0/26", Some(29)); // 30 of 59 used
    tagged.tags.insert(TAG_WARNING.into(), "50".into());
    let mut bad = subnet("s-bad", "vpc-1", "10.0.1.0/26", Some(29));
    bad.tags.insert(TAG_WARNING.into(), "half".into());
    let inv = Inventory {
        subnets: vec![tagged, bad],
        ..Inventory::default()
    };
    let rs = run(&inv, DEFAULT);
    let t = find(&rs, "s-tag");
    assert_eq!(
        (t.status, t.thresholds.warning_percent, t.thresholds.source),
        (Status::Warning, 50.0, ThresholdSource::Tag)
    );
    let b = find(&rs, "s-bad");
    assert_eq!(
        (b.status, b.thresholds.source),
        (Status::Ok, ThresholdSource::Config)
    );
    assert!(
        b.warnings.iter().any(|w| w.contains("\"half\"")),
        "{:?}",
        b.warnings
    );
}

#[test]
fn shared_subnets_seen_from_two_accounts_count_once_and_order_is_worst_first() {
    let mut inv = Inventory {
        vpcs: vec![vpc("vpc-1", "us-east-1", "1", &["10.0.0.0/24"], &[])],
        subnets: vec![
            subnet("s-ok", "vpc-1", "10.0.0.0/26", Some(59)),
            subnet("s-crit", "vpc-1", "10.0.0.64/26", Some(1)),
            subnet("s-warn", "vpc-1", "10.0.0.128/26", Some(10)),
        ],
        ..Inventory::default()
    };
    inv.subnets.push(inv.subnets[1].clone());
    let calc = calculate(inv, &DEFAULT, ThresholdSource::Config);
    let ids: Vec<&str> = calc
        .resources
        .iter()
        .map(|r| r.resource_id.as_str())
        .collect();
    assert_eq!(ids, ["s-crit", "s-warn", "vpc-1", "s-ok"]);
    let s = &calc.summary;
    assert_eq!(
        (
            s.resources,
            s.vpcs,
            s.subnets,
            s.critical,
            s.warning,
            s.ok,
            s.in_breach
        ),
        (4, 1, 3, 1, 1, 2, 2)
    );
    let v = find(&calc.resources, "vpc-1");
    // Used addresses 0 + 58 + 49: the duplicate subnet is not counted twice.
    assert_eq!(v.used, 107);
}

#[test]
fn subnet_outside_vpc_blocks_is_flagged() {
    let inv = Inventory {
        vpcs: vec![vpc("vpc-1", "us-east-1", "1", &["10.0.0.0/24"], &[])],
        subnets: vec![subnet("s-x", "vpc-1", "10.9.0.0/28", Some(11))],
        ..Inventory::default()
    };
    let rs = run(&inv, DEFAULT);
    let v = find(&rs, "vpc-1");
    assert_eq!(v.used, 0);
    assert!(v.warnings[0].contains("s-x"), "{:?}", v.warnings);
    assert_eq!(find(&rs, "s-x").resource_type, ResourceType::Subnet);
}

fn pool(
    id: &str,
    parent: Option<&str>,
    cidrs: &[&str],
    allocs: &[(&str, &str, Option<&str>)],
) -> IpamPool {
    IpamPool {
        id: id.into(),
        ipam_id: "ipam-1".into(),
        scope_id: "ipam-scope-private".into(),
        scope_type: "private".into(),
        parent_pool_id: parent.map(str::to_owned),
        locale: None,
        depth: Some(if parent.is_some() { 2 } else { 1 }),
        account_id: "111111111111".into(),
        region: "us-east-1".into(),
        description: None,
        tags: Tags::new(),
        cidrs: cidrs.iter().map(|c| net(c)).collect(),
        allocations: allocs
            .iter()
            .map(|(c, kind, id)| PoolAllocation {
                cidr: net(c),
                resource_type: (*kind).into(),
                resource_id: id.map(Into::into),
                resource_region: None,
                resource_owner: None,
            })
            .collect(),
        warnings: vec![],
    }
}

#[test]
fn nested_pools_count_child_pools_as_parent_allocations() {
    let inv = Inventory {
        pools: vec![
            pool(
                "top",
                None,
                &["10.0.0.0/8"],
                &[
                    ("10.0.0.0/12", "ipam-pool", Some("child")),
                    ("10.16.0.0/12", "ipam-pool", Some("other")),
                ],
            ),
            pool(
                "child",
                Some("top"),
                &["10.0.0.0/12"],
                &[("10.0.0.0/16", "vpc", Some("vpc-1"))],
            ),
        ],
        ..Inventory::default()
    };
    let rs = run(&inv, DEFAULT);
    let top = find(&rs, "top");
    assert_eq!(
        (top.resource_type, top.measure),
        (ResourceType::IpamPool, Measure::Allocation)
    );
    assert_eq!(
        (top.total, top.used, top.free),
        (1 << 24, 2 << 20, (1 << 24) - (2 << 20))
    );
    assert_eq!(
        (top.utilization_percent, top.status),
        (Some(12.5), Status::Ok)
    );
    assert_eq!(top.largest_free_block, Some(net("10.128.0.0/9")));
    let child = find(&rs, "child");
    assert_eq!(child.pool().unwrap().parent_pool_id.as_deref(), Some("top"));
    assert_eq!(
        (child.used, child.utilization_percent),
        (65_536, Some(6.25))
    );
}

#[test]
fn fragmented_pool_free_blocks_and_allocations_outside_provisioned_space() {
    // Two provisioned /24s; allocations leave .0.64/26, .0.192/26 and .1.0/25 free.
    let inv = Inventory {
        pools: vec![pool(
            "p",
            None,
            &["172.16.0.0/24", "172.16.1.0/24"],
            &[
                ("172.16.0.0/26", "custom", None),
                ("172.16.0.128/26", "vpc", Some("vpc-9")),
                ("172.16.1.128/25", "vpc", Some("vpc-8")),
                ("192.168.9.0/24", "custom", None),
            ],
        )],
        ..Inventory::default()
    };
    let rs = run(&inv, DEFAULT);
    let p = find(&rs, "p");
    assert_eq!((p.total, p.used, p.free), (512, 256, 256));
    assert_eq!(
        p.free_blocks,
        vec![
            net("172.16.0.64/26"),
            net("172.16.0.192/26"),
            net("172.16.1.0/25")
        ]
    );
    assert_eq!(p.largest_free_block, Some(net("172.16.1.0/25")));
    assert!(
        p.warnings.iter().any(|w| w.contains("192.168.9.0/24")),
        "{:?}",
        p.warnings
    );
}

#[test]
fn fully_allocated_pool_is_critical_and_free_floor_applies_to_pools() {
    let full = pool(
        "full",
        None,
        &["10.9.0.0/22"],
        &[
            ("10.9.0.0/23", "vpc", Some("a")),
            ("10.9.2.0/23", "vpc", Some("b")),
        ],
    );
    let inv = Inventory {
        pools: vec![full],
        ..Inventory::default()
    };
    let p = run(&inv, DEFAULT).into_iter().next().unwrap();
    assert_eq!(
        (p.used, p.free, p.utilization_percent, p.status),
        (1024, 0, Some(100.0), Status::Critical)
    );
    assert_eq!(p.largest_free_block, None);

    let half = pool(
        "half",
        None,
        &["10.9.0.0/22"],
        &[("10.9.0.0/23", "vpc", Some("a"))],
    );
    let inv = Inventory {
        pools: vec![half],
        ..Inventory::default()
    };
    let floor = Thresholds {
        min_free_addresses: Some(512),
        ..DEFAULT
    };
    assert_eq!(
        run(&inv, floor)[0].status,
        Status::Warning,
        "512 free is at the floor"
    );
}

#[test]
fn ipv6_pool_in_slash64_units_without_overflow() {
    let inv = Inventory {
        pools: vec![pool(
            "v6",
            None,
            &["2600:1f00::/40", "fd00::/8"],
            &[
                ("2600:1f00::/56", "vpc", Some("vpc-6")),
                ("fd00::/9", "custom", None),
            ],
        )],
        ..Inventory::default()
    };
    let p = run(&inv, DEFAULT).into_iter().next().unwrap();
    assert_eq!((p.address_family, p.unit), (Family::Ipv6, Unit::Slash64));
    // /40 = 2^24 /64s, /8 = 2^56 /64s; allocated /56 = 2^8 and /9 = 2^55.
    assert_eq!(p.total, (1u128 << 24) + (1u128 << 56));
    assert_eq!(p.used, (1u128 << 8) + (1u128 << 55));
    assert_eq!(p.utilization_percent, Some(50.0));
    assert_eq!(p.largest_free_block, Some(net("fd80::/9")));
}

#[test]
fn managed_blocks_come_from_allocations_to_that_vpc() {
    let mut v = vpc(
        "vpc-1",
        "us-east-1",
        "1",
        &["10.0.0.0/16", "10.1.0.0/20"],
        &[],
    );
    v.tags.insert("Name".into(), "core".into());
    let inv = Inventory {
        vpcs: vec![v, vpc("vpc-2", "eu-west-1", "1", &["10.0.128.0/20"], &[])],
        subnets: vec![
            subnet("s-1", "vpc-1", "10.0.0.0/24", Some(100)),
            subnet("s-2", "vpc-1", "10.1.0.0/24", Some(100)),
        ],
        pools: vec![pool(
            "use1",
            None,
            &["10.0.0.0/12"],
            &[("10.0.0.0/16", "vpc", Some("vpc-1"))],
        )],
        resource_cidrs: vec![ResourceCidr {
            resource_id: "s-1".into(),
            name: None,
            resource_type: "subnet".into(),
            resource_region: Some("us-east-1".into()),
            resource_owner: None,
            vpc_id: Some("vpc-1".into()),
            pool_id: None,
            cidr: net("10.0.0.0/24"),
            ip_usage: Some(0.9), // ours: 151 of 251 = 60.16 %
            compliance_status: Some("compliant".into()),
            overlap_status: Some("nonoverlapping".into()),
            management_state: Some("managed".into()),
        }],
        ..Inventory::default()
    };
    let calc = calculate(inv, &DEFAULT, ThresholdSource::Config);
    let v1 = find(&calc.resources, "vpc-1");
    let managed: Vec<(Option<bool>, Option<&str>)> = v1
        .cidr_blocks
        .iter()
        .map(|b| (b.managed, b.ipam_pool_id.as_deref()))
        .collect();
    assert_eq!(managed, [(Some(true), Some("use1")), (Some(false), None)]);
    assert_eq!(v1.managed, Some(false));
    // vpc-2's block lies inside vpc-1's allocation but is not allocated to vpc-2.
    assert_eq!(find(&calc.resources, "vpc-2").managed, Some(false));
    assert_eq!(find(&calc.resources, "s-1").managed, Some(true));
    assert_eq!(find(&calc.resources, "s-2").managed, Some(false));
    let s1 = find(&calc.resources, "s-1");
    let o = s1.ipam_observed().unwrap();
    assert_eq!((o.ip_usage_percent, o.disagrees), (Some(90.0), true));
    assert!(
        s1.warnings[0].contains("IPAM reports 90% used where this run computed 60.16%"),
        "{:?}",
        s1.warnings
    );
    assert_eq!(
        (
            calc.summary.managed_cidrs,
            calc.summary.unmanaged_cidrs,
            calc.summary.ipam_disagreements
        ),
        (1, 2, 1)
    );
}

#[test]
fn unmanaged_is_unknown_when_an_ipam_call_failed() {
    use ipam_monitor::domain::inventory::{IpamRead, Scope};
    let inv = Inventory {
        vpcs: vec![vpc("vpc-1", "us-east-1", "1", &["10.0.0.0/16"], &[])],
        ipam_reads: vec![(
            Scope {
                account_id: "1".into(),
                region: "us-east-1".into(),
            },
            IpamRead::Failed,
        )],
        errors: vec![ipam_monitor::domain::inventory::ScanError {
            account_id: "1".into(),
            region: "us-east-1".into(),
            operation: "GetIpamPoolAllocations".into(),
            code: Some("UnauthorizedOperation".into()),
            message: "denied".into(),
        }],
        ..Inventory::default()
    };
    let v = run(&inv, DEFAULT).into_iter().next().unwrap();
    assert_eq!((v.managed, v.cidr_blocks[0].managed), (None, None));
}

/// The documented order (status, utilization with unmeasured last, resource id, then
/// input order) on many ties, checked against a plain stable sort.
#[test]
fn worst_first_order_matches_the_documented_comparison_on_many_ties() {
    let mut subnets = Vec::new();
    for i in 0..600u32 {
        // A few distinct usages, so most records tie on status and utilization.
        let available = match i % 7 {
            0 => None,
            1 => Some(0),
            k => Some(i64::from(k) * 9),
        };
        let net = format!("10.{}.{}.0/26", i / 256, i % 256);
        // Every id appears twice (in two VPCs' regions), so some keys tie fully. Half
        // the ids share their first 24 bytes, where the sort's integer prefix ties and
        // the whole id must decide; their lengths differ (24 to 28 bytes), and by text
        // "...-13" comes before the shorter "...-3".
        let n = (i * 37) % 300;
        let id = match n {
            1 => "subnet-0123456789abcdef0".to_string(),
            n if n % 2 == 0 => format!("s-{n:03}"),
            n => format!("subnet-0123456789abcdef0-{n}"),
        };
        let mut s = subnet(&id, "vpc-1", &net, available);
        if i >= 300 {
            s.region = "eu-west-1".into();
            s.vpc_id = "vpc-2".into();
        }
        subnets.push(s);
    }
    let inv = Inventory {
        vpcs: vec![
            vpc("vpc-1", "us-east-1", "1", &["10.0.0.0/8"], &[]),
            vpc("vpc-2", "eu-west-1", "1", &["10.0.0.0/8"], &[]),
        ],
        subnets,
        ..Inventory::default()
    };
    let calc = calculate(inv.clone(), &DEFAULT, ThresholdSource::Config);
    let got: Vec<(Text, Text)> = calc
        .resources
        .iter()
        .map(|r| (r.resource_id.clone(), r.region.clone()))
        .collect();
    let mut expected = calc.resources.clone();
    // Input order: VPCs, then subnets as listed; the stable sort keeps it for full ties.
    expected.sort_by_key(|r| {
        inv.vpcs
            .iter()
            .map(|v| (&v.id, &v.region))
            .chain(inv.subnets.iter().map(|s| (&s.id, &s.region)))
            .position(|k| k == (&r.resource_id, &r.region))
    });
    expected.sort_by(worst_first);
    let want: Vec<(Text, Text)> = expected
        .iter()
        .map(|r| (r.resource_id.clone(), r.region.clone()))
        .collect();
    assert_eq!(got.len(), 602);
    assert_eq!(got, want);
    assert!(calc.resources[0].status >= calc.resources[601].status);
}

fn subnet_cidr(id: &str, cidr: &str, pool: &str) -> ResourceCidr {
    ResourceCidr {
        resource_id: id.into(),
        name: None,
        resource_type: "subnet".into(),
        resource_region: None,
        resource_owner: None,
        vpc_id: None,
        pool_id: Some(pool.into()),
        cidr: net(cidr),
        ip_usage: Some(0.5),
        compliance_status: None,
        overlap_status: None,
        management_state: None,
    }
}

/// Shared copies and IPAM's subnet CIDRs are matched by grouping both sides by id:
/// every kept subnet gets exactly the observation of its own id and CIDR, whatever the
/// order, for short ids and for long ones that share their first 24 bytes.
#[test]
fn each_subnet_gets_the_ipam_observation_of_its_own_id_and_cidr() {
    let id = |i: u32| {
        if i.is_multiple_of(2) {
            format!("subnet-{i:017x}")
        } else {
            format!("subnet-0123456789abcdef0-{i}")
        }
    };
    let mut subnets = Vec::new();
    let mut cidrs = Vec::new();
    let mut want = Vec::new();
    for i in 0..300u32 {
        let cidr = format!("10.{}.{}.0/28", i / 256, i % 256);
        let mut s = subnet(&id(i), "vpc-1", &cidr, Some(5));
        if i.is_multiple_of(15) {
            // The same id in another region, with its own CIDR and observation.
            let other_cidr = format!("10.200.{}.0/28", i / 15);
            let mut other = subnet(&id(i), "vpc-2", &other_cidr, Some(5));
            other.region = "eu-west-1".into();
            other.account_id = "222222222222".into();
            cidrs.push(subnet_cidr(&id(i), &other_cidr, &format!("eu-{i}")));
            want.push((id(i), "eu-west-1".to_string(), Some(format!("eu-{i}"))));
            subnets.push(other);
        }
        if !i.is_multiple_of(3) {
            cidrs.push(subnet_cidr(&id(i), &cidr, &format!("p-{i}")));
            want.push((id(i), "us-east-1".to_string(), Some(format!("p-{i}"))));
        } else {
            want.push((id(i), "us-east-1".to_string(), None));
        }
        // Decoys: this id with another CIDR, and an id no subnet has.
        cidrs.push(subnet_cidr(&id(i), "192.168.0.0/28", "wrong-cidr"));
        cidrs.push(subnet_cidr(&format!("{}-gone", id(i)), &cidr, "wrong-id"));
        s.account_id = "222222222222".into();
        subnets.push(s.clone());
        if i.is_multiple_of(10) {
            // A shared copy seen again from another account: dropped.
            s.account_id = "333333333333".into();
            subnets.push(s);
        }
    }
    // IPAM answers in its own order.
    let n = cidrs.len();
    let shuffled: Vec<_> = (0..n).map(|k| (k * 7919) % n).collect();
    let mut check = shuffled.clone();
    check.sort();
    check.dedup();
    assert_eq!(check.len(), n, "a permutation");
    let cidrs = shuffled.into_iter().map(|k| cidrs[k].clone()).collect();
    let inv = Inventory {
        vpcs: vec![
            vpc("vpc-1", "us-east-1", "1", &["10.0.0.0/8"], &[]),
            vpc("vpc-2", "eu-west-1", "1", &["10.0.0.0/8"], &[]),
        ],
        subnets,
        resource_cidrs: cidrs,
        ..Inventory::default()
    };
    let calc = calculate(inv, &DEFAULT, ThresholdSource::Config);
    let mut got: Vec<(String, String, Option<String>)> = calc
        .resources
        .iter()
        .filter(|r| r.resource_type == ResourceType::Subnet)
        .map(|r| {
            assert_eq!(
                r.account_id, "222222222222",
                "{} kept a later copy",
                r.resource_id
            );
            (
                r.resource_id.to_string(),
                r.region.to_string(),
                r.ipam_observed()
                    .and_then(|o| o.ipam_pool_id.as_ref())
                    .map(|p| p.to_string()),
            )
        })
        .collect();
    got.sort();
    want.sort();
    assert_eq!(got.len(), 320);
    assert_eq!(got, want);
}

/// IPAM names a resource's region: an id and CIDR alike in two regions are two
/// subnets, each with its own observation. Of two entries alike, the first listed is
/// used, for subnets and VPC blocks the same way; an entry without a type still
/// reaches its subnet.
#[test]
fn ipam_entries_follow_region_and_the_first_of_two_alike_wins() {
    let mut eu = subnet("subnet-1", "vpc-2", "10.0.0.0/24", Some(100));
    eu.region = "eu-west-1".into();
    let us = subnet("subnet-1", "vpc-1", "10.0.0.0/24", Some(100));
    let untyped = subnet("subnet-2", "vpc-1", "10.0.1.0/24", Some(100));
    let mut us_entry = subnet_cidr("subnet-1", "10.0.0.0/24", "pool-us");
    us_entry.resource_region = Some("us-east-1".into());
    let mut eu_entry = subnet_cidr("subnet-1", "10.0.0.0/24", "pool-eu");
    eu_entry.resource_region = Some("eu-west-1".into());
    let mut untyped_entry = subnet_cidr("subnet-2", "10.0.1.0/24", "pool-untyped");
    untyped_entry.resource_type = "".into();
    let vpc_entry = |usage: f64, pool: &str| ResourceCidr {
        resource_type: "vpc".into(),
        ip_usage: Some(usage),
        ..subnet_cidr("vpc-1", "10.0.0.0/16", pool)
    };
    let inv = Inventory {
        vpcs: vec![
            vpc("vpc-1", "us-east-1", "1", &["10.0.0.0/16"], &[]),
            vpc("vpc-2", "eu-west-1", "1", &["10.0.0.0/16"], &[]),
        ],
        // eu-west-1's copy is listed first.
        subnets: vec![eu, us, untyped],
        resource_cidrs: vec![
            us_entry,
            untyped_entry,
            vpc_entry(0.1, "first"),
            eu_entry,
            vpc_entry(0.9, "second"),
        ],
        ..Inventory::default()
    };
    let calc = calculate(inv, &DEFAULT, ThresholdSource::Config);
    let pool_of = |id: &str, region: &str| {
        calc.resources
            .iter()
            .find(|r| r.resource_id == id && r.region == region)
            .and_then(|r| r.ipam_observed())
            .and_then(|o| o.ipam_pool_id.as_deref())
            .map(str::to_owned)
    };
    assert_eq!(pool_of("subnet-1", "us-east-1").as_deref(), Some("pool-us"));
    assert_eq!(pool_of("subnet-1", "eu-west-1").as_deref(), Some("pool-eu"));
    assert_eq!(
        pool_of("subnet-2", "us-east-1").as_deref(),
        Some("pool-untyped")
    );
    let block = &find(&calc.resources, "vpc-1").cidr_blocks[0];
    let seen = block
        .ipam_observed
        .as_ref()
        .expect("the VPC block is observed");
    assert_eq!(
        (seen.ipam_pool_id.as_deref(), seen.ip_usage_percent),
        (Some("first"), Some(10.0))
    );
}

#[test]
fn sums_of_hostile_blocks_saturate_instead_of_overflowing() {
    // The sources refuse an IPv6 CIDR in an IPv4 field; the calculator still must not
    // overflow (a panic in debug builds, a wrapped figure in release) if one gets in.
    let inv = Inventory {
        vpcs: vec![vpc("vpc-1", "us-east-1", "1", &["::/0", "::/0"], &[])],
        subnets: vec![subnet("s-a", "vpc-1", "::/0", Some(10))],
        ..Inventory::default()
    };
    let rs = run(&inv, DEFAULT);
    let v = find(&rs, "vpc-1");
    let a = v.allocation().unwrap();
    assert_eq!(a.total, u128::MAX);
    assert!(
        a.allocated <= a.total && a.free == a.total - a.allocated,
        "{a:?}"
    );
    assert!(v.used <= v.usable && v.free == v.usable - v.used, "{v:?}");
}

#[test]
fn resources_listed_without_an_id_are_each_reported_not_merged() {
    // Two id-less subnets in one region used to collapse into one record (the RAM
    // dedup keys on region and id), and an id-less VPC took every subnet without a
    // VpcId.
    let mut a = subnet("", "", "10.0.1.0/24", Some(100));
    a.warnings.push("SubnetId: missing".into());
    let b = subnet("", "", "10.0.2.0/24", Some(10));
    let inv = Inventory {
        vpcs: vec![vpc("", "us-east-1", "1", &["10.0.0.0/16"], &[])],
        subnets: vec![a, b],
        ..Inventory::default()
    };
    let rs = run(&inv, DEFAULT);
    let subnets: Vec<_> = rs
        .iter()
        .filter(|r| r.resource_type == ResourceType::Subnet)
        .collect();
    assert_eq!(subnets.len(), 2, "{subnets:?}");
    let vpc = rs
        .iter()
        .find(|r| r.resource_type == ResourceType::Vpc)
        .unwrap();
    assert_eq!(vpc.used, 0, "no subnet is matched to a VPC without an id");
}

#[test]
fn unmeasurable_resources_are_unknown_counted_apart_and_never_alert() {
    let mut ipv6_only = subnet("s-v6", "vpc-1", "10.0.3.0/24", None);
    ipv6_only.ipv4_cidr = None;
    ipv6_only.ipv6_cidrs = vec![net("2600:1f18:abcd:1200::/64")];
    let inv = Inventory {
        vpcs: vec![
            vpc("vpc-1", "us-east-1", "1", &["10.0.0.0/16"], &[]),
            // Its only block was unreadable: the source left a warning and no CIDR.
            vpc("vpc-2", "us-east-1", "1", &[], &[]),
        ],
        subnets: vec![
            subnet("s-no-count", "vpc-1", "10.0.1.0/24", None),
            subnet("s-full", "vpc-1", "10.0.2.0/24", Some(0)),
            ipv6_only,
        ],
        ..Inventory::default()
    };
    let out = calculate(inv, &DEFAULT, ThresholdSource::Config);
    let status = |id: &str| find(&out.resources, id).status;
    assert_eq!(status("s-no-count"), Status::Unknown);
    assert_eq!(status("vpc-2"), Status::Unknown);
    // AWS reports no IPv6 usage; a /64 cannot run out.
    assert_eq!(status("s-v6"), Status::Ok);
    let s = &out.summary;
    // vpc-1 counts what it can: its one measured subnet is full.
    assert_eq!(status("vpc-1"), Status::Critical);
    assert_eq!(
        (s.unknown, s.ok, s.critical, s.in_breach),
        (2, 1, 2, 2),
        "{s:?}"
    );
    // Listed after the breaches, before what is fine.
    let order: Vec<Status> = out.resources.iter().map(|r| r.status).collect();
    assert_eq!(
        order,
        [
            Status::Critical,
            Status::Critical,
            Status::Unknown,
            Status::Unknown,
            Status::Ok
        ]
    );
}
