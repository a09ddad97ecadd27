//! Criterion benchmarks of the pure, in-process work of one run on a 100k-subnet
//! organization (see `ipam_monitor_bench` for the estate): the calculator, and what the
//! sinks do before any request is sent.
//!
//!     cd bench && cargo bench --no-run && taskset -c 0 cargo bench --bench calculator
//!
//! The inventory and the report are built once, outside the timed loops.

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, SamplingMode, Throughput};
use ipam_monitor::domain::calculator::{self, find_overlaps};
use ipam_monitor::domain::thresholds::ThresholdSource;
use ipam_monitor::sinks::cloudwatch::batches;
use ipam_monitor::sinks::downstream::{chunk_payloads, MAX_ASYNC_PAYLOAD_BYTES};
use ipam_monitor::sinks::metrics::{flatten, metric_groups, MetricPolicy};
use ipam_monitor::sinks::sns::compose;
use ipam_monitor_bench::{describe, organization, report, thresholds, OrgSpec};
use std::hint::black_box;
use std::time::Duration;

fn bench(c: &mut Criterion) {
    let inv = organization(&OrgSpec::large());
    eprintln!("estate: {}", describe(&inv));
    let t = thresholds();

    // Each iteration takes from milliseconds to seconds: flat sampling (the same number
    // of iterations in every sample) keeps the slow ones to about 10 iterations.
    let mut g = c.benchmark_group("calculator");
    g.sample_size(10)
        .sampling_mode(SamplingMode::Flat)
        .measurement_time(Duration::from_secs(10))
        .throughput(Throughput::Elements(inv.subnets.len() as u64));
    // The whole calculation: records for subnets, VPCs (free blocks, managed state,
    // IPAM comparison) and pools (free blocks), overlaps, sorting, summary. Its output
    // is dropped outside the timing (iter_with_large_drop)...
    // calculate consumes its inventory (freeing what it has used is part of its time);
    // the copy it consumes is made outside the timing.
    g.bench_function("calculate/100k_subnets_10k_vpcs_1k_pools", |b| {
        b.iter_batched(
            || inv.clone(),
            |inv| calculator::calculate(black_box(inv), &t, ThresholdSource::Config),
            BatchSize::PerIteration,
        )
    });
    // ...and here inside it, as a run pays it once the report is sent.
    g.bench_function("calculate+drop/100k_subnets_10k_vpcs_1k_pools", |b| {
        b.iter_batched(
            || inv.clone(),
            |inv| {
                drop(calculator::calculate(
                    black_box(inv),
                    &t,
                    ThresholdSource::Config,
                ))
            },
            BatchSize::PerIteration,
        )
    });
    // The overlap search on its own (part of the above).
    g.throughput(Throughput::Elements(inv.vpcs.len() as u64));
    g.bench_function("find_overlaps/10k_vpcs", |b| {
        b.iter(|| find_overlaps(black_box(&inv.vpcs)))
    });
    g.finish();

    let calc = calculator::calculate(inv.clone(), &t, ThresholdSource::Config);
    let report = report(&inv.scopes_scanned, &inv.errors, calc);
    eprintln!(
        "report: {} resources ({} in breach), {} overlap groups",
        report.resources.len(),
        report.outcome.summary.in_breach,
        report.outcome.overlaps.len()
    );
    let metrics: Vec<_> = flatten(metric_groups(
        &report,
        Duration::from_millis(1234),
        MetricPolicy::All,
    ))
    .collect();
    eprintln!(
        "metrics: {} in {} PutMetricData batches",
        metrics.len(),
        batches(metrics.clone()).count()
    );

    let mut g = c.benchmark_group("sinks");
    g.sample_size(10)
        .sampling_mode(SamplingMode::Flat)
        .measurement_time(Duration::from_secs(10));
    // CloudWatch: the metric list, flattened to data, cut into request batches.
    g.bench_function("cloudwatch/metric_groups+flatten+batches", |b| {
        b.iter(|| {
            let m = flatten(metric_groups(
                black_box(&report),
                Duration::from_millis(1234),
                MetricPolicy::All,
            ));
            batches(m).map(|b| b.len()).sum::<usize>()
        })
    });
    g.bench_function("cloudwatch/batches_only", |b| {
        b.iter_batched(
            || metrics.clone(),
            |m| batches(m).map(|b| b.len()).sum::<usize>(),
            BatchSize::LargeInput,
        )
    });
    // SNS: the alert (subject, worst-first body up to the size limit).
    g.bench_function("sns/compose", |b| {
        b.iter(|| compose(black_box(&report), "s3://bench/report.json"))
    });
    // Downstream: the report cut into numbered payloads under 1 MB.
    g.bench_function("downstream/chunk_payloads_1MB", |b| {
        b.iter(|| chunk_payloads(black_box(&report), MAX_ASYNC_PAYLOAD_BYTES).expect("chunks"))
    });
    // The report as JSON (what the local runner prints, and what the handler measures
    // to decide whether the report rides inline in the response).
    g.bench_function("report/json_len (the handler's size check)", |b| {
        b.iter(|| ipam_monitor::domain::report::json_len(black_box(&report)))
    });
    g.bench_function("report/serde_json::to_vec", |b| {
        b.iter(|| serde_json::to_vec(black_box(&report)).expect("serializes"))
    });
    g.bench_function("report/serde_json::to_vec_pretty", |b| {
        b.iter(|| serde_json::to_vec_pretty(black_box(&report)).expect("serializes"))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
