//! Configuration from environment variables, read and validated once at cold start.

use crate::aws::setup::{RetryMode, RetrySettings};
use crate::domain::calculator::{AcceptedOverlap, HistoryRules, Suppressions};
use crate::domain::thresholds::{parse_prefix, Level, ThresholdError, Thresholds};
use crate::sinks::metrics::{MetricPolicy, DEFAULT_MARGIN_POINTS};
pub use crate::sinks::sns::AlertMode;
pub use crate::source::addresses::AddressMapMode;
use std::collections::HashSet;
use std::fmt;

pub const ENV_WARNING: &str = "WARNING_THRESHOLD_PERCENT";
pub const ENV_CRITICAL: &str = "CRITICAL_THRESHOLD_PERCENT";
pub const ENV_MIN_FREE: &str = "MIN_FREE_ADDRESSES";
pub const ENV_REGIONS: &str = "REGIONS";
pub const ENV_NAMESPACE: &str = "METRIC_NAMESPACE";
pub const ENV_METRICS_MODE: &str = "METRICS_MODE";
pub const ENV_TOPIC: &str = "SNS_TOPIC_ARN";
pub const ENV_DOWNSTREAM: &str = "DOWNSTREAM_FUNCTIONS";
pub const ENV_CONCURRENCY: &str = "MAX_CONCURRENCY";
pub const ENV_ACCOUNTS: &str = "ACCOUNTS";
pub const ENV_MEMBER_ROLE: &str = "MEMBER_ROLE_NAME";
pub const ENV_EXCLUDE_ACCOUNTS: &str = "EXCLUDE_ACCOUNTS";
pub const ENV_FAIL_ON: &str = "FAIL_ON";
pub const ENV_MIN_FREE_BLOCK: &str = "MIN_FREE_BLOCK";
pub const ENV_MIN_FREE_PREFIXES: &str = "MIN_FREE_PREFIXES";
pub const ENV_ADDRESS_MAP: &str = "ADDRESS_MAP";
pub const ENV_METRIC_POLICY: &str = "METRIC_POLICY";
pub const ENV_METRIC_MARGIN: &str = "METRIC_MARGIN_POINTS";
pub const ENV_SUPPRESS_ACCOUNTS: &str = "SUPPRESS_ACCOUNTS";
pub const ENV_ACCEPTED_OVERLAPS: &str = "ACCEPTED_OVERLAPS";
pub const ENV_SOURCE_MODE: &str = "SOURCE_MODE";
pub const ENV_IPAM_REGIONS: &str = "IPAM_REGIONS";
pub const ENV_IPAM_ACCOUNT: &str = "IPAM_ACCOUNT";
pub const ENV_STATE_BUCKET: &str = "STATE_BUCKET";
pub const ENV_STATE_PREFIX: &str = "STATE_PREFIX";
pub const ENV_ALERT_MODE: &str = "ALERT_MODE";
pub const ENV_REMIND_AFTER: &str = "REMIND_AFTER_HOURS";
pub const ENV_RECOVERY_MARGIN: &str = "RECOVERY_MARGIN_POINTS";
pub const ENV_FORECAST_HORIZON: &str = "FORECAST_HORIZON_DAYS";
/// The SDK's own retry settings; checked here because aws-config panics on a bad value.
pub const ENV_RETRY_MODE: &str = "AWS_RETRY_MODE";
pub const ENV_MAX_ATTEMPTS: &str = "AWS_MAX_ATTEMPTS";
/// Set by Lambda (and by the local runner) to the function's own region.
pub const ENV_AWS_REGION: &str = "AWS_REGION";

pub const DEFAULT_NAMESPACE: &str = "IpamMonitor";
pub const DEFAULT_STATE_PREFIX: &str = "ipam-monitor/";
pub const DEFAULT_CONCURRENCY: usize = 8;
/// More attempts than this cannot finish inside the run's deadline with backoff.
pub const MAX_ATTEMPTS_ALLOWED: u32 = 20;
/// AWS has fewer than 40 regions; a longer list is a mistake, rejected before any
/// name is checked.
pub const MAX_REGIONS: usize = 64;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RegionSelection {
    /// Every region enabled for the account (DescribeRegions).
    All,
    /// Exactly these regions.
    List(Vec<String>),
    /// The function's own region.
    Own,
}

