//! Step 7: each record next to what the last run remembered of it. Three rules, in
//! this order:
//! - hysteresis: a resource in breach last run stays in breach until it falls the
//!   recovery margin below the threshold, so one hovering at 80 % does not flap;
//! - forecast: an OK resource whose trend reaches the critical threshold within the
//!   horizon is a WARNING;
//! - change: what the alert says, compared with what the last *delivered* alert said
//!   (not the last run), so an alert that failed to go out is told again next run.

use super::trend::{trend, Trend};
use super::{rank_and_count, Calculated};
use crate::domain::report::{
    Change, GoneResource, OverlapGroup, PreviousRun, RecordHistory, ResourceRecord, RunHistory,
    Timestamp,
};
use crate::domain::state::{
    conflict_key, key_scope, resource_key, LastRun, ResourceHistory, Sample, State, Told,
    MAX_SAMPLES, SAMPLE_SPACING_SECS, STATE_VERSION,
};
use crate::domain::thresholds::{round_percent, Reason, Rule, Status};
use std::collections::HashMap;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HistoryRules {
    /// A resource still in breach is told again after this long.
    pub remind_after_secs: u64,
    /// Percentage points under a threshold a resource must fall to leave it.
    pub recovery_margin_points: f64,
    /// An OK resource forecast to reach critical within this many days is a WARNING;
    /// `None`: no forecast rule (the trend is still reported).
    pub forecast_horizon_days: Option<f64>,
}

impl Default for HistoryRules {
    fn default() -> Self {
        HistoryRules {
            remind_after_secs: 24 * 3600,
            recovery_margin_points: 2.0,
            forecast_horizon_days: Some(30.0),
        }
    }
}

/// Which run is remembering.
#[derive(Debug, Clone, Copy)]
pub struct RunMark<'a> {
    pub now: Timestamp,
    pub run_id: &'a str,
    pub request_id: Option<&'a str>,
}

/// Applies the previous state to the records and returns the state to save. Resources
/// not seen this run are kept when `scope_read(account, region)` says their scope was
/// not read completely, and dropped otherwise (told as gone if they were in breach).
/// The returned state's `told` marks are the previous ones: [`mark_told`] moves
/// them once the alert is delivered.
pub fn remember(
    calculated: &mut Calculated,
    mut previous: State,
    scope_read: impl Fn(&str, &str) -> bool,
    run: RunMark<'_>,
    rules: &HistoryRules,
) -> State {
    let now = run.now.unix_seconds();
    let mut history = RunHistory {
        previous_run: previous.last_run.as_ref().map(|r| PreviousRun {
            run_id: r.run_id.clone(),
            at: Timestamp::from_unix_seconds(r.at),
        }),
        retried_request: run.request_id.is_some()
            && previous
                .last_run
                .as_ref()
                .and_then(|r| r.request_id.as_deref())
                == run.request_id,
        ..RunHistory::default()
    };
    if history.retried_request {
        history.already_delivered = previous
            .last_run
            .as_ref()
            .map(|r| r.delivered.clone())
            .unwrap_or_default();
    }
    let mut next = State {
        version: STATE_VERSION,
        last_run: Some(LastRun {
            run_id: run.run_id.to_string(),
            request_id: run.request_id.map(str::to_string),
            at: now,
            delivered: Vec::new(),
        }),
        resources: HashMap::with_capacity_and_hasher(
            calculated.resources.len(),
            Default::default(),
        ),
        conflicts: Default::default(),
    };
    for record in &mut calculated.resources {
        let key = resource_key(record);
        // Taken out, so the old and new state never both hold the whole estate; the
        // old key is kept, so a known resource costs no new allocation.
        let (key, before) = match previous.resources.remove_entry(&key) {
            Some((old_key, before)) => (old_key, Some(before)),
            None => (key, None),
        };
        let (entry, change) = update(record, before, now, rules);
        if let Some(c) = change {
            history.changes.add(c);
        }
        next.resources.insert(key, entry);
    }
    for (key, old) in std::mem::take(&mut previous.resources) {
        let read = key_scope(&key).is_some_and(|(account, region)| scope_read(account, region));
        if !read {
            next.resources.insert(key, old);
        } else if let Some(told) = old.told.filter(|t| t.status.is_breach()) {
            history.changes.add(Change::Recovered);
            history.gone.push(GoneResource {
                key,
                last_status: told.status,
            });
        }
    }
    // The map's order is arbitrary; the report's is not.
    history.gone.sort_by(|a, b| a.key.cmp(&b.key));
    for group in calculated.overlaps.iter_mut().filter(|g| g.alerts()) {
        let mut group_change = None;
        for c in group.conflicts.iter().filter(|c| c.accepted_by.is_none()) {
            let key = conflict_key(c);
            let told = previous.conflicts.remove(&key);
            let pair = match told {
                None => Some(Change::NewWarning),
                Some(t) if now.saturating_sub(t.at) >= rules.remind_after_secs => {
                    Some(Change::Reminder)
                }
                Some(_) => None,
            };
            // One new pair makes the group new; otherwise it is due or quiet.
            group_change = match (group_change, pair) {
                (Some(Change::NewWarning), _) | (_, Some(Change::NewWarning)) => {
                    Some(Change::NewWarning)
                }
                (a, b) => a.or(b),
            };
            if let Some(t) = told {
                next.conflicts.insert(key, t);
            }
        }
        group.change = group_change;
        if group_change == Some(Change::NewWarning) {
            history.changes.new_conflicts += 1;
        }
    }
    calculated.history = Some(history);
    rank_and_count(calculated);
    next
}

