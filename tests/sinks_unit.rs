//! Sinks without the emulator: message composition, EMF structure, chunking, and
//! faults injected with aws-smithy-mocks on the real SDK clients.

use aws_sdk_cloudwatch::operation::put_metric_data::PutMetricDataOutput;
use aws_sdk_sns::config::retry::RetryConfig;
use aws_sdk_sns::operation::publish::PublishOutput;
use aws_smithy_mocks::{mock, mock_client, RuleMode};
use ipam_monitor::app::handler::{MetricsEstimate, RunOutput};
use ipam_monitor::domain::calculator::calculate;
use ipam_monitor::domain::inventory::{Endpoint, Inventory, Link, ScanError, Subnet, Tags, Vpc};
use ipam_monitor::domain::report::{Report, Suppression, Timestamp};
use ipam_monitor::domain::thresholds::{Status, ThresholdSource, Thresholds};
use ipam_monitor::sinks::cloudwatch::{batches, CloudWatchSink};
use ipam_monitor::sinks::downstream::chunk_payloads;
use ipam_monitor::sinks::emf::EmfSink;
use ipam_monitor::sinks::metrics::{count, flatten, metric_groups, MetricPolicy};
use ipam_monitor::sinks::sns::{compose, SnsSink, MAX_BODY_BYTES};
use ipam_monitor::sinks::{deliver_all, DeliveryStatus, RunContext, Sink};
use serde_json::Value;
use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// `n` subnets; every `breach_every`-th one (from the first) is full (CRITICAL), the
/// rest empty; `usize::MAX` means none is full.
fn report(n: usize, breach_every: usize) -> Report {
    let inv = Inventory {
        subnets: (0..n)
            .map(|i| Subnet {
                id: format!("subnet-{i:017x}").into(),
                vpc_id: "vpc-1".into(),
                account_id: "123456789012".into(),
                region: "eu-central-1".into(),
                availability_zone: "eu-central-1a".into(),
                ipv4_cidr: Some(
                    format!("10.{}.{}.0/24", i / 256 % 256, i % 256)
                        .parse()
                        .unwrap(),
                ),
                ipv6_cidrs: vec![],
                available_ips: Some(if breach_every != usize::MAX && i % breach_every == 0 {
                    0
                } else {
                    251
                }),
                tags: [("Name".to_string(), format!("app-subnet-{i}"))]
                    .into_iter()
                    .collect::<Tags>(),
                warnings: vec![],
            })
            .collect(),
        ..Inventory::default()
    };
    let calc = calculate(inv, &Thresholds::default(), ThresholdSource::Config);
    Report::new(
        "run-42".into(),
        humantime::parse_rfc3339("2026-11-23T12:00:00Z").unwrap(),
        Thresholds::default(),
        ThresholdSource::Config,
        vec![],
        vec![],
        calc,
    )
}

fn ctx() -> RunContext {
    RunContext {
        duration: Duration::from_millis(900),
        ..Default::default()
    }
}

#[test]
fn no_breach_means_no_alert() {
    assert!(compose(&report(10, usize::MAX), "x").is_none());
}

#[test]
fn acknowledged_breaches_do_not_page() {
    let mut r = report(3, 2); // subnets 0 and 2 are full
    for rec in r.resources.iter_mut().filter(|x| x.status.is_breach()) {
        rec.suppressed = Some(Box::new(Suppression {
            by: "tag ipam-monitor:suppress".into(),
            reason: "known".into(),
        }));
    }
    assert!(compose(&r, "x").is_none());
}

/// Two VPCs sharing 10.0.0.0/16 on one Transit Gateway, nothing in breach.
fn routing_conflict_report() -> Report {
    let vpc = |id: &str, account: &str| Vpc {
        id: id.into(),
        account_id: account.into(),
        region: "us-east-1".into(),
        is_default: false,
        ipv4_blocks: vec!["10.0.0.0/16".parse().unwrap()],
        ipv6_blocks: vec![],
        tags: Tags::new(),
        warnings: vec![],
    };
    let attach = |att: &str, id: &str| Link {
        id: att.into(),
        ends: [
            Endpoint::Vpc {
                region: "us-east-1".into(),
                id: id.into(),
            },
            Endpoint::TransitGateway("tgw-0123".into()),
        ],
    };
    let inv = Inventory {
        vpcs: vec![vpc("vpc-a", "111111111111"), vpc("vpc-b", "222222222222")],
        links: vec![
            attach("tgw-attach-a", "vpc-a"),
            attach("tgw-attach-b", "vpc-b"),
        ],
        ..Inventory::default()
    };
    let calc = calculate(inv, &Thresholds::default(), ThresholdSource::Config);
    Report::new(
        "run-7".into(),
        humantime::parse_rfc3339("2026-11-23T12:00:00Z").unwrap(),
        Thresholds::default(),
        ThresholdSource::Config,
        vec![],
        vec![],
        calc,
    )
}

