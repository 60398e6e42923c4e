//! The admin console over HTTP, as a browser would use it: no page without a session, no form post without
//! its token, sessions kept on the server (hashed) and ended there, programs kept apart, and secrets never
//! shown.

use crate::helpers::{ADMIN_TOKEN, TestApp};
use reqwest::header::{HeaderMap, LOCATION, ORIGIN, SET_COOKIE};
use reqwest::{Method, StatusCode};
use serde_json::json;
use std::collections::BTreeMap;

/// A cookie-keeping client that does not follow redirects, so tests see each 303.
struct Browser<'a> {
    app: &'a TestApp,
    client: reqwest::Client,
    cookies: BTreeMap<String, String>,
}

struct Page {
    status: StatusCode,
    headers: HeaderMap,
    body: String,
}

impl Page {
    fn location(&self) -> &str {
        self.headers
            .get(LOCATION)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
    }

    fn set_cookies(&self) -> Vec<String> {
        self.headers
            .get_all(SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok().map(str::to_string))
            .collect()
    }

    /// The form token of the first form on the page.
    fn csrf(&self) -> String {
        let marker = "name=\"_csrf\" value=\"";
        let start = self.body.find(marker).expect("a form with a token") + marker.len();
        self.body[start..]
            .split('"')
            .next()
            .expect("a token")
            .to_string()
    }
}

