//! Configuration and event errors must name the field, the value and what is allowed.

use ipam_monitor::app::config::{AccountSelection, Config, FailOn, MetricsMode, RegionSelection};
use ipam_monitor::app::event::{parse_event, Trigger};
use ipam_monitor::aws::setup::{RetryMode, RetrySettings};
use ipam_monitor::domain::calculator::{AcceptedOverlap, Suppressions};
use ipam_monitor::domain::thresholds::ThresholdSource;
use serde_json::{json, Value};
use std::collections::HashMap;

fn config(pairs: &[(&str, &str)]) -> Result<Config, String> {
    let map: HashMap<String, String> = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    Config::from_lookup(|k| map.get(k).cloned()).map_err(|e| e.to_string())
}

#[test]
fn defaults_with_only_the_region_set() {
    let c = config(&[("AWS_REGION", "eu-west-1")]).unwrap();
    assert_eq!(c.thresholds.warning_percent, 80.0);
    assert_eq!(c.thresholds.critical_percent, 95.0);
    assert_eq!(c.thresholds.min_free_addresses, None);
    assert_eq!(c.regions, RegionSelection::Own);
    assert_eq!(c.own_region.as_deref(), Some("eu-west-1"));
    assert_eq!(c.metric_namespace, "IpamMonitor");
    assert_eq!(c.metrics_mode, MetricsMode::Api);
    assert!(c.sns_topic_arn.is_none() && c.downstream_functions.is_empty());
}

#[test]
fn every_setting_parses() {
    let c = config(&[
        ("AWS_REGION", "us-east-1"),
        ("WARNING_THRESHOLD_PERCENT", "70"),
        ("CRITICAL_THRESHOLD_PERCENT", "92.5%"),
        ("MIN_FREE_ADDRESSES", "16"),
        ("REGIONS", " us-east-1, eu-west-1 ,us-east-1"),
        ("METRIC_NAMESPACE", "Network/IPAM"),
        ("METRICS_MODE", "emf"),
        ("SNS_TOPIC_ARN", "arn:aws:sns:us-east-1:123456789012:ipam-alerts"),
        (
            "DOWNSTREAM_FUNCTIONS",
            "ticketer, arn:aws:lambda:us-east-1:123456789012:function:grow-vpc:live,123456789012:function:pager",
        ),
        ("MAX_CONCURRENCY", "4"),
        ("ACCOUNTS", "111111111111, 222222222222,111111111111"),
        ("MEMBER_ROLE_NAME", "IpamMonitorReadOnly"),
    ])
    .unwrap();
    assert_eq!(
        c.accounts,
        AccountSelection::List(vec!["111111111111".into(), "222222222222".into()])
    );
    assert_eq!(c.member_role_name.as_deref(), Some("IpamMonitorReadOnly"));
    assert_eq!(
        (c.thresholds.warning_percent, c.thresholds.critical_percent),
        (70.0, 92.5)
    );
    assert_eq!(c.thresholds.min_free_addresses, Some(16));
    assert_eq!(
        c.regions,
        RegionSelection::List(vec!["us-east-1".into(), "eu-west-1".into()])
    );
    assert_eq!(c.metrics_mode, MetricsMode::Emf);
    assert_eq!(c.downstream_functions.len(), 3);
    assert_eq!(c.max_concurrency, 4);
    assert_eq!(
        config(&[("REGIONS", "ALL")]).unwrap().regions,
        RegionSelection::All
    );
}

/// Environment given, and the parts the error message must contain.
type ConfigCase<'a> = (&'a [(&'a str, &'a str)], &'a [&'a str]);

