//! The contact store: records by numeric id, unique-value indexes and property history.
//! Pure data structure; callers hold one lock around a whole request.

use std::collections::{BTreeMap, VecDeque};

use serde::{Deserialize, Serialize};

use crate::catalogue::Catalogue;
use crate::util::{FastMap, rfc3339_ms};

/// Versions kept per property for `propertiesWithHistory` (newest first).
const HISTORY_DEPTH: usize = 20;

/// A snapshot of one stored contact, as returned by
/// [`FakeHubSpot::contacts`](crate::FakeHubSpot::contacts) and `GET /_fake/contacts`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StoredContact {
    /// Record id: a decimal number as a string, like HubSpot's.
    pub id: String,
    /// Every property with a value, including `hs_object_id`, `createdate` and
    /// `lastmodifieddate`. Cleared properties are absent.
    pub properties: BTreeMap<String, String>,
    /// Creation time, RFC 3339.
    pub created_at: String,
    /// Last modification time, RFC 3339.
    pub updated_at: String,
    /// Whether the contact was archived.
    pub archived: bool,
    /// When it was archived, RFC 3339.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub archived_at: Option<String>,
}

/// One past value of a property.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Version {
    pub(crate) value: String,
    pub(crate) timestamp_ms: u64,
}

#[derive(Debug, Clone)]
pub(crate) struct Contact {
    pub(crate) id: u64,
    pub(crate) props: BTreeMap<String, String>,
    pub(crate) history: FastMap<String, VecDeque<Version>>,
    pub(crate) created_ms: u64,
    pub(crate) updated_ms: u64,
    /// `created_ms` and `updated_ms` formatted, kept so responses can borrow them.
    pub(crate) created_at: String,
    pub(crate) updated_at: String,
    pub(crate) archived_ms: Option<u64>,
}

impl Contact {
    pub(crate) fn archived(&self) -> bool {
        self.archived_ms.is_some()
    }

    pub(crate) fn snapshot(&self) -> StoredContact {
        StoredContact {
            id: self.id.to_string(),
            properties: self.props.clone(),
            created_at: self.created_at.clone(),
            updated_at: self.updated_at.clone(),
            archived: self.archived(),
            archived_at: self.archived_ms.map(rfc3339_ms),
        }
    }
}

/// A unique value another write already holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Conflict {
    /// A stored (live) contact holds the value.
    Existing {
        property: String,
        value: String,
        id: u64,
    },
    /// An earlier input of the same request sets the value.
    InBatch { property: String, value: String },
}

/// Unique values claimed by the accepted inputs of one request, so that two inputs of a
/// batch cannot both take the same email.
#[derive(Debug, Default)]
pub(crate) struct Claims {
    taken: FastMap<(String, String), Option<u64>>,
}

#[derive(Debug)]
pub(crate) struct Store {
    pub(crate) catalogue: Catalogue,
    contacts: FastMap<u64, Contact>,
    unique: FastMap<String, FastMap<String, u64>>,
    next_id: u64,
}

impl Store {
    pub(crate) fn new(catalogue: Catalogue) -> Self {
        let mut store = Self {
            catalogue,
            contacts: FastMap::default(),
            unique: FastMap::default(),
            next_id: 1,
        };
        store.clear();
        store
    }

    pub(crate) fn clear(&mut self) {
        self.contacts.clear();
        self.unique = self
            .catalogue
            .indexed_unique()
            .map(|d| (d.name.clone(), FastMap::default()))
            .collect();
        self.next_id = 1;
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.contacts.len()
    }

    pub(crate) fn get(&self, id: u64) -> Option<&Contact> {
        self.contacts.get(&id)
    }

    /// A contact that exists and is not archived.
    pub(crate) fn live(&self, id: u64) -> Option<&Contact> {
        self.contacts.get(&id).filter(|c| !c.archived())
    }

    /// The live contact whose `property` equals `value` (a record id for `hs_object_id`).
    pub(crate) fn find_unique(&self, property: &str, value: &str) -> Option<u64> {
        if property == "hs_object_id" {
            return parse_id(value).filter(|id| self.live(*id).is_some());
        }
        let def = self.catalogue.get(property)?;
        self.unique
            .get(property)?
            .get(def.index_key(value).as_ref())
            .copied()
    }

