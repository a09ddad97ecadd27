//! Peak memory of one run's in-process work on a 100k-subnet organization:
//! inventory -> calculate -> report -> report JSON -> CloudWatch metrics and batches
//! -> SNS alert -> downstream chunks, in the order the handler does it. Prints VmRSS
//! after each stage and the peak (VmHWM from /proc/self/status) at the end.
//!
//!     bench/target/release/peak_rss [--scale N]     (N divides the estate; default 1)
//!
//! Not simulated: the AWS SDK clients, their connection pools and the response pages
//! being parsed (one page of up to 1000 items per scope in flight, `MAX_CONCURRENCY`
//! scopes at once), and the SDK request bodies built from each batch.

use ipam_monitor::domain::calculator;
use ipam_monitor::domain::inventory::{ResourceCidr, Subnet, Vpc};
use ipam_monitor::domain::report::{json_len, ResourceRecord};
use ipam_monitor::domain::thresholds::ThresholdSource;
use ipam_monitor::sinks::cloudwatch::batches;
use ipam_monitor::sinks::downstream::{ChunkPlan, MAX_ASYNC_PAYLOAD_BYTES};
use ipam_monitor::sinks::metrics::{flatten, metric_groups, MetricPolicy};
use ipam_monitor::sinks::sns::compose;
use ipam_monitor_bench::{describe, organization, report, thresholds, OrgSpec};
use std::time::{Duration, Instant};

/// A field of /proc/self/status in kB.
fn status_kb(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

fn mb(kb: u64) -> f64 {
    kb as f64 / 1024.0
}

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
    println!("peak_rss: one run's in-process pipeline");
    stage("start", Instant::now());

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
    let calc = calculator::calculate(inv, &thresholds(), ThresholdSource::Config);
    stage("calculated (inventory consumed)", t);

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
    for b in batches(flatten(metric_groups(&report, Duration::from_millis(1234), MetricPolicy::All))) {
        n_metrics += b.len();
        n_batches += 1;
    }
    stage(&format!("metrics: {n_metrics} in {n_batches} batches"), t);

    let t = Instant::now();
    let alert = compose(&report, "s3://bench/report.json");
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

    let peak = status_kb("VmHWM");
    println!(
        "peak RSS (VmHWM): {:.1} MB for {} resources (target: under 128 MB)",
        mb(peak),
        report.resources.len()
    );
    println!("PEAK_RSS_KB={peak}");
}
