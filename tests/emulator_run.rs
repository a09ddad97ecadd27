//! The real handler and the local runner over HTTP against the emulator, seeded with
//! the demo estate (emulator/seed.py). Every figure below is computed by hand from
//! that estate.

mod common;

use common::{by_name, Emulator};
use ipam_monitor::app::config::{Config, FailOn, RegionSelection};
use ipam_monitor::app::handler::App;
use ipam_monitor::domain::report::{OverlapRouting, Report, ResourceRecord};
use ipam_monitor::domain::thresholds::{Status, ThresholdSource};
use ipam_monitor::source::ec2::Ec2Source;
use serde_json::{json, Value};

const ACCOUNT: &str = "123456789012";

fn demo_config(regions: RegionSelection) -> Config {
    Config {
        regions,
        own_region: Some("us-east-1".into()),
        // These tests read scope errors from the failed invocation.
        fail_on: FailOn::Any,
        ..Config::default()
    }
}

fn both_regions() -> RegionSelection {
    RegionSelection::List(vec!["us-east-1".into(), "eu-west-1".into()])
}

async fn run(emu: &Emulator, config: Config, event: Value) -> Report {
    let sdk = emu.sdk_config("us-east-1").await;
    let app = App {
        store: None,
        source: Ec2Source::new(&sdk, None),
        config,
        sinks: vec![],
    };
    app.run(&event, "test-run".into())
        .await
        .expect("run completes")
        .report
}

