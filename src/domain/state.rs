//! What one run remembers for the next: per resource, the last status, since when,
//! what on-call was last told, and a short utilization series for the trend. Plain
//! data; the store adapter reads and writes it, the calculator updates it.

use crate::domain::report::{OverlapConflict, ResourceRecord};
use crate::domain::thresholds::Status;
use rustc_hash::FxBuildHasher;
use serde::Serializer;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};

/// Bumped when the shape changes; a state of another version is read as no state.
pub const STATE_VERSION: u32 = 1;

/// A sample is kept at least this far from the one before it, so that the samples
/// cover a week whatever the schedule; the newest sample is always the latest run's.
pub const SAMPLE_SPACING_SECS: u64 = 12 * 3600;
/// Samples kept per resource: a week at the spacing above (each costs 8 bytes per
/// resource in memory, 1.8 MB at 111,000 resources).
pub const MAX_SAMPLES: usize = 14;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct State {
    pub version: u32,
    /// The run that wrote this state.
    pub last_run: Option<LastRun>,
    /// Keyed by [`resource_key`]. A hash map, one allocation for its table: a B-tree
    /// built from sorted input leaves its nodes half full, and at 100k resources their
    /// freed pieces stay in the process's memory. Written sorted, so the object
    /// compresses well and two states diff.
    #[serde(serialize_with = "sorted")]
    pub resources: HashMap<String, ResourceHistory, FxBuildHasher>,
    /// Routing overlaps the last delivered alert named, by [`conflict_key`].
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub conflicts: BTreeMap<String, Told>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LastRun {
    pub run_id: String,
    /// The Lambda request id: a retried invocation has the same one.
    pub request_id: Option<String>,
    /// Unix seconds.
    pub at: u64,
    /// The sinks that run delivered: a retry of the same request skips them.
    #[serde(default)]
    pub delivered: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResourceHistory {
    /// The status the last run gave it (after hysteresis and forecast).
    pub status: Status,
    /// Unix seconds: when it got that status.
    pub since: u64,
    /// What the last delivered alert said of it; none = never told, or told it recovered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub told: Option<Told>,
    /// Oldest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub samples: Vec<Sample>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Told {
    pub status: Status,
    /// Unix seconds.
    pub at: u64,
}

/// A utilization reading: minutes since the epoch and hundredths of a percent, written
/// as `[minute, basis_points]` (8 bytes in memory, ~16 in JSON, for 100k resources).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "(u32, u16)", into = "(u32, u16)")]
pub struct Sample {
    pub minute: u32,
    pub basis_points: u16,
}

impl Sample {
    pub fn new(unix_seconds: u64, percent: f64) -> Sample {
        Sample {
            minute: u32::try_from(unix_seconds / 60).unwrap_or(u32::MAX),
            // `as` saturates: a percent outside 0..=655.35 cannot come from a record.
            basis_points: (percent * 100.0).round() as u16,
        }
    }

    pub fn unix_seconds(self) -> u64 {
        u64::from(self.minute) * 60
    }

    pub fn percent(self) -> f64 {
        f64::from(self.basis_points) / 100.0
    }
}

impl From<(u32, u16)> for Sample {
    fn from((minute, basis_points): (u32, u16)) -> Sample {
        Sample {
            minute,
            basis_points,
        }
    }
}

impl From<Sample> for (u32, u16) {
    fn from(s: Sample) -> (u32, u16) {
        (s.minute, s.basis_points)
    }
}

/// A map written as a JSON object in key order.
fn sorted<S: Serializer, V: Serialize>(
    map: &HashMap<String, V, FxBuildHasher>,
    s: S,
) -> Result<S::Ok, S::Error> {
    let mut entries: Vec<(&String, &V)> = map.iter().collect();
    entries.sort_unstable_by(|a, b| a.0.cmp(b.0));
    s.collect_map(entries)
}

/// A resource is known across runs by its kind, account, region and id.
pub fn resource_key(r: &ResourceRecord) -> String {
    format!(
        "{}/{}/{}/{}",
        r.resource_type.as_str(),
        r.account_id,
        r.region,
        r.resource_id
    )
}

/// The account and region of a [`resource_key`], to tell whether its scope was read.
pub fn key_scope(key: &str) -> Option<(&str, &str)> {
    let mut parts = key.splitn(4, '/');
    let _kind = parts.next()?;
    Some((parts.next()?, parts.next()?))
}

/// A routing overlap is known across runs by its two VPCs (in the order the report
/// gives them, which is sorted) and their CIDRs.
pub fn conflict_key(c: &OverlapConflict) -> String {
    format!(
        "{}|{}|{}|{}",
        c.vpc_ids[0], c.cidrs[0], c.vpc_ids[1], c.cidrs[1]
    )
}

/// `theirs` (written by another run after this one read the state) folded into `ours`:
/// resources only they saw are kept; for both, ours stands, with the samples of both
/// and the later `told`, so neither run's alert is told twice nor its history lost.
pub fn merge(mut ours: State, theirs: State) -> State {
    for (key, t) in theirs.resources {
        match ours.resources.get_mut(&key) {
            None => {
                ours.resources.insert(key, t);
            }
            Some(o) => {
                o.told = later(o.told, t.told);
                let mut samples = std::mem::take(&mut o.samples);
                samples.extend(t.samples);
                samples.sort_by_key(|s| s.minute);
                samples.dedup_by_key(|s| s.minute);
                let excess = samples.len().saturating_sub(MAX_SAMPLES);
                samples.drain(..excess);
                o.samples = samples;
            }
        }
    }
    for (key, t) in theirs.conflicts {
        let merged = later(ours.conflicts.get(&key).copied(), Some(t));
        if let Some(m) = merged {
            ours.conflicts.insert(key, m);
        }
    }
    ours
}

fn later(a: Option<Told>, b: Option<Told>) -> Option<Told> {
    match (a, b) {
        (Some(a), Some(b)) => Some(if b.at > a.at { b } else { a }),
        (a, b) => a.or(b),
    }
}
