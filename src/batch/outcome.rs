//! What happened to each input: [`Outcome`], and [`InputOutcome`], an
//! outcome with its input's position and key.

use std::fmt;

use super::failure::InputFailure;
use crate::{id_property::ContactKey, types};

/// What happened to one input.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum Outcome {
    /// The contact was created with this record id.
    Created {
        /// The new record id.
        id: String,
    },
    /// The contact with this record id was updated.
    Updated {
        /// The record id.
        id: String,
    },
    /// The contact was read.
    Read(Box<types::Contact>),
    /// The contact was archived (or did not exist, which HubSpot does not tell apart).
    Archived,
    /// The legacy batch endpoint accepted the contact; HubSpot applies it
    /// asynchronously and returns no id.
    Accepted,
    /// HubSpot, or the client before sending, refused the input.
    Failed(InputFailure),
    /// The input never reached HubSpot, so nothing of it was applied: the
    /// connection could not be made, or the run stopped before sending it
    /// (see [`BatchAborted`](super::BatchAborted)). Sending it again is safe.
    NotSent {
        /// Why it was not sent.
        reason: String,
    },
    /// The request carrying the input may or may not have been applied: it was
    /// sent, then the connection failed, timed out or HubSpot answered 5xx.
    Unknown {
        /// What went wrong.
        reason: String,
    },
}

impl Outcome {
    /// True for created, updated, read, archived and accepted.
    pub fn is_success(&self) -> bool {
        !matches!(
            self,
            Self::Failed(_) | Self::NotSent { .. } | Self::Unknown { .. }
        )
    }

    /// The record id this outcome names: the created, updated or read contact's.
    pub fn id(&self) -> Option<&str> {
        match self {
            Self::Created { id } | Self::Updated { id } => Some(id),
            Self::Read(contact) => Some(&contact.id),
            _ => None,
        }
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Created { id } => write!(f, "created {id}"),
            Self::Updated { id } => write!(f, "updated {id}"),
            Self::Read(contact) => write!(f, "read {}", contact.id),
            Self::Archived => f.write_str("archived"),
            Self::Accepted => f.write_str("accepted"),
            Self::Failed(failure) => write!(f, "failed: {failure}"),
            Self::NotSent { reason } => write!(f, "not sent: {reason}"),
            Self::Unknown { reason } => write!(f, "unknown: {reason}"),
        }
    }
}

/// One input's outcome, with its position in the input and its key.
#[derive(Clone, Debug, PartialEq)]
pub struct InputOutcome {
    /// The input's 0-based position in what the caller passed.
    pub index: usize,
    /// The input's key (`email ada@example.com`, `id 512`, …); `None` when it
    /// has none (a create without an email).
    pub key: Option<ContactKey>,
    /// What happened.
    pub outcome: Outcome,
}

impl InputOutcome {
    /// The record id the outcome names, if any.
    pub fn id(&self) -> Option<&str> {
        self.outcome.id()
    }
}

impl fmt::Display for InputOutcome {
    /// `input 3 (email ada@example.com): created 512`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "input {}", self.index)?;
        if let Some(key) = &self.key {
            write!(f, " ({key})")?;
        }
        write!(f, ": {}", self.outcome)
    }
}

/// How many inputs ended in each outcome.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct OutcomeCounts {
    /// [`Outcome::Created`].
    pub created: u64,
    /// [`Outcome::Updated`].
    pub updated: u64,
    /// [`Outcome::Read`].
    pub read: u64,
    /// [`Outcome::Archived`].
    pub archived: u64,
    /// [`Outcome::Accepted`].
    pub accepted: u64,
    /// [`Outcome::Failed`].
    pub failed: u64,
    /// [`Outcome::NotSent`].
    pub not_sent: u64,
    /// [`Outcome::Unknown`].
    pub unknown: u64,
}

impl OutcomeCounts {
    /// Counts one more outcome.
    pub fn add(&mut self, outcome: &Outcome) {
        let slot = match outcome {
            Outcome::Created { .. } => &mut self.created,
            Outcome::Updated { .. } => &mut self.updated,
            Outcome::Read(_) => &mut self.read,
            Outcome::Archived => &mut self.archived,
            Outcome::Accepted => &mut self.accepted,
            Outcome::Failed(_) => &mut self.failed,
            Outcome::NotSent { .. } => &mut self.not_sent,
            Outcome::Unknown { .. } => &mut self.unknown,
        };
        *slot += 1;
    }

    /// All inputs counted.
    pub fn total(&self) -> u64 {
        self.created
            + self.updated
            + self.read
            + self.archived
            + self.accepted
            + self.failed
            + self.not_sent
            + self.unknown
    }
}
