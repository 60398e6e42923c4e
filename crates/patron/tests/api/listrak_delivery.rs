//! The delivery worker and the Listrak channel together, against the real emulator over HTTP.

use crate::helpers::{Program, TestApp};
use listrak_sim::{SimConfig, SimHandle, spawn_for_tests};
use reqwest::StatusCode;
use serde_json::{Value, json};

const CLIENT_ID: &str = "patron-test";
const CLIENT_SECRET: &str = "s3cret-of-the-integration";

async fn sim() -> SimHandle {
    spawn_for_tests(SimConfig::default().with_integration(CLIENT_ID, CLIENT_SECRET)).await
}

async fn app_for(sim: &SimHandle, extra: &[(&str, &str)]) -> TestApp {
    let (auth, api) = (sim.auth_url(), sim.api_url());
    let mut vars = vec![
        ("PATRON_LISTRAK_AUTH_URL", auth.as_str()),
        ("PATRON_LISTRAK_API_URL", api.as_str()),
        ("PATRON_RETRY_BASE_MS", "1"),
        ("PATRON_RETRY_MAX_MS", "50"),
        ("PATRON_HOLD_PROBE_MS", "100"),
        ("PATRON_DELIVERY_CONCURRENCY", "32"),
    ];
    vars.extend_from_slice(extra);
    TestApp::spawn_with(&vars).await
}

