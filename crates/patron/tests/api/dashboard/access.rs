//! Who may use the member routes: token rules on every route, programs kept apart, the origins
//! store pages call from, and the rate limits.

use super::*;

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

/// Ann, a member of `p` with 100 points, and the id of a 10-point reward she can afford.
async fn ann_with_points_and_a_reward(p: &Program<'_>) -> String {
    let reward = p
        .reward(json!({"name": "$5 off", "points_cost": 10, "coupon": {"prefix": "F-"}}))
        .await;
    p.member("ann").await;
    p.purchase("ann", "o1", 100.0).await;
    reward
}

#[tokio::test]
async fn every_member_route_refuses_forged_expired_alg_swapped_and_other_program_tokens() {
    let app = TestApp::spawn().await;
    let acme = app.program("Acme").await;
    let globex = app.program("Globex").await;
    let reward = ann_with_points_and_a_reward(&acme).await;
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
async fn store_pages_read_member_answers_only_from_the_origins_their_program_allows() {
    let app = TestApp::spawn().await;
    let acme = app.program("Acme").await;
    let globex = app.program("Globex").await;
    let reward = ann_with_points_and_a_reward(&acme).await;
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

/// Asks again until `check` is satisfied, for limits that refill with time; fails after 30 s.
async fn eventually(what: &str, mut attempt: impl AsyncFnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !attempt().await {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
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