impl<'a> Browser<'a> {
    fn new(app: &'a TestApp) -> Browser<'a> {
        Browser {
            app,
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("a client"),
            cookies: BTreeMap::new(),
        }
    }

    async fn send(
        &mut self,
        method: Method,
        path: &str,
        form: Option<&[(&str, &str)]>,
        headers: &[(&str, &str)],
    ) -> Page {
        let mut req = self
            .client
            .request(method, format!("{}{path}", self.app.base));
        if !self.cookies.is_empty() {
            let jar: Vec<String> = self
                .cookies
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            req = req.header("cookie", jar.join("; "));
        }
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        if let Some(form) = form {
            req = req.form(form);
        }
        let resp = req.send().await.expect("the server answers");
        let page = Page {
            status: resp.status(),
            headers: resp.headers().clone(),
            body: String::new(),
        };
        for cookie in page.set_cookies() {
            let pair = cookie.split(';').next().unwrap_or_default();
            if let Some((name, value)) = pair.split_once('=') {
                if value.is_empty() || cookie.contains("Max-Age=0") {
                    self.cookies.remove(name);
                } else {
                    self.cookies.insert(name.to_string(), value.to_string());
                }
            }
        }
        Page {
            body: resp.text().await.expect("a body"),
            ..page
        }
    }

    async fn get(&mut self, path: &str) -> Page {
        self.send(Method::GET, path, None, &[]).await
    }

    async fn post(&mut self, path: &str, form: &[(&str, &str)]) -> Page {
        self.send(Method::POST, path, Some(form), &[]).await
    }

    /// Signs in through the sign-in form, as a person would.
    async fn sign_in(&mut self, secret: &str) -> Page {
        let form = self.get("/admin/signin").await;
        let token = form.csrf();
        self.post(
            "/admin/signin",
            &[("_csrf", &token), ("next", "/admin"), ("secret", secret)],
        )
        .await
    }

    /// Signs in and returns the token of the console's forms.
    async fn signed_in(&mut self, secret: &str) -> String {
        let page = self.sign_in(secret).await;
        assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
        self.get("/admin").await.csrf()
    }

    fn session(&self) -> Option<String> {
        self.cookies.get("patron_console").cloned()
    }
}

/// A form field or a header.
type Pair<'a> = (&'a str, &'a str);

const PAGES: [&str; 10] = [
    "/admin",
    "/admin/listrak",
    "/admin/listrak/backfill.json",
    "/admin/deliveries",
    "/admin/deliveries/1",
    "/admin/members",
    "/admin/members/cust-1",
    "/admin/settings",
    "/admin/settings/templates",
    "/admin/members?q=ann",
];

const FORMS: [&str; 11] = [
    "/admin/signout",
    "/admin/listrak",
    "/admin/listrak/reprovision",
    "/admin/listrak/disconnect",
    "/admin/listrak/backfill",
    "/admin/deliveries/replay",
    "/admin/deliveries/1/retry",
    "/admin/settings/digest",
    "/admin/settings/earning",
    "/admin/settings/templates",
    "/admin/settings/templates/preview",
];

#[tokio::test]
async fn every_console_route_redirects_to_sign_in_without_a_session() {
    let app = TestApp::spawn().await;
    let mut browser = Browser::new(&app);
    for path in PAGES {
        let page = browser.get(path).await;
        assert_eq!(page.status, StatusCode::SEE_OTHER, "GET {path}");
        assert!(
            page.location().starts_with("/admin/signin"),
            "GET {path}: {}",
            page.location()
        );
    }
    assert_eq!(
        browser.get("/admin/members?q=ann").await.location(),
        "/admin/signin?next=%2Fadmin%2Fmembers%3Fq%3Dann",
        "the page asked for comes back after signing in"
    );
    for path in FORMS {
        let page = browser.post(path, &[("_csrf", "x")]).await;
        assert_eq!(page.status, StatusCode::SEE_OTHER, "POST {path}");
        assert_eq!(page.location(), "/admin/signin", "POST {path}");
    }
    browser
        .cookies
        .insert("patron_console".into(), "f".repeat(64));
    let page = browser.get("/admin/settings").await;
    assert_eq!(
        (page.status, page.location()),
        (
            StatusCode::SEE_OTHER,
            "/admin/signin?next=%2Fadmin%2Fsettings"
        ),
        "a made-up session id signs nobody in"
    );
    assert_eq!(browser.get("/admin/signin").await.status, StatusCode::OK);
}

#[tokio::test]
async fn signing_in_with_a_wrong_key_is_refused_without_saying_whether_it_exists() {
    let app = TestApp::spawn().await;
    let p = app.program("Acme").await;
    let mut browser = Browser::new(&app);
    let mut answers = Vec::new();
    for wrong in [
        "pk_0000000000000000000000000000000000000000000000",
        "hunter2",
    ] {
        let page = browser.sign_in(wrong).await;
        assert_eq!(page.status, StatusCode::UNAUTHORIZED, "{wrong}");
        assert!(browser.session().is_none(), "no session for {wrong}");
        assert!(
            !page.body.contains(wrong),
            "the page does not echo what was typed"
        );
        let start = page
            .body
            .find("field-error")
            .expect("an error by the field");
        answers.push(page.body[start..start + 200].to_string());
    }
    assert_eq!(answers[0], answers[1], "one answer for every wrong secret");
    assert!(answers[0].contains("not a valid API key or console password"));

    let page = browser.sign_in(&p.key).await;
    assert_eq!(
        (page.status, page.location()),
        (StatusCode::SEE_OTHER, "/admin")
    );
    assert!(browser.session().is_some());
}

#[tokio::test]
async fn sign_in_goes_on_only_to_console_pages() {
    let app = TestApp::spawn().await;
    let p = app.program("Acme").await;
    for (next, expected) in [
        ("/admin/members?q=ann", "/admin/members?q=ann"),
        ("//evil.example/admin", "/admin"),
        ("https://evil.example/", "/admin"),
        ("/v1/settings", "/admin"),
    ] {
        let mut browser = Browser::new(&app);
        let token = browser.get("/admin/signin").await.csrf();
        let page = browser
            .post(
                "/admin/signin",
                &[("_csrf", &token), ("next", next), ("secret", &p.key)],
            )
            .await;
        assert_eq!(page.location(), expected, "next={next}");
    }
}

#[tokio::test]
async fn the_session_cookie_is_http_only_strict_and_scoped_to_the_console() {
    let app = TestApp::spawn().await;
    let p = app.program("Acme").await;
    let mut browser = Browser::new(&app);
    let page = browser.sign_in(&p.key).await;
    let cookie = page
        .set_cookies()
        .into_iter()
        .find(|c| c.starts_with("patron_console="))
        .expect("a session cookie");
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/admin"] {
        assert!(cookie.contains(attribute), "{attribute} in {cookie}");
    }
    assert!(
        !cookie.contains("Secure"),
        "plain HTTP cannot keep a Secure cookie: {cookie}"
    );

