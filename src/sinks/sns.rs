//! One SNS alert per run when anything is in breach, written for a phone screen.

use super::{Delivery, RunContext, Sink, SinkError};
use crate::domain::report::{OverlapGroup, Report, ResourceRecord};
use crate::domain::thresholds::Status;
use aws_sdk_sns::types::MessageAttributeValue;
use aws_sdk_sns::Client;
use std::fmt::Write;

/// SNS subjects must be under 100 characters.
pub const MAX_SUBJECT_CHARS: usize = 99;
/// SNS messages are at most 256 KiB including subject and attributes; the body stays
/// well under it.
pub const MAX_BODY_BYTES: usize = 250_000;

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
    let quiet_overlaps = s.overlap_groups - conflicts.len();
    if quiet_overlaps > 0 {
        let _ = writeln!(
            footer,
            "{quiet_overlaps} other group(s) of overlapping CIDRs: VPCs that cannot route to each other, or acknowledged (in the report)."
        );
    }
    let _ = write!(
        footer,
        "Run {} at {}. Full report: {report_location}.",
        report.run.run_id, report.run.generated_at
    );

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
    })
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

    async fn deliver(&self, report: &Report, _ctx: &RunContext) -> Result<Delivery, SinkError> {
        let Some(alert) = compose(report, &self.report_location) else {
            return Ok(Delivery::nothing(
                "nothing in breach and no routing overlap: no alert",
            ));
        };
        let first = self.publish(&alert).await;
        let (sent, note) = match first {
            Ok(id) => (id, String::new()),
            // SNS refused what the alert says (a subject or body it will not take):
            // a minimal alert still pages. Other failures would fail it again.
            Err(refused) if refused_for_content(&refused) => {
                let fallback = minimal(&alert, report, &self.report_location);
                let id = self.publish(&fallback).await.map_err(|e| SinkError {
                    message: format!("{}; the minimal alert too: {}", refused.message, e.message),
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
    /// Publishes one alert; its message id on success.
    async fn publish(&self, alert: &Alert) -> Result<String, SinkError> {
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
            )
            .send()
            .await
            .map_err(|e| SinkError::from_sdk("Publish", &e))?;
        Ok(out.message_id().unwrap_or("?").to_string())
    }
}
