//! Thresholds, their per-resource tag overrides, and the status they give.

use crate::domain::cidr;
use crate::domain::inventory::Tags;
use ipnet::IpNet;
use serde::{Deserialize, Serialize};

/// Every tag this tool reads besides `Name` starts with this.
pub const TAG_PREFIX: &str = "ipam-monitor:";
pub const TAG_WARNING: &str = "ipam-monitor:warning-percent";
pub const TAG_CRITICAL: &str = "ipam-monitor:critical-percent";
pub const TAG_MIN_FREE: &str = "ipam-monitor:min-free-addresses";
pub const TAG_MIN_FREE_BLOCK: &str = "ipam-monitor:min-free-block";
pub const TAG_MIN_FREE_PREFIXES: &str = "ipam-monitor:min-free-prefixes";
/// A resource carrying this tag stays in the report but never alerts; its value says
/// why (and ideally who), e.g. `intentionally full, netops 2026-12`.
pub const TAG_SUPPRESS: &str = "ipam-monitor:suppress";

/// Ordered from least to most urgent: the report lists the most urgent first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Status {
    Ok,
    /// Should be measurable and was not (no address count from AWS, no readable
    /// CIDR): never counted as OK, but not a breach either.
    Unknown,
    Warning,
    Critical,
}

impl Status {
    /// WARNING or CRITICAL: what the alert lists and the breach counts count.
    pub fn is_breach(self) -> bool {
        matches!(self, Status::Warning | Status::Critical)
    }
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Status::Ok => "OK",
            Status::Unknown => "UNKNOWN",
            Status::Warning => "WARNING",
            Status::Critical => "CRITICAL",
        })
    }
}

/// Where the thresholds applied to a resource came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ThresholdSource {
    /// The function's configuration (environment).
    Config,
    /// Overridden by the invocation event.
    Event,
    /// Overridden by the resource's own `ipam-monitor:*` tags.
    Tag,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Thresholds {
    pub warning_percent: f64,
    pub critical_percent: f64,
    /// A resource with this many free addresses or fewer is at least WARNING,
    /// whatever its percentage.
    pub min_free_addresses: Option<u64>,
    /// Space alerts, opt-in: a VPC or IPv4 pool with no free block of this prefix
    /// length or larger (no room for a new /N) is at least WARNING.
    pub min_free_block: Option<u8>,
    /// Prefix headroom, opt-in: a subnet with an address map and this many free
    /// aligned /28 blocks or fewer is at least WARNING (EKS prefix delegation fails
    /// without one). No default: a /27 or /28 subnet never has a free /28.
    pub min_free_prefixes: Option<u16>,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            warning_percent: 80.0,
            critical_percent: 95.0,
            min_free_addresses: None,
            min_free_block: None,
            min_free_prefixes: None,
        }
    }
}

/// The rule that gave a resource its status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Rule {
    CriticalPercent,
    WarningPercent,
    MinFreeAddresses,
    MinFreeBlock,
    /// Too few free aligned /28 blocks for EKS prefix delegation.
    MinFreePrefixes,
    /// Nothing AWS reported could be measured.
    Unmeasured,
    /// Was in breach last run and has not yet fallen the recovery margin below the
    /// threshold (no flapping).
    Hysteresis,
    /// The growth trend reaches the critical threshold within the forecast horizon.
    Forecast,
}

/// Why a resource has its status: the rule and the figures that fired it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Reason {
    pub rule: Rule,
    pub detail: String,
}

/// A status and every reason for it; no reason for OK.
#[derive(Debug, Clone, PartialEq)]
pub struct Assessment {
    pub status: Status,
    pub reasons: Vec<Reason>,
}

impl Assessment {
    pub fn ok() -> Assessment {
        Assessment {
            status: Status::Ok,
            reasons: Vec::new(),
        }
    }

    pub fn unmeasured(detail: impl Into<String>) -> Assessment {
        Assessment {
            status: Status::Unknown,
            reasons: vec![Reason {
                rule: Rule::Unmeasured,
                detail: detail.into(),
            }],
        }
    }

