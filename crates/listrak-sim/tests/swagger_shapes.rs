//! The emulator's answers have the names and JSON types of Listrak's published Swagger definitions
//! (a trimmed copy lives in `tests/fixtures/listrak-swagger-subset.json`).

mod common;

use common::Api;
use serde_json::{Value, json};

fn swagger() -> Value {
    serde_json::from_str(include_str!("fixtures/listrak-swagger-subset.json"))
        .expect("fixture parses")
}

/// Checks `value` against the definition `name`: every member is declared, has the declared type (null
/// allowed for optional members), and every required member is there.
fn check(defs: &Value, name: &str, value: &Value, path: &str) {
    let def = &defs[name];
    assert!(def.is_object(), "no definition {name}");
    let obj = value
        .as_object()
        .unwrap_or_else(|| panic!("{path}: {name} must be an object, got {value}"));
    let props = def["properties"].as_object().expect("properties");
    for (key, member) in obj {
        let schema = props
            .get(key)
            .unwrap_or_else(|| panic!("{path}.{key}: not a member of {name}"));
        check_schema(defs, schema, member, &format!("{path}.{key}"));
    }
    for required in def["required"].as_array().into_iter().flatten() {
        let key = required.as_str().expect("name");
        assert!(
            obj.contains_key(key),
            "{path}: required {name}.{key} missing"
        );
    }
}

fn check_schema(defs: &Value, schema: &Value, value: &Value, path: &str) {
    if value.is_null() {
        return;
    }
    if let Some(reference) = schema["$ref"].as_str() {
        let name = reference.trim_start_matches("#/definitions/");
        return check(defs, name, value, path);
    }
    let ok = match schema["type"].as_str() {
        Some("integer") => value.is_i64() || value.is_u64(),
        Some("string") => value.is_string(),
        Some("boolean") => value.is_boolean(),
        Some("array") => {
            let items = value
                .as_array()
                .unwrap_or_else(|| panic!("{path}: array expected, got {value}"));
            for (i, item) in items.iter().enumerate() {
                check_schema(defs, &schema["items"], item, &format!("{path}[{i}]"));
            }
            true
        }
        other => panic!("{path}: unhandled schema type {other:?}"),
    };
    assert!(ok, "{path}: expected {:?}, got {value}", schema["type"]);
    if schema["format"] == "date-time" {
        let s = value.as_str().unwrap_or_default();
        assert!(
            s.len() >= 19 && !s.ends_with('Z') && !s.contains('+'),
            "{path}: Listrak timestamps carry no zone: {s}"
        );
    }
}

#[tokio::test]
async fn every_answer_patron_reads_has_the_shape_listrak_publishes() {
    let defs = &swagger()["definitions"];
    let api = Api::start().await;

    let (_, created) = api
        .post("/List", json!({"listName": "Shapes", "bounceHandling": "Standard", "bounceUnsubscribeCount": 5}))
        .await;
    check(defs, "ResourceCreated", &created, "create list");
    let list: i64 = created["resourceId"]
        .as_str()
        .expect("string id")
        .parse()
        .expect("int");

    let group = api
        .create(
            &format!("/List/{list}/EventGroup"),
            json!({"eventGroupName": "Loyalty"}),
        )
        .await;
    let event = api
        .create(
            &format!("/List/{list}/Event"),
            json!({"eventName": "Points Earned", "status": "Active", "eventGroupId": group}),
        )
        .await;
    let field_group = api
        .create(
            &format!("/List/{list}/SegmentationFieldGroup"),
            json!({"segmentationFieldGroupName": "Patron", "position": 1}),
        )
        .await;
    let field = api
        .create(
            &format!("/List/{list}/SegmentationFieldGroup/{field_group}/SegmentationField"),
            json!({"segmentationFieldName": "Points Available", "dataType": "Numeric", "maxLength": 20, "position": 1}),
        )
        .await;
    let (_, upserted) = api
        .post(
            &format!("/List/{list}/Contact?eventIds={event}"),
            json!({"emailAddress": "ann@example.com", "externalContactID": "m-1",
                   "segmentationFieldValues": [{"segmentationFieldId": field, "value": "120"}]}),
        )
        .await;
    check(defs, "ResourceCreated", &upserted, "upsert");

    let (_, updated) = api
        .send(
            reqwest::Method::PUT,
            &format!("/List/{list}/Event/{event}"),
            Some(json!({"eventName": "Points Earned", "status": "Active"})),
        )
        .await;
    check(defs, "ResourceUpdated", &updated, "update event");

    let reads = [
        ("Collection[List]", "/List".to_owned()),
        ("Resource[List]", format!("/List/{list}")),
        ("Collection[EventGroup]", format!("/List/{list}/EventGroup")),
        ("Collection[Event]", format!("/List/{list}/Event")),
        ("Resource[Event]", format!("/List/{list}/Event/{event}")),
        (
            "Collection[SegmentationFieldGroup]",
            format!("/List/{list}/SegmentationFieldGroup"),
        ),
        (
            "Collection[SegmentationField]",
            format!("/List/{list}/SegmentationFieldGroup/{field_group}/SegmentationField"),
        ),
        (
            "Resource[Contact]",
            format!("/List/{list}/Contact/ann@example.com?segmentationFieldIds={field}"),
        ),
        (
            "CollectionPaged[Contact]",
            format!("/List/{list}/Contact?segmentationFieldIds={field}&count=10"),
        ),
        ("Collection[ListImport]", format!("/List/{list}/ListImport")),
    ];
    for (definition, path) in reads {
        let (status, body) = api.get(&path).await;
        assert_eq!(status, 200, "{path}: {body}");
        check(defs, definition, &body, &path);
        assert!(
            body["data"].is_array() || body["data"].is_object(),
            "{path}: data missing"
        );
    }

    use base64::Engine;
    let file = base64::engine::general_purpose::STANDARD.encode("bob@example.com,7\n");
    let import = api
        .create(
            &format!("/List/{list}/ListImport"),
            json!({"fileDelimiter": ",", "fileName": "m.csv", "fileStream": file,
                   "importType": "AddSubscribersAndSegmentationData", "segmentationImportType": "Update",
                   "fileMappings": [{"fileColumn": 0, "fileColumnType": "Email"},
                                    {"fileColumn": 1, "fileColumnType": "SegmentationField", "segmentationFieldId": field}]}),
        )
        .await;
    let status_path = format!("/List/{list}/ListImport/{import}/Status");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let (_, status) = api.get(&status_path).await;
        check(defs, "Resource[ListImportStatus]", &status, &status_path);
        if status["data"]["status"] == "Completed" {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "import never completed: {status}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    let (_, summary) = api
        .get(&format!("/List/{list}/ListImport/{import}/Summary"))
        .await;
    check(defs, "Resource[ListImportSummary]", &summary, "summary");

    let (status, error) = api.get("/List/999999").await;
    assert_eq!(status, 404);
    check(defs, "Error", &error, "404");
}
