//! Keeps two writes to one contact in order: a chunk waits while an earlier
//! chunk with one of its keys is in flight.

use std::sync::{Mutex, PoisonError};

use foldhash::HashMap;
use tokio::sync::watch;

use crate::id_property::KeyIdentity;

/// The keys of the chunks in flight, each with the chunk that holds it.
#[derive(Default)]
pub(super) struct KeyGate {
    in_flight: Mutex<HashMap<KeyIdentity, (u64, watch::Receiver<bool>)>>,
}

impl KeyGate {
    /// Registers chunk `number` with `keys`; returns what it must wait for.
    pub(super) fn enter<'k>(
        &self,
        number: u64,
        keys: impl Iterator<Item = &'k KeyIdentity>,
        done: &watch::Sender<bool>,
    ) -> Vec<watch::Receiver<bool>> {
        let mut in_flight = self
            .in_flight
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let mut waits = Vec::new();
        for key in keys {
            if let Some((_, earlier)) = in_flight.insert(key.clone(), (number, done.subscribe())) {
                waits.push(earlier);
            }
        }
        waits
    }

    /// Forgets chunk `number`'s keys, unless a later chunk took them over.
    pub(super) fn leave<'k>(&self, number: u64, keys: impl Iterator<Item = &'k KeyIdentity>) {
        let mut in_flight = self
            .in_flight
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        for key in keys {
            // Usually the key is still this chunk's: one lookup removes it.
            if let Some((owner, later)) = in_flight.remove(key)
                && owner != number
            {
                in_flight.insert(key.clone(), (owner, later));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        gate.leave(0, [&ada].into_iter());
        let (third, _) = watch::channel(false);
        assert_eq!(gate.enter(2, [&ada].into_iter(), &third).len(), 1);
        gate.leave(1, [&ada, &alan].into_iter());
        gate.leave(2, [&ada].into_iter());
        let (fourth, _) = watch::channel(false);
        assert!(gate.enter(3, [&ada, &alan].into_iter(), &fourth).is_empty());
    }
}
