//! The monitor run several times against one emulator, with its memory in the
//! emulator's S3 and utilization changed between runs by adding and deleting ENIs (moto
//! counts one address per private IP): one alert on a breach, silence while nothing
//! changes, a reminder after the interval (the clock is injected), a recovery, no
//! flapping at a threshold, a forecast, a corrupted state surviving as a warning, a
//! retried request not alerting twice, and the archive readable by date.

mod common;

use aws_sdk_ec2::types::{Filter, Tag, TagSpecification};
use aws_sdk_s3::primitives::ByteStream;
use common::Emulator;
use ipam_monitor::app::config::{AlertMode, Config, RegionSelection, StateLocation};
use ipam_monitor::app::handler::{App, RunOutput};
use ipam_monitor::app::wiring::{sinks_from_config, store_from_config};
use ipam_monitor::domain::report::{Change, ResourceRecord};
use ipam_monitor::domain::thresholds::Status;
use ipam_monitor::sinks::DeliveryStatus;
use ipam_monitor::source::ec2::Ec2Source;
use ipam_monitor::store::codec::gunzip;
use serde_json::{json, Value};
use std::time::{Duration, UNIX_EPOCH};

const TOPIC: &str = "arn:aws:sns:us-east-1:123456789012:ipam-alerts";
const INBOX: &str = "ipam-alerts-inbox";
const BUCKET: &str = "ipam-monitor-state";
const HOUR: u64 = 3600;
const DAY: u64 = 24 * HOUR;
/// 2026-12-01T00:00:00Z.
const T0: u64 = 1_796_083_200;

/// The emulator with the demo estate, and one more subnet (a /24: 251 usable) whose
/// use the tests change.
struct Lab {
    emu: Emulator,
    ec2: aws_sdk_ec2::Client,
    subnet_id: String,
    enis: Vec<String>,
}

impl Lab {
    async fn new() -> Lab {
        let emu = Emulator::start(Some("demo"));
        let sdk = emu.sdk_config("us-east-1").await;
        let ec2 = aws_sdk_ec2::Client::new(&sdk);
        let vpc = ec2
            .create_vpc()
            .cidr_block("10.99.0.0/16")
            .send()
            .await
            .unwrap();
        let vpc_id = vpc.vpc().unwrap().vpc_id().unwrap().to_string();
        let subnet = ec2
            .create_subnet()
            .vpc_id(&vpc_id)
            .cidr_block("10.99.0.0/24")
            .tag_specifications(
                TagSpecification::builder()
                    .resource_type("subnet".into())
                    .tags(Tag::builder().key("Name").value("growing").build())
                    .build(),
            )
            .send()
            .await
            .unwrap();
        let subnet_id = subnet.subnet().unwrap().subnet_id().unwrap().to_string();
        Lab {
            emu,
            ec2,
            subnet_id,
            enis: Vec::new(),
        }
    }

    /// Holds exactly `used` addresses in the subnet, in ENIs of at most 50.
    async fn use_addresses(&mut self, used: usize) {
        for eni in self.enis.drain(..) {
            self.ec2
                .delete_network_interface()
                .network_interface_id(eni)
                .send()
                .await
                .unwrap();
        }
        let mut left = used;
        while left > 0 {
            let n = left.min(50);
            let eni = self
                .ec2
                .create_network_interface()
                .subnet_id(&self.subnet_id)
                .secondary_private_ip_address_count(n as i32 - 1)
                .send()
                .await
                .unwrap();
            let id = eni
                .network_interface()
                .unwrap()
                .network_interface_id()
                .unwrap();
            self.enis.push(id.to_string());
            left -= n;
        }
        let seen = self
            .ec2
            .describe_subnets()
            .filters(
                Filter::builder()
                    .name("subnet-id")
                    .values(&self.subnet_id)
                    .build(),
            )
            .send()
            .await
            .unwrap();
        let available = seen.subnets()[0].available_ip_address_count().unwrap();
        assert_eq!(
            available as usize,
            251 - used,
            "the emulator counts what the ENIs hold"
        );
    }