/// Which accounts a run scans; the function's own account is always one of them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AccountSelection {
    /// Only the function's own account.
    Own,
    /// The own account plus these (through the member role).
    List(Vec<String>),
    /// Every active account of the AWS organization (ListAccounts).
    Organization,
}

/// What makes an invocation fail, and so reach Lambda's retries, the failure queue and
/// the Errors alarm. Whatever it is, the report lists every scope error and sink.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailOn {
    /// A sink that did not deliver: a retry could still deliver it. A scope that
    /// failed (a broken account) would fail again on every retry and every run; it is
    /// in the report, the alert's "(incomplete)" and the ScopeErrors metric instead.
    Sinks,
    /// A failed scope or sink.
    Any,
    /// Nothing but a bad event.
    Never,
}

/// Where the records come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceMode {
    /// EC2 in every planned account and region; IPAM only adds what it knows
    /// (managed, pools, its own figures) to those records.
    Ec2,
    /// IPAM alone, from the IPAM account: every VPC and subnet an organization-wide
    /// IPAM knows becomes a record, with no member role and no EC2 call.
    Ipam,
    /// EC2 where it is scanned (exact counts), IPAM for every other account and region.
    Both,
}

/// Where the IPAMs are read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IpamRegions {
    /// Every region enabled for the IPAM account: one DescribeIpams each.
    Discover,
    /// Exactly these (the IPAMs' home regions).
    List(Vec<String>),
}

/// Where the run's memory and the report archive live.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateLocation {
    pub bucket: String,
    /// Ends with `/` (or is empty).
    pub prefix: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetricsMode {
    /// PutMetricData calls.
    Api,
    /// Embedded Metric Format lines on stdout.
    Emf,
    Off,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    pub thresholds: Thresholds,
    pub regions: RegionSelection,
    pub own_region: Option<String>,
    pub metric_namespace: String,
    pub metrics_mode: MetricsMode,
    /// Which resources get metrics of their own.
    pub metric_policy: MetricPolicy,
    pub sns_topic_arn: Option<String>,
    pub downstream_functions: Vec<String>,
    pub max_concurrency: usize,
    pub accounts: AccountSelection,
    /// Role assumed in every other account (`arn:<partition>:iam::<account>:role/<name>`).
    pub member_role_name: Option<String>,
    /// The SDK's retries (`AWS_RETRY_MODE`, `AWS_MAX_ATTEMPTS`).
    pub retry: RetrySettings,
    /// Accounts never scanned (known-bad or lab accounts), whatever `accounts` says.
    pub excluded_accounts: Vec<String>,
    pub fail_on: FailOn,
    /// What is acknowledged: reported, never alerted.
    pub suppressions: Suppressions,
    pub source_mode: SourceMode,
    pub ipam_regions: IpamRegions,
    /// The account whose IPAMs are read; `None`: the function's own.
    pub ipam_account: Option<String>,
    /// `None`: every run stands alone.
    pub state: Option<StateLocation>,
    pub alert_mode: AlertMode,
    pub history: HistoryRules,
    /// Which subnets get an address map (who holds the addresses, free /28s).
    pub address_map: AddressMapMode,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            thresholds: Thresholds::default(),
            regions: RegionSelection::Own,
            own_region: None,
            metric_namespace: DEFAULT_NAMESPACE.to_string(),
            metrics_mode: MetricsMode::Api,
            metric_policy: MetricPolicy::default(),
            sns_topic_arn: None,
            downstream_functions: Vec::new(),
            max_concurrency: DEFAULT_CONCURRENCY,
            accounts: AccountSelection::Own,
            member_role_name: None,
            retry: RetrySettings::default(),
            excluded_accounts: Vec::new(),
            fail_on: FailOn::Sinks,
            suppressions: Suppressions::default(),
            source_mode: SourceMode::Both,
            ipam_regions: IpamRegions::Discover,
            ipam_account: None,
            state: None,
            alert_mode: AlertMode::Changes,
            history: HistoryRules::default(),
            address_map: AddressMapMode::Off,
        }
    }
}

/// A setting that is not acceptable: which one, what it was, and what is allowed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ConfigError {
    pub variable: String,
    pub value: String,
    pub allowed: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invalid {}={:?}: allowed: {}",
            self.variable, self.value, self.allowed
        )
    }
}