#[test]
fn bad_settings_name_variable_value_and_what_is_allowed() {
    let region = ("AWS_REGION", "us-east-1");
    let cases: &[ConfigCase] = &[
        (
            &[region, ("WARNING_THRESHOLD_PERCENT", "abc")],
            &["WARNING_THRESHOLD_PERCENT", "\"abc\"", "percentage"],
        ),
        (
            &[region, ("CRITICAL_THRESHOLD_PERCENT", "150")],
            &["CRITICAL_THRESHOLD_PERCENT", "\"150\"", "at most 100"],
        ),
        (
            &[region, ("WARNING_THRESHOLD_PERCENT", "0")],
            &["WARNING_THRESHOLD_PERCENT", "\"0\""],
        ),
        (
            &[region, ("WARNING_THRESHOLD_PERCENT", "NaN")],
            &["WARNING_THRESHOLD_PERCENT", "\"NaN\""],
        ),
        (
            &[
                region,
                ("WARNING_THRESHOLD_PERCENT", "96"),
                ("CRITICAL_THRESHOLD_PERCENT", "90"),
            ],
            &[
                "WARNING_THRESHOLD_PERCENT",
                "\"96\"",
                "not above CRITICAL_THRESHOLD_PERCENT (90)",
            ],
        ),
        (
            &[region, ("MIN_FREE_ADDRESSES", "-3")],
            &["MIN_FREE_ADDRESSES", "\"-3\"", "whole number"],
        ),
        (
            &[region, ("REGIONS", "us-east-1,mars-1")],
            &["REGIONS", "\"mars-1\"", "region names"],
        ),
        (&[("REGIONS", "")], &["REGIONS", "AWS_REGION"]),
        (&[region, ("REGIONS", " , ")], &["REGIONS", "region names"]),
        (
            &[region, ("REGIONS", "us-east-001")],
            &["REGIONS", "\"us-east-001\""],
        ),
        (
            &[region, ("REGIONS", "us-east-+1")],
            &["REGIONS", "\"us-east-+1\""],
        ),
        (&[region, ("REGIONS", "us-1")], &["REGIONS", "\"us-1\""]),
        (
            &[region, ("REGIONS", "US-EAST-1")],
            &["REGIONS", "\"US-EAST-1\""],
        ),
        (
            &[region, ("AWS_MAX_ATTEMPTS", "0")],
            &["AWS_MAX_ATTEMPTS", "\"0\"", "from 1 to 20"],
        ),
        (
            &[region, ("AWS_MAX_ATTEMPTS", "abc")],
            &["AWS_MAX_ATTEMPTS", "\"abc\"", "whole number"],
        ),
        (
            &[region, ("AWS_RETRY_MODE", "foo")],
            &["AWS_RETRY_MODE", "\"foo\"", "standard or adaptive"],
        ),
        (
            &[region, ("FAIL_ON", "sometimes")],
            &["FAIL_ON", "\"sometimes\"", "sinks, any or never"],
        ),
        (
            &[region, ("EXCLUDE_ACCOUNTS", "111122223333,lab")],
            &["EXCLUDE_ACCOUNTS", "\"lab\"", "12-digit account ids"],
        ),
        (
            &[region, ("METRIC_NAMESPACE", "AWS/EC2")],
            &["METRIC_NAMESPACE", "\"AWS/EC2\"", "not starting with AWS/"],
        ),
        (
            &[region, ("METRICS_MODE", "loud")],
            &["METRICS_MODE", "\"loud\"", "api, emf or off"],
        ),
        (
            &[
                region,
                ("SNS_TOPIC_ARN", "arn:aws:sns:us-east-1:1234:alerts"),
            ],
            &["SNS_TOPIC_ARN", "1234", "12-digit account"],
        ),
        (
            &[region, ("SNS_TOPIC_ARN", "my-topic")],
            &["SNS_TOPIC_ARN", "\"my-topic\""],
        ),
        (
            &[region, ("DOWNSTREAM_FUNCTIONS", "good-fn,bad fn")],
            &[
                "DOWNSTREAM_FUNCTIONS",
                "\"bad fn\"",
                "function names or ARNs",
            ],
        ),
        (
            &[
                region,
                (
                    "DOWNSTREAM_FUNCTIONS",
                    "arn:aws:lambda:us-east-1:123456789012:layer:x",
                ),
            ],
            &["DOWNSTREAM_FUNCTIONS", "layer"],
        ),
        (
            &[region, ("MAX_CONCURRENCY", "0")],
            &["MAX_CONCURRENCY", "\"0\"", "1 to 64"],
        ),
        (&[("AWS_REGION", "nowhere")], &["AWS_REGION", "\"nowhere\""]),
        (
            &[region, ("ACCOUNTS", "111111111111,12345")],
            &["ACCOUNTS", "\"12345\"", "12-digit"],
        ),
        (
            &[region, ("ACCOUNTS", "organization")],
            &["MEMBER_ROLE_NAME", "required when ACCOUNTS"],
        ),
        (
            &[region, ("MEMBER_ROLE_NAME", "arn:aws:iam::1:role/x")],
            &["MEMBER_ROLE_NAME", "not an ARN"],
        ),
    ];
    for (env, expect) in cases {
        let err = config(env).expect_err(&format!("{env:?} should be rejected"));
        for part in *expect {
            assert!(
                err.contains(part),
                "error {err:?} for {env:?} should contain {part:?}"
            );
        }
    }
}

