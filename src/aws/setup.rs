//! The AWS SDK configuration shared by every client: retries and timeouts sized for
//! scanning many accounts and regions at once.

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::BehaviorVersion;
use std::time::Duration;

/// Attempts per call, first included. EC2 throttles per account and region (a bucket
/// of 100 refilled at 20/s); adaptive retries also slow the client down when throttled.
pub const MAX_ATTEMPTS: u32 = 5;

/// How the SDK retries a failed call: `AWS_RETRY_MODE` and `AWS_MAX_ATTEMPTS`, checked
/// by the configuration, or this tool's defaults.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetrySettings {
    pub mode: RetryMode,
    /// Attempts per call, first included.
    pub max_attempts: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetryMode {
    Standard,
    /// Standard retries, plus a client-side rate limit that slows down when throttled.
    Adaptive,
}

impl Default for RetrySettings {
    fn default() -> Self {
        RetrySettings {
            mode: RetryMode::Adaptive,
            max_attempts: MAX_ATTEMPTS,
        }
    }
}

/// How long one call may take. The run's own deadline cuts planning, scanning and
/// the sinks earlier when the Lambda timeout comes first.
pub fn timeout_config() -> TimeoutConfig {
    TimeoutConfig::builder()
        .connect_timeout(Duration::from_secs(5))
        .operation_attempt_timeout(Duration::from_secs(30))
        .operation_timeout(Duration::from_secs(120))
        .build()
}

pub async fn sdk_config(retry: RetrySettings) -> aws_config::SdkConfig {
    let loader = aws_config::defaults(BehaviorVersion::latest()).timeout_config(timeout_config());
    // Always given: left to itself, aws-config reads AWS_RETRY_MODE and AWS_MAX_ATTEMPTS
    // and panics on a malformed or empty value. The configuration has checked them.
    loader.retry_config(retry_config(retry)).load().await
}

/// The SDK's retry configuration for these settings.
pub fn retry_config(retry: RetrySettings) -> RetryConfig {
    let mode = match retry.mode {
        RetryMode::Standard => RetryConfig::standard(),
        RetryMode::Adaptive => RetryConfig::adaptive(),
    };
    mode.with_max_attempts(retry.max_attempts)
}