#[test]
fn an_overlap_that_can_route_pages_on_its_own() {
    let r = routing_conflict_report();
    let a = compose(&r, "x").expect("a routing conflict alerts");
    assert_eq!(
        (a.severity, a.breach_count, a.overlap_conflicts),
        (Status::Warning, 0, 1)
    );
    assert_eq!(
        a.subject,
        "[WARNING] 0 critical, 0 warning, 1 routing overlap(s): overlap 10.0.0.0/16"
    );
    assert!(
        a.body.contains(
            "OVERLAP 10.0.0.0/16 between VPCs that can route to each other\n  vpc-a 10.0.0.0/16 <-> vpc-b 10.0.0.0/16 via tgw-0123\n"
        ),
        "{}",
        a.body
    );
    assert!(
        a.body.contains("  vpc-b 222222222222 us-east-1\n"),
        "{}",
        a.body
    );

    // Accepted: reported, no alert.
    let mut r = r;
    r.outcome.overlaps[0].suppressed = Some(Suppression {
        by: "ACCEPTED_OVERLAPS".into(),
        reason: "accepted by vpc-a".into(),
    });
    assert!(compose(&r, "x").is_none());
}

#[test]
fn alert_subject_and_body_for_a_phone() {
    let mut r = report(3, 2); // subnets 0 and 2 are full
    r.resources[0].name = Some("line\nbreak\tname".into());
    let a = compose(&r, "sent to Lambda function(s) consumer").unwrap();
    assert_eq!(a.breach_count, 2);
    assert!(
        a.subject.len() < 100 && !a.subject.contains('\n'),
        "{:?}",
        a.subject
    );
    assert!(
        a.subject
            .starts_with("[CRITICAL] 2 critical, 0 warning: linebreakname 100.0% eu-central-1"),
        "{}",
        a.subject
    );
    assert!(
        a.body
            .starts_with("2 critical, 0 warning of 3 resources monitored.\n\n"),
        "{}",
        a.body
    );
    assert!(
        a.body.ends_with(
            "Run run-42 at 2026-11-23T12:00:00Z. Full report: sent to Lambda function(s) consumer."
        ),
        "{}",
        a.body
    );
}

#[test]
fn subject_is_printable_ascii_whatever_the_name_tag_holds() {
    let mut r = report(1, 1);
    // Anyone allowed to tag a resource writes its Name: line breaks, a right-to-left
    // override, letters outside ASCII.
    r.resources[0].name = Some("prod\u{202e}db ä\r\nBcc: x".into());
    let a = compose(&r, "x").unwrap();
    assert!(
        a.subject.chars().all(|c| c == ' ' || c.is_ascii_graphic()),
        "{:?}",
        a.subject
    );
    assert!(a.subject.contains("prod?db ?Bcc: x"), "{:?}", a.subject);
}

#[test]
fn an_incomplete_run_says_so_in_the_subject() {
    let mut r = report(2, 1);
    let complete = compose(&r, "x").unwrap();
    assert!(
        !complete.subject.contains("incomplete"),
        "{}",
        complete.subject
    );
    r.outcome.summary.scopes_failed = 1;
    r.resources[0].name = Some("n".repeat(300).into());
    let a = compose(&r, "x").unwrap();
    assert!(
        a.subject
            .starts_with("[CRITICAL] (incomplete) 2 critical, 0 warning: nnn"),
        "{}",
        a.subject
    );
}

#[test]
fn long_subject_is_cut_under_100_characters() {
    let mut r = report(1, 1);
    r.resources[0].name = Some("n".repeat(300).into());
    let a = compose(&r, "x").unwrap();
    assert_eq!(a.subject.chars().count(), 99);
    assert!(a.subject.ends_with("..."));
}

#[test]
fn huge_breach_list_stays_under_the_sns_limit_and_says_how_many_more() {
    let r = report(20_000, 1); // every subnet in breach
    let a = compose(&r, "sent to Lambda function(s) consumer").unwrap();
    assert!(a.body.len() <= MAX_BODY_BYTES, "{} bytes", a.body.len());
    assert!(a.body.len() + a.subject.len() + 200 < 256 * 1024);
    let listed = a
        .body
        .lines()
        .filter(|l| l.starts_with("CRITICAL subnet"))
        .count();
    assert!(listed > 100 && listed < 20_000, "{listed} listed");
    let more = format!("...and {} more not listed here", 20_000 - listed);
    assert!(a.body.contains(&more), "missing {more:?}");
    assert!(a
        .body
        .contains("Full report: sent to Lambda function(s) consumer."));
}

