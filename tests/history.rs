//! The calculator's memory, pure: what changed since the last alert, reminders,
//! hysteresis, the trend and forecast, gone resources and retries. Every figure here
//! is worked out by hand in the comments.

use ipam_monitor::domain::calculator::{
    calculate, mark_told, remember, Calculated, HistoryRules, RunMark,
};
use ipam_monitor::domain::inventory::{Inventory, Subnet, Tags, Vpc};
use ipam_monitor::domain::report::{Change, ResourceRecord, Timestamp};
use ipam_monitor::domain::state::{
    merge, resource_key, ResourceHistory, Sample, State, Told, MAX_SAMPLES,
};
use ipam_monitor::domain::thresholds::{Rule, Status, ThresholdSource, Thresholds};
use ipam_monitor::store::codec::{decode_state, encode_state};

const HOUR: u64 = 3600;
const DAY: u64 = 24 * HOUR;
/// 2026-12-01T00:00:00Z.
const T0: u64 = 1_796_083_200;
const ACCOUNT: &str = "111111111111";
const REGION: &str = "us-east-1";

/// One VPC with one /24 subnet (251 usable addresses) of which `used` are in use.
fn estate(used: i64) -> Inventory {
    Inventory {
        vpcs: vec![Vpc {
            id: "vpc-1".into(),
            account_id: ACCOUNT.into(),
            region: REGION.into(),
            is_default: false,
            ipv4_blocks: vec!["10.0.0.0/16".parse().unwrap()],
            ipv6_blocks: vec![],
            tags: Tags::new(),
            warnings: vec![],
        }],
        subnets: vec![Subnet {
            id: "subnet-1".into(),
            vpc_id: "vpc-1".into(),
            account_id: ACCOUNT.into(),
            region: REGION.into(),
            availability_zone: "us-east-1a".into(),
            ipv4_cidr: Some("10.0.0.0/24".parse().unwrap()),
            ipv6_cidrs: vec![],
            available_ips: Some(251 - used),
            tags: Tags::new(),
            warnings: vec![],
        }],
        ..Inventory::default()
    }
}

/// A run at `at` over `inv`, whose alert is delivered: the state it leaves.
struct Run {
    calculated: Calculated,
    state: State,
}

fn run_with(inv: Inventory, previous: State, at: u64, run_id: &str, rules: &HistoryRules) -> Run {
    let mut calculated = calculate(inv, &Thresholds::default(), ThresholdSource::Config);
    let mark = RunMark {
        now: Timestamp::from_unix_seconds(at),
        run_id,
        request_id: Some(run_id),
    };
    let mut state = remember(&mut calculated, previous, |_, _| true, mark, rules);
    mark_told(
        &mut state,
        &calculated.resources,
        &calculated.overlaps,
        Timestamp::from_unix_seconds(at),
    );
    Run { calculated, state }
}

fn run(used: i64, previous: State, at: u64) -> Run {
    run_with(
        estate(used),
        previous,
        at,
        &format!("run-{at}"),
        &HistoryRules::default(),
    )
}

fn subnet(c: &Calculated) -> &ResourceRecord {
    c.resources
        .iter()
        .find(|r| r.resource_id == "subnet-1")
        .expect("the subnet has a record")
}

fn change(c: &Calculated) -> Option<Change> {
    subnet(c).history.as_ref().unwrap().change
}

#[test]
fn a_breach_is_told_once_then_reminded_after_a_day() {
    // 240 of 251 used = 95.62 %: CRITICAL.
    let first = run(240, State::default(), T0);
    assert_eq!(subnet(&first.calculated).status, Status::Critical);
    assert_eq!(change(&first.calculated), Some(Change::NewCritical));
    let h = first.calculated.history.as_ref().unwrap();
    // The VPC's figures are its one subnet's: it is new CRITICAL too.
    assert_eq!(h.changes.new_critical, 2);
    assert!(h.previous_run.is_none(), "a first run has no previous run");

    // Unchanged an hour and 23 hours later: nothing to tell.
    let second = run(240, first.state, T0 + HOUR);
    assert_eq!(change(&second.calculated), None);
    let third = run(241, second.state, T0 + 23 * HOUR);
    assert_eq!(change(&third.calculated), None);
    assert_eq!(
        third.calculated.history.as_ref().unwrap().changes.total(),
        0
    );
    // A day after the alert: a reminder; the next hour, quiet again.
    let fourth = run(241, third.state, T0 + DAY);
    assert_eq!(change(&fourth.calculated), Some(Change::Reminder));
    let fifth = run(241, fourth.state, T0 + DAY + HOUR);
    assert_eq!(change(&fifth.calculated), None);
    // The status has held since the first run.
    let since = subnet(&fifth.calculated)
        .history
        .as_ref()
        .unwrap()
        .status_since;
    assert_eq!(since.unix_seconds(), T0);
}

