//! Resources shared through AWS RAM: a VPC, subnet or IPAM pool shared with several
//! accounts is listed by each of them, and counts once.

use super::FastSet;
use crate::domain::inventory::{IpamPool, Subnet, Vpc};

/// The first copy of each resource, in inventory order. A resource AWS listed without
/// an id is nobody's copy: it is kept (its record carries the source's warning).
pub fn first_copies<T>(mut items: Vec<T>, key: fn(&T) -> (&str, &str)) -> Vec<T> {
    let mut seen = FastSet::with_capacity_and_hasher(items.len(), Default::default());
    let first: Vec<bool> = items
        .iter()
        .map(|item| {
            let (scope, id) = key(item);
            id.is_empty() || seen.insert((scope, id))
        })
        .collect();
    drop(seen);
    let mut first = first.into_iter();
    items.retain(|_| first.next() == Some(true));
    items
}

/// The same VPC id in two regions is two VPCs.
pub fn vpc_key(v: &Vpc) -> (&str, &str) {
    (&v.region, &v.id)
}

pub fn subnet_key(s: &Subnet) -> (&str, &str) {
    (&s.region, &s.id)
}

/// Pool ids are unique across regions.
pub fn pool_key(p: &IpamPool) -> (&str, &str) {
    ("", &p.id)
}
