//! The invocation event: an EventBridge schedule, or a direct invocation whose body may
//! override thresholds and regions for one run.

use crate::app::config::{self, Config, RegionSelection};
use crate::domain::calculator::Suppressions;
use crate::domain::thresholds::{Level, ThresholdError, ThresholdSource, Thresholds};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::Value;
use std::fmt;

#[derive(Debug, Clone, PartialEq)]
pub enum Trigger {
    /// EventBridge scheduled rule; `id` is EventBridge's event id.
    Scheduled {
        id: Option<String>,
    },
    Direct,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Overrides {
    pub warning_percent: Option<f64>,
    pub critical_percent: Option<f64>,
    pub min_free_addresses: Option<u64>,
    pub min_free_block: Option<u8>,
    pub min_free_prefixes: Option<u16>,
    pub regions: Option<RegionSelection>,
    /// Acknowledged for this run, on top of the configuration's.
    pub suppressions: Suppressions,
    pub dry_run: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Invocation {
    pub trigger: Trigger,
    pub overrides: Overrides,
}

/// What one run uses once the event has been applied to the configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct RunSettings {
    pub thresholds: Thresholds,
    pub threshold_source: ThresholdSource,
    pub regions: RegionSelection,
    /// The configuration's acknowledgements and the event's.
    pub suppressions: Suppressions,
    pub dry_run: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct EventError {
    pub field: String,
    pub value: String,
    pub problem: String,
}

impl fmt::Display for EventError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invalid event field {:?} = {}: {}",
            self.field, self.value, self.problem
        )
    }
}

fn err(field: &str, value: impl fmt::Display, problem: impl Into<String>) -> EventError {
    EventError {
        field: field.to_string(),
        value: config::shown_value(&value.to_string()),
        problem: problem.into(),
    }
}

/// The EventBridge envelope fields this function reads, typed as in
/// `aws_lambda_events::eventbridge::EventBridgeEvent`. That crate is not used: its
/// chrono `clock`/`serde` features would change chrono's feature set, which every AWS
/// SDK crate is built against, and so rebuild the whole SDK.
#[derive(Debug, Deserialize)]
struct EventBridgeEvent {
    id: Option<String>,
    source: String,
}

/// The body of a direct invocation: every field optional, no other field allowed.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DirectEvent {
    warning_percent: Option<f64>,
    critical_percent: Option<f64>,
    min_free_addresses: Option<u64>,
    min_free_block: Option<u8>,
    min_free_prefixes: Option<u16>,
    regions: Option<Regions>,
    accepted_overlaps: Option<Vec<String>>,
    suppress_accounts: Option<Vec<String>>,
    #[serde(default)]
    dry_run: bool,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Regions {
    One(String),
    List(Vec<String>),
}

/// What each direct-invocation field must be, for the error when it is not.
fn expected(field: &str) -> Option<&'static str> {
    Some(match field {
        "warning_percent" | "critical_percent" => "expected a number",
        "min_free_addresses" => "expected a whole number, 0 or more",
        "min_free_block" => "expected a prefix length from 1 to 32",
        "min_free_prefixes" => "expected a whole number of /28 blocks, 0 to 65535",
        "accepted_overlaps" => "expected a list of VPC ids and CIDRs",
        "suppress_accounts" => "expected a list of 12-digit account ids",
        "regions" => "expected \"all\", a region name, or a list of region names",
        "dry_run" => "expected true or false",
        _ => return None,
    })
}

/// `event` as `T`; the error names the top-level field that failed and its value.
fn typed<T: DeserializeOwned>(event: &Value) -> Result<T, EventError> {
    serde_path_to_error::deserialize(event).map_err(|e| {
        let field = match e.path().iter().next() {
            Some(serde_path_to_error::Segment::Map { key }) => key.clone(),
            _ => return err("(event)", event, e.inner().to_string()),
        };
        let value = event.get(&field).unwrap_or(&Value::Null);
        let problem = expected(&field)
            .map(str::to_string)
            .unwrap_or_else(|| e.inner().to_string());
        err(&field, value, problem)
    })
}

pub fn parse_event(event: &Value) -> Result<Invocation, EventError> {
    match event {
        // `aws lambda invoke` with no payload and `cargo lambda invoke` without data.
        Value::Null => Ok(Invocation {
            trigger: Trigger::Direct,
            overrides: Overrides::default(),
        }),
        // Every EventBridge event has a detail-type; no direct-invocation field does.
        Value::Object(o) if o.contains_key("detail-type") => parse_scheduled(event),
        Value::Object(_) => parse_direct(event),
        other => Err(err("(event)", other, "expected a JSON object")),
    }
}