#[test]
fn escalation_easing_and_recovery_are_each_told() {
    // 201/251 = 80.08 % WARNING; 240/251 = 95.62 % CRITICAL; 230/251 = 91.63 % WARNING;
    // 100/251 = 39.84 % OK.
    let w = run(201, State::default(), T0);
    assert_eq!(change(&w.calculated), Some(Change::NewWarning));
    let c = run(240, w.state, T0 + HOUR);
    assert_eq!(change(&c.calculated), Some(Change::Escalated));
    let eased = run(230, c.state, T0 + 2 * HOUR);
    assert_eq!(subnet(&eased.calculated).status, Status::Warning);
    assert_eq!(change(&eased.calculated), Some(Change::Eased));
    let ok = run(100, eased.state, T0 + 3 * HOUR);
    assert_eq!(subnet(&ok.calculated).status, Status::Ok);
    assert_eq!(change(&ok.calculated), Some(Change::Recovered));
    // Told it recovered: a new breach is new again.
    let again = run(240, ok.state, T0 + 4 * HOUR);
    assert_eq!(change(&again.calculated), Some(Change::NewCritical));
}

#[test]
fn hysteresis_holds_a_breach_until_the_margin_is_passed() {
    // 201 used = 80.08 % WARNING. 199 = 79.28 %: under 80 but within 2 points (78),
    // held at WARNING. 195 = 77.69 %: under 78, OK and recovered.
    let w = run(201, State::default(), T0);
    let held = run(199, w.state, T0 + HOUR);
    let r = subnet(&held.calculated);
    assert_eq!(r.status, Status::Warning);
    assert_eq!(r.reasons.len(), 1);
    assert_eq!(r.reasons[0].rule, Rule::Hysteresis);
    assert!(
        r.reasons[0].detail.contains("until under 78%"),
        "{}",
        r.reasons[0].detail
    );
    assert_eq!(change(&held.calculated), None, "held: nothing to tell");
    let ok = run(195, held.state, T0 + 2 * HOUR);
    assert_eq!(subnet(&ok.calculated).status, Status::Ok);
    assert_eq!(change(&ok.calculated), Some(Change::Recovered));

    // Hovering at the threshold for a day: one alert, not one an hour.
    let mut state = State::default();
    let mut told = 0;
    for hour in 0..20 {
        let used = if hour % 2 == 0 { 201 } else { 199 };
        let r = run(used, state, T0 + hour * HOUR);
        told += usize::from(change(&r.calculated).is_some());
        state = r.state;
    }
    assert_eq!(told, 1, "a resource hovering at 80% must not flap");

    // A CRITICAL held within its margin, then falling into plain WARNING: 240 used
    // = 95.62 %, 236 = 94.02 % (within 2 of 95), 230 = 91.63 % (eased).
    let c = run(240, State::default(), T0);
    let held = run(236, c.state, T0 + HOUR);
    assert_eq!(subnet(&held.calculated).status, Status::Critical);
    let eased = run(230, held.state, T0 + 2 * HOUR);
    assert_eq!(subnet(&eased.calculated).status, Status::Warning);
    assert_eq!(change(&eased.calculated), Some(Change::Eased));
}

