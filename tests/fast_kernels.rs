//! Each fast kernel against its plain twin, on thousands of random inputs: the fast
//! version may only be faster, never different.

use ipam_monitor::domain::calculator::{calculate, sort_worst_first};
use ipam_monitor::domain::fast::report_order;
use ipam_monitor::domain::inventory::{Inventory, Subnet, Tags, Vpc};
use ipam_monitor::domain::report::ResourceRecord;
use ipam_monitor::domain::thresholds::{Status, ThresholdSource, Thresholds};
use proptest::prelude::*;

/// A real record to vary: a subnet the calculator measured.
fn template() -> ResourceRecord {
    let inv = Inventory {
        vpcs: vec![Vpc {
            id: "vpc-1".into(),
            account_id: "111111111111".into(),
            region: "us-east-1".into(),
            is_default: false,
            ipv4_blocks: vec!["10.0.0.0/16".parse().unwrap()],
            ipv6_blocks: vec![],
            tags: Tags::new(),
            warnings: vec![],
        }],
        subnets: vec![Subnet {
            id: "subnet-1".into(),
            vpc_id: "vpc-1".into(),
            account_id: "111111111111".into(),
            region: "us-east-1".into(),
            availability_zone: "us-east-1a".into(),
            ipv4_cidr: Some("10.0.0.0/24".parse().unwrap()),
            ipv6_cidrs: vec![],
            available_ips: Some(100),
            tags: Tags::new(),
            warnings: vec![],
        }],
        ..Inventory::default()
    };
    let calc = calculate(inv, &Thresholds::default(), ThresholdSource::Config);
    calc.resources
        .into_iter()
        .find(|r| r.resource_id == "subnet-1")
        .expect("the subnet's record")
}

/// Ids that tie often: AWS-like ids alike in their first 16 bytes, long ids that share
/// 24 bytes or are a prefix of one another, short and empty ones, and odd bytes.
fn id() -> impl Strategy<Value = String> {
    prop_oneof![
        (0u32..24).prop_map(|n| format!("subnet-0123456789{n:07x}")),
        (0u32..24).prop_map(|n| format!("vpc-0{n:x}")),
        (0usize..10).prop_map(|n| format!("ipam-pool-0123456789abcdef{}", &"0123456789"[..n])),
        proptest::collection::vec(
            prop_oneof![Just(b'\0'), Just(b'a'), Just(b'z'), Just(0xc3u8)],
            0..20
        )
        .prop_map(|b| String::from_utf8_lossy(&b).into_owned()),
    ]
}

/// Report figures and the oddities a total order must still place: unmeasured, -0,
/// NaN, infinities, and many records sharing a figure.
fn utilization() -> impl Strategy<Value = Option<f64>> {
    prop_oneof![
        Just(None),
        (0u32..=20).prop_map(|h| Some(f64::from(h * 500) / 100.0)),
        (0u32..=10_000).prop_map(|h| Some(f64::from(h) / 100.0)),
        Just(Some(-0.0)),
        Just(Some(f64::NAN)),
        Just(Some(f64::INFINITY)),
        any::<f64>().prop_map(Some),
    ]
}

fn status() -> impl Strategy<Value = Status> {
    prop_oneof![
        Just(Status::Ok),
        Just(Status::Unknown),
        Just(Status::Warning),
        Just(Status::Critical)
    ]
}

/// The same record may come from several regions (a resource id seen twice), which
/// only a stable sort keeps in input order.
fn records() -> impl Strategy<Value = Vec<ResourceRecord>> {
    let record = (status(), utilization(), id(), 0usize..3);
    proptest::collection::vec(record, 0..300).prop_map(|parts| {
        let template = template();
        parts
            .into_iter()
            .map(|(status, utilization, id, region)| {
                let mut r = template.clone();
                r.status = status;
                r.utilization_percent = utilization;
                r.resource_id = id.into();
                r.region = ["us-east-1", "eu-west-1", "ap-south-2"][region].into();
                r
            })
            .collect()
    })
}

/// What tells two records apart, with the utilization's exact bits.
fn fingerprint(records: &[ResourceRecord]) -> Vec<(String, String, Status, Option<u64>)> {
    records
        .iter()
        .map(|r| {
            (
                r.resource_id.to_string(),
                r.region.to_string(),
                r.status,
                r.utilization_percent.map(f64::to_bits),
            )
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    #[test]
    fn the_fast_report_sort_gives_the_plain_order(records in records()) {
        let mut plain = records.clone();
        sort_worst_first(&mut plain);
        let mut fast = records;
        report_order::sort_worst_first(&mut fast);
        prop_assert_eq!(fingerprint(&fast), fingerprint(&plain));
    }
}
