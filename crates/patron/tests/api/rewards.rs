use crate::helpers::{TestApp, ev};
use reqwest::StatusCode;
use serde_json::json;

#[tokio::test]
async fn earning_then_redeeming_hands_out_a_coupon_and_records_default_coupon_reward() {
    let app = TestApp::spawn().await;
    let p = app.program("Acme").await;
    let reward = p
        .reward(json!({"name": "$10 off", "points_cost": 100, "coupon": {"prefix": "SAVE10-"}}))
        .await;
    p.member("ann").await;
    p.purchase("ann", "o1", 150.0).await;

    let (status, body) = p.redeem("ann", &reward).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let code = body["code"].as_str().expect("a code").to_string();
    assert!(code.starts_with("SAVE10-") && code.len() > 7, "{code}");
    assert_eq!(body["points_used"], 100);
    assert_eq!(body["reward_name"], "$10 off");

    let points = p.points("ann").await;
    assert_eq!(
        (points["available"].as_i64(), points["redeemed"].as_i64()),
        (Some(50), Some(100))
    );
    let rows = p
        .deliveries(&format!("member=ann&{}", ev("Default Coupon Reward")))
        .await;
    assert_eq!(rows.len(), 1);
    let f = &rows[0]["fields"];
    assert_eq!(f["Redeemed Reward Code"], code.as_str());
    assert_eq!(f["Redeemed Reward Name"], "$10 off");
    assert_eq!(f["Reward Points Used"], "100");
    assert_eq!(f["Points Available"], "50");
    assert_eq!(f["Points Redeemed"], "100");
    assert_eq!(f["User Name"], "Member ann");
    let (_, ledger) = p.get("/v1/members/ann/ledger").await;
    assert_eq!(ledger["items"][0]["kind"], "redeem");
    assert_eq!(ledger["items"][0]["points"], -100);
    assert_eq!(ledger["items"][0]["draws"][0]["points"], 100);

    let (status, body) = p.redeem("ann", &reward).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::CONFLICT, Some("insufficient_points"))
    );
    assert_eq!(p.available("ann").await, 50, "a refusal costs nothing");
}

