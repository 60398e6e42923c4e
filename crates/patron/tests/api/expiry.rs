use crate::helpers::{TestApp, days_from_now, ev};
use serde_json::json;

#[tokio::test]
async fn inactivity_expiry_sends_the_30_and_7_day_reminders_then_expires_the_balance() {
    let app = TestApp::spawn().await;
    let p = app.program("Acme").await;
    p.put("/v1/settings", json!({"expiry": {"mode": "inactivity", "days": 365, "keeps_active": ["purchase"], "reminder_days": [30, 7]}})).await;
    p.member("ann").await;
    let before = chrono::Utc::now();
    p.purchase("ann", "o1", 100.0).await;
    let after = chrono::Utc::now();
    let expected_dates: Vec<String> = [before, after]
        .iter()
        .map(|t| {
            (*t + chrono::Duration::days(365))
                .format("%m/%d/%Y")
                .to_string()
        })
        .collect();

    assert_eq!(
        p.run_job("expiry-reminders", &days_from_now(300)).await["reminded"],
        0
    );
    assert_eq!(
        p.run_job("expiry-reminders", &days_from_now(336)).await["reminded"],
        1
    );
    assert_eq!(
        p.run_job("expiry-reminders", &days_from_now(337)).await["reminded"],
        0,
        "once per lead"
    );
    assert_eq!(
        p.run_job("expiry-reminders", &days_from_now(359)).await["reminded"],
        1
    );
    assert_eq!(
        p.run_job("expiry-reminders", &days_from_now(360)).await["reminded"],
        0
    );
    let rows = p
        .deliveries(&format!("member=ann&{}", ev("Points Expiration")))
        .await;
    assert_eq!(rows.len(), 2);
    for row in &rows {
        assert_eq!(row["fields"]["Points Current Activity"], "100");
        let date = row["fields"]["Points Expiry Date"]
            .as_str()
            .expect("date")
            .to_string();
        assert!(
            expected_dates.contains(&date),
            "{date} not in {expected_dates:?}"
        );
    }

    let report = p.run_job("expire-points", &days_from_now(364)).await;
    assert_eq!(report["points_expired"], 0);
    let report = p.run_job("expire-points", &days_from_now(366)).await;
    assert_eq!(
        (
            report["members"].as_u64(),
            report["points_expired"].as_i64()
        ),
        (Some(1), Some(100))
    );
    let points = p.points("ann").await;
    assert_eq!(
        (points["available"].as_i64(), points["expired"].as_i64()),
        (Some(0), Some(100))
    );
    let (_, ledger) = p.get("/v1/members/ann/ledger").await;
    assert_eq!(ledger["items"][0]["kind"], "expire");
    assert_eq!(ledger["items"][0]["points"], -100);
    assert_eq!(
        p.run_job("expire-points", &days_from_now(367)).await["points_expired"],
        0,
        "nothing twice"
    );
}

#[tokio::test]
async fn per_lot_expiry_takes_only_what_was_not_spent_and_never_expires_retroactively() {
    let app = TestApp::spawn().await;
    let p = app.program("Acme").await;
    let reward = p
        .reward(json!({"name": "$6 off", "points_cost": 60, "coupon": {"prefix": "SIX-"}}))
        .await;
    p.member("ann").await;
    // Earned while points never expired: the clock starts when expiry is turned on.
    p.purchase_at("ann", "o0", 50.0, 400).await;
    p.put(
        "/v1/settings",
        json!({"expiry": {"mode": "per_lot", "days": 30, "reminder_days": [7]}}),
    )
    .await;
    p.purchase("ann", "o1", 100.0).await;
    let (status, body) = p.redeem("ann", &reward).await;
    assert_eq!(status, reqwest::StatusCode::CREATED, "{body}");
    // The spend drew from the soonest-expiring lot first: all of o0 (50) and 10 of o1.
    let (_, ledger) = p.get("/v1/members/ann/ledger").await;
    let draws: Vec<i64> = ledger["items"][0]["draws"]
        .as_array()
        .expect("draws")
        .iter()
        .map(|d| d["points"].as_i64().unwrap_or(0))
        .collect();
    assert_eq!(draws, vec![50, 10]);

    assert_eq!(
        p.run_job("expire-points", &days_from_now(29)).await["points_expired"],
        0
    );
    let reminded = p.run_job("expiry-reminders", &days_from_now(25)).await;
    assert_eq!(reminded["reminded"], 1);
    let rows = p.deliveries(&ev("Points Expiration")).await;
    assert_eq!(
        rows[0]["fields"]["Points Current Activity"], "90",
        "only unspent points are announced"
    );

    let report = p.run_job("expire-points", &days_from_now(31)).await;
    assert_eq!(report["points_expired"], 90);
    let points = p.points("ann").await;
    assert_eq!(
        (
            points["available"].as_i64(),
            points["expired"].as_i64(),
            points["redeemed"].as_i64()
        ),
        (Some(0), Some(90), Some(60))
    );
}
