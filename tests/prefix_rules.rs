//! The /28 floor (`MIN_FREE_PREFIXES`), pure: where it applies, and its hysteresis
//! from one run to the next. Address maps are given as the source hands them over.

use ipam_monitor::domain::addresses::{AddressMap, MappedSubnet};
use ipam_monitor::domain::calculator::{calculate, mark_told, remember, HistoryRules, RunMark};
use ipam_monitor::domain::inventory::{Inventory, Subnet, Tags};
use ipam_monitor::domain::report::{Calculated, Change, ResourceRecord, Timestamp};
use ipam_monitor::domain::state::State;
use ipam_monitor::domain::thresholds::{Rule, Status, ThresholdSource, Thresholds};

const HOUR: u64 = 3600;
/// 2026-12-01T00:00:00Z.
const T0: u64 = 1_796_083_200;
const REGION: &str = "us-east-1";
const CLUSTER_TAG: (&str, &str) = ("kubernetes.io/cluster/prod", "owned");

/// A subnet of `cidr` with 2 addresses in use and these tags.
fn subnet(id: &str, cidr: &str, tags: &[(&str, &str)]) -> Subnet {
    let net: ipnet::IpNet = cidr.parse().unwrap();
    let usable = (1i64 << (32 - net.prefix_len())) - 5;
    Subnet {
        id: id.into(),
        vpc_id: "vpc-1".into(),
        account_id: "111111111111".into(),
        region: REGION.into(),
        availability_zone: "us-east-1a".into(),
        ipv4_cidr: Some(net),
        ipv6_cidrs: vec![],
        available_ips: Some(usable - 2),
        tags: tags.iter().copied().collect::<Tags>(),
        warnings: vec![],
    }
}

/// The map of subnet `id` with `free` free /28s; `None`: its sweep failed.
fn mapped(id: &str, free: Option<u32>) -> (ipam_monitor::domain::text::Text, MappedSubnet) {
    let map = free.map(|free_prefixes| AddressMap {
        free_prefixes,
        ..AddressMap::default()
    });
    let warnings = match map {
        Some(_) => vec![],
        None => vec!["address map not read: DescribeNetworkInterfaces failed (see errors)".into()],
    };
    (
        REGION.into(),
        MappedSubnet {
            subnet_id: id.into(),
            map,
            warnings,
        },
    )
}

fn floor(n: u16) -> Thresholds {
    Thresholds {
        min_free_prefixes: Some(n),
        ..Thresholds::default()
    }
}

fn record<'a>(c: &'a Calculated, id: &str) -> &'a ResourceRecord {
    c.resources.iter().find(|r| r.resource_id == id).unwrap()
}

#[test]
fn the_floor_applies_to_cluster_subnets_and_to_subnets_tagged_with_it() {
    // Three /28s with no free /28 (as every /28 subnet: AWS's reserved addresses sit
    // in it): a Transit Gateway attachment subnet, a cluster's, and one tagged.
    let inv = Inventory {
        subnets: vec![
            subnet("subnet-tgw", "10.0.0.0/28", &[]),
            subnet("subnet-eks", "10.0.0.16/28", &[CLUSTER_TAG]),
            subnet(
                "subnet-own",
                "10.0.0.32/28",
                &[("ipam-monitor:min-free-prefixes", "0")],
            ),
        ],
        subnet_maps: vec![
            mapped("subnet-tgw", Some(0)),
            mapped("subnet-eks", Some(0)),
            mapped("subnet-own", Some(0)),
        ],
        ..Inventory::default()
    };
    let c = calculate(inv, &floor(1), ThresholdSource::Config);
    let tgw = record(&c, "subnet-tgw");
    assert_eq!(
        (tgw.status, tgw.thresholds.min_free_prefixes),
        (Status::Ok, None)
    );
    let eks = record(&c, "subnet-eks");
    assert_eq!(
        (eks.status, eks.thresholds.min_free_prefixes),
        (Status::Warning, Some(1))
    );
    assert_eq!(eks.reasons[0].rule, Rule::MinFreePrefixes);
    assert_eq!(
        eks.reasons[0].detail,
        "0 free aligned /28 blocks <= floor 1 (EKS prefix delegation needs them)"
    );
    // Its own tag sets the floor, here 0: 0 free is at it.
    let own = record(&c, "subnet-own");
    assert_eq!(
        (own.status, own.thresholds.min_free_prefixes),
        (Status::Warning, Some(0))
    );
}

/// A run at `at` of the cluster subnet (a /24, 2 of 251 used: under 1 %, so only the
/// /28 floor of 2 can make it WARNING) with `free` free /28s, after `previous`.
fn run(free: Option<u32>, previous: State, at: u64) -> (Calculated, State) {
    let inv = Inventory {
        subnets: vec![subnet("subnet-1", "10.0.0.0/24", &[CLUSTER_TAG])],
        subnet_maps: vec![mapped("subnet-1", free)],
        ..Inventory::default()
    };
    let mut c = calculate(inv, &floor(2), ThresholdSource::Config);
    let run_id = format!("run-{at}");
    let mark = RunMark {
        now: Timestamp::from_unix_seconds(at),
        run_id: &run_id,
        request_id: Some(&run_id),
    };
    let mut state = remember(
        &mut c,
        previous,
        |_, _| true,
        mark,
        &HistoryRules::default(),
    );
    mark_told(
        &mut state,
        &c.resources,
        &c.overlaps,
        Timestamp::from_unix_seconds(at),
    );
    (c, state)
}

fn seen(c: &Calculated) -> (Status, Option<Rule>, Option<Change>) {
    let r = record(c, "subnet-1");
    let rule = r.reasons.last().map(|x| x.rule);
    (r.status, rule, r.history.as_ref().unwrap().change)
}

#[test]
fn a_prefix_breach_recovers_past_its_margin_and_never_while_the_map_is_unread() {
    let (first, state) = run(Some(2), State::default(), T0);
    assert_eq!(
        seen(&first),
        (
            Status::Warning,
            Some(Rule::MinFreePrefixes),
            Some(Change::NewWarning)
        )
    );
    // One block more (3 = floor 2 + margin 1): still WARNING, nothing new to tell.
    let (second, state) = run(Some(3), state, T0 + HOUR);
    assert_eq!(
        seen(&second),
        (Status::Warning, Some(Rule::Hysteresis), None)
    );
    // The sweep failed: the headroom is unknown, not recovered.
    let (third, state) = run(None, state, T0 + 2 * HOUR);
    assert_eq!(
        seen(&third),
        (Status::Warning, Some(Rule::Hysteresis), None)
    );
    let why = &record(&third, "subnet-1").reasons[0].detail;
    assert!(why.contains("not read"), "{why}");
    // Four free, past the margin: recovered.
    let (fourth, _) = run(Some(4), state, T0 + 3 * HOUR);
    assert_eq!(seen(&fourth), (Status::Ok, None, Some(Change::Recovered)));
}
