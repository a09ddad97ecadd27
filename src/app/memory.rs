//! The run's memory: read the state before the scan, decode it after the calculation,
//! archive the report next to the sinks, and write the state back at the end.

use crate::domain::calculator::mark_told;
use crate::domain::report::Report;
use crate::domain::state::{merge, State};
use crate::sinks::{DeliveryStatus, SinkOutcome};
use crate::store::codec::{decode_state, encode_state};
use crate::store::{Loaded, StateStore, StoreError, Version};
use std::time::Instant;

/// Conditional writes tried before giving up on a state another run keeps changing.
pub const SAVE_ATTEMPTS: usize = 3;

/// Reads the state, giving up after a quarter of the time left before `deadline`:
/// a hanging bucket costs the run its memory (a warning), never the report or the
/// alert.
pub async fn recall(store: &dyn StateStore, deadline: Option<Instant>) -> Recalled {
    let loaded = match deadline {
        Some(d) => {
            let by = Instant::now() + d.saturating_duration_since(Instant::now()) / 4;
            tokio::time::timeout_at(by.into(), store.load())
                .await
                .unwrap_or_else(|_| {
                    Err(StoreError::Aws {
                        operation: "GetObject".into(),
                        code: Some("DeadlineExceeded".into()),
                        message: "no answer in the time the run has for reading its state".into(),
                    })
                })
        }
        None => store.load().await,
    };
    Recalled { loaded }
}

/// What the store gave, not yet decoded.
#[derive(Debug)]
pub struct Recalled {
    pub loaded: Result<Loaded, StoreError>,
}

/// The previous state as the calculator takes it, with what the run must know about it.
pub struct Previous {
    pub state: State,
    /// Why the previous state was not used; each also goes into the report.
    pub warnings: Vec<String>,
    /// Where the save must find the object; `None`: do not save (the state could not
    /// be read, and a first-run state would overwrite the history).
    pub save_over: Option<Version>,
}

impl Recalled {
    /// Decodes the state. A missing object is a first run; an unreadable or foreign one
    /// is a warning and a first run that then replaces it (S3 versioning keeps the old
    /// one); a failed read is a warning and a first run that saves nothing.
    pub fn previous(self) -> Previous {
        match self.loaded {
            Ok(Loaded {
                bytes: None,
                version,
            }) => Previous {
                state: State::default(),
                warnings: Vec::new(),
                save_over: Some(version),
            },
            Ok(Loaded {
                bytes: Some(bytes),
                version,
            }) => match decode_state(&bytes) {
                Ok(state) => Previous {
                    state,
                    warnings: Vec::new(),
                    save_over: Some(version),
                },
                Err(why) => Previous {
                    state: State::default(),
                    warnings: vec![format!(
                        "{why}: this run starts afresh (every breach is told as new) and replaces it"
                    )],
                    save_over: Some(version),
                },
            },
            Err(e) => Previous {
                state: State::default(),
                warnings: vec![format!(
                    "could not read the state ({e}): this run starts afresh (every breach is told as new) and does not save over it"
                )],
                save_over: None,
            },
        }
    }
}

/// The state the calculator returned, and where it must be saved.
pub struct Remembered {
    pub state: State,
    pub save_over: Option<Version>,
}

/// Writes the state back after the sinks: what the alert told is marked only when the
/// SNS sink did not fail, so an alert that never went out is told again next run. A
/// conflicting write (another run saved meanwhile) is merged with that run's state
/// and tried again.
pub async fn keep(
    store: &dyn StateStore,
    remembered: Remembered,
    report: &Report,
    sinks: &[SinkOutcome],
) -> SinkOutcome {
    let Remembered {
        mut state,
        save_over,
    } = remembered;
    let Some(mut expected) = save_over else {
        return outcome(
            DeliveryStatus::Skipped,
            "not saved: the previous state could not be read, and this run's would replace its history".into(),
        );
    };
    let alert_failed = sinks
        .iter()
        .any(|s| s.sink == "sns" && s.status == DeliveryStatus::Failed);
    if !alert_failed {
        mark_told(
            &mut state,
            &report.resources,
            &report.outcome.overlaps,
            report.run.generated_at,
        );
    }
    if let Some(last) = state.last_run.as_mut() {
        last.delivered = sinks
            .iter()
            .filter(|s| s.status == DeliveryStatus::Delivered)
            .map(|s| s.sink.clone())
            .collect();
    }
    for attempt in 1..=SAVE_ATTEMPTS {
        let bytes = encode_state(&state);
        let size = bytes.len();
        match store.save(bytes, &expected).await {
            Ok(()) => {
                let note = if alert_failed {
                    " (the alert failed: its changes will be told again)"
                } else {
                    ""
                };
                return outcome(
                    DeliveryStatus::Delivered,
                    format!(
                        "state of {} resources saved ({size} bytes){note}",
                        state.resources.len()
                    ),
                );
            }
            Err(StoreError::Conflict { .. }) if attempt < SAVE_ATTEMPTS => {
                tracing::warn!(attempt, "the state changed since it was read: merging");
                match store.load().await {
                    Ok(Loaded {
                        bytes: Some(b),
                        version,
                    }) => {
                        if let Ok(theirs) = decode_state(&b) {
                            state = merge(state, theirs);
                        }
                        expected = version;
                    }
                    Ok(Loaded {
                        bytes: None,
                        version,
                    }) => expected = version,
                    Err(e) => return outcome(DeliveryStatus::Failed, e.to_string()),
                }
            }
            Err(e) => return outcome(DeliveryStatus::Failed, e.to_string()),
        }
    }
    outcome(
        DeliveryStatus::Failed,
        "the state kept changing under this run: not saved".into(),
    )
}

/// Writes the archive objects; a failure is reported like a sink's.
pub async fn archive(store: &dyn StateStore, report: &Report) -> SinkOutcome {
    match store.archive(report).await {
        Ok(at) => SinkOutcome {
            sink: "archive".into(),
            status: DeliveryStatus::Delivered,
            detail: format!("report archived at {at}"),
        },
        Err(e) => SinkOutcome {
            sink: "archive".into(),
            status: DeliveryStatus::Failed,
            detail: e.to_string(),
        },
    }
}

fn outcome(status: DeliveryStatus, detail: String) -> SinkOutcome {
    SinkOutcome {
        sink: "state".into(),
        status,
        detail,
    }
}
