//! The calculator in a plain loop, for profilers (perf) and a quick timing without
//! criterion: builds the 100k-subnet organization once, then runs `calculate` N times
//! and prints the first run's time (a fresh process's, as in a Lambda invocation) and
//! the spread over all runs, with the time to drop its output measured apart.
//!
//!     bench/target/release/calc_loop [N]            (default 20)
//!     perf record -g --call-graph dwarf bench/target/release/calc_loop 20
//!     bench/target/release/calc_loop 1 --json PATH  also write the report as JSON, to
//!                                                   diff two builds' output

use ipam_monitor::domain::calculator;
use ipam_monitor::domain::thresholds::ThresholdSource;
use ipam_monitor_bench::{describe, organization, report, thresholds, OrgSpec};
use std::hint::black_box;
use std::time::Instant;

fn median_ms(mut v: Vec<f64>) -> (f64, f64, f64) {
    v.sort_by(f64::total_cmp);
    (v[0], v[v.len() / 2], v[v.len() - 1])
}

fn time_ms<T>(f: impl FnOnce() -> T) -> (f64, T) {
    let start = Instant::now();
    let out = f();
    (start.elapsed().as_secs_f64() * 1000.0, out)
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let n: usize = args
        .iter()
        .take_while(|a| *a != "--json")
        .find(|a| !a.starts_with("--"))
        .map(|v| v.parse().expect("N is a whole number"))
        .unwrap_or(20);
    let inv = organization(&OrgSpec::large());
    eprintln!("estate: {}", describe(&inv));
    let t = thresholds();
    let mut calc_ms = Vec::with_capacity(n);
    let mut drop_ms = Vec::with_capacity(n);
    for _ in 0..n {
        // calculate consumes its inventory: the copy is made outside the timing.
        let input = inv.clone();
        let (ms, out) =
            time_ms(|| calculator::calculate(black_box(input), &t, ThresholdSource::Config));
        calc_ms.push(ms);
        drop_ms.push(time_ms(|| drop(black_box(out))).0);
    }
    // The first run is what a Lambda invocation meets: an hourly schedule finds a fresh
    // process nearly every time, whose allocator has no pages to reuse yet.
    let first = calc_ms[0];
    let (cmin, cmed, cmax) = median_ms(calc_ms);
    let (dmin, dmed, dmax) = median_ms(drop_ms);
    println!(
        "calculate: first run {first:.1} ms; min {cmin:.1} ms, median {cmed:.1} ms, \
         max {cmax:.1} ms over {n} runs; dropping its output: median {dmed:.1} ms \
         (min {dmin:.1}, max {dmax:.1})"
    );
    if let Some(path) = args.iter().skip_while(|a| *a != "--json").nth(1) {
        let calc = calculator::calculate(inv.clone(), &t, ThresholdSource::Config);
        let report = report(&inv.scopes_scanned, &inv.errors, calc);
        let file = std::fs::File::create(path).expect("--json file can be created");
        serde_json::to_writer(std::io::BufWriter::new(file), &report).expect("report written");
        eprintln!("report written to {path}");
    }
}