#[test]
fn region_lists_are_capped_and_deduplicated() {
    let region = ("AWS_REGION", "us-east-1");
    let c = config(&[
        region,
        ("REGIONS", "eu-west-1, us-east-1,eu-west-1,us-gov-west-1"),
    ])
    .unwrap();
    let expected = ["eu-west-1", "us-east-1", "us-gov-west-1"].map(String::from);
    assert_eq!(c.regions, RegionSelection::List(expected.to_vec()));

    // 60,000 names are refused by their count, before any is checked, and the error
    // does not repeat the whole list.
    let many = vec!["us-east-1"; 60_000].join(",");
    let err = config(&[region, ("REGIONS", &many)]).unwrap_err();
    assert!(
        err.contains("60000 region names") && err.contains("at most 64"),
        "{err}"
    );
    let event = json!({ "regions": vec!["us-east-1"; 60_000] });
    let err = parse_event(&event).unwrap_err().to_string();
    assert!(err.contains("at most 64"), "{err}");
    assert!(
        err.len() < 2_000,
        "the error repeats the list: {} bytes",
        err.len()
    );

    // One runaway value is cut in the error.
    let long = "x".repeat(100_000);
    let err = config(&[region, ("REGIONS", &long)]).unwrap_err();
    assert!(
        err.contains("100000 bytes in all") && err.len() < 1_000,
        "{err}"
    );
}

#[test]
fn failure_policy_and_excluded_accounts() {
    let region = ("AWS_REGION", "us-east-1");
    let c = config(&[region]).unwrap();
    assert_eq!((c.fail_on, c.excluded_accounts.len()), (FailOn::Sinks, 0));
    let c = config(&[
        region,
        ("FAIL_ON", "Any"),
        (
            "EXCLUDE_ACCOUNTS",
            " 111122223333, 444455556666,111122223333 ",
        ),
    ])
    .unwrap();
    assert_eq!(c.fail_on, FailOn::Any);
    assert_eq!(c.excluded_accounts, ["111122223333", "444455556666"]);
}

#[test]
fn sdk_retry_settings_default_to_adaptive_and_empty_means_unset() {
    let region = ("AWS_REGION", "us-east-1");
    let defaults = RetrySettings {
        mode: RetryMode::Adaptive,
        max_attempts: 5,
    };
    assert_eq!(config(&[region]).unwrap().retry, defaults);
    let empty = [region, ("AWS_RETRY_MODE", ""), ("AWS_MAX_ATTEMPTS", " ")];
    assert_eq!(config(&empty).unwrap().retry, defaults);
    let set = [
        region,
        ("AWS_RETRY_MODE", "Standard"),
        ("AWS_MAX_ATTEMPTS", "3"),
    ];
    let expected = RetrySettings {
        mode: RetryMode::Standard,
        max_attempts: 3,
    };
    assert_eq!(config(&set).unwrap().retry, expected);
}

#[test]
fn scheduled_event_is_recognised() {
    let text = std::fs::read_to_string("events/scheduled.json").unwrap();
    let inv = parse_event(&serde_json::from_str(&text).unwrap()).unwrap();
    assert!(matches!(inv.trigger, Trigger::Scheduled { id: Some(_) }));
    let c = config(&[("AWS_REGION", "us-east-1"), ("REGIONS", "eu-west-1")]).unwrap();
    let s = inv.settings(&c).unwrap();
    assert_eq!(s.regions, RegionSelection::List(vec!["eu-west-1".into()]));
    assert_eq!(s.threshold_source, ThresholdSource::Config);
    assert!(!s.dry_run);
}

