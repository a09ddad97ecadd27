//! The real handler and the local runner over HTTP against the emulator, seeded with
//! the demo estate (emulator/seed.py). Every figure below is computed by hand from
//! that estate.

mod common;

use common::Emulator;
use ipam_monitor::config::{Config, RegionSelection};
use ipam_monitor::handler::App;
use ipam_monitor::report::{Report, ResourceRecord};
use ipam_monitor::source::ec2::Ec2Source;
use ipam_monitor::thresholds::{Status, ThresholdSource};
use serde_json::{json, Value};

const ACCOUNT: &str = "123456789012";

fn demo_config(regions: RegionSelection) -> Config {
    Config {
        regions,
        own_region: Some("us-east-1".into()),
        ..Config::default()
    }
}

fn both_regions() -> RegionSelection {
    RegionSelection::List(vec!["us-east-1".into(), "eu-west-1".into()])
}

async fn run(emu: &Emulator, config: Config, event: Value) -> Report {
    let sdk = emu.sdk_config("us-east-1").await;
    let app = App {
        source: Ec2Source::new(&sdk),
        config,
        sinks: vec![],
    };
    app.run(&event, "test-run".into())
        .await
        .expect("run completes")
        .report
}

fn by_name<'a>(r: &'a Report, name: &str) -> &'a ResourceRecord {
    r.resources
        .iter()
        .find(|x| x.name.as_deref() == Some(name))
        .unwrap_or_else(|| panic!("{name} not in report"))
}

#[tokio::test]
async fn demo_estate_figures_match_hand_computed_values() {
    let emu = Emulator::start(Some("demo"));
    let r = run(&emu, demo_config(both_regions()), json!({})).await;

    assert_eq!(r.schema_version, 1);
    assert_eq!(r.run_id, "test-run");
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    assert_eq!(r.scopes.len(), 2);
    assert!(r
        .scopes
        .iter()
        .all(|s| s.ok && s.scope.account_id == ACCOUNT));

    let s = &r.summary;
    assert_eq!((s.resources, s.vpcs, s.subnets), (16, 4, 12));
    assert_eq!((s.critical, s.warning, s.ok, s.in_breach), (2, 3, 11, 5));
    assert_eq!(
        (s.overlap_groups, s.scopes_scanned, s.scopes_failed),
        (1, 2, 0)
    );

    // Subnets: total, usable, used, free, utilization, status.
    let cases = [
        ("prod-app-a", 4096, 4091, 0, 4091, 0.0, Status::Ok),
        ("prod-db-a", 256, 251, 240, 11, 95.62, Status::Critical),
        ("prod-edge-a", 16, 11, 9, 2, 81.82, Status::Warning),
        ("prod-tagged", 64, 59, 30, 29, 50.85, Status::Warning),
        ("prod-batch", 1024, 1019, 0, 1019, 0.0, Status::Ok),
        ("shared-0", 256, 251, 0, 251, 0.0, Status::Ok),
        ("legacy-eu-a", 256, 251, 0, 251, 0.0, Status::Ok),
        ("eu-small-a", 64, 59, 50, 9, 84.75, Status::Warning),
        ("eu-small-b", 64, 59, 0, 59, 0.0, Status::Ok),
    ];
    for (name, total, usable, used, free, pct, status) in cases {
        let x = by_name(&r, name);
        assert_eq!(
            (
                x.total,
                x.usable,
                x.used,
                x.free,
                x.utilization_percent,
                x.status
            ),
            (total, usable, used, free, Some(pct), status),
            "{name}"
        );
        assert_eq!(x.account_id, ACCOUNT);
    }
    let tagged = by_name(&r, "prod-tagged");
    assert_eq!(
        (tagged.thresholds.warning_percent, tagged.thresholds.source),
        (50.0, ThresholdSource::Tag)
    );

    // prod-core: 10.0.0.0/16 + secondary 10.1.0.0/20.
    let core = by_name(&r, "prod-core");
    assert_eq!(core.cidrs.len(), 2);
    assert_eq!((core.total, core.used, core.free), (69_632, 5_456, 64_176));
    assert_eq!(
        (core.utilization_percent, core.status),
        (Some(7.84), Status::Ok)
    );
    assert_eq!(
        core.largest_free_block,
        Some("10.0.128.0/17".parse().unwrap())
    );
    let blocks: Vec<(u128, u128)> = core
        .cidr_blocks
        .iter()
        .map(|b| (b.total, b.allocated))
        .collect();
    assert_eq!(blocks, [(65_536, 4_432), (4_096, 1_024)]);
    let usage = core.address_usage.as_ref().unwrap();
    assert_eq!((usage.usable, usage.used), (5_431, 279));

    let shared = by_name(&r, "shared-services");
    assert_eq!(
        (shared.used, shared.free, shared.status),
        (1024, 0, Status::Critical)
    );
    assert_eq!(shared.largest_free_block, None);

    let small = by_name(&r, "eu-small");
    assert_eq!((small.total, small.used), (256, 128));
    assert_eq!(
        small.largest_free_block,
        Some("192.168.0.128/25".parse().unwrap())
    );

    // Worst first.
    assert_eq!(r.resources[0].status, Status::Critical);
    assert_eq!(r.resources.last().unwrap().status, Status::Ok);

    // legacy-eu (eu-west-1) sits inside prod-core (us-east-1).
    let g = &r.overlaps[0];
    assert_eq!(g.cidr, "10.0.0.0/16".parse().unwrap());
    let regions: Vec<&str> = g.members.iter().map(|m| m.region.as_str()).collect();
    assert_eq!(regions, ["us-east-1", "eu-west-1"]);
}