/// One record against its previous entry: adjusts its status and reasons, fills its
/// `history`, and returns its next entry and what the alert says of it.
fn update(
    record: &mut ResourceRecord,
    before: Option<ResourceHistory>,
    now: u64,
    rules: &HistoryRules,
) -> (ResourceHistory, Option<Change>) {
    let (last_status, since, told, mut samples) = match before {
        Some(b) => (Some(b.status), b.since, b.told, b.samples),
        None => (None, now, None, Vec::new()),
    };
    if let Some(p) = record.utilization_percent {
        add_sample(&mut samples, Sample::new(now, p));
    }
    let trend = trend(&samples);
    if let Some(last) = last_status {
        hold_in_breach(record, last, rules.recovery_margin_points);
        hold_prefix_breach(record, last);
    }
    if let (Some(t), Some(horizon)) = (trend, rules.forecast_horizon_days) {
        forecast_warning(record, &t, horizon);
    }
    let told_status = told.map_or(Status::Ok, |t| t.status);
    let change = change(
        told_status,
        alert_status(record),
        told.map(|t| t.at),
        now,
        rules,
    );
    let since = if last_status == Some(record.status) {
        since
    } else {
        now
    };
    record.history = Some(Box::new(RecordHistory {
        status_since: Timestamp::from_unix_seconds(since),
        change,
        growth_points_per_day: trend.map(|t| round_percent(t.points_per_day) as f32),
        days_to_exhaustion: trend
            .and_then(|t| t.days_until(100.0))
            .map(|d| one_decimal(d) as f32),
        samples: u8::try_from(samples.len()).unwrap_or(u8::MAX),
    }));
    let entry = ResourceHistory {
        status: record.status,
        since,
        told,
        samples,
    };
    (entry, change)
}

/// Appends `s`, keeping at most [`MAX_SAMPLES`]. The newest sample is provisional: it
/// stays only once it is [`SAMPLE_SPACING_SECS`] after the one before it, and is
/// replaced by the next run until then, so kept samples are evenly spread.
fn add_sample(samples: &mut Vec<Sample>, s: Sample) {
    let n = samples.len();
    let too_close = n >= 2
        && samples[n - 1]
            .unix_seconds()
            .saturating_sub(samples[n - 2].unix_seconds())
            < SAMPLE_SPACING_SECS;
    if too_close {
        samples[n - 1] = s;
        return;
    }
    // Oldest out before the newest in, so a full series never grows its allocation
    // (a push first would double it, at 100k resources 14 MB).
    let excess = (samples.len() + 1).saturating_sub(MAX_SAMPLES);
    samples.drain(..excess);
    samples.push(s);
}

/// Hysteresis: a resource that was WARNING or CRITICAL last run keeps that status
/// while its utilization is within `margin` points under the threshold.
fn hold_in_breach(record: &mut ResourceRecord, last: Status, margin: f64) {
    let Some(used) = record.utilization_percent else {
        return;
    };
    if !last.is_breach() || record.status >= last || record.status == Status::Unknown {
        return;
    }
    let threshold = match last {
        Status::Critical => record.thresholds.critical_percent,
        _ => record.thresholds.warning_percent,
    };
    let floor = threshold - margin;
    if used >= floor {
        let detail = format!(
            "{used}% is within {margin} points under {} {threshold}%: stays {last} until under {}%",
            level_name(last),
            round_percent(floor)
        );
        raise(record, last, Rule::Hysteresis, detail);
    } else if last == Status::Critical {
        // Out of CRITICAL; it may still be held at WARNING.
        hold_in_breach(record, Status::Warning, margin);
    }
}

/// Free /28 blocks a subnet needs above its floor to recover from a prefix breach:
/// pods come and go every minute, and one block either way must not alert twice.
pub const PREFIX_RECOVERY_MARGIN: u32 = 1;

