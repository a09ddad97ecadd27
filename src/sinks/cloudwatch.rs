//! CloudWatch metrics through PutMetricData, in the fewest requests the limits allow.

use super::metrics::{flatten, metric_groups, Metric, MetricPolicy, MetricUnit};
use super::{Delivery, RunContext, Sink, SinkError};
use crate::aws::setup::timeouts_until;
use crate::domain::report::Report;
use aws_sdk_cloudwatch::primitives::DateTime;
use aws_sdk_cloudwatch::types::{Dimension, MetricDatum, StandardUnit};
use aws_sdk_cloudwatch::Client;
use std::iter::Peekable;

/// PutMetricData accepts at most 1000 metrics per request...
pub const MAX_METRICS_PER_REQUEST: usize = 1000;
/// ...and at most 1 MB; batches are cut well below it by a generous size estimate.
pub const MAX_REQUEST_BYTES: usize = 900_000;

pub struct CloudWatchSink {
    pub client: Client,
    pub namespace: String,
    pub policy: MetricPolicy,
}

/// A generous estimate of a datum's encoded size: its strings plus fixed overhead.
fn estimated_bytes(m: &Metric) -> usize {
    let dims: usize = m
        .dimensions
        .iter()
        .map(|(k, v)| k.len() + v.len() + 16)
        .sum();
    m.name.len() + dims + 64
}

/// Splits metrics into request-sized batches: ≤ 1000 metrics and under the byte cap.
/// Lazy, so only the batch being sent is held in memory.
pub fn batches<'a, I>(metrics: I) -> Batches<'a, I::IntoIter>
where
    I: IntoIterator<Item = Metric<'a>>,
{
    Batches {
        metrics: metrics.into_iter().peekable(),
    }
}

pub struct Batches<'a, I: Iterator<Item = Metric<'a>>> {
    metrics: Peekable<I>,
}

impl<'a, I: Iterator<Item = Metric<'a>>> Iterator for Batches<'a, I> {
    type Item = Vec<Metric<'a>>;

    fn next(&mut self) -> Option<Vec<Metric<'a>>> {
        let first = self.metrics.next()?;
        let mut bytes = estimated_bytes(&first);
        let mut batch = Vec::with_capacity(MAX_METRICS_PER_REQUEST);
        batch.push(first);
        while batch.len() < MAX_METRICS_PER_REQUEST {
            let Some(m) = self
                .metrics
                .next_if(|m| bytes + estimated_bytes(m) <= MAX_REQUEST_BYTES)
            else {
                break;
            };
            bytes += estimated_bytes(&m);
            batch.push(m);
        }
        Some(batch)
    }
}

fn unit(u: MetricUnit) -> StandardUnit {
    match u {
        MetricUnit::Percent => StandardUnit::Percent,
        MetricUnit::Count => StandardUnit::Count,
        MetricUnit::Milliseconds => StandardUnit::Milliseconds,
    }
}

fn datum(m: &Metric, timestamp: DateTime) -> MetricDatum {
    let dims = m
        .dimensions
        .iter()
        .map(|(k, v)| Dimension::builder().name(*k).value(*v).build())
        .collect();
    MetricDatum::builder()
        .metric_name(m.name)
        .unit(unit(m.unit))
        .value(m.value)
        .timestamp(timestamp)
        .set_dimensions(Some(dims))
        .build()
}

/// The run's start time as CloudWatch's timestamp; every datum of a run shares it.
fn run_timestamp(report: &Report) -> DateTime {
    DateTime::from(report.run.generated_at.system_time())
}

#[async_trait::async_trait]
impl Sink for CloudWatchSink {
    fn name(&self) -> &'static str {
        "cloudwatch"
    }

    async fn deliver(&self, report: &Report, ctx: &RunContext) -> Result<Delivery, SinkError> {
        let timestamp = run_timestamp(report);
        let (mut count, mut requests) = (0, 0);
        // A failed request loses its own batch only: the later ones still go. The
        // run-level metrics and aggregates the alarms read are in the first batch.
        let (mut lost, mut failed, mut first_error) = (0, 0, None);
        let mut codes: Vec<String> = Vec::new();
        let groups = metric_groups(report, ctx.duration, self.policy);
        for batch in batches(flatten(groups)) {
            count += batch.len();
            requests += 1;
            let data: Vec<MetricDatum> = batch.iter().map(|m| datum(m, timestamp)).collect();
            let sent = self
                .client
                .put_metric_data()
                .namespace(&self.namespace)
                .set_metric_data(Some(data))
                .customize()
                .config_override(
                    aws_sdk_cloudwatch::Config::builder()
                        .timeout_config(timeouts_until(ctx.cutoff)),
                )
                .send()
                .await;
            if let Err(e) = sent {
                let e = SinkError::from_sdk("PutMetricData", &e);
                tracing::error!(request = requests, error = %e, "a PutMetricData request failed; the next ones still go");
                failed += 1;
                lost += batch.len();
                let code = e.code.clone().unwrap_or_else(|| "no error code".into());
                if !codes.contains(&code) {
                    codes.push(code);
                }
                first_error.get_or_insert(e);
            }
        }
        if let Some(mut e) = first_error {
            e.message = format!(
                "{} ({failed} of {requests} request(s) failed ({}), {lost} of {count} metrics lost; the others were sent)",
                e.message,
                codes.join(", ")
            );
            return Err(e);
        }
        Ok(Delivery::sent(format!(
            "{count} metrics ({} policy) in {requests} PutMetricData request(s) to namespace {}",
            self.policy.name(),
            self.namespace
        )))
    }
}