async fn connect(p: &Program<'_>) -> Value {
    let (status, body) = p
        .put(
            "/v1/integrations/listrak",
            json!({"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

async fn sim_json(
    sim: &SimHandle,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> Value {
    let mut req = reqwest::Client::new().request(method, format!("{}{path}", sim.base_url));
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await.expect("the emulator answers");
    resp.json().await.unwrap_or(Value::Null)
}

async fn raised(sim: &SimHandle) -> Vec<Value> {
    sim_json(sim, reqwest::Method::GET, "/_sim/raised", None)
        .await
        .as_array()
        .cloned()
        .unwrap_or_default()
}

async fn faults(sim: &SimHandle, faults: Value) {
    sim_json(sim, reqwest::Method::POST, "/_sim/faults", Some(faults)).await;
}

async fn statuses(p: &Program<'_>, filter: &str) -> std::collections::BTreeMap<String, usize> {
    let mut counts = std::collections::BTreeMap::new();
    let mut cursor: Option<String> = None;
    loop {
        let q = cursor
            .as_ref()
            .map(|c| format!("{filter}&limit=500&cursor={c}"))
            .unwrap_or_else(|| format!("{filter}&limit=500"));
        let (_, page) = p.get(&format!("/v1/deliveries?{q}")).await;
        for d in page["items"].as_array().cloned().unwrap_or_default() {
            *counts
                .entry(d["status"].as_str().unwrap_or("?").to_string())
                .or_default() += 1;
        }
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => return counts,
        }
    }
}

#[tokio::test]
async fn a_purchase_raises_points_earned_on_the_members_contact_with_exact_fields() {
    let sim = sim().await;
    let app = app_for(&sim, &[]).await;
    let p = app.program("Acme").await;
    connect(&p).await;
    p.put(
        "/v1/members/ann",
        json!({"email": "ann@example.com", "name": "Ann Lee", "birth_date": "1991-03-26"}),
    )
    .await;
    p.purchase("ann", "o-1", 42.0).await;
    app.deliver_all().await;

    let events: Vec<Value> = raised(&sim)
        .await
        .into_iter()
        .filter(|r| r["event_name"] == "Points Earned")
        .collect();
    assert_eq!(events.len(), 1, "{events:?}");
    let e = &events[0];
    assert_eq!(e["email"], "ann@example.com");
    assert_eq!(e["fields"]["Points Current Activity"], "42");
    assert_eq!(e["fields"]["Recent Activity Completed"], "Made a purchase");
    assert_eq!(e["fields"]["Points Available"], "42");
    assert_eq!(e["fields"]["User Name"], "Ann Lee");
    assert_eq!(e["fields"]["Date of Birth"], "03/26/1991");
    assert!(
        app.mail_files().is_empty(),
        "no native mail once Listrak is connected"
    );
}

#[tokio::test]
async fn connecting_listrak_mid_stream_sends_each_notification_once_by_one_channel() {
    let sim = sim().await;
    let app = app_for(&sim, &[]).await;
    let p = app.program("Acme").await;
    p.member("m1").await;
    p.purchase("m1", "before-1", 10.0).await;
    p.purchase("m1", "before-2", 20.0).await;
    connect(&p).await;
    p.purchase("m1", "after-1", 30.0).await;
    app.deliver_all().await;

    assert_eq!(
        app.mail_files().len(),
        2,
        "the two recorded before the switch went by mail"
    );
    let events: Vec<Value> = raised(&sim)
        .await
        .into_iter()
        .filter(|r| r["event_name"] == "Points Earned")
        .collect();
    assert_eq!(
        events.len(),
        1,
        "the one recorded after the switch went to Listrak"
    );
    assert_eq!(events[0]["fields"]["Points Current Activity"], "30");
    let (_, page) = p.get("/v1/deliveries?event=Points%20Earned").await;
    let channels: Vec<&str> = page["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|d| d["channel"].as_str())
        .collect();
    assert_eq!(channels, vec!["listrak", "native", "native"]);
}

#[tokio::test]
async fn with_injected_faults_a_thousand_notifications_end_delivered_or_counted_and_none_is_lost() {
    let sim = sim().await;
    let app = app_for(&sim, &[("PATRON_RETRY_ATTEMPTS", "40")]).await;
    let p = app.program("Acme").await;
    connect(&p).await;
    for i in 0..100 {
        p.member(&format!("m{i}")).await;
    }
    let raised_before = raised(&sim).await.len();
    faults(
        &sim,
        json!({"error_rate": 0.3, "error_status": 500, "drop_after_commit_rate": 0.05}),
    )
    .await;
    let buys: Vec<(String, String)> = (0..1000)
        .map(|i| (format!("m{}", i % 100), format!("o-{i}")))
        .collect();
    for chunk in buys.chunks(50) {
        futures::future::join_all(chunk.iter().map(|(m, o)| p.purchase(m, o, 5.0))).await;
    }
    app.deliver_all().await;
    faults(
        &sim,
        json!({"error_rate": 0.0, "drop_after_commit_rate": 0.0}),
    )
    .await;
    app.deliver_all().await;

    let counts = statuses(&p, "event=Points%20Earned").await;
    let delivered = counts.get("delivered").copied().unwrap_or(0);
    let unconfirmed = counts.get("unconfirmed").copied().unwrap_or(0);
    assert_eq!(delivered + unconfirmed, 1000, "{counts:?}");
    assert!(
        unconfirmed > 0,
        "drop-after-commit cases are counted as unconfirmed: {counts:?}"
    );
    let earned = raised(&sim)
        .await
        .into_iter()
        .skip(raised_before)
        .filter(|r| r["event_name"] == "Points Earned")
        .count();
    assert_eq!(
        earned, 1000,
        "each notification raised exactly once: delivered ones once, dropped-after-commit ones once"
    );
}

#[tokio::test]
async fn a_paused_integration_holds_deliveries_and_releases_them_when_fixed() {
    let sim = sim().await;
    let app = app_for(&sim, &[]).await;
    let p = app.program("Acme").await;
    connect(&p).await;
    p.member("m1").await;
    faults(&sim, json!({"paused": true})).await;
    p.purchase("m1", "o-1", 10.0).await;
    app.deliver_all().await;
    let (_, page) = p.get("/v1/deliveries?event=Points%20Earned").await;
    assert_eq!(
        page["items"][0]["status"], "pending",
        "held, not dead: {page}"
    );
    assert_eq!(
        page["items"][0]["attempts"], 0,
        "holding spends no attempts"
    );

    faults(&sim, json!({"paused": false})).await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        app.deliver_all().await;
        let (_, page) = p.get("/v1/deliveries?event=Points%20Earned").await;
        if page["items"][0]["status"] == "delivered" {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the hold was never lifted: {page}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(
        raised(&sim)
            .await
            .iter()
            .filter(|r| r["event_name"] == "Points Earned")
            .count(),
        1
    );
}

#[tokio::test]
async fn one_contacts_events_arrive_in_order_under_concurrency_and_latency() {
    let sim = sim().await;
    let app = app_for(&sim, &[]).await;
    let p = app.program("Acme").await;
    connect(&p).await;
    for m in ["a", "b", "c", "d"] {
        p.member(m).await;
    }
    for i in 1..=10 {
        for m in ["a", "b", "c", "d"] {
            p.purchase(m, &format!("{m}-{i}"), 1.0).await;
        }
    }
    faults(
        &sim,
        json!({"latency_ms": 5, "error_rate": 0.2, "error_status": 503}),
    )
    .await;
    app.deliver_all().await;
    faults(&sim, json!({"latency_ms": 0, "error_rate": 0.0})).await;
    app.deliver_all().await;
    for m in ["a", "b", "c", "d"] {
        let email = format!("{m}@example.com");
        let balances: Vec<i64> = raised(&sim)
            .await
            .into_iter()
            .filter(|r| r["email"] == email.as_str() && r["event_name"] == "Points Earned")
            .filter_map(|r| {
                r["fields"]["Points Available"]
                    .as_str()
                    .and_then(|v| v.parse().ok())
            })
            .collect();
        assert_eq!(
            balances,
            (1..=10).collect::<Vec<i64>>(),
            "{m}'s events in recorded order"
        );
    }
}

/// The raised events of one name, in order.
fn named<'a>(raised: &'a [Value], event: &str) -> Vec<&'a Value> {
    raised.iter().filter(|r| r["event_name"] == event).collect()
}

#[tokio::test]
async fn every_one_of_the_ten_events_reaches_listrak_on_the_right_contact_with_its_fields() {
    let sim = sim().await;
    let app = app_for(&sim, &[]).await;
    let p = app.program("Acme").await;
    let (status, body) = p
        .put("/v1/settings", json!({
            "tiers": {"levels": [{"name": "Bronze", "threshold": 0}, {"name": "Silver", "threshold": 500}, {"name": "Gold", "threshold": 2000}]},
            "expiry": {"mode": "inactivity", "days": 365, "keeps_active": ["purchase"], "reminder_days": [30]},
            "winback": {"enabled": true, "inactive_days": 180, "bonus_points": 200, "validity_days": 30},
            "referral": {"base_url": "https://shop.example.com/", "min_purchase": 50}
        }))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    connect(&p).await;
    p.put(
        "/v1/members/ann",
        json!({"email": "ann@example.com", "name": "Ann Lee"}),
    )
    .await;
    p.purchase("ann", "o-1", 600.0).await;
    let reward = p.reward(json!({"name": "$10 off", "points_cost": 100, "coupon": {"prefix": "SAVE10-"}, "active": true})).await;
    let (_, redeemed) = p.redeem("ann", &reward).await;
    let (_, ann) = p.get("/v1/members/ann").await;
    let code = ann["referral_code"].as_str().expect("code").to_string();
    p.post(
        "/v1/members/ann/referral-invitations",
        json!({"emails": ["cleo@example.com"]}),
    )
    .await;
    let (_, claim) = p
        .post(
            "/v1/referrals/claims",
            json!({"referral_code": code, "email": "cleo@example.com", "name": "Cleo Park"}),
        )
        .await;
    p.post(
        "/v1/referrals/claims",
        json!({"referral_code": code, "email": "ann@example.com", "name": "Ann"}),
    )
    .await;
    p.put(
        "/v1/members/cleo",
        json!({"email": "cleo@example.com", "name": "Cleo Park"}),
    )
    .await;
    p.purchase("cleo", "o-2", 80.0).await;
    p.run_job("eligible-rewards", &crate::helpers::days_from_now(0))
        .await;
    p.run_job("winback", &crate::helpers::days_from_now(200))
        .await;
    p.run_job("expiry-reminders", &crate::helpers::days_from_now(340))
        .await;
    app.deliver_all().await;

    let all = raised(&sim).await;
    let one = |event: &str, email: &str| -> Value {
        let found: Vec<&Value> = named(&all, event)
            .into_iter()
            .filter(|r| r["email"] == email)
            .collect();
        assert!(!found.is_empty(), "{event} for {email} not raised: {all:?}");
        found[0]["fields"].clone()
    };
    let f = one("Points Earned", "ann@example.com");
    assert_eq!(
        (
            f["Points Current Activity"].as_str(),
            f["Recent Activity Completed"].as_str()
        ),
        (Some("600"), Some("Made a purchase"))
    );
    let f = one("Tier Upgrade", "ann@example.com");
    assert_eq!(f["Current Tier"], "Silver");
    let f = one("Default Coupon Reward", "ann@example.com");
    assert_eq!(f["Redeemed Reward Code"], redeemed["code"]);
    assert_eq!(
        (
            f["Redeemed Reward Name"].as_str(),
            f["Reward Points Used"].as_str()
        ),
        (Some("$10 off"), Some("100"))
    );
    let f = one("Referral Friend Invitation", "cleo@example.com");
    assert_eq!(
        (
            f["Referred By"].as_str(),
            f["Referrer Email"].as_str(),
            f["Referral Code"].as_str()
        ),
        (
            Some("Ann Lee"),
            Some("ann@example.com"),
            Some(code.as_str())
        )
    );
    assert!(
        f.get("Points Available").is_none_or(|v| v == ""),
        "a friend never gets the referrer's profile: {f}"
    );
    let f = one("Referred Friend Incentive", "cleo@example.com");
    assert_eq!(f["Redeemed Reward Code"], claim["coupon_code"]);
    let f = one(
        "Not eligible for Referred Friend Incentive",
        "ann@example.com",
    );
    assert_eq!(f["Referral Code"], code.as_str());
    let f = one("Referral Coupon Award", "ann@example.com");
    assert!(
        f["Redeemed Reward Code"]
            .as_str()
            .is_some_and(|c| c.starts_with("THANKS-")),
        "{f}"
    );
    let f = one("Eligible Rewards", "ann@example.com");
    assert_eq!(f["Eligible Rewards"], "$10 off");
    let f = one("Winback Award", "ann@example.com");
    assert_eq!(f["Points Current Activity"], "200");
    let f = one("Points Expiration", "ann@example.com");
    assert!(
        f["Points Expiry Date"]
            .as_str()
            .is_some_and(|d| d.len() == 10),
        "{f}"
    );
    let names: std::collections::BTreeSet<&str> = all
        .iter()
        .filter_map(|r| r["event_name"].as_str())
        .collect();
    assert_eq!(names.len(), 10, "{names:?}");
}
