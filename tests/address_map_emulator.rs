//! Address maps (`ADDRESS_MAP`) over HTTP against the emulator's demo estate. Its EKS
//! cluster `demo-eks` has two subnets whose free /28 blocks emulator/seed.py works
//! out by hand (EKS_FREE_28S):
//!
//! - eks-nodes-a, 10.4.0.0/24: single addresses in 13 of its 16 /28s, two /28
//!   prefixes, AWS's reserved addresses in the first and last: only 10.4.0.208/28 is
//!   free. One detached CNI interface holds .165 and .170.
//! - eks-nodes-b, 10.4.1.0/24: addresses in .0/28 and .16/28, prefixes .32/28 and
//!   .48/28, an explicit reservation 10.4.1.192/27 and the broadcast in .240/28:
//!   9 of 16 are free, the largest free block is 10.4.1.64/26.

mod common;

use common::{by_name, Emulator};
use ipam_monitor::app::config::{AddressMapMode, Config, FailOn, RegionSelection};
use ipam_monitor::app::handler::App;
use ipam_monitor::domain::holder::Holder;
use ipam_monitor::domain::report::{Report, ResourceRecord};
use ipam_monitor::domain::thresholds::{Rule, Status, Thresholds};
use ipam_monitor::source::ec2::Ec2Source;
use serde_json::json;

async fn run(emu: &Emulator, mode: AddressMapMode, thresholds: Thresholds) -> Report {
    let sdk = emu.sdk_config("us-east-1").await;
    let config = Config {
        regions: RegionSelection::List(vec!["us-east-1".into()]),
        own_region: Some("us-east-1".into()),
        fail_on: FailOn::Any,
        thresholds,
        address_map: mode,
        ..Config::default()
    };
    let app = App {
        store: None,
        source: Ec2Source::new(&sdk, None).with_address_map(mode),
        config,
        sinks: vec![],
    };
    app.run(&json!({}), "address-map".into())
        .await
        .expect("run completes")
        .report
}

/// The address sweep's calls since the counts were reset: DescribeNetworkInterfaces
/// and GetSubnetCidrReservations (`None`: not called).
fn map_calls(emu: &Emulator) -> (Option<u64>, Option<u64>) {
    let counts = emu.request_counts();
    (
        counts.get("ec2:DescribeNetworkInterfaces").copied(),
        counts.get("ec2:GetSubnetCidrReservations").copied(),
    )
}

#[tokio::test]
async fn eks_mode_maps_the_cluster_subnets_with_hand_computed_free_prefixes() {
    let emu = Emulator::start(Some("demo"));
    emu.reset_request_counts();
    let floor = Thresholds {
        min_free_prefixes: Some(2),
        ..Thresholds::default()
    };
    let r = run(&emu, AddressMapMode::Eks, floor).await;
    assert!(r.outcome.errors.is_empty(), "{:?}", r.outcome.errors);

    let a = by_name(&r, "eks-nodes-a");
    let map = a.address_map().expect("eks-nodes-a is mapped");
    assert_eq!(map.free_prefixes, 1);
    assert_eq!(
        map.largest_free_block,
        Some("10.4.0.208/28".parse().unwrap())
    );
    // The node's own interface, two CNI interfaces and a detached one.
    assert_eq!(map.interfaces, 4);
    assert_eq!(
        (map.detached.interfaces, map.detached.addresses_held),
        (1, 2)
    );
    assert_eq!(map.ipv4_prefixes, 2);
    // Reservations are read for cluster subnets: there are none here.
    assert_eq!(map.reserved_addresses, Some(0));
    let holders: Vec<Holder> = map.holders.iter().map(|h| h.holder).collect();
    assert_eq!(holders, [Holder::Eks, Holder::Instance]);
    // 18 % of its addresses used, yet only one /28 left: WARNING by the floor alone.
    assert_eq!(a.utilization_percent, Some(18.33));
    assert_eq!(a.status, Status::Warning);
    assert_eq!(a.reasons[0].rule, Rule::MinFreePrefixes);
    assert_eq!(a.eks_clusters(), ["demo-eks"]);

    let b = by_name(&r, "eks-nodes-b");
    let map = b.address_map().expect("eks-nodes-b is mapped");
    assert_eq!(map.free_prefixes, 9);
    assert_eq!(
        map.largest_free_block,
        Some("10.4.1.64/26".parse().unwrap())
    );
    assert_eq!(map.reserved_addresses, Some(32));
    assert_eq!(b.status, Status::Ok);

    // Subnets without the cluster tag are not mapped in this mode.
    assert!(by_name(&r, "prod-db-a").address_map().is_none());

    // The cluster by zone: one subnet in each, the tight zone is the one that warns.
    let cluster = &r.outcome.eks_clusters[0];
    assert_eq!(r.outcome.eks_clusters.len(), 1);
    assert_eq!(
        (cluster.cluster.as_str(), cluster.status),
        ("demo-eks", Status::Warning)
    );
    let zones: Vec<(&str, Option<u32>, u32, Status)> = cluster
        .zones
        .iter()
        .map(|z| {
            (
                z.availability_zone.as_str(),
                z.free_prefixes,
                z.detached_interfaces,
                z.status,
            )
        })
        .collect();
    assert_eq!(
        zones,
        [
            ("us-east-1a", Some(1), 1, Status::Warning),
            ("us-east-1b", Some(9), 0, Status::Ok),
        ]
    );

    // One filtered sweep for the scope, one reservation call per cluster subnet.
    assert_eq!(map_calls(&emu), (Some(1), Some(2)));
}

#[tokio::test]
async fn all_mode_maps_every_subnet_and_off_makes_no_call() {
    let emu = Emulator::start(Some("demo"));
    emu.reset_request_counts();
    let r = run(&emu, AddressMapMode::All, Thresholds::default()).await;
    assert!(r.outcome.errors.is_empty(), "{:?}", r.outcome.errors);
    // Every IPv4 subnet has a map; only the cluster's had their reservations read.
    let subnets: Vec<&ResourceRecord> = r
        .resources
        .iter()
        .filter(|x| x.resource_type.as_str() == "subnet")
        .collect();
    assert!(subnets.iter().all(|s| s.address_map().is_some()));
    let db = by_name(&r, "prod-db-a").address_map().unwrap();
    assert_eq!(db.reserved_addresses, None);
    assert_eq!(
        by_name(&r, "eks-nodes-a")
            .address_map()
            .unwrap()
            .free_prefixes,
        1
    );
    assert_eq!(map_calls(&emu), (Some(1), Some(2)));

    emu.reset_request_counts();
    let off = run(&emu, AddressMapMode::Off, Thresholds::default()).await;
    assert!(off.resources.iter().all(|x| x.address_map().is_none()));
    // The cluster view needs no map: it still sums up the zones' free addresses.
    assert_eq!(off.outcome.eks_clusters[0].zones[0].free_prefixes, None);
    assert_eq!(off.outcome.eks_clusters[0].zones[0].free_addresses, 205);
    assert_eq!(map_calls(&emu), (None, None));
}
