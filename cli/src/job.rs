//! A subcommand, checked and resolved into what the run does: the operation,
//! the key of each row, the batch size. Pure: the errors are usage errors.

use std::path::PathBuf;

use hubspot_contacts_batch::{
    ApiVersion,
    batch::{MAX_INPUTS_PER_BATCH, V1_DEFAULT_CONTACTS_PER_BATCH, V1_MAX_CONTACTS_PER_BATCH},
};

use crate::{
    args::{Cli, Command, Common, KeyedArgs},
    convert::{self, Key},
    resume::InFlight,
    row::{Fields, RowError},
};

/// The SDK operation a subcommand runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    /// v3 batch upsert.
    Upsert,
    /// v3 batch create.
    Create,
    /// v3 batch update.
    Update,
    /// v3 batch archive.
    Archive,
    /// v3 batch read.
    Read,
    /// Legacy v1 batch create-or-update.
    V1,
}

impl Op {
    /// The subcommand's name.
    pub fn name(self) -> &'static str {
        match self {
            Op::Upsert => "upsert",
            Op::Create => "create",
            Op::Update => "update",
            Op::Archive => "archive",
            Op::Read => "read",
            Op::V1 => "v1-batch",
        }
    }

    /// Whether the operation writes property values (and so is preflighted).
    pub fn writes_properties(self) -> bool {
        matches!(self, Op::Create | Op::Upsert | Op::Update | Op::V1)
    }

    /// Whether the operation's inputs carry an `objectWriteTraceId`.
    pub fn carries_trace_id(self) -> bool {
        matches!(self, Op::Create | Op::Upsert | Op::Update)
    }

    /// How `--resume` settles this operation's rows left in flight.
    pub fn in_flight(self) -> InFlight {
        match self {
            Op::Create => InFlight::Create,
            Op::Upsert => InFlight::Upsert,
            Op::Update | Op::Archive | Op::Read | Op::V1 => InFlight::Resend,
        }
    }

    /// Checks that a row can become this operation's input.
    pub fn check(self, key: &Key, fields: Fields) -> Result<(), RowError> {
        match self {
            Op::Upsert => key.upsert(fields).map(drop),
            Op::Create => convert::create(fields).map(drop),
            Op::Update => key.update(fields).map(drop),
            Op::Archive | Op::Read => key.key_only(fields).map(drop),
            Op::V1 => key.v1(fields).map(drop),
        }
    }
}

/// A subcommand, checked and resolved.
#[derive(Debug)]
pub struct Job {
    /// The operation.
    pub op: Op,
    /// What identifies each row's contact.
    pub key: Key,
    /// Inputs per request.
    pub batch_size: usize,
    /// `read`: the properties to return.
    pub properties: Vec<String>,
    /// `read`: where the contacts go (standard output if `None`).
    pub output: Option<PathBuf>,
    /// `create`: read HubSpot back to settle inputs whose fate is unknown.
    pub reconcile: bool,
    /// The flags every subcommand has.
    pub common: Common,
}

impl Job {
    /// Checks a parsed command line. Pure: the errors are usage errors.
    pub fn new(cli: Cli) -> Result<Job, String> {
        let mut reconcile = false;
        let (op, key, common, properties, output) = match cli.command {
            Command::Upsert(args) => {
                if args.id_property == "hs_object_id" {
                    return Err("upsert needs email or a unique property as its key, not record ids; use `update --id-column`".into());
                }
                let key = property_key(&args.id_property)?;
                (Op::Upsert, key, args.common, Vec::new(), None)
            }
            Command::Create(args) => {
                reconcile = !args.no_reconcile;
                (Op::Create, Key::None, args.common, Vec::new(), None)
            }
            Command::Update(args) => {
                if args
                    .id_property
                    .as_deref()
                    .is_some_and(|p| p.eq_ignore_ascii_case("email"))
                {
                    return Err("HubSpot cannot batch-update contacts by email; use `upsert` (keyed by email), or `update --id-column` with record ids".into());
                }
                let (key, common) = keyed(args)?;
                (Op::Update, key, common, Vec::new(), None)
            }
            Command::Archive(args) => (
                Op::Archive,
                Key::RecordId {
                    column: args.id_column,
                },
                args.common,
                Vec::new(),
                None,
            ),
            Command::Read(args) => {
                let (key, common) = keyed(args.keyed)?;
                (Op::Read, key, common, args.properties, args.output)
            }
            Command::V1Batch(args) => {
                let key = match args.vid_column {
                    Some(column) => Key::Vid { column },
                    None => Key::Property {
                        name: "email".into(),
                    },
                };
                (Op::V1, key, args.common, Vec::new(), None)
            }
        };
        let (default, max) = match op {
            Op::V1 => (V1_DEFAULT_CONTACTS_PER_BATCH, V1_MAX_CONTACTS_PER_BATCH),
            _ => (MAX_INPUTS_PER_BATCH, MAX_INPUTS_PER_BATCH),
        };
        let batch_size = common.batch_size.unwrap_or(default);
        if !(1..=max).contains(&batch_size) {
            return Err(format!(
                "--batch-size {batch_size}: {} requests hold 1 to {max} inputs",
                op.name()
            ));
        }
        Ok(Job {
            op,
            key,
            batch_size,
            properties,
            output,
            reconcile,
            common,
        })
    }