fn parse_scheduled(event: &Value) -> Result<Invocation, EventError> {
    let e: EventBridgeEvent = typed(event)?;
    if e.source != "aws.events" {
        return Err(err(
            "source",
            Value::from(e.source),
            "an event with detail-type must come from EventBridge (source \"aws.events\")",
        ));
    }
    Ok(Invocation {
        trigger: Trigger::Scheduled { id: e.id },
        overrides: Overrides::default(),
    })
}

fn parse_direct(event: &Value) -> Result<Invocation, EventError> {
    let d: DirectEvent = typed(event)?;
    let regions = match d.regions {
        None => None,
        Some(r) => {
            let text = match r {
                Regions::One(name) => name,
                Regions::List(names) => names.join(","),
            };
            Some(
                config::parse_regions("regions", &text)
                    .map_err(|e| err("regions", &event["regions"], e.allowed))?,
            )
        }
    };
    if let Some(p) = d.min_free_block.filter(|p| !(1..=32).contains(p)) {
        return Err(err(
            "min_free_block",
            p,
            "expected a prefix length from 1 to 32",
        ));
    }
    let mut suppressions = Suppressions::default();
    if let Some(items) = &d.accepted_overlaps {
        suppressions.accepted_overlaps =
            config::accepted_overlaps("accepted_overlaps", &items.join(","))
                .map_err(|e| err("accepted_overlaps", &e.value, e.allowed))?;
    }
    if let Some(items) = &d.suppress_accounts {
        let allowed = "a list of 12-digit account ids";
        suppressions.accounts = config::account_ids("suppress_accounts", &items.join(","), allowed)
            .map_err(|e| err("suppress_accounts", &e.value, e.allowed))?;
    }
    Ok(Invocation {
        trigger: Trigger::Direct,
        overrides: Overrides {
            warning_percent: d.warning_percent,
            critical_percent: d.critical_percent,
            min_free_addresses: d.min_free_addresses,
            min_free_block: d.min_free_block,
            min_free_prefixes: d.min_free_prefixes,
            regions,
            suppressions,
            dry_run: d.dry_run,
        },
    })
}

impl Invocation {
    /// The settings of this run: configuration, then event overrides.
    pub fn settings(&self, config: &Config) -> Result<RunSettings, EventError> {
        let o = &self.overrides;
        let mut t = config.thresholds;
        let overridden = o.warning_percent.is_some()
            || o.critical_percent.is_some()
            || o.min_free_addresses.is_some()
            || o.min_free_block.is_some()
            || o.min_free_prefixes.is_some();
        t.warning_percent = o.warning_percent.unwrap_or(t.warning_percent);
        t.critical_percent = o.critical_percent.unwrap_or(t.critical_percent);
        t.min_free_addresses = o.min_free_addresses.or(t.min_free_addresses);
        t.min_free_block = o.min_free_block.or(t.min_free_block);
        t.min_free_prefixes = o.min_free_prefixes.or(t.min_free_prefixes);
        t.validate().map_err(|e| {
            // The configuration is valid, so the field to blame is one the event set.
            let level = match e {
                ThresholdError::OutOfRange { level, .. } => level,
                ThresholdError::WarningAboveCritical { .. } if o.warning_percent.is_some() => {
                    Level::Warning
                }
                ThresholdError::WarningAboveCritical { .. } => Level::Critical,
            };
            match level {
                Level::Warning => err("warning_percent", t.warning_percent, e.to_string()),
                Level::Critical => err("critical_percent", t.critical_percent, e.to_string()),
            }
        })?;
        let regions = o.regions.clone().unwrap_or_else(|| config.regions.clone());
        if regions == RegionSelection::Own && config.own_region.is_none() {
            return Err(err(
                "regions",
                Value::Null,
                "no region given and the function's own region (AWS_REGION) is unknown",
            ));
        }
        Ok(RunSettings {
            thresholds: t,
            threshold_source: if overridden {
                ThresholdSource::Event
            } else {
                ThresholdSource::Config
            },
            regions,
            suppressions: config.suppressions.with(&o.suppressions),
            dry_run: o.dry_run,
        })
    }
}
