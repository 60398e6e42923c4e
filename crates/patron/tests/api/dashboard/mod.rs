//! The members' dashboard API (`/v1/me/...`), seen from a member's browser.

mod access;
mod page;
mod views;

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
