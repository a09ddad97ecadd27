//! Matches subnets with what else names them: later copies of a shared subnet (seen
//! from several accounts) and IPAM's resource CIDR of each subnet. Both sides are
//! grouped by a hash of the id with a counting sort, then each small group is sorted
//! by integer keys and walked; hash maps cost a cache miss per subnet at 100k subnets,
//! and two full comparison sorts cost a third of the calculator.

use crate::domain::inventory::Subnet;
use crate::domain::rank_sort::group_by_rank;
use crate::domain::report::IpamObservation;
use compact_str::CompactString;
use ipnet::IpNet;
use rustc_hash::FxHashMap;
use std::cmp::Ordering;

/// An id as integers that order as its bytes do: the first 24 bytes, zero-padded, and
/// the length. Ids of up to 24 bytes (every AWS id) are equal exactly when their keys
/// are; longer ones are told apart by their whole text.
pub type IdKey = ([u64; 3], usize);

pub fn id_key(id: &str) -> IdKey {
    let words = |b: &[u8]| {
        let word = |k: usize| u64::from_be_bytes(b[k * 8..k * 8 + 8].try_into().expect("8 bytes"));
        [word(0), word(1), word(2)]
    };
    match id.as_bytes().get(..24) {
        // Read in place: a subnet id is exactly 24 bytes.
        Some(first) => (words(first), id.len()),
        None => {
            let mut b = [0u8; 24];
            b[..id.len()].copy_from_slice(id.as_bytes());
            (words(&b), id.len())
        }
    }
}

/// Orders two ids by their key words and lengths, reading the texts only when the
/// words tie and one id is over 24 bytes. With the words in the id's own order, this is
/// the order of the texts; in any fixed word order, equal ids compare equal.
pub fn cmp_ids<'t>(
    a: ([u64; 3], u32),
    a_text: impl FnOnce() -> &'t str,
    b: ([u64; 3], u32),
    b_text: impl FnOnce() -> &'t str,
) -> Ordering {
    match a.0.cmp(&b.0) {
        Ordering::Equal if a.1 > 24 || b.1 > 24 => a_text().cmp(b_text()),
        Ordering::Equal => a.1.cmp(&b.1),
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
    /// Boxed as they arrive, so matching moves a pointer, not 120 bytes.
    observations: Vec<Option<Box<IpamObservation>>>,
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
        self.observations.push(Some(Box::new(observation)));
    }
}

pub struct Matched {
    /// False for the later copies of a subnet already listed (same region and id).
    pub keep: Vec<bool>,
    /// IPAM's view of each kept subnet's IPv4 CIDR, by the subnet's position. Each
    /// entry of IPAM's goes to one subnet; of two alike, the first listed is used.
    pub observed: Vec<Option<Box<IpamObservation>>>,
}

/// One side's entry as `match_subnets` sorts it, in 40 bytes of integers so a sort
/// compares and moves little: the id's key words, last first (every subnet id starts
/// with the same eight bytes, `subnet-0`), its length, then what breaks ties. Only the
/// two sides have to agree on this order, not the alphabet.
#[derive(Clone, Copy)]
struct Entry {
    words: [u64; 3],
    len: u32,
    /// Ours: the subnet's region. Theirs: the region IPAM names, or [`ANY_REGION`].
    region: u32,
    /// The position in the input: the first of two alike wins.
    at: u32,
    /// An IPv4 CIDR as `address << 8 | prefix length`, or [`NO_CIDR`].
    cidr: u64,
}

/// IPAM named no region: the entry matches a subnet of its id and CIDR in any region.
const ANY_REGION: u32 = u32::MAX;
/// IPAM named a region no subnet is in: the entry matches nothing.
const UNSEEN_REGION: u32 = u32::MAX - 1;
/// No IPv4 CIDR (never equal to a packed one, which is below 2^40).
const NO_CIDR: u64 = u64::MAX;

fn packed_v4(net: Option<&IpNet>) -> u64 {
    match net {
        Some(IpNet::V4(n)) => u64::from(u32::from(n.network())) << 8 | u64::from(n.prefix_len()),
        _ => NO_CIDR,
    }
}

impl Entry {
    fn new(id: &str, region: u32, at: usize, cidr: u64) -> Entry {
        let ([w0, w1, w2], len) = id_key(id);
        Entry {
            words: [w2, w1, w0],
            len: len.min(u32::MAX as usize) as u32,
            region,
            at: at as u32,
            cidr,
        }
    }

    /// Orders by id ([`cmp_ids`]).
    fn cmp_id<'t>(
        &self,
        text: impl FnOnce() -> &'t str,
        other: &Entry,
        other_text: impl FnOnce() -> &'t str,
    ) -> Ordering {
        cmp_ids(
            (self.words, self.len),
            text,
            (other.words, other.len),
            other_text,
        )
    }
}

/// A hash of an entry's id (its key words and length), so equal ids always share a
/// bucket. Multiplying and keeping the top bits mixes every input bit into the bucket.
fn id_hash(e: &Entry) -> u64 {
    const K: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut h = u64::from(e.len);
    for w in e.words {
        h = (h ^ w).wrapping_mul(K);
    }
    h
}