    /// Adds a rule that makes the resource at least `status`.
    pub fn raise(&mut self, status: Status, rule: Rule, detail: String) {
        self.status = self.status.max(status);
        self.reasons.push(Reason { rule, detail });
    }
}

/// The space rule: breached when no free block of `/min_prefix` or larger is left.
/// `largest` is the largest free IPv4 block.
pub fn free_block_breach(min_prefix: Option<u8>, largest: Option<&IpNet>) -> Option<String> {
    let min = min_prefix?;
    match largest {
        Some(b) if b.prefix_len() <= min => None,
        Some(b) => Some(format!(
            "no free /{min} left for a new subnet or allocation (largest free block {b})"
        )),
        None => Some(format!(
            "no free /{min} left for a new subnet or allocation (no free space)"
        )),
    }
}

/// The prefix headroom rule: breached when a mapped subnet has `free` aligned /28
/// blocks or fewer left than `floor`.
pub fn free_prefixes_breach(floor: Option<u16>, free: u32) -> Option<String> {
    let floor = floor?;
    (free <= u32::from(floor)).then(|| {
        format!(
            "{free} free aligned /28 blocks <= floor {floor} (EKS prefix delegation needs them)"
        )
    })
}

/// One of the two percentage thresholds, so that a caller can name its own source
/// (variable, event field, tag) for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Warning,
    Critical,
}

/// Why a set of thresholds is not acceptable. Carries the numbers, not the names:
/// each caller maps it to its own error naming where the value came from.
#[derive(Debug, Clone, Copy, PartialEq, thiserror::Error)]
pub enum ThresholdError {
    #[error("expected a percentage above 0 and at most 100, got {value}")]
    OutOfRange { level: Level, value: f64 },
    #[error("warning ({warning}) must not be above critical ({critical})")]
    WarningAboveCritical { warning: f64, critical: f64 },
}

/// A percentage threshold is finite, above 0 and at most 100.
pub fn check_percent(level: Level, value: f64) -> Result<f64, ThresholdError> {
    if value.is_finite() && value > 0.0 && value <= 100.0 {
        Ok(value)
    } else {
        Err(ThresholdError::OutOfRange { level, value })
    }
}

impl Thresholds {
    /// Both percentages in range (warning checked first), and warning <= critical.
    pub fn validate(&self) -> Result<(), ThresholdError> {
        check_percent(Level::Warning, self.warning_percent)?;
        check_percent(Level::Critical, self.critical_percent)?;
        if self.warning_percent > self.critical_percent {
            return Err(ThresholdError::WarningAboveCritical {
                warning: self.warning_percent,
                critical: self.critical_percent,
            });
        }
        Ok(())
    }

    /// Status of a resource with `used` of `total` units in use and `free_addresses`
    /// left (None where a free-address floor makes no sense, e.g. IPv6).
    /// Being exactly at a threshold is a breach. Nothing to measure (`total` 0) is
    /// UNKNOWN.
    pub fn status(&self, used: u128, total: u128, free_addresses: Option<u128>) -> Status {
        self.assess(used, total, free_addresses).status
    }

    /// [`Thresholds::status`] with the reasons for it.
    pub fn assess(&self, used: u128, total: u128, free_addresses: Option<u128>) -> Assessment {
        if total == 0 {
            return Assessment::unmeasured("nothing to measure");
        }
        let mut a = Assessment::ok();
        let shown = || round_percent(cidr::ratio(used, total) * 100.0);
        if at_or_above(used, total, self.critical_percent) {
            let detail = format!("{}% used >= critical {}%", shown(), self.critical_percent);
            a.raise(Status::Critical, Rule::CriticalPercent, detail);
        } else if at_or_above(used, total, self.warning_percent) {
            let detail = format!("{}% used >= warning {}%", shown(), self.warning_percent);
            a.raise(Status::Warning, Rule::WarningPercent, detail);
        }
        if let (Some(floor), Some(free)) = (self.min_free_addresses, free_addresses) {
            if free <= u128::from(floor) {
                let detail = format!("{free} free addresses <= floor {floor}");
                a.raise(Status::Warning, Rule::MinFreeAddresses, detail);
            }
        }
        a
    }