#[tokio::test]
async fn event_overrides_thresholds_and_regions() {
    let emu = Emulator::start(Some("demo"));
    let event = json!({"warning_percent": 50, "critical_percent": 84.7, "regions": ["eu-west-1"]});
    let r = run(&emu, demo_config(both_regions()), event).await;
    assert_eq!(r.threshold_source, ThresholdSource::Event);
    assert_eq!(r.scopes.len(), 1);
    assert_eq!((r.summary.vpcs, r.summary.subnets), (2, 3));
    // 50 of 59 = 84.746 %: above the overridden critical threshold of 84.7.
    assert_eq!(by_name(&r, "eu-small-a").status, Status::Critical);
    assert_eq!(by_name(&r, "eu-small").status, Status::Warning); // 50 % allocated
}

#[tokio::test]
async fn own_region_and_all_regions() {
    let emu = Emulator::start(Some("demo"));
    let own = run(&emu, demo_config(RegionSelection::Own), json!({})).await;
    assert_eq!(own.scopes.len(), 1);
    assert_eq!(own.scopes[0].scope.region, "us-east-1");
    assert_eq!(own.summary.vpcs, 2);

    // Every other region of the emulator holds only its default VPC
    // (172.31.0.0/16), and those all overlap each other.
    let all = run(&emu, demo_config(RegionSelection::All), json!({})).await;
    let regions = all.scopes.len();
    assert!(regions > 10, "DescribeRegions gave {regions} regions");
    assert!(all.errors.is_empty(), "{:?}", all.errors);
    assert_eq!(all.summary.vpcs, 4 + (regions - 2));
    let defaults = all
        .overlaps
        .iter()
        .find(|g| g.cidr == "172.31.0.0/16".parse().unwrap())
        .expect("default VPCs overlap");
    assert_eq!(defaults.members.len(), regions - 2);
}

#[test]
fn local_runner_prints_table_and_json() {
    let emu = Emulator::start(Some("demo"));
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_ipam-monitor-local"))
        .envs(emu.env())
        .env("REGIONS", "us-east-1,eu-west-1")
        .env("RUST_LOG", "warn")
        .output()
        .expect("run ipam-monitor-local");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let table_end = text.find("\n{").expect("JSON after the table");
    let (table, json_text) = text.split_at(table_end);
    assert!(table.lines().next().unwrap().starts_with("STATUS"));
    assert!(table.contains("CRITICAL  vpc"), "{table}");
    assert!(table.contains("2 critical, 3 warning, 11 ok"), "{table}");
    let report: Value = serde_json::from_str(json_text).unwrap();
    assert_eq!(report["schema_version"], 1);
    assert_eq!(report["summary"]["resources"], 16);
    assert!(report["run_id"].as_str().unwrap().starts_with("local-"));
}

#[test]
fn local_runner_rejects_bad_configuration_without_calling_aws() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_ipam-monitor-local"))
        .env("AWS_REGION", "us-east-1")
        .env("CRITICAL_THRESHOLD_PERCENT", "150")
        .env("AWS_ENDPOINT_URL", "http://127.0.0.1:9") // nothing listens: must not be reached
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(78));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("CRITICAL_THRESHOLD_PERCENT=\"150\""), "{err}");
}
