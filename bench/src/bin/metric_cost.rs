//! Metrics a run publishes, and their monthly cost, per metric policy on the
//! synthetic organization at 1k, 10k and 100k subnets (issue 18's table).
//!
//!     metric_cost            (all three sizes)

use ipam_monitor::sinks::cloudwatch::MAX_METRICS_PER_REQUEST;
use ipam_monitor::sinks::metric_cost::monthly_cost_usd;
use ipam_monitor::sinks::metrics::{count, MetricPolicy, DEFAULT_MARGIN_POINTS};
use ipam_monitor_bench::{org_report, OrgSpec};

fn main() {
    println!("| subnets | resources | in breach | policy | metrics per run | PutMetricData requests | USD per month |");
    println!("|---|---|---|---|---|---|---|");
    for factor in [100, 10, 1] {
        let spec = if factor == 1 {
            OrgSpec::large()
        } else {
            OrgSpec::scaled(factor)
        };
        let (_, report) = org_report(&spec);
        let s = &report.outcome.summary;
        let policies = [
            ("all", MetricPolicy::All),
            (
                "focused (the default: breaches only)",
                MetricPolicy::Focused {
                    margin_points: DEFAULT_MARGIN_POINTS,
                },
            ),
            (
                "focused, margin 5 points",
                MetricPolicy::Focused { margin_points: 5.0 },
            ),
        ];
        for (name, policy) in policies {
            let n = count(&report, policy);
            println!(
                "| {} | {} | {} | {name} | {n} | {} | {:.2} |",
                s.subnets,
                s.resources,
                s.in_breach,
                n.div_ceil(MAX_METRICS_PER_REQUEST),
                monthly_cost_usd(n as u64)
            );
        }
    }
}
