use crate::helpers::TestApp;
use reqwest::StatusCode;
use serde_json::json;

#[tokio::test]
async fn a_purchase_earns_points_and_records_points_earned_with_listrak_formats() {
    let app = TestApp::spawn().await;
    let p = app.program("Acme").await;
    p.put(
        "/v1/members/ann",
        json!({"email": "ann@example.com", "name": "Ann Lee", "birth_date": "1991-03-26"}),
    )
    .await;
    let (status, body) = p.purchase("ann", "o-1", 42.5).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["points"], 42);
    assert_eq!(body["status"], "available");

    let rows = p.deliveries("member=ann&event=Points%20Earned").await;
    assert_eq!(rows.len(), 1);
    let row = &rows[0];
    assert_eq!(row["email"], "ann@example.com");
    assert_eq!(row["channel"], "native");
    assert_eq!(row["status"], "pending");
    let f = &row["fields"];
    assert_eq!(f["Points Current Activity"], "42");
    assert_eq!(f["Recent Activity Completed"], "Made a purchase");
    assert_eq!(f["Points Available"], "42");
    assert_eq!(f["Points Earned"], "42");
    assert_eq!(f["User Name"], "Ann Lee");
    assert_eq!(f["Date of Birth"], "03/26/1991");
    assert_eq!(f["Opted Out"], "False");
    assert_eq!(f["User Status"], "Active");
    let member_since = f["Member Since"].as_str().expect("date");
    assert!(
        member_since.len() == 10 && &member_since[2..3] == "/" && &member_since[5..6] == "/",
        "{member_since}"
    );
}

