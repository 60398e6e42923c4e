use crate::helpers::TestApp;
use reqwest::StatusCode;
use serde_json::json;

#[tokio::test]
async fn a_member_is_created_then_updated_field_by_field() {
    let app = TestApp::spawn().await;
    let p = app.program("Acme").await;
    let (status, m) = p
        .put(
            "/v1/members/cust-1",
            json!({"email": "Ann.Lee@Example.com", "name": "Ann Lee", "birth_date": "1991-03-26",
            "phone": "+1 555 0100", "preferred_language": "English"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{m}");
    assert_eq!(m["status"], "Active");
    assert_eq!(m["opted_out"], false);
    assert_eq!(m["tier"], serde_json::Value::Null);
    assert_eq!(
        m["points"],
        json!({"available": 0, "pending": 0, "earned": 0, "redeemed": 0, "expired": 0})
    );
    let code = m["referral_code"].as_str().expect("code").to_string();
    assert_eq!(
        m["referral_url"],
        format!("https://shop.example.com/?ref={code}")
    );

    let (status, m) = p
        .put(
            "/v1/members/cust-1",
            json!({"phone": null, "opted_out": true}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(m["name"], "Ann Lee", "absent fields are kept");
    assert_eq!(m["phone"], serde_json::Value::Null, "null clears");
    assert_eq!(m["opted_out"], true);
    assert_eq!(m["referral_code"], code.as_str(), "the code never changes");
}

#[tokio::test]
async fn members_are_found_by_email_case_insensitively() {
    let app = TestApp::spawn().await;
    let p = app.program("Acme").await;
    p.put("/v1/members/cust-1", json!({"email": "Ann@Example.com"}))
        .await;
    let (_, found) = p.get("/v1/members?email=ann@EXAMPLE.com").await;
    assert_eq!(found["items"][0]["external_id"], "cust-1");
    let (status, body) = p
        .put("/v1/members/cust-2", json!({"email": "ANN@example.com"}))
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(body["code"], "email_taken");
}

#[tokio::test]
async fn blocked_members_earn_nothing_until_unblocked_and_deleted_ones_are_frozen() {
    let app = TestApp::spawn().await;
    let p = app.program("Acme").await;
    p.member("m1").await;
    let (status, m) = p.post("/v1/members/m1/block", json!({})).await;
    assert_eq!(
        (status, m["status"].as_str()),
        (StatusCode::OK, Some("Blocked"))
    );
    let (status, body) = p.purchase("m1", "o-1", 10.0).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(body["code"], "member_blocked");
    assert_eq!(p.available("m1").await, 0);

    p.post("/v1/members/m1/unblock", json!({})).await;
    let (status, _) = p.purchase("m1", "o-1", 10.0).await;
    assert_eq!(status, StatusCode::CREATED);

    let (status, m) = p.delete("/v1/members/m1").await;
    assert_eq!(
        (status, m["status"].as_str()),
        (StatusCode::OK, Some("Deleted"))
    );
    let (status, body) = p.purchase("m1", "o-2", 10.0).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::CONFLICT, Some("member_deleted"))
    );
    let (status, body) = p.put("/v1/members/m1", json!({"name": "X"})).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::CONFLICT, Some("member_deleted"))
    );
}