#[tokio::test]
async fn demo_estate_figures_match_hand_computed_values() {
    let emu = Emulator::start(Some("demo"));
    let r = run(&emu, demo_config(both_regions()), json!({})).await;

    assert_eq!(r.run.schema_version, 6);
    assert_eq!(r.run.run_id, "test-run");
    assert!(r.outcome.errors.is_empty(), "{:?}", r.outcome.errors);
    assert_eq!(r.scan.scopes.len(), 2);
    assert!(r
        .scan
        .scopes
        .iter()
        .all(|s| s.ok && s.scope.account_id == ACCOUNT));

    let s = &r.outcome.summary;
    assert_eq!(
        (s.resources, s.vpcs, s.subnets, s.ipam_pools),
        (23, 5, 14, 4)
    );
    assert_eq!((s.critical, s.warning, s.ok, s.in_breach), (1, 3, 19, 4));
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
    // Its status follows the addresses in use in its five subnets...
    assert_eq!(
        (core.total, core.usable, core.used, core.free),
        (5_456, 5_431, 279, 5_152)
    );
    assert_eq!(
        (core.utilization_percent, core.status),
        (Some(5.14), Status::Ok)
    );
    // ...and its allocation, the space they cover, is a planning fact.
    let a = core.allocation().unwrap();
    assert_eq!(
        (a.total, a.allocated, a.free, a.allocation_percent),
        (69_632, 5_456, 64_176, Some(7.84))
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

    // Carved into four /24s on day one, not one address used: full by allocation,
    // fine by what runs out.
    let shared = by_name(&r, "shared-services");
    assert_eq!(
        (shared.used, shared.usable, shared.status),
        (0, 1_004, Status::Ok)
    );
    assert_eq!(shared.allocation().unwrap().allocation_percent, Some(100.0));
    assert_eq!(shared.largest_free_block, None);
    assert!(shared.reasons.is_empty());

    // Two /26s, 50 addresses in use; they cover half its /24.
    let small = by_name(&r, "eu-small");
    assert_eq!((small.total, small.used), (128, 50));
    assert_eq!(small.allocation().unwrap().allocated, 128);
    assert_eq!(
        small.largest_free_block,
        Some("192.168.0.128/25".parse().unwrap())
    );

    // Worst first.
    assert_eq!(r.resources[0].status, Status::Critical);
    assert_eq!(r.resources.last().unwrap().status, Status::Ok);

    // legacy-eu (eu-west-1) sits inside prod-core (us-east-1).
    let g = &r.outcome.overlaps[0];
    assert_eq!(g.cidr, "10.0.0.0/16".parse().unwrap());
    let regions: Vec<&str> = g.members.iter().map(|m| m.region.as_str()).collect();
    assert_eq!(regions, ["us-east-1", "eu-west-1"]);
    // Nothing connects them: reuse that cannot collide, reported but not alerting.
    assert_eq!(g.routing, OverlapRouting::Isolated);
    assert_eq!(s.overlap_conflicts, 0);
}

#[tokio::test]
async fn event_overrides_thresholds_and_regions() {
    let emu = Emulator::start(Some("demo"));
    let event = json!({"warning_percent": 50, "critical_percent": 84.7, "regions": ["eu-west-1"]});
    let r = run(&emu, demo_config(both_regions()), event).await;
    assert_eq!(r.scan.threshold_source, ThresholdSource::Event);
    // eu-west-1, and the IPAM's home region, read whatever the regions asked.
    let scopes: Vec<&str> = r
        .scan
        .scopes
        .iter()
        .map(|s| s.scope.region.as_str())
        .collect();
    assert_eq!(scopes, ["eu-west-1", "us-east-1"]);
    assert_eq!((r.outcome.summary.vpcs, r.outcome.summary.subnets), (2, 3));
    // 50 of 59 = 84.746 %: above the overridden critical threshold of 84.7.
    assert_eq!(by_name(&r, "eu-small-a").status, Status::Critical);
    // Half its space is carved into subnets, but 50 of its 118 addresses are in use
    // (42.37 %): what runs out is the addresses, so it is fine.
    let eu_small = by_name(&r, "eu-small");
    assert_eq!(
        (eu_small.utilization_percent, eu_small.status),
        (Some(42.37), Status::Ok)
    );
    assert_eq!(
        eu_small.allocation().unwrap().allocation_percent,
        Some(50.0)
    );
}

#[tokio::test]
async fn own_region_and_all_regions() {
    let emu = Emulator::start(Some("demo"));
    let own = run(&emu, demo_config(RegionSelection::Own), json!({})).await;
    assert_eq!(own.scan.scopes.len(), 1);
    assert_eq!(own.scan.scopes[0].scope.region, "us-east-1");
    assert_eq!(own.outcome.summary.vpcs, 3);

    // Every other region of the emulator holds only its default VPC
    // (172.31.0.0/16), and those all overlap each other.
    let all = run(&emu, demo_config(RegionSelection::All), json!({})).await;
    let regions = all.scan.scopes.len();
    assert!(regions > 10, "DescribeRegions gave {regions} regions");
    assert!(all.outcome.errors.is_empty(), "{:?}", all.outcome.errors);
    assert_eq!(all.outcome.summary.vpcs, 5 + (regions - 2));
    let defaults = all
        .outcome
        .overlaps
        .iter()
        .find(|g| g.cidr == "172.31.0.0/16".parse().unwrap())
        .expect("default VPCs overlap");
    assert_eq!(defaults.members.len(), regions - 2);
    // Default VPCs attached to nothing never alert.
    assert_eq!(defaults.routing, OverlapRouting::Isolated);
    assert_eq!(all.outcome.summary.overlap_conflicts, 0);
}

#[test]
fn local_runner_prints_table_and_json() {
    let emu = Emulator::start(Some("demo"));
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_ipam-monitor-local"))
        .envs(emu.env())
        .env("REGIONS", "us-east-1,eu-west-1")
        .env("ADDRESS_MAP", "eks")
        .env("RUST_LOG", "info")
        // Empty means unset (SAM passes unset parameters as ""); aws-config panicked
        // on these when it read them itself.
        .env("AWS_RETRY_MODE", "")
        .env("AWS_MAX_ATTEMPTS", "")
        .output()
        .expect("run ipam-monitor-local");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The log goes to a pipe here, so it carries no colour escape codes.
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(log.contains("run finished"), "{log}");
    assert!(
        !log.contains('\u{1b}'),
        "escape codes in a piped log: {log:?}"
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let table_end = text.find("\n{").expect("JSON after the table");
    let (table, json_text) = text.split_at(table_end);
    assert!(table.lines().next().unwrap().starts_with("STATUS"));
    // The carved shared-services VPC uses no address: not a breach.
    assert!(table.contains("CRITICAL  subnet"), "{table}");
    assert!(!table.contains("CRITICAL  vpc"), "{table}");
    assert!(
        table.contains(
            "1 critical, 3 warning, 0 unknown, 19 ok, 0 suppressed; 2 managed and 4 unmanaged"
        ),
        "{table}"
    );
    assert!(table.contains("95.62% used >= critical 95%"), "{table}");
    // ADDRESS_MAP=eks maps the demo cluster's two subnets (emulator/seed.py works
    // out their free /28s by hand) and sums them up per zone.
    assert!(
        table.contains("(eks-nodes-a): 1 free /28, largest free 10.4.0.208/28; 4 interfaces"),
        "{table}"
    );
    assert!(
        table.contains("; 1 detached holding 2 addresses"),
        "{table}"
    );
    assert!(
        table.contains("(eks-nodes-b): 9 free /28, largest free 10.4.1.64/26; 2 interfaces"),
        "{table}"
    );
    assert!(
        table.contains("EKS clusters:\n  demo-eks (123456789012/us-east-1): OK"),
        "{table}"
    );
    assert!(
        table.contains("    us-east-1a: 1 subnet(s), 205 free addresses, 1 free /28, 1 detached interface(s), OK"),
        "{table}"
    );
    // The JSON report, then the sinks' lines.
    let report: Value = serde_json::Deserializer::from_str(json_text)
        .into_iter()
        .next()
        .expect("a JSON report")
        .unwrap();
    assert_eq!(report["schema_version"], 6);
    assert_eq!(report["summary"]["resources"], 23);
    assert!(report["run_id"].as_str().unwrap().starts_with("local-"));
}

#[test]
fn local_runner_rejects_bad_configuration_without_calling_aws() {
    let cases = [
        ("CRITICAL_THRESHOLD_PERCENT", "150"),
        // The SDK's own settings, which aws-config would otherwise panic on.
        ("AWS_MAX_ATTEMPTS", "0"),
        ("AWS_MAX_ATTEMPTS", "abc"),
        ("AWS_RETRY_MODE", "foo"),
    ];
    for (variable, value) in cases {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_ipam-monitor-local"))
            .env("AWS_REGION", "us-east-1")
            .env(variable, value)
            .env("AWS_ENDPOINT_URL", "http://127.0.0.1:9") // nothing listens: must not be reached
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(78), "{variable}={value}: {err}");
        assert!(err.contains(&format!("{variable}=\"{value}\"")), "{err}");
        assert!(!err.contains("panicked"), "{err}");
    }
}

fn pool<'a>(r: &'a Report, name: &str) -> &'a ResourceRecord {
    r.resources
        .iter()
        .find(|x| {
            x.resource_type == ipam_monitor::domain::report::ResourceType::IpamPool
                && x.name.as_deref() == Some(name)
        })
        .unwrap_or_else(|| panic!("pool {name} not in report"))
}