/// Both sides are grouped by a hash of the id ([`group_by_rank`]), so an id's entries on
/// either side share a bucket of one or two entries on average; each bucket is then
/// sorted and walked on its own. This gives what one sort of each whole side gave, at
/// the price of two counting passes.
pub fn match_subnets(subnets: &[Subnet], theirs: IpamSubnetCidrs) -> Matched {
    // Regions as small integers, so copies are found without comparing text.
    let mut regions: FxHashMap<&str, u32> = FxHashMap::default();
    // Subnets come a scope at a time: most share the region of the one before, which
    // a comparison finds without hashing.
    let mut last: Option<(&str, u32)> = None;
    // The CIDR rides in the entry so the walk below reads no subnet.
    let ours: Vec<Entry> = subnets
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let region = match last {
                Some((name, n)) if name == s.region.as_str() => n,
                _ => {
                    let next = regions.len() as u32;
                    let n = *regions.entry(s.region.as_str()).or_insert(next);
                    last = Some((s.region.as_str(), n));
                    n
                }
            };
            Entry::new(&s.id, region, i, packed_v4(s.ipv4_cidr.as_ref()))
        })
        .collect();

    // Only IPv4 entries of IPAM's can match a subnet's IPv4 CIDR; the rest are left out.
    let IpamSubnetCidrs {
        ids,
        cidrs,
        regions: their_regions,
        mut observations,
    } = theirs;
    let mut theirs: Vec<Entry> = Vec::with_capacity(ids.len());
    for (j, ((id, cidr), region)) in ids.iter().zip(&cidrs).zip(&their_regions).enumerate() {
        let cidr = packed_v4(Some(cidr));
        if cidr == NO_CIDR {
            continue;
        }
        let region = match region.as_deref() {
            None => ANY_REGION,
            Some(r) => regions.get(r).copied().unwrap_or(UNSEEN_REGION),
        };
        theirs.push(Entry::new(id, region, j, cidr));
    }
    drop((cidrs, their_regions));

    // About one of our entries per bucket.
    let bits = ours.len().max(1).next_power_of_two().trailing_zeros();
    let bucket = |e: &Entry| id_hash(e).checked_shr(64 - bits).unwrap_or(0) as usize;
    let (mut ours, our_start) = group_by_rank(&ours, 1 << bits, bucket);
    let (mut theirs, their_start) = group_by_rank(&theirs, 1 << bits, bucket);
    let our_id = |e: &Entry| subnets[e.at as usize].id.as_str();
    let their_id = |e: &Entry| ids[e.at as usize].as_str();

    let mut keep = vec![false; subnets.len()];
    let mut matched: Vec<Option<u32>> = vec![None; subnets.len()];
    let mut taken = vec![false; ids.len()];
    for b in 0..our_start.len() - 1 {
        let ours = &mut ours[our_start[b] as usize..our_start[b + 1] as usize];
        if ours.is_empty() {
            continue;
        }
        let theirs = &mut theirs[their_start[b] as usize..their_start[b + 1] as usize];
        // By id, region, then position: the first copy of a subnet comes first.
        ours.sort_unstable_by(|a, b| {
            a.cmp_id(|| our_id(a), b, || our_id(b))
                .then((a.region, a.at).cmp(&(b.region, b.at)))
        });
        // IPAM's side the same way: the first listed of two alike comes first.
        theirs.sort_unstable_by(|a, b| {
            a.cmp_id(|| their_id(a), b, || their_id(b))
                .then(a.at.cmp(&b.at))
        });
        let mut previous: Option<&Entry> = None;
        let mut next = 0;
        for ours_at in ours.iter() {
            if let Some(p) = previous {
                let same_id = p.cmp_id(|| our_id(p), ours_at, || our_id(ours_at));
                if p.region == ours_at.region && same_id.is_eq() {
                    continue;
                }
            }
            previous = Some(ours_at);
            keep[ours_at.at as usize] = true;
            if ours_at.cidr == NO_CIDR {
                continue;
            }
            // Pass IPAM's entries of smaller ids, then take the first untaken one of
            // this id and CIDR.
            let order = |t: &Entry| t.cmp_id(|| their_id(t), ours_at, || our_id(ours_at));
            while next < theirs.len() && order(&theirs[next]).is_lt() {
                next += 1;
            }
            for t in theirs[next..].iter().take_while(|t| order(t).is_eq()) {
                let same_region = t.region == ANY_REGION || t.region == ours_at.region;
                if t.cidr == ours_at.cidr && same_region && !taken[t.at as usize] {
                    taken[t.at as usize] = true;
                    matched[ours_at.at as usize] = Some(t.at);
                    break;
                }
            }
        }
    }
    // Boxed in subnet order, the order the calculator reads them in.
    let found = matched
        .into_iter()
        .map(|j| observations[j? as usize].take())
        .collect();
    Matched {
        keep,
        observed: found,
    }
}