    async fn app(&self, mode: AlertMode) -> App<Ec2Source> {
        let config = Config {
            regions: RegionSelection::List(vec!["us-east-1".into()]),
            own_region: Some("us-east-1".into()),
            sns_topic_arn: Some(TOPIC.into()),
            metrics_mode: ipam_monitor::app::config::MetricsMode::Off,
            state: Some(StateLocation {
                bucket: BUCKET.into(),
                prefix: "ipam-monitor/".into(),
            }),
            alert_mode: mode,
            ..Config::default()
        };
        let sdk = self.emu.sdk_config("us-east-1").await;
        App {
            source: Ec2Source::new(&sdk, None),
            sinks: sinks_from_config(&config, &sdk),
            store: store_from_config(&config, &sdk),
            config,
        }
    }

    /// One run at `at` seconds since the epoch.
    async fn run(&self, app: &App<Ec2Source>, at: u64, run_id: &str) -> RunOutput {
        let now = UNIX_EPOCH + Duration::from_secs(at);
        app.run_at(&json!({}), run_id.into(), now, None)
            .await
            .expect("the run succeeds")
    }

    async fn s3(&self) -> aws_sdk_s3::Client {
        let sdk = self.emu.sdk_config("us-east-1").await;
        let conf = aws_sdk_s3::config::Builder::from(&sdk)
            .force_path_style(true)
            .build();
        aws_sdk_s3::Client::from_conf(conf)
    }

    /// The alerts the SQS inbox received since the last call: (subject, message,
    /// the `changes` attribute).
    async fn alerts(&self) -> Vec<(String, String, String)> {
        let sdk = self.emu.sdk_config("us-east-1").await;
        let sqs = aws_sdk_sqs::Client::new(&sdk);
        let queue = sqs.get_queue_url().queue_name(INBOX).send().await.unwrap();
        let url = queue.queue_url().unwrap();
        let mut out = Vec::new();
        loop {
            let got = sqs
                .receive_message()
                .queue_url(url)
                .max_number_of_messages(10)
                .send()
                .await
                .unwrap();
            if got.messages().is_empty() {
                return out;
            }
            for m in got.messages() {
                let envelope: Value = serde_json::from_str(m.body().unwrap()).unwrap();
                out.push((
                    envelope["Subject"].as_str().unwrap_or_default().to_string(),
                    envelope["Message"].as_str().unwrap_or_default().to_string(),
                    envelope["MessageAttributes"]["changes"]["Value"]
                        .as_str()
                        .unwrap_or_default()
                        .to_string(),
                ));
                sqs.delete_message()
                    .queue_url(url)
                    .receipt_handle(m.receipt_handle().unwrap())
                    .send()
                    .await
                    .unwrap();
            }
        }
    }
}

fn growing<'a>(out: &'a RunOutput, subnet_id: &str) -> &'a ResourceRecord {
    out.report
        .resources
        .iter()
        .find(|r| r.resource_id == subnet_id)
        .expect("the growing subnet is reported")
}

fn change(out: &RunOutput, subnet_id: &str) -> Option<Change> {
    growing(out, subnet_id).history.as_ref().unwrap().change
}

fn sink<'a>(out: &'a RunOutput, name: &str) -> &'a ipam_monitor::sinks::SinkOutcome {
    out.sinks.iter().find(|s| s.sink == name).unwrap()
}

async fn make_bucket(lab: &Lab) {
    lab.s3()
        .await
        .create_bucket()
        .bucket(BUCKET)
        .send()
        .await
        .unwrap();
}

