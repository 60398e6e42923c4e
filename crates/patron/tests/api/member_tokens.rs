use crate::helpers::TestApp;
use patron::app::member_tokens::sign;
use reqwest::{Method, StatusCode};
use serde_json::json;

fn in_minutes(m: i64) -> i64 {
    chrono::Utc::now().timestamp() + m * 60
}

#[tokio::test]
async fn a_member_token_signed_by_the_store_reads_the_members_own_view() {
    let app = TestApp::spawn().await;
    let p = app.program("Acme").await;
    p.member("cust-7").await;
    p.purchase("cust-7", "o-1", 25.0).await;
    let token = sign(&p.member_token_secret, "cust-7", in_minutes(30));
    let (status, me) = app.request(Method::GET, "/v1/me", Some(&token), None).await;
    assert_eq!(status, StatusCode::OK, "{me}");
    let (_, member) = p.get("/v1/members/cust-7").await;
    assert_eq!(me, member, "the same shape as the program's view");

    let (status, me) = app
        .request(
            Method::PUT,
            "/v1/me/preferences",
            Some(&token),
            Some(json!({"opted_out": true})),
        )
        .await;
    assert_eq!(
        (status, me["opted_out"].as_bool()),
        (StatusCode::OK, Some(true))
    );
}

#[tokio::test]
async fn forged_expired_overlong_and_other_program_tokens_are_refused() {
    let app = TestApp::spawn().await;
    let acme = app.program("Acme").await;
    let globex = app.program("Globex").await;
    acme.member("cust-7").await;
    for token in [
        sign("not-the-secret", "cust-7", in_minutes(30)),
        sign(&acme.member_token_secret, "cust-7", in_minutes(-1)),
        sign(&acme.member_token_secret, "cust-7", in_minutes(3 * 24 * 60)),
        "garbage".to_string(),
    ] {
        let (status, body) = app.request(Method::GET, "/v1/me", Some(&token), None).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    }
    // Globex's secret names Globex, where cust-7 does not exist.
    let (status, _) = app
        .request(
            Method::GET,
            "/v1/me",
            Some(&sign(&globex.member_token_secret, "cust-7", in_minutes(30))),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // A member token is not a program key.
    let (status, _) = app
        .request(
            Method::GET,
            "/v1/settings",
            Some(&sign(&acme.member_token_secret, "cust-7", in_minutes(30))),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn rotating_the_secret_retires_old_tokens() {
    let app = TestApp::spawn().await;
    let p = app.program("Acme").await;
    p.member("cust-7").await;
    let old = sign(&p.member_token_secret, "cust-7", in_minutes(30));
    let (status, rotated) = p.post("/v1/member-token-secret", json!({})).await;
    assert_eq!(status, StatusCode::OK);
    let new_secret = rotated["member_token_secret"].as_str().expect("secret");
    let (status, _) = app.request(Method::GET, "/v1/me", Some(&old), None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = app
        .request(
            Method::GET,
            "/v1/me",
            Some(&sign(new_secret, "cust-7", in_minutes(30))),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
}
