//! The metrics of a run, as plain data, chosen by the metric policy: CloudWatch
//! (PutMetricData) and EMF both publish exactly this list.

use crate::domain::report::{Report, ResourceRecord, ResourceType, Unit};
use std::time::Duration;

pub const DIM_RESOURCE_TYPE: &str = "ResourceType";
pub const DIM_RESOURCE_ID: &str = "ResourceId";
pub const DIM_ACCOUNT: &str = "AccountId";
pub const DIM_REGION: &str = "Region";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetricUnit {
    Percent,
    Count,
    Milliseconds,
}

impl MetricUnit {
    pub fn as_str(self) -> &'static str {
        match self {
            MetricUnit::Percent => "Percent",
            MetricUnit::Count => "Count",
            MetricUnit::Milliseconds => "Milliseconds",
        }
    }
}

/// The dimensions of one resource's metrics, borrowed from the report: at 100k
/// resources, owned copies would cost hundreds of thousands of allocations.
pub type Dimensions<'a> = Vec<(&'static str, &'a str)>;

#[derive(Debug, Clone, PartialEq)]
pub struct Metric<'a> {
    pub name: &'static str,
    pub unit: MetricUnit,
    /// Always finite: CloudWatch rejects NaN and infinity.
    pub value: f64,
    /// Empty for run-level metrics.
    pub dimensions: Dimensions<'a>,
}

/// Metrics that share one set of dimensions (one resource, or the run).
#[derive(Debug, Clone, PartialEq)]
pub struct MetricGroup<'a> {
    pub dimensions: Dimensions<'a>,
    pub metrics: Vec<(&'static str, MetricUnit, f64)>,
}

/// Which resources get metrics of their own. Every metric costs money each month it
/// is published (see [`super::metric_cost`]); the report holds every figure.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum MetricPolicy {
    /// Per-resource `UtilizationPercent` only for resources that matter: in breach and
    /// not acknowledged, and (with a margin above 0) those within `margin_points` below
    /// their warning threshold; plus the organization aggregates, which alarms use
    /// without knowing ids.
    Focused { margin_points: f64 },
    /// Every resource, four metrics each (`UtilizationPercent`, `UsedAddresses`,
    /// `FreeAddresses`, `TotalAddresses`), plus the aggregates.
    All,
}

/// Percentage points below its warning threshold within which a resource still gets
/// its own metric under the focused policy: none by default, so that a quiet estate
/// costs its aggregates only (~\$3 a month).
pub const DEFAULT_MARGIN_POINTS: f64 = 0.0;

impl Default for MetricPolicy {
    fn default() -> Self {
        MetricPolicy::Focused {
            margin_points: DEFAULT_MARGIN_POINTS,
        }
    }
}

impl MetricPolicy {
    pub fn name(self) -> &'static str {
        match self {
            MetricPolicy::Focused { .. } => "focused",
            MetricPolicy::All => "all",
        }
    }

    /// Whether `r` gets metrics of its own.
    pub fn covers(self, r: &ResourceRecord) -> bool {
        let MetricPolicy::Focused { margin_points } = self else {
            return true;
        };
        if r.suppressed.is_some() {
            return false;
        }
        let near = margin_points > 0.0
            && r.utilization_percent
                .is_some_and(|p| p >= r.thresholds.warning_percent - margin_points);
        r.status.is_breach() || near
    }
}

pub const DIM_SEVERITY: &str = "Severity";

/// The run-level metrics and the organization aggregates, first: what alarms read
/// goes out before anything else. Then each covered resource's metrics.
///
/// Lazy: the sinks turn each group into request data as they go, so a run never holds
/// every metric of a large estate at once.
pub fn metric_groups(
    report: &Report,
    duration: Duration,
    policy: MetricPolicy,
) -> impl Iterator<Item = MetricGroup<'_>> + '_ {
    let per_resource = report
        .resources
        .iter()
        .filter(move |r| policy.covers(r))
        .filter_map(move |r| resource_group(r, policy));
    aggregates(report, duration).into_iter().chain(per_resource)
}

