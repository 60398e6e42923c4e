//! Extractors: authentication (instance admin, program API key, member token), the client's address,
//! and JSON bodies whose errors name the offending field.

use super::error::ApiError;
use crate::app::App;
use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use patron_store::ProgramRow;
use serde::de::DeserializeOwned;

fn bearer(parts: &Parts) -> Option<&str> {
    bearer_token(&parts.headers)
}

/// The instance administrator (`Authorization: Bearer $PATRON_ADMIN_TOKEN`).
pub struct AdminAuth;

impl FromRequestParts<App> for AdminAuth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<Self, Self::Rejection> {
        let Some(expected) = app.admin_token() else {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "admin_disabled",
                "instance administration is off: set PATRON_ADMIN_TOKEN and restart, or use `patron program create`",
            ));
        };
        match bearer(parts) {
            Some(token) if crate::crypto::same_secret(token, expected) => Ok(AdminAuth),
            _ => Err(ApiError::unauthorized(
                "send the instance admin token as `Authorization: Bearer <token>`",
            )),
        }
    }
}

/// The program whose API key authenticated the request.
pub struct ProgramAuth(pub ProgramRow);

impl FromRequestParts<App> for ProgramAuth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<Self, Self::Rejection> {
        let key = bearer(parts).ok_or_else(|| {
            ApiError::unauthorized(
                "send the program's API key as `Authorization: Bearer <api key>`",
            )
        })?;
        match app.program_for_key(key).await? {
            Some(program) => Ok(ProgramAuth(program)),
            None => Err(ApiError::unauthorized("this API key is not valid")),
        }
    }
}

/// The member whose token (JWT HS256 signed with the program's member-token secret) authenticated
/// the request. A `Patron-Program` header, when sent (the widget sends the program it was given),
/// must name the token's program: a token of another program is refused like a forged one.
pub struct MemberAuth(pub crate::app::member_tokens::MemberClaims);

pub const PROGRAM_HEADER: &str = "patron-program";

impl FromRequestParts<App> for MemberAuth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<Self, Self::Rejection> {
        // The origin check of the member routes may have verified the token already.
        let verified = parts
            .extensions
            .get::<crate::app::member_tokens::MemberClaims>()
            .cloned();
        let claims = match verified {
            Some(claims) => claims,
            None => {
                let token = bearer(parts).ok_or_else(|| {
                    ApiError::unauthorized("send a member token as `Authorization: Bearer <jwt>`")
                })?;
                app.verify_member_token(token)
                    .await?
                    .map_err(|e| ApiError::unauthorized(e.to_string()))?
            }
        };
        let expected = parts.headers.get(PROGRAM_HEADER).map(|v| v.as_bytes());
        if expected.is_some_and(|p| p != claims.program_id.as_bytes()) {
            return Err(ApiError::unauthorized(
                "this member token belongs to another program than the Patron-Program header names",
            ));
        }
        Ok(MemberAuth(claims))
    }
}

/// The bearer token of a request, if any.
pub fn bearer_token(headers: &axum::http::HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(str::trim)
}

/// The client's address: the connection's, or the last one in the trusted proxy's header
/// (`client_ip_header`) when one is configured and present.
pub struct ClientIp(pub std::net::IpAddr);

impl FromRequestParts<App> for ClientIp {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<Self, Self::Rejection> {
        // The proxy appends the address it saw last; anything before it came from the client.
        let forwarded = app.settings().client_ip_header.as_ref().and_then(|name| {
            parts
                .headers
                .get_all(name)
                .iter()
                .filter_map(|v| v.to_str().ok())
                .flat_map(|v| v.split(','))
                .next_back()
                .and_then(|a| a.trim().parse::<std::net::IpAddr>().ok())
        });
        let peer = parts
            .extensions
            .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
            .map(|c| c.0.ip());
        Ok(ClientIp(forwarded.or(peer).unwrap_or(
            std::net::IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED),
        )))
    }
}

/// A JSON body. Malformed JSON is a 400, a wrong content type a 415, a body over the limit a 413,
/// and a well-formed body of the wrong shape a 422 naming the field path.
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let is_json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(|v| {
                let essence = v
                    .split(';')
                    .next()
                    .unwrap_or_default()
                    .trim()
                    .to_ascii_lowercase();
                essence == "application/json" || essence.ends_with("+json")
            })
            .unwrap_or(false);
        if !is_json {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "send the body as JSON with `Content-Type: application/json`",
            ));
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|e| {
            if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "body_too_large",
                    "the request body is larger than this server accepts",
                )
            } else {
                ApiError::new(StatusCode::BAD_REQUEST, "unreadable_body", e.body_text())
            }
        })?;
        parse_json(&bytes).map(ApiJson)
    }
}

pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    match serde_path_to_error::deserialize::<_, T>(&mut de) {
        Ok(v) => match de.end() {
            Ok(()) => Ok(v),
            Err(trailing) => Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "malformed_json",
                format!("the body is not valid JSON: {trailing}"),
            )),
        },
        Err(e) => {
            let inner = e.inner();
            if inner.is_syntax() || inner.is_eof() {
                return Err(ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "malformed_json",
                    format!("the body is not valid JSON: {inner}"),
                ));
            }
            let path = e.path().to_string();
            let field = if path == "." {
                "body".to_string()
            } else {
                path
            };
            let message = inner.to_string();
            let message = message
                .split(" at line ")
                .next()
                .unwrap_or(&message)
                .to_string();
            Err(ApiError::invalid(&field, message))
        }
    }
}
