//! Peak memory of one run's in-process work on a 100k-subnet organization, with its
//! memory (the state bucket): state object read (compressed) -> inventory ->
//! calculate -> state decoded -> remember (hysteresis, trend, changes) -> report ->
//! report JSON -> CloudWatch metrics and batches -> SNS alert -> downstream chunks ->
//! archive objects -> state encoded, in the order the handler does it. Prints VmRSS
//! and the time of each stage, and the peak (VmHWM from /proc/self/status) at the end.
//!
//! The previous state is made first by a child process (this program with
//! `--write-state FILE`), as eight days of runs would leave it (16 samples per
//! resource, drifting), so nothing of its making stays in this process's memory.
//!
//!     bench/target/release/peak_rss [--scale N]     (N divides the estate; default 1)
//!
//! Not simulated: the AWS SDK clients, their connection pools and the response pages
//! being parsed (one page of up to 1000 items per scope in flight, `MAX_CONCURRENCY`
//! scopes at once), and the SDK request bodies built from each batch.

use ipam_monitor::domain::calculator::{self, remember, HistoryRules, RunMark};
use ipam_monitor::domain::inventory::{ResourceCidr, Subnet, Vpc};
use ipam_monitor::domain::report::Timestamp;
use ipam_monitor::domain::report::{json_len, ResourceRecord};
use ipam_monitor::domain::state::{
    resource_key, ResourceHistory, Sample, State, MAX_SAMPLES, SAMPLE_SPACING_SECS, STATE_VERSION,
};
use ipam_monitor::domain::thresholds::ThresholdSource;
use ipam_monitor::sinks::cloudwatch::batches;
use ipam_monitor::sinks::downstream::{ChunkPlan, MAX_ASYNC_PAYLOAD_BYTES};
use ipam_monitor::sinks::metrics::{flatten, metric_groups, MetricPolicy};
use ipam_monitor::sinks::sns::compose_changes;
use ipam_monitor::store::codec::{archive_records, archive_run, decode_state, encode_state};
use ipam_monitor_bench::{describe, mb, organization, report, status_kb, thresholds, OrgSpec, Rng};
use std::time::{Duration, Instant};

fn stage(name: &str, started: Instant) {
    println!(
        "  {name:<44} VmRSS {:>7.1} MB   VmHWM {:>7.1} MB   {:>7.1} ms",
        mb(status_kb("VmRSS")),
        mb(status_kb("VmHWM")),
        started.elapsed().as_secs_f64() * 1000.0
    );
}

