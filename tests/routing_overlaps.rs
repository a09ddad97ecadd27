//! Which overlaps alert: only those between VPCs that can route to each other, and
//! only what nobody acknowledged (pure calculator, hand-built connectivity).

use ipam_monitor::domain::calculator::{calculate, calculate_with, AcceptedOverlap, Suppressions};
use ipam_monitor::domain::inventory::{Endpoint, Inventory, Link, Scope, Subnet, Tags, Vpc};
use ipam_monitor::domain::report::{OverlapGroup, OverlapRouting};
use ipam_monitor::domain::thresholds::{Status, ThresholdSource, Thresholds, TAG_SUPPRESS};
use ipnet::IpNet;

fn net(s: &str) -> IpNet {
    s.parse().unwrap()
}

fn vpc(id: &str, account: &str, region: &str, cidrs: &[&str]) -> Vpc {
    let (v6, v4): (Vec<IpNet>, Vec<IpNet>) = cidrs
        .iter()
        .map(|c| net(c))
        .partition(|n| matches!(n, IpNet::V6(_)));
    Vpc {
        id: id.into(),
        account_id: account.into(),
        region: region.into(),
        is_default: false,
        ipv4_blocks: v4,
        ipv6_blocks: v6,
        tags: Tags::new(),
        warnings: vec![],
    }
}

fn attach(id: &str, vpc: &Vpc, tgw: &str) -> Link {
    Link {
        id: id.into(),
        ends: [
            Endpoint::Vpc {
                region: vpc.region.clone(),
                id: vpc.id.clone(),
            },
            Endpoint::TransitGateway(tgw.into()),
        ],
    }
}

fn peer(id: &str, a: &Vpc, b: &Vpc) -> Link {
    let end = |v: &Vpc| Endpoint::Vpc {
        region: v.region.clone(),
        id: v.id.clone(),
    };
    Link {
        id: id.into(),
        ends: [end(a), end(b)],
    }
}

fn tgw_peer(id: &str, a: &str, b: &str) -> Link {
    Link {
        id: id.into(),
        ends: [
            Endpoint::TransitGateway(a.into()),
            Endpoint::TransitGateway(b.into()),
        ],
    }
}

fn overlaps(vpcs: Vec<Vpc>, links: Vec<Link>, accepted: &[AcceptedOverlap]) -> Vec<OverlapGroup> {
    let inv = Inventory {
        vpcs,
        links,
        ..Inventory::default()
    };
    let s = Suppressions {
        accepted_overlaps: accepted.to_vec(),
        ..Suppressions::default()
    };
    calculate_with(inv, &Thresholds::default(), ThresholdSource::Config, &s).overlaps
}

#[test]
fn an_overlap_across_one_transit_gateway_is_a_conflict_and_without_it_is_not() {
    let a = vpc("vpc-a", "111111111111", "us-east-1", &["10.0.0.0/16"]);
    let b = vpc("vpc-b", "222222222222", "us-east-1", &["10.0.128.0/20"]);
    let links = vec![
        attach("tgw-attach-1", &a, "tgw-1"),
        attach("tgw-attach-2", &b, "tgw-1"),
    ];
    let g = &overlaps(vec![a.clone(), b.clone()], links, &[])[0];
    assert_eq!(g.routing, OverlapRouting::Conflict);
    assert!(g.alerts() && g.suppressed.is_none());
    assert_eq!(g.conflicts.len(), 1);
    let c = &g.conflicts[0];
    assert_eq!(
        (c.vpc_ids[0].as_str(), c.vpc_ids[1].as_str(), c.via.as_str()),
        ("vpc-a", "vpc-b", "tgw-1")
    );
    assert!(g
        .members
        .iter()
        .all(|m| m.routing_domain.as_deref() == Some("tgw-1")));

    // The same CIDRs on two gateways that do not peer: reuse that cannot collide.
    let links = vec![
        attach("tgw-attach-1", &a, "tgw-1"),
        attach("tgw-attach-2", &b, "tgw-2"),
    ];
    let g = &overlaps(vec![a.clone(), b.clone()], links.clone(), &[])[0];
    assert_eq!(g.routing, OverlapRouting::Isolated);
    assert!(!g.alerts() && g.conflicts.is_empty());

    // Peered gateways (across regions too) route between all their attachments; the
    // domain is named by its smallest gateway id.
    let mut peered = links;
    peered.push(tgw_peer("tgw-attach-p", "tgw-2", "tgw-1"));
    let g = &overlaps(vec![a, b], peered, &[])[0];
    assert_eq!(g.routing, OverlapRouting::Conflict);
    assert_eq!(g.conflicts[0].via, "tgw-1");
}

