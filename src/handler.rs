//! The Lambda handler: event in, report out. Shared by the Lambda bootstrap and the
//! local runner so both run exactly the same pass.

use crate::config::Config;
use crate::event::{parse_event, EventError};
use crate::report::Report;
use crate::run::monitor;
use crate::source::NetworkSource;
use lambda_runtime::{Diagnostic, LambdaEvent};
use serde_json::Value;
use std::time::SystemTime;

pub struct App<S> {
    pub config: Config,
    pub source: S,
}

#[derive(Debug, thiserror::Error)]
pub enum HandlerError {
    #[error(transparent)]
    BadEvent(#[from] EventError),
    /// Some scopes failed. The report (with every scope that did answer) has been
    /// produced; the error makes Lambda's retry and failure destinations see it.
    #[error("run incomplete: {failed} error(s); first: {first}")]
    Incomplete {
        failed: usize,
        first: String,
        report: Box<Report>,
    },
}

impl From<HandlerError> for Diagnostic {
    fn from(e: HandlerError) -> Diagnostic {
        let error_type = match &e {
            HandlerError::BadEvent(_) => "BadEvent",
            HandlerError::Incomplete { .. } => "IncompleteRun",
        };
        Diagnostic {
            error_type: error_type.to_string(),
            error_message: e.to_string(),
        }
    }
}

impl<S: NetworkSource> App<S> {
    pub async fn handle(&self, event: LambdaEvent<Value>) -> Result<Report, HandlerError> {
        let run_id = event.context.request_id.clone();
        self.run(&event.payload, run_id).await
    }

    /// One pass for an event payload; `run_id` names the run in every output.
    pub async fn run(&self, payload: &Value, run_id: String) -> Result<Report, HandlerError> {
        let invocation = parse_event(payload)?;
        let settings = invocation.settings(&self.config)?;
        tracing::info!(run_id = %run_id, trigger = ?invocation.trigger, regions = ?settings.regions, "run started");
        let report = monitor(
            &self.source,
            &self.config,
            &settings,
            run_id,
            SystemTime::now(),
        )
        .await;
        let s = &report.summary;
        tracing::info!(
            resources = s.resources,
            warning = s.warning,
            critical = s.critical,
            overlap_groups = s.overlap_groups,
            errors = s.errors,
            "run finished"
        );
        if let Some(first) = report.errors.first() {
            return Err(HandlerError::Incomplete {
                failed: report.errors.len(),
                first: format!(
                    "{} in {}/{}: {} {}",
                    first.operation,
                    first.account_id,
                    first.region,
                    first.code.as_deref().unwrap_or("error"),
                    first.message
                ),
                report: Box::new(report),
            });
        }
        Ok(report)
    }
}