    // Only a hash of the session id is stored.
    let id = browser.session().expect("session id");
    let store = app.app.store();
    let now = chrono::Utc::now();
    assert!(
        store
            .console_session(&id, now)
            .await
            .expect("query")
            .is_none()
    );
    let hashed = patron::crypto::hash_key(&id);
    assert!(
        store
            .console_session(&hashed, now)
            .await
            .expect("query")
            .is_some()
    );

    // Behind a TLS-terminating proxy the cookie is Secure.
    let mut proxied = Browser::new(&app);
    let token = proxied.get("/admin/signin").await.csrf();
    let page = proxied
        .send(
            Method::POST,
            "/admin/signin",
            Some(&[("_csrf", &token), ("secret", &p.key)]),
            &[("x-forwarded-proto", "https")],
        )
        .await;
    assert!(
        page.set_cookies()
            .iter()
            .any(|c| c.starts_with("patron_console=") && c.contains("; Secure"))
    );
}

#[tokio::test]
async fn an_https_public_url_makes_the_session_cookie_secure() {
    let app = TestApp::spawn_with(&[("PATRON_PUBLIC_URL", "https://loyalty.example")]).await;
    let p = app.program("Acme").await;
    let page = Browser::new(&app).sign_in(&p.key).await;
    let cookie = page
        .set_cookies()
        .into_iter()
        .find(|c| c.starts_with("patron_console="))
        .expect("a session cookie");
    assert!(cookie.contains("; Secure"), "{cookie}");
}

#[tokio::test]
async fn a_form_post_without_its_csrf_token_is_refused_and_changes_nothing() {
    let app = TestApp::spawn().await;
    let p = app.program("Acme").await;
    let mut browser = Browser::new(&app);
    let token = browser.signed_in(&p.key).await;
    let day = |settings: serde_json::Value| settings["digest"]["day_of_month"].as_i64();

    let wrong = "0".repeat(32);
    let forged: [(Vec<Pair>, Vec<Pair>); 4] = [
        (vec![("digest.day_of_month", "20")], vec![]),
        (
            vec![("_csrf", &wrong), ("digest.day_of_month", "20")],
            vec![],
        ),
        (
            vec![("_csrf", &token), ("digest.day_of_month", "20")],
            vec![(ORIGIN.as_str(), "https://evil.example")],
        ),
        (
            vec![("_csrf", &token), ("digest.day_of_month", "20")],
            vec![("referer", "https://evil.example/page")],
        ),
    ];
    for (form, headers) in forged {
        let page = browser
            .send(
                Method::POST,
                "/admin/settings/digest",
                Some(&form),
                &headers,
            )
            .await;
        assert_eq!(page.status, StatusCode::FORBIDDEN, "{form:?} {headers:?}");
        assert_eq!(
            day(p.get("/v1/settings").await.1),
            Some(1),
            "nothing changed"
        );
    }

    let page = browser
        .send(
            Method::POST,
            "/admin/settings/digest",
            Some(&[("_csrf", token.as_str()), ("digest.day_of_month", "20")]),
            &[(ORIGIN.as_str(), app.base.as_str())],
        )
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    assert_eq!(day(p.get("/v1/settings").await.1), Some(20));

    // A script may send the token as a header instead.
    let page = browser
        .send(
            Method::POST,
            "/admin/settings/digest",
            Some(&[("digest.day_of_month", "21")]),
            &[("x-csrf-token", token.as_str())],
        )
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert_eq!(day(p.get("/v1/settings").await.1), Some(21));

    // The sign-in form has a token of its own.
    let mut stranger = Browser::new(&app);
    let page = stranger
        .post("/admin/signin", &[("secret", p.key.as_str())])
        .await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    assert!(stranger.session().is_none());
}

#[tokio::test]
async fn signing_out_ends_the_session_on_the_server() {
    let app = TestApp::spawn().await;
    let p = app.program("Acme").await;
    let mut browser = Browser::new(&app);
    let token = browser.signed_in(&p.key).await;
    let session = browser.session().expect("a session");

    let page = browser.post("/admin/signout", &[("_csrf", &token)]).await;
    assert_eq!(
        (page.status, page.location()),
        (StatusCode::SEE_OTHER, "/admin/signin?signed_out=1")
    );
    assert!(
        page.set_cookies()
            .iter()
            .any(|c| c.starts_with("patron_console=;") && c.contains("Max-Age=0")),
        "the cookie is cleared"
    );

    // The old cookie, kept by a careless (or malicious) client, no longer signs anyone in.
    let mut replay = Browser::new(&app);
    replay.cookies.insert("patron_console".into(), session);
    let page = replay.get("/admin").await;
    assert_eq!(
        (page.status, page.location()),
        (StatusCode::SEE_OTHER, "/admin/signin")
    );
}