#[tokio::test]
async fn a_replayed_idempotency_key_awards_once_and_a_different_body_is_refused() {
    let app = TestApp::spawn().await;
    let p = app.program("Acme").await;
    p.member("m1").await;
    let url = format!("{}/v1/members/m1/activities", app.base);
    let send = |body: serde_json::Value| {
        app.client
            .post(&url)
            .bearer_auth(&p.key)
            .header("Idempotency-Key", "review-77")
            .json(&body)
            .send()
    };
    let first = send(json!({"type": "review"})).await.expect("answer");
    assert_eq!(first.status(), StatusCode::CREATED);
    let first: serde_json::Value = first.json().await.expect("json");
    let again = send(json!({"type": "review"})).await.expect("answer");
    assert_eq!(
        again
            .headers()
            .get("idempotent-replayed")
            .map(|v| v.as_bytes()),
        Some(&b"true"[..])
    );
    let again: serde_json::Value = again.json().await.expect("json");
    assert_eq!(first, again);
    let other = send(json!({"type": "signup"})).await.expect("answer");
    assert_eq!(other.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(p.available("m1").await, 50);
    assert_eq!(p.deliveries("event=Points%20Earned").await.len(), 1);
}

#[tokio::test]
async fn racing_replays_of_one_key_award_once() {
    let app = TestApp::spawn().await;
    let p = app.program("Acme").await;
    p.member("m1").await;
    let url = format!("{}/v1/members/m1/activities", app.base);
    let sends = (0..10).map(|_| {
        app.client
            .post(&url)
            .bearer_auth(&p.key)
            .header("Idempotency-Key", "same")
            .json(&json!({"type": "purchase", "amount": 30}))
            .send()
    });
    let answers = futures::future::join_all(sends).await;
    for a in answers {
        assert_eq!(a.expect("answer").status(), StatusCode::CREATED);
    }
    assert_eq!(p.available("m1").await, 30);
}

#[tokio::test]
async fn fifty_concurrent_purchases_for_one_member_all_count_exactly_once() {
    let app = TestApp::spawn().await;
    let p = app.program("Acme").await;
    p.member("m1").await;
    let orders: Vec<String> = (0..50).map(|i| format!("order-{i}")).collect();
    let buys = orders.iter().map(|o| p.purchase("m1", o, 10.0));
    for (status, body) in futures::future::join_all(buys).await {
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    assert_eq!(p.available("m1").await, 500);
    assert_eq!(
        p.deliveries("event=Points%20Earned&limit=500").await.len(),
        50
    );
    // the same orders again change nothing
    let again = orders.iter().map(|o| p.purchase("m1", o, 10.0));
    futures::future::join_all(again).await;
    assert_eq!(p.available("m1").await, 500);
}

#[tokio::test]
async fn points_with_an_approval_delay_stay_pending_until_the_approval_job() {
    let app = TestApp::spawn().await;
    let p = app.program("Acme").await;
    p.put("/v1/settings", json!({"earning": {"purchase": {"points_per_unit": 2, "display_name": "Bought", "approval_days": 14}}})).await;
    p.member("m1").await;
    let (_, body) = p
        .post(
            "/v1/members/m1/activities",
            json!({"type": "purchase", "amount": 50, "order_id": "o1"}),
        )
        .await;
    assert_eq!(body["status"], "pending");
    let available_at: chrono::DateTime<chrono::Utc> = body["available_at"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .expect("a date");
    assert_eq!((available_at - chrono::Utc::now()).num_days(), 13);
    let (_, m) = p.get("/v1/members/m1").await;
    assert_eq!(
        (
            m["points"]["available"].as_i64(),
            m["points"]["pending"].as_i64()
        ),
        (Some(0), Some(100))
    );
    assert!(
        p.deliveries("event=Points%20Earned").await.is_empty(),
        "no Points Earned while pending"
    );

    let before = (available_at - chrono::Duration::hours(1)).to_rfc3339();
    assert_eq!(p.run_job("approve-points", &before).await["approved"], 0);
    let after = (available_at + chrono::Duration::hours(1)).to_rfc3339();
    let report = p.run_job("approve-points", &after).await;
    assert_eq!(report["approved"], 1);
    let (_, m) = p.get("/v1/members/m1").await;
    assert_eq!(
        (
            m["points"]["available"].as_i64(),
            m["points"]["pending"].as_i64()
        ),
        (Some(100), Some(0))
    );
    let earned = p.deliveries("event=Points%20Earned").await;
    assert_eq!(earned.len(), 1);
    assert_eq!(earned[0]["fields"]["Points Current Activity"], "100");
    p.run_job("approve-points", &after).await;
    assert_eq!(
        p.deliveries("event=Points%20Earned").await.len(),
        1,
        "approving twice changes nothing"
    );
}

#[tokio::test]
async fn a_return_reverses_points_in_proportion() {
    let app = TestApp::spawn().await;
    let p = app.program("Acme").await;
    p.member("m1").await;
    p.purchase("m1", "o1", 100.0).await;
    let (status, body) = p
        .post(
            "/v1/members/m1/returns",
            json!({"order_id": "o1", "returned_amount": 25}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["points_reversed"], 25);
    assert_eq!(p.available("m1").await, 75);
    let (status, body) = p
        .post(
            "/v1/members/m1/returns",
            json!({"order_id": "o1", "returned_amount": 80}),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "cannot return more than was bought: {body}"
    );
    let (status, body) = p
        .post("/v1/members/m1/returns", json!({"order_id": "nope"}))
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("unknown_order"))
    );
}

#[tokio::test]
async fn a_return_of_spent_points_follows_the_negative_policy() {
    let app = TestApp::spawn().await;
    let p = app.program("Acme").await;
    p.member("m1").await;
    p.purchase("m1", "o1", 100.0).await;
    p.post(
        "/v1/members/m1/adjustments",
        json!({"points": -80, "reason": "Manual spend"}),
    )
    .await;
    let (_, body) = p
        .post("/v1/members/m1/returns", json!({"order_id": "o1"}))
        .await;
    assert_eq!(body["points_reversed"], 100);
    assert_eq!(p.available("m1").await, -80);
    // future earnings repay the debt first
    p.purchase("m1", "o2", 100.0).await;
    assert_eq!(p.available("m1").await, 20);
}

#[tokio::test]
async fn a_return_of_spent_points_stops_at_zero_under_the_clamp_policy() {
    let app = TestApp::spawn().await;
    let p = app.program("Acme").await;
    p.put("/v1/settings", json!({"returns": {"policy": "clamp"}}))
        .await;
    p.member("m1").await;
    p.purchase("m1", "o1", 100.0).await;
    p.post(
        "/v1/members/m1/adjustments",
        json!({"points": -80, "reason": "Manual spend"}),
    )
    .await;
    let (_, body) = p
        .post("/v1/members/m1/returns", json!({"order_id": "o1"}))
        .await;
    assert_eq!(
        (body["points_reversed"].as_i64(), body["shortfall"].as_i64()),
        (Some(20), Some(80))
    );
    assert_eq!(p.available("m1").await, 0);
    let (_, ledger) = p.get("/v1/members/m1/ledger").await;
    assert_eq!(ledger["items"][0]["kind"], "reverse");
    assert_eq!(ledger["items"][0]["shortfall"], 80);
}

#[tokio::test]
async fn the_ledger_pages_newest_first() {
    let app = TestApp::spawn().await;
    let p = app.program("Acme").await;
    p.member("m1").await;
    for i in 0..5 {
        p.purchase("m1", &format!("o{i}"), 10.0 + f64::from(i))
            .await;
    }
    let (_, first) = p.get("/v1/members/m1/ledger?limit=3").await;
    assert_eq!(first["items"].as_array().map(Vec::len), Some(3));
    assert_eq!(first["items"][0]["order_id"], "o4");
    let cursor = first["next_cursor"].as_str().expect("more pages");
    let (_, second) = p
        .get(&format!("/v1/members/m1/ledger?limit=3&cursor={cursor}"))
        .await;
    assert_eq!(second["items"].as_array().map(Vec::len), Some(2));
    assert_eq!(second["next_cursor"], serde_json::Value::Null);
}