#[test]
fn override_event_applies_over_configuration() {
    let text = std::fs::read_to_string("events/override.json").unwrap();
    let event: Value = serde_json::from_str(&text).unwrap();
    let inv = parse_event(&event).unwrap();
    assert_eq!(inv.trigger, Trigger::Direct);
    let c = config(&[("AWS_REGION", "us-east-1")]).unwrap();
    let s = inv.settings(&c).unwrap();
    assert_eq!(s.threshold_source, ThresholdSource::Event);
    assert_eq!(
        s.thresholds.warning_percent,
        event["warning_percent"].as_f64().unwrap()
    );
    assert_eq!(
        s.thresholds.critical_percent,
        event["critical_percent"].as_f64().unwrap()
    );
    assert!(matches!(s.regions, RegionSelection::List(ref l) if !l.is_empty()));
}

#[test]
fn empty_and_null_events_mean_no_overrides() {
    let c = config(&[("AWS_REGION", "us-east-1")]).unwrap();
    // A field set to null is a field not given.
    for ev in [
        Value::Null,
        json!({}),
        json!({"warning_percent": null, "regions": null}),
    ] {
        let s = parse_event(&ev).unwrap().settings(&c).unwrap();
        assert_eq!(s.thresholds, c.thresholds);
        assert_eq!(s.threshold_source, ThresholdSource::Config);
        assert_eq!(s.regions, RegionSelection::Own);
    }
    let s = parse_event(&json!({"regions": "all", "dry_run": true}))
        .unwrap()
        .settings(&c)
        .unwrap();
    assert_eq!((s.regions, s.dry_run), (RegionSelection::All, true));
}

#[test]
fn bad_events_name_field_and_value() {
    let c = config(&[("AWS_REGION", "us-east-1")]).unwrap();
    let cases: &[(Value, &[&str])] = &[
        (
            json!({"warning_percent": "abc"}),
            &["\"warning_percent\"", "\"abc\"", "expected a number"],
        ),
        (
            json!({"critical_percent": 150}),
            &["\"critical_percent\"", "150", "at most 100"],
        ),
        (
            json!({"warning_percent": 99}),
            &[
                "\"warning_percent\"",
                "99",
                "must not be above critical (95)",
            ],
        ),
        (
            json!({"thresholds": {"warning": 1}}),
            &["\"thresholds\"", "unknown field", "warning_percent"],
        ),
        (
            json!({"regions": ["us-east-1", 7]}),
            &["\"regions\"", "7", "list of region names"],
        ),
        (json!({"regions": "moon-1"}), &["\"regions\"", "moon-1"]),
        // An empty list is not "the function's own region": leaving it out is.
        (
            json!({"regions": []}),
            &["\"regions\"", "[]", "list of region names"],
        ),
        (
            json!({"regions": ""}),
            &["\"regions\"", "\"\"", "list of region names"],
        ),
        (
            json!({"regions": ["us-east-1", "us-east-001"]}),
            &["\"regions\"", "us-east-001"],
        ),
        (
            json!({"dry_run": "yes"}),
            &["\"dry_run\"", "\"yes\"", "true or false"],
        ),
        (
            json!({"min_free_addresses": -1}),
            &["\"min_free_addresses\"", "-1"],
        ),
        (json!([1, 2]), &["(event)", "[1,2]", "JSON object"]),
        (
            json!({"detail-type": "Scheduled Event", "source": "my.app"}),
            &["\"source\"", "my.app", "aws.events"],
        ),
        (
            json!({"critical_percent": 50}),
            &[
                "\"critical_percent\"",
                "50",
                "warning (80) must not be above critical (50)",
            ],
        ),
        (
            json!({"warning_percent": 0}),
            &["\"warning_percent\"", "0", "above 0"],
        ),
        (
            json!({"min_free_addresses": 1.5}),
            &["\"min_free_addresses\"", "1.5", "whole number"],
        ),
        (
            json!({"detail-type": "Scheduled Event", "source": "aws.events", "id": 7}),
            &["\"id\"", "7", "expected a string"],
        ),
        (
            json!({"detail-type": "Scheduled Event"}),
            &["(event)", "missing field `source`"],
        ),
    ];
    for (event, expect) in cases {
        let err = parse_event(event)
            .and_then(|inv| inv.settings(&c))
            .expect_err(&format!("{event} should be rejected"))
            .to_string();
        for part in *expect {
            assert!(
                err.contains(part),
                "error {err:?} for {event} should contain {part:?}"
            );
        }
    }
}