#[tokio::test]
async fn alerts_tell_changes_once_remind_recover_and_do_not_flap() {
    let mut lab = Lab::new().await;
    make_bucket(&lab).await;
    let app = lab.app(AlertMode::Changes).await;
    let id = lab.subnet_id.clone();

    // First run: the demo estate's breaches are all new; one alert.
    lab.use_addresses(100).await;
    let first = lab.run(&app, T0, "run-1").await;
    let alerts = lab.alerts().await;
    assert_eq!(alerts.len(), 1);
    assert!(alerts[0].0.contains("new critical"), "{}", alerts[0].0);
    assert!(alerts[0].1.contains("== NEW CRITICAL"), "{}", alerts[0].1);
    assert_eq!(change(&first, &id), None, "39.84% is OK");
    let h = first.report.outcome.history.as_ref().unwrap();
    assert!(h.previous_run.is_none());
    assert!(h.warnings.is_empty(), "{:?}", h.warnings);
    assert_eq!(sink(&first, "state").status, DeliveryStatus::Delivered);
    assert_eq!(sink(&first, "archive").status, DeliveryStatus::Delivered);

    // Nothing changed an hour later: silence. The memory costs one read and one
    // write of the state, and two archive objects, whatever the estate's size.
    lab.emu.reset_request_counts();
    let quiet = lab.run(&app, T0 + HOUR, "run-2").await;
    let s3_calls: std::collections::BTreeMap<String, u64> = lab
        .emu
        .request_counts()
        .into_iter()
        .filter(|(k, _)| k.starts_with("s3:"))
        .collect();
    assert_eq!(
        s3_calls,
        [
            ("s3:GetObject".to_string(), 1),
            ("s3:PutObject".to_string(), 3)
        ]
        .into(),
        "{s3_calls:?}"
    );
    assert_eq!(sink(&quiet, "sns").status, DeliveryStatus::Skipped);
    assert!(
        lab.alerts().await.is_empty(),
        "no alert while nothing changes"
    );
    assert_eq!(
        quiet
            .report
            .outcome
            .history
            .as_ref()
            .unwrap()
            .previous_run
            .as_ref()
            .unwrap()
            .run_id,
        "run-1"
    );

    // 201 of 251 = 80.08 %: a new WARNING, and only that in the alert, with its VPC
    // (whose figures are its one subnet's).
    lab.use_addresses(201).await;
    let warn = lab.run(&app, T0 + 2 * HOUR, "run-3").await;
    assert_eq!(change(&warn, &id), Some(Change::NewWarning));
    let alerts = lab.alerts().await;
    assert_eq!(alerts.len(), 1);
    assert!(
        alerts[0]
            .0
            .starts_with("[WARNING] 2 new warning: growing 80.1%"),
        "{}",
        alerts[0].0
    );
    assert_eq!(alerts[0].2, "[\"new_warning\"]");

    // Hovering at the threshold: 199 (79.28 %, held by the 2-point margin) and back.
    for (n, used) in [(4, 199), (5, 201), (6, 199)] {
        lab.use_addresses(used).await;
        let out = lab.run(&app, T0 + n * HOUR, &format!("run-{n}")).await;
        assert_eq!(growing(&out, &id).status, Status::Warning);
        assert_eq!(change(&out, &id), None);
    }
    assert!(lab.alerts().await.is_empty(), "no flapping at 80%");

    // Down to 150 (59.76 %): recovered, told once.
    lab.use_addresses(150).await;
    let ok = lab.run(&app, T0 + 7 * HOUR, "run-7").await;
    assert_eq!(growing(&ok, &id).status, Status::Ok);
    assert_eq!(change(&ok, &id), Some(Change::Recovered));
    let alerts = lab.alerts().await;
    assert_eq!(alerts.len(), 1);
    assert!(
        alerts[0].0.starts_with("[OK] 2 recovered: growing"),
        "{}",
        alerts[0].0
    );
    assert!(alerts[0].1.contains("== RECOVERED (2)"), "{}", alerts[0].1);

    // A day after the first alert: the demo's breaches are reminded; the recovered
    // subnet is not mentioned.
    let remind = lab.run(&app, T0 + DAY, "run-8").await;
    assert_eq!(change(&remind, &id), None);
    let alerts = lab.alerts().await;
    assert_eq!(alerts.len(), 1);
    assert!(
        alerts[0].1.contains("== STILL IN BREACH (reminder)"),
        "{}",
        alerts[0].1
    );
    assert!(!alerts[0].1.contains("growing"), "{}", alerts[0].1);
    assert_eq!(alerts[0].2, "[\"reminder\"]");
}

