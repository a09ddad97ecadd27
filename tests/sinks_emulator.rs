//! Sinks over HTTP against the emulator, read back: CloudWatch metrics through
//! GetMetricData/ListMetrics, the SNS alert through an SQS subscription, downstream
//! invokes through the emulator's request counts.

mod common;

use aws_sdk_cloudwatch::primitives::DateTime;
use aws_sdk_cloudwatch::types::{Dimension, DimensionFilter, Metric, MetricDataQuery, MetricStat};
use common::Emulator;
use ipam_monitor::app::config::{Config, RegionSelection};
use ipam_monitor::app::handler::{App, HandlerError, RunOutput};
use ipam_monitor::app::wiring::sinks_from_config;
use ipam_monitor::domain::calculator::calculate;
use ipam_monitor::domain::inventory::{Inventory, Subnet, Tags};
use ipam_monitor::domain::report::Report;
use ipam_monitor::domain::thresholds::{ThresholdSource, Thresholds};
use ipam_monitor::sinks::cloudwatch::CloudWatchSink;
use ipam_monitor::sinks::metrics::MetricPolicy;
use ipam_monitor::sinks::{deliver_all, DeliveryStatus, RunContext, Sink};
use ipam_monitor::source::ec2::Ec2Source;
use serde_json::{json, Value};
use std::time::{Duration, SystemTime};

const TOPIC: &str = "arn:aws:sns:us-east-1:123456789012:ipam-alerts";
const INBOX: &str = "ipam-alerts-inbox";
const CONSUMER: &str = "ipam-report-consumer";

fn demo_config() -> Config {
    Config {
        regions: RegionSelection::List(vec!["us-east-1".into(), "eu-west-1".into()]),
        own_region: Some("us-east-1".into()),
        metric_namespace: "IpamMonitorTest".into(),
        sns_topic_arn: Some(TOPIC.into()),
        downstream_functions: vec![CONSUMER.into()],
        ..Config::default()
    }
}

async fn run_demo(emu: &Emulator, config: Config) -> Result<RunOutput, HandlerError> {
    let sdk = emu.sdk_config("us-east-1").await;
    let app = App {
        store: None,
        source: Ec2Source::new(&sdk, None),
        sinks: sinks_from_config(&config, &sdk),
        config,
    };
    app.run(&json!({}), "sink-run".into()).await
}

fn dim(name: &str, value: &str) -> Dimension {
    Dimension::builder().name(name).value(value).build()
}

