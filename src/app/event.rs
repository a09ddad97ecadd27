//! The invocation event: an EventBridge schedule, or a direct invocation whose body may
//! override thresholds and regions for one run.

use crate::app::config::{self, Config, RegionSelection};
use crate::domain::thresholds::{ThresholdSource, Thresholds};
use serde_json::{Map, Value};
use std::fmt;

pub const DIRECT_FIELDS: &[&str] = &[
    "warning_percent",
    "critical_percent",
    "min_free_addresses",
    "regions",
    "dry_run",
];

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
    pub regions: Option<RegionSelection>,
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

fn err(field: &str, value: &Value, problem: impl Into<String>) -> EventError {
    EventError {
        field: field.to_string(),
        value: value.to_string(),
        problem: problem.into(),
    }
}

pub fn parse_event(event: &Value) -> Result<Invocation, EventError> {
    let obj = match event {
        // `aws lambda invoke` with no payload and `cargo lambda invoke` without data.
        Value::Null => &Map::new(),
        Value::Object(o) => o,
        other => return Err(err("(event)", other, "expected a JSON object")),
    };
    if obj.contains_key("detail-type") {
        return parse_scheduled(obj);
    }
    let mut o = Overrides::default();
    for (key, value) in obj {
        match key.as_str() {
            "warning_percent" => o.warning_percent = Some(percent(key, value)?),
            "critical_percent" => o.critical_percent = Some(percent(key, value)?),
            "min_free_addresses" => {
                o.min_free_addresses = Some(
                    value
                        .as_u64()
                        .ok_or_else(|| err(key, value, "expected a whole number, 0 or more"))?,
                )
            }
            "regions" => o.regions = Some(regions(key, value)?),
            "dry_run" => {
                o.dry_run = value
                    .as_bool()
                    .ok_or_else(|| err(key, value, "expected true or false"))?
            }
            _ => {
                return Err(err(
                    key,
                    value,
                    format!(
                        "unknown field; a direct invocation accepts {}",
                        DIRECT_FIELDS.join(", ")
                    ),
                ))
            }
        }
    }
    Ok(Invocation {
        trigger: Trigger::Direct,
        overrides: o,
    })
}

fn parse_scheduled(obj: &Map<String, Value>) -> Result<Invocation, EventError> {
    let source = obj.get("source").unwrap_or(&Value::Null);
    if source.as_str() != Some("aws.events") {
        return Err(err(
            "source",
            source,
            "an event with detail-type must come from EventBridge (source \"aws.events\")",
        ));
    }
    let id = match obj.get("id") {
        None => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(v) => return Err(err("id", v, "expected a string")),
    };
    Ok(Invocation {
        trigger: Trigger::Scheduled { id },
        overrides: Overrides::default(),
    })
}

fn percent(field: &str, value: &Value) -> Result<f64, EventError> {
    let p = value
        .as_f64()
        .ok_or_else(|| err(field, value, "expected a number"))?;
    if p > 0.0 && p <= 100.0 {
        Ok(p)
    } else {
        Err(err(
            field,
            value,
            "expected a percentage above 0 and at most 100",
        ))
    }
}

fn regions(field: &str, value: &Value) -> Result<RegionSelection, EventError> {
    let text = match value {
        Value::String(s) => s.clone(),
        Value::Array(items) => {
            let names: Option<Vec<&str>> = items.iter().map(Value::as_str).collect();
            names
                .ok_or_else(|| err(field, value, "expected a list of region names"))?
                .join(",")
        }
        _ => {
            return Err(err(
                field,
                value,
                "expected \"all\", a region name, or a list of region names",
            ))
        }
    };
    config::parse_regions(field, &text).map_err(|e| err(field, value, e.allowed))
}

impl Invocation {
    /// The settings of this run: configuration, then event overrides.
    pub fn settings(&self, config: &Config) -> Result<RunSettings, EventError> {
        let o = &self.overrides;
        let mut t = config.thresholds;
        let overridden = o.warning_percent.is_some()
            || o.critical_percent.is_some()
            || o.min_free_addresses.is_some();
        t.warning_percent = o.warning_percent.unwrap_or(t.warning_percent);
        t.critical_percent = o.critical_percent.unwrap_or(t.critical_percent);
        t.min_free_addresses = o.min_free_addresses.or(t.min_free_addresses);
        if t.warning_percent > t.critical_percent {
            let field = if o.warning_percent.is_some() {
                "warning_percent"
            } else {
                "critical_percent"
            };
            let value = if o.warning_percent.is_some() {
                t.warning_percent
            } else {
                t.critical_percent
            };
            return Err(err(
                field,
                &Value::from(value),
                format!(
                    "warning ({}) must not be above critical ({})",
                    t.warning_percent, t.critical_percent
                ),
            ));
        }
        let regions = o.regions.clone().unwrap_or_else(|| config.regions.clone());
        if regions == RegionSelection::Own && config.own_region.is_none() {
            return Err(err(
                "regions",
                &Value::Null,
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
            dry_run: o.dry_run,
        })
    }
}
