//! The Lambda handler: event in, report built, sinks run, summary out. Shared by the
//! Lambda bootstrap and the local runner so both run exactly the same pass.

use crate::app::config::{Config, FailOn, MetricsMode};
use crate::app::event::{parse_event, EventError};
use crate::app::memory::{archive, keep};
use crate::app::run::monitor;
use crate::domain::inventory::ScanError;
use crate::domain::report::{Report, RunHistory, RunStamp, Summary};
use crate::sinks::metric_cost::monthly_cost_usd;
use crate::sinks::metrics::{self, MetricPolicy};
use crate::sinks::{deliver_all, DeliveryStatus, RunContext, Sink, SinkOutcome};
use crate::source::NetworkSource;
use crate::store::StateStore;
use lambda_runtime::{Diagnostic, LambdaEvent};
use serde::Serialize;
use serde_json::Value;
use std::time::{Duration, Instant, SystemTime};

/// A synchronous Lambda response may be 6 MB; the report rides along only well below.
pub const MAX_INLINE_REPORT_BYTES: usize = 5_000_000;

pub struct App<S> {
    pub config: Config,
    pub source: S,
    pub sinks: Vec<Box<dyn Sink>>,
    /// The run's memory and report archive; `None`: every run stands alone.
    pub store: Option<Box<dyn StateStore>>,
}

/// Everything one pass produced.
#[derive(Debug, Clone)]
pub struct RunOutput {
    pub report: Report,
    pub sinks: Vec<SinkOutcome>,
    pub dry_run: bool,
    pub duration_ms: u64,
    /// `None` when metrics are off.
    pub metrics: Option<MetricsEstimate>,
}

/// How many metrics a run publishes and what that costs if every hourly run does.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct MetricsEstimate {
    pub policy: &'static str,
    pub per_run: usize,
    /// USD per month at list price (us-east-1), two decimals.
    pub monthly_usd: f64,
}

impl MetricsEstimate {
    pub fn of(report: &Report, policy: MetricPolicy) -> MetricsEstimate {
        let per_run = metrics::count(report, policy);
        let cost = monthly_cost_usd(per_run as u64);
        MetricsEstimate {
            policy: policy.name(),
            per_run,
            monthly_usd: (cost * 100.0).round() / 100.0,
        }
    }
}

impl std::fmt::Display for MetricsEstimate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} metrics per run ({} policy): about ${:.2} a month if every hourly run publishes them",
            self.per_run, self.policy, self.monthly_usd
        )
    }
}

/// What the function returns to its caller: small and bounded, with the whole report
/// inline only when it fits a synchronous response.
#[derive(Debug, Clone, Serialize)]
pub struct RunSummary {
    #[serde(flatten)]
    pub run: RunStamp,
    pub dry_run: bool,
    pub duration_ms: u64,
    pub summary: Summary,
    /// What changed since the last run and where the report is archived; `null`
    /// without a state bucket.
    pub history: Option<RunHistory>,
    /// CloudWatch metrics published and their monthly cost; `null` when metrics are off.
    pub metrics: Option<MetricsEstimate>,
    pub sinks: Vec<SinkOutcome>,
    pub errors: Vec<ScanError>,
    /// `null` when the report is too large to return; the downstream sink has it.
    pub report: Option<Report>,
}

impl RunOutput {
    pub fn failed_sinks(&self) -> impl Iterator<Item = &SinkOutcome> {
        self.sinks
            .iter()
            .filter(|s| s.status == DeliveryStatus::Failed)
    }

    pub fn summary(self) -> RunSummary {
        // Measured without building the JSON: a large report would double the peak.
        let fits = crate::domain::report::json_len(&self.report) <= MAX_INLINE_REPORT_BYTES;
        let mut report = self.report;
        // The summary lists the errors whether or not the report rides along.
        let errors = if fits {
            report.outcome.errors.clone()
        } else {
            std::mem::take(&mut report.outcome.errors)
        };
        RunSummary {
            run: report.run.clone(),
            dry_run: self.dry_run,
            duration_ms: self.duration_ms,
            summary: report.outcome.summary.clone(),
            history: report.outcome.history.clone(),
            metrics: self.metrics,
            sinks: self.sinks,
            errors,
            report: fits.then_some(report),
        }
    }
}

/// `step`, or a failed outcome for `sink` when the deadline comes first (less a
/// margin to answer Lambda).
async fn before_deadline(
    deadline: Option<Instant>,
    sink: &str,
    step: impl std::future::Future<Output = SinkOutcome>,
) -> SinkOutcome {
    let Some(d) = deadline else {
        return step.await;
    };
    let left = d.saturating_duration_since(Instant::now());
    let by = d - (left / 10).min(crate::sinks::ANSWER_MARGIN);
    tokio::time::timeout_at(by.into(), step)
        .await
        .unwrap_or_else(|_| SinkOutcome {
            sink: sink.to_string(),
            status: DeliveryStatus::Failed,
            detail: "not finished before the Lambda deadline".into(),
        })
}