/// Values longer than this are cut in errors, so a runaway setting or event field
/// cannot flood a log.
const SHOWN_VALUE_CHARS: usize = 200;

/// `value` as an error shows it: cut after [`SHOWN_VALUE_CHARS`], saying how long it was.
pub(crate) fn shown_value(value: &str) -> String {
    let mut shown: String = value.chars().take(SHOWN_VALUE_CHARS).collect();
    if shown.len() < value.len() {
        shown.push_str(&format!("... ({} bytes in all)", value.len()));
    }
    shown
}

fn bad(variable: &str, value: &str, allowed: impl Into<String>) -> ConfigError {
    ConfigError {
        variable: variable.to_string(),
        value: shown_value(value),
        allowed: allowed.into(),
    }
}

impl Config {
    pub fn from_env() -> Result<Config, ConfigError> {
        Config::from_lookup(|k| std::env::var(k).ok())
    }

    /// Builds the configuration from any key lookup (tests pass a map).
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        // Empty and unset mean the same: SAM passes unset parameters as "".
        let get = |k: &str| {
            get(k)
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
        };
        let mut c = Config::default();

        let warning = get(ENV_WARNING);
        let critical = get(ENV_CRITICAL);
        if let Some(v) = &warning {
            c.thresholds.warning_percent = parse_number(ENV_WARNING, v)?;
        }
        if let Some(v) = &critical {
            c.thresholds.critical_percent = parse_number(ENV_CRITICAL, v)?;
        }
        c.thresholds.validate().map_err(|e| match e {
            ThresholdError::OutOfRange { level, .. } => {
                let (variable, value) = match level {
                    Level::Warning => (ENV_WARNING, &warning),
                    Level::Critical => (ENV_CRITICAL, &critical),
                };
                bad(
                    variable,
                    value.as_deref().unwrap_or_default(),
                    PERCENT_ALLOWED,
                )
            }
            ThresholdError::WarningAboveCritical { warning, critical } => bad(
                ENV_WARNING,
                &warning.to_string(),
                format!("a value not above {ENV_CRITICAL} ({critical})"),
            ),
        })?;
        if let Some(v) = get(ENV_MIN_FREE) {
            let n = v
                .parse::<u64>()
                .map_err(|_| bad(ENV_MIN_FREE, &v, "a whole number of addresses, 0 or more"))?;
            c.thresholds.min_free_addresses = Some(n);
        }
        if let Some(v) = get(ENV_MIN_FREE_BLOCK) {
            let n = parse_prefix(&v).ok_or_else(|| {
                bad(
                    ENV_MIN_FREE_BLOCK,
                    &v,
                    "an IPv4 prefix length 1-32, e.g. 24 or /24",
                )
            })?;
            c.thresholds.min_free_block = Some(n);
        }
        if let Some(v) = get(ENV_MIN_FREE_PREFIXES) {
            let n = v.parse::<u16>().map_err(|_| {
                bad(
                    ENV_MIN_FREE_PREFIXES,
                    &v,
                    "a whole number of /28 blocks, 0 to 65535",
                )
            })?;
            c.thresholds.min_free_prefixes = Some(n);
        }
        if let Some(v) = get(ENV_ADDRESS_MAP) {
            c.address_map = match v.to_ascii_lowercase().as_str() {
                "off" => AddressMapMode::Off,
                "eks" => AddressMapMode::Eks,
                "all" => AddressMapMode::All,
                _ => return Err(bad(ENV_ADDRESS_MAP, &v, "off, eks or all")),
            };
        }
        c.own_region = match get(ENV_AWS_REGION) {
            Some(r) => Some(check_region(ENV_AWS_REGION, &r)?),
            None => None,
        };
        c.regions = match get(ENV_REGIONS) {
            None => RegionSelection::Own,
            Some(v) => parse_regions(ENV_REGIONS, &v)?,
        };
        if c.regions == RegionSelection::Own && c.own_region.is_none() {
            return Err(bad(
                ENV_REGIONS,
                "",
                format!("a region list or \"all\" when {ENV_AWS_REGION} is not set"),
            ));
        }
        if let Some(v) = get(ENV_NAMESPACE) {
            c.metric_namespace = check_namespace(&v)?;
        }
        if let Some(v) = get(ENV_METRICS_MODE) {
            c.metrics_mode = match v.to_ascii_lowercase().as_str() {
                "api" | "putmetricdata" => MetricsMode::Api,
                "emf" => MetricsMode::Emf,
                "off" | "none" => MetricsMode::Off,
                _ => return Err(bad(ENV_METRICS_MODE, &v, "api, emf or off")),
            };
        }
        let margin = match get(ENV_METRIC_MARGIN) {
            None => DEFAULT_MARGIN_POINTS,
            Some(v) => match v.trim_end_matches('%').parse::<f64>() {
                Ok(n) if (0.0..=100.0).contains(&n) => n,
                _ => {
                    return Err(bad(
                        ENV_METRIC_MARGIN,
                        &v,
                        "percentage points from 0 to 100",
                    ))
                }
            },
        };
        c.metric_policy = match get(ENV_METRIC_POLICY).map(|v| (v.to_ascii_lowercase(), v)) {
            None => MetricPolicy::Focused {
                margin_points: margin,
            },
            Some((p, _)) if p == "focused" => MetricPolicy::Focused {
                margin_points: margin,
            },
            Some((p, _)) if p == "all" => MetricPolicy::All,
            Some((_, v)) => return Err(bad(ENV_METRIC_POLICY, &v, "focused or all")),
        };
        if let Some(v) = get(ENV_TOPIC) {
            c.sns_topic_arn = Some(check_sns_topic_arn(&v)?);
        }
        if let Some(v) = get(ENV_DOWNSTREAM) {
            c.downstream_functions = v
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(check_function)
                .collect::<Result<_, _>>()?;
        }
        if let Some(v) = get(ENV_CONCURRENCY) {
            c.max_concurrency = match v.parse::<usize>() {
                Ok(n @ 1..=64) => n,
                _ => return Err(bad(ENV_CONCURRENCY, &v, "a whole number from 1 to 64")),
            };
        }
        if let Some(v) = get(ENV_RETRY_MODE) {
            c.retry.mode = match v.to_ascii_lowercase().as_str() {
                "standard" => RetryMode::Standard,
                "adaptive" => RetryMode::Adaptive,
                _ => return Err(bad(ENV_RETRY_MODE, &v, "standard or adaptive")),
            };
        }
        if let Some(v) = get(ENV_MAX_ATTEMPTS) {
            c.retry.max_attempts = match v.parse::<u32>() {
                Ok(n @ 1..=MAX_ATTEMPTS_ALLOWED) => n,
                _ => {
                    let allowed = format!("a whole number from 1 to {MAX_ATTEMPTS_ALLOWED}");
                    return Err(bad(ENV_MAX_ATTEMPTS, &v, allowed));
                }
            };
        }
        if let Some(v) = get(ENV_MEMBER_ROLE) {
            c.member_role_name = Some(check_role_name(&v)?);
        }
        if let Some(v) = get(ENV_ACCOUNTS) {
            c.accounts = parse_accounts(&v)?;
        }
        if let Some(v) = get(ENV_EXCLUDE_ACCOUNTS) {
            c.excluded_accounts = account_ids(
                ENV_EXCLUDE_ACCOUNTS,
                &v,
                "a comma list of 12-digit account ids",
            )?;
        }
        if let Some(v) = get(ENV_SUPPRESS_ACCOUNTS) {
            c.suppressions.accounts = account_ids(
                ENV_SUPPRESS_ACCOUNTS,
                &v,
                "a comma list of 12-digit account ids",
            )?;
        }
        if let Some(v) = get(ENV_ACCEPTED_OVERLAPS) {
            c.suppressions.accepted_overlaps = accepted_overlaps(ENV_ACCEPTED_OVERLAPS, &v)?;
        }
        if let Some(v) = get(ENV_FAIL_ON) {
            c.fail_on = match v.to_ascii_lowercase().as_str() {
                "sinks" => FailOn::Sinks,
                "any" => FailOn::Any,
                "never" => FailOn::Never,
                _ => return Err(bad(ENV_FAIL_ON, &v, "sinks, any or never")),
            };
        }
        if let Some(v) = get(ENV_SOURCE_MODE) {
            c.source_mode = match v.to_ascii_lowercase().as_str() {
                "ec2" => SourceMode::Ec2,
                "ipam" => SourceMode::Ipam,
                "both" => SourceMode::Both,
                _ => return Err(bad(ENV_SOURCE_MODE, &v, "ec2, ipam or both")),
            };
        }
        if let Some(v) = get(ENV_IPAM_REGIONS) {
            c.ipam_regions = match parse_regions(ENV_IPAM_REGIONS, &v)? {
                RegionSelection::List(list) => IpamRegions::List(list),
                _ => IpamRegions::Discover,
            };
        }
        if let Some(v) = get(ENV_IPAM_ACCOUNT) {
            let ids = account_ids(ENV_IPAM_ACCOUNT, &v, "one 12-digit account id")?;
            match ids.as_slice() {
                [one] => c.ipam_account = Some(one.clone()),
                _ => return Err(bad(ENV_IPAM_ACCOUNT, &v, "one 12-digit account id")),
            }
        }
        if let Some(bucket) = get(ENV_STATE_BUCKET) {
            let prefix = get(ENV_STATE_PREFIX).unwrap_or_else(|| DEFAULT_STATE_PREFIX.to_string());
            c.state = Some(StateLocation {
                bucket: check_bucket_name(&bucket)?,
                prefix: check_key_prefix(&prefix)?,
            });
        }
        if let Some(v) = get(ENV_ALERT_MODE) {
            c.alert_mode = match v.to_ascii_lowercase().as_str() {
                "changes" => AlertMode::Changes,
                "every-run" | "every_run" | "always" => AlertMode::EveryRun,
                _ => return Err(bad(ENV_ALERT_MODE, &v, "changes or every-run")),
            };
        }
        if let Some(v) = get(ENV_REMIND_AFTER) {
            let hours = bounded_number(ENV_REMIND_AFTER, &v, 1.0, 24.0 * 365.0, "hours")?;
            c.history.remind_after_secs = (hours * 3600.0).round() as u64;
        }
        if let Some(v) = get(ENV_RECOVERY_MARGIN) {
            c.history.recovery_margin_points =
                bounded_number(ENV_RECOVERY_MARGIN, &v, 0.0, 50.0, "percentage points")?;
        }
        if let Some(v) = get(ENV_FORECAST_HORIZON) {
            let days = bounded_number(ENV_FORECAST_HORIZON, &v, 0.0, 3650.0, "days")?;
            c.history.forecast_horizon_days = (days > 0.0).then_some(days);
        }
        if c.accounts != AccountSelection::Own && c.member_role_name.is_none() {
            return Err(bad(
                ENV_MEMBER_ROLE,
                "",
                format!("the name of the role to assume in member accounts, required when {ENV_ACCOUNTS} names other accounts"),
            ));
        }
        Ok(c)
    }
}

