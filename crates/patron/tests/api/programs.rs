use crate::helpers::{ADMIN_TOKEN, TestApp};
use reqwest::{Method, StatusCode};
use serde_json::json;

#[tokio::test]
async fn creating_a_program_needs_the_admin_token_and_shows_the_key_once() {
    let app = TestApp::spawn().await;
    let (status, body) = app
        .request(
            Method::POST,
            "/v1/programs",
            Some("wrong"),
            Some(json!({"name": "Acme"})),
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["code"], "unauthorized");

    let program = app.program("Acme").await;
    assert!(program.key.starts_with("pk_"));
    let (status, list) = app
        .request(Method::GET, "/v1/programs", Some(ADMIN_TOKEN), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(list["items"][0]["name"], "Acme");
    assert!(
        !list.to_string().contains(&program.key),
        "keys are never listed"
    );
}

#[tokio::test]
async fn one_program_never_sees_another_programs_members() {
    let app = TestApp::spawn().await;
    let acme = app.program("Acme").await;
    let globex = app.program("Globex").await;
    acme.member("cust-1").await;
    acme.purchase("cust-1", "o-1", 10.0).await;

    let (status, body) = globex.get("/v1/members/cust-1").await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    let (status, _) = globex
        .post("/v1/members/cust-1/activities", json!({"type": "review"}))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(globex.deliveries("").await.is_empty());
    let (_, found) = globex.get("/v1/members?email=cust-1@example.com").await;
    assert_eq!(found["items"].as_array().map(Vec::len), Some(0));
}

#[tokio::test]
async fn an_unknown_api_key_is_refused() {
    let app = TestApp::spawn().await;
    let (status, body) = app
        .request(Method::GET, "/v1/settings", Some("pk_nope"), None)
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["code"], "unauthorized");
    let (status, _) = app.request(Method::GET, "/v1/settings", None, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn health_metrics_and_openapi_are_served() {
    let app = TestApp::spawn().await;
    let program = app.program("Acme").await;
    program.member("m1").await;
    let (status, _) = app.request(Method::GET, "/healthz", None, None).await;
    assert_eq!(status, StatusCode::OK);
    let (status, doc) = app.request(Method::GET, "/openapi.json", None, None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(doc["paths"]["/v1/members/{external_id}/activities"]["post"].is_object());
    let (_, metrics) = app.request(Method::GET, "/metrics", None, None).await;
    let text = metrics.as_str().expect("text");
    assert!(text.contains("patron_http_requests_total{method=\"PUT\",route=\"/v1/members/{external_id}\",status=\"201\"} 1"), "{text}");
    assert!(text.contains("patron_outbox_depth 0"));
}