#[test]
fn vpc_peering_connects_exactly_its_two_vpcs() {
    let a = vpc("vpc-a", "111111111111", "us-east-1", &["10.0.0.0/16"]);
    let b = vpc("vpc-b", "111111111111", "eu-west-1", &["10.1.0.0/16"]);
    let c = vpc("vpc-c", "222222222222", "us-east-1", &["10.0.0.0/16"]);
    // a-b and b-c peered: a and c overlap, but peering is not transitive.
    let links = vec![peer("pcx-ab", &a, &b), peer("pcx-bc", &b, &c)];
    let groups = overlaps(vec![a.clone(), b.clone(), c.clone()], links, &[]);
    assert_eq!(groups.len(), 1);
    assert_eq!(groups[0].routing, OverlapRouting::Isolated);

    let g = &overlaps(
        vec![a.clone(), c.clone()],
        vec![peer("pcx-ac", &c, &a)],
        &[],
    )[0];
    assert_eq!(g.routing, OverlapRouting::Conflict);
    assert_eq!(g.conflicts[0].via, "pcx-ac");
    // No gateway: no domain name, but the pair still collides.
    assert!(g.members.iter().all(|m| m.routing_domain.is_none()));
}

#[test]
fn only_members_that_touch_each_other_conflict() {
    // outer holds two /24s that do not overlap each other; only they are connected.
    let outer = vpc("vpc-outer", "1", "us-east-1", &["10.0.0.0/16"]);
    let x = vpc("vpc-x", "2", "us-east-1", &["10.0.1.0/24"]);
    let y = vpc("vpc-y", "3", "us-east-1", &["10.0.2.0/24"]);
    let links = vec![attach("t1", &x, "tgw-1"), attach("t2", &y, "tgw-1")];
    let g = &overlaps(vec![outer, x, y], links, &[])[0];
    assert_eq!(g.members.len(), 3);
    assert_eq!(g.routing, OverlapRouting::Isolated);
}

#[test]
fn ipv6_overlaps_are_classified_too() {
    let a = vpc("vpc-a", "1", "us-east-1", &["2600:1f18:abcd::/56"]);
    let b = vpc("vpc-b", "2", "us-east-1", &["2600:1f18:abcd:80::/57"]);
    let links = vec![attach("t1", &a, "tgw-1"), attach("t2", &b, "tgw-1")];
    let g = &overlaps(vec![a, b], links, &[])[0];
    assert_eq!(g.routing, OverlapRouting::Conflict);
}

#[test]
fn accepted_overlaps_are_reported_as_acknowledged_and_a_new_pair_alerts_again() {
    let a = vpc("vpc-aaaaaaaa", "1", "us-east-1", &["10.0.0.0/16"]);
    let b = vpc("vpc-bbbbbbbb", "2", "us-east-1", &["10.0.0.0/16"]);
    let c = vpc("vpc-cccccccc", "3", "us-east-1", &["10.0.0.0/20"]);
    let links = vec![attach("t1", &a, "tgw-1"), attach("t2", &b, "tgw-1")];
    let by_vpc = [AcceptedOverlap::Vpc("vpc-bbbbbbbb".into())];
    let g = &overlaps(vec![a.clone(), b.clone()], links.clone(), &by_vpc)[0];
    assert_eq!(g.routing, OverlapRouting::Conflict);
    assert!(!g.alerts());
    let s = g.suppressed.as_ref().unwrap();
    assert_eq!(
        (s.by.as_str(), s.reason.as_str()),
        ("ACCEPTED_OVERLAPS", "accepted by vpc-bbbbbbbb")
    );

    let by_cidr = [AcceptedOverlap::Cidr(net("10.0.0.0/8"))];
    let g = &overlaps(vec![a.clone(), b.clone()], links.clone(), &by_cidr)[0];
    assert!(!g.alerts());
    assert_eq!(g.conflicts[0].accepted_by.as_deref(), Some("10.0.0.0/8"));

    // A third VPC joins the gateway: its pairs with a are not accepted by b's entry.
    let mut more = links;
    more.push(attach("t3", &c, "tgw-1"));
    let g = &overlaps(vec![a, b, c], more, &by_vpc)[0];
    assert!(g.alerts() && g.suppressed.is_none());
    assert_eq!(g.conflicts.len(), 3);
}