/// A number from `min` to `max` (a unit, e.g. "hours", for the error).
fn bounded_number(
    variable: &str,
    v: &str,
    min: f64,
    max: f64,
    unit: &str,
) -> Result<f64, ConfigError> {
    match v.trim_end_matches('%').parse::<f64>() {
        Ok(n) if n.is_finite() && (min..=max).contains(&n) => Ok(n),
        _ => Err(bad(variable, v, format!("{unit} from {min} to {max}"))),
    }
}

/// S3's bucket naming rules: 3-63 of lowercase letters, digits, dots and hyphens,
/// starting and ending with a letter or digit.
fn check_bucket_name(v: &str) -> Result<String, ConfigError> {
    let edge_ok = |b: Option<&u8>| b.is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
    let ok = (3..=63).contains(&v.len())
        && v.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-')
        && edge_ok(v.as_bytes().first())
        && edge_ok(v.as_bytes().last())
        && !v.contains("..");
    if ok {
        Ok(v.to_string())
    } else {
        Err(bad(
            ENV_STATE_BUCKET,
            v,
            "an S3 bucket name: 3-63 lowercase letters, digits, dots and hyphens",
        ))
    }
}

/// A key prefix of printable ASCII without a leading `/`; a missing trailing `/` is
/// added, so `ipam-monitor` and `ipam-monitor/` name the same folder.
fn check_key_prefix(v: &str) -> Result<String, ConfigError> {
    let ok = v.len() <= 200
        && !v.starts_with('/')
        && v.bytes().all(|b| b.is_ascii_graphic() && b != b'\\');
    if !ok {
        return Err(bad(
            ENV_STATE_PREFIX,
            v,
            "a key prefix of up to 200 printable characters, no leading /, e.g. ipam-monitor/",
        ));
    }
    Ok(if v.ends_with('/') {
        v.to_string()
    } else {
        format!("{v}/")
    })
}

