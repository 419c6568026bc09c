//! Keeps two writes to one contact in order: a chunk waits while an earlier
//! chunk with one of its keys is in flight. It also remembers, for a while,
//! which record an earlier chunk created for a key, so that one record is
//! claimed as created by one input of a run at most.

use std::{
    collections::VecDeque,
    sync::{Mutex, PoisonError},
    time::{Duration, Instant},
};

use foldhash::HashMap;
use tokio::sync::watch;

use crate::id_property::KeyIdentity;

/// The keys of the chunks in flight, each with the chunk that holds it.
#[derive(Default)]
pub(super) struct KeyGate {
    in_flight: Mutex<Held>,
}

#[derive(Default)]
struct Held {
    /// Each key in flight, with the chunk that holds it last.
    owners: HashMap<KeyIdentity, (u64, watch::Receiver<bool>)>,
    /// The record a chunk of the run created for a key, and when it was
    /// reported: kept while a later chunk holds the key, else for
    /// [`REMEMBER_CREATED`], and never more than [`MAX_REMEMBERED`] of them.
    created: HashMap<KeyIdentity, (String, Instant)>,
    /// The same entries, oldest first, for forgetting them.
    order: VecDeque<(Instant, KeyIdentity)>,
}

/// How long a created record stays remembered after its chunk left: longer
/// than a request's whole life (timeouts and retries), within which a later
/// input of the same key could still be answered as having created it.
const REMEMBER_CREATED: Duration = Duration::from_secs(120);

/// The most created records remembered at once, so memory stays bounded
/// whatever the throughput (about 10 MiB).
const MAX_REMEMBERED: usize = 100_000;

impl Held {
    fn remember(&mut self, key: &KeyIdentity, id: &str, now: Instant) {
        self.created.insert(key.clone(), (id.to_owned(), now));
        self.order.push_back((now, key.clone()));
        while let Some((at, oldest)) = self.order.front() {
            let expired = now.saturating_duration_since(*at) > REMEMBER_CREATED;
            if !expired && self.order.len() <= MAX_REMEMBERED {
                break;
            }
            // Forget the key only if this entry is its latest.
            if self.created.get(oldest).is_some_and(|(_, when)| when == at)
                && !self.owners.contains_key(oldest)
            {
                self.created.remove(oldest);
            }
            self.order.pop_front();
        }
    }
}

impl KeyGate {
    /// Registers chunk `number` with `keys`; returns what it must wait for.
    pub(super) fn enter<'k>(
        &self,
        number: u64,
        keys: impl Iterator<Item = &'k KeyIdentity>,
        done: &watch::Sender<bool>,
    ) -> Vec<watch::Receiver<bool>> {
        let mut held = self.lock();
        let mut waits = Vec::new();
        for key in keys {
            if let Some((_, earlier)) = held.owners.insert(key.clone(), (number, done.subscribe()))
            {
                waits.push(earlier);
            }
        }
        waits
    }

    /// The record an earlier chunk of the run created for `key`, if any.
    pub(super) fn created_earlier(&self, key: &KeyIdentity) -> Option<String> {
        self.lock().created.get(key).map(|(id, _)| id.clone())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Held> {
        self.in_flight
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Forgets chunk `number`'s keys, unless a later chunk took them over,
    /// and remembers the records it created.
    pub(super) fn leave<'k>(
        &self,
        number: u64,
        keys: impl Iterator<Item = (&'k KeyIdentity, Option<&'k str>)>,
    ) {
        let mut held = self.lock();
        let now = Instant::now();
        for (key, created) in keys {
            // Usually the key is still this chunk's: one lookup removes it.
            if let Some((owner, later)) = held.owners.remove(key)
                && owner != number
            {
                held.owners.insert(key.clone(), (owner, later));
            }
            if let Some(id) = created {
                held.remember(key, id, now);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn created_records_are_remembered_within_bounds() {
        let mut held = Held::default();
        let t0 = Instant::now();
        let key = |n: usize| KeyIdentity::new("email", &format!("u{n}@example.com"));
        held.remember(&key(0), "0", t0);
        assert_eq!(
            held.created.get(&key(0)).map(|(id, _)| id.as_str()),
            Some("0")
        );
        // Past the time limit, a new entry makes the old one go.
        held.remember(&key(1), "1", t0 + REMEMBER_CREATED + Duration::from_secs(1));
        assert!(!held.created.contains_key(&key(0)));
        assert!(held.created.contains_key(&key(1)));
        // Never more than the cap.
        for n in 2..MAX_REMEMBERED + 10 {
            held.remember(&key(n), "x", t0 + REMEMBER_CREATED + Duration::from_secs(2));
        }
        assert!(
            held.created.len() <= MAX_REMEMBERED,
            "{}",
            held.created.len()
        );
        assert!(held.order.len() <= MAX_REMEMBERED);
    }

    #[test]
    fn a_later_chunk_waits_for_the_earlier_holder_of_its_key() {
        let gate = KeyGate::default();
        let ada = KeyIdentity::new("email", "ada@example.com");
        let alan = KeyIdentity::new("email", "alan@example.com");
        let (first, _) = watch::channel(false);
        assert!(gate.enter(0, [&ada].into_iter(), &first).is_empty());
        let (second, _) = watch::channel(false);
        let waits = gate.enter(1, [&ada, &alan].into_iter(), &second);
        assert_eq!(waits.len(), 1, "only ada was held");
        // The first chunk leaving does not free ada: chunk 1 holds it now.
        gate.leave(0, [(&ada, Some("7"))].into_iter());
        assert_eq!(
            gate.created_earlier(&ada).as_deref(),
            Some("7"),
            "chunk 1 learns ada's record"
        );
        let (third, _) = watch::channel(false);
        assert_eq!(gate.enter(2, [&ada].into_iter(), &third).len(), 1);
        gate.leave(1, [(&ada, None), (&alan, None)].into_iter());
        assert_eq!(
            gate.created_earlier(&ada).as_deref(),
            Some("7"),
            "chunk 2 still learns it"
        );
        gate.leave(2, [(&ada, None)].into_iter());
        assert_eq!(gate.created_earlier(&alan), None, "alan was never created");
        let (fourth, _) = watch::channel(false);
        assert!(gate.enter(3, [&ada, &alan].into_iter(), &fourth).is_empty());
    }
}