/// Hysteresis for the /28 floor: a subnet that was in breach last run stays WARNING
/// while it has no more than [`PREFIX_RECOVERY_MARGIN`] blocks above its floor; and
/// one whose map could not be read this run keeps WARNING, its headroom being unknown
/// rather than recovered.
fn hold_prefix_breach(record: &mut ResourceRecord, last: Status) {
    let Some(floor) = record.thresholds.min_free_prefixes else {
        return;
    };
    if !last.is_breach() || record.status >= Status::Warning {
        return;
    }
    let detail = match record.address_map() {
        Some(map) => {
            let until = u32::from(floor).saturating_add(PREFIX_RECOVERY_MARGIN);
            if map.free_prefixes > until {
                return;
            }
            format!(
                "{} free /28 blocks is within {PREFIX_RECOVERY_MARGIN} of floor {floor}: stays WARNING until more than {until}",
                map.free_prefixes
            )
        }
        None if record.map_unread() => {
            "address map not read this run: stays WARNING until it is read".to_string()
        }
        None => return,
    };
    raise(record, Status::Warning, Rule::Hysteresis, detail);
}

/// Forecast: an OK resource whose growth reaches critical within `horizon` days.
fn forecast_warning(record: &mut ResourceRecord, trend: &Trend, horizon: f64) {
    if record.status != Status::Ok {
        return;
    }
    let critical = record.thresholds.critical_percent;
    let Some(days) = trend.days_until(critical) else {
        return;
    };
    if days > horizon {
        return;
    }
    let full = trend
        .days_until(100.0)
        .map(|d| format!(", full in ~{}", days_text(d)))
        .unwrap_or_default();
    let detail = format!(
        "critical {critical}% in ~{}{full} at +{} points/day",
        days_text(days),
        round_percent(trend.points_per_day)
    );
    raise(record, Status::Warning, Rule::Forecast, detail);
}

/// "~12 days", "<1 day": how a person reads a forecast.
pub fn days_text(days: f64) -> String {
    if days < 1.0 {
        "<1 day".to_string()
    } else if days < 1.5 {
        "1 day".to_string()
    } else {
        format!("{} days", days.round())
    }
}

fn level_name(s: Status) -> &'static str {
    match s {
        Status::Critical => "critical",
        _ => "warning",
    }
}

fn raise(record: &mut ResourceRecord, status: Status, rule: Rule, detail: String) {
    record.status = record.status.max(status);
    let mut reasons = std::mem::take(&mut record.reasons).into_vec();
    reasons.push(Reason { rule, detail });
    record.reasons = reasons.into_boxed_slice();
}

/// The status the alert speaks of: an acknowledged resource is as good as OK.
fn alert_status(record: &ResourceRecord) -> Status {
    if record.suppressed.is_some() {
        Status::Ok
    } else {
        record.status
    }
}

/// What the alert says of a resource the last delivered alert called `told` (OK when
/// it never spoke of it) at `told_at`, now `status`. UNKNOWN tells nothing: a resource
/// that cannot be measured has neither recovered nor broken.
fn change(
    told: Status,
    status: Status,
    told_at: Option<u64>,
    now: u64,
    rules: &HistoryRules,
) -> Option<Change> {
    use Status::{Critical, Ok, Unknown, Warning};
    match (told, status) {
        (_, Unknown) => None,
        (Ok | Unknown, Critical) => Some(Change::NewCritical),
        (Ok | Unknown, Warning) => Some(Change::NewWarning),
        (Warning, Critical) => Some(Change::Escalated),
        (Critical, Warning) => Some(Change::Eased),
        (Warning | Critical, Ok) => Some(Change::Recovered),
        (Warning, Warning) | (Critical, Critical) => {
            let due = told_at.is_none_or(|at| now.saturating_sub(at) >= rules.remind_after_secs);
            due.then_some(Change::Reminder)
        }
        (Ok | Unknown, Ok) => None,
    }
}

fn one_decimal(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

/// Records in `state` that the alert about `calculated` was delivered at `now`: each
/// changed resource's `told` becomes its current alert status (none once recovered),
/// and each routing overlap it named is told.
pub fn mark_told(
    state: &mut State,
    records: &[ResourceRecord],
    overlaps: &[OverlapGroup],
    now: Timestamp,
) {
    let at = now.unix_seconds();
    for group in overlaps.iter().filter(|g| g.change.is_some()) {
        for c in group.conflicts.iter().filter(|c| c.accepted_by.is_none()) {
            state.conflicts.insert(
                conflict_key(c),
                Told {
                    status: Status::Warning,
                    at,
                },
            );
        }
    }
    for r in records {
        let changed = r.history.as_ref().is_some_and(|h| h.change.is_some());
        if !changed {
            continue;
        }
        if let Some(entry) = state.resources.get_mut(&resource_key(r)) {
            let status = alert_status(r);
            entry.told = status.is_breach().then_some(Told { status, at });
        }
    }
}
