//! A plain-text rendering of a report for people at a terminal.

use crate::domain::addresses::AddressMap;
use crate::domain::calculator::days_text;
use crate::domain::report::{OverlapRouting, Report, ResourceRecord, RunHistory, Unit};
use std::fmt::Write;

pub fn render(report: &Report) -> String {
    let mut rows: Vec<[String; 11]> = vec![[
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
        "FULL IN",
    ]
    .map(String::from)];
    for r in &report.resources {
        rows.push(row(r));
    }
    let widths: Vec<usize> = (0..11)
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
    address_map_section(&mut out, report);
    eks_section(&mut out, report);
    if let Some(h) = &report.outcome.history {
        history_section(&mut out, h);
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

fn row(r: &ResourceRecord) -> [String; 11] {
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
        r.history
            .as_ref()
            .and_then(|h| h.days_to_exhaustion)
            .map(|d| format!("~{}", days_text(f64::from(d))))
            .unwrap_or_else(|| "-".into()),
    ]
}

/// The mapped subnets: room for /28 prefixes, who holds the addresses, and the
/// detached interfaces where there are any.
fn address_map_section(out: &mut String, report: &Report) {
    let mapped: Vec<(&ResourceRecord, &AddressMap)> = report
        .resources
        .iter()
        .filter_map(|r| Some((r, r.address_map()?)))
        .collect();
    if mapped.is_empty() {
        return;
    }
    let _ = writeln!(out, "\nAddress maps:");
    for (r, m) in mapped {
        let largest = m
            .largest_free_block
            .map(|b| b.to_string())
            .unwrap_or_else(|| "none".into());
        let holders: Vec<String> = m
            .holders
            .iter()
            .map(|h| format!("{} {}", h.holder.as_str(), h.usage.addresses_held))
            .collect();
        let _ = write!(
            out,
            "  {}{}: {} free /28, largest free {largest}; {} interfaces ({})",
            r.resource_id,
            r.name
                .as_deref()
                .map(|n| format!(" ({n})"))
                .unwrap_or_default(),
            m.free_prefixes,
            m.interfaces,
            holders.join(", ")
        );
        if m.detached.interfaces > 0 {
            let _ = write!(
                out,
                "; {} detached holding {} addresses",
                m.detached.interfaces, m.detached.addresses_held
            );
        }
        let _ = writeln!(out);
    }
}

/// Each EKS cluster's room per availability zone.
fn eks_section(out: &mut String, report: &Report) {
    if report.outcome.eks_clusters.is_empty() {
        return;
    }
    let _ = writeln!(out, "\nEKS clusters:");
    for c in &report.outcome.eks_clusters {
        let _ = writeln!(
            out,
            "  {} ({}/{}): {}",
            c.cluster, c.account_id, c.region, c.status
        );
        for z in &c.zones {
            let prefixes = z
                .free_prefixes
                .map(|p| p.to_string())
                .unwrap_or_else(|| "-".into());
            let _ = writeln!(
                out,
                "    {}: {} subnet(s), {} free addresses, {prefixes} free /28, {} detached interface(s), {}",
                z.availability_zone, z.subnets, z.free_addresses, z.detached_interfaces, z.status
            );
        }
    }
}

/// What the run remembered: the previous run, what changed, where the report is.
fn history_section(out: &mut String, h: &RunHistory) {
    let _ = writeln!(out, "\nHistory:");
    match &h.previous_run {
        Some(p) => {
            let _ = writeln!(out, "  previous run {} at {}", p.run_id, p.at);
        }
        None => {
            let _ = writeln!(out, "  first run: no previous state");
        }
    }
    let c = &h.changes;
    let _ = writeln!(
        out,
        "  since the last alert: {} new critical, {} new warning, {} escalated, {} reminded, {} eased, {} recovered, {} new routing overlap(s)",
        c.new_critical, c.new_warning, c.escalated, c.reminder, c.eased, c.recovered, c.new_conflicts
    );
    if h.retried_request {
        let _ = writeln!(
            out,
            "  a retry of the run that wrote the state: already delivered {}",
            h.already_delivered.join(", ")
        );
    }
    for g in &h.gone {
        let _ = writeln!(out, "  gone: {} (was {})", g.key, g.last_status);
    }
    for w in &h.warnings {
        let _ = writeln!(out, "  warning: {w}");
    }
    if let Some(a) = &h.archive {
        let _ = writeln!(out, "  archived at {a}");
    }
}
