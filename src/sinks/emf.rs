//! The same metrics as CloudWatch Embedded Metric Format lines on stdout: CloudWatch
//! Logs extracts them, with no PutMetricData calls and no extra permission.

use super::metrics::{metric_groups, MetricGroup, MetricPolicy};
use super::{Delivery, RunContext, Sink, SinkError};
use crate::domain::report::Report;
use serde_json::{json, Map, Value};
use std::io::Write;
use std::sync::Mutex;

/// EMF allows at most 100 metrics per directive; a group has at most 6.
pub const MAX_METRICS_PER_DIRECTIVE: usize = 100;
const EMF_FLUSH_BYTES: usize = 64 * 1024;

pub struct EmfSink {
    pub namespace: String,
    pub policy: MetricPolicy,
    pub out: Mutex<Box<dyn Write + Send>>,
}

impl EmfSink {
    pub fn stdout(namespace: String, policy: MetricPolicy) -> EmfSink {
        EmfSink {
            namespace,
            policy,
            out: Mutex::new(Box::new(std::io::stdout())),
        }
    }
}

/// One EMF document for one group of metrics that share dimensions.
pub fn emf_line(namespace: &str, timestamp_ms: u128, group: &MetricGroup) -> Value {
    let dim_keys: Vec<&str> = group.dimensions.iter().map(|(k, _)| *k).collect();
    let metrics: Vec<Value> = group
        .metrics
        .iter()
        .take(MAX_METRICS_PER_DIRECTIVE)
        .map(|(name, unit, _)| json!({"Name": name, "Unit": unit.as_str()}))
        .collect();
    let mut doc = Map::new();
    doc.insert(
        "_aws".into(),
        json!({
            "Timestamp": timestamp_ms as u64,
            "CloudWatchMetrics": [{
                "Namespace": namespace,
                // [[]] publishes the run-level metrics without dimensions.
                "Dimensions": [dim_keys],
                "Metrics": metrics,
            }],
        }),
    );
    for (k, v) in &group.dimensions {
        doc.insert((*k).to_string(), Value::from(*v));
    }
    for (name, _, value) in &group.metrics {
        doc.insert((*name).to_string(), json!(value));
    }
    Value::Object(doc)
}

#[async_trait::async_trait]
impl Sink for EmfSink {
    fn name(&self) -> &'static str {
        "emf"
    }

    async fn deliver(&self, report: &Report, ctx: &RunContext) -> Result<Delivery, SinkError> {
        let ts = u128::from(report.run.generated_at.unix_seconds()) * 1000;
        let io_err = |e: std::io::Error| SinkError {
            operation: "write EMF".into(),
            code: None,
            message: e.to_string(),
        };
        let mut out = self.out.lock().unwrap_or_else(|p| p.into_inner());
        // Written in slices of about 64 KiB: a large estate's lines are never all held.
        let mut text = Vec::with_capacity(EMF_FLUSH_BYTES + 4096);
        let (mut metrics, mut lines) = (0, 0);
        for g in metric_groups(report, ctx.duration, self.policy) {
            metrics += g.metrics.len();
            lines += 1;
            serde_json::to_writer(&mut text, &emf_line(&self.namespace, ts, &g))
                .expect("a JSON value serializes");
            text.push(b'\n');
            if text.len() >= EMF_FLUSH_BYTES {
                out.write_all(&text).map_err(io_err)?;
                text.clear();
            }
        }
        out.write_all(&text).map_err(io_err)?;
        out.flush().map_err(io_err)?;
        Ok(Delivery::sent(format!(
            "{metrics} metrics in {lines} EMF line(s) to namespace {}",
            self.namespace
        )))
    }
}
