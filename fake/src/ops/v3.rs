//! CRM batch operations: create, update, upsert, read, archive. The v3 contract, which
//! the dated versions (`/crm/objects/{version}/...`) share; what differs by version comes
//! in through [`Ctx`].

use std::borrow::Cow;
use std::collections::{BTreeMap, HashSet};
use std::hash::Hash;

use crate::catalogue::{DEFAULT_READ_PROPERTIES, PropertyError};
use crate::reply::{MAX_INPUTS_PER_BATCH, MAX_INPUTS_WITH_HISTORY, Reply};
use crate::store::{Claims, Contact, Store, parse_id};
use crate::util::rfc3339_ms;
use crate::wire::{
    BatchResponse, CreateInput, IdInput, PropsOut, PublicObject, ReadBody, StandardError,
    ValueWithTimestamp, WriteInput, plain,
};

/// What one v3 request runs against.
pub(crate) struct Ctx<'a> {
    pub(crate) store: &'a mut Store,
    pub(crate) rng: &'a mut fastrand::Rng,
    pub(crate) now_ms: u64,
    /// Whether creates (and upserts that create) must carry every admin-required property
    /// (API version 2026-09 and later).
    pub(crate) enforce_required: bool,
}

/// Which properties a result object carries.
enum Selection<'a> {
    /// Every property with a value.
    All,
    /// These names (defined-but-empty ones as `null`) plus the read-only system ones.
    Named(&'a [String]),
}

fn object<'a>(
    store: &'a Store,
    contact: &'a Contact,
    selection: &Selection<'_>,
    history: Option<&[String]>,
    trace: Option<String>,
    is_new: Option<bool>,
) -> PublicObject<'a> {
    let properties = match selection {
        Selection::All => PropsOut::All(&contact.props),
        Selection::Named(names) => {
            let mut out = BTreeMap::new();
            for name in ["hs_object_id", "createdate", "lastmodifieddate"]
                .into_iter()
                .chain(names.iter().map(String::as_str))
            {
                if let Some(def) = store.catalogue.get(name) {
                    out.insert(
                        def.name.as_str(),
                        contact.props.get(name).map(String::as_str),
                    );
                }
            }
            PropsOut::Named(out)
        }
    };
    let properties_with_history = history.map(|names| {
        names
            .iter()
            .filter(|n| store.catalogue.get(n).is_some())
            .map(|n| {
                let versions = contact
                    .history
                    .get(n)
                    .map(|vs| {
                        vs.iter()
                            .map(|v| ValueWithTimestamp {
                                value: v.value.clone(),
                                timestamp: rfc3339_ms(v.timestamp_ms),
                                source_type: "API",
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                (n.clone(), versions)
            })
            .collect()
    });
    PublicObject {
        id: contact.id.to_string(),
        properties,
        properties_with_history,
        created_at: &contact.created_at,
        updated_at: &contact.updated_at,
        archived: contact.archived(),
        archived_at: contact.archived_ms.map(rfc3339_ms),
        object_write_trace_id: trace,
        is_new,
    }
}

fn respond(
    rng: &mut fastrand::Rng,
    ok_status: u16,
    mut results: Vec<PublicObject<'_>>,
    errors: Vec<StandardError>,
    started_ms: u64,
) -> Reply {
    rng.shuffle(&mut results);
    let status = if errors.is_empty() { ok_status } else { 207 };
    let hint = 256 + 512 * (results.len() + errors.len());
    Reply::json_sized(
        status,
        &BatchResponse {
            status: "COMPLETE",
            results,
            num_errors: (!errors.is_empty()).then_some(errors.len()),
            errors,
            started_at: rfc3339_ms(started_ms),
            completed_at: rfc3339_ms(crate::util::now_ms().max(started_ms)),
        },
        hint,
    )
}

/// Result objects for records written by this request, in store order of `done`.
fn written<'a>(
    store: &'a Store,
    done: Vec<(u64, Option<String>, Option<bool>)>,
) -> Vec<PublicObject<'a>> {
    done.into_iter()
        .filter_map(|(id, trace, is_new)| {
            store
                .get(id)
                .map(|c| object(store, c, &Selection::All, None, trace, is_new))
        })
        .collect()
}

/// Multi-status mode: every input carries an `objectWriteTraceId` and no two are equal.
fn multi_status<'a>(traces: impl ExactSizeIterator<Item = Option<&'a String>>) -> bool {
    let mut seen = HashSet::new();
    let n = traces.len();
    traces.flatten().all(|t| seen.insert(t)) && seen.len() == n
}

