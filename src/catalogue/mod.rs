//! A portal's contact property catalogue, and checking inputs against it
//! before they are sent.
//!
//! HubSpot refuses a write whose property does not exist, is read-only or
//! calculated, or whose value does not fit the property's type, and it only
//! says so once the request is made. The [`Catalogue`] (fetched once with
//! [`Client::contact_properties`](crate::Client::contact_properties)) answers
//! the same questions locally, with HubSpot's own [`ErrorCode`]s:
//!
//! | property | a value fits when it is | refusal |
//! |---|---|---|
//! | unknown | - | `PROPERTY_DOESNT_EXIST` |
//! | read-only (`readOnlyValue`) or calculated | - (not even empty) | `READ_ONLY_VALUE` |
//! | `number` | an optional `-`, digits, at most one `.`; no exponent, no thousands separators | `INVALID_INTEGER` |
//! | `bool` | `true` or `false`, any case | `INVALID_OPTION` (HubSpot's own code here is not established) |
//! | `date` | `YYYY-MM-DD`, or epoch milliseconds at midnight UTC | `INVALID_DATE` |
//! | `datetime` | epoch milliseconds, ISO 8601 with `Z` or an offset, or `YYYY-MM-DD` | `INVALID_LONG` |
//! | `enumeration` | one option's internal value, exactly | `INVALID_OPTION` |
//! | `enumeration` with field type `checkbox` | option values joined with `;`, each checked | `INVALID_OPTION` |
//! | `email` (the property) | an address: `local@domain.tld`, no spaces | `INVALID_EMAIL` |
//! | `string`, `phone_number`, other types | anything | - |
//!
//! Surrounding whitespace is ignored (HubSpot accepts it on typed values) and
//! the empty string, which clears a value, fits every writable property.
//! Enumerations whose options live elsewhere (`externalOptions`: owners,
//! pipeline stages) or list none accept any value. The check is a
//! prediction, never a guarantee: rules an account admin sets (required
//! properties, formats, ranges) are not in the catalogue, and HubSpot may
//! still refuse what passes here.
//!
//! A file's column headers map to properties with [`Catalogue::resolve`]
//! (internal name, any case, or label) and [`Catalogue::resolve_writable`]
//! (also refusing read-only and calculated ones).
//!
//! ```no_run
//! use hubspot_contacts_batch::prelude::*;
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let client = Client::from_env()?;
//! let catalogue = client.contact_properties().await?;
//!
//! let inputs = [
//!     Upsert::by_email("ada@example.com").set("numemployees", 12),
//!     Upsert::by_email("bob@example.com").set("numemployees", "a dozen"),
//! ];
//! let (inputs, refused): (Vec<Upsert>, Vec<Upsert>) = inputs
//!     .into_iter()
//!     .partition(|input| catalogue.check_all(input.properties()).is_empty());
//! for input in &refused {
//!     for problem in catalogue.check_all(input.properties()) {
//!         eprintln!("{}: not sent: {problem}", input.key());
//!     }
//! }
//! let report = client.upsert_all(inputs).send().await?;
//! # Ok(()) }
//! ```

mod distance;
mod fetch;
mod header;
mod index;
mod property;
mod value;

pub use header::{Candidate, HeaderError};
pub use index::Catalogue;
pub use property::{FieldType, Property, PropertyOption, PropertyType};
pub use value::{ErrorCode, PropertyError};
