//! The S3 state store's exact requests and its faults, on a mocked client: the
//! conditional write (If-None-Match for a new object, If-Match its ETag otherwise), a
//! conflicting write merged with the other run's state and written again, an
//! unreadable state never overwritten, and a failed alert not marked as told.

use aws_sdk_s3::operation::get_object::GetObjectOutput;
use aws_sdk_s3::operation::put_object::PutObjectOutput;
use aws_sdk_s3::primitives::ByteStream;
use aws_smithy_mocks::{mock, mock_client, RuleMode};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::http::StatusCode;
use aws_smithy_types::body::SdkBody;
use ipam_monitor::app::memory::{keep, Recalled, Remembered};
use ipam_monitor::domain::calculator::{calculate, remember, HistoryRules, RunMark};
use ipam_monitor::domain::inventory::{Inventory, Subnet, Tags};
use ipam_monitor::domain::report::{Report, Timestamp};
use ipam_monitor::domain::state::{ResourceHistory, State, STATE_VERSION};
use ipam_monitor::domain::thresholds::{Status, ThresholdSource, Thresholds};
use ipam_monitor::sinks::{DeliveryStatus, SinkOutcome};
use ipam_monitor::store::codec::{decode_state, encode_state};
use ipam_monitor::store::s3::S3Store;
use ipam_monitor::store::{StateStore, StoreError, Version};
use std::time::{Duration, UNIX_EPOCH};

const T0: u64 = 1_796_083_200;
const KEY: &str = "p/state/state.json.gz";

fn s3_error(status: u16, code: &str) -> HttpResponse {
    HttpResponse::new(
        StatusCode::try_from(status).unwrap(),
        SdkBody::from(format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>{code}</Code><Message>{code}</Message><RequestId>r1</RequestId></Error>"
        )),
    )
}

fn store(client: aws_sdk_s3::Client) -> S3Store {
    S3Store {
        client,
        bucket: "b".into(),
        prefix: "p/".into(),
    }
}

/// A report of one subnet at 95.62 % (CRITICAL, new) and the state to save after it.
fn critical_run() -> (Report, Remembered) {
    let inv = Inventory {
        subnets: vec![Subnet {
            id: "subnet-1".into(),
            vpc_id: "vpc-1".into(),
            account_id: "111111111111".into(),
            region: "us-east-1".into(),
            availability_zone: "us-east-1a".into(),
            ipv4_cidr: Some("10.0.0.0/24".parse().unwrap()),
            ipv6_cidrs: vec![],
            available_ips: Some(11),
            tags: Tags::new(),
            warnings: vec![],
        }],
        ..Inventory::default()
    };
    let mut calculated = calculate(inv, &Thresholds::default(), ThresholdSource::Config);
    let mark = RunMark {
        now: Timestamp::from_unix_seconds(T0),
        run_id: "run-1",
        request_id: Some("run-1"),
    };
    let state = remember(
        &mut calculated,
        State::default(),
        |_, _| true,
        mark,
        &HistoryRules::default(),
    );
    let report = Report::new(
        "run-1".into(),
        UNIX_EPOCH + Duration::from_secs(T0),
        Thresholds::default(),
        ThresholdSource::Config,
        vec![],
        vec![],
        calculated,
    );
    (
        report,
        Remembered {
            state,
            save_over: Some(Version::Absent),
        },
    )
}

fn delivered(sink: &str, status: DeliveryStatus) -> SinkOutcome {
    SinkOutcome {
        sink: sink.into(),
        status,
        detail: String::new(),
    }
}

#[tokio::test]
async fn a_missing_state_is_a_first_run_and_is_created_only_if_still_absent() {
    let get = mock!(aws_sdk_s3::Client::get_object)
        .match_requests(|r| r.bucket() == Some("b") && r.key() == Some(KEY))
        .then_http_response(|| s3_error(404, "NoSuchKey"));
    let put = mock!(aws_sdk_s3::Client::put_object)
        .match_requests(|r| {
            r.key() == Some(KEY) && r.if_none_match() == Some("*") && r.if_match().is_none()
        })
        .then_output(|| PutObjectOutput::builder().e_tag("\"e1\"").build());
    let client = mock_client!(aws_sdk_s3, RuleMode::Sequential, [&get, &put]);
    let store = store(client);
    let loaded = store.load().await.unwrap();
    assert_eq!(loaded.version, Version::Absent);
    assert!(loaded.bytes.is_none());
    let previous = Recalled { loaded: Ok(loaded) }.previous();
    assert!(previous.warnings.is_empty());
    let (report, remembered) = critical_run();
    let out = keep(
        &store,
        remembered,
        &report,
        &[delivered("sns", DeliveryStatus::Delivered)],
    )
    .await;
    assert_eq!(out.status, DeliveryStatus::Delivered, "{}", out.detail);
    assert_eq!((get.num_calls(), put.num_calls()), (1, 1));
}

