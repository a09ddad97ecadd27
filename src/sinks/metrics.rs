//! The metrics of a run, as plain data: CloudWatch (PutMetricData) and EMF both
//! publish exactly this list.

use crate::report::{Report, Unit};
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

#[derive(Debug, Clone, PartialEq)]
pub struct Metric {
    pub name: &'static str,
    pub unit: MetricUnit,
    /// Always finite: CloudWatch rejects NaN and infinity.
    pub value: f64,
    /// Empty for run-level metrics.
    pub dimensions: Vec<(&'static str, String)>,
}

/// Metrics that share one set of dimensions (one resource, or the run).
#[derive(Debug, Clone, PartialEq)]
pub struct MetricGroup {
    pub dimensions: Vec<(&'static str, String)>,
    pub metrics: Vec<(&'static str, MetricUnit, f64)>,
}

/// Per resource: utilization and, for address-counted records, used/free/total;
/// published for every resource (not only those in breach) so alarms and graphs work.
/// Then the run-level metrics, without resource dimensions.
pub fn metric_groups(report: &Report, duration: Duration) -> Vec<MetricGroup> {
    let mut groups = Vec::with_capacity(report.resources.len() + 1);
    for r in &report.resources {
        let mut metrics = Vec::with_capacity(4);
        if let Some(p) = r.utilization_percent {
            metrics.push(("UtilizationPercent", MetricUnit::Percent, p));
        }
        // IPv6 figures count /64 blocks, not addresses: no address metrics for them.
        if r.unit == Unit::Address && r.utilization_percent.is_some() {
            metrics.push(("UsedAddresses", MetricUnit::Count, r.used as f64));
            metrics.push(("FreeAddresses", MetricUnit::Count, r.free as f64));
            metrics.push(("TotalAddresses", MetricUnit::Count, r.usable as f64));
        }
        if metrics.is_empty() {
            continue;
        }
        groups.push(MetricGroup {
            dimensions: vec![
                (DIM_RESOURCE_TYPE, r.resource_type.as_str().to_string()),
                (DIM_RESOURCE_ID, r.resource_id.clone()),
                (DIM_ACCOUNT, r.account_id.clone()),
                (DIM_REGION, r.region.clone()),
            ],
            metrics,
        });
    }
    let s = &report.summary;
    groups.push(MetricGroup {
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
    });
    for g in &mut groups {
        g.metrics.retain(|m| m.2.is_finite());
    }
    groups
}

/// The groups flattened into single metrics (one PutMetricData datum each).
pub fn flatten(groups: &[MetricGroup]) -> Vec<Metric> {
    groups
        .iter()
        .flat_map(|g| {
            g.metrics.iter().map(move |(name, unit, value)| Metric {
                name,
                unit: *unit,
                value: *value,
                dimensions: g.dimensions.clone(),
            })
        })
        .collect()
}
