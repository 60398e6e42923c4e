use crate::helpers::{TestApp, days_from_now, ev};
use serde_json::json;

async fn program(app: &TestApp) -> crate::helpers::Program<'_> {
    let p = app.program("Acme").await;
    p.put("/v1/settings", json!({"winback": {"enabled": true, "inactive_days": 180, "bonus_points": 200, "validity_days": 30}})).await;
    p
}

#[tokio::test]
async fn an_inactive_member_gets_one_offer_and_a_purchase_in_time_credits_the_bonus() {
    let app = TestApp::spawn().await;
    let p = program(&app).await;
    p.member("ann").await;
    p.purchase_at("ann", "o1", 10.0, 200).await;
    p.member("fresh").await;
    p.purchase("fresh", "o2", 10.0).await;

    let as_of = days_from_now(-10);
    let report = p.run_job("winback", &as_of).await;
    assert_eq!(report["offered"], 1, "only the inactive member");
    assert_eq!(
        p.run_job("winback", &as_of).await["offered"],
        0,
        "one offer per episode"
    );
    let rows = p.deliveries(&ev("Winback Award")).await;
    assert_eq!(rows.len(), 1);
    let expires = (chrono::Utc::now() + chrono::Duration::days(20))
        .format("%m/%d/%Y")
        .to_string();
    assert_eq!(rows[0]["fields"]["Winback Expiry Date"], expires.as_str());
    assert_eq!(rows[0]["fields"]["Points Current Activity"], "200");
    assert_eq!(rows[0]["email"], "ann@example.com");

    p.purchase("ann", "o3", 50.0).await;
    assert_eq!(p.available("ann").await, 10 + 50 + 200);
    let earned = p
        .deliveries(&format!("member=ann&{}", ev("Points Earned")))
        .await;
    assert_eq!(
        earned[0]["fields"]["Recent Activity Completed"],
        "Winback Bonus"
    );
    assert_eq!(earned[0]["fields"]["Points Current Activity"], "200");
    let (_, ledger) = p.get("/v1/members/ann/ledger").await;
    assert_eq!(
        (
            ledger["items"][0]["kind"].as_str(),
            ledger["items"][0]["points"].as_i64()
        ),
        (Some("bonus"), Some(200))
    );
    p.purchase("ann", "o4", 50.0).await;
    assert_eq!(p.available("ann").await, 310, "the offer closed when taken");
}

#[tokio::test]
async fn an_offer_lapses_after_its_validity_and_a_later_purchase_earns_no_bonus() {
    let app = TestApp::spawn().await;
    let p = program(&app).await;
    p.member("bob").await;
    p.purchase_at("bob", "o1", 10.0, 400).await;
    assert_eq!(
        p.run_job("winback", &days_from_now(-200)).await["offered"],
        1
    );
    let report = p.run_job("winback", &days_from_now(-100)).await;
    assert_eq!(
        (report["lapsed"].as_u64(), report["offered"].as_u64()),
        (Some(1), Some(0)),
        "still the same episode"
    );
    p.purchase("bob", "o2", 50.0).await;
    assert_eq!(p.available("bob").await, 60);
    let earned = p
        .deliveries(&format!("member=bob&{}", ev("Points Earned")))
        .await;
    assert!(
        earned
            .iter()
            .all(|r| r["fields"]["Recent Activity Completed"] != "Winback Bonus")
    );
    // The purchase started a new episode: inactive again, a new offer follows.
    assert_eq!(
        p.run_job("winback", &days_from_now(181)).await["offered"],
        1
    );
}