/// One resource's metrics: utilization, and under [`MetricPolicy::All`] the address
/// counts of IPv4 records. `None` when it has nothing finite to publish or a
/// dimension would be empty.
fn resource_group(r: &ResourceRecord, policy: MetricPolicy) -> Option<MetricGroup<'_>> {
    let mut metrics = Vec::with_capacity(4);
    if let Some(p) = r.utilization_percent {
        metrics.push(("UtilizationPercent", MetricUnit::Percent, p));
        // IPv6 figures count /64 blocks, not addresses: no address metrics for them.
        if r.unit == Unit::Address && policy == MetricPolicy::All {
            metrics.push(("UsedAddresses", MetricUnit::Count, r.used as f64));
            metrics.push(("FreeAddresses", MetricUnit::Count, r.free as f64));
            metrics.push(("TotalAddresses", MetricUnit::Count, r.usable as f64));
        }
    }
    metrics.retain(|m| m.2.is_finite());
    let dimensions = vec![
        (DIM_RESOURCE_TYPE, r.resource_type.as_str()),
        (DIM_RESOURCE_ID, r.resource_id.as_str()),
        (DIM_ACCOUNT, r.account_id.as_str()),
        (DIM_REGION, r.region.as_str()),
    ];
    // CloudWatch refuses a whole request for one empty dimension value (a resource
    // AWS listed without an id): such a resource is in the report, not in metrics.
    if dimensions.iter().any(|(_, v)| v.is_empty()) {
        tracing::warn!(
            resource_type = r.resource_type.as_str(),
            "a resource without an id gets no metrics"
        );
        return None;
    }
    (!metrics.is_empty()).then_some(MetricGroup {
        dimensions,
        metrics,
    })
}

/// The small fixed set every policy publishes: the run's counts (no dimension), the
/// breaches per severity, and the highest utilization per resource type that nobody
/// acknowledged. At most 11 metrics, whatever the estate's size.
fn aggregates(report: &Report, duration: Duration) -> Vec<MetricGroup<'_>> {
    let s = &report.outcome.summary;
    let mut groups = vec![MetricGroup {
        dimensions: Vec::new(),
        metrics: vec![
            ("ResourcesMonitored", MetricUnit::Count, s.resources as f64),
            ("ResourcesInBreach", MetricUnit::Count, s.in_breach as f64),
            ("ResourcesUnknown", MetricUnit::Count, s.unknown as f64),
            ("ScopeErrors", MetricUnit::Count, s.errors as f64),
            (
                "OverlapConflicts",
                MetricUnit::Count,
                s.overlap_conflicts as f64,
            ),
            (
                "RunDuration",
                MetricUnit::Milliseconds,
                duration.as_millis() as f64,
            ),
        ],
    }];
    for (severity, count) in [("CRITICAL", s.critical), ("WARNING", s.warning)] {
        groups.push(MetricGroup {
            dimensions: vec![(DIM_SEVERITY, severity)],
            metrics: vec![("ResourcesInBreach", MetricUnit::Count, count as f64)],
        });
    }
    for kind in [
        ResourceType::Subnet,
        ResourceType::Vpc,
        ResourceType::IpamPool,
    ] {
        let worst = report
            .resources
            .iter()
            .filter(|r| r.resource_type == kind && r.suppressed.is_none())
            .filter_map(|r| r.utilization_percent)
            .filter(|p| p.is_finite())
            .reduce(f64::max);
        if let Some(worst) = worst {
            groups.push(MetricGroup {
                dimensions: vec![(DIM_RESOURCE_TYPE, kind.as_str())],
                metrics: vec![("MaxUtilizationPercent", MetricUnit::Percent, worst)],
            });
        }
    }
    groups
}

/// How many metrics a run publishes under `policy`.
pub fn count(report: &Report, policy: MetricPolicy) -> usize {
    metric_groups(report, Duration::ZERO, policy)
        .map(|g| g.metrics.len())
        .sum()
}

/// One group flattened into single metrics (one PutMetricData datum each).
pub fn group_metrics(group: MetricGroup<'_>) -> impl Iterator<Item = Metric<'_>> {
    let MetricGroup {
        dimensions,
        metrics,
    } = group;
    metrics.into_iter().map(move |(name, unit, value)| Metric {
        name,
        unit,
        value,
        dimensions: dimensions.clone(),
    })
}

/// Every group flattened, lazily.
pub fn flatten<'a>(
    groups: impl IntoIterator<Item = MetricGroup<'a>>,
) -> impl Iterator<Item = Metric<'a>> {
    groups.into_iter().flat_map(group_metrics)
}
