//! IPAM-only against the emulator: the demo IPAM's fixture also lists a VPC and its
//! subnets in an account and region the emulator's EC2 has never seen. One run from
//! the IPAM account reports them, measured from IpUsage, with no role assumed and no
//! VPC or subnet described anywhere.

mod common;

use common::Emulator;
use ipam_monitor::app::config::{Config, IpamRegions, RegionSelection, SourceMode};
use ipam_monitor::app::handler::App;
use ipam_monitor::domain::report::{RecordSource, Report, ResourceRecord};
use ipam_monitor::domain::thresholds::Status;
use ipam_monitor::source::ec2::Ec2Source;
use serde_json::{json, Value};

const FAR_ACCOUNT: &str = "444455556666";
const FAR_REGION: &str = "ap-southeast-2";

/// A resource CIDR of the far account, in the demo IPAM's private scope.
fn far(template: &Value, kind: &str, id: &str, cidr: &str, usage: Option<f64>) -> Value {
    let mut e = json!({
        "IpamId": template["IpamId"],
        "IpamScopeId": template["IpamScopeId"],
        "ResourceRegion": FAR_REGION,
        "ResourceOwnerId": FAR_ACCOUNT,
        "ResourceId": id,
        "ResourceName": format!("far-{kind}"),
        "ResourceCidr": cidr,
        "ResourceType": kind,
        "VpcId": "vpc-0f00000000000000f",
        "ManagementState": "unmanaged",
        "ComplianceStatus": "unmanaged",
        "OverlapStatus": "nonoverlapping",
    });
    if let Some(u) = usage {
        e["IpUsage"] = json!(u);
    }
    e
}

fn record<'a>(r: &'a Report, id: &str) -> &'a ResourceRecord {
    r.resources
        .iter()
        .find(|x| x.resource_id == id)
        .unwrap_or_else(|| panic!("{id} not in report"))
}

#[tokio::test]
async fn ipam_only_reports_accounts_no_role_was_assumed_in() {
    let emu = Emulator::start(Some("demo"));
    let mut fixture = emu.ipam_fixture();
    let template = fixture["resourceCidrs"][0].clone();
    let entries = fixture["resourceCidrs"].as_array_mut().unwrap();
    entries.push(far(
        &template,
        "vpc",
        "vpc-0f00000000000000f",
        "10.200.0.0/16",
        Some(0.0117),
    ));
    // 10.200.0.0/24 at 0.5: usable 251, used round(125.5) = 126 (half rounds away
    // from zero), free 125, 50.2 %.
    entries.push(far(
        &template,
        "subnet",
        "subnet-0f0000000000000f1",
        "10.200.0.0/24",
        Some(0.5),
    ));
    // 10.200.1.0/26 at 0.97: usable 59, used round(57.23) = 57, free 2, 96.61 %.
    entries.push(far(
        &template,
        "subnet",
        "subnet-0f0000000000000f2",
        "10.200.1.0/26",
        Some(0.97),
    ));
    emu.set_ipam_fixture(&fixture);

    let config = Config {
        source_mode: SourceMode::Ipam,
        ipam_regions: IpamRegions::List(vec!["us-east-1".into()]),
        regions: RegionSelection::All,
        own_region: Some("us-east-1".into()),
        ..Config::default()
    };
    let sdk = emu.sdk_config("us-east-1").await;
    let app = App {
        store: None,
        source: Ec2Source::new(&sdk, None),
        config,
        sinks: vec![],
    };
    emu.reset_request_counts();
    let r = app
        .run(&json!({}), "ipam-only".into())
        .await
        .expect("the run completes")
        .report;
    assert!(r.outcome.errors.is_empty(), "{:?}", r.outcome.errors);

    let a = record(&r, "subnet-0f0000000000000f1");
    assert_eq!(a.source(), RecordSource::Ipam);
    assert_eq!(
        (a.account_id.as_str(), a.region.as_str()),
        (FAR_ACCOUNT, FAR_REGION)
    );
    assert_eq!(a.name.as_deref(), Some("far-subnet"));
    assert_eq!((a.total, a.usable, a.used, a.free), (256, 251, 126, 125));
    assert_eq!((a.utilization_percent, a.status), (Some(50.2), Status::Ok));
    let b = record(&r, "subnet-0f0000000000000f2");
    assert_eq!((b.total, b.usable, b.used, b.free), (64, 59, 57, 2));
    assert_eq!(
        (b.utilization_percent, b.status),
        (Some(96.61), Status::Critical)
    );
    // The VPC: its subnets' addresses, 183 of 310 = 59.03 %; not managed (no allocation).
    let v = record(&r, "vpc-0f00000000000000f");
    assert_eq!(v.source(), RecordSource::Ipam);
    assert_eq!((v.total, v.usable, v.used, v.free), (320, 310, 183, 127));
    assert_eq!(v.utilization_percent, Some(59.03));
    assert_eq!(v.managed, Some(false));
    // The demo's own VPCs and subnets come from IPAM too, since nothing was scanned.
    assert!(r.resources.iter().all(|x| x.source() == RecordSource::Ipam));
    assert_eq!(r.outcome.summary.vpcs, 6);

    // The calls: IPAM's, in the IPAM account's one region; no role, no EC2 listing.
    let counts = emu.request_counts();
    let pools = r.outcome.summary.ipam_pools as u64;
    assert_eq!(counts.get("ec2:DescribeIpams"), Some(&1), "{counts:?}");
    assert_eq!(counts.get("ec2:DescribeIpamScopes"), Some(&1), "{counts:?}");
    assert_eq!(counts.get("ec2:DescribeIpamPools"), Some(&1), "{counts:?}");
    assert_eq!(
        counts.get("ec2:GetIpamPoolCidrs"),
        Some(&pools),
        "{counts:?}"
    );
    assert_eq!(
        counts.get("ec2:GetIpamPoolAllocations"),
        Some(&pools),
        "{counts:?}"
    );
    // One page per scope (private and public) at up to 1000 entries a page.
    assert_eq!(
        counts.get("ec2:GetIpamResourceCidrs"),
        Some(&2),
        "{counts:?}"
    );
    for never in [
        "sts:AssumeRole",
        "ec2:DescribeRegions",
        "ec2:DescribeVpcs",
        "ec2:DescribeSubnets",
        "organizations:ListAccounts",
    ] {
        assert_eq!(counts.get(never), None, "{never}: {counts:?}");
    }
    let total: u64 = counts.values().sum();
    // GetCallerIdentity, the three Describe calls, two per pool, two resource pages.
    assert_eq!(total, 1 + 3 + 2 * pools + 2, "{counts:?}");
}
