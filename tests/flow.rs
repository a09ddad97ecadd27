//! The run's flow with a plain fake source: failing scopes are reported and lose
//! nothing else; concurrency stays within its bound.

use ipam_monitor::app::config::{Config, RegionSelection};
use ipam_monitor::app::handler::{App, HandlerError};
use ipam_monitor::domain::inventory::{ScanError, Scope, ScopeInventory, Subnet, Tags, Vpc};
use ipam_monitor::domain::report::Report;
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
}

impl FakeSource {
    fn new(failing_region: &'static str) -> FakeSource {
        FakeSource {
            failing_region,
            slow_region: None,
            in_flight: AtomicUsize::new(0),
            max_in_flight: AtomicUsize::new(0),
            fail_account_lookup: false,
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
        if self.fail_account_lookup {
            return Err(error("us-east-1", "GetCallerIdentity", "ExpiredToken"));
        }
        Ok("111111111111".into())
    }

    async fn enabled_regions(&self, _: &str, _: &str) -> Result<Vec<String>, ScanError> {
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
        })
    }
}

fn config(max_concurrency: usize) -> Config {
    Config {
        regions: RegionSelection::All,
        own_region: Some("us-east-1".into()),
        max_concurrency,
        ..Config::default()
    }
}

#[tokio::test]
async fn a_failing_region_is_reported_and_the_others_are_kept() {
    let recorder = RecordingSink::default();
    let app = App {
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