    /// The first unique value in `props` (final values) held by another contact or claimed
    /// by an earlier input; on success the values are claimed for `target`.
    pub(crate) fn claim(
        &self,
        claims: &mut Claims,
        target: Option<u64>,
        props: &BTreeMap<String, String>,
    ) -> Result<(), Conflict> {
        let mut keys = Vec::new();
        for (name, value) in props {
            if value.is_empty() {
                continue;
            }
            let Some(index) = self.unique.get(name) else {
                continue;
            };
            let Some(def) = self.catalogue.get(name) else {
                continue;
            };
            let key = def.index_key(value);
            if let Some(&owner) = index.get(key.as_ref())
                && Some(owner) != target
            {
                return Err(Conflict::Existing {
                    property: name.clone(),
                    value: value.clone(),
                    id: owner,
                });
            }
            let slot = (name.clone(), key.into_owned());
            if let Some(holder) = claims.taken.get(&slot)
                && (target.is_none() || *holder != target)
            {
                return Err(Conflict::InBatch {
                    property: name.clone(),
                    value: value.clone(),
                });
            }
            keys.push(slot);
        }
        for key in keys {
            claims.taken.insert(key, target);
        }
        Ok(())
    }

    /// Creates a contact; the caller has validated and claimed `props`.
    pub(crate) fn create(&mut self, props: &BTreeMap<String, String>, now_ms: u64) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        let stamp = rfc3339_ms(now_ms);
        let mut contact = Contact {
            id,
            props: BTreeMap::new(),
            history: FastMap::default(),
            created_ms: now_ms,
            updated_ms: now_ms,
            created_at: stamp.clone(),
            updated_at: stamp.clone(),
            archived_ms: None,
        };
        set_system(&mut contact, "hs_object_id", id.to_string());
        set_system(&mut contact, "createdate", stamp.clone());
        set_system(&mut contact, "lastmodifieddate", stamp);
        self.contacts.insert(id, contact);
        self.write(id, props, now_ms);
        id
    }

    /// Overwrites the given properties of contact `id`; empty values clear.
    pub(crate) fn update(&mut self, id: u64, props: &BTreeMap<String, String>, now_ms: u64) {
        if self.contacts.contains_key(&id) {
            self.write(id, props, now_ms);
            if let Some(contact) = self.contacts.get_mut(&id) {
                let stamp = rfc3339_ms(now_ms);
                contact.updated_ms = now_ms;
                contact.updated_at.clone_from(&stamp);
                set_system(contact, "lastmodifieddate", stamp);
            }
        }
    }

    fn write(&mut self, id: u64, props: &BTreeMap<String, String>, now_ms: u64) {
        let Some(contact) = self.contacts.get_mut(&id) else {
            return;
        };
        for (name, value) in props {
            if contact.props.get(name) == Some(value) {
                continue;
            }
            if let Some(index) = self.unique.get_mut(name) {
                let def = self.catalogue.get(name);
                if let (Some(old), Some(def)) = (contact.props.get(name), def) {
                    index.remove(def.index_key(old).as_ref());
                }
                if let (false, Some(def)) = (value.is_empty(), def) {
                    index.insert(def.index_key(value).into_owned(), id);
                }
            }
            if value.is_empty() {
                contact.props.remove(name);
            } else {
                set_value(contact, name, value.clone(), now_ms);
            }
        }
    }

    /// Archives contact `id` (no-op when missing or already archived); its unique values
    /// are released.
    pub(crate) fn archive(&mut self, id: u64, now_ms: u64) {
        let Some(contact) = self.contacts.get_mut(&id) else {
            return;
        };
        if contact.archived() {
            return;
        }
        contact.archived_ms = Some(now_ms);
        contact.updated_ms = now_ms;
        contact.updated_at = rfc3339_ms(now_ms);
        for (name, index) in &mut self.unique {
            if let (Some(value), Some(def)) = (contact.props.get(name), self.catalogue.get(name)) {
                index.remove(def.index_key(value).as_ref());
            }
        }
    }

    /// The most recently archived contact matching `pred`.
    pub(crate) fn archived_where(&self, pred: impl Fn(&Contact) -> bool) -> Option<u64> {
        self.contacts
            .values()
            .filter(|c| c.archived() && pred(c))
            .max_by_key(|c| (c.archived_ms, c.id))
            .map(|c| c.id)
    }

    pub(crate) fn snapshot(&self) -> Vec<StoredContact> {
        let mut all: Vec<StoredContact> = self.contacts.values().map(Contact::snapshot).collect();
        all.sort_by_key(|c| c.id.parse::<u64>().unwrap_or(u64::MAX));
        all
    }
}

/// Sets a property the fake maintains itself; no history is kept for these.
fn set_system(contact: &mut Contact, name: &str, value: String) {
    match contact.props.get_mut(name) {
        Some(slot) => *slot = value,
        None => {
            contact.props.insert(name.to_owned(), value);
        }
    }
}

