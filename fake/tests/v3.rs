//! CRM v3 batch endpoints over plain HTTP: create, update, upsert, read, archive.

mod support;

use serde_json::{Value, json};
use support::*;

fn ids(results: &[Value]) -> Vec<String> {
    results
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn create_returns_201_with_numeric_string_ids_and_timestamps() {
    let h = start_default().await;
    let r = h
        .post(
            CREATE,
            json!({"inputs": [
                {"properties": {"email": "ada@example.com", "firstname": "Ada"}, "associations": []},
                {"properties": {"email": "bob@example.com"}}
            ]}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.json["status"], "COMPLETE");
    assert!(r.json["startedAt"].is_string() && r.json["completedAt"].is_string());
    let results = r.results();
    assert_eq!(results.len(), 2);
    for o in &results {
        let id = o["id"].as_str().unwrap();
        assert!(id.parse::<u64>().is_ok(), "numeric string id {id}");
        assert_eq!(o["properties"]["hs_object_id"], id);
        assert!(o["createdAt"].as_str().unwrap().ends_with('Z'));
        assert!(o["updatedAt"].is_string());
        assert_eq!(o["archived"], false);
        assert!(o.get("new").is_none(), "create results carry no `new`");
    }
    assert_eq!(results[0]["properties"]["firstname"], "Ada");
    let stored = h.contacts();
    assert_eq!(stored.len(), 2);
    assert!(stored[0].properties.contains_key("createdate"));
    assert!(stored[0].properties.contains_key("lastmodifieddate"));
}

#[tokio::test]
async fn create_with_trace_ids_is_multi_status() {
    let h = start_default().await;
    h.upsert_emails(&["taken@example.com"]).await;
    let existing = h.by_email("taken@example.com").unwrap().id;
    let r = h
        .post(
            CREATE,
            json!({"inputs": [
                {"properties": {"email": "good@example.com"}, "objectWriteTraceId": "t-good"},
                {"properties": {"email": "x@example.com", "nope": "1"}, "objectWriteTraceId": "t-unknown"},
                {"properties": {"email": "TAKEN@example.com"}, "objectWriteTraceId": "t-taken"},
                {"properties": {"email": "not-an-email"}, "objectWriteTraceId": "t-bad-email"},
                {"properties": {"createdate": "2020"}, "objectWriteTraceId": "t-read-only"}
            ]}),
        )
        .await;
    assert_eq!(r.status, 207, "{}", r.text);
    assert_eq!(r.json["numErrors"], 4);
    let results = r.results();
    assert_eq!(results.len(), 1);
    assert_eq!(results[0]["objectWriteTraceId"], "t-good");
    let by_trace = |t: &str| {
        r.errors()
            .into_iter()
            .find(|e| e["context"]["objectWriteTraceId"] == json!([t]))
            .unwrap_or_else(|| panic!("no error for {t}: {}", r.text))
    };
    let unknown = by_trace("t-unknown");
    assert_eq!(unknown["status"], "error");
    assert_eq!(unknown["category"], "VALIDATION_ERROR");
    assert_eq!(unknown["errors"][0]["code"], "PROPERTY_DOESNT_EXIST");
    assert_eq!(
        unknown["errors"][0]["context"]["propertyName"],
        json!(["nope"])
    );
    let taken = by_trace("t-taken");
    assert_eq!(taken["category"], "CONFLICT");
    assert_eq!(
        taken["message"],
        format!("Contact already exists. Existing ID: {existing}")
    );
    assert_eq!(
        by_trace("t-bad-email")["errors"][0]["code"],
        "INVALID_EMAIL"
    );
    assert_eq!(
        by_trace("t-read-only")["errors"][0]["code"],
        "READ_ONLY_VALUE"
    );
    assert!(h.by_email("good@example.com").is_some());
    assert_eq!(h.contacts().len(), 2);
}

#[tokio::test]
async fn create_without_trace_ids_fails_whole_batch() {
    let h = start_default().await;
    let r = h
        .post(
            CREATE,
            json!({"inputs": [
                {"properties": {"email": "good@example.com"}},
                {"properties": {"nope": "1"}}
            ]}),
        )
        .await;
    let msg = r.assert_error(400, Some("VALIDATION_ERROR"));
    assert!(msg.contains("PROPERTY_DOESNT_EXIST"), "{msg}");
    assert_eq!(r.json["errors"][0]["code"], "PROPERTY_DOESNT_EXIST");
    assert_eq!(
        r.json["errors"][0]["context"]["propertyName"],
        json!(["nope"])
    );
    assert!(h.contacts().is_empty(), "nothing applied");

    // Trace ids that are not all present (or not unique) do not enable multi-status.
    let r = h
        .post(
            CREATE,
            json!({"inputs": [
                {"properties": {"email": "a@example.com"}, "objectWriteTraceId": "same"},
                {"properties": {"email": "bad"}, "objectWriteTraceId": "same"}
            ]}),
        )
        .await;
    r.assert_error(400, Some("VALIDATION_ERROR"));
    assert!(h.contacts().is_empty());
}

#[tokio::test]
async fn create_existing_email_is_409_conflict() {
    let h = start_default().await;
    h.upsert_emails(&["ada@example.com"]).await;
    let id = h.by_email("ada@example.com").unwrap().id;
    let r = h
        .post(
            CREATE,
            json!({"inputs": [
                {"properties": {"email": "new@example.com"}},
                {"properties": {"email": "Ada@Example.com"}}
            ]}),
        )
        .await;
    let msg = r.assert_error(409, Some("CONFLICT"));
    assert_eq!(msg, format!("Contact already exists. Existing ID: {id}"));
    assert_eq!(
        h.contacts().len(),
        1,
        "the good input was not created either"
    );
    // Two inputs with the same email in one batch conflict too.
    let r = h
        .post(CREATE, json!({"inputs": create_inputs(1, "dup").into_iter().chain(create_inputs(1, "dup")).collect::<Vec<_>>()}))
        .await;
    r.assert_error(409, Some("CONFLICT"));
    assert_eq!(h.contacts().len(), 1);
}

#[tokio::test]
async fn unique_custom_property_conflicts() {
    let h = start_default().await;
    let r = h
        .post(
            CREATE,
            json!({"inputs": [{"properties": {"external_id": "E1"}}]}),
        )
        .await;
    assert_eq!(r.status, 201);
    let r = h
        .post(
            CREATE,
            json!({"inputs": [{"properties": {"external_id": "E1"}}]}),
        )
        .await;
    r.assert_error(409, Some("CONFLICT"));
}

#[tokio::test]
async fn update_by_id_overwrites_clears_and_echoes_trace_ids() {
    let h = start_default().await;
    h.upsert_emails(&["ada@example.com"]).await;
    let id = h.by_email("ada@example.com").unwrap().id;
    let r = h
        .post(
            UPDATE,
            json!({"inputs": [{"id": id, "properties": {"firstname": "", "lastname": "Lovelace"}, "objectWriteTraceId": "u1"}]}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let o = &r.results()[0];
    assert_eq!(o["objectWriteTraceId"], "u1");
    assert_eq!(o["properties"]["lastname"], "Lovelace");
    let stored = h.by_email("ada@example.com").unwrap();
    assert!(
        !stored.properties.contains_key("firstname"),
        "empty string clears"
    );
    assert_eq!(stored.properties["lastname"], "Lovelace");
}

#[tokio::test]
async fn update_missing_ids_is_207_object_not_found() {
    let h = start_default().await;
    h.upsert_emails(&["ada@example.com"]).await;
    let id = h.by_email("ada@example.com").unwrap().id;
    // With trace ids: one error per missing input, carrying its trace id.
    let r = h
        .post(
            UPDATE,
            json!({"inputs": [
                {"id": id, "properties": {"firstname": "A"}, "objectWriteTraceId": "ok"},
                {"id": "999999", "properties": {"firstname": "B"}, "objectWriteTraceId": "missing"}
            ]}),
        )
        .await;
    assert_eq!(r.status, 207, "{}", r.text);
    assert_eq!(r.results().len(), 1);
    let errs = r.errors();
    assert_eq!(errs.len(), 1);
    assert_eq!(errs[0]["category"], "OBJECT_NOT_FOUND");
    assert_eq!(errs[0]["context"]["ids"], json!(["999999"]));
    assert_eq!(errs[0]["context"]["objectWriteTraceId"], json!(["missing"]));
    // Without trace ids: still 207, ids listed.
    let r = h
        .post(
            UPDATE,
            json!({"inputs": [
                {"id": "12345", "properties": {"firstname": "B"}},
                {"id": "not-a-number", "properties": {"firstname": "B"}}
            ]}),
        )
        .await;
    assert_eq!(r.status, 207);
    assert!(r.results().is_empty());
    assert_eq!(
        r.errors()[0]["context"]["ids"],
        json!(["12345", "not-a-number"])
    );
}

#[tokio::test]
async fn update_validation_errors() {
    let h = start_default().await;
    h.upsert_emails(&["ada@example.com"]).await;
    let id = h.by_email("ada@example.com").unwrap().id;
    for (props, code) in [
        (json!({"nope": "x"}), "PROPERTY_DOESNT_EXIST"),
        (json!({"hs_object_id": "5"}), "READ_ONLY_VALUE"),
        (json!({"lastmodifieddate": "x"}), "READ_ONLY_VALUE"),
        (json!({"email": "broken"}), "INVALID_EMAIL"),
        (json!({"lifecyclestage": "boss"}), "INVALID_OPTION"),
    ] {
        let r = h
            .post(UPDATE, json!({"inputs": [{"id": id, "properties": props}]}))
            .await;
        r.assert_error(400, Some("VALIDATION_ERROR"));
        assert_eq!(r.json["errors"][0]["code"], code, "{}", r.text);
    }
    // With trace ids the same error comes back per input in a 207.
    let r = h
        .post(
            UPDATE,
            json!({"inputs": [{"id": id, "properties": {"nope": "x"}, "objectWriteTraceId": "t"}]}),
        )
        .await;
    assert_eq!(r.status, 207);
    assert_eq!(r.errors()[0]["context"]["objectWriteTraceId"], json!(["t"]));
    assert_eq!(
        h.by_email("ada@example.com").unwrap().properties["firstname"],
        "F"
    );
}

#[tokio::test]
async fn update_by_unique_custom_property_and_email_refused() {
    let h = start_default().await;
    let r = h
        .post(
            CREATE,
            json!({"inputs": [{"properties": {"email": "ada@example.com", "external_id": "E-1"}}]}),
        )
        .await;
    assert_eq!(r.status, 201);
    let r = h
        .post(
            UPDATE,
            json!({"inputs": [{"id": "E-1", "idProperty": "external_id", "properties": {"city": "London"}}]}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        h.by_email("ada@example.com").unwrap().properties["city"],
        "London"
    );

    let r = h
        .post(
            UPDATE,
            json!({"inputs": [{"id": "ada@example.com", "idProperty": "email", "properties": {"city": "Paris"}}]}),
        )
        .await;
    let msg = r.assert_error(400, Some("VALIDATION_ERROR"));
    assert!(
        msg.starts_with("Unable to perform update/upsert by non-unique 0-1 property email"),
        "{msg}"
    );
    for p in ["firstname", "hs_object_id", "nonexistent"] {
        let r = h
            .post(
                UPDATE,
                json!({"inputs": [{"id": "1", "idProperty": p, "properties": {"city": "Paris"}}]}),
            )
            .await;
        let msg = r.assert_error(400, Some("VALIDATION_ERROR"));
        assert!(msg.contains("non-unique"), "{p}: {msg}");
    }
    assert_eq!(
        h.by_email("ada@example.com").unwrap().properties["city"],
        "London"
    );
}

#[tokio::test]
async fn update_email_to_one_in_use_conflicts() {
    let h = start_default().await;
    h.upsert_emails(&["a@example.com", "b@example.com"]).await;
    let a = h.by_email("a@example.com").unwrap().id;
    let r = h
        .post(
            UPDATE,
            json!({"inputs": [{"id": a, "properties": {"email": "B@example.com"}}]}),
        )
        .await;
    r.assert_error(409, Some("CONFLICT"));
    assert!(h.by_email("a@example.com").is_some());
}

#[tokio::test]
async fn upsert_by_email_creates_then_updates_case_insensitively() {
    let h = start_default().await;
    let r = h
        .post(
            UPSERT,
            json!({"inputs": [{"id": "Ada@Example.com", "idProperty": "email", "properties": {"firstname": "Ada"}, "objectWriteTraceId": "t1"}]}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let first = &r.results()[0];
    assert_eq!(first["new"], true);
    assert_eq!(first["objectWriteTraceId"], "t1");
    assert_eq!(first["properties"]["email"], "Ada@Example.com");
    let r = h
        .post(
            UPSERT,
            json!({"inputs": [{"id": "ada@example.COM", "idProperty": "email", "properties": {"lastname": "L"}}]}),
        )
        .await;
    assert_eq!(r.status, 200);
    let second = &r.results()[0];
    assert_eq!(second["new"], false);
    assert_eq!(second["id"], first["id"]);
    let stored = h.contacts();
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].properties["firstname"], "Ada");
    assert_eq!(stored[0].properties["lastname"], "L");
}

#[tokio::test]
async fn upsert_by_custom_unique_property() {
    let h = start_default().await;
    let body = |city: &str| json!({"inputs": [{"id": "X-9", "idProperty": "external_id", "properties": {"city": city}}]});
    let r = h.post(UPSERT, body("Oslo")).await;
    assert_eq!(r.results()[0]["new"], true);
    assert_eq!(r.results()[0]["properties"]["external_id"], "X-9");
    let r = h.post(UPSERT, body("Bergen")).await;
    assert_eq!(r.results()[0]["new"], false);
    let stored = h.contacts();
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].properties["city"], "Bergen");
    // A non-unique idProperty is refused.
    let r = h
        .post(
            UPSERT,
            json!({"inputs": [{"id": "Ada", "idProperty": "firstname", "properties": {}}]}),
        )
        .await;
    r.assert_error(400, Some("VALIDATION_ERROR"));
}

#[tokio::test]
async fn upsert_errors_are_207_with_trace_ids() {
    let h = start_default().await;
    let r = h
        .post(
            UPSERT,
            json!({"inputs": [
                {"id": "ok@example.com", "idProperty": "email", "properties": {}, "objectWriteTraceId": "a"},
                {"id": "bad@example.com", "idProperty": "email", "properties": {"nope": "1"}, "objectWriteTraceId": "b"},
                {"id": "not an email", "idProperty": "email", "properties": {}, "objectWriteTraceId": "c"}
            ]}),
        )
        .await;
    assert_eq!(r.status, 207, "{}", r.text);
    assert_eq!(r.results().len(), 1);
    let mut traces: Vec<String> = r
        .errors()
        .iter()
        .map(|e| {
            e["context"]["objectWriteTraceId"][0]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    traces.sort();
    assert_eq!(traces, ["b", "c"]);
    // Without trace ids the batch fails whole.
    let r = h
        .post(
            UPSERT,
            json!({"inputs": [
                {"id": "ok2@example.com", "idProperty": "email", "properties": {}},
                {"id": "bad@example.com", "idProperty": "email", "properties": {"nope": "1"}}
            ]}),
        )
        .await;
    r.assert_error(400, Some("VALIDATION_ERROR"));
    assert_eq!(h.contacts().len(), 1);
}

#[tokio::test]
async fn read_by_id_and_email_with_property_selection() {
    let h = start_default().await;
    let r = h
        .post(
            CREATE,
            json!({"inputs": [{"properties": {"email": "ada@example.com", "firstname": "Ada", "city": "London"}}]}),
        )
        .await;
    let id = r.results()[0]["id"].as_str().unwrap().to_owned();
    let r = h
        .post(
            READ,
            json!({"inputs": [{"id": id}], "properties": ["firstname", "phone", "undefined_prop"]}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let props = &r.results()[0]["properties"];
    assert_eq!(props["firstname"], "Ada");
    assert!(
        props["phone"].is_null() && props.get("phone").is_some(),
        "defined but empty -> null"
    );
    assert!(props.get("undefined_prop").is_none());
    assert!(props.get("city").is_none(), "not requested");
    assert_eq!(props["hs_object_id"], id.as_str());

    let r = h
        .post(
            READ,
            json!({"idProperty": "email", "inputs": [{"id": "ADA@example.com"}], "properties": ["city"]}),
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.results()[0]["id"], id.as_str());
    assert_eq!(r.results()[0]["properties"]["city"], "London");

    // No `properties`: the default set.
    let r = h.post(READ, json!({"inputs": [{"id": id}]})).await;
    let props = &r.results()[0]["properties"];
    assert_eq!(props["email"], "ada@example.com");
    assert!(props.get("city").is_none());
}

#[tokio::test]
async fn read_missing_is_207_object_not_found() {
    let h = start_default().await;
    h.upsert_emails(&["a@example.com"]).await;
    let id = h.by_email("a@example.com").unwrap().id;
    let r = h
        .post(
            READ,
            json!({"inputs": [{"id": id}, {"id": "424242"}, {"id": "777"}], "properties": ["email"]}),
        )
        .await;
    assert_eq!(r.status, 207, "{}", r.text);
    assert_eq!(r.json["numErrors"], 1);
    let e = &r.errors()[0];
    assert_eq!(e["category"], "OBJECT_NOT_FOUND");
    let mut missing: Vec<String> = serde_json::from_value(e["context"]["ids"].clone()).unwrap();
    missing.sort();
    assert_eq!(missing, ["424242", "777"]);
}

#[tokio::test]
async fn read_properties_with_history_and_its_cap() {
    let h = start_default().await;
    h.upsert_emails(&["a@example.com"]).await;
    let id = h.by_email("a@example.com").unwrap().id;
    h.post(
        UPDATE,
        json!({"inputs": [{"id": id, "properties": {"firstname": "G"}}]}),
    )
    .await;
    let r = h
        .post(
            READ,
            json!({"inputs": [{"id": id}], "propertiesWithHistory": ["firstname"]}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let history = r.results()[0]["propertiesWithHistory"]["firstname"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(history.len(), 2);
    assert_eq!(history[0]["value"], "G", "newest first");
    assert_eq!(history[1]["value"], "F");
    assert!(history[0]["timestamp"].is_string() && history[0]["sourceType"].is_string());

    let inputs: Vec<Value> = (1..=51).map(|i| json!({"id": i.to_string()})).collect();
    let r = h
        .post(
            READ,
            json!({"inputs": inputs, "propertiesWithHistory": ["email"]}),
        )
        .await;
    let msg = r.assert_error(400, Some("VALIDATION_ERROR"));
    assert!(msg.contains("property histories is 50"), "{msg}");
    let r = h
        .post(
            READ,
            json!({"inputs": inputs[..50], "propertiesWithHistory": ["email"]}),
        )
        .await;
    assert_eq!(r.status, 207, "50 is allowed (all but one missing)");
}

#[tokio::test]
async fn archive_is_204_and_archived_query_reads_archived() {
    let h = start_default().await;
    h.upsert_emails(&["a@example.com", "b@example.com"]).await;
    let a = h.by_email("a@example.com").unwrap().id;
    let r = h
        .post(ARCHIVE, json!({"inputs": [{"id": a}, {"id": "987654"}]}))
        .await;
    assert_eq!(r.status, 204, "{}", r.text);
    assert!(r.text.is_empty());
    let stored = h.contacts();
    assert_eq!(stored.len(), 2, "archived contacts stay in the store");
    let archived = stored.iter().find(|c| c.id == a).unwrap();
    assert!(archived.archived && archived.archived_at.is_some());

    let r = h.post(READ, json!({"inputs": [{"id": a}]})).await;
    assert_eq!(r.status, 207, "archived is not found by default");
    let r = h
        .post(
            &format!("{READ}?archived=true"),
            json!({"inputs": [{"id": a}]}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.results()[0]["archived"], true);
    assert!(r.results()[0]["archivedAt"].is_string());
    let r = h
        .post(
            &format!("{READ}?archived=true"),
            json!({"idProperty": "email", "inputs": [{"id": "a@example.com"}]}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    // Archiving again is fine; updating an archived contact is not found.
    assert_eq!(
        h.post(ARCHIVE, json!({"inputs": [{"id": a}]})).await.status,
        204
    );
    let r = h
        .post(
            UPDATE,
            json!({"inputs": [{"id": a, "properties": {"city": "X"}}]}),
        )
        .await;
    assert_eq!(r.status, 207);
    // The email is free again: upsert creates a new contact.
    let r = h.upsert_emails(&["a@example.com"]).await;
    assert_eq!(r.results()[0]["new"], true);
}

#[tokio::test]
async fn more_than_100_inputs_is_refused_everywhere() {
    let h = start_default().await;
    let ids: Vec<Value> = (1..=101).map(|i| json!({"id": i.to_string()})).collect();
    let writes: Vec<Value> = (1..=101)
        .map(|i| json!({"id": format!("{i}@example.com"), "idProperty": "email", "properties": {}}))
        .collect();
    for (path, body) in [
        (CREATE, json!({"inputs": create_inputs(101, "c")})),
        (
            UPDATE,
            json!({"inputs": ids.iter().map(|i| json!({"id": i["id"], "properties": {}})).collect::<Vec<_>>()}),
        ),
        (UPSERT, json!({"inputs": writes})),
        (READ, json!({"inputs": ids})),
        (ARCHIVE, json!({"inputs": ids})),
    ] {
        let r = h.post(path, body).await;
        let msg = r.assert_error(400, Some("VALIDATION_ERROR"));
        assert_eq!(
            msg,
            "The maximum number of inputs supported in a batch is 100. Please reduce the number of items and try again",
            "{path}"
        );
    }
    assert!(h.contacts().is_empty());
    let r = h
        .post(CREATE, json!({"inputs": create_inputs(100, "ok")}))
        .await;
    assert_eq!(r.status, 201);
}

#[tokio::test]
async fn duplicate_ids_are_refused_everywhere() {
    let h = start_default().await;
    h.upsert_emails(&["a@example.com"]).await;
    let id = h.by_email("a@example.com").unwrap().id;
    for (path, body) in [
        (
            UPDATE,
            json!({"inputs": [{"id": id, "properties": {}}, {"id": id, "properties": {"city": "x"}}]}),
        ),
        (
            UPSERT,
            json!({"inputs": [
                {"id": "dup@example.com", "idProperty": "email", "properties": {}},
                {"id": "DUP@example.com", "idProperty": "email", "properties": {}}
            ]}),
        ),
        (READ, json!({"inputs": [{"id": id}, {"id": id}]})),
        (ARCHIVE, json!({"inputs": [{"id": id}, {"id": id}]})),
    ] {
        let r = h.post(path, body).await;
        let msg = r.assert_error(400, Some("VALIDATION_ERROR"));
        assert!(
            msg.starts_with("Duplicate IDs found in batch input: [")
                && msg.ends_with("]. IDs must be unique"),
            "{path}: {msg}"
        );
        assert_eq!(
            r.json["context"]["ids"].as_array().unwrap().len(),
            1,
            "{path}"
        );
    }
    let r = h
        .post(
            UPDATE,
            json!({"inputs": [{"id": id, "properties": {}}, {"id": id, "properties": {}}]}),
        )
        .await;
    assert_eq!(
        r.json["message"],
        format!("Duplicate IDs found in batch input: [{id}]. IDs must be unique")
    );
    assert_eq!(r.json["context"]["ids"], json!([id]));
    assert_eq!(h.contacts().len(), 1);
    assert!(!h.contacts()[0].archived);
}

#[tokio::test]
async fn results_are_shuffled_reproducibly_by_seed() {
    async fn order(seed: u64) -> Vec<String> {
        let h = start(hubspot_fake::FakeHubSpot::builder().seed(seed)).await;
        let r = h
            .post(CREATE, json!({"inputs": create_inputs(50, "s")}))
            .await;
        assert_eq!(r.status, 201);
        let raw: Vec<Value> = r.json["results"].as_array().unwrap().clone();
        ids(&raw)
    }
    let a = order(3).await;
    let mut sorted = a.clone();
    sorted.sort_by_key(|s| s.parse::<u64>().unwrap());
    assert_ne!(a, sorted, "results are not in input order");
    assert_eq!(a, order(3).await, "same seed, same order");
}

#[tokio::test]
async fn empty_batch_is_fine() {
    let h = start_default().await;
    let r = h.post(CREATE, json!({"inputs": []})).await;
    assert_eq!(r.status, 201);
    assert_eq!(r.json["results"], json!([]));
}
