//! One SNS alert per run when anything is in breach, written for a phone screen.

use super::{Delivery, RunContext, Sink, SinkError};
use crate::aws::setup::timeouts_until;
use crate::domain::calculator::days_text;
use crate::domain::report::{Change, OverlapGroup, Report, ResourceRecord};
use crate::domain::thresholds::Status;
use aws_sdk_sns::types::MessageAttributeValue;
use aws_sdk_sns::Client;
use std::fmt::Write;
use std::time::Instant;

/// SNS subjects must be under 100 characters.
pub const MAX_SUBJECT_CHARS: usize = 99;
/// SNS messages are at most 256 KiB including subject and attributes; the body stays
/// well under it.
pub const MAX_BODY_BYTES: usize = 250_000;

/// What the SNS alert says, and when.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum AlertMode {
    /// What changed since the last delivered alert (new, escalated, eased, recovered)
    /// and reminders. Needs the run's memory (a state bucket); a run without one
    /// alerts as [`AlertMode::EveryRun`].
    #[default]
    Changes,
    /// Everything in breach, every run.
    EveryRun,
}

pub struct SnsSink {
    pub client: Client,
    pub topic_arn: String,
    /// Where the full report went, for the alert's footer.
    pub report_location: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Alert {
    pub subject: String,
    pub body: String,
    pub severity: Status,
    pub breach_count: usize,
    pub overlap_conflicts: usize,
    /// The kinds of change the alert tells (`new_critical`, `reminder`...), for
    /// subscription filters; empty in every-run mode.
    pub changes: Vec<&'static str>,
}

/// A name a person recognises, without anything that would break a line.
fn display_name(r: &ResourceRecord) -> String {
    let name = r.name.as_deref().unwrap_or(&r.resource_id);
    name.chars().filter(|c| !c.is_control()).collect()
}

fn entry(r: &ResourceRecord) -> String {
    let cidrs: Vec<String> = r.cidrs.iter().map(ToString::to_string).collect();
    let pct = r
        .utilization_percent
        .map(|p| format!("{p:.2}%"))
        .unwrap_or_else(|| "-".into());
    let largest = r
        .largest_free_block
        .map(|b| b.to_string())
        .unwrap_or_else(|| "none".into());
    let unit = if r.unit == crate::domain::report::Unit::Address {
        ""
    } else {
        " /64s"
    };
    let mut s = format!(
        "{} {} {} ({})\n  {} {}  {}\n  {pct} used, {} free{unit}",
        r.status,
        r.resource_type.as_str(),
        display_name(r),
        r.resource_id,
        r.account_id,
        r.region,
        cidrs.join(", "),
        r.free,
    );
    if r.resource_type != crate::domain::report::ResourceType::Subnet {
        let _ = write!(s, ", largest free block {largest}");
    }
    if let Some(days) = r.history.as_ref().and_then(|h| h.days_to_exhaustion) {
        let _ = write!(s, ", full in ~{}", days_text(f64::from(days)));
    }
    if let Some(map) = r.address_map() {
        let _ = write!(s, ", {} free /28 prefixes", map.free_prefixes);
        // Addresses nobody will free until someone deletes the interfaces.
        if map.detached.interfaces > 0 {
            let _ = write!(
                s,
                ", {} detached interfaces holding {} addresses",
                map.detached.interfaces, map.detached.addresses_held
            );
        }
    }
    // Say why a resource alerts below the usual thresholds.
    if r.thresholds.source == crate::domain::thresholds::ThresholdSource::Tag {
        let _ = write!(
            s,
            " (tagged thresholds {}/{}%)",
            r.thresholds.warning_percent, r.thresholds.critical_percent
        );
    }
    if !r.reasons.is_empty() {
        let why: Vec<&str> = r.reasons.iter().map(|x| x.detail.as_str()).collect();
        let _ = write!(s, "\n  why: {}", why.join("; "));
    }
    s.push('\n');
    s
}

/// One overlap group that can route, for the alert body: each pair that collides and
/// what connects it (accepted pairs left out), then every member with its account.
fn conflict_entry(g: &OverlapGroup) -> String {
    let mut s = format!(
        "OVERLAP {} between VPCs that can route to each other\n",
        g.cidr
    );
    for c in g.conflicts.iter().filter(|c| c.accepted_by.is_none()) {
        let _ = writeln!(
            s,
            "  {} {} <-> {} {} via {}",
            c.vpc_ids[0], c.cidrs[0], c.vpc_ids[1], c.cidrs[1], c.via
        );
    }
    for m in &g.members {
        let _ = writeln!(s, "  {} {} {}", m.resource_id, m.account_id, m.region);
    }
    s
}

/// The alert for a report, or `None` when nothing alerts (never an empty message):
/// resources in breach that nobody acknowledged, and overlaps between VPCs that can
/// route to each other. `report_location` says where the full report went.
pub fn compose(report: &Report, report_location: &str) -> Option<Alert> {
    let breaches: Vec<&ResourceRecord> = report.resources.iter().filter(|r| r.alerts()).collect();
    let conflicts: Vec<&OverlapGroup> = report
        .outcome
        .overlaps
        .iter()
        .filter(|g| g.alerts())
        .collect();
    if breaches.is_empty() && conflicts.is_empty() {
        return None;
    }
    let s = &report.outcome.summary;

    // Said before the counts, where a cut subject still shows it: the counts cover
    // only what was scanned.
    let incomplete = if s.scopes_failed > 0 || s.errors > 0 {
        " (incomplete)"
    } else {
        ""
    };
    let overlaps = match conflicts.len() {
        0 => String::new(),
        n => format!(", {n} routing overlap(s)"),
    };
    // Resources are sorted worst first, so the first breach is the worst; a routing
    // overlap on its own is a WARNING.
    let (severity, worst) = match breaches.first() {
        Some(w) => (
            w.status,
            format!(
                "{} {} {}",
                display_name(w),
                w.utilization_percent
                    .map(|p| format!("{p:.1}%"))
                    .unwrap_or_default(),
                w.region
            ),
        ),
        None => (Status::Warning, format!("overlap {}", conflicts[0].cidr)),
    };
    let subject = format!(
        "[{severity}]{incomplete} {} critical, {} warning{overlaps}: {worst}",
        s.critical, s.warning,
    );
    let subject = subject_text(&subject);
    let footer = footer(report, report_location, conflicts.len());

    let mut body = format!(
        "{} critical, {} warning of {} resources monitored{}.\n\n",
        s.critical,
        s.warning,
        s.resources,
        match conflicts.len() {
            0 => String::new(),
            n => format!("; {n} overlap(s) between VPCs that can route to each other"),
        }
    );
    // Room for the footer and the "more" line.
    let budget = MAX_BODY_BYTES - footer.len() - 200;
    let entries = breaches
        .iter()
        .map(|r| entry(r))
        .chain(conflicts.iter().map(|g| conflict_entry(g)));
    let mut listed = 0;
    for e in entries {
        if body.len() + e.len() + 1 > budget {
            break;
        }
        body.push_str(&e);
        body.push('\n');
        listed += 1;
    }
    let total = breaches.len() + conflicts.len();
    if listed < total {
        let _ = writeln!(
            body,
            "...and {} more not listed here (message size limit).\n",
            total - listed
        );
    }
    body.push_str(&footer);
    Some(Alert {
        subject,
        body,
        severity,
        breach_count: breaches.len(),
        overlap_conflicts: conflicts.len(),
        changes: Vec::new(),
    })
}

/// The alert for `report` in `mode`: changes when the run remembers, else everything
/// in breach.
pub fn alert_for(report: &Report, report_location: &str, mode: AlertMode) -> Option<Alert> {
    match (&report.outcome.history, mode) {
        (Some(_), AlertMode::Changes) => compose_changes(report, report_location),
        _ => compose(report, report_location),
    }
}

/// The sections of a changes alert, most urgent first, with the change each lists.
const SECTIONS: &[(Change, &str)] = &[
    (Change::NewCritical, "NEW CRITICAL"),
    (Change::Escalated, "ESCALATED TO CRITICAL"),
    (Change::NewWarning, "NEW WARNING"),
    (Change::Reminder, "STILL IN BREACH (reminder)"),
    (Change::Eased, "EASED TO WARNING"),
    (Change::Recovered, "RECOVERED"),
];

fn change_of(r: &ResourceRecord) -> Option<Change> {
    r.history.as_ref().and_then(|h| h.change)
}

/// What changed since the last delivered alert, or `None` when nothing did: new
/// breaches, escalations, reminders, easings, recoveries and new routing overlaps, in
/// sections, worst first.
pub fn compose_changes(report: &Report, report_location: &str) -> Option<Alert> {
    let history = report.outcome.history.as_ref()?;
    let changed: Vec<&ResourceRecord> = report
        .resources
        .iter()
        .filter(|r| change_of(r).is_some())
        .collect();
    let conflicts: Vec<&OverlapGroup> = report
        .outcome
        .overlaps
        .iter()
        .filter(|g| g.change.is_some())
        .collect();
    if changed.is_empty() && conflicts.is_empty() && history.gone.is_empty() {
        return None;
    }
    let s = &report.outcome.summary;
    let c = &history.changes;
    let incomplete = if s.scopes_failed > 0 || s.errors > 0 {
        " (incomplete)"
    } else {
        ""
    };
    // Records are worst first: the first changed one in breach is the worst news.
    let worst = changed.iter().find(|r| r.alerts());
    let severity = match worst {
        Some(w) => w.status,
        None if !conflicts.is_empty() => Status::Warning,
        None => Status::Ok,
    };
    let counts: Vec<String> = [
        (c.new_critical, "new critical"),
        (c.escalated, "escalated"),
        (c.new_warning, "new warning"),
        (c.new_conflicts, "new routing overlap(s)"),
        (c.reminder, "still in breach"),
        (c.eased, "eased"),
        (c.recovered, "recovered"),
    ]
    .iter()
    .filter(|(n, _)| *n > 0)
    .map(|(n, what)| format!("{n} {what}"))
    .collect();
    let named = match (worst, changed.first()) {
        (Some(w), _) | (None, Some(w)) => format!(
            "{} {} {}",
            display_name(w),
            w.utilization_percent
                .map(|p| format!("{p:.1}%"))
                .unwrap_or_default(),
            w.region
        ),
        (None, None) => match conflicts.first() {
            Some(g) => format!("overlap {}", g.cidr),
            None => "resources gone".to_string(),
        },
    };
    let subject = subject_text(&format!(
        "[{severity}]{incomplete} {}: {named}",
        counts.join(", ")
    ));

    let mut body = format!(
        "Since the last alert: {}. Now {} critical, {} warning of {} resources monitored.\n\n",
        counts.join(", "),
        s.critical,
        s.warning,
        s.resources
    );
    let footer = footer(report, report_location, conflicts.len());
    let budget = MAX_BODY_BYTES - footer.len() - 200;
    let mut left_out = 0;
    let mut push = |body: &mut String, text: &str| {
        if body.len() + text.len() + 1 > budget {
            left_out += 1;
        } else {
            body.push_str(text);
        }
    };
    for &(change, title) in SECTIONS {
        let mut section: Vec<String> = changed
            .iter()
            .filter(|r| change_of(r) == Some(change))
            .map(|r| entry(r))
            .collect();
        // Routing conflicts are only ever new (a WARNING) or reminded.
        section.extend(
            conflicts
                .iter()
                .filter(|g| g.change == Some(change))
                .map(|g| conflict_entry(g)),
        );
        if change == Change::Recovered {
            section.extend(
                history
                    .gone
                    .iter()
                    .map(|g| format!("GONE {} (was {}): no longer exists\n", g.key, g.last_status)),
            );
        }
        if section.is_empty() {
            continue;
        }
        push(&mut body, &format!("== {title} ({}) ==\n", section.len()));
        for e in section {
            push(&mut body, &(e + "\n"));
        }
    }
    if left_out > 0 {
        let _ = writeln!(
            body,
            "...and {left_out} more not listed here (message size limit).\n"
        );
    }
    body.push_str(&footer);
    let mut kinds: Vec<&'static str> = changed
        .iter()
        .filter_map(|r| change_of(r))
        .chain(conflicts.iter().filter_map(|g| g.change))
        .map(Change::as_str)
        .collect();
    if !history.gone.is_empty() {
        kinds.push(Change::Recovered.as_str());
    }
    kinds.sort_unstable();
    kinds.dedup();
    Some(Alert {
        subject,
        body,
        severity,
        breach_count: s.in_breach,
        overlap_conflicts: s.overlap_conflicts,
        changes: kinds,
    })
}

/// The lines under the list: what the counts leave out, and where the report is.
fn footer(report: &Report, report_location: &str, conflicts_listed: usize) -> String {
    let s = &report.outcome.summary;
    let mut footer = String::new();
    if s.errors > 0 {
        let _ = writeln!(
            footer,
            "{} scope error(s): some accounts/regions were not scanned.",
            s.errors
        );
    }
    if s.unknown > 0 {
        let _ = writeln!(
            footer,
            "{} resource(s) could not be measured (UNKNOWN): see the report's warnings.",
            s.unknown
        );
    }
    if s.suppressed > 0 {
        let _ = writeln!(
            footer,
            "{} acknowledged (suppressed) resource(s) not listed.",
            s.suppressed
        );
    }
    let quiet_overlaps = s.overlap_groups.saturating_sub(conflicts_listed);
    if quiet_overlaps > 0 {
        let _ = writeln!(
            footer,
            "{quiet_overlaps} other group(s) of overlapping CIDRs: VPCs that cannot route to each other, or acknowledged (in the report)."
        );
    }
    let location = report
        .outcome
        .history
        .as_ref()
        .and_then(|h| h.archive.as_deref())
        .unwrap_or(report_location);
    let _ = write!(
        footer,
        "Run {} at {}. Full report: {location}.",
        report.run.run_id, report.run.generated_at
    );
    footer
}

/// A subject SNS accepts and a mail client shows as written: printable ASCII only (a
/// Name tag is free text that anyone allowed to tag a resource controls; other
/// characters become `?`), under [`MAX_SUBJECT_CHARS`], cut with `...`.
pub fn subject_text(raw: &str) -> String {
    let safe: String = raw
        .chars()
        .map(|c| {
            if c == ' ' || c.is_ascii_graphic() {
                c
            } else {
                '?'
            }
        })
        .collect();
    if safe.len() <= MAX_SUBJECT_CHARS {
        return safe;
    }
    safe[..MAX_SUBJECT_CHARS - 3].to_string() + "..."
}

/// The alert sent when SNS rejects the full one: counts and where the report is,
/// nothing taken from a resource, so nothing in a tag can make it fail again.
pub fn minimal(alert: &Alert, report: &Report, report_location: &str) -> Alert {
    let s = &report.outcome.summary;
    Alert {
        subject: format!(
            "[{}] {} critical, {} warning (ipam-monitor)",
            alert.severity, s.critical, s.warning
        ),
        body: format!(
            "{} critical, {} warning of {} resources monitored. SNS refused the full \
             alert; the resources are listed in the full report.\n\n\
             Run {} at {}. Full report: {report_location}.",
            s.critical, s.warning, s.resources, report.run.run_id, report.run.generated_at
        ),
        ..alert.clone()
    }
}

fn attribute(data_type: &str, value: String) -> MessageAttributeValue {
    MessageAttributeValue::builder()
        .data_type(data_type)
        .string_value(value)
        .build()
        .expect("data_type is set")
}

#[async_trait::async_trait]
impl Sink for SnsSink {
    fn name(&self) -> &'static str {
        "sns"
    }

