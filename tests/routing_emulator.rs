//! Routing-aware overlaps against the emulator: real Transit Gateways, attachments and
//! VPC peerings in moto, read by the connectivity sweep, and which overlaps alert.

mod common;

use common::Emulator;
use ipam_monitor::app::config::{Config, FailOn, RegionSelection};
use ipam_monitor::app::handler::App;
use ipam_monitor::domain::report::{OverlapRouting, Report};
use ipam_monitor::source::ec2::Ec2Source;
use serde_json::json;

const REGION: &str = "us-east-1";

/// A VPC named `name` with one subnet spanning its first /24; its id and subnet id.
async fn vpc(ec2: &aws_sdk_ec2::Client, cidr: &str, name: &str) -> (String, String) {
    let out = ec2.create_vpc().cidr_block(cidr).send().await.unwrap();
    let id = out.vpc().unwrap().vpc_id().unwrap().to_string();
    let tag = aws_sdk_ec2::types::Tag::builder()
        .key("Name")
        .value(name)
        .build();
    ec2.create_tags()
        .resources(&id)
        .tags(tag)
        .send()
        .await
        .unwrap();
    let net: ipnet::Ipv4Net = cidr.parse().unwrap();
    let first = format!("{}/24", net.network());
    let subnet = ec2
        .create_subnet()
        .vpc_id(&id)
        .cidr_block(first)
        .send()
        .await
        .unwrap();
    (
        id,
        subnet.subnet().unwrap().subnet_id().unwrap().to_string(),
    )
}

async fn gateway(ec2: &aws_sdk_ec2::Client) -> String {
    let out = ec2.create_transit_gateway().send().await.unwrap();
    let tgw = out.transit_gateway().unwrap();
    tgw.transit_gateway_id().unwrap().to_string()
}

async fn attach(ec2: &aws_sdk_ec2::Client, tgw: &str, (vpc, subnet): &(String, String)) {
    ec2.create_transit_gateway_vpc_attachment()
        .transit_gateway_id(tgw)
        .vpc_id(vpc)
        .subnet_ids(subnet)
        .send()
        .await
        .unwrap();
}

async fn peering(ec2: &aws_sdk_ec2::Client, a: &str, b: &str) -> String {
    let out = ec2
        .create_vpc_peering_connection()
        .vpc_id(a)
        .peer_vpc_id(b)
        .send()
        .await
        .unwrap();
    let p = out.vpc_peering_connection().unwrap();
    p.vpc_peering_connection_id().unwrap().to_string()
}

async fn run(emu: &Emulator) -> Report {
    let sdk = emu.sdk_config(REGION).await;
    let config = Config {
        regions: RegionSelection::List(vec![REGION.into()]),
        own_region: Some(REGION.into()),
        fail_on: FailOn::Any,
        ..Config::default()
    };
    let app = App {
        store: None,
        source: Ec2Source::new(&sdk, None),
        config,
        sinks: vec![],
    };
    app.run(&json!({}), "routing".into())
        .await
        .expect("run completes")
        .report
}

#[tokio::test]
async fn only_overlaps_between_vpcs_that_can_route_to_each_other_alert() {
    let emu = Emulator::start(None);
    let ec2 = aws_sdk_ec2::Client::new(&emu.sdk_config(REGION).await);

    // Two domains: d1-a and d1-b share 10.10.0.0/20 on tgw-1 (a conflict); d2-a
    // reuses 10.10.0.0/16 on tgw-2, which routes to neither.
    let (tgw1, tgw2) = (gateway(&ec2).await, gateway(&ec2).await);
    let d1a = vpc(&ec2, "10.10.0.0/16", "d1-a").await;
    let d1b = vpc(&ec2, "10.10.0.0/20", "d1-b").await;
    let d2a = vpc(&ec2, "10.10.0.0/16", "d2-a").await;
    attach(&ec2, &tgw1, &d1a).await;
    attach(&ec2, &tgw1, &d1b).await;
    attach(&ec2, &tgw2, &d2a).await;
    // A peering (pending acceptance counts: the overlap is a problem before it is up).
    let pa = vpc(&ec2, "10.20.0.0/16", "p-a").await;
    let pb = vpc(&ec2, "10.20.0.0/16", "p-b").await;
    let pcx = peering(&ec2, &pa.0, &pb.0).await;
    // A rejected peering connects nothing.
    let ra = vpc(&ec2, "10.30.0.0/16", "r-a").await;
    let rb = vpc(&ec2, "10.30.0.0/16", "r-b").await;
    let rejected = peering(&ec2, &ra.0, &rb.0).await;
    ec2.reject_vpc_peering_connection()
        .vpc_peering_connection_id(&rejected)
        .send()
        .await
        .unwrap();
    emu.reset_request_counts();

    let r = run(&emu).await;
    assert!(r.outcome.errors.is_empty(), "{:?}", r.outcome.errors);
    let group = |cidr: &str| {
        r.outcome
            .overlaps
            .iter()
            .find(|g| g.cidr == cidr.parse().unwrap())
            .unwrap_or_else(|| panic!("no overlap group {cidr}: {:?}", r.outcome.overlaps))
    };

    let tgw_group = group("10.10.0.0/16");
    assert_eq!(tgw_group.members.len(), 3);
    assert_eq!(tgw_group.routing, OverlapRouting::Conflict);
    let pairs: Vec<(&str, &str, &str)> = tgw_group
        .conflicts
        .iter()
        .map(|c| (c.vpc_ids[0].as_str(), c.vpc_ids[1].as_str(), c.via.as_str()))
        .collect();
    // d1-a and d2-a share the most addresses, but cannot route to each other.
    let mut want = [d1a.0.as_str(), d1b.0.as_str()];
    want.sort();
    let got: Vec<[&str; 2]> = pairs
        .iter()
        .map(|(a, b, _)| {
            let mut p = [*a, *b];
            p.sort();
            p
        })
        .collect();
    assert_eq!(got, [want], "{pairs:?}");
    assert_eq!(pairs[0].2, tgw1);
    let d2 = tgw_group
        .members
        .iter()
        .find(|m| m.resource_id == d2a.0.as_str())
        .unwrap();
    assert_eq!(d2.routing_domain.as_deref(), Some(tgw2.as_str()));

    let peered = group("10.20.0.0/16");
    assert_eq!(peered.routing, OverlapRouting::Conflict);
    assert_eq!(peered.conflicts[0].via, pcx.as_str());

    assert_eq!(group("10.30.0.0/16").routing, OverlapRouting::Isolated);
    assert_eq!(r.outcome.summary.overlap_conflicts, 2);

    // One call of each connectivity sweep for the one scope.
    let counts = emu.request_counts();
    for op in [
        "ec2:DescribeTransitGatewayVpcAttachments",
        "ec2:DescribeTransitGatewayPeeringAttachments",
        "ec2:DescribeVpcPeeringConnections",
    ] {
        assert_eq!(counts.get(op), Some(&1), "{op}: {counts:?}");
    }
}