#[tokio::test]
async fn a_conflicting_write_is_merged_with_the_other_runs_state_and_written_again() {
    // Another run saved a resource this one never saw, after this one read "e1".
    let mut theirs = State {
        version: STATE_VERSION,
        ..State::default()
    };
    theirs.resources.insert(
        "subnet/222222222222/eu-west-1/subnet-9".into(),
        ResourceHistory {
            status: Status::Ok,
            since: T0 - 3600,
            told: None,
            samples: vec![],
        },
    );
    let theirs_bytes = encode_state(&theirs);
    let first = mock!(aws_sdk_s3::Client::put_object)
        .match_requests(|r| r.if_match() == Some("\"e1\""))
        .then_http_response(|| s3_error(412, "PreconditionFailed"));
    let reread = mock!(aws_sdk_s3::Client::get_object).then_output(move || {
        GetObjectOutput::builder()
            .e_tag("\"e2\"")
            .body(ByteStream::from(theirs_bytes.clone()))
            .build()
    });
    let second = mock!(aws_sdk_s3::Client::put_object)
        .match_requests(|r| {
            let Some(bytes) = r.body().bytes() else {
                return false;
            };
            let saved = decode_state(bytes).expect("a readable state is saved");
            r.if_match() == Some("\"e2\"")
                && saved
                    .resources
                    .contains_key("subnet/222222222222/eu-west-1/subnet-9")
                && saved.resources["subnet/111111111111/us-east-1/subnet-1"]
                    .told
                    .is_some_and(|t| t.status == Status::Critical && t.at == T0)
        })
        .then_output(|| PutObjectOutput::builder().build());
    let client = mock_client!(aws_sdk_s3, RuleMode::Sequential, [&first, &reread, &second]);
    let (report, mut remembered) = critical_run();
    remembered.save_over = Some(Version::Etag("\"e1\"".into()));
    let out = keep(
        &store(client),
        remembered,
        &report,
        &[delivered("sns", DeliveryStatus::Delivered)],
    )
    .await;
    assert_eq!(out.status, DeliveryStatus::Delivered, "{}", out.detail);
    assert_eq!(
        (first.num_calls(), reread.num_calls(), second.num_calls()),
        (1, 1, 1)
    );
}

#[tokio::test]
async fn an_unreadable_state_is_never_overwritten_and_a_failed_alert_is_not_told() {
    let denied =
        mock!(aws_sdk_s3::Client::get_object).then_http_response(|| s3_error(403, "AccessDenied"));
    let put = mock!(aws_sdk_s3::Client::put_object)
        .match_requests(|r| {
            let saved = decode_state(r.body().bytes().unwrap()).unwrap();
            // The SNS sink failed: the breach stays untold, to be told next run.
            saved.resources["subnet/111111111111/us-east-1/subnet-1"]
                .told
                .is_none()
        })
        .then_output(|| PutObjectOutput::builder().build());
    let client = mock_client!(aws_sdk_s3, RuleMode::MatchAny, [&denied, &put]);
    let store = store(client);
    let err = store.load().await.unwrap_err();
    assert!(
        matches!(&err, StoreError::Aws { operation, code, .. } if operation == "GetObject" && code.as_deref() == Some("AccessDenied")),
        "{err:?}"
    );
    let previous = Recalled { loaded: Err(err) }.previous();
    assert!(previous.save_over.is_none());
    assert!(
        previous.warnings[0].contains("AccessDenied"),
        "{:?}",
        previous.warnings
    );

    let (report, mut remembered) = critical_run();
    remembered.save_over = None;
    let out = keep(&store, remembered, &report, &[]).await;
    assert_eq!(out.status, DeliveryStatus::Skipped, "{}", out.detail);
    assert_eq!(
        put.num_calls(),
        0,
        "a state that could not be read is not replaced"
    );

    let (report, remembered) = critical_run();
    let out = keep(
        &store,
        remembered,
        &report,
        &[delivered("sns", DeliveryStatus::Failed)],
    )
    .await;
    assert_eq!(out.status, DeliveryStatus::Delivered, "{}", out.detail);
    assert!(out.detail.contains("told again"), "{}", out.detail);
    assert_eq!(put.num_calls(), 1);
}