#[tokio::test]
async fn ipam_pools_and_the_managed_unmanaged_split() {
    let emu = Emulator::start(Some("demo"));
    let r = run(&emu, demo_config(both_regions()), json!({})).await;
    let s = &r.outcome.summary;
    assert_eq!(
        (
            s.ipam_pools,
            s.managed_cidrs,
            s.unmanaged_cidrs,
            s.ipam_disagreements
        ),
        (4, 2, 4, 0)
    );

    // Top-level 10.0.0.0/8: the two regional /12 child pools are its allocations.
    let top = pool(&r, "top-ipv4");
    assert_eq!(
        (top.total, top.used, top.free),
        (16_777_216, 2_097_152, 14_680_064)
    );
    assert_eq!(
        (top.utilization_percent, top.status),
        (Some(12.5), Status::Ok)
    );
    assert_eq!(
        top.largest_free_block,
        Some("10.128.0.0/9".parse().unwrap())
    );
    let details = top.pool().unwrap();
    assert_eq!(
        (
            details.parent_pool_id.as_deref(),
            details.locale.as_deref(),
            details.scope_type.as_str()
        ),
        (None, None, "private")
    );
    assert_eq!(details.allocations, 2);

    // us-east-1 child: prod-core /16 + shared-services /22 + a custom /16.
    let use1 = pool(&r, "use1-ipv4");
    assert_eq!(
        (use1.total, use1.used),
        (1_048_576, 65_536 + 1_024 + 65_536)
    );
    assert_eq!(use1.utilization_percent, Some(12.6));
    assert_eq!(use1.region, "us-east-1");
    assert_eq!(
        use1.pool().unwrap().parent_pool_id.as_deref(),
        Some(top.resource_id.as_str())
    );

    // eu-west-1 child: provisioned, nothing allocated.
    let euw1 = pool(&r, "euw1-ipv4");
    assert_eq!(
        (euw1.used, euw1.free, euw1.utilization_percent),
        (0, 1_048_576, Some(0.0))
    );
    assert_eq!(
        euw1.largest_free_block,
        Some("10.16.0.0/12".parse().unwrap())
    );

    // IPv6 pool in /64 units: a /56 of a /48.
    let v6 = pool(&r, "use1-ipv6");
    assert_eq!(
        (v6.unit, v6.total, v6.used),
        (ipam_monitor::domain::report::Unit::Slash64, 65_536, 256)
    );

    // Managed vs unmanaged per VPC CIDR block, with the pool that covers it.
    let core = by_name(&r, "prod-core");
    let blocks: Vec<(String, Option<bool>, Option<&str>)> = core
        .cidr_blocks
        .iter()
        .map(|b| (b.cidr.to_string(), b.managed, b.ipam_pool_id.as_deref()))
        .collect();
    assert_eq!(
        blocks,
        [
            (
                "10.0.0.0/16".to_string(),
                Some(true),
                Some(use1.resource_id.as_str())
            ),
            ("10.1.0.0/20".to_string(), Some(false), None),
        ]
    );
    assert_eq!(
        core.managed,
        Some(false),
        "one unmanaged block makes the VPC not fully managed"
    );
    assert_eq!(by_name(&r, "shared-services").managed, Some(true));
    assert_eq!(by_name(&r, "legacy-eu").managed, Some(false));
    assert_eq!(by_name(&r, "prod-db-a").managed, Some(true));
    assert_eq!(by_name(&r, "prod-batch").managed, Some(false));

    // IPAM's own figures ride along and agree with ours.
    let db = by_name(&r, "prod-db-a")
        .ipam_observed()
        .cloned()
        .expect("IPAM knows prod-db-a");
    assert_eq!((db.ip_usage_percent, db.disagrees), (Some(95.62), false));
    assert_eq!(db.compliance_status.as_deref(), Some("compliant"));
    let legacy = &by_name(&r, "legacy-eu").cidr_blocks[0];
    assert_eq!(
        legacy
            .ipam_observed
            .as_ref()
            .unwrap()
            .overlap_status
            .as_deref(),
        Some("overlapping")
    );
}