/// The aggregates of a report of subnets only: six run-level counts, breaches per
/// severity (2), the highest subnet utilization (1).
const SUBNET_AGGREGATES: usize = 6 + 2 + 1;

#[test]
fn policy_all_covers_every_resource_and_batches_at_1000_aggregates_first() {
    let r = report(700, 3);
    let metrics: Vec<_> =
        flatten(metric_groups(&r, Duration::from_secs(2), MetricPolicy::All)).collect();
    assert_eq!(metrics.len(), 700 * 4 + SUBNET_AGGREGATES);
    assert!(metrics.iter().all(|m| m.value.is_finite()));
    // What alarms read goes first: a failed later batch cannot take it along.
    let first: Vec<&str> = metrics[..SUBNET_AGGREGATES]
        .iter()
        .map(|m| m.name)
        .collect();
    assert_eq!(
        first,
        [
            "ResourcesMonitored",
            "ResourcesInBreach",
            "ResourcesUnknown",
            "ScopeErrors",
            "OverlapConflicts",
            "RunDuration",
            "ResourcesInBreach",
            "ResourcesInBreach",
            "MaxUtilizationPercent"
        ]
    );
    assert_eq!(metrics[6].dimensions, [("Severity", "CRITICAL")]);
    assert_eq!(metrics[6].value, 234.0); // subnets 0, 3, …, 699 are full
    assert_eq!(
        (metrics[8].dimensions.clone(), metrics[8].value),
        (vec![("ResourceType", "subnet")], 100.0)
    );
    let sizes: Vec<usize> = batches(metrics).map(|b| b.len()).collect();
    assert_eq!(sizes, [1000, 1000, 809]);
}

#[test]
fn focused_policy_publishes_one_metric_per_resource_that_matters() {
    let mut r = report(10, 5); // subnets 0 and 5 are full, the rest empty
                               // Subnet 1 sits 3 points under its warning threshold; subnet 2 is full but
                               // acknowledged.
    r.resources
        .iter_mut()
        .find(|x| x.resource_id.ends_with("01"))
        .unwrap()
        .utilization_percent = Some(77.0);
    let full = r
        .resources
        .iter_mut()
        .find(|x| x.resource_id.ends_with("05"))
        .unwrap();
    full.suppressed = Some(Box::new(Suppression {
        by: "tag ipam-monitor:suppress".into(),
        reason: "known".into(),
    }));
    let focused = MetricPolicy::Focused { margin_points: 5.0 };
    let metrics: Vec<_> = flatten(metric_groups(&r, Duration::ZERO, focused)).collect();
    let per_resource: Vec<(&str, &str)> = metrics[SUBNET_AGGREGATES..]
        .iter()
        .map(|m| (m.name, m.dimensions[1].1))
        .collect();
    assert_eq!(
        per_resource,
        [
            ("UtilizationPercent", "subnet-00000000000000000"),
            ("UtilizationPercent", "subnet-00000000000000001")
        ]
    );
    assert_eq!(count(&r, focused), SUBNET_AGGREGATES + 2);
    // Nothing near a threshold: the aggregates alone.
    let quiet = report(1_000, usize::MAX);
    assert_eq!(count(&quiet, focused), SUBNET_AGGREGATES);
    assert_eq!(count(&quiet, MetricPolicy::All), 4_000 + SUBNET_AGGREGATES);
    // A margin of 0 drops the near one.
    assert_eq!(
        count(&r, MetricPolicy::Focused { margin_points: 0.0 }),
        SUBNET_AGGREGATES + 1
    );
}

#[test]
fn a_resource_without_an_id_gets_no_metrics_instead_of_failing_its_batch() {
    let mut r = report(3, 1);
    r.resources[1].resource_id = "".into();
    let metrics: Vec<_> =
        flatten(metric_groups(&r, Duration::from_secs(2), MetricPolicy::All)).collect();
    assert_eq!(metrics.len(), 2 * 4 + SUBNET_AGGREGATES);
    assert!(metrics
        .iter()
        .all(|m| m.dimensions.iter().all(|(_, v)| !v.is_empty())));
}

/// A Write that keeps what it is given.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A Write whose every write fails, as stdout does when its pipe is closed.
struct Broken;