    /// The API version the run calls.
    pub fn api_version(&self) -> ApiVersion {
        self.common.api_version.unwrap_or_default()
    }

    /// The API version as the summary and the report name it: the legacy
    /// batch has no dated version, so it is `v1` whatever was asked for.
    pub fn api_label(&self) -> String {
        match self.op {
            Op::V1 => "v1".to_owned(),
            _ => self.api_version().to_string(),
        }
    }

    /// The column of record ids (or vids), when the key is one: it holds no
    /// property.
    pub fn id_column(&self) -> Option<&str> {
        match &self.key {
            Key::RecordId { column } | Key::Vid { column } => Some(column),
            Key::Property { .. } | Key::None => None,
        }
    }

    /// The column every row must have, if any.
    pub fn key_column(&self) -> Option<&str> {
        match self.key {
            Key::None => None,
            _ => Some(self.key.column()),
        }
    }
}

fn property_key(name: &str) -> Result<Key, String> {
    if crate::row::is_property_name(name) {
        Ok(Key::Property {
            name: name.to_owned(),
        })
    } else {
        Err(format!("--id-property {name:?} is not a property name"))
    }
}

fn keyed(args: KeyedArgs) -> Result<(Key, Common), String> {
    let key = match (args.id_property, args.id_column) {
        (Some(property), _) => property_key(&property)?,
        (None, column) => Key::RecordId {
            column: column.unwrap_or_else(|| "id".to_owned()),
        },
    };
    Ok((key, args.common))
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    fn job(args: &[&str]) -> Result<Job, String> {
        let cli =
            Cli::try_parse_from(std::iter::once("hubspot-contacts").chain(args.iter().copied()))
                .map_err(|error| error.to_string())?;
        Job::new(cli)
    }

    #[test]
    fn subcommands_resolve_to_an_operation_and_a_key() {
        let upsert = job(&["upsert", "a.csv"]).unwrap();
        assert_eq!((upsert.op, upsert.batch_size), (Op::Upsert, 100));
        assert_eq!(
            upsert.key,
            Key::Property {
                name: "email".into()
            }
        );
        let update = job(&["update", "a.csv"]).unwrap();
        assert_eq!(
            update.key,
            Key::RecordId {
                column: "id".into()
            }
        );
        let by_external = job(&["update", "--id-property", "external_id", "a.csv"]).unwrap();
        assert_eq!(
            by_external.key,
            Key::Property {
                name: "external_id".into()
            }
        );
        let v1 = job(&[
            "v1-batch",
            "--vid-column",
            "vid",
            "--batch-size",
            "1000",
            "a.csv",
        ])
        .unwrap();
        assert_eq!((v1.key.column(), v1.batch_size), ("vid", 1000));
        let create = job(&["create", "a.csv"]).unwrap();
        assert_eq!((create.key_column(), create.reconcile), (None, true));
        assert!(
            !job(&["create", "--no-reconcile", "a.csv"])
                .unwrap()
                .reconcile
        );
    }

    #[test]
    fn the_api_version_defaults_to_the_newest_and_v1_batch_says_v1() {
        let default = job(&["upsert", "a.csv"]).unwrap();
        assert_eq!(default.api_version(), ApiVersion::default());
        assert_eq!(default.api_label(), "2026-09");
        let v3 = job(&["create", "--api-version", "v3", "a.csv"]).unwrap();
        assert_eq!(
            (v3.api_version(), v3.api_label().as_str()),
            (ApiVersion::V3, "v3")
        );
        let older = job(&["read", "--api-version", "2026-03", "a.csv"]).unwrap();
        assert_eq!(older.api_label(), "2026-03");
        assert_eq!(job(&["v1-batch", "a.csv"]).unwrap().api_label(), "v1");
    }

    #[test]
    fn misuse_is_a_usage_error() {
        for args in [
            &["upsert", "--batch-size", "101", "a.csv"][..],
            &["v1-batch", "--batch-size", "1001", "a.csv"],
            &["create", "--batch-size", "0", "a.csv"],
            &["update", "--id-property", "email", "a.csv"],
            &["upsert", "--id-property", "hs_object_id", "a.csv"],
            &["upsert", "--id-property", "first name", "a.csv"],
            &["update", "--id-property", "x", "--id-column", "y", "a.csv"],
            &["upsert", "--rate-limit", "fast", "a.csv"],
            &["upsert", "--api-version", "2025-01", "a.csv"],
            &["upsert", "--api-version", "v4", "a.csv"],
            &["upsert", "--no-reconcile", "a.csv"],
            &["upsert", "--resume", "a.csv"],
            &[
                "upsert",
                "--resume",
                "--dry-run",
                "--report",
                "r.jsonl",
                "a.csv",
            ],
        ] {
            assert!(job(args).is_err(), "{args:?}");
        }
    }
}