    /// These thresholds with any `ipam-monitor:*` tags of a resource applied.
    /// A bad tag is reported in the warning and the tags are ignored as a whole.
    pub fn with_tags(
        &self,
        source: ThresholdSource,
        tags: &Tags,
    ) -> (Thresholds, ThresholdSource, Option<String>) {
        // Most resources carry no threshold tag.
        if !tags.any_with_prefix(TAG_PREFIX) {
            return (*self, source, None);
        }
        let mut t = *self;
        let mut touched = false;
        let result = (|| {
            if let Some(v) = tags.get(TAG_WARNING) {
                t.warning_percent = parse_tag_number(TAG_WARNING, v)?;
                touched = true;
            }
            if let Some(v) = tags.get(TAG_CRITICAL) {
                t.critical_percent = parse_tag_number(TAG_CRITICAL, v)?;
                touched = true;
            }
            if let Some(v) = tags.get(TAG_MIN_FREE_BLOCK) {
                t.min_free_block = Some(parse_prefix(v).ok_or_else(|| {
                    format!("tag {TAG_MIN_FREE_BLOCK}={v:?} is not a prefix length 1-32, e.g. /24")
                })?);
                touched = true;
            }
            if let Some(v) = tags.get(TAG_MIN_FREE_PREFIXES) {
                t.min_free_prefixes = Some(v.trim().parse::<u16>().map_err(|_| {
                    format!("tag {TAG_MIN_FREE_PREFIXES}={v:?} is not a whole number of /28 blocks, 0 to 65535")
                })?);
                touched = true;
            }
            if let Some(v) = tags.get(TAG_MIN_FREE) {
                t.min_free_addresses = Some(v.trim().parse::<u64>().map_err(|_| {
                    format!("tag {TAG_MIN_FREE}={v:?} is not a whole number of addresses")
                })?);
                touched = true;
            }
            t.validate().map_err(|e| match e {
                ThresholdError::OutOfRange { level, .. } => {
                    let key = match level {
                        Level::Warning => TAG_WARNING,
                        Level::Critical => TAG_CRITICAL,
                    };
                    let value = tags.get(key).unwrap_or_default();
                    format!("tag {key}={value:?}: {e}")
                }
                ThresholdError::WarningAboveCritical { .. } => {
                    format!("threshold tags ignored: {e}")
                }
            })
        })();
        match result {
            Ok(()) if touched => (t, ThresholdSource::Tag, None),
            Ok(()) => (*self, source, None),
            Err(e) => (*self, source, Some(e)),
        }
    }
}

/// Rounds a percentage for display in the report; statuses use the exact value.
pub fn round_percent(p: f64) -> f64 {
    (p * 100.0).round() / 100.0
}

/// An IPv4 prefix length, `24` or `/24`.
pub fn parse_prefix(value: &str) -> Option<u8> {
    let v = value.trim();
    let n: u8 = v.strip_prefix('/').unwrap_or(v).parse().ok()?;
    (1..=32).contains(&n).then_some(n)
}

/// A tag's percentage, `%` allowed; the range is checked with the other thresholds.
fn parse_tag_number(key: &str, value: &str) -> Result<f64, String> {
    value
        .trim()
        .trim_end_matches('%')
        .parse()
        .map_err(|_| format!("tag {key}={value:?} is not a number"))
}