impl Write for Broken {
    fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
        Err(std::io::Error::new(
            std::io::ErrorKind::BrokenPipe,
            "pipe closed",
        ))
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Err(std::io::Error::new(
            std::io::ErrorKind::BrokenPipe,
            "pipe closed",
        ))
    }
}

#[tokio::test]
async fn an_emf_write_failure_is_the_sinks_failure_not_a_panic() {
    let sink = EmfSink {
        namespace: "IpamMonitor".into(),
        policy: MetricPolicy::All,
        out: Mutex::new(Box::new(Broken)),
    };
    let out = deliver_all(
        &[Box::new(sink) as Box<dyn Sink>],
        &report(5, 2),
        &ctx(),
        false,
        None,
    )
    .await;
    assert_eq!(out[0].status, DeliveryStatus::Failed);
    assert_eq!(out[0].detail, "write EMF failed: pipe closed");
}

#[tokio::test]
async fn emf_lines_follow_the_embedded_metric_format() {
    let r = report(5, 2);
    let captured = Captured::default();
    let sink = EmfSink {
        namespace: "IpamMonitor".into(),
        policy: MetricPolicy::All,
        out: Mutex::new(Box::new(captured.clone())),
    };
    let d = sink.deliver(&r, &ctx()).await.unwrap();
    assert_eq!(
        d.detail,
        "29 metrics in 9 EMF line(s) to namespace IpamMonitor"
    );
    let text = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("each line is JSON"))
        .collect();
    assert_eq!(lines.len(), 9);
    let valid_units = ["Percent", "Count", "Milliseconds"];
    for doc in &lines {
        let aws = doc["_aws"].as_object().expect("_aws object");
        let ts = aws["Timestamp"]
            .as_u64()
            .expect("Timestamp: integer epoch milliseconds");
        assert_eq!(ts, 1_795_435_200_000); // 2026-11-23T12:00:00Z
        let directives = aws["CloudWatchMetrics"]
            .as_array()
            .expect("CloudWatchMetrics array");
        assert_eq!(directives.len(), 1);
        for d in directives {
            assert_eq!(d["Namespace"], "IpamMonitor");
            for set in d["Dimensions"]
                .as_array()
                .expect("Dimensions: array of arrays")
            {
                let set = set.as_array().expect("a dimension set is an array");
                assert!(set.len() <= 30);
                for key in set {
                    let key = key.as_str().expect("dimension keys are strings");
                    assert!(
                        doc[key].is_string(),
                        "dimension {key} must be a top-level string"
                    );
                }
            }
            let metrics = d["Metrics"].as_array().unwrap();
            assert!(!metrics.is_empty() && metrics.len() <= 100);
            for m in metrics {
                let name = m["Name"].as_str().unwrap();
                assert!(
                    doc[name].is_number(),
                    "metric {name} needs a numeric top-level value"
                );
                assert!(valid_units.contains(&m["Unit"].as_str().unwrap()));
            }
        }
    }
    let critical = lines
        .iter()
        .find(|l| l["UtilizationPercent"] == 100.0)
        .unwrap();
    assert_eq!(critical["ResourceType"], "subnet");
    assert_eq!(critical["UsedAddresses"], 251.0);
    // The run-level line comes first, without dimensions.
    let run = lines.first().unwrap();
    assert_eq!(
        run["_aws"]["CloudWatchMetrics"][0]["Dimensions"],
        serde_json::json!([[]])
    );
    assert_eq!(run["ResourcesInBreach"], 3.0);
    assert_eq!(run["RunDuration"], 900.0);
}

#[test]
fn large_report_is_chunked_under_the_limit_and_reassembles() {
    let r = report(3_000, 7);
    let limit = 100_000;
    let chunks = chunk_payloads(&r, limit).unwrap();
    assert!(chunks.len() > 3, "{} chunks", chunks.len());
    let docs: Vec<Value> = chunks
        .iter()
        .map(|c| {
            assert!(c.len() <= limit, "chunk of {} bytes", c.len());
            serde_json::from_slice(c).unwrap()
        })
        .collect();
    let n = docs.len();
    for (i, d) in docs.iter().enumerate() {
        assert_eq!(
            (d["kind"].as_str(), d["run_id"].as_str()),
            (Some("ipam-monitor.report"), Some("run-42"))
        );
        assert_eq!(
            (d["chunk"].as_u64(), d["chunks"].as_u64()),
            (Some(i as u64 + 1), Some(n as u64))
        );
        assert_eq!(
            d.get("report").is_some(),
            i == 0,
            "only chunk 1 carries the report head"
        );
    }
    // The consumer's reassembly: chunk 1's report plus every chunk's resources, in order.
    let mut rebuilt = docs[0]["report"].clone();
    let all: Vec<Value> = docs
        .iter()
        .flat_map(|d| d["resources"].as_array().unwrap().clone())
        .collect();
    rebuilt["resources"] = Value::Array(all);
    assert_eq!(rebuilt, serde_json::to_value(&r).unwrap());

    let one = chunk_payloads(&report(3, 2), 1_000_000).unwrap();
    assert_eq!(one.len(), 1);
    let d: Value = serde_json::from_slice(&one[0]).unwrap();
    assert_eq!(
        (d["chunk"].as_u64(), d["chunks"].as_u64()),
        (Some(1), Some(1))
    );
}

