use crate::helpers::{TestApp, ev};
use serde_json::json;

#[tokio::test]
async fn the_digest_run_twice_in_a_month_records_one_eligible_rewards_per_member() {
    let app = TestApp::spawn().await;
    let p = app.program("Acme").await;
    p.put("/v1/settings", json!({"digest": {"day_of_month": 1}}))
        .await;
    p.reward(json!({"name": "$5 off", "points_cost": 100, "coupon": {"prefix": "FIVE-"}}))
        .await;
    p.reward(
        json!({"name": "Retired", "points_cost": 10, "active": false, "coupon": {"prefix": "R-"}}),
    )
    .await;
    for (who, amount) in [("ann", 150.0), ("bob", 50.0), ("cy", 300.0), ("dee", 300.0)] {
        p.member(who).await;
        p.purchase(who, &format!("o-{who}"), amount).await;
    }
    p.put("/v1/members/cy", json!({"opted_out": true})).await;
    p.post("/v1/members/dee/block", json!({})).await;

    let first = p.run_job("eligible-rewards", "2026-06-01T08:00:00Z").await;
    assert_eq!(
        (first["eligible"].as_u64(), first["recorded"].as_u64()),
        (Some(1), Some(1))
    );
    let again = p.run_job("eligible-rewards", "2026-06-01T20:00:00Z").await;
    assert_eq!(again["recorded"], 0);
    let rows = p.deliveries(&ev("Eligible Rewards")).await;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["email"], "ann@example.com");
    let f = &rows[0]["fields"];
    assert_eq!(f["Eligible Rewards Count"], "1");
    assert_eq!(f["Eligible Rewards"], "$5 off");
    assert_eq!(f["Points Available"], "150");
    assert!(
        f.get("Points Current Activity").is_none(),
        "common fields only: {f}"
    );

    let next_month = p.run_job("eligible-rewards", "2026-07-01T08:00:00Z").await;
    assert_eq!(next_month["recorded"], 1);
}