/// `used / total * 100 >= percent`, exact for counts below 2^53 / 100 (every IPv4
/// count) so that a resource exactly at its threshold is never missed by rounding.
fn at_or_above(used: u128, total: u128, percent: f64) -> bool {
    const EXACT: u128 = (1u128 << 53) / 100;
    if used < EXACT && total < EXACT {
        used as f64 * 100.0 >= percent * total as f64
    } else {
        crate::domain::cidr::ratio(used, total) * 100.0 >= percent
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tags(pairs: &[(&str, &str)]) -> Tags {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn exactly_at_threshold_is_a_breach() {
        let t = Thresholds::default();
        assert_eq!(t.status(200, 250, None), Status::Warning); // 80 %
        assert_eq!(t.status(199, 250, None), Status::Ok);
        assert_eq!(t.status(95, 100, None), Status::Critical);
    }

    #[test]
    fn nothing_to_measure_is_unknown_even_under_a_free_floor() {
        let t = Thresholds {
            min_free_addresses: Some(16),
            ..Thresholds::default()
        };
        assert_eq!(t.status(0, 0, None), Status::Unknown);
        assert_eq!(t.status(0, 0, Some(0)), Status::Unknown);
        assert!(!Status::Unknown.is_breach() && Status::Warning.is_breach());
        // The report lists it after the breaches and before what is fine.
        assert!(Status::Ok < Status::Unknown && Status::Unknown < Status::Warning);
    }

    #[test]
    fn free_floor_raises_to_warning_only() {
        let t = Thresholds {
            min_free_addresses: Some(10),
            ..Thresholds::default()
        };
        assert_eq!(t.status(1, 100, Some(10)), Status::Warning);
        assert_eq!(t.status(1, 100, Some(11)), Status::Ok);
        assert_eq!(t.status(99, 100, Some(1)), Status::Critical);
        assert_eq!(t.status(1, 100, None), Status::Ok);
    }

    #[test]
    fn tags_override_and_bad_tags_are_reported() {
        let base = Thresholds::default();
        let (t, src, warn) = base.with_tags(ThresholdSource::Config, &tags(&[(TAG_WARNING, "50")]));
        assert_eq!(
            (t.warning_percent, src, warn),
            (50.0, ThresholdSource::Tag, None)
        );

        let (t, src, warn) =
            base.with_tags(ThresholdSource::Event, &tags(&[(TAG_WARNING, "lots")]));
        assert_eq!((t, src), (base, ThresholdSource::Event));
        assert!(warn
            .unwrap()
            .contains("ipam-monitor:warning-percent=\"lots\""));

        let (_, _, warn) = base.with_tags(ThresholdSource::Config, &tags(&[(TAG_CRITICAL, "60")]));
        assert!(warn
            .unwrap()
            .contains("warning (80) must not be above critical (60)"));

        let (_, _, warn) =
            base.with_tags(ThresholdSource::Config, &tags(&[(TAG_CRITICAL, "150%")]));
        let warn = warn.unwrap();
        assert!(
            warn.contains("ipam-monitor:critical-percent=\"150%\"") && warn.contains("at most 100"),
            "{warn}"
        );
    }

    #[test]
    fn validate_checks_range_then_order() {
        let t = |warning_percent, critical_percent| Thresholds {
            warning_percent,
            critical_percent,
            min_free_addresses: None,
            min_free_block: None,
            min_free_prefixes: None,
        };
        assert_eq!(t(80.0, 80.0).validate(), Ok(()));
        assert_eq!(t(100.0, 100.0).validate(), Ok(()));
        for (w, c, level) in [
            (150.0, 95.0, Level::Warning),
            (0.0, 95.0, Level::Warning),
            (f64::INFINITY, 95.0, Level::Warning),
            (80.0, -1.0, Level::Critical),
            (80.0, 100.5, Level::Critical),
        ] {
            assert!(
                matches!(t(w, c).validate(), Err(ThresholdError::OutOfRange { level: l, .. }) if l == level),
                "{w} {c}"
            );
        }
        assert!(matches!(
            t(f64::NAN, 95.0).validate(),
            Err(ThresholdError::OutOfRange { level: Level::Warning, value }) if value.is_nan()
        ));
        assert_eq!(
            t(96.0, 90.0).validate(),
            Err(ThresholdError::WarningAboveCritical {
                warning: 96.0,
                critical: 90.0
            })
        );
    }
}