#[tokio::test]
async fn one_programs_session_never_sees_another_programs_members_or_deliveries() {
    let app = TestApp::spawn().await;
    let mine = app.program("Mine").await;
    let theirs = app.program("Theirs").await;
    mine.member("cust-mine").await;
    mine.purchase("cust-mine", "m-1", 10.0).await;
    theirs.member("cust-theirs").await;
    theirs.purchase("cust-theirs", "t-1", 10.0).await;
    let their_delivery = theirs.deliveries("member=cust-theirs").await[0]["id"]
        .as_i64()
        .expect("a delivery id");

    let mut browser = Browser::new(&app);
    let token = browser.signed_in(&mine.key).await;
    for path in [
        "/admin/members",
        "/admin/members?q=cust",
        "/admin/members?q=cust-theirs@example.com",
        "/admin/deliveries",
        "/admin/deliveries?member=cust-theirs",
        "/admin",
    ] {
        let page = browser.get(path).await;
        assert_eq!(page.status, StatusCode::OK, "{path}");
        // Searches echo what was asked; what matters is that no row of theirs comes back.
        for theirs in ["/admin/members/cust-theirs", "Member cust-theirs", "t-1"] {
            assert!(!page.body.contains(theirs), "{path} shows {theirs}");
        }
    }
    assert!(
        browser
            .get("/admin/members")
            .await
            .body
            .contains("/admin/members/cust-mine")
    );
    assert_eq!(
        browser.get("/admin/members/cust-theirs").await.status,
        StatusCode::NOT_FOUND
    );
    let detail = format!("/admin/deliveries/{their_delivery}");
    assert_eq!(browser.get(&detail).await.status, StatusCode::NOT_FOUND);
    let retry = format!("/admin/deliveries/{their_delivery}/retry");
    assert_eq!(
        browser.post(&retry, &[("_csrf", &token)]).await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn a_console_password_issued_by_the_admin_signs_in_until_a_new_one_replaces_it() {
    let app = TestApp::spawn().await;
    let p = app.program("Acme").await;
    let path = format!("/v1/programs/{}/console-password", p.id);
    let issue = || app.request(Method::POST, &path, Some(ADMIN_TOKEN), None);
    let (status, body) = app.request(Method::POST, &path, Some(&p.key), None).await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "only the instance admin issues them: {body}"
    );
    let (status, body) = issue().await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let first = body["console_password"]
        .as_str()
        .expect("a password")
        .to_string();
    assert!(first.starts_with("cp_"));

    let mut browser = Browser::new(&app);
    browser.signed_in(&first).await;
    assert_eq!(browser.get("/admin/members").await.status, StatusCode::OK);

    let (_, body) = issue().await;
    let second = body["console_password"]
        .as_str()
        .expect("a password")
        .to_string();
    assert_eq!(
        browser.get("/admin/members").await.status,
        StatusCode::SEE_OTHER,
        "a new password signs the program's sessions out"
    );
    assert_eq!(
        Browser::new(&app).sign_in(&first).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        Browser::new(&app).sign_in(&second).await.status,
        StatusCode::SEE_OTHER
    );
    let (status, _) = app
        .request(
            Method::POST,
            "/v1/programs/prg_missing/console-password",
            Some(ADMIN_TOKEN),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_listrak_page_shows_every_id_but_never_the_secret_nor_the_api_key() {
    const CLIENT_ID: &str = "console-client";
    const SECRET: &str = "console-S3cret-never-shown";
    let sim = listrak_sim::spawn_for_tests(
        listrak_sim::SimConfig::default().with_integration(CLIENT_ID, SECRET),
    )
    .await;
    let app = TestApp::spawn_with(&[
        ("PATRON_LISTRAK_AUTH_URL", &sim.auth_url()),
        ("PATRON_LISTRAK_API_URL", &sim.api_url()),
    ])
    .await;
    let p = app.program("Acme").await;
    let mut browser = Browser::new(&app);
    let token = browser.signed_in(&p.key).await;

    let page = browser
        .post(
            "/admin/listrak",
            &[
                ("_csrf", &token),
                ("client_id", CLIENT_ID),
                ("client_secret", "wrong-secret"),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        page.body.contains("Listrak refused these credentials"),
        "{}",
        page.body
    );
    assert!(
        !page.body.contains("wrong-secret"),
        "a typed secret is not sent back"
    );

    let page = browser
        .post(
            "/admin/listrak",
            &[
                ("_csrf", &token),
                ("client_id", CLIENT_ID),
                ("client_secret", SECRET),
            ],
        )
        .await;
    assert_eq!(
        (page.status, page.location()),
        (StatusCode::SEE_OTHER, "/admin/listrak?done=connected")
    );
    let page = browser.get("/admin/listrak?done=connected").await;
    let (_, view) = p.get("/v1/integrations/listrak").await;
    for (name, id) in view["lists"][0]["events"].as_object().expect("events") {
        let row = format!(
            "<tr data-event=\"{name}\"><th scope=\"row\">{name}</th><td><span class=\"copyable\"><code class=\"id\">{id}</code>"
        );
        assert!(page.body.contains(&row), "{name} {id}");
    }
    assert!(!page.body.contains(SECRET));
    assert!(!page.body.contains(&p.key));
    assert!(page.body.contains("must grant your marketers access"));
    let json = json!(view).to_string();
    assert!(!json.contains(SECRET));
}

#[tokio::test]
async fn dead_notifications_of_a_window_are_replayed_from_the_deliveries_page() {
    let app = TestApp::spawn().await;
    let p = app.program("Acme").await;
    p.member("ann").await;
    p.purchase("ann", "o-1", 10.0).await;
    let store = app.app.store();
    let now = chrono::Utc::now();
    let claimed = store
        .claim_deliveries(now, 60_000, 10)
        .await
        .expect("claim");
    let dead = patron_store::Finish::Dead {
        reason: "gave up".into(),
        unconfirmed: false,
    };
    for row in &claimed {
        store
            .finish_delivery(row, &dead, now)
            .await
            .expect("finish");
    }
    let mut browser = Browser::new(&app);
    let token = browser.signed_in(&p.key).await;
    let minute = |offset: i64| {
        (now + chrono::Duration::minutes(offset))
            .format("%Y-%m-%dT%H:%M")
            .to_string()
    };

    let page = browser
        .post(
            "/admin/deliveries/replay",
            &[("_csrf", &token), ("from", &minute(5)), ("to", &minute(-5))],
        )
        .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        page.body
            .contains("id=\"to-error\">This must be after `from`."),
        "{}",
        page.body
    );
    let page = browser
        .post(
            "/admin/deliveries/replay",
            &[("_csrf", &token), ("from", ""), ("to", "soon")],
        )
        .await;
    assert!(
        page.body
            .contains("id=\"from-error\">Enter a date and time")
    );
    assert!(
        p.deliveries("status=dead").await.len() == claimed.len(),
        "nothing replayed"
    );

    let page = browser
        .post(
            "/admin/deliveries/replay",
            &[("_csrf", &token), ("from", &minute(-5)), ("to", &minute(5))],
        )
        .await;
    assert_eq!(
        page.location(),
        format!("/admin/deliveries?status=dead&replayed={}", claimed.len())
    );
    assert!(p.deliveries("status=dead").await.is_empty());
    assert_eq!(p.deliveries("status=pending").await.len(), claimed.len());
}

/// The earning form as the page posts it: Patron's defaults, plus custom rows.
fn earning_form<'a>(token: &'a str, custom: &[[&'a str; 4]]) -> Vec<(String, String)> {
    let mut form: Vec<(String, String)> = vec![
        ("_csrf".into(), token.into()),
        ("earning.purchase.points_per_unit".into(), "1".into()),
        (
            "earning.purchase.display_name".into(),
            "Made a purchase".into(),
        ),
        ("earning.purchase.approval_days".into(), "0".into()),
        ("earning.purchase.rounding".into(), "floor".into()),
        ("returns.policy".into(), "negative".into()),
    ];
    for key in ["signup", "review", "birthday", "referral_purchase"] {
        for (field, value) in [
            ("points", "10"),
            ("display_name", "Something"),
            ("approval_days", "0"),
        ] {
            form.push((format!("earning.{key}.{field}"), value.into()));
        }
    }
    for (i, row) in custom.iter().enumerate() {
        for (field, value) in ["name", "points", "display_name", "approval_days"]
            .iter()
            .zip(row)
        {
            form.push((
                format!("earning.custom_rows[{i}].{field}"),
                value.to_string(),
            ));
        }
    }
    form
}

fn pairs(form: &[(String, String)]) -> Vec<(&str, &str)> {
    form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()
}

#[tokio::test]
async fn settings_forms_save_by_the_api_rules_and_explain_mistakes_next_to_their_field() {
    let app = TestApp::spawn().await;
    let p = app.program("Acme").await;
    let mut browser = Browser::new(&app);
    let token = browser.signed_in(&p.key).await;
    let settings = || async { p.get("/v1/settings").await.1 };

    // Tiers: the problem lands on the row the merchant typed it in, even after a blank row.
    let tiers = |silver: &'static str| {
        vec![
            ("_csrf", token.as_str()),
            ("tiers.window_days", ""),
            ("tiers.qualifying", "signup"),
            ("tiers.qualifying", "purchase"),
            ("tiers.levels[0].name", "Bronze"),
            ("tiers.levels[0].threshold", "0"),
            ("tiers.levels[1].name", ""),
            ("tiers.levels[1].threshold", ""),
            ("tiers.levels[2].name", "Gold"),
            ("tiers.levels[2].threshold", "100"),
            ("tiers.levels[3].name", "Silver"),
            ("tiers.levels[3].threshold", silver),
        ]
    };
    let page = browser.post("/admin/settings/tiers", &tiers("50")).await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        page.body
            .contains("id=\"tiers-levels-3-threshold-error\">Thresholds must be"),
        "{}",
        page.body
    );
    assert!(
        page.body.contains("value=\"Silver\""),
        "what was typed is kept"
    );
    assert_eq!(
        settings().await["tiers"]["levels"],
        json!([]),
        "nothing saved"
    );
    let page = browser.post("/admin/settings/tiers", &tiers("500")).await;
    assert_eq!(page.location(), "/admin/settings?saved=tiers#tiers");
    assert_eq!(
        settings().await["tiers"]["levels"],
        json!([{"name": "Bronze", "threshold": 0}, {"name": "Gold", "threshold": 100},
               {"name": "Silver", "threshold": 500}])
    );

    // Custom activity types are rows; a bad name is explained on its row.
    let form = earning_form(
        &token,
        &[["share", "25", "Shared", ""], ["bad name!", "5", "x", "0"]],
    );
    let page = browser.post("/admin/settings/earning", &pairs(&form)).await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        page.body
            .contains("id=\"earning-custom_rows-1-name-error\">Custom type names use"),
        "{}",
        page.body
    );
    let form = earning_form(&token, &[["share", "25", "Shared", ""], ["", "", "", ""]]);
    let page = browser.post("/admin/settings/earning", &pairs(&form)).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    assert_eq!(
        settings().await["earning"]["custom"],
        json!({"share": {"points": 25, "display_name": "Shared", "approval_days": 0}})
    );

    // An email template that does not compile is refused next to its part; a good one is saved.
    let template = |subject: &'static str| {
        vec![
            ("_csrf", token.as_str()),
            ("event", "Points Earned"),
            ("language", ""),
            ("subject", subject),
            ("html", ""),
            ("text", ""),
        ]
    };
    let page = browser
        .post("/admin/settings/templates", &template("Hi {{ user_name"))
        .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.body.contains("id=\"subject-error\""), "{}", page.body);
    assert_eq!(settings().await["mail"]["templates"], json!({}));
    let page = browser
        .post(
            "/admin/settings/templates/preview",
            &template("Hi {{ user_name }}"),
        )
        .await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body.contains("<dd id=\"preview-subject\">Hi "),
        "{}",
        page.body
    );
    assert_eq!(
        settings().await["mail"]["templates"],
        json!({}),
        "a preview saves nothing"
    );
    let page = browser
        .post("/admin/settings/templates", &template("Hi {{ user_name }}"))
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert_eq!(
        settings().await["mail"]["templates"],
        json!({"Points Earned": {"subject": "Hi {{ user_name }}"}})
    );
}