fn main() {
    let scale = std::env::args()
        .skip_while(|a| a != "--scale")
        .nth(1)
        .map(|v| v.parse::<usize>().expect("--scale takes a whole number"))
        .unwrap_or(1);
    let spec = if scale <= 1 {
        OrgSpec::large()
    } else {
        OrgSpec::scaled(scale)
    };
    // Made by a child process: memory this one freed would stay counted in its RSS.
    if let Some(path) = std::env::args().skip_while(|a| a != "--write-state").nth(1) {
        std::fs::write(path, previous_state(&spec)).expect("write the state file");
        return;
    }
    println!("peak_rss: one run's in-process pipeline");

    // The state eight days of runs would have left, compressed, as S3 returns it.
    let t = Instant::now();
    let path = std::env::temp_dir().join(format!("peak_rss_state_{}.json.gz", std::process::id()));
    let made = std::process::Command::new(std::env::current_exe().expect("this program"))
        .args(["--scale", &scale.to_string(), "--write-state"])
        .arg(&path)
        .status()
        .expect("run the state maker");
    assert!(made.success(), "the state maker failed");
    println!(
        "    previous state made in {:.0} ms",
        t.elapsed().as_secs_f64() * 1000.0
    );
    stage("start", Instant::now());
    let mut state_ms = 0.0;

    let t = Instant::now();
    let inv = organization(&spec);
    stage("inventory built", t);
    println!("    estate: {}", describe(&inv));
    println!(
        "    bytes per item, before its heap parts: Subnet {}, Vpc {}, ResourceCidr {}, ResourceRecord {}",
        size_of::<Subnet>(),
        size_of::<Vpc>(),
        size_of::<ResourceCidr>(),
        size_of::<ResourceRecord>()
    );

    // monitor() keeps the scopes and errors, and the calculator consumes the rest.
    let t = Instant::now();
    let (scopes, errors) = (inv.scopes_scanned.clone(), inv.errors.clone());
    let mut calc = calculator::calculate(inv, &thresholds(), ThresholdSource::Config);
    stage("calculated (inventory consumed)", t);

    // The handler reads the state only after the calculation, as here.
    let t = Instant::now();
    let saved = std::fs::read(&path).expect("read the state file");
    let _ = std::fs::remove_file(&path);
    stage(
        &format!("state read ({:.2} MB compressed)", saved.len() as f64 / 1e6),
        t,
    );

    let t = Instant::now();
    let previous = decode_state(&saved).expect("the state decodes");
    drop(saved);
    state_ms += t.elapsed().as_secs_f64() * 1000.0;
    stage(
        &format!("state decoded ({} resources)", previous.resources.len()),
        t,
    );

    let t = Instant::now();
    let next = remember(
        &mut calc,
        previous,
        |_, _| true,
        run_mark(),
        &HistoryRules::default(),
    );
    state_ms += t.elapsed().as_secs_f64() * 1000.0;
    let h = calc.history.as_ref().unwrap();
    stage(
        &format!(
            "remembered ({} changes, {} forecast)",
            h.changes.total(),
            calc.resources
                .iter()
                .filter(|r| r
                    .history
                    .as_ref()
                    .is_some_and(|h| h.days_to_exhaustion.is_some()))
                .count()
        ),
        t,
    );

    let t = Instant::now();
    let report = report(&scopes, &errors, calc);
    stage("report built", t);

    // The handler measures the report's JSON to decide whether it fits the response.
    let t = Instant::now();
    let len = json_len(&report);
    stage(
        &format!("report JSON measured ({:.1} MB)", len as f64 / 1e6),
        t,
    );

    // The CloudWatch sink: one batch of request data at a time.
    let t = Instant::now();
    let (mut n_metrics, mut n_batches) = (0, 0);
    for b in batches(flatten(metric_groups(
        &report,
        Duration::from_millis(1234),
        MetricPolicy::All,
    ))) {
        n_metrics += b.len();
        n_batches += 1;
    }
    stage(&format!("metrics: {n_metrics} in {n_batches} batches"), t);

    let t = Instant::now();
    let alert = compose_changes(&report, "s3://bench/report.json");
    stage(
        &format!(
            "SNS alert ({} bytes)",
            alert.as_ref().map(|a| a.body.len()).unwrap_or(0)
        ),
        t,
    );

    // The downstream sink: sizes measured up front, one payload written at a time.
    let t = Instant::now();
    let plan = ChunkPlan::new(&report, MAX_ASYNC_PAYLOAD_BYTES).expect("chunks");
    let total: usize = (0..plan.chunks()).map(|i| plan.payload(i).len()).sum();
    stage(
        &format!(
            "downstream: {} chunks, {:.1} MB",
            plan.chunks(),
            total as f64 / 1e6
        ),
        t,
    );

    let t = Instant::now();
    let records = archive_records(&report);
    let run = archive_run(&report);
    stage(
        &format!(
            "archive: records {:.1} MB, run {:.2} MB (gzip)",
            records.len() as f64 / 1e6,
            run.len() as f64 / 1e6
        ),
        t,
    );
    drop((records, run));

    let t = Instant::now();
    let written = encode_state(&next);
    state_ms += t.elapsed().as_secs_f64() * 1000.0;
    stage(
        &format!("state encoded ({:.2} MB gzip)", written.len() as f64 / 1e6),
        t,
    );
    println!(
        "state read + update + write: {state_ms:.0} ms; object {:.2} MB compressed (targets: under 2 s, under 10 MB)",
        written.len() as f64 / 1e6
    );
    println!("STATE_BYTES={}", written.len());
    println!("STATE_MS={state_ms:.0}");

    let peak = status_kb("VmHWM");
    println!(
        "peak RSS (VmHWM): {:.1} MB for {} resources (target: under 128 MB)",
        mb(peak),
        report.resources.len()
    );
    println!("PEAK_RSS_KB={peak}");
}

/// The bench report's run time (bench lib: 2026-05-01T00:00:00Z).
const NOW: u64 = 1_777_593_600;

fn run_mark() -> RunMark<'static> {
    RunMark {
        now: Timestamp::from_unix_seconds(NOW),
        run_id: "bench-00000000-0000-0000-0000-000000000000",
        request_id: Some("bench-00000000-0000-0000-0000-000000000000"),
    }
}

/// Eight days of history for every resource of the estate: 16 samples 12 hours apart,
/// each resource drifting at its own pace up to its current figure, statuses as now
/// and a third of the breaches already told. Returned encoded, as the bucket holds it.
fn previous_state(spec: &OrgSpec) -> Vec<u8> {
    let inv = organization(spec);
    let calc = calculator::calculate(inv, &thresholds(), ThresholdSource::Config);
    let mut rng = Rng::new(17);
    let mut state = State {
        version: STATE_VERSION,
        ..State::default()
    };
    for r in &calc.resources {
        let now_pct = r.utilization_percent.unwrap_or(0.0);
        let drift = rng.unit() * 0.5;
        let samples = (0..MAX_SAMPLES as u64)
            .map(|i| {
                let back = (MAX_SAMPLES as u64 - i) * SAMPLE_SPACING_SECS;
                let pct = (now_pct - drift * (MAX_SAMPLES as u64 - i) as f64).max(0.0);
                Sample::new(NOW - back, pct)
            })
            .collect();
        let told = (r.status.is_breach() && rng.chance(0.33)).then_some(
            ipam_monitor::domain::state::Told {
                status: r.status,
                at: NOW - 6 * 3600,
            },
        );
        state.resources.insert(
            resource_key(r),
            ResourceHistory {
                status: r.status,
                since: NOW - 3 * 24 * 3600,
                told,
                samples,
            },
        );
    }
    encode_state(&state)
}
