//! The metrics of a run, as plain data: CloudWatch (PutMetricData) and EMF both
//! publish exactly this list.

use crate::domain::report::{Report, Unit};
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

/// Per resource: utilization and, for address-counted records, used/free/total;
/// published for every resource (not only those in breach) so alarms and graphs work.
/// Then the run-level metrics, without resource dimensions.
///
/// Lazy: the sinks turn each group into request data as they go, so a run never holds
/// every metric of a large estate at once.
pub fn metric_groups(
    report: &Report,
    duration: Duration,
) -> impl Iterator<Item = MetricGroup<'_>> + '_ {
    let per_resource = report.resources.iter().filter_map(|r| {
        let mut metrics = Vec::with_capacity(4);
        if let Some(p) = r.utilization_percent {
            metrics.push(("UtilizationPercent", MetricUnit::Percent, p));
            // IPv6 figures count /64 blocks, not addresses: no address metrics for them.
            if r.unit == Unit::Address {
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
        let named = dimensions.iter().all(|(_, v)| !v.is_empty());
        (named && !metrics.is_empty()).then_some(MetricGroup {
            dimensions,
            metrics,
        })
    });
    let s = &report.outcome.summary;
    let run_level = MetricGroup {
        dimensions: Vec::new(),
        metrics: vec![
            ("ResourcesMonitored", MetricUnit::Count, s.resources as f64),
            ("ResourcesInBreach", MetricUnit::Count, s.in_breach as f64),
            ("ScopeErrors", MetricUnit::Count, s.errors as f64),
            (
                "RunDuration",
                MetricUnit::Milliseconds,
                duration.as_millis() as f64,
            ),
        ],
    };
    per_resource.chain(std::iter::once(run_level))
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
