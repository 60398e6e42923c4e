//! What a member sees of their own account, and what they do with it: balance and next expiry,
//! tier progress, rewards, history, referral link, redemptions (the race and idempotency) and
//! invitations.

use super::*;

#[tokio::test]
async fn a_member_sees_balance_with_next_expiry_tier_progress_rewards_history_and_referral_link() {
    let app = TestApp::spawn().await;
    let p = app.program("Acme").await;
    let (status, body) = p
        .put(
            "/v1/settings",
            json!({
                "tiers": {"levels": [{"name": "Bronze", "threshold": 0}, {"name": "Silver", "threshold": 500},
                                     {"name": "Gold", "threshold": 2000}]},
                "expiry": {"mode": "per_lot", "days": 365},
                "referral": {"base_url": "https://shop.example.com/join"}
            }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let five_off = p
        .reward(json!({"name": "$5 off", "points_cost": 100, "coupon": {"prefix": "FIVE-"}}))
        .await;
    p.reward(json!({"name": "$50 off", "points_cost": 1000, "coupon": {"prefix": "FIFTY-"}}))
        .await;
    p.reward(json!({"name": "Lounge", "points_cost": 50, "min_tier": "Gold", "coupon": {"prefix": "VIP-"}}))
        .await;
    p.reward(json!({"name": "Gift card", "points_cost": 200, "coupon": {"pool": true}}))
        .await;
    p.reward(json!({"name": "Retired", "points_cost": 10, "active": false, "coupon": {"prefix": "OLD-"}}))
        .await;
    p.member("ann").await;
    p.purchase("ann", "o1", 600.0).await;
    let me = Me::new(&p, "ann");

    let balance = me.get("/v1/me/balance").await;
    assert_eq!(balance.status, StatusCode::OK, "{}", balance.body);
    assert_eq!(balance.body["available"], 600);
    assert_eq!(balance.body["pending"], 0);
    let next = &balance.body["next_expiry"];
    assert_eq!(next["points"], 600);
    let expires_at = next["expires_at"].as_str().expect("an expiry instant");
    assert_eq!(next["date"].as_str(), expires_at.get(..10));

    let tier = me.get("/v1/me/tier").await.body;
    assert_eq!(tier["current"], "Silver");
    assert_eq!(tier["next"], "Gold");
    assert_eq!(tier["points_to_next"], 1400);
    assert_eq!(
        tier["progress_percent"], 6,
        "100 of the 1500 from Silver to Gold"
    );
    assert_eq!(tier["levels"].as_array().map(Vec::len), Some(3));

    let rewards = me.get("/v1/me/rewards").await.body;
    let seen: Vec<(&str, bool, bool, bool, bool)> = rewards["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|r| {
            (
                r["name"].as_str().unwrap_or_default(),
                r["affordable"] == true,
                r["tier_permits"] == true,
                r["in_stock"] == true,
                r["redeemable"] == true,
            )
        })
        .collect();
    assert_eq!(
        seen,
        vec![
            ("Lounge", true, false, true, false),
            ("$5 off", true, true, true, true),
            ("Gift card", true, true, false, false),
            ("$50 off", false, true, true, false),
        ],
        "active rewards only, cheapest first"
    );
    assert_eq!(rewards["items"][3]["points_needed"], 400);

    let redeemed = me.redeem(&five_off).await;
    assert_eq!(redeemed.status, StatusCode::CREATED, "{}", redeemed.body);
    assert!(
        redeemed.body["code"]
            .as_str()
            .is_some_and(|c| c.starts_with("FIVE-"))
    );
    let history = me.get("/v1/me/history").await.body;
    let kinds: Vec<&str> = history["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|e| e["kind"].as_str())
        .collect();
    assert_eq!(kinds, vec!["redeem", "earn"], "newest first");
    assert_eq!(history["items"][0]["points"], -100);

    let (_, member) = p.get("/v1/members/ann").await;
    let referral = me.get("/v1/me/referral").await.body;
    assert_eq!(referral["referral_code"], member["referral_code"]);
    assert_eq!(
        referral["referral_url"].as_str(),
        Some(format!(
            "https://shop.example.com/join?ref={}",
            member["referral_code"].as_str().unwrap_or_default()
        ))
        .as_deref()
    );

    let dashboard = me.get("/v1/me/dashboard").await;
    assert_eq!(dashboard.status, StatusCode::OK, "{}", dashboard.body);
    let d = &dashboard.body;
    assert_eq!(d["language"], "en");
    assert_eq!(d["messages"]["rewards.title"], "Rewards");
    assert_eq!(d["program_name"], "Acme");
    assert_eq!(d["member"], member, "the same member as the program sees");
    assert_eq!(d["balance"]["available"], 500);
    assert_eq!(d["tier"]["current"], "Silver");
    assert_eq!(d["referral"], referral);
    assert_eq!(d["history"]["items"].as_array().map(Vec::len), Some(2));
    assert_eq!(d["rewards"].as_array().map(Vec::len), Some(4));
}

#[tokio::test]
async fn the_next_expiry_shown_is_the_one_the_expiry_job_carries_out() {
    let app = TestApp::spawn().await;
    let p = app.program("Acme").await;
    p.put(
        "/v1/settings",
        json!({"expiry": {"mode": "per_lot", "days": 30}}),
    )
    .await;
    p.member("ann").await;
    p.purchase("ann", "o1", 120.0).await;
    let me = Me::new(&p, "ann");
    let next = me.get("/v1/me/balance").await.body["next_expiry"].clone();
    let at: chrono::DateTime<chrono::Utc> = next["expires_at"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .expect("an instant");

    let before = p
        .run_job(
            "expire-points",
            &(at - chrono::Duration::seconds(1)).to_rfc3339(),
        )
        .await;
    assert_eq!(before["points_expired"], 0, "{before}");
    let after = p.run_job("expire-points", &at.to_rfc3339()).await;
    assert_eq!(after["points_expired"], next["points"], "{after}");
    let balance = me.get("/v1/me/balance").await.body;
    assert_eq!(balance["available"], 0);
    assert_eq!(balance["next_expiry"], Value::Null);
}

#[tokio::test]
async fn racing_member_redemptions_spend_only_the_points_there_are() {
    let app = TestApp::spawn_with(&[
        ("PATRON_REDEMPTION_LIMIT_PER_MEMBER", "100"),
        ("PATRON_REDEMPTION_LIMIT_PER_IP", "100"),
    ])
    .await;
    let p = app.program("Acme").await;
    let reward = p
        .reward(json!({"name": "$10 off", "points_cost": 40, "coupon": {"prefix": "R-"}}))
        .await;
    p.member("ann").await;
    p.purchase("ann", "o1", 100.0).await;
    let me = Me::new(&p, "ann");

    let answers = futures::future::join_all((0..6).map(|_| me.redeem(&reward))).await;
    let codes: std::collections::BTreeSet<&str> = answers
        .iter()
        .filter(|a| a.status == StatusCode::CREATED)
        .filter_map(|a| a.body["code"].as_str())
        .collect();
    assert_eq!(
        codes.len(),
        2,
        "exactly the two affordable redemptions, each its own code"
    );
    for loser in answers.iter().filter(|a| a.status != StatusCode::CREATED) {
        assert_eq!(
            (loser.status, loser.body["code"].as_str()),
            (StatusCode::CONFLICT, Some("insufficient_points"))
        );
    }
    let points = p.points("ann").await;
    assert_eq!(
        (points["available"].as_i64(), points["redeemed"].as_i64()),
        (Some(20), Some(80)),
        "never below zero"
    );
    assert_eq!(p.deliveries(&ev("Default Coupon Reward")).await.len(), 2);
}

#[tokio::test]
async fn a_member_redemption_replays_under_its_idempotency_key_and_apart_from_the_stores_keys() {
    let app = TestApp::spawn().await;
    let p = app.program("Acme").await;
    let reward = p
        .reward(json!({"name": "$5 off", "points_cost": 30, "coupon": {"prefix": "F-"}}))
        .await;
    p.member("ann").await;
    p.purchase("ann", "o1", 100.0).await;
    let me = Me::new(&p, "ann").with("idempotency-key", "click-1");
    let first = me.redeem(&reward).await;
    let again = me.redeem(&reward).await;
    assert_eq!(first.status, StatusCode::CREATED, "{}", first.body);
    assert_eq!(again.body["code"], first.body["code"]);
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    assert_eq!(p.available("ann").await, 70, "spent once");

    let resp = app
        .client
        .post(format!("{}/v1/members/ann/redemptions", app.base))
        .bearer_auth(&p.key)
        .header("idempotency-key", "click-1")
        .json(&json!({"reward_id": reward}))
        .send()
        .await
        .expect("an answer");
    assert_eq!(resp.status(), StatusCode::CREATED);
    assert!(resp.headers().get("idempotent-replayed").is_none());
    assert_eq!(p.available("ann").await, 40, "the store's key is its own");
}

#[tokio::test]
async fn member_invitations_follow_the_program_apis_limits_and_de_duplication() {
    let app = TestApp::spawn().await;
    let p = app.program("Acme").await;
    p.member("ann").await;
    let me = Me::new(&p, "ann");

    let first = me
        .invite(&["bob@example.com", "BOB@example.com", "cy@example.com"])
        .await;
    assert_eq!(first.status, StatusCode::CREATED, "{}", first.body);
    assert_eq!(first.body, json!({"invited": 2, "duplicates": 1}));
    let again = me.invite(&["bob@example.com"]).await;
    assert_eq!(
        again.body,
        json!({"invited": 0, "duplicates": 1}),
        "once a day"
    );

    let bad = me.invite(&["dee@example.com", "not-an-address"]).await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(bad.body["errors"][0]["field"], "emails[1]");
    let too_many: Vec<String> = (0..51).map(|i| format!("f{i}@example.com")).collect();
    let too_many: Vec<&str> = too_many.iter().map(String::as_str).collect();
    assert_eq!(
        me.invite(&too_many).await.status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    assert_eq!(
        me.invite(&[]).await.status,
        StatusCode::UNPROCESSABLE_ENTITY
    );

    let invitations = p.deliveries(&ev("Referral Friend Invitation")).await;
    let mut to: Vec<&str> = invitations
        .iter()
        .filter_map(|d| d["email"].as_str())
        .collect();
    to.sort();
    assert_eq!(to, vec!["bob@example.com", "cy@example.com"]);
    assert_eq!(invitations[0]["fields"]["Referred By"], "Member ann");
}
