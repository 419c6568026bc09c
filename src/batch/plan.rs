//! The chunk planner: pure, and the one place that decides which inputs share
//! a request.
//!
//! Inputs arrive in order and leave in chunks that are contiguous runs of that
//! order. A chunk is cut when it holds `limit` inputs to send, or when the next
//! input's key is already in it: HubSpot refuses a batch with duplicate ids
//! ("Duplicate IDs found in batch input"), and the later of two writes to one
//! contact must be applied after the earlier one, so it goes in a later
//! request. Inputs refused before sending ride along in the chunk they fall in
//! without counting towards the limit, so outcomes stay in input order.

use std::hash::Hash;

use foldhash::{HashSet, HashSetExt};

use crate::id_property::{ContactKey, KeyIdentity};

/// The most entries a chunk is given room for before it fills.
const MAX_PREALLOCATED_CHUNK: usize = 1_000;

/// One planned entry: something to send under an optional key, or something
/// that is only reported.
pub(crate) trait PlanEntry {
    /// The key the planner keeps unique within a chunk.
    type Key: Eq + Hash + Clone;
    /// The entry's key, if it is sent and has one.
    fn key(&self) -> Option<&Self::Key>;
    /// Whether the entry is sent (counts towards the chunk limit).
    fn is_sent(&self) -> bool;
}

/// Cuts a stream of entries into chunks.
#[derive(Debug)]
pub(crate) struct ChunkPlanner<E: PlanEntry> {
    limit: usize,
    open: Vec<E>,
    open_keys: HashSet<E::Key>,
    sent_in_open: usize,
}

impl<E: PlanEntry> ChunkPlanner<E> {
    /// A planner for chunks of at most `limit` sent entries (at least 1).
    pub(crate) fn new(limit: usize) -> Self {
        let limit = limit.max(1);
        Self {
            limit,
            open: Vec::with_capacity(Self::expected_chunk_len(limit)),
            open_keys: HashSet::with_capacity(Self::expected_chunk_len(limit)),
            sent_in_open: 0,
        }
    }

    /// The room a chunk is given up front, so filling it does not grow and
    /// move it; bounded, since `limit` may be huge.
    fn expected_chunk_len(limit: usize) -> usize {
        limit.min(MAX_PREALLOCATED_CHUNK)
    }

    /// Adds the next entry; returns a chunk when this entry closed one.
    pub(crate) fn push(&mut self, entry: E) -> Option<Vec<E>> {
        let duplicate = entry.key().is_some_and(|key| self.open_keys.contains(key));
        let full = entry.is_sent() && self.sent_in_open == self.limit;
        let closed = if duplicate || full { self.take() } else { None };
        if entry.is_sent() {
            self.sent_in_open += 1;
            if let Some(key) = entry.key() {
                self.open_keys.insert(key.clone());
            }
        }
        self.open.push(entry);
        closed
    }

    /// The last, partly filled chunk, if any.
    pub(crate) fn finish(mut self) -> Option<Vec<E>> {
        self.take()
    }

    fn take(&mut self) -> Option<Vec<E>> {
        self.open_keys.clear();
        self.sent_in_open = 0;
        if self.open.is_empty() {
            None
        } else {
            let room = Self::expected_chunk_len(self.limit);
            Some(std::mem::replace(&mut self.open, Vec::with_capacity(room)))
        }
    }
}

/// Counts the requests a batch would send, with the planner the batch
/// helpers use, without sending anything: for dry runs.
///
/// ```
/// use hubspot_contacts_batch::{ContactKey, batch::RequestCounter};
///
/// let mut counter = RequestCounter::new(100);
/// counter.add(Some(&ContactKey::Email("ada@example.com".into())));
/// counter.add(Some(&ContactKey::Email("ADA@example.com".into()))); // same contact: next request
/// counter.add(None);
/// assert_eq!(counter.finish(), 2);
/// ```
#[derive(Debug)]
pub struct RequestCounter {
    planner: ChunkPlanner<Counted>,
    requests: u64,
}

#[derive(Debug)]
struct Counted(Option<KeyIdentity>);

impl PlanEntry for Counted {
    type Key = KeyIdentity;

    fn key(&self) -> Option<&KeyIdentity> {
        self.0.as_ref()
    }

    fn is_sent(&self) -> bool {
        true
    }
}

