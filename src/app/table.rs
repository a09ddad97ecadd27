//! A plain-text rendering of a report for people at a terminal.

use crate::domain::report::{OverlapRouting, Report, ResourceRecord, Unit};
use std::fmt::Write;

pub fn render(report: &Report) -> String {
    let mut rows: Vec<[String; 10]> = vec![[
        "STATUS",
        "TYPE",
        "ID",
        "NAME",
        "REGION",
        "CIDR",
        "MANAGED",
        "USED/TOTAL",
        "UTIL%",
        "LARGEST FREE",
    ]
    .map(String::from)];
    for r in &report.resources {
        rows.push(row(r));
    }
    let widths: Vec<usize> = (0..10)
        .map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0))
        .collect();

    let mut out = String::new();
    for r in &rows {
        let line: Vec<String> = r
            .iter()
            .zip(&widths)
            .map(|(cell, w)| format!("{cell:<w$}"))
            .collect();
        let _ = writeln!(out, "{}", line.join("  ").trim_end());
    }
    if !report.outcome.overlaps.is_empty() {
        let _ = writeln!(out, "\nOverlapping CIDRs:");
        for g in &report.outcome.overlaps {
            let routing = match (g.routing, &g.suppressed) {
                (_, Some(s)) => format!("conflict, acknowledged ({})", s.reason),
                (OverlapRouting::Conflict, None) => {
                    "CONFLICT: the VPCs can route to each other".into()
                }
                (OverlapRouting::Isolated, None) => {
                    "isolated: no two of these VPCs are connected".into()
                }
                (OverlapRouting::Unknown, None) => "unknown: connectivity not read".into(),
            };
            let members: Vec<String> = g
                .members
                .iter()
                .map(|m| {
                    let domain = m
                        .routing_domain
                        .as_deref()
                        .map(|d| format!(" via {d}"))
                        .unwrap_or_default();
                    format!(
                        "{} {} ({}/{}){domain}",
                        m.resource_id, m.cidr, m.account_id, m.region
                    )
                })
                .collect();
            let _ = writeln!(out, "  {} [{routing}]: {}", g.cidr, members.join(", "));
        }
    }
    let explained: Vec<&ResourceRecord> = report
        .resources
        .iter()
        .filter(|r| !r.reasons.is_empty() || r.suppressed.is_some())
        .collect();
    if !explained.is_empty() {
        let _ = writeln!(out, "\nWhy:");
        for r in explained {
            let mut why: Vec<String> = r.reasons.iter().map(|x| x.detail.clone()).collect();
            if let Some(s) = &r.suppressed {
                why.push(format!("suppressed by {}: {}", s.by, s.reason));
            }
            let _ = writeln!(out, "  {} {}: {}", r.status, r.resource_id, why.join("; "));
        }
    }
    let warned: Vec<&ResourceRecord> = report
        .resources
        .iter()
        .filter(|r| !r.warnings.is_empty())
        .collect();
    if !warned.is_empty() {
        let _ = writeln!(out, "\nWarnings:");
        for r in warned {
            for w in &r.warnings {
                let _ = writeln!(out, "  {}: {w}", r.resource_id);
            }
        }
    }
    if !report.outcome.errors.is_empty() {
        let _ = writeln!(out, "\nErrors:");
        for e in &report.outcome.errors {
            let _ = writeln!(
                out,
                "  {}/{} {}: {} {}",
                e.account_id,
                e.region,
                e.operation,
                e.code.as_deref().unwrap_or("error"),
                e.message
            );
        }
    }
    let s = &report.outcome.summary;
    let _ = writeln!(
        out,
        "\n{} resources ({} VPCs, {} subnets, {} IPAM pools): {} critical, {} warning, {} unknown, {} ok, {} suppressed; {} managed and {} unmanaged VPC CIDR(s); {} overlap group(s), {} that can route; {} of {} scope(s) scanned, {} error(s)",
        s.resources,
        s.vpcs,
        s.subnets,
        s.ipam_pools,
        s.critical,
        s.warning,
        s.unknown,
        s.ok,
        s.suppressed,
        s.managed_cidrs,
        s.unmanaged_cidrs,
        s.overlap_groups,
        s.overlap_conflicts,
        s.scopes_scanned,
        s.scopes_scanned + s.scopes_failed,
        s.errors
    );
    out
}

fn row(r: &ResourceRecord) -> [String; 10] {
    let unit = match r.unit {
        Unit::Address => "",
        Unit::Slash64 => " /64s",
    };
    [
        match r.suppressed {
            Some(_) => format!("{} (ack)", r.status),
            None => r.status.to_string(),
        },
        r.resource_type.as_str().to_string(),
        r.resource_id.to_string(),
        r.name.as_deref().unwrap_or_default().to_string(),
        r.region.to_string(),
        r.cidrs
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(","),
        match r.managed {
            Some(true) => "yes",
            Some(false) => "no",
            None => "-",
        }
        .to_string(),
        format!("{}/{}{unit}", r.used, r.usable),
        r.utilization_percent
            .map(|p| format!("{p:.2}"))
            .unwrap_or_else(|| "-".into()),
        r.largest_free_block
            .map(|b| b.to_string())
            .unwrap_or_else(|| "-".into()),
    ]
}
