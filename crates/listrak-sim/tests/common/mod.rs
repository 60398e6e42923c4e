//! Raw-HTTP helpers for the emulator's own tests: a running emulator with one integration, a bearer token,
//! and JSON calls that return status and body as Listrak sent them.
#![allow(dead_code)]

use listrak_sim::{SimConfig, SimHandle, spawn_for_tests};
use serde_json::{Value, json};

pub struct Api {
    pub sim: SimHandle,
    pub http: reqwest::Client,
    pub token: String,
}

pub async fn token(http: &reqwest::Client, base: &str, id: &str, secret: &str) -> (u16, Value) {
    let r = http
        .post(format!("{base}/OAuth2/Token"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", id),
            ("client_secret", secret),
        ])
        .send()
        .await
        .expect("token request");
    (r.status().as_u16(), r.json().await.expect("token json"))
}

impl Api {
    pub async fn start() -> Self {
        Self::start_with(SimConfig::default().with_integration("patron", "s3cret")).await
    }

    pub async fn start_with(config: SimConfig) -> Self {
        let sim = spawn_for_tests(config).await;
        let http = reqwest::Client::new();
        let (_, body) = token(&http, &sim.base_url, "patron", "s3cret").await;
        let token = body["access_token"].as_str().unwrap_or_default().to_owned();
        Self { sim, http, token }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}/email/v1{path}", self.sim.base_url)
    }

    pub async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut req = self
            .http
            .request(method, self.url(path))
            .bearer_auth(&self.token);
        if let Some(body) = body {
            req = req.json(&body);
        }
        let r = req.send().await.expect("request");
        let status = r.status().as_u16();
        let text = r.text().await.expect("body");
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    pub async fn get(&self, path: &str) -> (u16, Value) {
        self.send(reqwest::Method::GET, path, None).await
    }

    pub async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        self.send(reqwest::Method::POST, path, Some(body)).await
    }

    /// Creates and returns an id, asserting Listrak's 201 envelope.
    pub async fn create(&self, path: &str, body: Value) -> i64 {
        let (status, answer) = self.post(path, body).await;
        assert_eq!(status, 201, "{answer}");
        answer["resourceId"]
            .as_str()
            .expect("resourceId is a string")
            .parse()
            .expect("numeric id")
    }

    pub async fn list(&self) -> i64 {
        self.create("/List", json!({"listName": "Test List", "bounceHandling": "Standard", "bounceUnsubscribeCount": 5}))
            .await
    }

    pub async fn control(&self, path: &str, body: Value) -> Value {
        let r = self
            .http
            .post(format!("{}/_sim{path}", self.sim.base_url))
            .json(&body)
            .send()
            .await
            .expect("control");
        r.json().await.expect("control json")
    }

    pub async fn state(&self) -> Value {
        let r = self
            .http
            .get(format!("{}/_sim/state", self.sim.base_url))
            .send()
            .await
            .expect("state");
        r.json().await.expect("state json")
    }
}
