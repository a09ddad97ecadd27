//! Sinks: where a finished report goes. Each runs on its own; one failing never stops
//! the others, and every outcome is recorded.

pub mod cloudwatch;
pub mod downstream;
pub mod emf;
pub mod metrics;
pub mod sns;

use crate::domain::report::Report;
use serde::Serialize;
use std::time::Duration;

/// What a sink needs besides the report.
#[derive(Debug, Clone)]
pub struct RunContext {
    pub duration: Duration,
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

/// Runs every sink, one after another (they are few and each batches its own calls),
/// and records what each delivered or why it failed.
pub async fn deliver_all(
    sinks: &[Box<dyn Sink>],
    report: &Report,
    ctx: &RunContext,
    dry_run: bool,
) -> Vec<SinkOutcome> {
    let mut outcomes = Vec::with_capacity(sinks.len());
    for sink in sinks {
        let outcome = if dry_run {
            SinkOutcome {
                sink: sink.name().to_string(),
                status: DeliveryStatus::Skipped,
                detail: "dry run: nothing sent".to_string(),
            }
        } else {
            match sink.deliver(report, ctx).await {
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
        };
        outcomes.push(outcome);
    }
    outcomes
}
