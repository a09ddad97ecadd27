//! What the aws-smithy-mocks tests of the EC2 and IPAM adapters share: the mocked
//! client and EC2's own answer shapes.
#![allow(dead_code)] // each test binary uses a different part of this module

use aws_sdk_ec2::config::retry::RetryConfig;
use aws_sdk_ec2::types as ec2;
use aws_sdk_ec2::Client;
use aws_smithy_mocks::{mock, mock_client, Rule, RuleMode};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::http::StatusCode;
use aws_smithy_types::body::SdkBody;
use ipam_monitor::domain::inventory::{Scope, Tags};
use ipnet::IpNet;
use std::time::Duration;

/// The account and region the adapter tests scan, and an account that shares
/// resources into it through AWS RAM.
pub const ACCOUNT: &str = "111122223333";
pub const SHARING_ACCOUNT: &str = "444455556666";
pub const REGION: &str = "eu-west-1";

pub fn scope() -> Scope {
    Scope {
        account_id: ACCOUNT.to_string(),
        region: REGION.to_string(),
    }
}

/// An EC2 client configuration with the production SDK settings (the clients'
/// timeouts, adaptive retries, 5 attempts) for an endpoint on a loopback `port`.
pub fn production_config(port: u16) -> aws_sdk_ec2::Config {
    aws_sdk_ec2::Config::builder()
        .behavior_version(aws_sdk_ec2::config::BehaviorVersion::latest())
        .region(aws_sdk_ec2::config::Region::new(REGION))
        .credentials_provider(aws_sdk_ec2::config::Credentials::new(
            "AKID", "secret", None, None, "test",
        ))
        .endpoint_url(format!("http://127.0.0.1:{port}"))
        .timeout_config(ipam_monitor::aws::setup::timeout_config())
        .retry_config(ipam_monitor::aws::setup::retry_config(Default::default()))
        .build()
}

/// A client over the mock rules. Retries are real (standard mode, 3 attempts) but the
/// backoff is 1 ms so throttling tests are fast and deterministic. The scope's
/// connectivity sweep, which follows every scan, finds nothing unless `rules` say
/// otherwise (their rules come first).
pub fn mocked(mode: RuleMode, rules: &[&Rule]) -> Client {
    // In order, each call is answered once; in any order, for every scan.
    let quiet = no_connectivity(mode != RuleMode::Sequential);
    let mut all: Vec<&Rule> = rules.to_vec();
    all.extend(quiet.iter());
    mocked_exactly(mode, &all)
}

/// Empty answers to the three connectivity calls, once or for any number of scans.
pub fn no_connectivity(repeat: bool) -> [Rule; 3] {
    let times = if repeat { usize::MAX } else { 1 };
    [
        mock!(Client::describe_transit_gateway_vpc_attachments)
            .sequence()
            .output(|| {
                aws_sdk_ec2::operation::describe_transit_gateway_vpc_attachments::DescribeTransitGatewayVpcAttachmentsOutput::builder().build()
            })
            .times(times)
            .build(),
        mock!(Client::describe_transit_gateway_peering_attachments)
            .sequence()
            .output(|| {
                aws_sdk_ec2::operation::describe_transit_gateway_peering_attachments::DescribeTransitGatewayPeeringAttachmentsOutput::builder().build()
            })
            .times(times)
            .build(),
        mock!(Client::describe_vpc_peering_connections)
            .sequence()
            .output(|| {
                aws_sdk_ec2::operation::describe_vpc_peering_connections::DescribeVpcPeeringConnectionsOutput::builder().build()
            })
            .times(times)
            .build(),
    ]
}

/// A client over exactly these rules.
pub fn mocked_exactly(mode: RuleMode, rules: &[&Rule]) -> Client {
    mock_client!(aws_sdk_ec2, mode, rules, |b| b.retry_config(
        RetryConfig::standard()
            .with_max_attempts(3)
            .with_initial_backoff(Duration::from_millis(1))
            .with_max_backoff(Duration::from_millis(5))
    ))
}

pub fn net(s: &str) -> IpNet {
    s.parse().unwrap()
}

pub fn tag(key: &str, value: &str) -> ec2::Tag {
    ec2::Tag::builder().key(key).value(value).build()
}

pub fn tags(pairs: &[(&str, &str)]) -> Tags {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// An EC2 error answer as AWS writes it (query protocol XML).
pub fn ec2_error(status: u16, code: &str, message: &str) -> HttpResponse {
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Response><Errors><Error><Code>{code}</Code>\
         <Message>{message}</Message></Error></Errors>\
         <RequestID>5f6e7d8c-1a2b-4c3d-9e8f-0a1b2c3d4e5f</RequestID></Response>"
    );
    let mut resp = HttpResponse::new(StatusCode::try_from(status).unwrap(), SdkBody::from(body));
    resp.headers_mut()
        .insert("content-type", "text/xml;charset=UTF-8");
    resp
}

pub fn throttled() -> HttpResponse {
    ec2_error(503, "RequestLimitExceeded", "Request limit exceeded.")
}
