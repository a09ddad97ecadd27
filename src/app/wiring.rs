//! The sinks a configuration asks for, built once at cold start.

use crate::app::config::{Config, MetricsMode};
use crate::sinks::cloudwatch::CloudWatchSink;
use crate::sinks::downstream::{DownstreamSink, MAX_ASYNC_PAYLOAD_BYTES};
use crate::sinks::emf::EmfSink;
use crate::sinks::sns::SnsSink;
use crate::sinks::Sink;
use crate::store::s3::S3Store;
use crate::store::StateStore;

pub fn sinks_from_config(config: &Config, sdk: &aws_config::SdkConfig) -> Vec<Box<dyn Sink>> {
    let mut sinks: Vec<Box<dyn Sink>> = Vec::new();
    match config.metrics_mode {
        MetricsMode::Api => sinks.push(Box::new(CloudWatchSink {
            client: aws_sdk_cloudwatch::Client::new(sdk),
            namespace: config.metric_namespace.clone(),
            policy: config.metric_policy,
        })),
        MetricsMode::Emf => sinks.push(Box::new(EmfSink::stdout(
            config.metric_namespace.clone(),
            config.metric_policy,
        ))),
        MetricsMode::Off => {}
    }
    if let Some(topic) = &config.sns_topic_arn {
        sinks.push(Box::new(SnsSink {
            client: aws_sdk_sns::Client::new(sdk),
            topic_arn: topic.clone(),
            report_location: report_location(config),
        }));
    }
    if !config.downstream_functions.is_empty() {
        sinks.push(Box::new(DownstreamSink {
            client: aws_sdk_lambda::Client::new(sdk),
            functions: config.downstream_functions.clone(),
            max_payload_bytes: MAX_ASYNC_PAYLOAD_BYTES,
        }));
    }
    sinks
}

/// The state store the configuration names, if any.
pub fn store_from_config(
    config: &Config,
    sdk: &aws_config::SdkConfig,
) -> Option<Box<dyn StateStore>> {
    let at = config.state.as_ref()?;
    Some(Box::new(S3Store::new(
        sdk,
        at.bucket.clone(),
        at.prefix.clone(),
    )))
}

/// Where an on-call engineer finds the whole report, for the alert footer.
pub fn report_location(config: &Config) -> String {
    if config.downstream_functions.is_empty() {
        "the function's response (direct invocations) and the CloudWatch metrics".to_string()
    } else {
        format!(
            "sent to Lambda function(s) {}",
            config.downstream_functions.join(", ")
        )
    }
}
