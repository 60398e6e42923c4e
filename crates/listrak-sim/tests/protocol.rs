//! The emulator answers the transport-level rules the way Listrak does: form-only tokens, bearer checks,
//! access levels per route, content type, malformed bodies, unknown routes, wrong methods, unsafe paths,
//! paging bounds.

mod common;

use common::{Api, token};
use listrak_sim::{Scopes, SimConfig};
use serde_json::json;

#[tokio::test]
async fn the_token_endpoint_takes_a_form_and_refuses_json_and_wrong_secrets() {
    let api = Api::start().await;
    let base = &api.sim.base_url;
    let (status, body) = token(&api.http, base, "patron", "s3cret").await;
    assert_eq!(status, 200);
    assert_eq!(body["token_type"], "bearer");
    assert_eq!(body["expires_in"], 3599);

    let (status, body) = token(&api.http, base, "patron", "wrong").await;
    assert_eq!(
        (status, body),
        (400, json!({"error": "Invalid Credentials"}))
    );

    let r = api
        .http
        .post(format!("{base}/OAuth2/Token"))
        .json(&json!({"grant_type": "client_credentials", "client_id": "patron", "client_secret": "s3cret"}))
        .send()
        .await
        .expect("send");
    assert_eq!(r.status().as_u16(), 400);
}

#[tokio::test]
async fn missing_unknown_and_expired_tokens_are_unauthorized() {
    let api = Api::start().await;
    let r = api.http.get(api.url("/List")).send().await.expect("send");
    assert_eq!(r.status().as_u16(), 401);
    let r = api
        .http
        .get(api.url("/List"))
        .bearer_auth("nope")
        .send()
        .await
        .expect("send");
    let body: serde_json::Value = r.json().await.expect("json");
    assert_eq!(body["error"], "ERROR_UNAUTHORIZED");

    assert_eq!(api.get("/List").await.0, 200);
    api.control("/tokens/expire", json!({})).await;
    let (status, body) = api.get("/List").await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("ERROR_UNAUTHORIZED"))
    );
}

#[tokio::test]
async fn each_route_needs_its_access_level() {
    let scopes = Scopes::parse_list("List").expect("scopes");
    let config = SimConfig {
        integrations: vec![("patron".into(), "s3cret".into(), scopes)],
        ..SimConfig::default()
    };
    let api = Api::start_with(config).await;
    let list = api.list().await;
    for path in [
        format!("/List/{list}/Event"),
        format!("/List/{list}/EventGroup"),
        format!("/List/{list}/Contact"),
        format!("/List/{list}/SegmentationFieldGroup"),
        format!("/List/{list}/ListImport/1/Status"),
    ] {
        let (status, body) = api.get(&path).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (401, Some("ERROR_UNAUTHORIZED")),
            "{path}"
        );
    }
}

#[tokio::test]
async fn bodies_must_be_json_and_well_formed() {
    let api = Api::start().await;
    let r = api
        .http
        .post(api.url("/List"))
        .bearer_auth(&api.token)
        .header("Content-Type", "text/plain")
        .body("{}")
        .send()
        .await
        .expect("send");
    assert_eq!(r.status().as_u16(), 415);
    let body: serde_json::Value = r.json().await.expect("json");
    assert_eq!(body["error"], "ERROR_UNSUPPORTED_CONTENT_TYPE");

    let r = api
        .http
        .post(api.url("/List"))
        .bearer_auth(&api.token)
        .header("Content-Type", "application/json")
        .body("{\"listName\": ")
        .send()
        .await
        .expect("send");
    let body: serde_json::Value = r.json().await.expect("json");
    assert_eq!(body["error"], "ERROR_MALFORMED_REQUEST_BODY");
}

