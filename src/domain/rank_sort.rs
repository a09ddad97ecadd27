//! A counting sort by a small integer rank. The calculator's two large orderings use it
//! to cut ~100k items into groups of a few before any comparison: the matcher's ranks
//! are a hash of the id, the report's are status and utilization.

/// `items` grouped by `rank` (each below `ranks`), keeping their order within a group:
/// two passes and no comparison. Returns the grouped items and where each rank's group
/// starts, `ranks + 1` offsets, so group `r` is `out[start[r]..start[r + 1]]`.
pub fn group_by_rank<T: Copy>(
    items: &[T],
    ranks: usize,
    rank: impl Fn(&T) -> usize,
) -> (Vec<T>, Vec<u32>) {
    let mut start = vec![0u32; ranks + 1];
    for item in items {
        start[rank(item) + 1] += 1;
    }
    for r in 1..start.len() {
        start[r] += start[r - 1];
    }
    let Some(&first) = items.first() else {
        return (Vec::new(), start);
    };
    let mut next = start.clone();
    // Every slot is written below; `first` only fills the vector until then.
    let mut out = vec![first; items.len()];
    for item in items {
        let r = rank(item);
        out[next[r] as usize] = *item;
        next[r] += 1;
    }
    (out, start)
}

#[cfg(test)]
mod tests {
    use super::group_by_rank;

    #[test]
    fn groups_by_rank_and_keeps_order_within_a_group() {
        let items: Vec<(u8, u32)> = (0..50u32).map(|i| ((i * 7 % 5) as u8, i)).collect();
        let (out, start) = group_by_rank(&items, 6, |&(r, _)| usize::from(r));
        assert_eq!(start.len(), 7);
        assert_eq!(start[6] as usize, items.len());
        // Rank 5 is empty: its group has no items.
        assert_eq!(start[5], start[6]);
        for r in 0..6u8 {
            let group = &out[start[r as usize] as usize..start[r as usize + 1] as usize];
            let want: Vec<(u8, u32)> = items.iter().copied().filter(|i| i.0 == r).collect();
            assert_eq!(group, want.as_slice(), "rank {r}");
        }
    }

    #[test]
    fn no_items_give_empty_groups() {
        let (out, start) = group_by_rank(&[] as &[u32], 3, |&x| x as usize);
        assert!(out.is_empty());
        assert_eq!(start, vec![0; 4]);
    }
}