/// Sets a client-written property, recording the version for `propertiesWithHistory`.
fn set_value(contact: &mut Contact, name: &str, value: String, now_ms: u64) {
    let version = Version {
        value: value.clone(),
        timestamp_ms: now_ms,
    };
    match contact.history.get_mut(name) {
        Some(versions) => {
            versions.push_front(version);
            versions.truncate(HISTORY_DEPTH);
        }
        None => {
            contact
                .history
                .insert(name.to_owned(), VecDeque::from([version]));
        }
    }
    set_system(contact, name, value);
}

/// A record id: decimal digits only, as HubSpot's.
pub(crate) fn parse_id(s: &str) -> Option<u64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalogue::default_properties;

    fn props(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn store() -> Store {
        Store::new(Catalogue::new(default_properties()))
    }

    #[test]
    fn create_update_clear_and_find() {
        let mut s = store();
        let id = s.create(
            &props(&[("email", "Ada@Example.com"), ("firstname", "Ada")]),
            1000,
        );
        assert_eq!(id, 1);
        assert_eq!(s.find_unique("email", "ada@example.COM"), Some(1));
        assert_eq!(s.find_unique("hs_object_id", "1"), Some(1));
        let c = s.get(1).unwrap();
        assert_eq!(c.props["hs_object_id"], "1");
        assert_eq!(c.props["createdate"], "1970-01-01T00:00:01.000Z");
        s.update(
            1,
            &props(&[("firstname", ""), ("email", "b@example.com")]),
            2000,
        );
        let c = s.get(1).unwrap();
        assert!(!c.props.contains_key("firstname"), "empty string clears");
        assert_eq!(c.props["lastmodifieddate"], "1970-01-01T00:00:02.000Z");
        assert_eq!(c.history["email"].len(), 2);
        assert_eq!(s.find_unique("email", "ada@example.com"), None);
        assert_eq!(s.find_unique("email", "B@example.com"), Some(1));
    }

    #[test]
    fn claims_detect_existing_and_in_batch_conflicts() {
        let mut s = store();
        s.create(&props(&[("email", "a@x.co"), ("external_id", "E1")]), 1);
        let mut claims = Claims::default();
        assert_eq!(
            s.claim(&mut claims, None, &props(&[("email", "A@X.CO")])),
            Err(Conflict::Existing {
                property: "email".into(),
                value: "A@X.CO".into(),
                id: 1
            })
        );
        // The contact itself may keep its own value.
        assert!(
            s.claim(&mut claims, Some(1), &props(&[("email", "a@x.co")]))
                .is_ok()
        );
        assert!(
            s.claim(&mut claims, None, &props(&[("email", "n@x.co")]))
                .is_ok()
        );
        assert!(matches!(
            s.claim(&mut claims, Some(1), &props(&[("email", "N@x.co")])),
            Err(Conflict::InBatch { .. })
        ));
        // A refused input claims nothing.
        assert!(matches!(
            s.claim(
                &mut claims,
                None,
                &props(&[("external_id", "E2"), ("email", "a@x.co")])
            ),
            Err(Conflict::Existing { .. })
        ));
        assert!(
            s.claim(&mut claims, None, &props(&[("external_id", "E2")]))
                .is_ok()
        );
    }

    #[test]
    fn archive_releases_unique_values() {
        let mut s = store();
        let id = s.create(&props(&[("email", "a@x.co")]), 1);
        s.archive(id, 5);
        s.archive(id, 6);
        s.archive(99, 6);
        assert!(s.live(id).is_none());
        assert_eq!(s.get(id).unwrap().archived_ms, Some(5));
        assert_eq!(s.find_unique("email", "a@x.co"), None);
        assert_eq!(s.find_unique("hs_object_id", "1"), None);
        let again = s.create(&props(&[("email", "a@x.co")]), 7);
        assert_eq!(again, 2);
        let snap = s.snapshot();
        assert_eq!(snap.len(), 2);
        assert!(snap[0].archived && snap[0].archived_at.is_some());
        s.clear();
        assert_eq!(s.len(), 0);
        assert_eq!(s.create(&props(&[]), 8), 1);
    }

    #[test]
    fn ids_are_decimal_digits() {
        assert_eq!(parse_id("42"), Some(42));
        for bad in ["", "-1", "4 2", "abc", "1e3", "99999999999999999999999"] {
            assert_eq!(parse_id(bad), None, "{bad}");
        }
    }
}
