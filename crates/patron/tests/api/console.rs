//! The admin console over HTTP, as a browser would use it: no page without a session, no form post without
//! its token, sessions kept on the server (hashed) and ended there, programs kept apart, and secrets never
//! shown.

use crate::helpers::{ADMIN_TOKEN, TestApp};
use reqwest::header::{HeaderMap, LOCATION, ORIGIN, SET_COOKIE};
use reqwest::{Method, StatusCode};
use std::collections::BTreeMap;

/// A cookie-keeping client that does not follow redirects, so tests see each 303.
pub(crate) struct Browser<'a> {
    app: &'a TestApp,
    client: reqwest::Client,
    pub cookies: BTreeMap<String, String>,
}

pub(crate) struct Page {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
}

impl Page {
    pub(crate) fn location(&self) -> &str {
        self.headers
            .get(LOCATION)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
    }

    pub(crate) fn set_cookies(&self) -> Vec<String> {
        self.headers
            .get_all(SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok().map(str::to_string))
            .collect()
    }

    /// The form token of the first form on the page.
    pub(crate) fn csrf(&self) -> String {
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
    pub(crate) fn new(app: &'a TestApp) -> Browser<'a> {
        Browser {
            app,
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("a client"),
            cookies: BTreeMap::new(),
        }
    }

    pub(crate) async fn send(
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

    pub(crate) async fn get(&mut self, path: &str) -> Page {
        self.send(Method::GET, path, None, &[]).await
    }

    pub(crate) async fn post(&mut self, path: &str, form: &[(&str, &str)]) -> Page {
        self.send(Method::POST, path, Some(form), &[]).await
    }

    /// Signs in through the sign-in form, as a person would.
    pub(crate) async fn sign_in(&mut self, secret: &str) -> Page {
        let form = self.get("/admin/signin").await;
        let token = form.csrf();
        self.post(
            "/admin/signin",
            &[("_csrf", &token), ("next", "/admin"), ("secret", secret)],
        )
        .await
    }

    /// Signs in and returns the token of the console's forms.
    pub(crate) async fn signed_in(&mut self, secret: &str) -> String {
        let page = self.sign_in(secret).await;
        assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
        self.get("/admin").await.csrf()
    }

    pub(crate) fn session(&self) -> Option<String> {
        self.cookies.get("patron_console").cloned()
    }
}

/// A form field or a header.
pub(crate) type Pair<'a> = (&'a str, &'a str);

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