fn parse_accounts(v: &str) -> Result<AccountSelection, ConfigError> {
    match v.to_ascii_lowercase().as_str() {
        "self" | "own" => return Ok(AccountSelection::Own),
        "organization" | "organisation" | "org" => return Ok(AccountSelection::Organization),
        _ => {}
    }
    let allowed = "\"self\", \"organization\", or a comma list of 12-digit account ids";
    let ids = account_ids(ENV_ACCOUNTS, v, allowed)?;
    Ok(if ids.is_empty() {
        AccountSelection::Own
    } else {
        AccountSelection::List(ids)
    })
}

/// A comma list of account ids, each once, in the order given.
pub(crate) fn account_ids(
    variable: &str,
    v: &str,
    allowed: &str,
) -> Result<Vec<String>, ConfigError> {
    let mut seen = HashSet::new();
    let mut ids: Vec<String> = Vec::new();
    for a in v.split(',').map(str::trim).filter(|a| !a.is_empty()) {
        if !is_account_id(a) {
            return Err(bad(variable, a, allowed));
        }
        if seen.insert(a) {
            ids.push(a.to_string());
        }
    }
    Ok(ids)
}

/// A comma list of VPC ids (`vpc-0abc...`) and CIDRs, each once.
pub(crate) fn accepted_overlaps(
    variable: &str,
    v: &str,
) -> Result<Vec<AcceptedOverlap>, ConfigError> {
    let mut out = Vec::new();
    for item in v.split(',').map(str::trim).filter(|a| !a.is_empty()) {
        let entry = if is_vpc_id(item) {
            AcceptedOverlap::Vpc(item.to_string())
        } else if let Ok(net) = item.parse::<ipnet::IpNet>() {
            // The network itself: 10.0.0.1/16 would otherwise read as a host route.
            AcceptedOverlap::Cidr(net.trunc())
        } else {
            return Err(bad(
                variable,
                item,
                "a comma list of VPC ids (vpc-0abc12345) and CIDRs (10.0.0.0/16)",
            ));
        };
        if !out.contains(&entry) {
            out.push(entry);
        }
    }
    Ok(out)
}