#[tokio::test]
async fn every_sink_delivers_the_demo_run() {
    let emu = Emulator::start(Some("demo"));
    let out = run_demo(&emu, demo_config())
        .await
        .expect("all sinks deliver");
    let statuses: Vec<(&str, DeliveryStatus)> = out
        .sinks
        .iter()
        .map(|s| (s.sink.as_str(), s.status))
        .collect();
    assert_eq!(
        statuses,
        [
            ("cloudwatch", DeliveryStatus::Delivered),
            ("sns", DeliveryStatus::Delivered),
            ("downstream", DeliveryStatus::Delivered)
        ]
    );
    let counts = emu.request_counts();
    // The focused policy (the default): 11 aggregates (6 run-level counts, breaches
    // per severity, the highest utilization of subnets, VPCs and pools), then one
    // UtilizationPercent each for the 4 subnets in breach.
    assert!(
        out.sinks[0]
            .detail
            .starts_with("15 metrics (focused policy) in 1 PutMetricData"),
        "{}",
        out.sinks[0].detail
    );
    let m = out.metrics.expect("metrics are on");
    assert_eq!((m.policy, m.per_run, m.monthly_usd), ("focused", 15, 4.5));
    assert_eq!(counts.get("cloudwatch:PutMetricData"), Some(&1));
    assert_eq!(counts.get("sns:Publish"), Some(&1));
    assert_eq!(counts.get("lambda:Invoke"), Some(&1));

    // CloudWatch: read prod-db-a's figures back with their dimensions.
    let sdk = emu.sdk_config("us-east-1").await;
    let cw = aws_sdk_cloudwatch::Client::new(&sdk);
    let db = out
        .report
        .resources
        .iter()
        .find(|r| r.name.as_deref() == Some("prod-db-a"))
        .unwrap();
    let dims = vec![
        dim("ResourceType", "subnet"),
        dim("ResourceId", &db.resource_id),
        dim("AccountId", "123456789012"),
        dim("Region", "us-east-1"),
    ];
    let query = |id: &str, name: &str| {
        MetricDataQuery::builder()
            .id(id)
            .metric_stat(
                MetricStat::builder()
                    .metric(
                        Metric::builder()
                            .namespace("IpamMonitorTest")
                            .metric_name(name)
                            .set_dimensions(Some(dims.clone()))
                            .build(),
                    )
                    .period(60)
                    .stat("Maximum")
                    .build(),
            )
            .build()
    };
    let now = SystemTime::now();
    let got = cw
        .get_metric_data()
        .metric_data_queries(query("util", "UtilizationPercent"))
        .metric_data_queries(query("used", "UsedAddresses"))
        .metric_data_queries(query("free", "FreeAddresses"))
        .metric_data_queries(query("total", "TotalAddresses"))
        .start_time(DateTime::from(now - Duration::from_secs(3600)))
        .end_time(DateTime::from(now + Duration::from_secs(600)))
        .send()
        .await
        .expect("GetMetricData");
    let values: Vec<(String, Vec<f64>)> = got
        .metric_data_results()
        .iter()
        .map(|r| (r.id().unwrap_or_default().to_string(), r.values().to_vec()))
        .collect();
    // One metric per resource that matters: the counts are in the report.
    assert_eq!(
        values,
        [
            ("util".to_string(), vec![95.62]),
            ("used".to_string(), vec![]),
            ("free".to_string(), vec![]),
            ("total".to_string(), vec![]),
        ]
    );
    let listed = cw
        .list_metrics()
        .namespace("IpamMonitorTest")
        .metric_name("ResourcesInBreach")
        .send()
        .await
        .unwrap();
    let mut sets: Vec<Vec<(String, String)>> = listed
        .metrics()
        .iter()
        .map(|m| {
            m.dimensions()
                .iter()
                .map(|d| {
                    (
                        d.name().unwrap().to_string(),
                        d.value().unwrap().to_string(),
                    )
                })
                .collect()
        })
        .collect();
    sets.sort();
    assert_eq!(
        sets,
        [
            vec![],
            vec![("Severity".to_string(), "CRITICAL".to_string())],
            vec![("Severity".to_string(), "WARNING".to_string())],
        ],
        "run-level metrics have no resource dimension"
    );
    let worst = cw
        .list_metrics()
        .namespace("IpamMonitorTest")
        .metric_name("MaxUtilizationPercent")
        .send()
        .await
        .unwrap();
    assert_eq!(worst.metrics().len(), 3, "one per resource type");
    let subnets = cw
        .list_metrics()
        .namespace("IpamMonitorTest")
        .metric_name("UtilizationPercent")
        .dimensions(
            DimensionFilter::builder()
                .name("ResourceType")
                .value("subnet")
                .build(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(subnets.metrics().len(), 4, "the subnets in breach only");

    // SNS: the alert as the SQS inbox received it.
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    let queue = sqs.get_queue_url().queue_name(INBOX).send().await.unwrap();
    let msgs = sqs
        .receive_message()
        .queue_url(queue.queue_url().unwrap())
        .max_number_of_messages(10)
        .send()
        .await
        .unwrap();
    assert_eq!(msgs.messages().len(), 1, "one alert per run");
    let envelope: Value = serde_json::from_str(msgs.messages()[0].body().unwrap()).unwrap();
    let subject = envelope["Subject"].as_str().unwrap();
    assert_eq!(
        subject,
        "[CRITICAL] 1 critical, 3 warning: prod-db-a 95.6% us-east-1"
    );
    assert!(subject.len() < 100 && !subject.contains('\n'));
    let body = envelope["Message"].as_str().unwrap();
    let firsts: Vec<&str> = body
        .lines()
        .filter(|l| l.starts_with("CRITICAL") || l.starts_with("WARNING"))
        .collect();
    // The carved shared-services VPC, full by allocation with no address in use,
    // does not page.
    assert_eq!(firsts.len(), 4, "{body}");
    assert!(!body.contains("shared-services"), "{body}");
    assert!(firsts[0].starts_with("CRITICAL subnet prod-db-a"), "{body}");
    assert!(
        body.contains(
            "  123456789012 us-east-1  10.0.16.0/24\n  95.62% used, 11 free\n  why: 95.62% used >= critical 95%\n"
        ),
        "{body}"
    );
    assert!(
        body.contains("  50.85% used, 29 free (tagged thresholds 50/95%)\n"),
        "{body}"
    );
    assert!(body.contains("Run sink-run at "), "{body}");
    assert!(
        body.contains("Full report: sent to Lambda function(s) ipam-report-consumer."),
        "{body}"
    );
    let attrs = &envelope["MessageAttributes"];
    assert_eq!(attrs["severity"]["Value"], "CRITICAL");
    assert_eq!(attrs["breach_count"]["Value"], "4");
    assert_eq!(attrs["overlap_conflicts"]["Value"], "0");
    assert_eq!(attrs["breach_count"]["Type"], "Number");
}

#[tokio::test]
async fn missing_topic_fails_only_the_sns_sink() {
    let emu = Emulator::start(Some("demo"));
    let config = Config {
        sns_topic_arn: Some("arn:aws:sns:us-east-1:123456789012:deleted-topic".into()),
        ..demo_config()
    };
    let Err(HandlerError::Incomplete { problems, output }) = run_demo(&emu, config).await else {
        panic!("a failed sink must fail the run");
    };
    assert!(
        problems.contains("sink sns failed: Publish failed: NotFound"),
        "{problems}"
    );
    let statuses: Vec<DeliveryStatus> = output.sinks.iter().map(|s| s.status).collect();
    assert_eq!(
        statuses,
        [
            DeliveryStatus::Delivered,
            DeliveryStatus::Failed,
            DeliveryStatus::Delivered
        ]
    );
    let counts = emu.request_counts();
    assert_eq!(counts.get("cloudwatch:PutMetricData"), Some(&1));
    assert_eq!(counts.get("lambda:Invoke"), Some(&1));
}

#[tokio::test]
async fn lambda_throttling_and_a_refused_payload_fail_only_the_downstream_sink() {
    for (status, code) in [
        (429, "TooManyRequestsException"),
        (413, "RequestTooLargeException"),
    ] {
        let emu = Emulator::start(Some("demo"));
        // More refusals than the SDK has attempts.
        emu.control_with_body(
            "POST",
            "/_emulator/faults",
            &json!({"operation": "lambda:Invoke", "count": 100, "status": status,
                    "code": code, "message": "injected"})
            .to_string(),
        );
        let Err(HandlerError::Incomplete { problems, output }) =
            run_demo(&emu, demo_config()).await
        else {
            panic!("a failed sink must fail the run");
        };
        assert!(problems.contains("sink downstream failed"), "{problems}");
        let down = &output.sinks[2];
        assert_eq!(down.status, DeliveryStatus::Failed);
        assert!(down.detail.contains(code), "{}", down.detail);
        // The alert and the metrics still went.
        let statuses: Vec<DeliveryStatus> = output.sinks[..2].iter().map(|s| s.status).collect();
        assert_eq!(
            statuses,
            [DeliveryStatus::Delivered, DeliveryStatus::Delivered]
        );
    }
}

fn synthetic_report(subnets: usize) -> Report {
    let inv = Inventory {
        subnets: (0..subnets)
            .map(|i| Subnet {
                id: format!("subnet-{i:08}").into(),
                vpc_id: "vpc-1".into(),
                account_id: "123456789012".into(),
                region: "us-east-1".into(),
                availability_zone: "us-east-1a".into(),
                ipv4_cidr: Some(format!("10.{}.{}.0/24", i / 256, i % 256).parse().unwrap()),
                ipv6_cidrs: vec![],
                available_ips: Some((i % 252) as i64),
                tags: Tags::new(),
                warnings: vec![],
            })
            .collect(),
        ..Inventory::default()
    };
    let calc = calculate(inv, &Thresholds::default(), ThresholdSource::Config);
    Report::new(
        "bulk".into(),
        SystemTime::now(),
        Thresholds::default(),
        ThresholdSource::Config,
        vec![],
        vec![],
        calc,
    )
}

#[tokio::test]
async fn two_thousand_five_hundred_metrics_take_exactly_three_requests() {
    let emu = Emulator::start(None);
    // Every resource (policy all): 622 subnets × 4 metrics + 9 aggregates = 2,497.
    let report = synthetic_report(622);
    let sdk = emu.sdk_config("us-east-1").await;
    let sinks: Vec<Box<dyn Sink>> = vec![Box::new(CloudWatchSink {
        client: aws_sdk_cloudwatch::Client::new(&sdk),
        namespace: "Bulk".into(),
        policy: MetricPolicy::All,
    })];
    emu.reset_request_counts();
    let ctx = RunContext {
        duration: Duration::from_millis(1234),
        ..Default::default()
    };
    let out = deliver_all(&sinks, &report, &ctx, false, None).await;
    assert_eq!(
        out[0].status,
        DeliveryStatus::Delivered,
        "{}",
        out[0].detail
    );
    assert!(
        out[0]
            .detail
            .starts_with("2497 metrics (all policy) in 3 PutMetricData"),
        "{}",
        out[0].detail
    );
    assert_eq!(
        emu.request_counts().get("cloudwatch:PutMetricData"),
        Some(&3)
    );

    let cw = aws_sdk_cloudwatch::Client::new(&sdk);
    let run = cw
        .list_metrics()
        .namespace("Bulk")
        .metric_name("RunDuration")
        .send()
        .await
        .unwrap();
    assert_eq!(run.metrics().len(), 1);
}

/// The names of the metrics in `namespace` that the emulator holds.
async fn listed_names(sdk: &aws_config::SdkConfig, namespace: &str) -> Vec<String> {
    let cw = aws_sdk_cloudwatch::Client::new(sdk);
    let listed = cw.list_metrics().namespace(namespace).send().await.unwrap();
    let mut names: Vec<String> = listed
        .metrics()
        .iter()
        .map(|m| m.metric_name().unwrap().to_string())
        .collect();
    names.sort();
    names.dedup();
    names
}

#[tokio::test]
async fn a_put_metric_data_refused_mid_run_loses_only_its_batch() {
    let emu = Emulator::start(None);
    let report = synthetic_report(622); // 2,497 metrics, 3 requests (policy all)
    let sdk = emu.sdk_config("us-east-1").await;
    let sink = CloudWatchSink {
        client: aws_sdk_cloudwatch::Client::new(&sdk),
        namespace: "Midway".into(),
        policy: MetricPolicy::All,
    };
    emu.reset_request_counts();
    // The second request is refused; a 400 is not retried.
    emu.control_with_body(
        "POST",
        "/_emulator/faults",
        r#"{"operation": "cloudwatch:PutMetricData", "from": 2, "count": 1,
            "status": 400, "code": "InvalidParameterValue", "message": "refused on purpose"}"#,
    );
    let ctx = RunContext {
        duration: Duration::from_millis(1234),
        ..Default::default()
    };
    let out = deliver_all(
        &[Box::new(sink) as Box<dyn Sink>],
        &report,
        &ctx,
        false,
        None,
    )
    .await;
    assert_eq!(out[0].status, DeliveryStatus::Failed);
    assert!(
        out[0].detail.contains(
            "1 of 3 request(s) failed (InvalidParameterValue), 1000 of 2497 metrics lost; the others were sent"
        ),
        "{}",
        out[0].detail
    );
    assert_eq!(
        emu.request_counts().get("cloudwatch:PutMetricData"),
        Some(&3),
        "the third request still went"
    );
    // The aggregates went first and arrived, and so did the third batch.
    let names = listed_names(&sdk, "Midway").await;
    for name in [
        "RunDuration",
        "ScopeErrors",
        "MaxUtilizationPercent",
        "TotalAddresses",
    ] {
        assert!(names.iter().any(|n| n == name), "{name} missing: {names:?}");
    }
}

#[tokio::test]
async fn throttled_put_metric_data_is_retried_and_loses_nothing() {
    let emu = Emulator::start(None);
    let report = synthetic_report(10);
    let sdk = emu.sdk_config("us-east-1").await;
    let sink = CloudWatchSink {
        client: aws_sdk_cloudwatch::Client::new(&sdk),
        namespace: "Throttled".into(),
        policy: MetricPolicy::All,
    };
    emu.reset_request_counts();
    emu.control_with_body(
        "POST",
        "/_emulator/faults",
        r#"{"operation": "cloudwatch:PutMetricData", "from": 1, "count": 2,
            "status": 400, "code": "Throttling", "message": "Rate exceeded"}"#,
    );
    let ctx = RunContext {
        duration: Duration::from_millis(5),
        ..Default::default()
    };
    let out = deliver_all(
        &[Box::new(sink) as Box<dyn Sink>],
        &report,
        &ctx,
        false,
        None,
    )
    .await;
    assert_eq!(
        out[0].status,
        DeliveryStatus::Delivered,
        "{}",
        out[0].detail
    );
    assert_eq!(
        emu.request_counts().get("cloudwatch:PutMetricData"),
        Some(&3),
        "two throttled attempts, then the one that went through"
    );
    assert!(listed_names(&sdk, "Throttled")
        .await
        .iter()
        .any(|n| n == "UtilizationPercent"));
}