#[test]
fn an_unread_scope_leaves_its_overlaps_unknown_not_isolated() {
    let a = vpc("vpc-a", "111111111111", "us-east-1", &["10.0.0.0/16"]);
    let b = vpc("vpc-b", "222222222222", "us-east-1", &["10.0.0.0/16"]);
    let inv = Inventory {
        vpcs: vec![a, b],
        connectivity_unread: vec![Scope {
            account_id: "222222222222".into(),
            region: "us-east-1".into(),
        }],
        ..Inventory::default()
    };
    let out = calculate(inv, &Thresholds::default(), ThresholdSource::Config);
    assert_eq!(out.overlaps[0].routing, OverlapRouting::Unknown);
    assert!(!out.overlaps[0].alerts());
    assert_eq!(out.summary.overlap_conflicts, 0);
}

#[test]
fn fifty_accounts_by_four_regions_of_default_vpcs_alert_only_where_connected() {
    let regions = ["us-east-1", "us-west-2", "eu-west-1", "ap-south-1"];
    let mut vpcs = Vec::new();
    for account in 0..50 {
        for region in regions {
            let id = format!("vpc-{account:02}{}", &region[..2]);
            vpcs.push(vpc(
                &id,
                &format!("{account:012}"),
                region,
                &["172.31.0.0/16"],
            ));
        }
    }
    let inv = Inventory {
        vpcs: vpcs.clone(),
        ..Inventory::default()
    };
    let out = calculate(inv, &Thresholds::default(), ThresholdSource::Config);
    assert_eq!(out.overlaps.len(), 1);
    assert_eq!(out.overlaps[0].members.len(), 200);
    assert_eq!(out.summary.overlap_conflicts, 0);

    // Two accounts' default VPCs in us-east-1 on one shared gateway: one conflict.
    let links = vec![
        attach("t1", &vpcs[0], "tgw-shared"),
        attach("t2", &vpcs[4], "tgw-shared"),
    ];
    let inv = Inventory {
        vpcs,
        links,
        ..Inventory::default()
    };
    let out = calculate(inv, &Thresholds::default(), ThresholdSource::Config);
    assert_eq!(out.summary.overlap_conflicts, 1);
    assert_eq!(out.overlaps[0].conflicts.len(), 1);
}

fn subnet(id: &str, account: &str, available: i64, tags: Tags) -> Subnet {
    Subnet {
        id: id.into(),
        vpc_id: "vpc-none".into(),
        account_id: account.into(),
        region: "us-east-1".into(),
        availability_zone: "us-east-1a".into(),
        ipv4_cidr: Some(net("10.9.0.0/28")),
        ipv6_cidrs: vec![],
        available_ips: Some(available),
        tags,
        warnings: vec![],
    }
}

#[test]
fn acknowledged_resources_stay_in_the_report_and_leave_the_counts() {
    let tagged: Tags = [(TAG_SUPPRESS, "intentionally full - netops")]
        .into_iter()
        .collect();
    let inv = Inventory {
        subnets: vec![
            subnet("s-tagged", "111111111111", 0, tagged),
            subnet("s-lab", "999999999999", 0, Tags::new()),
            subnet("s-real", "111111111111", 0, Tags::new()),
        ],
        ..Inventory::default()
    };
    let s = Suppressions {
        accounts: vec!["999999999999".into()],
        ..Suppressions::default()
    };
    let out = calculate_with(inv, &Thresholds::default(), ThresholdSource::Config, &s);
    let get = |id: &str| out.resources.iter().find(|r| r.resource_id == id).unwrap();
    // Status stands; only the acknowledgement differs.
    assert!(out.resources.iter().all(|r| r.status == Status::Critical));
    let t = get("s-tagged").suppressed.clone().unwrap();
    assert_eq!(
        (t.by.as_str(), t.reason.as_str()),
        ("tag ipam-monitor:suppress", "intentionally full - netops")
    );
    assert_eq!(
        get("s-lab").suppressed.as_ref().unwrap().by,
        "SUPPRESS_ACCOUNTS"
    );
    assert!(get("s-real").suppressed.is_none() && get("s-real").alerts());
    assert!(!get("s-tagged").alerts() && !get("s-lab").alerts());
    let sum = &out.summary;
    assert_eq!(
        (sum.critical, sum.in_breach, sum.suppressed, sum.resources),
        (1, 1, 2, 3)
    );
}