/// `vpc-` and 8 or 17 hex digits.
fn is_vpc_id(v: &str) -> bool {
    v.strip_prefix("vpc-")
        .is_some_and(|h| matches!(h.len(), 8 | 17) && h.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// IAM role names: 1-64 of letters, digits and + = , . @ _ -.
fn check_role_name(v: &str) -> Result<String, ConfigError> {
    let ok = !v.is_empty()
        && v.len() <= 64
        && v.chars()
            .all(|c| c.is_ascii_alphanumeric() || "+=,.@_-".contains(c));
    if ok {
        Ok(v.to_string())
    } else {
        Err(bad(
            ENV_MEMBER_ROLE,
            v,
            "an IAM role name (not an ARN): up to 64 letters, digits and + = , . @ _ -",
        ))
    }
}

const REGIONS_ALLOWED: &str =
    "\"all\", or a comma-separated list of region names such as us-east-1,eu-west-1";
const PERCENT_ALLOWED: &str = "a percentage above 0 and at most 100, e.g. 80 or 92.5";

/// A threshold variable's number, `%` allowed; its range is checked with the other
/// thresholds by [`Thresholds::validate`].
fn parse_number(variable: &str, value: &str) -> Result<f64, ConfigError> {
    value
        .trim_end_matches('%')
        .parse()
        .map_err(|_| bad(variable, value, PERCENT_ALLOWED))
}

pub fn parse_regions(variable: &str, value: &str) -> Result<RegionSelection, ConfigError> {
    if value.trim().eq_ignore_ascii_case("all") {
        return Ok(RegionSelection::All);
    }
    let names: Vec<&str> = value
        .split(',')
        .map(str::trim)
        .filter(|r| !r.is_empty())
        .collect();
    // An empty list is a mistake, not a request for the function's own region: that
    // is what leaving the setting out means.
    if names.is_empty() {
        return Err(bad(variable, value, REGIONS_ALLOWED));
    }
    if names.len() > MAX_REGIONS {
        return Err(bad(
            variable,
            &format!("{} region names", names.len()),
            format!("at most {MAX_REGIONS} region names"),
        ));
    }
    let mut seen = HashSet::new();
    let mut regions = Vec::new();
    for r in names {
        let r = check_region(variable, r)?;
        if seen.insert(r.clone()) {
            regions.push(r);
        }
    }
    Ok(RegionSelection::List(regions))
}

/// Region names as AWS forms them: a two-letter area, one or more lowercase words, and
/// a number without sign or leading zero: `us-east-1`, `us-gov-west-1`, `cn-north-1`.
pub fn is_region_name(r: &str) -> bool {
    let parts: Vec<&str> = r.split('-').collect();
    let [area, words @ .., number] = parts.as_slice() else {
        return false;
    };
    let word = |p: &str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_lowercase());
    let number_ok = (1..=2).contains(&number.len())
        && number.bytes().all(|b| b.is_ascii_digit())
        && !number.starts_with('0');
    area.len() == 2 && word(area) && !words.is_empty() && words.iter().all(|w| word(w)) && number_ok
}

fn check_region(variable: &str, r: &str) -> Result<String, ConfigError> {
    if is_region_name(r) {
        Ok(r.to_string())
    } else {
        Err(bad(variable, r, REGIONS_ALLOWED))
    }
}

fn check_namespace(v: &str) -> Result<String, ConfigError> {
    let ok_chars = v
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || ".-_/#:".contains(c));
    if v.len() <= 255 && ok_chars && !v.starts_with("AWS/") && !v.starts_with(':') {
        Ok(v.to_string())
    } else {
        Err(bad(
            ENV_NAMESPACE,
            v,
            "up to 255 characters of letters, digits and . - _ / # :, not starting with AWS/",
        ))
    }
}