/// The first repeated keys, in input order, or `Ok`.
fn check_duplicates<'a, K: Hash + Eq>(
    keys: impl Iterator<Item = (K, &'a str)>,
) -> Result<(), Reply> {
    let mut seen = HashSet::new();
    let mut dups: Vec<String> = Vec::new();
    for (key, shown) in keys {
        if !seen.insert(key) && !dups.iter().any(|d| d == shown) {
            dups.push(shown.to_owned());
        }
    }
    if dups.is_empty() {
        Ok(())
    } else {
        Err(Reply::duplicates(&dups))
    }
}

/// The admin-required properties a record about to be created lacks, when this version
/// enforces them.
fn check_required(
    ctx: &Ctx<'_>,
    props: &BTreeMap<String, String>,
) -> Result<(), Vec<PropertyError>> {
    if ctx.enforce_required {
        ctx.store.catalogue.check_required(props)
    } else {
        Ok(())
    }
}

/// `POST /crm/v3/objects/contacts/batch/create`
pub(crate) fn create(ctx: &mut Ctx<'_>, inputs: Vec<CreateInput>) -> Reply {
    if inputs.len() > MAX_INPUTS_PER_BATCH {
        return Reply::too_many_inputs();
    }
    let started = ctx.now_ms;
    let multi = multi_status(inputs.iter().map(|i| i.object_write_trace_id.as_ref()));
    let mut claims = Claims::default();
    let mut plan = Vec::with_capacity(inputs.len());
    let mut errors = Vec::new();
    for input in inputs {
        let trace = input.object_write_trace_id;
        let props = plain(input.properties);
        if let Err(errs) = ctx.store.catalogue.check_all(&props) {
            if !multi {
                return Reply::property_errors(&errs);
            }
            errors.push(StandardError::validation(&errs, trace.as_ref()));
            continue;
        }
        if let Err(errs) = check_required(ctx, &props) {
            if !multi {
                return Reply::property_errors(&errs);
            }
            errors.push(StandardError::validation(&errs, trace.as_ref()));
            continue;
        }
        if let Err(conflict) = ctx.store.claim(&mut claims, None, &props) {
            if !multi {
                return Reply::conflict(&conflict);
            }
            errors.push(StandardError::conflict(&conflict, trace.as_ref()));
            continue;
        }
        plan.push((props, trace));
    }
    let done: Vec<_> = plan
        .into_iter()
        .map(|(props, trace)| (ctx.store.create(&props, ctx.now_ms), trace, None))
        .collect();
    let results = written(ctx.store, done);
    respond(ctx.rng, 201, results, errors, started)
}

/// Whether `name` may identify records for update (`upsert == false`) or upsert.
fn check_id_property(store: &Store, name: &str, upsert: bool) -> Result<(), Reply> {
    let usable = store
        .catalogue
        .get(name)
        .is_some_and(|d| d.unique && !d.read_only && (upsert || name != "email"));
    if usable {
        Ok(())
    } else {
        Err(Reply::non_unique_id_property("update/upsert", name))
    }
}

/// What makes two inputs "the same id": the `idProperty` (none for record ids) and the
/// value as the unique index compares it.
fn key_of<'a>(
    store: &Store,
    id_property: Option<&'a str>,
    id: &'a str,
) -> (Option<&'a str>, Cow<'a, str>) {
    let norm = id_property
        .and_then(|p| store.catalogue.get(p))
        .map_or(Cow::Borrowed(id), |d| d.index_key(id));
    (id_property, norm)
}

fn resolve(store: &Store, id_property: Option<&str>, id: &str) -> Option<u64> {
    match id_property {
        None => parse_id(id).filter(|n| store.live(*n).is_some()),
        Some(p) => store.find_unique(p, id),
    }
}

enum Write {
    Create(BTreeMap<String, String>),
    Update(u64, BTreeMap<String, String>),
}

fn apply_writes(
    ctx: &mut Ctx<'_>,
    plan: Vec<(Write, Option<String>)>,
    upsert: bool,
) -> Vec<(u64, Option<String>, Option<bool>)> {
    plan.into_iter()
        .map(|(write, trace)| {
            let (id, is_new) = match write {
                Write::Create(props) => (ctx.store.create(&props, ctx.now_ms), true),
                Write::Update(id, props) => {
                    ctx.store.update(id, &props, ctx.now_ms);
                    (id, false)
                }
            };
            (id, trace, upsert.then_some(is_new))
        })
        .collect()
}

