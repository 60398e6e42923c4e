//! One Listrak call on the wire: pacing, the bearer token, one forced token refresh and retry on 401, and
//! turning the answer into success bytes or a classified [`Error`] (a 2xx carrying an `error` member is a
//! failure too). No other retries happen here: the caller's retry policy decides.

use std::time::Duration;

use reqwest::header::{ACCEPT, HeaderMap, RETRY_AFTER};
use reqwest::{Method, StatusCode};
use serde::Deserialize;
use serde::Serialize;

use crate::client::Inner;
use crate::error::Error;

/// What an operation needs to say about itself.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Op {
    pub name: &'static str,
    /// The only id in the path is the list id (a 404 then means the list is gone).
    pub list_scoped: bool,
}

/// A successful answer: its status and body.
#[derive(Debug)]
pub(crate) struct Answer {
    pub status: StatusCode,
    pub body: Vec<u8>,
}

#[derive(Deserialize)]
struct Envelope {
    error: Option<String>,
    message: Option<String>,
}

pub(crate) fn send_error(operation: &'static str, source: reqwest::Error) -> Error {
    // A connect failure (refused, DNS, TLS, connect timeout) means nothing reached Listrak.
    if source.is_connect() || source.is_builder() {
        Error::NotSent { operation, source }
    } else {
        Error::MaybeApplied { operation, source }
    }
}

pub(crate) fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?;
    value.trim().parse::<u64>().ok().map(Duration::from_secs)
}

/// The start of a body, for error messages.
pub(crate) fn snippet(body: &[u8]) -> String {
    String::from_utf8_lossy(&body[..body.len().min(200)]).into_owned()
}

impl Inner {
    pub(crate) async fn call<B: Serialize + ?Sized>(
        &self,
        op: Op,
        method: Method,
        path: &str,
        query: &[(&str, String)],
        body: Option<&B>,
    ) -> Result<Answer, Error> {
        let url = format!("{}/v1{path}", self.api_url);
        let mut refreshed = false;
        loop {
            let token = self.tokens.token().await?;
            self.pacer.acquire().await;
            let mut request = self
                .http
                .request(method.clone(), &url)
                .bearer_auth(&*token)
                .header(ACCEPT, "application/json");
            if !query.is_empty() {
                request = request.query(query);
            }
            if let Some(body) = body {
                request = request.json(body);
            }
            let response = request.send().await.map_err(|e| send_error(op.name, e))?;
            let status = response.status();
            let retry_after = retry_after(response.headers());
            let body = response
                .bytes()
                .await
                .map_err(|source| Error::MaybeApplied {
                    operation: op.name,
                    source,
                })?
                .to_vec();
            if status == StatusCode::TOO_MANY_REQUESTS {
                self.pacer.on_too_many_requests(retry_after);
            }
            if status == StatusCode::UNAUTHORIZED && !refreshed {
                // The token may have expired early or been revoked: one fresh token, one more try.
                refreshed = true;
                self.tokens.invalidate(&token).await;
                continue;
            }
            let envelope = serde_json::from_slice::<Envelope>(&body).ok();
            if let Some(Envelope {
                error: Some(code),
                message,
            }) = envelope
            {
                return Err(Error::Api {
                    operation: op.name,
                    status: status.as_u16(),
                    code,
                    message: message.unwrap_or_default(),
                    retry_after,
                    list_scoped: op.list_scoped,
                });
            }
            if !status.is_success() {
                return Err(Error::Status {
                    operation: op.name,
                    status: status.as_u16(),
                    retry_after,
                    body: snippet(&body),
                });
            }
            self.pacer.on_success();
            return Ok(Answer { status, body });
        }
    }
}

impl Answer {
    pub(crate) fn decode<T: serde::de::DeserializeOwned>(&self, op: Op) -> Result<T, Error> {
        serde_json::from_slice(&self.body).map_err(|source| Error::Decode {
            operation: op.name,
            status: self.status.as_u16(),
            source,
        })
    }
}