/// `arn:<partition>:sns:<region>:<12-digit account>:<topic>`.
fn check_sns_topic_arn(v: &str) -> Result<String, ConfigError> {
    let p: Vec<&str> = v.split(':').collect();
    let ok = p.len() == 6
        && p[0] == "arn"
        && p[1].starts_with("aws")
        && p[2] == "sns"
        && is_region_name(p[3])
        && is_account_id(p[4])
        && !p[5].is_empty()
        && p[5].len() <= 256
        && p[5]
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.');
    if ok {
        Ok(v.to_string())
    } else {
        Err(bad(
            ENV_TOPIC,
            v,
            "an SNS topic ARN: arn:aws:sns:<region>:<12-digit account>:<topic name>",
        ))
    }
}

pub fn is_account_id(v: &str) -> bool {
    v.len() == 12 && v.bytes().all(|b| b.is_ascii_digit())
}

/// A function name, a partial ARN (`123456789012:function:name`) or a full ARN, each
/// optionally with a version or alias qualifier, as Lambda Invoke accepts them.
fn check_function(v: &str) -> Result<String, ConfigError> {
    let is_name = |s: &str| {
        !s.is_empty()
            && s.len() <= 64
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    };
    let is_qualifier = |s: &str| {
        !s.is_empty()
            && s.len() <= 128
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '$')
    };
    let p: Vec<&str> = v.split(':').collect();
    let ok = match p.as_slice() {
        [name] => is_name(name),
        [name, q] => is_name(name) && is_qualifier(q),
        [acct, "function", name] => is_account_id(acct) && is_name(name),
        [acct, "function", name, q] => is_account_id(acct) && is_name(name) && is_qualifier(q),
        ["arn", part, "lambda", region, acct, "function", name, rest @ ..] => {
            part.starts_with("aws")
                && is_region_name(region)
                && is_account_id(acct)
                && is_name(name)
                && rest.len() <= 1
                && rest.iter().all(|q| is_qualifier(q))
        }
        _ => false,
    };
    if ok {
        Ok(v.to_string())
    } else {
        Err(bad(
            ENV_DOWNSTREAM,
            v,
            "comma-separated Lambda function names or ARNs, e.g. my-fn or arn:aws:lambda:us-east-1:123456789012:function:my-fn",
        ))
    }
}