/// FakeState body of update (`upsert == false`) and upsert.
fn write_batch(ctx: &mut Ctx<'_>, inputs: Vec<WriteInput>, upsert: bool) -> Reply {
    if inputs.len() > MAX_INPUTS_PER_BATCH {
        return Reply::too_many_inputs();
    }
    let started = ctx.now_ms;
    for input in &inputs {
        if let Some(p) = input.id_property.as_deref().filter(|p| !p.is_empty())
            && let Err(reply) = check_id_property(ctx.store, p, upsert)
        {
            return reply;
        }
    }
    let id_prop = |i: &WriteInput| i.id_property.clone().filter(|p| !p.is_empty());
    if let Err(reply) = check_duplicates(inputs.iter().map(|i| {
        let p = i.id_property.as_deref().filter(|p| !p.is_empty());
        (key_of(ctx.store, p, &i.id.0), i.id.0.as_str())
    })) {
        return reply;
    }
    let multi = multi_status(inputs.iter().map(|i| i.object_write_trace_id.as_ref()));
    let mut claims = Claims::default();
    let mut plan = Vec::with_capacity(inputs.len());
    let mut errors = Vec::new();
    let mut missing: Vec<(String, Option<String>)> = Vec::new();
    for input in inputs {
        let id_property = id_prop(&input);
        let trace = input.object_write_trace_id;
        let key = input.id.0;
        let mut props = plain(input.properties);
        if let Err(errs) = ctx.store.catalogue.check_all(&props) {
            if !multi {
                return Reply::property_errors(&errs);
            }
            errors.push(StandardError::validation(&errs, trace.as_ref()));
            continue;
        }
        let target = resolve(ctx.store, id_property.as_deref(), &key);
        let write = match (target, upsert, id_property) {
            (Some(id), _, _) => Write::Update(id, props),
            (None, true, Some(p)) => {
                if let Err(e) = ctx.store.catalogue.check(&p, &key) {
                    if !multi {
                        return Reply::property_errors(&[e]);
                    }
                    errors.push(StandardError::validation(&[e], trace.as_ref()));
                    continue;
                }
                if key.is_empty() {
                    let message = format!("The value of idProperty {p} must not be empty");
                    if !multi {
                        return Reply::validation(message);
                    }
                    errors.push(StandardError::invalid(message, trace.as_ref()));
                    continue;
                }
                props.entry(p).or_insert(key);
                if let Err(errs) = check_required(ctx, &props) {
                    if !multi {
                        return Reply::property_errors(&errs);
                    }
                    errors.push(StandardError::validation(&errs, trace.as_ref()));
                    continue;
                }
                Write::Create(props)
            }
            (None, _, _) => {
                missing.push((key, trace));
                continue;
            }
        };
        let (target, props) = match &write {
            Write::Create(p) => (None, p),
            Write::Update(id, p) => (Some(*id), p),
        };
        if let Err(conflict) = ctx.store.claim(&mut claims, target, props) {
            if !multi {
                return Reply::conflict(&conflict);
            }
            errors.push(StandardError::conflict(&conflict, trace.as_ref()));
            continue;
        }
        plan.push((write, trace));
    }
    if !missing.is_empty() {
        if multi {
            for (id, trace) in missing {
                errors.push(StandardError::not_found(
                    vec![id],
                    trace.into_iter().collect(),
                ));
            }
        } else {
            let (ids, traces): (Vec<_>, Vec<_>) = missing.into_iter().unzip();
            errors.push(StandardError::not_found(
                ids,
                traces.into_iter().flatten().collect(),
            ));
        }
    }
    let done = apply_writes(ctx, plan, upsert);
    let results = written(ctx.store, done);
    respond(ctx.rng, 200, results, errors, started)
}

/// `POST /crm/v3/objects/contacts/batch/update`
pub(crate) fn update(ctx: &mut Ctx<'_>, inputs: Vec<WriteInput>) -> Reply {
    write_batch(ctx, inputs, false)
}

/// `POST /crm/v3/objects/contacts/batch/upsert`
pub(crate) fn upsert(ctx: &mut Ctx<'_>, inputs: Vec<WriteInput>) -> Reply {
    write_batch(ctx, inputs, true)
}

