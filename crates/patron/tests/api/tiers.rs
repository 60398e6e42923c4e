use crate::helpers::{TestApp, days_from_now, ev};
use serde_json::json;

fn tiers(window_days: Option<u32>) -> serde_json::Value {
    json!({"tiers": {"window_days": window_days, "qualifying": ["signup", "purchase"],
        "levels": [{"name": "Bronze", "threshold": 0}, {"name": "Silver", "threshold": 500},
                   {"name": "Gold", "threshold": 2000}]}})
}

#[tokio::test]
async fn climbing_two_tiers_at_once_records_one_tier_upgrade() {
    let app = TestApp::spawn().await;
    let p = app.program("Acme").await;
    p.put("/v1/settings", tiers(None)).await;
    p.member("ann").await;
    p.purchase("ann", "o1", 100.0).await;
    let (_, m) = p.get("/v1/members/ann").await;
    assert_eq!(m["tier"], "Bronze");
    assert!(
        p.deliveries(&ev("Tier Upgrade")).await.is_empty(),
        "entering the base tier is no upgrade"
    );

    p.purchase("ann", "o2", 2400.0).await;
    let rows = p.deliveries(&ev("Tier Upgrade")).await;
    assert_eq!(rows.len(), 1, "one event even when Silver is skipped");
    let f = &rows[0]["fields"];
    assert_eq!(f["Current Tier"], "Gold");
    assert_eq!(
        f["Points Expiry Date"], "",
        "points never expire under the default settings"
    );
    assert_eq!(f["Next Tier"], "");
    let (_, m) = p.get("/v1/members/ann").await;
    assert_eq!(
        (m["tier"].as_str(), m["next_tier"].as_str()),
        (Some("Gold"), None)
    );
}

#[tokio::test]
async fn the_tier_review_downgrades_without_an_event_once_points_leave_the_rolling_window() {
    let app = TestApp::spawn().await;
    let p = app.program("Acme").await;
    p.put("/v1/settings", tiers(Some(365))).await;
    p.member("ann").await;
    p.purchase("ann", "o1", 600.0).await;
    p.member("bob").await;
    p.purchase("bob", "o2", 2100.0).await;
    let (_, m) = p.get("/v1/members/ann").await;
    assert_eq!(
        (m["tier"].as_str(), m["qualifying_points"].as_i64()),
        (Some("Silver"), Some(600))
    );
    let upgrades = p.deliveries(&ev("Tier Upgrade")).await.len();

    let report = p.run_job("tier-review", &days_from_now(1)).await;
    assert_eq!(
        (report["reviewed"].as_u64(), report["downgraded"].as_u64()),
        (Some(2), Some(0))
    );

    // A return lowers the total; the review settles the tier.
    p.post(
        "/v1/members/bob/returns",
        json!({"order_id": "o2", "returned_amount": 1000}),
    )
    .await;
    let report = p.run_job("tier-review", &days_from_now(2)).await;
    assert_eq!(report["downgraded"], 1);
    let (_, m) = p.get("/v1/members/bob").await;
    assert_eq!(m["tier"], "Silver");

    let report = p.run_job("tier-review", &days_from_now(400)).await;
    assert_eq!(
        (report["reviewed"].as_u64(), report["downgraded"].as_u64()),
        (Some(2), Some(2))
    );
    for who in ["ann", "bob"] {
        let (_, m) = p.get(&format!("/v1/members/{who}")).await;
        assert_eq!(
            (m["tier"].as_str(), m["qualifying_points"].as_i64()),
            (Some("Bronze"), Some(0)),
            "{who}"
        );
    }
    assert_eq!(
        p.deliveries(&ev("Tier Upgrade")).await.len(),
        upgrades,
        "downgrades raise no event"
    );
}
