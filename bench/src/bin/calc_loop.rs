//! The calculator in a plain loop, for profilers (perf) and a quick timing without
//! criterion: builds the 100k-subnet organization once, then runs `calculate` N times
//! and prints the first run's time (a fresh process's, as in a Lambda invocation) and
//! the spread over all runs, with the time to drop its output measured apart.
//!
//!     bench/target/release/calc_loop [N]            (default 20)
//!     bench/target/release/calc_loop [N] --parts    also time replicas of the parts
//!                                                   the profile names as hotspots
//!     perf record -g --call-graph dwarf bench/target/release/calc_loop 20
//!     bench/target/release/calc_loop 1 --json PATH  also write the report as JSON, to
//!                                                   diff two builds' output
//!
//! The replicas copy what src/calculator.rs does (its sort comparator, its dedup
//! sets) on the same data, to put a number on each hotspot and on a cheaper way to do
//! the same work; they do not call private code and change nothing in src/.

use ipam_monitor::domain::calculator;
use ipam_monitor::domain::inventory::Inventory;
use ipam_monitor::domain::report::ResourceRecord;
use ipam_monitor::domain::thresholds::ThresholdSource;
use ipam_monitor_bench::{describe, organization, report, thresholds, OrgSpec};
use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};
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

/// FxHash (rustc's hasher), inline so the bench needs no extra crate.
#[derive(Default)]
struct Fx(u64);
impl Hasher for Fx {
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut w = [0u8; 8];
            w[..chunk.len()].copy_from_slice(chunk);
            self.add(u64::from_le_bytes(w));
        }
    }
    fn write_u8(&mut self, i: u8) {
        self.add(u64::from(i));
    }
    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }
    fn finish(&self) -> u64 {
        self.0
    }
}
impl Fx {
    fn add(&mut self, w: u64) {
        self.0 = (self.0.rotate_left(5) ^ w).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}
type FxBuild = BuildHasherDefault<Fx>;

fn parts(inv: &Inventory, runs: usize) {
    let calc = calculator::calculate(inv.clone(), &thresholds(), ThresholdSource::Config);
    println!(
        "size_of::<ResourceRecord>() = {} bytes; {} records = {:.1} MB moved per pass over them",
        std::mem::size_of::<ResourceRecord>(),
        calc.resources.len(),
        (std::mem::size_of::<ResourceRecord>() * calc.resources.len()) as f64 / 1e6
    );
    // The order calculate builds them in before its sort: VPCs, subnets, pools, each in
    // inventory order.
    let order: HashMap<&str, usize> = inv
        .vpcs
        .iter()
        .map(|v| v.id.as_str())
        .chain(inv.subnets.iter().map(|s| s.id.as_str()))
        .chain(inv.pools.iter().map(|p| p.id.as_str()))
        .enumerate()
        .map(|(i, id)| (id, i))
        .collect();
    let mut unsorted = calc.resources.clone();
    unsorted.sort_by_key(|r| {
        order
            .get(r.resource_id.as_str())
            .copied()
            .unwrap_or(usize::MAX)
    });

    let mut by_value = Vec::new();
    let mut by_key = Vec::new();
    let mut keys_only = Vec::new();
    for _ in 0..runs {
        let mut v = unsorted.clone();
        by_value.push(time_ms(|| v.sort_by(calculator::worst_first)).0);
        black_box(&v);
        let v = unsorted.clone();
        let (ms, sorted) = time_ms(|| {
            // Sort small keys, then move each record once.
            let mut keys: Vec<(u8, std::cmp::Reverse<u64>, &str, u32)> = v
                .iter()
                .enumerate()
                .map(|(i, r)| {
                    let u = r.utilization_percent.unwrap_or(-1.0);
                    // total_cmp order as an integer, reversed: higher first.
                    let bits = u.to_bits() as i64;
                    let ord = (bits ^ (((bits >> 63) as u64) >> 1) as i64) as u64 ^ (1 << 63);
                    (
                        2 - r.status as u8,
                        std::cmp::Reverse(ord),
                        r.resource_id.as_str(),
                        i as u32,
                    )
                })
                .collect();
            keys.sort_unstable();
            let idx: Vec<u32> = keys.iter().map(|k| k.3).collect();
            let mut slots: Vec<Option<ResourceRecord>> = v.into_iter().map(Some).collect();
            idx.iter()
                .map(|&i| slots[i as usize].take().expect("once"))
                .collect::<Vec<_>>()
        });
        by_key.push(ms);
        keys_only.push(
            time_ms(|| {
                let mut keys: Vec<(u8, std::cmp::Reverse<u64>, &str, u32)> = unsorted
                    .iter()
                    .enumerate()
                    .map(|(i, r)| {
                        let bits = r.utilization_percent.unwrap_or(-1.0).to_bits() as i64;
                        let ord = (bits ^ (((bits >> 63) as u64) >> 1) as i64) as u64 ^ (1 << 63);
                        (
                            2 - r.status as u8,
                            std::cmp::Reverse(ord),
                            r.resource_id.as_str(),
                            i as u32,
                        )
                    })
                    .collect();
                keys.sort_unstable();
                black_box(keys.len())
            })
            .0,
        );
        assert!(sorted
            .iter()
            .zip(&calc.resources)
            .all(|(a, b)| a.resource_id == b.resource_id));
    }
    let (_, m, _) = median_ms(by_value);
    let (_, k, _) = median_ms(by_key);
    let (_, ko, _) = median_ms(keys_only);
    println!("sort_worst_first replica (slice::sort_by on the records): median {m:.1} ms");
    println!("  same order by sorting (status, utilization, id, index) keys, then moving each record once: median {k:.1} ms (the key sort alone: {ko:.1} ms)");

    let mut sip = Vec::new();
    let mut fx = Vec::new();
    for _ in 0..runs {
        sip.push(
            time_ms(|| {
                let mut seen = HashSet::new();
                let a = inv
                    .vpcs
                    .iter()
                    .filter(|v| seen.insert((&v.region, &v.id)))
                    .count();
                let mut seen = HashSet::new();
                let b = inv
                    .subnets
                    .iter()
                    .filter(|s| seen.insert((&s.region, &s.id)))
                    .count();
                black_box(a + b)
            })
            .0,
        );
        fx.push(
            time_ms(|| {
                let mut seen: HashSet<_, FxBuild> =
                    HashSet::with_capacity_and_hasher(inv.vpcs.len(), FxBuild::default());
                let a = inv
                    .vpcs
                    .iter()
                    .filter(|v| seen.insert((&v.region, &v.id)))
                    .count();
                let mut seen: HashSet<_, FxBuild> =
                    HashSet::with_capacity_and_hasher(inv.subnets.len(), FxBuild::default());
                let b = inv
                    .subnets
                    .iter()
                    .filter(|s| seen.insert((&s.region, &s.id)))
                    .count();
                black_box(a + b)
            })
            .0,
        );
    }
    let (_, s, _) = median_ms(sip);
    let (_, f, _) = median_ms(fx);
    println!("dedup replica (HashSet<(&String, &String)>, SipHash, growing): median {s:.1} ms");
    println!("  same with FxHash and the capacity reserved: median {f:.1} ms");

    let mut grouping = Vec::new();
    for _ in 0..runs {
        grouping.push(
            time_ms(|| {
                let mut by_vpc: HashMap<(&str, &str), Vec<&ipam_monitor::domain::inventory::Subnet>> =
                    HashMap::new();
                for s in &inv.subnets {
                    by_vpc
                        .entry((s.region.as_str(), s.vpc_id.as_str()))
                        .or_default()
                        .push(s);
                }
                black_box(by_vpc.len())
            })
            .0,
        );
    }
    let (_, g, _) = median_ms(grouping);
    println!(
        "by_vpc grouping replica (HashMap<(&str, &str), Vec<&Subnet>>, SipHash): median {g:.1} ms"
    );
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
    if args.iter().any(|a| a == "--parts") {
        parts(&inv, n.clamp(3, 10));
    }
    if let Some(path) = args.iter().skip_while(|a| *a != "--json").nth(1) {
        let calc = calculator::calculate(inv.clone(), &t, ThresholdSource::Config);
        let report = report(&inv.scopes_scanned, &inv.errors, calc);
        let file = std::fs::File::create(path).expect("--json file can be created");
        serde_json::to_writer(std::io::BufWriter::new(file), &report).expect("report written");
        eprintln!("report written to {path}");
    }
}