#[tokio::test]
async fn without_ipam_every_vpc_and_subnet_is_still_reported_as_unmanaged() {
    let emu = Emulator::start(Some("demo"));
    emu.set_ipam_fixture(&json!({}));
    let r = run(&emu, demo_config(both_regions()), json!({})).await;
    let s = &r.outcome.summary;
    assert!(r.outcome.errors.is_empty(), "{:?}", r.outcome.errors);
    assert_eq!((s.vpcs, s.subnets, s.ipam_pools), (5, 14, 0));
    assert_eq!((s.managed_cidrs, s.unmanaged_cidrs), (0, 6));
    assert!(r.resources.iter().all(|x| x.managed == Some(false)));
    assert_eq!(by_name(&r, "prod-db-a").utilization_percent, Some(95.62));
}

#[tokio::test]
async fn denied_ipam_calls_are_scope_errors_and_the_vpc_half_completes() {
    let emu = Emulator::start(Some("demo"));
    let mut fixture = emu.ipam_fixture();
    fixture["deny"] = json!(["GetIpamResourceCidrs"]);
    emu.set_ipam_fixture(&fixture);
    let sdk = emu.sdk_config("us-east-1").await;
    let app = App {
        store: None,
        source: Ec2Source::new(&sdk, None),
        config: demo_config(both_regions()),
        sinks: vec![],
    };
    let Err(ipam_monitor::app::handler::HandlerError::Incomplete { problems, output }) =
        app.run(&json!({}), "denied".into()).await
    else {
        panic!("a denied IPAM call must make the run incomplete");
    };
    assert!(problems.contains("GetIpamResourceCidrs"), "{problems}");
    let r = output.report;
    // One error per IPAM scope (private and public), nothing else.
    assert_eq!(r.outcome.errors.len(), 2, "{:?}", r.outcome.errors);
    assert!(r
        .outcome
        .errors
        .iter()
        .all(|e| e.operation == "GetIpamResourceCidrs"));
    let e = &r.outcome.errors[0];
    assert_eq!(
        (e.region.as_str(), e.operation.as_str(), e.code.as_deref()),
        (
            "us-east-1",
            "GetIpamResourceCidrs",
            Some("UnauthorizedOperation")
        )
    );
    // Every VPC and subnet is still there with its figures; "unmanaged" is no longer
    // provable, "managed" still is.
    assert_eq!((r.outcome.summary.vpcs, r.outcome.summary.subnets), (5, 14));
    assert_eq!(by_name(&r, "prod-db-a").utilization_percent, Some(95.62));
    assert_eq!(by_name(&r, "legacy-eu").managed, None);
    assert_eq!(by_name(&r, "shared-services").managed, Some(true));
    let us = r
        .scan
        .scopes
        .iter()
        .find(|s| s.scope.region == "us-east-1")
        .unwrap();
    assert!(!us.ok);
}
