//! Routing domains: VPCs that can reach each other through Transit Gateways and
//! peering, directly or through other VPCs and gateways. Two VPCs in one domain that
//! share addresses are a routing conflict; the same CIDR in two domains is reuse that
//! cannot collide. Transit Gateway route tables can separate attachments further;
//! they are not read, so a domain may be wider than what actually routes (an overlap
//! may alert that a route table keeps apart, never the reverse).

use super::FastMap;
use crate::domain::inventory::{Endpoint, Link};
use crate::domain::text::Text;

pub struct RoutingDomains<'a> {
    index: FastMap<&'a Endpoint, usize>,
    /// Union-find parents over `index`'s slots.
    parent: Vec<usize>,
    /// Per root: the smallest gateway or peering id in its domain, its name.
    name: Vec<Option<&'a str>>,
}

impl<'a> RoutingDomains<'a> {
    pub fn new(links: &'a [Link]) -> RoutingDomains<'a> {
        let mut d = RoutingDomains {
            index: FastMap::default(),
            parent: Vec::new(),
            name: Vec::new(),
        };
        for link in links {
            let [a, b] = &link.ends;
            let (a, b) = (d.slot(a), d.slot(b));
            let root = d.union(a, b);
            for label in labels(link) {
                let n = &mut d.name[root];
                if n.is_none_or(|n| label < n) {
                    *n = Some(label);
                }
            }
        }
        d
    }

    /// The name of the domain of VPC `id` in `region`, `None` when nothing connects it.
    pub fn of_vpc(&self, region: &Text, id: &Text) -> Option<&'a str> {
        let key = Endpoint::Vpc {
            region: region.clone(),
            id: id.clone(),
        };
        let &slot = self.index.get(&key)?;
        self.name[self.root(slot)]
    }

    fn slot(&mut self, e: &'a Endpoint) -> usize {
        let next = self.parent.len();
        let slot = *self.index.entry(e).or_insert(next);
        if slot == next {
            self.parent.push(next);
            self.name.push(None);
        }
        slot
    }

    fn root(&self, mut i: usize) -> usize {
        while self.parent[i] != i {
            i = self.parent[i];
        }
        i
    }

    /// Joins the domains of `a` and `b` and returns the root, keeping the smaller name.
    fn union(&mut self, a: usize, b: usize) -> usize {
        let (ra, rb) = (self.root(a), self.root(b));
        if ra == rb {
            return ra;
        }
        let (keep, drop) = (ra.min(rb), ra.max(rb));
        self.parent[drop] = keep;
        self.name[keep] = match (self.name[keep], self.name[drop]) {
            (Some(x), Some(y)) => Some(x.min(y)),
            (x, y) => x.or(y),
        };
        // Shorten the path just walked from `a` and `b`, so chains stay short.
        for start in [a, b] {
            let mut i = start;
            while self.parent[i] != keep {
                let up = self.parent[i];
                self.parent[i] = keep;
                i = up;
            }
        }
        keep
    }
}

/// A link names its domain by its gateways, or by itself for VPC peering.
fn labels(link: &Link) -> impl Iterator<Item = &str> {
    let gateways: Vec<&str> = link
        .ends
        .iter()
        .filter_map(|e| match e {
            Endpoint::TransitGateway(id) => Some(id.as_str()),
            Endpoint::Vpc { .. } => None,
        })
        .collect();
    let own = gateways.is_empty().then_some(link.id.as_str());
    gateways.into_iter().chain(own)
}