#[test]
fn growth_gives_days_to_exhaustion_and_a_forecast_warning() {
    // Daily: 100, 110, 120 of 251 used = 39.84 %, 43.82 %, 47.81 % (stored in
    // hundredths). The least-squares slope of three evenly spaced points is
    // (last - first) / 2 days = (47.81 - 39.84) / 2 = 3.985 points a day.
    // Full: (100 - 47.81) / 3.985 = 13.097 days -> 13.1.
    // Critical 95 %: (95 - 47.81) / 3.985 = 11.84 days, inside the 30-day horizon.
    let d0 = run(100, State::default(), T0);
    let h0 = subnet(&d0.calculated).history.clone().unwrap();
    assert_eq!(h0.days_to_exhaustion, None, "one sample is no trend");
    let d1 = run(110, d0.state, T0 + DAY);
    assert_eq!(subnet(&d1.calculated).status, Status::Ok);
    assert_eq!(
        subnet(&d1.calculated)
            .history
            .as_ref()
            .unwrap()
            .days_to_exhaustion,
        None,
        "two samples are no trend"
    );
    let d2 = run(120, d1.state, T0 + 2 * DAY);
    let r = subnet(&d2.calculated);
    let h = r.history.as_ref().unwrap();
    assert_eq!(h.samples, 3);
    let growth = h.growth_points_per_day.unwrap();
    assert!(
        (f64::from(growth) - 3.985).abs() <= 0.006,
        "growth {growth}"
    );
    assert_eq!(h.days_to_exhaustion, Some(13.1f32));
    assert_eq!(r.status, Status::Warning);
    assert_eq!(r.reasons[0].rule, Rule::Forecast);
    assert!(
        r.reasons[0]
            .detail
            .starts_with("critical 95% in ~12 days, full in ~13 days"),
        "{}",
        r.reasons[0].detail
    );
    assert_eq!(h.change, Some(Change::NewWarning));

    // With the horizon at 10 days the same trend is reported but does not warn.
    let short = HistoryRules {
        forecast_horizon_days: Some(10.0),
        ..HistoryRules::default()
    };
    let mut state = State::default();
    for (day, used) in [(0, 100), (1, 110), (2, 120)] {
        state = run_with(estate(used), state, T0 + day * DAY, "r", &short).state;
    }
    let again = run_with(estate(120), state, T0 + 2 * DAY + HOUR, "r2", &short);
    let r = subnet(&again.calculated);
    assert_eq!(r.status, Status::Ok);
    assert!(r.history.as_ref().unwrap().days_to_exhaustion.is_some());
}

#[test]
fn flat_or_shrinking_use_has_no_exhaustion_date() {
    let mut state = State::default();
    for (day, used) in [(0, 120), (1, 120), (2, 120)] {
        state = run(used, state, T0 + day * DAY).state;
    }
    let flat = run(120, state, T0 + 3 * DAY);
    let h = subnet(&flat.calculated).history.clone().unwrap();
    assert_eq!(h.growth_points_per_day, Some(0.0f32));
    assert_eq!(h.days_to_exhaustion, None);

    let mut state = State::default();
    for (day, used) in [(0, 150), (1, 130), (2, 110)] {
        state = run(used, state, T0 + day * DAY).state;
    }
    let h = subnet(&run(100, state, T0 + 3 * DAY).calculated)
        .history
        .clone()
        .unwrap();
    assert!(h.growth_points_per_day.unwrap() < 0.0);
    assert_eq!(h.days_to_exhaustion, None);
}

#[test]
fn hourly_runs_keep_a_bounded_evenly_spread_series() {
    let mut state = State::default();
    for hour in 0..(30 * 24) {
        state = run(100, state, T0 + hour * HOUR).state;
    }
    let key = format!("subnet/{ACCOUNT}/{REGION}/subnet-1");
    let samples = &state.resources[&key].samples;
    assert_eq!(samples.len(), MAX_SAMPLES);
    // Every kept sample but the newest is 12 hours after the one before.
    for pair in samples[..samples.len() - 1].windows(2) {
        assert_eq!(pair[1].unix_seconds() - pair[0].unix_seconds(), 12 * HOUR);
    }
    assert_eq!(
        samples.last().unwrap().unix_seconds(),
        T0 + (30 * 24 - 1) * HOUR
    );
}

#[test]
fn a_deleted_resource_in_breach_is_told_gone_and_an_unread_one_is_kept() {
    let c = run(240, State::default(), T0);
    let key = format!("subnet/{ACCOUNT}/{REGION}/subnet-1");
    assert!(c.state.resources[&key].told.is_some());

    // The scope was read and the subnet is not there: gone, told as recovered.
    let empty = Inventory::default();
    let gone = run_with(
        empty.clone(),
        c.state.clone(),
        T0 + HOUR,
        "g",
        &HistoryRules::default(),
    );
    // The subnet and its VPC (whose figures were the subnet's) are both gone.
    let h = gone.calculated.history.as_ref().unwrap();
    let keys: Vec<&str> = h.gone.iter().map(|g| g.key.as_str()).collect();
    assert_eq!(keys, [key.as_str(), "vpc/111111111111/us-east-1/vpc-1"]);
    assert!(h.gone.iter().all(|g| g.last_status == Status::Critical));
    assert_eq!(h.changes.recovered, 2);
    assert!(!gone.state.resources.contains_key(&key));

    // The scope failed: the subnet's history is kept as it was, and nothing is told.
    let mut calculated = calculate(empty, &Thresholds::default(), ThresholdSource::Config);
    let mark = RunMark {
        now: Timestamp::from_unix_seconds(T0 + HOUR),
        run_id: "u",
        request_id: None,
    };
    let kept = remember(
        &mut calculated,
        c.state.clone(),
        |_, _| false,
        mark,
        &HistoryRules::default(),
    );
    assert_eq!(kept.resources[&key], c.state.resources[&key]);
    assert_eq!(calculated.history.unwrap().changes.total(), 0);
}

