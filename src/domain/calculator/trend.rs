//! How fast a resource fills, and when it will be full, from its stored samples.

use crate::domain::state::Sample;

/// Fewer samples than this, or a shorter span, tell nothing about a trend.
pub const MIN_SAMPLES: usize = 3;
pub const MIN_SPAN_SECS: u64 = 24 * 3600;
/// Growth below this reads as flat: at 0.01 points a day, 100 points take 27 years.
pub const FLAT_POINTS_PER_DAY: f64 = 0.01;

const SECS_PER_DAY: f64 = 86_400.0;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Trend {
    /// Percentage points a day, from a least-squares line through the samples.
    pub points_per_day: f64,
    /// The latest sample's utilization, where the forecast starts.
    pub latest_percent: f64,
}

impl Trend {
    /// Days from the latest sample until utilization reaches `percent`, at this
    /// growth; `None` when flat or shrinking, 0 when already there.
    pub fn days_until(&self, percent: f64) -> Option<f64> {
        if self.latest_percent >= percent {
            return Some(0.0);
        }
        (self.points_per_day >= FLAT_POINTS_PER_DAY)
            .then(|| (percent - self.latest_percent) / self.points_per_day)
    }
}

/// The trend of `samples` (oldest first), or `None` with too little history.
pub fn trend(samples: &[Sample]) -> Option<Trend> {
    let (first, latest) = (samples.first()?, samples.last()?);
    let span = latest.unix_seconds().saturating_sub(first.unix_seconds());
    if samples.len() < MIN_SAMPLES || span < MIN_SPAN_SECS {
        return None;
    }
    // Days since the first sample, so the sums stay small and exact enough.
    let points: Vec<(f64, f64)> = samples
        .iter()
        .map(|s| {
            let days = (s.unix_seconds() - first.unix_seconds()) as f64 / SECS_PER_DAY;
            (days, s.percent())
        })
        .collect();
    let n = points.len() as f64;
    let mean_x = points.iter().map(|p| p.0).sum::<f64>() / n;
    let mean_y = points.iter().map(|p| p.1).sum::<f64>() / n;
    let sxy: f64 = points
        .iter()
        .map(|(x, y)| (x - mean_x) * (y - mean_y))
        .sum();
    let sxx: f64 = points.iter().map(|(x, _)| (x - mean_x).powi(2)).sum();
    Some(Trend {
        points_per_day: sxy / sxx,
        latest_percent: latest.percent(),
    })
}