/// The top-level keys of a JSON object, in the order they are written.
fn keys(json: &str) -> Vec<String> {
    struct Keys(Vec<String>);
    impl<'de> serde::Deserialize<'de> for Keys {
        fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Keys, D::Error> {
            struct V;
            impl<'de> serde::de::Visitor<'de> for V {
                type Value = Keys;
                fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                    f.write_str("an object")
                }
                fn visit_map<A: serde::de::MapAccess<'de>>(
                    self,
                    mut m: A,
                ) -> Result<Keys, A::Error> {
                    let mut keys = Vec::new();
                    while let Some(k) = m.next_key::<String>()? {
                        m.next_value::<serde::de::IgnoredAny>()?;
                        keys.push(k);
                    }
                    Ok(Keys(keys))
                }
            }
            d.deserialize_map(V)
        }
    }
    serde_json::from_str::<Keys>(json).unwrap().0
}

/// Consumers may read the report as a stream: its fields, the downstream chunk's
/// report head and the run summary keep their order, and the head is the report
/// without `resources`, byte for byte.
#[test]
fn report_head_and_summary_keep_their_field_order() {
    let mut r = report(3, 2);
    r.outcome.errors.push(ScanError {
        account_id: "123456789012".into(),
        region: "eu-central-1".into(),
        operation: "DescribeVpcs".into(),
        code: None,
        message: "x".into(),
    });
    let json = serde_json::to_string(&r).unwrap();
    assert_eq!(
        keys(&json),
        [
            "schema_version",
            "run_id",
            "generated_at",
            "thresholds",
            "threshold_source",
            "scopes",
            "resources",
            "overlaps",
            "errors",
            "summary",
            "history",
            "eks_clusters"
        ]
    );
    assert!(json.starts_with(
        "{\"schema_version\":6,\"run_id\":\"run-42\",\"generated_at\":\"2026-11-23T12:00:00Z\","
    ));

    let head = serde_json::to_string(&r.head()).unwrap();
    let resources = serde_json::to_string(&r.resources).unwrap();
    assert_eq!(
        head,
        json.replace(&format!(",\"resources\":{resources}"), "")
    );
    let chunk = String::from_utf8(chunk_payloads(&r, 1_000_000).unwrap().remove(0)).unwrap();
    assert_eq!(
        keys(&chunk),
        [
            "kind",
            "schema_version",
            "run_id",
            "chunk",
            "chunks",
            "resources",
            "report"
        ]
    );
    assert!(chunk.ends_with(&format!(",\"report\":{head}}}")));

    let metrics = Some(MetricsEstimate::of(&r, MetricPolicy::default()));
    let output = RunOutput {
        report: r,
        sinks: vec![],
        dry_run: false,
        duration_ms: 5,
        metrics,
    };
    let summary = serde_json::to_string(&output.summary()).unwrap();
    assert_eq!(
        keys(&summary),
        [
            "schema_version",
            "run_id",
            "generated_at",
            "dry_run",
            "duration_ms",
            "summary",
            "history",
            "metrics",
            "sinks",
            "errors",
            "report"
        ]
    );
    assert!(summary.ends_with(&format!(",\"report\":{json}}}")));
}

/// The run's start time is kept to the second, so every output names the same instant.
#[test]
fn run_time_is_whole_seconds_in_rfc3339() {
    let t = humantime::parse_rfc3339("2026-11-23T12:00:07Z").unwrap();
    let stamp = Timestamp::from(t + Duration::from_millis(999));
    assert_eq!(stamp.system_time(), t);
    assert_eq!(stamp.to_string(), "2026-11-23T12:00:07Z");
    assert_eq!(
        serde_json::to_string(&stamp).unwrap(),
        "\"2026-11-23T12:00:07Z\""
    );
}

