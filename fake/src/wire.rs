//! The fake's own wire types for HubSpot's contact endpoints (independent of the SDK's).

use std::collections::BTreeMap;
use std::fmt;

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize};

/// A value HubSpot accepts where it documents a string: strings, and numbers or booleans
/// that Jackson coerces to strings. `null` becomes the empty string (clear).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Lenient(pub(crate) String);

impl<'de> Deserialize<'de> for Lenient {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Lenient;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string, number or boolean")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Lenient, E> {
                Ok(Lenient(v.to_owned()))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Lenient, E> {
                Ok(Lenient(v))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Lenient, E> {
                Ok(Lenient(v.to_string()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Lenient, E> {
                Ok(Lenient(v.to_string()))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Lenient, E> {
                Ok(Lenient(v.to_string()))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Lenient, E> {
                Ok(Lenient(v.to_string()))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Lenient, E> {
                Ok(Lenient(String::new()))
            }
            fn visit_none<E: de::Error>(self) -> Result<Lenient, E> {
                Ok(Lenient(String::new()))
            }
        }
        d.deserialize_any(V)
    }
}

/// A `properties` object whose values are read leniently (see [`Lenient`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Props(pub(crate) BTreeMap<String, String>);

impl<'de> Deserialize<'de> for Props {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Props;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object of property values")
            }
            fn visit_map<A: de::MapAccess<'de>>(self, mut map: A) -> Result<Props, A::Error> {
                let mut out = BTreeMap::new();
                while let Some((k, v)) = map.next_entry::<String, Lenient>()? {
                    out.insert(k, v.0);
                }
                Ok(Props(out))
            }
        }
        d.deserialize_map(V)
    }
}

pub(crate) fn plain(props: Props) -> BTreeMap<String, String> {
    props.0
}

#[derive(Debug, Deserialize)]
pub(crate) struct Batch<T> {
    pub(crate) inputs: Vec<T>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CreateInput {
    pub(crate) properties: Props,
    #[serde(default)]
    pub(crate) object_write_trace_id: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct WriteInput {
    pub(crate) id: Lenient,
    #[serde(default)]
    pub(crate) id_property: Option<String>,
    pub(crate) properties: Props,
    #[serde(default)]
    pub(crate) object_write_trace_id: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct IdInput {
    pub(crate) id: Lenient,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ReadBody {
    pub(crate) inputs: Vec<IdInput>,
    #[serde(default)]
    pub(crate) properties: Option<Vec<String>>,
    #[serde(default)]
    pub(crate) properties_with_history: Option<Vec<String>>,
    #[serde(default)]
    pub(crate) id_property: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct V1Property {
    pub(crate) property: String,
    #[serde(default)]
    pub(crate) value: Lenient,
}

#[derive(Debug, Deserialize)]
pub(crate) struct V1BatchItem {
    #[serde(default)]
    pub(crate) vid: Option<Lenient>,
    #[serde(default)]
    pub(crate) email: Option<String>,
    #[serde(default)]
    pub(crate) properties: Vec<V1Property>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct V1Body {
    #[serde(default)]
    pub(crate) properties: Vec<V1Property>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ValueWithTimestamp {
    pub(crate) value: String,
    pub(crate) timestamp: String,
    pub(crate) source_type: &'static str,
}

/// The `properties` of a result object, borrowed from the store.
#[derive(Debug)]
pub(crate) enum PropsOut<'a> {
    /// Every stored value.
    All(&'a BTreeMap<String, String>),
    /// Selected names; `None` serialises as `null`.
    Named(BTreeMap<&'a str, Option<&'a str>>),
}

impl Serialize for PropsOut<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            PropsOut::All(map) => s.collect_map(map.iter()),
            PropsOut::Named(map) => s.collect_map(map.iter()),
        }
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct PublicObject<'a> {
    pub(crate) id: String,
    pub(crate) properties: PropsOut<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) properties_with_history: Option<BTreeMap<String, Vec<ValueWithTimestamp>>>,
    pub(crate) created_at: &'a str,
    pub(crate) updated_at: &'a str,
    pub(crate) archived: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) archived_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) object_write_trace_id: Option<String>,
    #[serde(rename = "new", skip_serializing_if = "Option::is_none")]
    pub(crate) is_new: Option<bool>,
}

#[derive(Debug, Serialize, Default)]
pub(crate) struct ErrorDetail {
    pub(crate) message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) code: Option<&'static str>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub(crate) context: BTreeMap<String, Vec<String>>,
}

/// An item of `errors[]` in a 207 body. HubSpot's `StandardError` requires all six fields,
/// so every one is always sent: `errors` as `[]` when there are no details, `links` as `{}`.
#[derive(Debug, Serialize)]
pub(crate) struct StandardError {
    pub(crate) category: &'static str,
    pub(crate) context: BTreeMap<String, Vec<String>>,
    pub(crate) errors: Vec<ErrorDetail>,
    /// Documentation links by name; the fake has none to give.
    pub(crate) links: BTreeMap<String, String>,
    pub(crate) message: String,
    pub(crate) status: &'static str,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct BatchResponse<'a> {
    pub(crate) status: &'static str,
    pub(crate) results: Vec<PublicObject<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) num_errors: Option<usize>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(crate) errors: Vec<StandardError>,
    pub(crate) started_at: String,
    pub(crate) completed_at: String,
}
