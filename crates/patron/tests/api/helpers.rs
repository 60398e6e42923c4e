//! Test helpers: the real server on port 0 against a fresh database (SQLite file by default,
//! PostgreSQL when `PATRON_TEST_DATABASE=postgres` and `PATRON_TEST_POSTGRES_URL` are set), and a
//! small HTTP client that speaks to it as a store or an operator would.
#![allow(dead_code)]

use patron::config::Settings;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

pub const ADMIN_TOKEN: &str = "test-admin-token";

pub struct TestApp {
    pub base: String,
    pub client: reqwest::Client,
    pub database_url: String,
    pub dir: tempfile::TempDir,
    /// The running engine itself, for driving one channel call directly.
    pub engine: patron::app::App,
    shutdown: CancellationToken,
    handle: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
}

/// Which database this run of the suite uses.
pub async fn database_url(dir: &std::path::Path) -> String {
    if std::env::var("PATRON_TEST_DATABASE").as_deref() == Ok("postgres") {
        let admin = patron_store::testing::postgres_admin_url()
            .expect("PATRON_TEST_DATABASE=postgres needs PATRON_TEST_POSTGRES_URL");
        patron_store::testing::fresh_postgres_database(&admin)
            .await
            .expect("a fresh PostgreSQL database")
    } else {
        format!("sqlite://{}", dir.join("patron.db").display())
    }
}

impl TestApp {
    pub async fn spawn() -> TestApp {
        TestApp::spawn_with(&[]).await
    }

    /// Starts the server with extra `PATRON_*` settings.
    pub async fn spawn_with(vars: &[(&str, &str)]) -> TestApp {
        let dir = tempfile::tempdir().expect("temp dir");
        let database_url = database_url(dir.path()).await;
        let mut env: Vec<(String, String)> = vec![
            ("PATRON_DATABASE_URL".into(), database_url.clone()),
            ("PATRON_ADMIN_TOKEN".into(), ADMIN_TOKEN.into()),
            ("PATRON_SECRET_KEY".into(), "11".repeat(32)),
            (
                "PATRON_MAIL_DIR".into(),
                dir.path().join("mail").display().to_string(),
            ),
            ("PATRON_WORKERS".into(), "false".into()),
            ("PATRON_SCHEDULER".into(), "false".into()),
            ("PATRON_DB_MAX_CONNECTIONS".into(), "8".into()),
            ("PATRON_LOG".into(), "warn".into()),
        ];
        for (k, v) in vars {
            env.retain(|(name, _)| name != k);
            env.push((k.to_string(), v.to_string()));
        }
        let settings = Settings::load_from(None, move |k| {
            env.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone())
        })
        .expect("test settings are valid");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind port 0");
        let base = format!("http://{}", listener.local_addr().expect("local addr"));
        let shutdown = CancellationToken::new();
        let app = patron::startup::build_app(settings)
            .await
            .expect("the app starts");
        let engine = app.clone();
        let handle = tokio::spawn(patron::startup::serve(app, listener, shutdown.clone()));
        TestApp {
            base,
            client: reqwest::Client::new(),
            database_url,
            dir,
            engine,
            shutdown,
            handle: Some(handle),
        }
    }

    pub async fn stop(mut self) {
        self.shutdown.cancel();
        if let Some(h) = self.handle.take() {
            let _ = h.await;
        }
    }

    pub async fn request(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut req = self
            .client
            .request(method, format!("{}{}", self.base, path));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.expect("the server answers");
        let status = resp.status();
        let text = resp.text().await.expect("a body");
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    /// Creates a program as the instance admin.
    pub async fn program(&self, name: &str) -> Program<'_> {
        let (status, body) = self
            .request(
                Method::POST,
                "/v1/programs",
                Some(ADMIN_TOKEN),
                Some(json!({"name": name})),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        Program {
            app: self,
            id: body["id"].as_str().expect("id").to_string(),
            key: body["api_key"].as_str().expect("api_key").to_string(),
            member_token_secret: body["member_token_secret"]
                .as_str()
                .expect("secret")
                .to_string(),
        }
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

/// A program, seen through its API key.
pub struct Program<'a> {
    pub app: &'a TestApp,
    pub id: String,
    pub key: String,
    pub member_token_secret: String,
}

impl Program<'_> {
    pub async fn get(&self, path: &str) -> (StatusCode, Value) {
        self.app
            .request(Method::GET, path, Some(&self.key), None)
            .await
    }
    pub async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.app
            .request(Method::POST, path, Some(&self.key), Some(body))
            .await
    }
    pub async fn put(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.app
            .request(Method::PUT, path, Some(&self.key), Some(body))
            .await
    }
    pub async fn delete(&self, path: &str) -> (StatusCode, Value) {
        self.app
            .request(Method::DELETE, path, Some(&self.key), None)
            .await
    }

    /// Creates a member with an email derived from the id.
    pub async fn member(&self, external_id: &str) -> Value {
        let (status, body) = self
            .put(&format!("/v1/members/{external_id}"), json!({"email": format!("{external_id}@example.com"), "name": format!("Member {external_id}")}))
            .await;
        assert!(status.is_success(), "{body}");
        body
    }

    pub async fn purchase(
        &self,
        external_id: &str,
        order_id: &str,
        amount: f64,
    ) -> (StatusCode, Value) {
        self.post(
            &format!("/v1/members/{external_id}/activities"),
            json!({"type": "purchase", "amount": amount, "order_id": order_id}),
        )
        .await
    }

    pub async fn available(&self, external_id: &str) -> i64 {
        let (_, m) = self.get(&format!("/v1/members/{external_id}")).await;
        m["points"]["available"].as_i64().expect("available points")
    }

    pub async fn deliveries(&self, query: &str) -> Vec<Value> {
        let (status, body) = self.get(&format!("/v1/deliveries?{query}")).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body["items"].as_array().cloned().unwrap_or_default()
    }

    pub async fn run_job(&self, job: &str, as_of: &str) -> Value {
        let (status, body) = self
            .post(&format!("/v1/jobs/{job}/run"), json!({"as_of": as_of}))
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body
    }
}