    async fn deliver(&self, report: &Report, ctx: &RunContext) -> Result<Delivery, SinkError> {
        let Some(alert) = alert_for(report, &self.report_location, ctx.alert_mode) else {
            let why = if report.outcome.history.is_some() && ctx.alert_mode == AlertMode::Changes {
                "nothing changed since the last alert and no reminder due: no alert"
            } else {
                "nothing in breach and no routing overlap: no alert"
            };
            return Ok(Delivery::nothing(why));
        };
        let first = self.publish(&alert, ctx.cutoff).await;
        let (sent, note) = match first {
            Ok(id) => (id, String::new()),
            // SNS refused what the alert says (a subject or body it will not take):
            // a minimal alert still pages. Other failures would fail it again.
            Err(refused) if refused_for_content(&refused) => {
                let fallback = minimal(&alert, report, &self.report_location);
                let id = self
                    .publish(&fallback, ctx.cutoff)
                    .await
                    .map_err(|e| SinkError {
                        message: format!(
                            "{}; the minimal alert too: {}",
                            refused.message, e.message
                        ),
                        ..refused.clone()
                    })?;
                tracing::warn!(error = %refused.message, "SNS refused the full alert; a minimal one was published");
                let note = format!(
                    " (the full alert was refused: {}; a minimal one was sent)",
                    refused.message
                );
                (id, note)
            }
            Err(other) => return Err(other),
        };
        Ok(Delivery::sent(format!(
            "alert {} ({} in breach, {} routing overlap(s)) published to {} as message {sent}{note}",
            alert.severity, alert.breach_count, alert.overlap_conflicts, self.topic_arn,
        )))
    }
}