/// Time left before the invocation's deadline. Lambda gives the deadline in
/// milliseconds since the epoch; `cargo lambda watch` sends a bare budget (600000), so
/// a value before 2001 is read as the budget itself.
pub fn time_left(deadline_ms: u64, now: SystemTime) -> Duration {
    const EPOCH_2001_MS: u64 = 1_000_000_000_000;
    if deadline_ms < EPOCH_2001_MS {
        return Duration::from_millis(deadline_ms);
    }
    (SystemTime::UNIX_EPOCH + Duration::from_millis(deadline_ms))
        .duration_since(now)
        .unwrap_or_default()
}

#[derive(Debug, thiserror::Error)]
pub enum HandlerError {
    #[error(transparent)]
    BadEvent(#[from] EventError),
    /// Some scopes or sinks failed. Every scope and every sink had its chance first;
    /// the error makes Lambda's retries and failure destinations see it.
    #[error("run incomplete: {problems}")]
    Incomplete {
        problems: String,
        output: Box<RunOutput>,
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
    pub async fn handle(&self, event: LambdaEvent<Value>) -> Result<RunSummary, HandlerError> {
        let run_id = event.context.request_id.clone();
        let left = time_left(event.context.deadline, SystemTime::now());
        self.run_until(&event.payload, run_id, Some(Instant::now() + left))
            .await
            .map(RunOutput::summary)
    }

    /// One pass for an event payload, with no deadline; `run_id` names the run in
    /// every output.
    pub async fn run(&self, payload: &Value, run_id: String) -> Result<RunOutput, HandlerError> {
        self.run_until(payload, run_id, None).await
    }

    /// One pass that stops scanning in time to deliver before `deadline`.
    pub async fn run_until(
        &self,
        payload: &Value,
        run_id: String,
        deadline: Option<Instant>,
    ) -> Result<RunOutput, HandlerError> {
        self.run_at(payload, run_id, SystemTime::now(), deadline)
            .await
    }

    /// One pass as if started at `now` (tests move the clock between runs).
    pub async fn run_at(
        &self,
        payload: &Value,
        run_id: String,
        now: SystemTime,
        deadline: Option<Instant>,
    ) -> Result<RunOutput, HandlerError> {
        let started = Instant::now();
        let invocation = parse_event(payload)?;
        let settings = invocation.settings(&self.config)?;
        tracing::info!(run_id = %run_id, trigger = ?invocation.trigger, regions = ?settings.regions, dry_run = settings.dry_run, "run started");
        let store = self.store.as_deref();
        // Boxed: the scan future is deep enough to exhaust the compiler's layout limit.
        let (mut report, remembered) = Box::pin(monitor(
            &self.source,
            &self.config,
            &settings,
            run_id,
            now,
            deadline,
            store,
        ))
        .await;
        let archive_at = store
            .filter(|_| !settings.dry_run)
            .map(|s| s.archive_location(&report));
        if let Some(h) = report.outcome.history.as_mut() {
            h.archive = archive_at;
        }
        let ctx = RunContext {
            duration: started.elapsed(),
            alert_mode: self.config.alert_mode,
            already_delivered: report
                .outcome
                .history
                .as_ref()
                .map(|h| h.already_delivered.clone())
                .unwrap_or_default(),
            // deliver_all sets it from the deadline.
            cutoff: None,
        };
        // The archive is written next to the sinks, under the same deadline.
        let archived = async {
            match store.filter(|_| !settings.dry_run) {
                Some(store) => {
                    Some(before_deadline(deadline, "archive", archive(store, &report)).await)
                }
                None => None,
            }
        };
        let (mut sinks, archived) = tokio::join!(
            deliver_all(&self.sinks, &report, &ctx, settings.dry_run, deadline),
            archived
        );
        sinks.extend(archived);
        if let (Some(store), Some(remembered)) = (store, remembered) {
            if !settings.dry_run {
                let kept =
                    before_deadline(deadline, "state", keep(store, remembered, &report, &sinks));
                sinks.push(kept.await);
            }
        }
        let metrics = (self.config.metrics_mode != MetricsMode::Off)
            .then(|| MetricsEstimate::of(&report, self.config.metric_policy));
        let output = RunOutput {
            report,
            sinks,
            dry_run: settings.dry_run,
            duration_ms: started.elapsed().as_millis() as u64,
            metrics,
        };
        let s = &output.report.outcome.summary;
        tracing::info!(
            resources = s.resources,
            warning = s.warning,
            critical = s.critical,
            overlap_groups = s.overlap_groups,
            errors = s.errors,
            duration_ms = output.duration_ms,
            "run finished"
        );

        let mut problems: Vec<String> = Vec::new();
        let errors = &output.report.outcome.errors;
        let fail_on = self.config.fail_on;
        if let Some(first) = errors.first().filter(|_| fail_on == FailOn::Any) {
            problems.push(format!(
                "{} scope error(s), first: {} in {}/{}: {} {}",
                errors.len(),
                first.operation,
                first.account_id,
                first.region,
                first.code.as_deref().unwrap_or("error"),
                first.message
            ));
        }
        for s in output.failed_sinks().filter(|_| fail_on != FailOn::Never) {
            problems.push(format!("sink {} failed: {}", s.sink, s.detail));
        }
        if problems.is_empty() {
            Ok(output)
        } else {
            Err(HandlerError::Incomplete {
                problems: problems.join("; "),
                output: Box::new(output),
            })
        }
    }
}