#[tokio::test]
async fn forecast_corrupt_state_retry_and_archive() {
    let mut lab = Lab::new().await;
    make_bucket(&lab).await;
    let app = lab.app(AlertMode::Changes).await;
    let id = lab.subnet_id.clone();
    let s3 = lab.s3().await;

    // A corrupted state object: a warning in the report, and the run goes on as a
    // first run that replaces it.
    s3.put_object()
        .bucket(BUCKET)
        .key("ipam-monitor/state/state.json.gz")
        .body(ByteStream::from_static(b"{ not gzip"))
        .send()
        .await
        .unwrap();
    // Daily growth: 100, 110, 120 used (see tests/history.rs for the hand-computed
    // trend: +3.985 points a day, full in 13.1 days, critical in ~12).
    lab.use_addresses(100).await;
    let d0 = lab.run(&app, T0, "day-0").await;
    let warnings = &d0.report.outcome.history.as_ref().unwrap().warnings;
    assert_eq!(warnings.len(), 1);
    assert!(warnings[0].contains("not readable"), "{warnings:?}");
    assert_eq!(sink(&d0, "state").status, DeliveryStatus::Delivered);
    lab.alerts().await;

    lab.use_addresses(110).await;
    lab.run(&app, T0 + DAY, "day-1").await;
    // The demo's breaches are reminded a day on; only day 2's alert is looked at.
    lab.alerts().await;
    lab.use_addresses(120).await;
    let d2 = lab.run(&app, T0 + 2 * DAY, "day-2").await;
    assert!(d2
        .report
        .outcome
        .history
        .as_ref()
        .unwrap()
        .warnings
        .is_empty());
    let r = growing(&d2, &id);
    let h = r.history.as_ref().unwrap();
    assert_eq!(h.days_to_exhaustion, Some(13.1f32));
    assert!((f64::from(h.growth_points_per_day.unwrap()) - 3.985).abs() <= 0.006);
    assert_eq!(
        r.status,
        Status::Warning,
        "critical is forecast within 30 days"
    );
    assert_eq!(h.change, Some(Change::NewWarning));
    let alerts = lab.alerts().await;
    assert_eq!(alerts.len(), 1);
    assert!(alerts[0].1.contains("full in ~13 days"), "{}", alerts[0].1);

    // The archive: one JSON line per resource under the run's date, and the run.
    let day = "2026-12-03";
    let records_key = format!("ipam-monitor/reports/dt={day}/day-2.jsonl.gz");
    assert_eq!(
        d2.report
            .outcome
            .history
            .as_ref()
            .unwrap()
            .archive
            .as_deref(),
        Some(format!("s3://{BUCKET}/{records_key}").as_str())
    );
    let got = s3
        .get_object()
        .bucket(BUCKET)
        .key(&records_key)
        .send()
        .await
        .unwrap();
    let bytes = got.body.collect().await.unwrap().into_bytes();
    let text = String::from_utf8(gunzip(&bytes).unwrap()).unwrap();
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), d2.report.resources.len());
    let line = lines
        .iter()
        .find(|l| l["resource_id"] == id.as_str())
        .unwrap();
    assert_eq!(line["run_id"], "day-2");
    assert_eq!(line["generated_at"], "2026-12-03T00:00:00Z");
    assert_eq!(line["history"]["days_to_exhaustion"], 13.1);
    let run = s3
        .get_object()
        .bucket(BUCKET)
        .key(format!("ipam-monitor/runs/dt={day}/day-2.json.gz"))
        .send()
        .await
        .unwrap();
    let run: Value =
        serde_json::from_slice(&gunzip(&run.body.collect().await.unwrap().into_bytes()).unwrap())
            .unwrap();
    assert_eq!(run["summary"]["resources"], lines.len());
    assert!(run.get("resources").is_none());

    // Lambda retries the same request: nothing is sent twice.
    let retry = lab.run(&app, T0 + 2 * DAY + 60, "day-2").await;
    let h = retry.report.outcome.history.as_ref().unwrap();
    assert!(h.retried_request);
    assert_eq!(sink(&retry, "sns").status, DeliveryStatus::Skipped);
    assert!(lab.alerts().await.is_empty());
}

#[tokio::test]
async fn every_run_mode_alerts_each_run_but_never_twice_for_one_request() {
    let mut lab = Lab::new().await;
    make_bucket(&lab).await;
    let app = lab.app(AlertMode::EveryRun).await;
    lab.use_addresses(240).await;
    lab.run(&app, T0, "a").await;
    lab.run(&app, T0 + HOUR, "b").await;
    assert_eq!(
        lab.alerts().await.len(),
        2,
        "every run alerts in every-run mode"
    );
    let retry = lab.run(&app, T0 + HOUR + 30, "b").await;
    assert_eq!(sink(&retry, "sns").status, DeliveryStatus::Skipped);
    assert!(sink(&retry, "sns").detail.contains("earlier attempt"));
    assert!(lab.alerts().await.is_empty());
}
