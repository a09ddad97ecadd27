//! The run's flow with a plain fake source: failing scopes are reported and lose
//! nothing else; concurrency stays within its bound.

use ipam_monitor::app::config::{AccountSelection, Config, FailOn, RegionSelection};
use ipam_monitor::app::handler::{App, HandlerError};
use ipam_monitor::domain::inventory::{
    IpamInventory, IpamPool, PoolAllocation, ScanError, Scope, ScopeInventory, Subnet, Tags, Vpc,
};
use ipam_monitor::domain::report::{Report, ResourceType};
use ipam_monitor::sinks::{Delivery, DeliveryStatus, RunContext, Sink, SinkError};
use ipam_monitor::source::NetworkSource;
use serde_json::json;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Records every report it is given.
#[derive(Clone, Default)]
struct RecordingSink {
    seen: Arc<Mutex<Vec<Report>>>,
}

#[async_trait::async_trait]
impl Sink for RecordingSink {
    fn name(&self) -> &'static str {
        "recording"
    }
    async fn deliver(&self, report: &Report, _: &RunContext) -> Result<Delivery, SinkError> {
        self.seen.lock().unwrap().push(report.clone());
        Ok(Delivery::sent("recorded"))
    }
}

/// Never answers, like a sink whose endpoint accepts connections and stays silent.
struct HangingSink;

#[async_trait::async_trait]
impl Sink for HangingSink {
    fn name(&self) -> &'static str {
        "hanging"
    }
    async fn deliver(&self, _: &Report, _: &RunContext) -> Result<Delivery, SinkError> {
        std::future::pending().await
    }
}

/// Always fails, like a sink whose topic was deleted.
struct FailingSink;

#[async_trait::async_trait]
impl Sink for FailingSink {
    fn name(&self) -> &'static str {
        "failing"
    }
    async fn deliver(&self, _: &Report, _: &RunContext) -> Result<Delivery, SinkError> {
        Err(SinkError {
            operation: "Publish".into(),
            code: Some("NotFound".into()),
            message: "Topic does not exist".into(),
        })
    }
}

struct FakeSource {
    failing_region: &'static str,
    /// A region whose scan takes this long (to meet the deadline).
    slow_region: Option<(&'static str, Duration)>,
    in_flight: AtomicUsize,
    max_in_flight: AtomicUsize,
    fail_account_lookup: bool,
    /// The region where an IPAM is homed; its pool allocates `vpc-xx-test-1`'s block.
    ipam_region: Option<&'static str>,
    /// A region the function's credentials cannot enter: both halves fail AssumeRole.
    denied_region: Option<&'static str>,
    /// An account whose regions cannot be listed (AssumeRole into it is refused).
    denied_account: Option<&'static str>,
    /// The organization's member accounts, or `None` when ListAccounts fails.
    organization: Option<Vec<String>>,
    /// An account whose region listing never answers (a hanging endpoint).
    hanging_account: Option<&'static str>,
    /// GetCallerIdentity never answers.
    hanging_account_lookup: bool,
}

impl FakeSource {
    fn new(failing_region: &'static str) -> FakeSource {
        FakeSource {
            failing_region,
            slow_region: None,
            in_flight: AtomicUsize::new(0),
            max_in_flight: AtomicUsize::new(0),
            fail_account_lookup: false,
            ipam_region: None,
            denied_region: None,
            denied_account: None,
            organization: Some(Vec::new()),
            hanging_account: None,
            hanging_account_lookup: false,
        }
    }
}

fn error(region: &str, op: &str, code: &str) -> ScanError {
    ScanError {
        account_id: "111111111111".into(),
        region: region.into(),
        operation: op.into(),
        code: Some(code.into()),
        message: "denied".into(),
    }
}

impl NetworkSource for FakeSource {
    async fn own_account_id(&self) -> Result<String, ScanError> {
        if self.hanging_account_lookup {
            std::future::pending::<()>().await;
        }
        if self.fail_account_lookup {
            return Err(error("us-east-1", "GetCallerIdentity", "ExpiredToken"));
        }
        Ok("111111111111".into())
    }

    async fn organization_accounts(&self) -> Result<Vec<String>, ScanError> {
        self.organization
            .clone()
            .ok_or_else(|| error("us-east-1", "ListAccounts", "AccessDeniedException"))
    }