/// `POST /crm/v3/objects/contacts/batch/read?archived=BOOL`
pub(crate) fn read(ctx: &mut Ctx<'_>, body: ReadBody, archived: bool) -> Reply {
    let history = body.properties_with_history.filter(|h| !h.is_empty());
    if body.inputs.len() > MAX_INPUTS_PER_BATCH {
        return Reply::too_many_inputs();
    }
    if history.is_some() && body.inputs.len() > MAX_INPUTS_WITH_HISTORY {
        return Reply::validation(format!(
            "The maximum number of inputs supported in a batch request for property histories is {MAX_INPUTS_WITH_HISTORY}"
        ));
    }
    let started = ctx.now_ms;
    let id_property = body.id_property.filter(|p| !p.is_empty());
    if let Some(p) = &id_property
        && !ctx.store.catalogue.get(p).is_some_and(|d| d.unique)
    {
        return Reply::non_unique_id_property("read", p);
    }
    if let Err(reply) = check_duplicates(body.inputs.iter().map(|i| {
        (
            key_of(ctx.store, id_property.as_deref(), &i.id.0),
            i.id.0.as_str(),
        )
    })) {
        return reply;
    }
    let defaults: Vec<String> = DEFAULT_READ_PROPERTIES
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
    let names = body
        .properties
        .filter(|p| !p.is_empty())
        .unwrap_or(defaults);
    let selection = Selection::Named(&names);
    let mut results = Vec::new();
    let mut missing = Vec::new();
    for IdInput { id } in body.inputs {
        let found = if archived {
            find_archived(ctx.store, id_property.as_deref(), &id.0)
        } else {
            resolve(ctx.store, id_property.as_deref(), &id.0)
        };
        match found.and_then(|n| ctx.store.get(n)) {
            Some(c) => results.push(object(
                ctx.store,
                c,
                &selection,
                history.as_deref(),
                None,
                None,
            )),
            None => missing.push(id.0),
        }
    }
    let errors = if missing.is_empty() {
        Vec::new()
    } else {
        vec![StandardError::not_found(missing, Vec::new())]
    };
    respond(ctx.rng, 200, results, errors, started)
}

/// An archived contact by id or by a unique property value (archived contacts are not in
/// the unique indexes, so this scans).
fn find_archived(store: &Store, id_property: Option<&str>, id: &str) -> Option<u64> {
    match id_property {
        None | Some("hs_object_id") => {
            parse_id(id).filter(|n| store.get(*n).is_some_and(Contact::archived))
        }
        Some(p) => {
            let def = store.catalogue.get(p)?;
            let key = def.index_key(id);
            store.archived_where(|c| c.props.get(p).is_some_and(|v| def.index_key(v) == key))
        }
    }
}