#[test]
fn space_alerts_and_acknowledgements() {
    let region = ("AWS_REGION", "us-east-1");
    let c = config(&[region]).unwrap();
    assert_eq!(c.thresholds.min_free_block, None);
    assert_eq!(c.suppressions, Suppressions::default());

    let c = config(&[
        region,
        ("MIN_FREE_BLOCK", "/24"),
        ("SUPPRESS_ACCOUNTS", "999988887777"),
        (
            "ACCEPTED_OVERLAPS",
            "vpc-0a1b2c3d4e5f60718, 172.31.0.0/16, 10.0.0.1/8, vpc-12345678",
        ),
    ])
    .unwrap();
    assert_eq!(c.thresholds.min_free_block, Some(24));
    assert_eq!(c.suppressions.accounts, ["999988887777"]);
    assert_eq!(
        c.suppressions.accepted_overlaps,
        [
            AcceptedOverlap::Vpc("vpc-0a1b2c3d4e5f60718".into()),
            AcceptedOverlap::Cidr("172.31.0.0/16".parse().unwrap()),
            // A host address with a prefix means its network.
            AcceptedOverlap::Cidr("10.0.0.0/8".parse().unwrap()),
            AcceptedOverlap::Vpc("vpc-12345678".into()),
        ]
    );
    assert_eq!(
        config(&[region, ("MIN_FREE_BLOCK", "28")])
            .unwrap()
            .thresholds
            .min_free_block,
        Some(28)
    );

    for (variable, value, named) in [
        ("MIN_FREE_BLOCK", "33", "\"33\""),
        ("MIN_FREE_BLOCK", "/0", "\"/0\""),
        ("MIN_FREE_BLOCK", "big", "\"big\""),
        ("SUPPRESS_ACCOUNTS", "lab", "\"lab\""),
        ("ACCEPTED_OVERLAPS", "vpc-1, 10.0.0.0/8", "\"vpc-1\""),
        ("ACCEPTED_OVERLAPS", "10.0.0.0/33", "\"10.0.0.0/33\""),
    ] {
        let err = config(&[region, (variable, value)]).unwrap_err();
        assert!(
            err.contains(variable) && err.contains(named),
            "{variable}={value}: {err}"
        );
    }
}

#[test]
fn an_event_may_ask_for_space_alerts_and_acknowledge_more_for_one_run() {
    let c = config(&[
        ("AWS_REGION", "us-east-1"),
        ("SUPPRESS_ACCOUNTS", "111122223333"),
    ])
    .unwrap();
    let ev = json!({
        "min_free_block": 24,
        "accepted_overlaps": ["vpc-0a1b2c3d4e5f60718", "172.31.0.0/16"],
        "suppress_accounts": ["444455556666", "111122223333"]
    });
    let s = parse_event(&ev).unwrap().settings(&c).unwrap();
    assert_eq!(s.thresholds.min_free_block, Some(24));
    assert_eq!(s.threshold_source, ThresholdSource::Event);
    // The configuration's and the event's, each once.
    assert_eq!(s.suppressions.accounts, ["111122223333", "444455556666"]);
    assert_eq!(s.suppressions.accepted_overlaps.len(), 2);

    for (ev, want) in [
        (
            json!({"min_free_block": 40}),
            ["\"min_free_block\"", "40", "1 to 32"],
        ),
        (
            json!({"accepted_overlaps": ["10.0.0.0/8", "nope"]}),
            ["\"accepted_overlaps\"", "nope", "VPC ids"],
        ),
        (
            json!({"suppress_accounts": ["lab"]}),
            ["\"suppress_accounts\"", "lab", "12-digit"],
        ),
    ] {
        let e = parse_event(&ev).unwrap_err().to_string();
        for w in want {
            assert!(e.contains(w), "{ev}: {e} lacks {w}");
        }
    }
}