    async fn enabled_regions(&self, account: &str, _: &str) -> Result<Vec<String>, ScanError> {
        if self.hanging_account == Some(account) {
            std::future::pending::<()>().await;
        }
        if self.denied_account == Some(account) {
            let mut e = error("us-east-1", "AssumeRole", "AccessDenied");
            e.account_id = account.into();
            return Err(e);
        }
        Ok((1..=6).map(|i| format!("xx-test-{i}")).collect())
    }

    async fn scan(&self, scope: &Scope) -> Result<ScopeInventory, ScanError> {
        let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        self.max_in_flight.fetch_max(now, Ordering::SeqCst);
        let delay = match self.slow_region {
            Some((r, d)) if r == scope.region => d,
            _ => Duration::from_millis(20),
        };
        tokio::time::sleep(delay).await;
        self.in_flight.fetch_sub(1, Ordering::SeqCst);
        if self.denied_region == Some(scope.region.as_str()) {
            return Err(error(&scope.region, "AssumeRole", "AccessDenied"));
        }
        if scope.region == self.failing_region {
            return Err(error(
                &scope.region,
                "DescribeSubnets",
                "UnauthorizedOperation",
            ));
        }
        let vpc_id = format!("vpc-{}", scope.region);
        Ok(ScopeInventory {
            vpcs: vec![Vpc {
                id: vpc_id.as_str().into(),
                account_id: scope.account_id.as_str().into(),
                region: scope.region.as_str().into(),
                is_default: false,
                ipv4_blocks: vec!["10.0.0.0/24".parse().unwrap()],
                ipv6_blocks: vec![],
                tags: Tags::new(),
                warnings: vec![],
            }],
            subnets: vec![Subnet {
                id: format!("subnet-{}", scope.region).into(),
                vpc_id: vpc_id.into(),
                account_id: scope.account_id.as_str().into(),
                region: scope.region.as_str().into(),
                availability_zone: "a".into(),
                ipv4_cidr: Some("10.0.0.0/28".parse().unwrap()),
                ipv6_cidrs: vec![],
                available_ips: Some(11),
                tags: Tags::new(),
                warnings: vec![],
            }],
            connectivity: Default::default(),
            addresses: Default::default(),
        })
    }

