//! The AWS SDK configuration shared by every client: retries and timeouts sized for
//! scanning many accounts and regions at once.

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::BehaviorVersion;
use std::time::{Duration, Instant};

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

/// The longest any one call may take, retries included. Clients keep it; a call made
/// with a deadline gets less (see [`timeouts_until`]).
pub const OPERATION_TIMEOUT: Duration = Duration::from_secs(120);
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(30);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// How long one call may take, at most: what every client is built with.
pub fn timeout_config() -> TimeoutConfig {
    TimeoutConfig::builder()
        .connect_timeout(CONNECT_TIMEOUT)
        .operation_attempt_timeout(ATTEMPT_TIMEOUT)
        .operation_timeout(OPERATION_TIMEOUT)
        .build()
}

/// The operation timeout of a call that has `left` before its step is cut: the
/// ceiling, or less so the call ends a little before the cut (a tenth of `left`, at
/// most a second).
pub fn operation_timeout(left: Duration) -> Duration {
    left.saturating_sub((left / 10).min(Duration::from_secs(1)))
        .min(OPERATION_TIMEOUT)
}

/// The SDK timeouts for a call that must end before `cutoff` (`None`: no deadline, the
/// clients' ceiling), given per call with `customize().config_override(..)`.
///
/// Why per call, and only in the sinks: every step of a run with a deadline
/// (planning, scanning, the state store, the sinks) is already cut by a tokio
/// timeout, and the cut drops the call in flight: its retry loop lives inside the
/// dropped future and hyper closes the connection (`sinks_unit.rs`,
/// `a_call_cut_by_its_step_is_dropped_with_its_connection`), so no call outlives its
/// step whatever its SDK timeout. What a cut cannot do is let the code that made the
/// call go on: a sink is dropped whole ("not finished before the Lambda deadline").
/// With the call's own timeout just before the sinks' cut, the call fails as a
/// timeout of that operation, and the sink records it and says what it did send
/// (CloudWatch's batches, downstream's functions). Planning and scanning calls
/// (sources/) stay under their step's cut alone, which names the operation or the
/// scope that did not answer.
pub fn timeouts_until(cutoff: Option<Instant>) -> TimeoutConfig {
    let Some(at) = cutoff else {
        return timeout_config();
    };
    let left = at.saturating_duration_since(Instant::now());
    let operation = operation_timeout(left);
    TimeoutConfig::builder()
        .connect_timeout(CONNECT_TIMEOUT.min(operation))
        .operation_attempt_timeout(ATTEMPT_TIMEOUT.min(operation))
        .operation_timeout(operation)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_call_ends_a_little_before_its_step_and_never_after_the_ceiling() {
        let s = Duration::from_secs;
        let ms = Duration::from_millis;
        // A tenth of the time left is kept back, at most a second.
        assert_eq!(operation_timeout(s(3)), ms(2700));
        assert_eq!(operation_timeout(s(10)), s(9));
        assert_eq!(operation_timeout(s(60)), s(59));
        // Never more than the clients' own ceiling.
        assert_eq!(operation_timeout(s(121)), OPERATION_TIMEOUT);
        assert_eq!(operation_timeout(s(900)), OPERATION_TIMEOUT);
        // Nothing left: nothing to wait for.
        assert_eq!(operation_timeout(Duration::ZERO), Duration::ZERO);
    }

    #[test]
    fn without_a_deadline_a_call_has_the_ceiling() {
        assert_eq!(timeouts_until(None), timeout_config());
        let far = timeouts_until(Some(Instant::now() + Duration::from_secs(600)));
        assert_eq!(far, timeout_config());
    }

    #[test]
    fn near_the_cut_no_timeout_outlasts_the_call() {
        let t = timeouts_until(Some(Instant::now() + Duration::from_secs(2)));
        let op = t.operation_timeout().unwrap();
        assert!(op < Duration::from_secs(2), "{op:?}");
        assert!(t.operation_attempt_timeout().unwrap() <= op);
        assert!(t.connect_timeout().unwrap() <= op);
    }
}