/// An AWS error answer in the query protocol's XML: SNS reads its code; CloudWatch,
/// which speaks CBOR, sees only the status.
fn aws_error(
    status: u16,
    code: &str,
    message: &str,
) -> aws_smithy_runtime_api::client::orchestrator::HttpResponse {
    aws_smithy_runtime_api::client::orchestrator::HttpResponse::new(
        aws_smithy_runtime_api::http::StatusCode::try_from(status).unwrap(),
        aws_smithy_types::body::SdkBody::from(format!(
            "<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code><Message>{message}</Message></Error><RequestId>r1</RequestId></ErrorResponse>"
        )),
    )
}

fn throttling() -> aws_smithy_runtime_api::client::orchestrator::HttpResponse {
    aws_error(400, "Throttling", "Rate exceeded")
}

fn not_found() -> aws_smithy_runtime_api::client::orchestrator::HttpResponse {
    aws_error(404, "NotFound", "Topic does not exist")
}

fn invalid_parameter() -> aws_smithy_runtime_api::client::orchestrator::HttpResponse {
    aws_error(400, "InvalidParameter", "Invalid parameter: Subject")
}

/// The SNS sink on a mocked client, publishing to a fixed topic.
fn sns_sink(client: aws_sdk_sns::Client) -> SnsSink {
    SnsSink {
        client,
        topic_arn: "arn:aws:sns:us-east-1:123456789012:t".into(),
        report_location: "x".into(),
    }
}

fn fast_retries() -> RetryConfig {
    RetryConfig::standard()
        .with_max_attempts(3)
        .with_initial_backoff(Duration::from_millis(1))
        .with_max_backoff(Duration::from_millis(5))
}

#[tokio::test]
async fn sns_throttled_then_succeeding_publishes_once() {
    let publish = mock!(aws_sdk_sns::Client::publish)
        .match_requests(|p| {
            p.subject().is_some_and(|s| s.starts_with("[CRITICAL]"))
                && p.message_attributes()
                    .is_some_and(|a| a["severity"].string_value() == Some("CRITICAL"))
        })
        .sequence()
        .http_response(throttling)
        .times(2)
        .output(|| PublishOutput::builder().message_id("m-1").build())
        .build();
    let client = mock_client!(aws_sdk_sns, RuleMode::Sequential, [&publish], |b| b
        .retry_config(fast_retries()));
    let sink = sns_sink(client);
    let d = sink.deliver(&report(4, 2), &ctx()).await.unwrap();
    assert_eq!(d.status, DeliveryStatus::Delivered);
    assert!(d.detail.ends_with("as message m-1"), "{}", d.detail);
    assert_eq!(
        publish.num_calls(),
        3,
        "two throttled attempts, then the one that landed"
    );
}

#[tokio::test]
async fn sns_refusing_the_alert_gets_a_minimal_one_that_still_pages() {
    let full = mock!(aws_sdk_sns::Client::publish)
        .match_requests(|p| !p.subject().unwrap_or_default().ends_with("(ipam-monitor)"))
        .then_http_response(invalid_parameter);
    let minimal = mock!(aws_sdk_sns::Client::publish)
        .match_requests(|p| {
            p.subject() == Some("[CRITICAL] 2 critical, 0 warning (ipam-monitor)")
                && p.message().is_some_and(|m| {
                    m.starts_with("2 critical, 0 warning of 4 resources monitored.")
                        && !m.contains("subnet-")
                        && m.ends_with("Full report: x.")
                })
                && p.message_attributes()
                    .is_some_and(|a| a["severity"].string_value() == Some("CRITICAL"))
        })
        .then_output(|| PublishOutput::builder().message_id("m-2").build());
    let client = mock_client!(aws_sdk_sns, RuleMode::MatchAny, [&full, &minimal], |b| b
        .retry_config(fast_retries()));
    let sink = sns_sink(client);
    let d = sink.deliver(&report(4, 2), &ctx()).await.unwrap();
    assert_eq!(d.status, DeliveryStatus::Delivered);
    assert!(d.detail.contains("as message m-2"), "{}", d.detail);
    assert!(
        d.detail
            .contains("full alert was refused: Invalid parameter: Subject"),
        "{}",
        d.detail
    );
    assert_eq!((full.num_calls(), minimal.num_calls()), (1, 1));
}