#[tokio::test]
async fn redemptions_are_refused_with_clear_codes_and_cost_nothing() {
    let app = TestApp::spawn().await;
    let p = app.program("Acme").await;
    p.put("/v1/settings", json!({
        "tiers": {"levels": [{"name": "Bronze", "threshold": 0}, {"name": "Gold", "threshold": 1000}]},
        "earning": {"review": {"points": 500, "display_name": "Wrote a review", "approval_days": 30}}
    })).await;
    let gold_only = p
        .reward(json!({"name": "Lounge", "points_cost": 10, "min_tier": "Gold", "coupon": {"prefix": "VIP-"}}))
        .await;
    let inactive = p
        .reward(json!({"name": "Old", "points_cost": 10, "active": false, "coupon": {"prefix": "OLD-"}}))
        .await;
    let pool = p
        .reward(json!({"name": "Gift card", "points_cost": 10, "coupon": {"pool": true}}))
        .await;
    let big = p
        .reward(json!({"name": "Big", "points_cost": 400, "coupon": {"prefix": "BIG-"}}))
        .await;
    p.member("ann").await;
    p.purchase("ann", "o1", 100.0).await;
    p.post("/v1/members/ann/activities", json!({"type": "review"}))
        .await;

    for (reward, status, code) in [
        (&gold_only, StatusCode::CONFLICT, "tier_too_low"),
        (&inactive, StatusCode::CONFLICT, "reward_inactive"),
        (&pool, StatusCode::CONFLICT, "coupon_pool_empty"),
        (&big, StatusCode::CONFLICT, "insufficient_points"),
    ] {
        let (s, body) = p.redeem("ann", reward).await;
        assert_eq!((s, body["code"].as_str()), (status, Some(code)), "{body}");
    }
    let (s, body) = p.redeem("ann", "rwd_nope").await;
    assert_eq!(
        (s, body["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("unknown_reward"))
    );
    p.post("/v1/members/ann/block", json!({})).await;
    let (s, body) = p.redeem("ann", &big).await;
    assert_eq!(
        (s, body["code"].as_str()),
        (StatusCode::CONFLICT, Some("member_blocked"))
    );

    let points = p.points("ann").await;
    assert_eq!(
        (points["available"].as_i64(), points["pending"].as_i64()),
        (Some(100), Some(500))
    );
    assert!(p.deliveries(&ev("Default Coupon Reward")).await.is_empty());
    let (_, m) = p.get("/v1/members/ann").await;
    assert_eq!(
        m["eligible_rewards"],
        json!(["Gift card"]),
        "tier permitting, active only: {m}"
    );
}

#[tokio::test]
async fn rewards_are_listed_changed_and_their_pools_ignore_duplicate_codes() {
    let app = TestApp::spawn().await;
    let p = app.program("Acme").await;
    let id = p
        .reward(json!({"name": "Gift card", "points_cost": 50, "coupon": {"pool": true}}))
        .await;
    let (s, body) = p
        .post(
            &format!("/v1/rewards/{id}/coupons"),
            json!({"codes": ["A1", "A2", "A1"]}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{body}");
    assert_eq!(
        (
            body["added"].as_u64(),
            body["duplicates"].as_u64(),
            body["available"].as_i64()
        ),
        (Some(2), Some(1), Some(2))
    );
    let (s, body) = p
        .post(
            &format!("/v1/rewards/{id}/coupons"),
            json!({"codes": ["A2", "bad code"]}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["errors"][0]["field"], "codes[1]");
    let (s, body) = p
        .post(
            "/v1/rewards",
            json!({"name": "X", "points_cost": 5, "min_tier": "Nope", "coupon": {"prefix": "X"}}),
        )
        .await;
    assert_eq!(
        (s, body["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("unknown_tier"))
    );

    let (s, body) = p
        .request_patch(
            &format!("/v1/rewards/{id}"),
            json!({"points_cost": 75, "active": false}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(
        (body["points_cost"].as_i64(), body["active"].as_bool()),
        (Some(75), Some(false))
    );
    let (_, list) = p.get("/v1/rewards").await;
    assert_eq!(
        list["items"][0]["coupon"],
        json!({"pool": true, "available": 2})
    );
    let generated = p
        .reward(json!({"name": "Gen", "points_cost": 5, "coupon": {"prefix": "G-"}}))
        .await;
    let (s, body) = p
        .post(
            &format!("/v1/rewards/{generated}/coupons"),
            json!({"codes": ["Z"]}),
        )
        .await;
    assert_eq!(
        (s, body["code"].as_str()),
        (StatusCode::CONFLICT, Some("reward_not_pool"))
    );
}

#[tokio::test]
async fn two_racing_redemptions_with_points_for_one_spend_them_once() {
    let app = TestApp::spawn().await;
    let p = app.program("Acme").await;
    let reward = p
        .reward(json!({"name": "$10 off", "points_cost": 80, "coupon": {"prefix": "R-"}}))
        .await;
    p.member("ann").await;
    p.purchase("ann", "o1", 100.0).await;
    let (a, b) = tokio::join!(p.redeem("ann", &reward), p.redeem("ann", &reward));
    let mut statuses = vec![a.0, b.0];
    statuses.sort();
    assert_eq!(
        statuses,
        vec![StatusCode::CREATED, StatusCode::CONFLICT],
        "{} {}",
        a.1,
        b.1
    );
    let loser = if a.0 == StatusCode::CONFLICT {
        a.1
    } else {
        b.1
    };
    assert_eq!(loser["code"], "insufficient_points");
    let points = p.points("ann").await;
    assert_eq!(
        (points["available"].as_i64(), points["redeemed"].as_i64()),
        (Some(20), Some(80))
    );
    assert_eq!(p.deliveries(&ev("Default Coupon Reward")).await.len(), 1);
}

#[tokio::test]
async fn concurrent_pool_redemptions_never_share_a_coupon() {
    let app = TestApp::spawn().await;
    let p = app.program("Acme").await;
    let reward = p
        .reward(json!({"name": "Gift card", "points_cost": 50, "coupon": {"pool": true}}))
        .await;
    p.post(
        &format!("/v1/rewards/{reward}/coupons"),
        json!({"codes": ["C1", "C2", "C3", "C4", "C5"]}),
    )
    .await;
    let members: Vec<String> = (0..8).map(|i| format!("m{i}")).collect();
    for m in &members {
        p.member(m).await;
        p.purchase(m, &format!("o-{m}"), 100.0).await;
    }
    let answers = futures::future::join_all(members.iter().map(|m| p.redeem(m, &reward))).await;
    let mut codes: Vec<String> = answers
        .iter()
        .filter(|(s, _)| *s == StatusCode::CREATED)
        .map(|(_, b)| b["code"].as_str().expect("code").to_string())
        .collect();
    let empty = answers
        .iter()
        .filter(|(s, b)| *s == StatusCode::CONFLICT && b["code"] == "coupon_pool_empty")
        .count();
    codes.sort();
    assert_eq!(codes, vec!["C1", "C2", "C3", "C4", "C5"], "each code once");
    assert_eq!(empty, 3);
    let mut total = 0;
    for m in &members {
        total += p.available(m).await;
    }
    assert_eq!(total, 8 * 100 - 5 * 50, "only the winners paid");
}

async fn return_after_redemption(
    policy: &str,
) -> (
    serde_json::Value,
    serde_json::Value,
    (StatusCode, serde_json::Value),
) {
    let app = TestApp::spawn().await;
    let p = app.program("Acme").await;
    p.put("/v1/settings", json!({"returns": {"policy": policy}}))
        .await;
    let reward = p
        .reward(json!({"name": "$10 off", "points_cost": 80, "coupon": {"prefix": "R-"}}))
        .await;
    let small = p
        .reward(json!({"name": "Sticker", "points_cost": 10, "coupon": {"prefix": "S-"}}))
        .await;
    p.member("ann").await;
    p.purchase("ann", "o1", 100.0).await;
    let (s, _) = p.redeem("ann", &reward).await;
    assert_eq!(s, StatusCode::CREATED);
    let (s, ret) = p
        .post("/v1/members/ann/returns", json!({"order_id": "o1"}))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{ret}");
    let after = p.redeem("ann", &small).await;
    (ret, p.points("ann").await, after)
}

#[tokio::test]
async fn a_return_after_redemption_leaves_debt_that_blocks_redemption_under_the_negative_policy() {
    let (ret, points, (status, body)) = return_after_redemption("negative").await;
    assert_eq!(
        (ret["points_reversed"].as_i64(), ret["shortfall"].as_i64()),
        (Some(100), Some(0))
    );
    assert_eq!(points["available"], -80);
    assert_eq!(points["redeemed"], 80, "the redemption stands");
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::CONFLICT, Some("negative_balance"))
    );
}

#[tokio::test]
async fn a_return_after_redemption_stops_at_zero_and_records_the_shortfall_under_the_clamp_policy()
{
    let (ret, points, (status, body)) = return_after_redemption("clamp").await;
    assert_eq!(
        (ret["points_reversed"].as_i64(), ret["shortfall"].as_i64()),
        (Some(20), Some(80))
    );
    assert_eq!(points["available"], 0);
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::CONFLICT, Some("insufficient_points"))
    );
}