#[tokio::test]
async fn required_members_and_allowed_values_are_checked_by_name() {
    let api = Api::start().await;
    let list = api.list().await;
    let cases = [
        (
            "/List".to_owned(),
            json!({"bounceHandling": "Standard", "bounceUnsubscribeCount": 5}),
            "listName",
        ),
        (
            "/List".to_owned(),
            json!({"listName": "x", "bounceHandling": "Soft", "bounceUnsubscribeCount": 5}),
            "bounceHandling",
        ),
        (
            "/List".to_owned(),
            json!({"listName": "x", "bounceHandling": "None"}),
            "bounceUnsubscribeCount",
        ),
        (
            format!("/List/{list}/Event"),
            json!({"eventName": "A"}),
            "status",
        ),
        (
            format!("/List/{list}/Event"),
            json!({"eventName": "A", "status": "Paused"}),
            "status",
        ),
        (
            format!("/List/{list}/Event"),
            json!({"eventName": "A", "status": "Active", "eventGroupId": 424242}),
            "eventGroupId",
        ),
        (
            format!("/List/{list}/EventGroup"),
            json!({}),
            "eventGroupName",
        ),
        (
            format!("/List/{list}/SegmentationFieldGroup"),
            json!({"segmentationFieldGroupName": "G"}),
            "position",
        ),
        (
            format!("/List/{list}/Contact"),
            json!({"emailAddress": "not-an-email"}),
            "emailAddress",
        ),
        (
            format!("/List/{list}/Contact?updateType=Merge"),
            json!({"emailAddress": "a@example.com"}),
            "updateType",
        ),
        (
            format!("/List/{list}/Contact?eventIds=x"),
            json!({"emailAddress": "a@example.com"}),
            "eventIds",
        ),
        (
            format!("/List/{list}/Contact?eventIds=424242"),
            json!({"emailAddress": "a@example.com"}),
            "eventIds",
        ),
    ];
    for (path, body, parameter) in cases {
        let (status, answer) = api.post(&path, body.clone()).await;
        assert_eq!(status, 400, "{path} {body}: {answer}");
        assert_eq!(answer["error"], "ERROR_INVALID_PARAMETER", "{path} {body}");
        let message = answer["message"].as_str().unwrap_or_default();
        assert!(
            message.contains(&format!("for {parameter}.")),
            "{path} {body}: {message}"
        );
    }
}

#[tokio::test]
async fn unknown_routes_wrong_methods_unknown_ids_and_unsafe_paths_get_listraks_codes() {
    let api = Api::start().await;
    let list = api.list().await;
    let event = api
        .create(
            &format!("/List/{list}/Event"),
            json!({"eventName": "E", "status": "Active"}),
        )
        .await;

    let (status, body) = api.get("/Nothing/Here").await;
    assert_eq!(
        (status, body["error"].as_str()),
        (404, Some("ERROR_UNKNOWN_ROUTE"))
    );

    let (status, body) = api
        .send(
            reqwest::Method::DELETE,
            &format!("/List/{list}/Event/{event}"),
            None,
        )
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (405, Some("ERROR_UNSUPPORTED_METHOD"))
    );

    for path in [
        "/List/777777".to_owned(),
        format!("/List/{list}/Event/777777"),
        format!("/List/{list}/Contact/nobody@example.com"),
    ] {
        let (status, body) = api.get(&path).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (404, Some("ERROR_UNABLE_TO_LOCATE_RESOURCE")),
            "{path}"
        );
    }

    for email in ["a&b@example.com", "a%3Cb@example.com", "a>b@example.com"] {
        let (status, body) = api.get(&format!("/List/{list}/Contact/{email}")).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (400, Some("ERROR_UNSAFE_ROUTE")),
            "{email}"
        );
    }
}

#[tokio::test]
async fn contact_pages_are_bounded_and_cursors_walk_every_contact_once() {
    let api = Api::start().await;
    let list = api.list().await;
    for i in 0..7 {
        api.post(
            &format!("/List/{list}/Contact"),
            json!({"emailAddress": format!("c{i}@example.com")}),
        )
        .await;
    }
    let (status, body) = api.get(&format!("/List/{list}/Contact?count=5001")).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("ERROR_INVALID_PARAMETER"))
    );

    let mut seen = Vec::new();
    let mut cursor = "Start".to_owned();
    loop {
        let (status, page) = api
            .get(&format!("/List/{list}/Contact?count=3&cursor={cursor}"))
            .await;
        assert_eq!(status, 200, "{page}");
        for c in page["data"].as_array().expect("data") {
            seen.push(c["emailAddress"].as_str().expect("email").to_owned());
        }
        match page["nextPageCursor"].as_str() {
            Some(next) => cursor = next.to_owned(),
            None => break,
        }
    }
    seen.sort();
    assert_eq!(
        seen,
        (0..7)
            .map(|i| format!("c{i}@example.com"))
            .collect::<Vec<_>>()
    );

    let ids = (1..=31)
        .map(|i| i.to_string())
        .collect::<Vec<_>>()
        .join(",");
    let (status, body) = api
        .get(&format!(
            "/List/{list}/Contact/c1@example.com?segmentationFieldIds={ids}"
        ))
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("ERROR_TOO_MANY_SEGMENTATION_FIELDS"))
    );
}
