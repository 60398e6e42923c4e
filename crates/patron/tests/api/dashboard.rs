//! The members' dashboard API (`/v1/me/...`): what a member sees of their own account, the token rules
//! on every route, the redemption race, invitation limits, rate limits, the origin check, the hosted
//! page and translations.

use crate::helpers::{Program, TestApp, ev};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use patron::app::member_tokens::sign;
use reqwest::header::HeaderMap;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

fn in_minutes(m: i64) -> i64 {
    chrono::Utc::now().timestamp() + m * 60
}

const SHOP: &str = "https://shop.example.com";
const ELSEWHERE: &str = "https://elsewhere.example";

/// A member's browser: a member token, and optionally the page's origin and other headers.
struct Me<'a> {
    app: &'a TestApp,
    token: String,
    headers: Vec<(&'static str, String)>,
}

struct Answer {
    status: StatusCode,
    body: Value,
    headers: HeaderMap,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

impl<'a> Me<'a> {
    fn new(p: &Program<'a>, external_id: &str) -> Me<'a> {
        Me {
            app: p.app,
            token: sign(&p.member_token_secret, external_id, in_minutes(30)),
            headers: vec![],
        }
    }

    fn with(mut self, name: &'static str, value: &str) -> Me<'a> {
        self.headers.push((name, value.to_string()));
        self
    }

    async fn send(&self, method: Method, path: &str, body: Option<Value>) -> Answer {
        let mut req = self
            .app
            .client
            .request(method, format!("{}{path}", self.app.base))
            .bearer_auth(&self.token);
        for (name, value) in &self.headers {
            req = req.header(*name, value);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.expect("the server answers");
        let status = resp.status();
        let headers = resp.headers().clone();
        let text = resp.text().await.expect("a body");
        Answer {
            status,
            body: serde_json::from_str(&text).unwrap_or(Value::String(text)),
            headers,
        }
    }

    async fn get(&self, path: &str) -> Answer {
        self.send(Method::GET, path, None).await
    }

    async fn post(&self, path: &str, body: Value) -> Answer {
        self.send(Method::POST, path, Some(body)).await
    }

    async fn redeem(&self, reward: &str) -> Answer {
        self.post("/v1/me/redemptions", json!({"reward_id": reward}))
            .await
    }

    async fn invite(&self, emails: &[&str]) -> Answer {
        self.post("/v1/me/referral-invitations", json!({"emails": emails}))
            .await
    }
}

/// Asks again until `check` is satisfied, for limits that refill with time; fails after 30 s.
async fn eventually(what: &str, mut attempt: impl AsyncFnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !attempt().await {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

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

fn forged_tokens(p: &Program<'_>, member: &str) -> Vec<(&'static str, String)> {
    let good = sign(&p.member_token_secret, member, in_minutes(30));
    let mut parts = good.split('.');
    let (_, payload) = (parts.next(), parts.next().expect("payload"));
    let header = |alg: &str| URL_SAFE_NO_PAD.encode(format!(r#"{{"alg":"{alg}","typ":"JWT"}}"#));
    let hmac_as = |alg: &str| {
        let signed = format!("{}.{payload}", header(alg));
        let sig = patron::crypto::hmac_sha256(p.member_token_secret.as_bytes(), signed.as_bytes());
        format!("{signed}.{}", URL_SAFE_NO_PAD.encode(sig))
    };
    let tampered_payload = URL_SAFE_NO_PAD.encode(
        json!({"sub": "someone-else", "exp": in_minutes(30)})
            .to_string()
            .as_bytes(),
    );
    let signature = good.rsplit('.').next().expect("signature");
    vec![
        (
            "signed with a guessed secret",
            sign("guess", member, in_minutes(30)),
        ),
        (
            "expired",
            sign(&p.member_token_secret, member, in_minutes(-1)),
        ),
        (
            "valid for more than a day",
            sign(&p.member_token_secret, member, in_minutes(25 * 60)),
        ),
        ("alg none", format!("{}.{payload}.", header("none"))),
        ("alg swapped to HS512", hmac_as("HS512")),
        ("alg swapped to RS256", hmac_as("RS256")),
        (
            "payload swapped under the signature",
            format!("{}.{tampered_payload}.{signature}", header("HS256")),
        ),
        ("not a JWT", "not-a-jwt".to_string()),
        ("empty", String::new()),
    ]
}

fn member_routes(reward: &str) -> Vec<(Method, &'static str, Option<Value>)> {
    vec![
        (Method::GET, "/v1/me", None),
        (Method::GET, "/v1/me/dashboard", None),
        (Method::GET, "/v1/me/balance", None),
        (Method::GET, "/v1/me/tier", None),
        (Method::GET, "/v1/me/history", None),
        (Method::GET, "/v1/me/rewards", None),
        (Method::GET, "/v1/me/referral", None),
        (
            Method::POST,
            "/v1/me/redemptions",
            Some(json!({"reward_id": reward})),
        ),
        (
            Method::POST,
            "/v1/me/referral-invitations",
            Some(json!({"emails": ["friend@example.com"]})),
        ),
        (
            Method::PUT,
            "/v1/me/preferences",
            Some(json!({"opted_out": true})),
        ),
    ]
}

#[tokio::test]
async fn every_member_route_refuses_forged_expired_alg_swapped_and_other_program_tokens() {
    let app = TestApp::spawn().await;
    let acme = app.program("Acme").await;
    let globex = app.program("Globex").await;
    let reward = acme
        .reward(json!({"name": "$5 off", "points_cost": 10, "coupon": {"prefix": "F-"}}))
        .await;
    acme.member("ann").await;
    acme.purchase("ann", "o1", 100.0).await;
    globex.member("ann").await;

    let mut tokens = forged_tokens(&acme, "ann");
    tokens.push(("no token at all", String::new()));
    for (method, path, body) in member_routes(&reward) {
        for (what, token) in &tokens {
            let mut req = app
                .client
                .request(method.clone(), format!("{}{path}", app.base));
            if *what != "no token at all" {
                req = req.bearer_auth(token);
            }
            if let Some(b) = &body {
                req = req.json(b);
            }
            let resp = req.send().await.expect("an answer");
            assert_eq!(
                resp.status(),
                StatusCode::UNAUTHORIZED,
                "{method} {path} with a token {what}"
            );
            let problem: Value = resp.json().await.expect("a problem document");
            assert_eq!(problem["code"], "unauthorized");
        }
        // Acme's token presented to Globex's dashboard.
        let cross = Me::new(&acme, "ann").with("patron-program", &globex.id);
        let answer = cross.send(method.clone(), path, body.clone()).await;
        assert_eq!(
            answer.status,
            StatusCode::UNAUTHORIZED,
            "{method} {path} with another program's token: {}",
            answer.body
        );
    }
    let points = acme.points("ann").await;
    assert_eq!(
        points["available"], 100,
        "no refused request spent anything"
    );
    assert!(
        acme.deliveries(&ev("Referral Friend Invitation"))
            .await
            .is_empty()
    );
    let (_, ann) = acme.get("/v1/members/ann").await;
    assert_eq!(ann["opted_out"], false);

    let own = Me::new(&acme, "ann").with("patron-program", &acme.id);
    assert_eq!(own.get("/v1/me/balance").await.status, StatusCode::OK);
}

#[tokio::test]
async fn a_token_reaches_its_own_programs_member_never_the_namesake_in_another_program() {
    let app = TestApp::spawn().await;
    let acme = app.program("Acme").await;
    let globex = app.program("Globex").await;
    for (p, amount) in [(&acme, 100.0), (&globex, 500.0)] {
        p.member("cust-7").await;
        p.purchase("cust-7", "o1", amount).await;
    }
    let from_globex = Me::new(&globex, "cust-7");
    assert_eq!(
        from_globex.get("/v1/me/balance").await.body["available"],
        500
    );
    let acme_token_at_globex = Me::new(&acme, "cust-7").with("patron-program", &globex.id);
    let refused = acme_token_at_globex.get("/v1/me/balance").await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
    assert!(
        refused.body["detail"]
            .as_str()
            .is_some_and(|d| d.contains("another program")),
        "{}",
        refused.body
    );
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

#[tokio::test]
async fn redemptions_past_a_members_allowance_are_refused_until_it_refills() {
    let app = TestApp::spawn_with(&[
        ("PATRON_REDEMPTION_LIMIT_PER_MEMBER", "1"),
        ("PATRON_REDEMPTION_LIMIT_PER_IP", "100"),
        ("PATRON_RATE_LIMIT_WINDOW_MS", "2000"),
    ])
    .await;
    let p = app.program("Acme").await;
    let reward = p
        .reward(json!({"name": "$1 off", "points_cost": 10, "coupon": {"prefix": "ONE-"}}))
        .await;
    p.member("ann").await;
    p.purchase("ann", "o1", 100.0).await;
    let me = Me::new(&p, "ann");

    assert_eq!(me.redeem(&reward).await.status, StatusCode::CREATED);
    let refused = me.redeem(&reward).await;
    assert_eq!(
        refused.status,
        StatusCode::TOO_MANY_REQUESTS,
        "{}",
        refused.body
    );
    assert_eq!(refused.body["code"], "rate_limited");
    assert_eq!(
        refused.header("content-type"),
        Some("application/problem+json")
    );
    let wait: u64 = refused
        .header("retry-after")
        .and_then(|v| v.parse().ok())
        .expect("Retry-After in seconds");
    assert!((1..=2).contains(&wait), "{wait}");
    assert_eq!(p.available("ann").await, 90, "the refusal cost nothing");
    assert_eq!(
        Me::new(&p, "bob").redeem(&reward).await.status,
        StatusCode::NOT_FOUND,
        "another member has an allowance of their own"
    );

    eventually("the allowance to refill", async || {
        me.redeem(&reward).await.status == StatusCode::CREATED
    })
    .await;
    assert_eq!(p.available("ann").await, 80);
}

#[tokio::test]
async fn invitations_are_limited_per_client_address_across_members() {
    let app = TestApp::spawn_with(&[
        ("PATRON_INVITATION_LIMIT_PER_MEMBER", "100"),
        ("PATRON_INVITATION_LIMIT_PER_IP", "2"),
        ("PATRON_RATE_LIMIT_WINDOW_MS", "2000"),
    ])
    .await;
    let p = app.program("Acme").await;
    p.member("ann").await;
    p.member("bob").await;
    let ann = Me::new(&p, "ann");
    let bob = Me::new(&p, "bob");

    let sent = ann.invite(&["f1@example.com", "f2@example.com"]).await;
    assert_eq!(sent.status, StatusCode::CREATED);
    let refused = bob.invite(&["f3@example.com"]).await;
    assert_eq!(
        refused.status,
        StatusCode::TOO_MANY_REQUESTS,
        "{}",
        refused.body
    );
    assert!(
        refused.body["detail"]
            .as_str()
            .is_some_and(|d| d.contains("per client address")),
        "{}",
        refused.body
    );
    assert!(refused.header("retry-after").is_some());
    assert_eq!(
        p.deliveries(&ev("Referral Friend Invitation")).await.len(),
        2
    );
    eventually("the address's allowance to refill", async || {
        bob.invite(&["f3@example.com"]).await.status == StatusCode::CREATED
    })
    .await;
}

#[tokio::test]
async fn store_pages_read_member_answers_only_from_the_origins_their_program_allows() {
    let app = TestApp::spawn().await;
    let acme = app.program("Acme").await;
    let globex = app.program("Globex").await;
    let reward = acme
        .reward(json!({"name": "$5 off", "points_cost": 10, "coupon": {"prefix": "F-"}}))
        .await;
    acme.member("ann").await;
    acme.purchase("ann", "o1", 100.0).await;
    let (status, body) = acme
        .put(
            "/v1/settings",
            json!({"dashboard": {"allowed_origins": [SHOP, "http://localhost:3000"]}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    globex
        .put(
            "/v1/settings",
            json!({"dashboard": {"allowed_origins": [ELSEWHERE]}}),
        )
        .await;

    let preflight = |origin: &'static str| {
        app.client
            .request(Method::OPTIONS, format!("{}/v1/me/redemptions", app.base))
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header(
                "access-control-request-headers",
                "authorization, content-type, idempotency-key, patron-program",
            )
            .send()
    };
    let ok = preflight(SHOP).await.expect("an answer");
    assert_eq!(ok.status(), StatusCode::NO_CONTENT);
    assert_eq!(ok.headers()["access-control-allow-origin"], SHOP);
    let allowed_headers = ok.headers()["access-control-allow-headers"]
        .to_str()
        .unwrap_or_default();
    for h in [
        "authorization",
        "content-type",
        "idempotency-key",
        "patron-program",
    ] {
        assert!(allowed_headers.contains(h), "{allowed_headers}");
    }
    assert!(
        ok.headers()
            .get("access-control-allow-credentials")
            .is_none()
    );
    let unknown = preflight("https://evil.example").await.expect("an answer");
    assert_eq!(unknown.status(), StatusCode::FORBIDDEN);
    assert!(
        unknown
            .headers()
            .get("access-control-allow-origin")
            .is_none()
    );

    let at_shop = Me::new(&acme, "ann").with("origin", SHOP);
    let read = at_shop.get("/v1/me/dashboard").await;
    assert_eq!(read.status, StatusCode::OK);
    assert_eq!(read.header("access-control-allow-origin"), Some(SHOP));
    assert!(read.header("vary").is_some_and(|v| v.contains("origin")));
    let local = Me::new(&acme, "ann").with("origin", "http://localhost:3000");
    assert_eq!(
        local
            .get("/v1/me")
            .await
            .header("access-control-allow-origin"),
        Some("http://localhost:3000")
    );

    // Globex allows ELSEWHERE, Acme does not: an Acme token from there changes and shows nothing.
    let elsewhere = Me::new(&acme, "ann").with("origin", ELSEWHERE);
    let refused = elsewhere.redeem(&reward).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.body);
    assert_eq!(refused.body["code"], "origin_not_allowed");
    assert!(refused.header("access-control-allow-origin").is_none());
    assert_eq!(acme.available("ann").await, 100);

    let expired = Me {
        token: sign(&acme.member_token_secret, "ann", in_minutes(-5)),
        ..Me::new(&acme, "ann").with("origin", SHOP)
    };
    let answer = expired.get("/v1/me/dashboard").await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        answer.header("access-control-allow-origin"),
        Some(SHOP),
        "the widget can tell an expired session from a network failure"
    );

    let no_origin = Me::new(&acme, "ann").get("/v1/me").await;
    assert_eq!(
        no_origin.status,
        StatusCode::OK,
        "servers and tools send no Origin"
    );
    assert!(no_origin.header("access-control-allow-origin").is_none());
    let same_origin = Me::new(&acme, "ann").with("origin", &app.base);
    assert_eq!(
        same_origin.redeem(&reward).await.status,
        StatusCode::CREATED,
        "the hosted page is Patron's own origin"
    );
}

#[tokio::test]
async fn allowed_origins_are_validated_and_other_settings_keep_their_shape() {
    let app = TestApp::spawn().await;
    let p = app.program("Acme").await;
    let (status, body) = p
        .put(
            "/v1/settings",
            json!({"dashboard": {"allowed_origins": ["https://shop.example.com/", "shop.example.com"]}}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let fields: Vec<&str> = body["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .filter_map(|e| e["field"].as_str())
        .collect();
    assert_eq!(
        fields,
        vec![
            "dashboard.allowed_origins[0]",
            "dashboard.allowed_origins[1]"
        ]
    );
    let (status, _) = p
        .put(
            "/v1/settings",
            json!({"dashboard": {"allowed_origins": [SHOP]}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, settings) = p
        .put("/v1/settings", json!({"digest": {"day_of_month": 3}}))
        .await;
    assert_eq!(
        status,
        StatusCode::OK,
        "a body without the section still works"
    );
    assert_eq!(settings["dashboard"]["allowed_origins"], json!([SHOP]));
}

#[tokio::test]
async fn the_hosted_page_serves_the_widget_shell_with_the_token_kept_out_of_the_url() {
    let app = TestApp::spawn().await;
    let p = app.program("Acme <Outdoor>").await;
    let resp = app
        .client
        .get(format!("{}/m/{}", app.base, p.id))
        .send()
        .await
        .expect("an answer");
    assert_eq!(resp.status(), StatusCode::OK);
    let headers = resp.headers().clone();
    assert!(
        headers["content-type"]
            .to_str()
            .unwrap_or_default()
            .starts_with("text/html")
    );
    assert!(
        headers["content-security-policy"]
            .to_str()
            .unwrap_or_default()
            .contains("script-src 'self'")
    );
    assert_eq!(headers["referrer-policy"], "no-referrer");
    let html = resp.text().await.expect("html");
    assert!(
        html.contains(&format!(r#"data-patron-program="{}""#, p.id)),
        "{html}"
    );
    assert!(html.contains(r#"data-patron-token-from="fragment""#));
    assert!(html.contains("Acme &lt;Outdoor&gt;"), "names are escaped");

    let missing = app
        .client
        .get(format!("{}/m/prg_nope", app.base))
        .send()
        .await
        .expect("an answer");
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    for (asset, kind) in [
        ("widget.js", "text/javascript"),
        ("widget.css", "text/css"),
        ("member-page.css", "text/css"),
    ] {
        let resp = app
            .client
            .get(format!("{}/assets/{asset}", app.base))
            .send()
            .await
            .expect("an answer");
        assert_eq!(resp.status(), StatusCode::OK, "{asset}");
        assert!(
            resp.headers()["content-type"]
                .to_str()
                .unwrap_or_default()
                .starts_with(kind)
        );
    }
}

#[tokio::test]
async fn the_dashboard_speaks_the_members_language_with_english_for_missing_words() {
    let locales = tempfile::tempdir().expect("temp dir");
    std::fs::create_dir_all(locales.path().join("dashboard")).expect("folder");
    std::fs::write(
        locales.path().join("dashboard/fr.json"),
        r#"{"rewards.title": "Récompenses", "balance.expiry": "{points} expirent le {date}"}"#,
    )
    .expect("a French file");
    let dir = locales.path().display().to_string();
    let app = TestApp::spawn_with(&[("PATRON_LOCALES_DIR", &dir)]).await;
    let p = app.program("Acme").await;
    for (id, language) in [("fr", "French"), ("es", "Spanish"), ("xx", "Klingon")] {
        p.put(
            &format!("/v1/members/{id}"),
            json!({"email": format!("{id}@example.com"), "preferred_language": language}),
        )
        .await;
    }
    let words = async |id: &str| Me::new(&p, id).get("/v1/me/dashboard").await.body;
    let french = words("fr").await;
    assert_eq!(french["language"], "fr");
    assert_eq!(french["messages"]["rewards.title"], "Récompenses");
    assert_eq!(
        french["messages"]["referral.copy"], "Copy link",
        "English fills the gaps"
    );
    let spanish = words("es").await;
    assert_eq!(spanish["language"], "es");
    assert_eq!(spanish["messages"]["referral.copy"], "Copiar enlace");
    assert_eq!(words("xx").await["language"], "en");
}

#[tokio::test]
async fn the_member_routes_are_in_the_openapi_document() {
    let app = TestApp::spawn().await;
    let (_, doc) = app.request(Method::GET, "/openapi.json", None, None).await;
    for (path, method) in [
        ("/v1/me/dashboard", "get"),
        ("/v1/me/balance", "get"),
        ("/v1/me/tier", "get"),
        ("/v1/me/history", "get"),
        ("/v1/me/rewards", "get"),
        ("/v1/me/redemptions", "post"),
        ("/v1/me/referral", "get"),
        ("/v1/me/referral-invitations", "post"),
        ("/v1/me/preferences", "put"),
    ] {
        let op = &doc["paths"][path][method];
        assert!(op.is_object(), "{method} {path}");
        assert!(
            op["security"][0]["member_token"].is_array(),
            "{method} {path} takes a member token"
        );
    }
}