#[tokio::test]
async fn sns_not_found_while_cloudwatch_still_publishes() {
    let publish = mock!(aws_sdk_sns::Client::publish).then_http_response(not_found);
    let sns = mock_client!(aws_sdk_sns, RuleMode::MatchAny, [&publish], |b| b
        .retry_config(fast_retries()));
    let put = mock!(aws_sdk_cloudwatch::Client::put_metric_data)
        .match_requests(|p| {
            p.namespace() == Some("IpamMonitor") && p.metric_data().len() == 16 * 4 + 9
        })
        .then_output(|| PutMetricDataOutput::builder().build());
    let cw = mock_client!(aws_sdk_cloudwatch, RuleMode::MatchAny, [&put]);
    // SNS first, so CloudWatch runs after the failure.
    let sinks: Vec<Box<dyn Sink>> = vec![
        Box::new(SnsSink {
            client: sns,
            topic_arn: "arn:aws:sns:us-east-1:123456789012:gone".into(),
            report_location: "x".into(),
        }),
        Box::new(CloudWatchSink {
            client: cw,
            namespace: "IpamMonitor".into(),
            policy: MetricPolicy::All,
        }),
    ];
    let out = deliver_all(&sinks, &report(16, 4), &ctx(), false, None).await;
    assert_eq!(out[0].status, DeliveryStatus::Failed);
    assert_eq!(
        out[0].detail,
        "Publish failed: NotFound: Topic does not exist"
    );
    assert_eq!(publish.num_calls(), 1, "NotFound is not retried");
    assert_eq!(
        out[1].status,
        DeliveryStatus::Delivered,
        "{}",
        out[1].detail
    );
    assert_eq!(put.num_calls(), 1);
}

#[test]
fn report_time_is_the_run_start() {
    // The EMF timestamp above is the fixture's run start, 2026-11-23T12:00:00Z, in ms.
    let r = report(1, usize::MAX);
    assert_eq!(r.run.generated_at.unix_seconds(), 1_795_435_200);
}

fn function_not_found() -> aws_smithy_runtime_api::client::orchestrator::HttpResponse {
    let mut r = aws_smithy_runtime_api::client::orchestrator::HttpResponse::new(
        aws_smithy_runtime_api::http::StatusCode::try_from(404).unwrap(),
        aws_smithy_types::body::SdkBody::from(
            r#"{"Type":"User","message":"Function not found: broken"}"#,
        ),
    );
    r.headers_mut()
        .insert("x-amzn-errortype", "ResourceNotFoundException");
    r
}

#[tokio::test]
async fn downstream_sends_every_chunk_in_order_while_a_failed_function_is_skipped() {
    use aws_sdk_lambda::operation::invoke::InvokeOutput;
    use ipam_monitor::sinks::downstream::DownstreamSink;

    let received = Arc::new(Mutex::new(Vec::<Value>::new()));
    let seen = received.clone();
    let consumer = mock!(aws_sdk_lambda::Client::invoke)
        .match_requests(move |i| {
            if i.function_name() != Some("consumer") {
                return false;
            }
            let body = i.payload().expect("a payload").as_ref();
            seen.lock()
                .unwrap()
                .push(serde_json::from_slice(body).unwrap());
            true
        })
        .then_output(|| InvokeOutput::builder().status_code(202).build());
    let broken = mock!(aws_sdk_lambda::Client::invoke)
        .match_requests(|i| i.function_name() == Some("broken"))
        .then_http_response(function_not_found);
    let client = mock_client!(aws_sdk_lambda, RuleMode::MatchAny, [&consumer, &broken]);
    let sink = DownstreamSink {
        client,
        functions: vec!["broken".into(), "consumer".into()],
        max_payload_bytes: 50_000,
    };
    let r = report(600, 5);
    let expected = chunk_payloads(&r, 50_000).unwrap().len();
    assert!(expected > 3, "{expected} chunks");

    let err = sink.deliver(&r, &ctx()).await.unwrap_err();
    assert!(
        err.message
            .starts_with("1 of 2 function(s) failed: broken chunk 1:"),
        "{}",
        err.message
    );
    assert_eq!(broken.num_calls(), 1, "no chunk after the first failure");
    let got = received.lock().unwrap();
    let numbers: Vec<u64> = got.iter().map(|d| d["chunk"].as_u64().unwrap()).collect();
    assert_eq!(numbers, (1..=expected as u64).collect::<Vec<_>>());
    let resources: usize = got
        .iter()
        .map(|d| d["resources"].as_array().unwrap().len())
        .sum();
    assert_eq!(
        resources,
        r.resources.len(),
        "every resource reached the consumer"
    );
}

