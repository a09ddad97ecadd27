//! The report's order: what needs attention first.

use crate::domain::report::ResourceRecord;
use std::cmp::Ordering;

/// Worst status first, then higher utilization (unmeasured last), then resource id.
pub fn worst_first(a: &ResourceRecord, b: &ResourceRecord) -> Ordering {
    let utilization = |r: &ResourceRecord| r.utilization_percent.unwrap_or(-1.0);
    b.status
        .cmp(&a.status)
        .then_with(|| utilization(b).total_cmp(&utilization(a)))
        .then_with(|| a.resource_id.cmp(&b.resource_id))
}

/// A stable sort by [`worst_first`]. The calculator sorts with its fast twin,
/// [`crate::domain::fast::report_order::sort_worst_first`], which must give the same
/// order.
pub fn sort_worst_first(records: &mut [ResourceRecord]) {
    records.sort_by(worst_first);
}
