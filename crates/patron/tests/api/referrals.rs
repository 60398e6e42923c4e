use crate::helpers::{Program, TestApp, ev};
use reqwest::StatusCode;
use serde_json::{Value, json};

async fn program(app: &TestApp) -> Program<'_> {
    let p = app.program("Acme").await;
    p.put("/v1/settings", json!({"referral": {"base_url": "https://shop.example.com/",
        "friend_coupon": {"prefix": "FRIEND-"}, "referrer_coupon": {"prefix": "THANKS-"}, "min_purchase": 50}})).await;
    p.put(
        "/v1/members/ann",
        json!({"email": "ann@example.com", "name": "Ann Lee"}),
    )
    .await;
    p
}

async fn code_of(p: &Program<'_>, who: &str) -> String {
    let (_, m) = p.get(&format!("/v1/members/{who}")).await;
    m["referral_code"].as_str().expect("code").to_string()
}

async fn claim(p: &Program<'_>, code: &str, email: &str) -> Value {
    let (status, body) = p
        .post(
            "/v1/referrals/claims",
            json!({"referral_code": code, "email": email, "name": "Friend"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

fn referrer_fields(code: &str) -> Vec<(&'static str, String)> {
    vec![
        ("Referral Code", code.to_string()),
        ("Referred By", "Ann Lee".into()),
        ("Referrer Email", "ann@example.com".into()),
        (
            "Referral URL",
            format!("https://shop.example.com/?ref={code}"),
        ),
    ]
}

#[tokio::test]
async fn a_referred_friend_gets_a_coupon_and_the_referrer_is_thanked_after_the_first_qualifying_purchase()
 {
    let app = TestApp::spawn().await;
    let p = program(&app).await;
    let code = code_of(&p, "ann").await;

    let (s, body) = p
        .post(
            "/v1/members/ann/referral-invitations",
            json!({"emails": ["bob@example.com", "nope"]}),
        )
        .await;
    assert_eq!(
        (s, body["errors"][0]["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("emails[1]"))
    );
    let (s, body) = p
        .post(
            "/v1/members/ann/referral-invitations",
            json!({"emails": ["bob@example.com", "cy@example.com"]}),
        )
        .await;
    assert_eq!(
        (s, body["invited"].as_u64()),
        (StatusCode::CREATED, Some(2)),
        "{body}"
    );
    let (_, body) = p
        .post(
            "/v1/members/ann/referral-invitations",
            json!({"emails": ["bob@example.com"]}),
        )
        .await;
    assert_eq!(
        (body["invited"].as_u64(), body["duplicates"].as_u64()),
        (Some(0), Some(1)),
        "same friend, same day"
    );
    let invitations = p.deliveries(&ev("Referral Friend Invitation")).await;
    assert_eq!(invitations.len(), 2);
    let bob_invite = invitations
        .iter()
        .find(|r| r["email"] == "bob@example.com")
        .expect("bob invited");
    let expected: serde_json::Map<String, Value> = referrer_fields(&code)
        .into_iter()
        .map(|(k, v)| (k.to_string(), Value::String(v)))
        .collect();
    assert_eq!(
        bob_invite["fields"],
        Value::Object(expected),
        "the referrer's referral fields and nothing of their profile"
    );

    let first = claim(&p, &code, "Bob@Example.com").await;
    assert_eq!(first["eligible"], true);
    let coupon = first["coupon_code"].as_str().expect("coupon").to_string();
    assert!(coupon.starts_with("FRIEND-"));
    assert_eq!(
        claim(&p, &code, "bob@example.com").await,
        first,
        "same code and email, same answer"
    );
    let incentives = p.deliveries(&ev("Referred Friend Incentive")).await;
    assert_eq!(incentives.len(), 1);
    let f = &incentives[0]["fields"];
    assert_eq!(f["Redeemed Reward Code"], coupon.as_str());
    assert_eq!(f["User Name"], "Friend");
    for (k, v) in referrer_fields(&code) {
        assert_eq!(f[k], v.as_str(), "{k}");
    }
    assert!(f.get("Points Available").is_none(), "{f}");

    p.put(
        "/v1/members/bob",
        json!({"email": "bob@example.com", "name": "Bob"}),
    )
    .await;
    p.purchase("bob", "b1", 30.0).await;
    assert!(
        p.deliveries(&ev("Referral Coupon Award")).await.is_empty(),
        "below the minimum"
    );
    p.purchase("bob", "b2", 60.0).await;
    p.purchase("bob", "b3", 80.0).await;
    let awards = p.deliveries(&ev("Referral Coupon Award")).await;
    assert_eq!(awards.len(), 1, "once per referral");
    assert_eq!(awards[0]["email"], "ann@example.com");
    let thanks = awards[0]["fields"]["Redeemed Reward Code"]
        .as_str()
        .expect("code");
    assert!(thanks.starts_with("THANKS-"), "{thanks}");
    assert_eq!(awards[0]["fields"]["User Name"], "Ann Lee");
}

#[tokio::test]
async fn each_not_eligible_reason_is_answered_and_recorded_once() {
    let app = TestApp::spawn().await;
    let p = program(&app).await;
    p.put(
        "/v1/settings",
        json!({"referral": {"base_url": "https://shop.example.com/", "claim_limit": 1}}),
    )
    .await;
    let code = code_of(&p, "ann").await;
    p.member("dan").await;
    p.member("zed").await;
    let zed_code = code_of(&p, "zed").await;
    p.post("/v1/members/zed/block", json!({})).await;

    assert_eq!(
        claim(&p, &code, "ann@example.com").await["reason"],
        "self_referral"
    );
    assert_eq!(
        claim(&p, &code, "dan@example.com").await["reason"],
        "already_member"
    );
    assert_eq!(
        claim(&p, &zed_code, "eve@example.com").await["reason"],
        "referrer_not_active"
    );
    assert_eq!(claim(&p, &code, "fay@example.com").await["eligible"], true);
    let limited = claim(&p, &code, "gus@example.com").await;
    assert_eq!(
        (limited["eligible"].as_bool(), limited["reason"].as_str()),
        (Some(false), Some("claim_limit"))
    );
    assert!(limited.get("coupon_code").is_none());
    assert_eq!(claim(&p, &code, "gus@example.com").await, limited);

    let rows = p
        .deliveries(&ev("Not eligible for Referred Friend Incentive"))
        .await;
    assert_eq!(rows.len(), 4, "once per referral and friend email");
    let gus = rows
        .iter()
        .find(|r| r["email"] == "gus@example.com")
        .expect("gus");
    assert_eq!(gus["fields"]["Referral Code"], code.as_str());
    assert_eq!(gus["fields"]["Referred By"], "Ann Lee");

    let (s, body) = p
        .post(
            "/v1/referrals/claims",
            json!({"referral_code": "NOPE1234", "email": "x@example.com"}),
        )
        .await;
    assert_eq!(
        (s, body["code"].as_str()),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("unknown_referral_code")
        )
    );
}