/// SNS's answer when a parameter's content is not acceptable.
fn refused_for_content(e: &SinkError) -> bool {
    matches!(
        e.code.as_deref(),
        Some("InvalidParameter" | "InvalidParameterValue")
    )
}

impl SnsSink {
    /// Publishes one alert, ending before `cutoff`; its message id on success.
    async fn publish(&self, alert: &Alert, cutoff: Option<Instant>) -> Result<String, SinkError> {
        let out = self
            .client
            .publish()
            .topic_arn(&self.topic_arn)
            .subject(&alert.subject)
            .message(&alert.body)
            .message_attributes("severity", attribute("String", alert.severity.to_string()))
            .message_attributes(
                "breach_count",
                attribute("Number", alert.breach_count.to_string()),
            )
            .message_attributes(
                "overlap_conflicts",
                attribute("Number", alert.overlap_conflicts.to_string()),
            );
        // Lets a subscription filter, e.g. {"changes": ["new_critical", "escalated"]}.
        let out = if alert.changes.is_empty() {
            out
        } else {
            let kinds = serde_json::to_string(&alert.changes).expect("strings serialize");
            out.message_attributes("changes", attribute("String.Array", kinds))
        };
        let out = out
            .customize()
            .config_override(aws_sdk_sns::Config::builder().timeout_config(timeouts_until(cutoff)))
            .send()
            .await
            .map_err(|e| SinkError::from_sdk("Publish", &e))?;
        Ok(out.message_id().unwrap_or("?").to_string())
    }
}