/// A local endpoint that accepts connections and never answers. The receiver hears
/// once per connection when the client has closed it.
async fn hanging_endpoint() -> (u16, tokio::sync::mpsc::UnboundedReceiver<()>) {
    use tokio::io::AsyncReadExt;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let (closed, heard) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let closed = closed.clone();
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                // Reads the request, then waits for the end of the connection.
                while !matches!(socket.read(&mut buf).await, Ok(0) | Err(_)) {}
                let _ = closed.send(());
            });
        }
    });
    (port, heard)
}

/// An SNS client with the production SDK settings: the clients' timeouts (30 s per
/// attempt, 120 s per call), adaptive retries, 5 attempts.
fn production_sns(port: u16) -> aws_sdk_sns::Client {
    let conf = aws_sdk_sns::Config::builder()
        .behavior_version(aws_sdk_sns::config::BehaviorVersion::latest())
        .region(aws_sdk_sns::config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_sns::config::Credentials::new(
            "AKID", "secret", None, None, "test",
        ))
        .endpoint_url(format!("http://127.0.0.1:{port}"))
        .timeout_config(ipam_monitor::aws::setup::timeout_config())
        .retry_config(ipam_monitor::aws::setup::retry_config(Default::default()))
        .build();
    aws_sdk_sns::Client::from_conf(conf)
}

#[tokio::test]
async fn a_call_to_an_endpoint_that_never_answers_ends_when_the_time_left_runs_out() {
    let (port, _closed) = hanging_endpoint().await;
    let sinks: Vec<Box<dyn Sink>> = vec![Box::new(sns_sink(production_sns(port)))];
    // Three seconds left: the call's own timeout (about 2.4 s) comes before the
    // sinks' cut (2.7 s), and both long before the clients' 120 s.
    let deadline = std::time::Instant::now() + Duration::from_secs(3);
    let out = deliver_all(&sinks, &report(4, 2), &ctx(), false, Some(deadline)).await;
    assert_eq!(out[0].status, DeliveryStatus::Failed);
    // The SDK's operation timeout ended the call, inside the sink (which reports it as
    // the Publish that failed), not the sinks' cut ("DeadlineExceeded").
    let detail = &out[0].detail;
    assert!(detail.starts_with("Publish failed"), "{detail}");
    assert!(detail.contains("operation timeout"), "{detail}");
    assert!(!detail.contains("DeadlineExceeded"), "{detail}");
}

#[tokio::test]
async fn a_call_cut_by_its_step_is_dropped_with_its_connection() {
    // What a step's tokio cut does to an SDK call in flight: the call (its retry loop
    // included) is the future that is dropped, and the connection goes with it.
    let (port, mut closed) = hanging_endpoint().await;
    let client = production_sns(port);
    let call = client
        .publish()
        .topic_arn("arn:aws:sns:us-east-1:123456789012:t")
        .message("m")
        .send();
    let cut = tokio::time::timeout(Duration::from_millis(500), call).await;
    assert!(cut.is_err(), "the endpoint answered: {cut:?}");
    // The endpoint sees the connection closed; the guard only keeps a failure from
    // hanging the test (an open connection would wait 30 s for the attempt timeout).
    let heard = tokio::time::timeout(Duration::from_secs(20), closed.recv()).await;
    assert_eq!(
        heard,
        Ok(Some(())),
        "the connection stayed open after the cut"
    );
    drop(client);
}

#[tokio::test]
async fn a_failed_put_metric_data_loses_only_its_own_batch() {
    use aws_sdk_cloudwatch::operation::put_metric_data::PutMetricDataOutput;
    // 700 subnets: 2,809 metrics in three requests; the second is refused (a 400;
    // CloudWatch speaks CBOR, so the XML body's code is not read, only the status).
    let put = mock!(aws_sdk_cloudwatch::Client::put_metric_data)
        .sequence()
        .output(|| PutMetricDataOutput::builder().build())
        .http_response(|| aws_error(400, "InvalidParameterValue", "bad datum"))
        .output(|| PutMetricDataOutput::builder().build())
        .build();
    let client = mock_client!(aws_sdk_cloudwatch, RuleMode::Sequential, [&put], |b| b
        .retry_config(fast_retries()));
    let sink = CloudWatchSink {
        client,
        namespace: "IpamMonitor".into(),
        policy: MetricPolicy::All,
    };
    let err = sink.deliver(&report(700, 3), &ctx()).await.unwrap_err();
    assert_eq!(put.num_calls(), 3, "the third request still went");
    assert_eq!(err.operation, "PutMetricData");
    assert!(
        err.message
            .contains("1 of 3 request(s) failed (no error code), 1000 of 2809 metrics lost"),
        "{}",
        err.message
    );
}
