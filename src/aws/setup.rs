//! The AWS SDK configuration shared by every client: retries and timeouts sized for
//! scanning many accounts and regions at once.

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::BehaviorVersion;
use std::time::Duration;

/// Attempts per call, first included. EC2 throttles per account and region (a bucket
/// of 100 refilled at 20/s); adaptive retries also slow the client down when throttled.
pub const MAX_ATTEMPTS: u32 = 5;

pub async fn sdk_config() -> aws_config::SdkConfig {
    let mut loader = aws_config::defaults(BehaviorVersion::latest()).timeout_config(
        TimeoutConfig::builder()
            .connect_timeout(Duration::from_secs(5))
            .operation_attempt_timeout(Duration::from_secs(30))
            .operation_timeout(Duration::from_secs(120))
            .build(),
    );
    // AWS_RETRY_MODE / AWS_MAX_ATTEMPTS, when set, win over these defaults.
    if std::env::var_os("AWS_RETRY_MODE").is_none()
        && std::env::var_os("AWS_MAX_ATTEMPTS").is_none()
    {
        loader = loader.retry_config(RetryConfig::adaptive().with_max_attempts(MAX_ATTEMPTS));
    }
    loader.load().await
}
