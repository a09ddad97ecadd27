//! Matches subnets with what else names them: later copies of a shared subnet (seen
//! from several accounts) and IPAM's resource CIDR of each subnet. Both sides are
//! sorted once by integer keys and walked together, which reads memory in order; the
//! hash maps this replaces cost a cache miss per subnet at 100k subnets.

use crate::inventory::Subnet;
use crate::report::IpamObservation;
use compact_str::CompactString;
use ipnet::IpNet;
use rustc_hash::FxHashMap;
use std::cmp::Ordering;

/// An id as integers that order as its bytes do: the first 24 bytes, zero-padded, and
/// the length. Ids of up to 24 bytes (every AWS id) are equal exactly when their keys
/// are; longer ones are told apart by their whole text.
pub type IdKey = ([u64; 3], usize);

pub fn id_key(id: &str) -> IdKey {
    let mut b = [0u8; 24];
    let n = id.len().min(24);
    b[..n].copy_from_slice(&id.as_bytes()[..n]);
    let word = |k: usize| u64::from_be_bytes(b[k * 8..k * 8 + 8].try_into().expect("8 bytes"));
    ([word(0), word(1), word(2)], id.len())
}

/// Orders two ids by their keys, reading the text only when a key cannot decide (the
/// ids are taken as `CompactString` references so that nothing is read before then).
pub fn cmp_ids(ka: &IdKey, a: &CompactString, kb: &IdKey, b: &CompactString) -> Ordering {
    match ka.0.cmp(&kb.0) {
        Ordering::Equal if ka.1 > 24 || kb.1 > 24 => a.as_str().cmp(b.as_str()),
        Ordering::Equal => ka.1.cmp(&kb.1),
        other => other,
    }
}

/// IPAM's entries for subnets, a column per field, as `match_subnets` reads them.
#[derive(Default)]
pub struct IpamSubnetCidrs {
    ids: Vec<CompactString>,
    cidrs: Vec<IpNet>,
    /// The resource's region when IPAM names it: an id and CIDR alike in two regions
    /// are two subnets.
    regions: Vec<Option<CompactString>>,
    observations: Vec<Option<IpamObservation>>,
}

impl IpamSubnetCidrs {
    pub fn with_capacity(n: usize) -> IpamSubnetCidrs {
        IpamSubnetCidrs {
            ids: Vec::with_capacity(n),
            cidrs: Vec::with_capacity(n),
            regions: Vec::with_capacity(n),
            observations: Vec::with_capacity(n),
        }
    }

    pub fn push(
        &mut self,
        id: CompactString,
        cidr: IpNet,
        region: Option<CompactString>,
        observation: IpamObservation,
    ) {
        self.ids.push(id);
        self.cidrs.push(cidr);
        self.regions.push(region);
        self.observations.push(Some(observation));
    }
}

pub struct Matched {
    /// False for the later copies of a subnet already listed (same region and id).
    pub keep: Vec<bool>,
    /// IPAM's view of each kept subnet's IPv4 CIDR, by the subnet's position. Each
    /// entry of IPAM's goes to one subnet; of two alike, the first listed is used.
    pub observed: Vec<Option<Box<IpamObservation>>>,
}

pub fn match_subnets(subnets: &[Subnet], theirs: IpamSubnetCidrs) -> Matched {
    // Regions as small integers, so copies are found without comparing text.
    let mut regions: FxHashMap<&str, u32> = FxHashMap::default();
    // The CIDR rides in the key so the walk below reads no subnet.
    let mut ours: Vec<(IdKey, u32, u32, Option<IpNet>)> = subnets
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let next = regions.len() as u32;
            let region = *regions.entry(s.region.as_str()).or_insert(next);
            (id_key(&s.id), region, i as u32, s.ipv4_cidr)
        })
        .collect();
    // By id, region, then position: the first copy of a subnet comes first.
    ours.sort_unstable_by(|(ka, ra, i, _), (kb, rb, j, _)| {
        let (a, b) = (&subnets[*i as usize].id, &subnets[*j as usize].id);
        cmp_ids(ka, a, kb, b).then(ra.cmp(rb)).then(i.cmp(j))
    });

    // IPAM's side sorted the same way, with each CIDR and region in its key (a region
    // no subnet is in can match nothing; no region matches any).
    let IpamSubnetCidrs {
        ids,
        cidrs,
        regions: their_regions,
        mut observations,
    } = theirs;
    let mut theirs: Vec<(IdKey, IpNet, Option<u32>, u32)> = ids
        .iter()
        .zip(cidrs)
        .zip(their_regions)
        .enumerate()
        .map(|(j, ((id, cidr), region))| {
            let region = region
                .as_deref()
                .map(|r| regions.get(r).copied().unwrap_or(u32::MAX));
            (id_key(id), cidr, region, j as u32)
        })
        .collect();
    theirs.sort_unstable_by(|(ka, _, _, i), (kb, _, _, j)| {
        cmp_ids(ka, &ids[*i as usize], kb, &ids[*j as usize]).then(i.cmp(j))
    });

    let mut keep = vec![false; subnets.len()];
    let mut matched: Vec<Option<u32>> = vec![None; subnets.len()];
    let mut taken = vec![false; ids.len()];
    let mut previous: Option<(IdKey, u32, u32)> = None;
    let mut at = 0;
    for &(key, region, i, ipv4) in &ours {
        let id = &subnets[i as usize].id;
        if let Some((pk, pr, pi)) = previous {
            if pr == region && cmp_ids(&pk, &subnets[pi as usize].id, &key, id).is_eq() {
                continue;
            }
        }
        previous = Some((key, region, i));
        keep[i as usize] = true;
        let Some(net) = ipv4 else { continue };
        // IPAM's entries are in the same order: pass those of smaller ids, then take
        // the first untaken one of this id and CIDR.
        let order = |(k, _, _, j): &(IdKey, IpNet, Option<u32>, u32)| {
            cmp_ids(k, &ids[*j as usize], &key, id)
        };
        while at < theirs.len() && order(&theirs[at]).is_lt() {
            at += 1;
        }
        for &(_, cidr, theirs_region, j) in theirs[at..].iter().take_while(|e| order(e).is_eq()) {
            let same_region = theirs_region.is_none_or(|r| r == region);
            if cidr == net && same_region && !taken[j as usize] {
                taken[j as usize] = true;
                matched[i as usize] = Some(j);
                break;
            }
        }
    }
    // Boxed in subnet order, the order the calculator reads them in.
    let found = matched
        .into_iter()
        .map(|j| Some(Box::new(observations[j? as usize].take()?)))
        .collect();
    Matched {
        keep,
        observed: found,
    }
}
