use crate::helpers::TestApp;
use reqwest::StatusCode;
use serde_json::json;

#[tokio::test]
async fn bad_input_gets_a_problem_naming_the_field_and_changes_nothing() {
    let app = TestApp::spawn().await;
    let p = app.program("Acme").await;
    p.member("m1").await;

    let cases = [
        ("/v1/members/m2", json!({"email": "not-an-email"}), "email"),
        (
            "/v1/members/m2",
            json!({"email": "a@example.com", "birth_date": "26/03/1991"}),
            "birth_date",
        ),
        (
            "/v1/members/m2",
            json!({"email": "a@example.com", "shoe_size": 42}),
            "shoe_size",
        ),
    ];
    for (path, body, field) in cases {
        let (status, problem) = p.put(path, body).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
        assert_eq!(
            problem["errors"][0]["field"]
                .as_str()
                .map(|f| f.starts_with(field)),
            Some(true),
            "{problem}"
        );
    }
    let (status, _) = p.get("/v1/members/m2").await;
    assert_eq!(status, StatusCode::NOT_FOUND, "nothing was created");

    let activity_cases = [
        (
            json!({"type": "purchase", "amount": -5, "order_id": "o-1"}),
            "amount",
        ),
        (json!({"type": "purchase", "order_id": "o-1"}), "amount"),
        (json!({"type": "levitation"}), "type"),
        (json!({"type": "purchase", "amount": "ten"}), "amount"),
    ];
    for (body, field) in activity_cases {
        let (status, problem) = p.post("/v1/members/m1/activities", body).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
        assert_eq!(problem["errors"][0]["field"], field, "{problem}");
    }
    assert_eq!(p.available("m1").await, 0);
    assert!(p.deliveries("").await.is_empty());
}

#[tokio::test]
async fn malformed_json_wrong_content_type_and_oversized_bodies_are_refused() {
    let app = TestApp::spawn_with(&[("PATRON_MAX_BODY_BYTES", "2048")]).await;
    let p = app.program("Acme").await;
    p.member("m1").await;
    let url = format!("{}/v1/members/m1/activities", app.base);

    let resp = app
        .client
        .post(&url)
        .bearer_auth(&p.key)
        .header("content-type", "application/json")
        .body("{\"type\":")
        .send()
        .await
        .expect("answer");
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    assert_eq!(resp.headers()["content-type"], "application/problem+json");
    let body: serde_json::Value = resp.json().await.expect("json");
    assert_eq!(body["code"], "malformed_json");

    let resp = app
        .client
        .post(&url)
        .bearer_auth(&p.key)
        .header("content-type", "text/plain")
        .body("{}")
        .send()
        .await
        .expect("answer");
    assert_eq!(resp.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);

    let huge = json!({"type": "review", "order_id": "x".repeat(10_000)});
    let resp = app
        .client
        .post(&url)
        .bearer_auth(&p.key)
        .json(&huge)
        .send()
        .await
        .expect("answer");
    assert_eq!(resp.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let body: serde_json::Value = resp.json().await.expect("json");
    assert_eq!(body["code"], "body_too_large");
    assert_eq!(p.available("m1").await, 0);
}

#[tokio::test]
async fn unknown_routes_and_methods_answer_problems() {
    let app = TestApp::spawn().await;
    let p = app.program("Acme").await;
    let (status, body) = p.get("/v1/nothing-here").await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("not_found"))
    );
    let (status, body) = p.delete("/v1/settings").await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::METHOD_NOT_ALLOWED, Some("method_not_allowed"))
    );
}

#[tokio::test]
async fn invalid_settings_are_refused_with_their_paths_and_leave_the_old_ones() {
    let app = TestApp::spawn().await;
    let p = app.program("Acme").await;
    let (status, problem) = p
        .put("/v1/settings", json!({"tiers": {"levels": [{"name": "Gold", "threshold": 100}, {"name": "Silver", "threshold": 50}]},
                                   "digest": {"day_of_month": 31}}))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let fields: Vec<&str> = problem["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .filter_map(|e| e["field"].as_str())
        .collect();
    assert_eq!(
        fields,
        vec!["tiers.levels[1].threshold", "digest.day_of_month"]
    );
    let (_, settings) = p.get("/v1/settings").await;
    assert_eq!(settings["tiers"]["levels"], json!([]));
    assert_eq!(settings["digest"]["day_of_month"], 1);
}