    async fn scan_ipam(&self, scope: &Scope) -> Result<IpamInventory, ScanError> {
        if self.denied_region == Some(scope.region.as_str()) {
            return Err(error(&scope.region, "AssumeRole", "AccessDenied"));
        }
        if self.ipam_region != Some(scope.region.as_str()) {
            return Ok(IpamInventory::default());
        }
        let pool = IpamPool {
            id: "ipam-pool-1".into(),
            ipam_id: "ipam-1".into(),
            scope_id: "ipam-scope-1".into(),
            scope_type: "private".into(),
            parent_pool_id: None,
            locale: None,
            depth: Some(1),
            account_id: scope.account_id.clone(),
            region: scope.region.clone(),
            description: None,
            tags: Tags::new(),
            cidrs: vec!["10.0.0.0/16".parse().unwrap()],
            allocations: vec![PoolAllocation {
                cidr: "10.0.0.0/24".parse().unwrap(),
                resource_type: "vpc".into(),
                resource_id: Some("vpc-xx-test-1".into()),
                resource_region: Some("xx-test-1".into()),
                resource_owner: Some(scope.account_id.as_str().into()),
            }],
            warnings: vec![],
        };
        Ok(IpamInventory {
            ipam_ids: vec!["ipam-1".into()],
            pools: vec![pool],
            ..IpamInventory::default()
        })
    }
}

fn config(max_concurrency: usize) -> Config {
    Config {
        regions: RegionSelection::All,
        own_region: Some("us-east-1".into()),
        max_concurrency,
        // These tests read scope errors from the failed invocation; the default is
        // checked on its own below.
        fail_on: FailOn::Any,
        ..Config::default()
    }
}

#[tokio::test]
async fn a_failing_region_is_reported_and_the_others_are_kept() {
    let recorder = RecordingSink::default();
    let app = App {
        store: None,
        source: FakeSource::new("xx-test-3"),
        config: config(2),
        sinks: vec![Box::new(recorder.clone())],
    };
    let err = app.run(&json!({}), "r1".into()).await.unwrap_err();
    let HandlerError::Incomplete { problems, output } = err else {
        panic!("expected an incomplete run");
    };
    assert!(
        problems.contains("1 scope error(s)")
            && problems.contains("DescribeSubnets")
            && problems.contains("xx-test-3")
            && problems.contains("UnauthorizedOperation"),
        "{problems}"
    );
    // The sinks still got the report of every scope that answered.
    assert_eq!(recorder.seen.lock().unwrap()[0].outcome.summary.subnets, 5);
    assert_eq!(output.sinks[0].status, DeliveryStatus::Delivered);
    let report = output.report;
    assert_eq!(report.outcome.errors.len(), 1);
    assert_eq!(
        report.outcome.errors[0].code.as_deref(),
        Some("UnauthorizedOperation")
    );
    assert_eq!(
        (
            report.outcome.summary.scopes_scanned,
            report.outcome.summary.scopes_failed
        ),
        (5, 1)
    );
    assert_eq!(
        (report.outcome.summary.vpcs, report.outcome.summary.subnets),
        (5, 5)
    );
    // Scopes come out in a stable order whatever finished first.
    let regions: Vec<&str> = report
        .scan
        .scopes
        .iter()
        .map(|s| s.scope.region.as_str())
        .collect();
    assert_eq!(
        regions,
        [
            "xx-test-1",
            "xx-test-2",
            "xx-test-3",
            "xx-test-4",
            "xx-test-5",
            "xx-test-6"
        ]
    );
    assert!(!report.scan.scopes[2].ok);
    // All five default VPCs share 10.0.0.0/24.
    assert_eq!(report.outcome.overlaps[0].members.len(), 5);
    // At most two scopes were in flight at once.
    assert_eq!(app.source.max_in_flight.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn unknown_own_account_is_an_error_but_the_scan_goes_on() {
    let mut source = FakeSource::new("none");
    source.fail_account_lookup = true;
    let app = App {
        store: None,
        source,
        config: config(8),
        sinks: vec![],
    };
    let Err(HandlerError::Incomplete { output, .. }) = app.run(&json!({}), "r2".into()).await
    else {
        panic!("expected an incomplete run");
    };
    let report = output.report;
    assert_eq!(report.outcome.errors[0].operation, "GetCallerIdentity");
    assert_eq!(report.outcome.summary.subnets, 6);
    assert!(report
        .scan
        .scopes
        .iter()
        .all(|s| s.scope.account_id == "unknown"));
}

#[tokio::test]
async fn bad_event_is_rejected_before_any_scan() {
    let app = App {
        store: None,
        source: FakeSource::new("none"),
        config: config(8),
        sinks: vec![],
    };
    let err = app
        .run(&json!({"regions": 5}), "r3".into())
        .await
        .unwrap_err();
    assert!(matches!(err, HandlerError::BadEvent(_)), "{err}");
    assert_eq!(app.source.max_in_flight.load(Ordering::SeqCst), 0);
    let diag: lambda_runtime::Diagnostic = err.into();
    assert_eq!(diag.error_type, "BadEvent");
    assert!(diag.error_message.contains("\"regions\""));
}

#[tokio::test]
async fn a_failing_sink_does_not_stop_the_others_and_fails_the_run() {
    let recorder = RecordingSink::default();
    let app = App {
        store: None,
        source: FakeSource::new("none"),
        config: config(8),
        sinks: vec![Box::new(FailingSink), Box::new(recorder.clone())],
    };
    let Err(HandlerError::Incomplete { problems, output }) = app.run(&json!({}), "r4".into()).await
    else {
        panic!("expected an incomplete run");
    };
    assert!(
        problems.contains("sink failing failed: Publish failed: NotFound: Topic does not exist"),
        "{problems}"
    );
    assert_eq!(recorder.seen.lock().unwrap().len(), 1);
    let statuses: Vec<DeliveryStatus> = output.sinks.iter().map(|s| s.status).collect();
    assert_eq!(
        statuses,
        [DeliveryStatus::Failed, DeliveryStatus::Delivered]
    );
    assert!(output.report.outcome.errors.is_empty());
    let diag: lambda_runtime::Diagnostic = HandlerError::Incomplete { problems, output }.into();
    assert_eq!(diag.error_type, "IncompleteRun");
}

#[tokio::test]
async fn dry_run_computes_everything_and_sends_nothing() {
    let recorder = RecordingSink::default();
    let app = App {
        store: None,
        source: FakeSource::new("none"),
        config: config(8),
        sinks: vec![Box::new(recorder.clone()), Box::new(FailingSink)],
    };
    let output = app
        .run(&json!({"dry_run": true}), "r5".into())
        .await
        .unwrap();
    assert!(recorder.seen.lock().unwrap().is_empty());
    assert!(output.dry_run);
    assert_eq!(output.report.outcome.summary.subnets, 6);
    assert!(output
        .sinks
        .iter()
        .all(|s| s.status == DeliveryStatus::Skipped));
    let summary = output.summary();
    assert_eq!(summary.summary.subnets, 6);
    assert!(
        summary.report.is_some(),
        "a small report rides along in the response"
    );
}

#[tokio::test]
async fn a_slow_scope_at_the_deadline_is_reported_and_the_sinks_still_run() {
    let recorder = RecordingSink::default();
    let mut source = FakeSource::new("none");
    source.slow_region = Some(("xx-test-4", Duration::from_secs(30)));
    let app = App {
        store: None,
        source,
        config: config(8),
        sinks: vec![Box::new(recorder.clone())],
    };
    let started = std::time::Instant::now();
    let deadline = started + Duration::from_millis(800);
    let Err(HandlerError::Incomplete { problems, output }) =
        app.run_until(&json!({}), "r6".into(), Some(deadline)).await
    else {
        panic!("an unreached scope makes the run incomplete");
    };
    // Scanning stopped at the cut-off (a quarter of the time left is kept back), well
    // before the deadline, and the sinks ran after it.
    assert!(
        started.elapsed() < Duration::from_millis(800),
        "{:?}",
        started.elapsed()
    );
    assert!(problems.contains("DeadlineExceeded"), "{problems}");
    let r = &output.report;
    assert_eq!(r.outcome.errors.len(), 1);
    assert_eq!(
        (
            r.outcome.errors[0].region.as_str(),
            r.outcome.errors[0].operation.as_str()
        ),
        ("xx-test-4", "Scan")
    );
    assert_eq!(
        (
            r.outcome.summary.scopes_scanned,
            r.outcome.summary.scopes_failed,
            r.outcome.summary.subnets
        ),
        (5, 1, 5)
    );
    assert_eq!(
        r.scan.scopes.len(),
        6,
        "every planned scope is listed, reached or not"
    );
    assert_eq!(recorder.seen.lock().unwrap().len(), 1);
}

/// Each VPC's and subnet's `managed`, by id.
fn managed(report: &Report) -> Vec<(String, Option<bool>)> {
    let mut m: Vec<(String, Option<bool>)> = report
        .resources
        .iter()
        .filter(|r| r.resource_type != ResourceType::IpamPool)
        .map(|r| (r.resource_id.to_string(), r.managed))
        .collect();
    m.sort();
    m
}

/// Every VPC and subnet of the regions given: xx-test-1's (the block the fake IPAM
/// allocates) `managed` as `allocated`, every other as `others`.
fn expected(
    regions: &[u8],
    allocated: Option<bool>,
    others: Option<bool>,
) -> Vec<(String, Option<bool>)> {
    let mut e: Vec<(String, Option<bool>)> = regions
        .iter()
        .flat_map(|i| {
            let m = if *i == 1 { allocated } else { others };
            [
                (format!("subnet-xx-test-{i}"), m),
                (format!("vpc-xx-test-{i}"), m),
            ]
        })
        .collect();
    e.sort();
    e
}

#[tokio::test]
async fn a_denied_ipam_scope_leaves_unallocated_cidrs_unknown() {
    // Read in full, the IPAM proves both: vpc-xx-test-1 managed, the others not.
    let mut source = FakeSource::new("none");
    source.ipam_region = Some("xx-test-2");
    let app = App {
        store: None,
        source,
        config: config(8),
        sinks: vec![],
    };
    let report = app.run(&json!({}), "r7".into()).await.unwrap().report;
    assert_eq!(
        managed(&report),
        expected(&[1, 2, 3, 4, 5, 6], Some(true), Some(false))
    );

    // With the IPAM's scope denied before any IPAM call, no CIDR is proven unmanaged.
    let mut source = FakeSource::new("none");
    source.ipam_region = Some("xx-test-2");
    source.denied_region = Some("xx-test-2");
    let app = App {
        store: None,
        source,
        config: config(8),
        sinks: vec![],
    };
    let Err(HandlerError::Incomplete { output, .. }) = app.run(&json!({}), "r8".into()).await
    else {
        panic!("a denied scope makes the run incomplete");
    };
    let r = output.report;
    assert_eq!(managed(&r), expected(&[1, 3, 4, 5, 6], None, None));
    for v in r
        .resources
        .iter()
        .filter(|x| x.resource_type == ResourceType::Vpc)
    {
        assert!(v.cidr_blocks.iter().all(|b| b.managed.is_none()), "{v:?}");
    }
    let errors: Vec<(&str, &str, Option<&str>)> = r
        .outcome
        .errors
        .iter()
        .map(|e| (e.region.as_str(), e.operation.as_str(), e.code.as_deref()))
        .collect();
    assert_eq!(
        errors,
        [
            ("xx-test-2", "AssumeRole", Some("AccessDenied")),
            ("xx-test-2", "AssumeRole", Some("AccessDenied"))
        ],
        "both halves of the scope report the denial"
    );
    assert_eq!(r.outcome.summary.managed_cidrs, 0);
}

#[tokio::test]
async fn a_scope_cut_by_the_deadline_leaves_what_the_ipam_account_proves() {
    let mut source = FakeSource::new("none");
    source.ipam_region = Some("xx-test-1");
    source.slow_region = Some(("xx-test-4", Duration::from_secs(30)));
    let app = App {
        store: None,
        source,
        config: config(8),
        sinks: vec![],
    };
    let deadline = std::time::Instant::now() + Duration::from_millis(800);
    let Err(HandlerError::Incomplete { output, .. }) =
        app.run_until(&json!({}), "r9".into(), Some(deadline)).await
    else {
        panic!("an unreached scope makes the run incomplete");
    };
    let r = output.report;
    assert_eq!(
        (
            r.outcome.errors[0].region.as_str(),
            r.outcome.errors[0].operation.as_str()
        ),
        ("xx-test-4", "Scan")
    );
    // IPAM is read in the IPAM account (here the own one), every region of it in
    // full: a cut VPC scope hides no IPAM, so what no allocation covers is unmanaged.
    // (A cut IPAM scope leaves it unknown: tests/ipam_plan.rs.)
    assert_eq!(
        managed(&r),
        expected(&[1, 2, 3, 5, 6], Some(true), Some(false))
    );
}

#[tokio::test]
async fn accounts_or_regions_not_listed_do_not_hide_the_ipam_accounts_answer() {
    use ipam_monitor::app::config::AccountSelection;
    // A member account whose regions cannot be listed: its scopes are missing, but IPAM
    // is read in the IPAM account (the own one here), so managed stays known.
    let mut source = FakeSource::new("none");
    source.denied_account = Some("222222222222");
    let app = App {
        store: None,
        source,
        config: Config {
            accounts: AccountSelection::List(vec!["222222222222".into()]),
            ..config(8)
        },
        sinks: vec![],
    };
    let Err(HandlerError::Incomplete { output, .. }) = app.run(&json!({}), "r10".into()).await
    else {
        panic!("an account not listed makes the run incomplete");
    };
    let r = output.report;
    assert_eq!(
        (
            r.outcome.errors[0].account_id.as_str(),
            r.outcome.errors[0].operation.as_str()
        ),
        ("222222222222", "AssumeRole")
    );
    assert_eq!(
        managed(&r),
        expected(&[1, 2, 3, 4, 5, 6], Some(false), Some(false)),
        "the own account's CIDRs"
    );

    // The organization's accounts cannot be listed.
    let mut source = FakeSource::new("none");
    source.organization = None;
    let app = App {
        store: None,
        source,
        config: Config {
            accounts: AccountSelection::Organization,
            ..config(8)
        },
        sinks: vec![],
    };
    let Err(HandlerError::Incomplete { output, .. }) = app.run(&json!({}), "r11".into()).await
    else {
        panic!("an organization not listed makes the run incomplete");
    };
    let r = output.report;
    assert_eq!(r.outcome.errors[0].operation, "ListAccounts");
    assert_eq!(
        managed(&r),
        expected(&[1, 2, 3, 4, 5, 6], Some(false), Some(false))
    );

    // The IPAM account's own regions cannot be listed: where an IPAM is homed is
    // unknown, and so is whether any CIDR without an allocation is managed.
    let mut source = FakeSource::new("none");
    source.denied_account = Some("222222222222");
    let app = App {
        store: None,
        source,
        config: Config {
            ipam_account: Some("222222222222".into()),
            member_role_name: Some("member".into()),
            ..config(8)
        },
        sinks: vec![],
    };
    let Err(HandlerError::Incomplete { output, .. }) = app.run(&json!({}), "r12".into()).await
    else {
        panic!("an IPAM account not read makes the run incomplete");
    };
    let r = output.report;
    assert_eq!(
        (
            r.outcome.errors[0].account_id.as_str(),
            r.outcome.errors[0].operation.as_str()
        ),
        ("222222222222", "AssumeRole")
    );
    assert_eq!(managed(&r), expected(&[1, 2, 3, 4, 5, 6], None, None));
}

#[test]
fn scan_cutoff_keeps_a_quarter_at_most_thirty_seconds() {
    use ipam_monitor::app::run::scan_cutoff;
    let now = std::time::Instant::now();
    assert_eq!(
        scan_cutoff(now + Duration::from_secs(8), now),
        now + Duration::from_secs(6)
    );
    assert_eq!(
        scan_cutoff(now + Duration::from_secs(900), now),
        now + Duration::from_secs(870)
    );
    assert_eq!(scan_cutoff(now, now), now);
}

#[test]
fn time_left_reads_epoch_deadlines_and_bare_budgets() {
    use ipam_monitor::app::handler::time_left;
    use std::time::UNIX_EPOCH;
    let now = UNIX_EPOCH + Duration::from_millis(1_795_435_200_000);
    assert_eq!(
        time_left(1_795_435_200_000 + 42_000, now),
        Duration::from_secs(42)
    );
    assert_eq!(
        time_left(1_795_435_100_000, now),
        Duration::ZERO,
        "already past"
    );
    assert_eq!(
        time_left(600_000, now),
        Duration::from_secs(600),
        "cargo lambda watch's budget"
    );
}

#[tokio::test]
async fn planning_calls_that_hang_are_cut_with_the_scan_and_the_rest_goes_on() {
    let recorder = RecordingSink::default();
    let mut source = FakeSource::new("none");
    source.hanging_account = Some("222222222222");
    let app = App {
        store: None,
        source,
        config: Config {
            accounts: AccountSelection::List(vec!["222222222222".into(), "333333333333".into()]),
            member_role_name: Some("ipam-monitor-member".into()),
            ..config(8)
        },
        sinks: vec![Box::new(recorder.clone())],
    };
    let started = std::time::Instant::now();
    let deadline = started + Duration::from_millis(800);
    let Err(HandlerError::Incomplete { output, .. }) = app
        .run_until(&json!({}), "r10".into(), Some(deadline))
        .await
    else {
        panic!("an account whose regions were never listed makes the run incomplete");
    };
    assert!(
        started.elapsed() < Duration::from_millis(800),
        "{:?}",
        started.elapsed()
    );
    let r = &output.report;
    let errors: Vec<_> = r
        .outcome
        .errors
        .iter()
        .map(|e| {
            (
                e.account_id.as_str(),
                e.operation.as_str(),
                e.code.as_deref(),
            )
        })
        .collect();
    assert_eq!(
        errors,
        [("222222222222", "DescribeRegions", Some("DeadlineExceeded"))]
    );
    // The other two accounts' regions were planned and scanned.
    assert_eq!(r.outcome.summary.scopes_scanned, 12);
    assert_eq!(recorder.seen.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn an_own_account_lookup_that_hangs_is_cut_and_the_scan_goes_on() {
    let mut source = FakeSource::new("none");
    source.hanging_account_lookup = true;
    let app = App {
        store: None,
        source,
        config: Config {
            regions: RegionSelection::List(vec!["xx-test-1".into()]),
            ..config(8)
        },
        sinks: vec![],
    };
    let deadline = std::time::Instant::now() + Duration::from_millis(800);
    let Err(HandlerError::Incomplete { output, .. }) = app
        .run_until(&json!({}), "r11".into(), Some(deadline))
        .await
    else {
        panic!("an unknown own account makes the run incomplete");
    };
    let e = &output.report.outcome.errors[0];
    assert_eq!(
        (e.operation.as_str(), e.code.as_deref()),
        ("GetCallerIdentity", Some("DeadlineExceeded"))
    );
    assert_eq!(output.report.outcome.summary.subnets, 1);
}

#[tokio::test]
async fn a_hanging_sink_is_cut_before_the_deadline_and_does_not_hold_back_the_others() {
    let recorder = RecordingSink::default();
    let app = App {
        store: None,
        source: FakeSource::new("none"),
        config: Config {
            regions: RegionSelection::List(vec!["xx-test-1".into()]),
            ..config(8)
        },
        // The hanging sink first: the recorder must not wait behind it.
        sinks: vec![Box::new(HangingSink), Box::new(recorder.clone())],
    };
    let started = std::time::Instant::now();
    let deadline = started + Duration::from_millis(1500);
    let Err(HandlerError::Incomplete { output, .. }) = app
        .run_until(&json!({}), "r12".into(), Some(deadline))
        .await
    else {
        panic!("a sink cut by the deadline fails the run");
    };
    let elapsed = started.elapsed();
    assert!(elapsed < Duration::from_millis(1500), "{elapsed:?}");
    let hanging = &output.sinks[0];
    assert_eq!(hanging.status, DeliveryStatus::Failed);
    assert!(
        hanging.detail.contains("DeadlineExceeded"),
        "{}",
        hanging.detail
    );
    assert_eq!(output.sinks[1].status, DeliveryStatus::Delivered);
    assert_eq!(recorder.seen.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn by_default_a_broken_scope_is_reported_but_only_a_failed_sink_fails_the_run() {
    // A permanently broken account would otherwise fail every run: the Errors alarm
    // would stay in ALARM and a retry would repeat the whole run.
    let broken_scope = App {
        store: None,
        source: FakeSource::new("xx-test-3"),
        config: Config {
            fail_on: FailOn::Sinks,
            ..config(8)
        },
        sinks: vec![Box::new(RecordingSink::default())],
    };
    let output = broken_scope
        .run(&json!({}), "r13".into())
        .await
        .expect("a scope error alone does not fail the invocation");
    assert_eq!(output.report.outcome.errors.len(), 1);
    assert_eq!(output.report.outcome.summary.scopes_failed, 1);

    let failed_sink = App {
        store: None,
        source: FakeSource::new("none"),
        config: Config {
            fail_on: FailOn::Sinks,
            ..config(8)
        },
        sinks: vec![Box::new(FailingSink)],
    };
    let Err(HandlerError::Incomplete { problems, .. }) =
        failed_sink.run(&json!({}), "r14".into()).await
    else {
        panic!("an undelivered sink fails the run: a retry could deliver it");
    };
    assert!(problems.starts_with("sink failing failed"), "{problems}");

    let never = App {
        store: None,
        source: FakeSource::new("xx-test-3"),
        config: Config {
            fail_on: FailOn::Never,
            ..config(8)
        },
        sinks: vec![Box::new(FailingSink)],
    };
    let output = never
        .run(&json!({}), "r15".into())
        .await
        .expect("never fails");
    assert_eq!(output.failed_sinks().count(), 1);
}

#[tokio::test]
async fn excluded_accounts_are_never_planned() {
    let app = App {
        store: None,
        source: FakeSource::new("none"),
        config: Config {
            accounts: AccountSelection::List(vec!["222222222222".into(), "333333333333".into()]),
            member_role_name: Some("ipam-monitor-member".into()),
            excluded_accounts: vec!["222222222222".into(), "111111111111".into()],
            ..config(8)
        },
        sinks: vec![],
    };
    let output = app.run(&json!({}), "r16".into()).await.unwrap();
    let accounts: std::collections::BTreeSet<&str> = output
        .report
        .scan
        .scopes
        .iter()
        .map(|s| s.scope.account_id.as_str())
        .collect();
    // The own account (111…) is always scanned; 222… is excluded.
    assert_eq!(accounts, ["111111111111", "333333333333"].into());
}
