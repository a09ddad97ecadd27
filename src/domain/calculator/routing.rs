//! Which VPCs can route to each other. Transit Gateways route between all their
//! attachments and on to peered gateways, so they form *domains*: every VPC attached
//! to a gateway of one domain can reach every other. VPC peering is not transitive:
//! it connects exactly its two VPCs. Two VPCs that can route to each other and share
//! addresses are a routing conflict; the same CIDR elsewhere is reuse that cannot
//! collide. Transit Gateway route tables can separate attachments further; they are
//! not read, so a domain may be wider than what actually routes (an overlap may alert
//! that a route table keeps apart, never the reverse).

use super::FastMap;
use crate::domain::inventory::{Endpoint, Link};
use crate::domain::text::Text;

pub struct RoutingDomains<'a> {
    index: FastMap<&'a Endpoint, usize>,
    /// Union-find parents over `index`'s slots.
    parent: Vec<usize>,
    /// Per root: the smallest Transit Gateway id in its domain, its name.
    name: Vec<Option<&'a str>>,
    /// VPC peerings, both ways round: (one end, other end) -> peering id.
    peerings: FastMap<(Endpoint, Endpoint), &'a str>,
    /// Every VPC that has a peering.
    peered: FastMap<Endpoint, ()>,
}

impl<'a> RoutingDomains<'a> {
    pub fn new(links: &'a [Link]) -> RoutingDomains<'a> {
        let mut d = RoutingDomains {
            index: FastMap::default(),
            parent: Vec::new(),
            name: Vec::new(),
            peerings: FastMap::default(),
            peered: FastMap::default(),
        };
        for link in links {
            let [a, b] = &link.ends;
            if let (Endpoint::Vpc { .. }, Endpoint::Vpc { .. }) = (a, b) {
                d.peerings.insert((a.clone(), b.clone()), &link.id);
                d.peerings.insert((b.clone(), a.clone()), &link.id);
                d.peered.insert(a.clone(), ());
                d.peered.insert(b.clone(), ());
                continue;
            }
            let (a, b) = (d.slot(a), d.slot(b));
            let root = d.union(a, b);
            for gateway in gateways(link) {
                let n = &mut d.name[root];
                if n.is_none_or(|n| gateway < n) {
                    *n = Some(gateway);
                }
            }
        }
        d
    }

    /// The Transit Gateway domain of VPC `id` in `region`, by name; `None` when no
    /// gateway connects it.
    pub fn of_vpc(&self, region: &Text, id: &Text) -> Option<&'a str> {
        let &slot = self.index.get(&vpc(region, id))?;
        self.name[self.root(slot)]
    }

    /// Whether anything connects VPC `id` in `region` to another VPC.
    pub fn connected(&self, region: &Text, id: &Text) -> bool {
        let v = vpc(region, id);
        self.peered.contains_key(&v) || self.index.contains_key(&v)
    }

    /// What lets two VPCs route to each other: their shared Transit Gateway domain, or
    /// a peering between them.
    pub fn route_between(
        &self,
        (a_region, a_id): (&Text, &Text),
        (b_region, b_id): (&Text, &Text),
    ) -> Option<&'a str> {
        let (a, b) = (vpc(a_region, a_id), vpc(b_region, b_id));
        if let Some(peering) = self.peerings.get(&(a, b)) {
            return Some(peering);
        }
        let domain = self.of_vpc(a_region, a_id)?;
        (self.of_vpc(b_region, b_id) == Some(domain)).then_some(domain)
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

fn vpc(region: &Text, id: &Text) -> Endpoint {
    Endpoint::Vpc {
        region: region.clone(),
        id: id.clone(),
    }
}

/// The gateways a link touches: they name its domain.
fn gateways(link: &Link) -> impl Iterator<Item = &str> {
    link.ends.iter().filter_map(|e| match e {
        Endpoint::TransitGateway(id) => Some(id.as_str()),
        Endpoint::Vpc { .. } => None,
    })
}
