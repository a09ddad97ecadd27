//! Sinks: where a finished report goes. Each runs on its own; one failing never stops
//! the others, and every outcome is recorded.

pub mod cloudwatch;
pub mod downstream;
pub mod emf;
pub mod metric_cost;
pub mod metrics;
pub mod sns;

use crate::domain::report::Report;
use serde::Serialize;
use std::time::{Duration, Instant};

/// What a sink needs besides the report.
#[derive(Debug, Clone, Default)]
pub struct RunContext {
    pub duration: Duration,
    pub alert_mode: sns::AlertMode,
    /// Sinks an earlier attempt of this same request delivered (a Lambda retry):
    /// skipped, so a retry never sends an alert, data points or chunks twice.
    pub already_delivered: Vec<String>,
    /// When the sinks are cut ([`deliver_all`] sets it); each AWS call is given
    /// [`crate::aws::setup::timeouts_until`] this, so it ends as its own timeout first.
    pub cutoff: Option<Instant>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{operation} failed: {}{message}", code.as_deref().map(|c| format!("{c}: ")).unwrap_or_default())]
pub struct SinkError {
    pub operation: String,
    pub code: Option<String>,
    pub message: String,
}

impl SinkError {
    pub fn from_sdk<E>(operation: &str, err: &crate::aws::error::AwsError<E>) -> SinkError
    where
        E: aws_smithy_types::error::metadata::ProvideErrorMetadata + std::error::Error + 'static,
    {
        let (code, message) = crate::aws::error::code_and_message(err);
        SinkError {
            operation: operation.to_string(),
            code,
            message,
        }
    }
}

#[async_trait::async_trait]
pub trait Sink: Send + Sync {
    fn name(&self) -> &'static str;
    /// Sends the report; the answer says what was delivered, for the run summary.
    async fn deliver(&self, report: &Report, ctx: &RunContext) -> Result<Delivery, SinkError>;
}

/// What a sink did: sent something, or had nothing to send (e.g. no breach, no alert).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    pub status: DeliveryStatus,
    pub detail: String,
}

impl Delivery {
    pub fn sent(detail: impl Into<String>) -> Delivery {
        Delivery {
            status: DeliveryStatus::Delivered,
            detail: detail.into(),
        }
    }

    pub fn nothing(detail: impl Into<String>) -> Delivery {
        Delivery {
            status: DeliveryStatus::Skipped,
            detail: detail.into(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DeliveryStatus {
    Delivered,
    Skipped,
    Failed,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SinkOutcome {
    pub sink: String,
    pub status: DeliveryStatus,
    pub detail: String,
}

/// Time kept after the sinks' cut-off to write the log and answer Lambda: a tenth of
/// what is left, at most this much.
pub const ANSWER_MARGIN: Duration = Duration::from_secs(1);

/// Runs every sink at once, so a slow one (CloudWatch throttling, a hanging endpoint)
/// never holds back the alert, and records what each delivered or why it failed. With
/// a deadline, a sink not done shortly before it ([`ANSWER_MARGIN`]) is reported as
/// failed. Outcomes are in the order of `sinks`.
pub async fn deliver_all(
    sinks: &[Box<dyn Sink>],
    report: &Report,
    ctx: &RunContext,
    dry_run: bool,
    deadline: Option<Instant>,
) -> Vec<SinkOutcome> {
    let cutoff = deadline.map(|d| {
        let left = d.saturating_duration_since(Instant::now());
        d - (left / 10).min(ANSWER_MARGIN)
    });
    let ctx = &RunContext {
        cutoff,
        ..ctx.clone()
    };
    let runs = sinks.iter().map(|sink| async move {
        if dry_run {
            return SinkOutcome {
                sink: sink.name().to_string(),
                status: DeliveryStatus::Skipped,
                detail: "dry run: nothing sent".to_string(),
            };
        }
        if ctx.already_delivered.iter().any(|d| d == sink.name()) {
            return SinkOutcome {
                sink: sink.name().to_string(),
                status: DeliveryStatus::Skipped,
                detail: "delivered by an earlier attempt of this request (Lambda retry)".to_string(),
            };
        }
        let delivered = match cutoff {
            Some(at) => tokio::time::timeout_at(at.into(), sink.deliver(report, ctx))
                .await
                .unwrap_or_else(|_| Err(too_late())),
            None => sink.deliver(report, ctx).await,
        };
        match delivered {
            Ok(d) => {
                tracing::info!(sink = sink.name(), status = ?d.status, detail = %d.detail, "sink done");
                SinkOutcome {
                    sink: sink.name().to_string(),
                    status: d.status,
                    detail: d.detail,
                }
            }
            Err(e) => {
                tracing::error!(sink = sink.name(), error = %e, "sink failed");
                SinkOutcome {
                    sink: sink.name().to_string(),
                    status: DeliveryStatus::Failed,
                    detail: e.to_string(),
                }
            }
        }
    });
    futures::future::join_all(runs).await
}

/// A sink still waiting on AWS when the run had to answer.
fn too_late() -> SinkError {
    SinkError {
        operation: "Deliver".into(),
        code: Some("DeadlineExceeded".into()),
        message: "not finished before the Lambda deadline; what it had sent stays sent".into(),
    }
}