/// `POST /crm/v3/objects/contacts/batch/archive`
pub(crate) fn archive(ctx: &mut Ctx<'_>, inputs: Vec<IdInput>) -> Reply {
    if inputs.len() > MAX_INPUTS_PER_BATCH {
        return Reply::too_many_inputs();
    }
    if let Err(reply) = check_duplicates(inputs.iter().map(|i| (i.id.0.clone(), i.id.0.as_str()))) {
        return reply;
    }
    for input in inputs {
        if let Some(id) = parse_id(&input.id.0) {
            ctx.store.archive(id, ctx.now_ms);
        }
    }
    Reply::empty(204)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalogue::{Catalogue, default_properties};
    use crate::reply::ReplyBody;
    use crate::wire::{Lenient, Props};

    fn ctx_parts() -> (Store, fastrand::Rng) {
        (
            Store::new(Catalogue::new(default_properties())),
            fastrand::Rng::with_seed(1),
        )
    }

    fn body(reply: &Reply) -> serde_json::Value {
        match &reply.body {
            ReplyBody::Json(b) => serde_json::from_slice(b).unwrap(),
            ReplyBody::Error(m) => serde_json::Value::Object(m.clone()),
            ReplyBody::Empty => serde_json::Value::Null,
        }
    }

    fn upsert_input(email: &str, trace: Option<&str>, props: &[(&str, &str)]) -> WriteInput {
        WriteInput {
            id: Lenient(email.to_owned()),
            id_property: Some("email".to_owned()),
            properties: Props(
                props
                    .iter()
                    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                    .collect(),
            ),
            object_write_trace_id: trace.map(str::to_owned),
        }
    }

    #[test]
    fn multi_status_needs_every_trace_id_and_uniqueness() {
        let (a, b) = ("a".to_owned(), "b".to_owned());
        assert!(multi_status([Some(&a), Some(&b)].into_iter()));
        assert!(!multi_status([Some(&a), None].into_iter()));
        assert!(!multi_status([Some(&a), Some(&a)].into_iter()));
        assert!(multi_status(std::iter::empty::<Option<&String>>()));
    }

    #[test]
    fn duplicates_are_listed_once_in_input_order() {
        let keys = [
            ("k2", "2"),
            ("k1", "1"),
            ("k2", "2"),
            ("k1", "1"),
            ("k2", "2"),
        ];
        let err = check_duplicates(keys.iter().map(|(k, s)| ((*k).to_owned(), *s))).unwrap_err();
        assert_eq!(
            body(&err)["message"],
            "Duplicate IDs found in batch input: [2, 1]. IDs must be unique"
        );
        assert!(check_duplicates([("a".to_owned(), "a")].into_iter()).is_ok());
    }

    #[test]
    fn a_refused_batch_changes_nothing_and_a_multi_status_one_applies_the_good_inputs() {
        let (mut store, mut rng) = ctx_parts();
        let mut ctx = Ctx {
            store: &mut store,
            rng: &mut rng,
            now_ms: 1,
            enforce_required: false,
        };
        let reply = upsert(
            &mut ctx,
            vec![
                upsert_input("a@x.co", None, &[]),
                upsert_input("b@x.co", None, &[("nope", "1")]),
            ],
        );
        assert_eq!(reply.status, 400);
        assert!(ctx.store.snapshot().is_empty());
        let reply = upsert(
            &mut ctx,
            vec![
                upsert_input("a@x.co", Some("ta"), &[]),
                upsert_input("b@x.co", Some("tb"), &[("nope", "1")]),
            ],
        );
        assert_eq!(reply.status, 207);
        let b = body(&reply);
        assert_eq!(b["results"][0]["objectWriteTraceId"], "ta");
        assert_eq!(b["results"][0]["new"], true);
        assert_eq!(b["errors"][0]["context"]["objectWriteTraceId"][0], "tb");
        assert_eq!(ctx.store.snapshot().len(), 1);
    }

    #[test]
    fn required_properties_bind_creates_only_and_only_when_enforced() {
        let catalogue = Catalogue::new(default_properties())
            .with_required(["email".to_owned(), "lifecyclestage".to_owned()])
            .unwrap();
        let mut store = Store::new(catalogue);
        let mut rng = fastrand::Rng::with_seed(1);
        let mut ctx = Ctx {
            store: &mut store,
            rng: &mut rng,
            now_ms: 1,
            enforce_required: false,
        };
        // Not enforced: a create without them goes through.
        let reply = upsert(&mut ctx, vec![upsert_input("a@x.co", None, &[])]);
        assert_eq!(reply.status, 200);
        ctx.enforce_required = true;
        // The upsert key fills `email`; `lifecyclestage` is still missing.
        let reply = upsert(&mut ctx, vec![upsert_input("b@x.co", None, &[])]);
        assert_eq!(reply.status, 400);
        let b = body(&reply);
        assert_eq!(b["errors"].as_array().map(Vec::len), Some(1), "{b}");
        assert_eq!(b["errors"][0]["code"], "MISSING_REQUIRED_PROPERTY");
        assert_eq!(
            b["errors"][0]["context"]["propertyName"][0],
            "lifecyclestage"
        );
        let with_stage = [("lifecyclestage", "lead")];
        let reply = upsert(&mut ctx, vec![upsert_input("b@x.co", None, &with_stage)]);
        assert_eq!(reply.status, 200);
        // Updating a record that lacks them is fine.
        let reply = upsert(
            &mut ctx,
            vec![upsert_input("a@x.co", None, &[("city", "Oslo")])],
        );
        assert_eq!(reply.status, 200);
        assert_eq!(ctx.store.snapshot().len(), 2);
        // A create names both when both are missing (the email set empty).
        let inputs = vec![CreateInput {
            properties: Props(BTreeMap::from([("email".to_owned(), String::new())])),
            object_write_trace_id: None,
        }];
        let b = body(&create(&mut ctx, inputs));
        let names: Vec<&str> = b["errors"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|e| e["context"]["propertyName"][0].as_str())
            .collect();
        assert_eq!(names, ["email", "lifecyclestage"], "{b}");
        assert_eq!(ctx.store.snapshot().len(), 2);
    }
}