impl RequestCounter {
    /// A counter for requests of at most `batch_size` inputs (at least 1).
    pub fn new(batch_size: usize) -> Self {
        Self {
            planner: ChunkPlanner::new(batch_size),
            requests: 0,
        }
    }

    /// Counts one input to send, with its key if it has one.
    pub fn add(&mut self, key: Option<&ContactKey>) {
        if self
            .planner
            .push(Counted(key.map(ContactKey::identity)))
            .is_some()
        {
            self.requests += 1;
        }
    }

    /// The number of requests the inputs need (before any retry or split).
    pub fn finish(self) -> u64 {
        self.requests + u64::from(self.planner.finish().is_some())
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[derive(Clone, Debug)]
    struct Item {
        index: usize,
        key: Option<u8>,
        sent: bool,
    }

    impl PlanEntry for Item {
        type Key = u8;
        fn key(&self) -> Option<&u8> {
            self.key.as_ref().filter(|_| self.sent)
        }
        fn is_sent(&self) -> bool {
            self.sent
        }
    }

    fn plan(items: Vec<Item>, limit: usize) -> Vec<Vec<Item>> {
        let mut planner = ChunkPlanner::new(limit);
        let mut chunks: Vec<Vec<Item>> = items
            .into_iter()
            .filter_map(|item| planner.push(item))
            .collect();
        chunks.extend(planner.finish());
        chunks
    }

    fn items(spec: &[(Option<u8>, bool)]) -> Vec<Item> {
        spec.iter()
            .enumerate()
            .map(|(index, &(key, sent))| Item { index, key, sent })
            .collect()
    }

    #[test]
    fn no_inputs_make_no_chunks() {
        assert!(plan(vec![], 100).is_empty());
    }

    #[test]
    fn chunks_are_cut_at_the_limit() {
        let sizes: Vec<usize> = plan(items(&vec![(None, true); 250]), 100)
            .iter()
            .map(Vec::len)
            .collect();
        assert_eq!(sizes, vec![100, 100, 50]);
    }

    #[test]
    fn a_repeated_key_starts_a_new_chunk() {
        let chunks = plan(
            items(&[
                (Some(1), true),
                (Some(2), true),
                (Some(1), true),
                (Some(3), true),
            ]),
            100,
        );
        let indices: Vec<Vec<usize>> = chunks
            .iter()
            .map(|c| c.iter().map(|i| i.index).collect())
            .collect();
        assert_eq!(indices, vec![vec![0, 1], vec![2, 3]]);
    }

    #[test]
    fn refused_entries_ride_along_without_counting() {
        let chunks = plan(
            items(&[(None, true), (None, false), (None, true), (None, false)]),
            2,
        );
        assert_eq!(chunks.len(), 1);
        assert_eq!(chunks[0].len(), 4);
    }

    proptest! {
        #[test]
        fn planner_invariants(
            spec in prop::collection::vec((prop::option::of(0u8..20), prop::bool::weighted(0.9)), 0..600),
            limit in 1usize..120,
        ) {
            let input = items(&spec);
            let chunks = plan(input.clone(), limit);

            // Every input in exactly one chunk, chunks are contiguous and in input order.
            let flattened: Vec<usize> = chunks.iter().flatten().map(|item| item.index).collect();
            prop_assert_eq!(flattened, (0..input.len()).collect::<Vec<_>>());

            let mut chunk_of = vec![0usize; input.len()];
            for (number, chunk) in chunks.iter().enumerate() {
                prop_assert!(!chunk.is_empty());
                // No chunk over the limit.
                prop_assert!(chunk.iter().filter(|item| item.sent).count() <= limit);
                // No duplicate key within a chunk.
                let mut seen = HashSet::new();
                for item in chunk {
                    if let Some(key) = item.key() {
                        prop_assert!(seen.insert(*key), "key {} twice in chunk {}", key, number);
                    }
                    chunk_of[item.index] = number;
                }
            }
            // Same-key inputs keep their order: each later one is in a later chunk.
            for key in 0u8..20 {
                let chunks_for_key: Vec<usize> =
                    input.iter().filter(|item| item.key() == Some(&key)).map(|item| chunk_of[item.index]).collect();
                prop_assert!(chunks_for_key.windows(2).all(|pair| pair[0] < pair[1]));
            }
        }
    }
}
