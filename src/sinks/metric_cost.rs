//! What custom CloudWatch metrics cost a month, so a run can say what its metrics
//! cost if sustained. List prices in us-east-1 (2026), per metric per month, in
//! tiers; pro-rated by the hours a metric is published, so an hourly run pays the
//! full month. EMF metrics are billed the same.

/// (metrics in the tier, USD per metric per month), in order; the last tier has no end.
pub const PRICE_TIERS: [(u64, f64); 4] = [
    (FIRST_TIER_METRICS, FIRST_TIER_USD),
    (SECOND_TIER_METRICS, SECOND_TIER_USD),
    (THIRD_TIER_METRICS, THIRD_TIER_USD),
    (u64::MAX, BEYOND_USD),
];
pub const FIRST_TIER_METRICS: u64 = 10_000;
pub const FIRST_TIER_USD: f64 = 0.30;
pub const SECOND_TIER_METRICS: u64 = 240_000;
pub const SECOND_TIER_USD: f64 = 0.10;
pub const THIRD_TIER_METRICS: u64 = 750_000;
pub const THIRD_TIER_USD: f64 = 0.05;
/// Over 1,000,000 metrics.
pub const BEYOND_USD: f64 = 0.02;

/// The monthly cost of `metrics` custom metrics published every hour of the month.
pub fn monthly_cost_usd(metrics: u64) -> f64 {
    let mut left = metrics;
    let mut cost = 0.0;
    for (size, price) in PRICE_TIERS {
        let here = left.min(size);
        cost += here as f64 * price;
        left -= here;
        if left == 0 {
            break;
        }
    }
    cost
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tiers_apply_in_order() {
        assert_eq!(monthly_cost_usd(0), 0.0);
        assert!((monthly_cost_usd(1) - 0.30).abs() < 1e-9);
        assert!((monthly_cost_usd(10_000) - 3_000.0).abs() < 1e-6);
        // 10,000 × 0.30 + 32,004 × 0.10: the 10k-subnet estate today.
        assert!((monthly_cost_usd(42_004) - 6_200.4).abs() < 1e-6);
        // The first three tiers in full, then 0.02 each.
        let full = 10_000.0 * 0.30 + 240_000.0 * 0.10 + 750_000.0 * 0.05;
        assert!((monthly_cost_usd(1_000_000) - full).abs() < 1e-6);
        assert!((monthly_cost_usd(1_000_100) - (full + 2.0)).abs() < 1e-6);
        assert!(monthly_cost_usd(u64::MAX).is_finite());
    }
}
