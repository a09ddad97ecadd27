//! The report's order: what needs attention first.

use crate::domain::report::ResourceRecord;
use crate::domain::text::Text;
use crate::domain::thresholds::Status;
use std::cmp::Ordering;

/// Worst status first, then higher utilization (unmeasured last), then resource id.
pub fn worst_first(a: &ResourceRecord, b: &ResourceRecord) -> Ordering {
    report_order(
        (a.status, a.utilization_percent, &a.resource_id),
        (b.status, b.utilization_percent, &b.resource_id),
    )
}

fn report_order(a: (Status, Option<f64>, &Text), b: (Status, Option<f64>, &Text)) -> Ordering {
    let utilization = |u: Option<f64>| u.unwrap_or(-1.0);
    b.0.cmp(&a.0)
        .then_with(|| utilization(b.1).total_cmp(&utilization(a.1)))
        .then_with(|| a.2.cmp(b.2))
}

/// A stable sort by [`worst_first`]. Each record's place is read once into a small
/// key and the keys are sorted: sorting the records themselves would move hundreds
/// of bytes per comparison and read scattered records.
pub fn sort_worst_first(records: &mut [ResourceRecord]) {
    records.sort_by_cached_key(|r| Place {
        status: r.status,
        utilization: r.utilization_percent,
        id: r.resource_id.clone(),
    });
}

/// What the report's order reads of a record.
struct Place {
    status: Status,
    utilization: Option<f64>,
    id: Text,
}

impl Ord for Place {
    fn cmp(&self, other: &Place) -> Ordering {
        report_order(
            (self.status, self.utilization, &self.id),
            (other.status, other.utilization, &other.id),
        )
    }
}

impl PartialOrd for Place {
    fn partial_cmp(&self, other: &Place) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for Place {
    fn eq(&self, other: &Place) -> bool {
        self.cmp(other).is_eq()
    }
}

impl Eq for Place {}