#[test]
fn an_alert_that_was_not_delivered_is_told_again() {
    let mut calculated = calculate(estate(240), &Thresholds::default(), ThresholdSource::Config);
    let mark = RunMark {
        now: Timestamp::from_unix_seconds(T0),
        run_id: "a",
        request_id: Some("a"),
    };
    // No mark_told: the SNS publish failed.
    let state = remember(
        &mut calculated,
        State::default(),
        |_, _| true,
        mark,
        &HistoryRules::default(),
    );
    let next = run(240, state, T0 + HOUR);
    assert_eq!(change(&next.calculated), Some(Change::NewCritical));
}

#[test]
fn a_retried_request_is_recognised_with_what_it_delivered() {
    let first = run_with(
        estate(240),
        State::default(),
        T0,
        "req-1",
        &HistoryRules::default(),
    );
    let mut state = first.state;
    state.last_run.as_mut().unwrap().delivered = vec!["sns".into(), "cloudwatch".into()];
    let retry = run_with(
        estate(240),
        state,
        T0 + 60,
        "req-1",
        &HistoryRules::default(),
    );
    let h = retry.calculated.history.as_ref().unwrap();
    assert!(h.retried_request);
    assert_eq!(h.already_delivered, vec!["sns", "cloudwatch"]);
    assert_eq!(change(&retry.calculated), None, "the first attempt told it");
    let other = run_with(
        estate(240),
        retry.state,
        T0 + HOUR,
        "req-2",
        &HistoryRules::default(),
    );
    assert!(!other.calculated.history.as_ref().unwrap().retried_request);
}

#[test]
fn an_acknowledged_resource_is_told_as_recovered_and_never_as_new() {
    let c = run(240, State::default(), T0);
    let mut inv = estate(240);
    inv.subnets[0]
        .tags
        .insert("ipam-monitor:suppress".into(), "full by design".into());
    let quiet = run_with(
        inv.clone(),
        c.state,
        T0 + HOUR,
        "s",
        &HistoryRules::default(),
    );
    assert_eq!(subnet(&quiet.calculated).status, Status::Critical);
    assert_eq!(change(&quiet.calculated), Some(Change::Recovered));
    let later = run_with(
        inv,
        quiet.state,
        T0 + 2 * DAY,
        "s2",
        &HistoryRules::default(),
    );
    assert_eq!(change(&later.calculated), None, "no reminder either");
}

#[test]
fn state_round_trips_and_a_foreign_version_is_refused() {
    let s = run(240, State::default(), T0).state;
    let bytes = encode_state(&s);
    assert_eq!(decode_state(&bytes).unwrap(), s);
    let mut other = s.clone();
    other.version = 99;
    let err = decode_state(&encode_state(&other)).unwrap_err();
    assert!(err.contains("version 99"), "{err}");
    let err = decode_state(b"not gzip at all").unwrap_err();
    assert!(err.contains("not readable"), "{err}");
}

#[test]
fn merging_keeps_both_runs_samples_and_the_later_told() {
    let key = "subnet/1/r/s".to_string();
    let entry = |samples: &[(u64, f64)], told: Option<Told>| ResourceHistory {
        status: Status::Warning,
        since: T0,
        told,
        samples: samples.iter().map(|&(t, p)| Sample::new(t, p)).collect(),
    };
    let mut ours = State::default();
    ours.resources.insert(
        key.clone(),
        entry(
            &[(T0, 80.0), (T0 + 2 * DAY, 82.0)],
            Some(Told {
                status: Status::Warning,
                at: T0,
            }),
        ),
    );
    let mut theirs = State::default();
    let later = Told {
        status: Status::Critical,
        at: T0 + DAY,
    };
    theirs.resources.insert(
        key.clone(),
        entry(&[(T0, 80.0), (T0 + DAY, 81.0)], Some(later)),
    );
    theirs
        .resources
        .insert("vpc/1/r/v".into(), entry(&[], None));
    let merged = merge(ours, theirs);
    let m = &merged.resources[&key];
    assert_eq!(m.told, Some(later));
    let minutes: Vec<u64> = m.samples.iter().map(|s| s.unix_seconds()).collect();
    assert_eq!(minutes, vec![T0, T0 + DAY, T0 + 2 * DAY]);
    assert!(merged.resources.contains_key("vpc/1/r/v"));
    let r = run(240, State::default(), T0);
    assert_eq!(
        resource_key(subnet(&r.calculated)),
        format!("subnet/{ACCOUNT}/{REGION}/subnet-1")
    );
}
