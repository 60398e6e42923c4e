//! The browser's side of the member routes: store pages of other origins call `/v1/me…` with a member
//! token, and may read the answers only when the token's program lists their origin in
//! `dashboard.allowed_origins`.
//!
//! A preflight carries no token, so it is answered for any origin some program allows. The real
//! request then carries the token: from an origin its program does not allow it is refused (403,
//! before anything changes); otherwise the answer names the origin in
//! `Access-Control-Allow-Origin`. Answers to requests without a valid token (401) are readable by
//! pages some program allows, so the widget can say that the session expired. Credentials (cookies)
//! are never allowed: the bearer token is the only credential, which is what keeps the member routes
//! safe from cross-site request forgery. Same-origin calls (the hosted page) need none of this.

use super::error::ApiError;
use super::extract::bearer_token;
use crate::app::App;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use patron_domain::settings::normalize_origin;

const ALLOW_METHODS: &str = "GET, PUT, POST";
const ALLOW_HEADERS: &str = "authorization, content-type, idempotency-key, patron-program";
const EXPOSE_HEADERS: &str = "retry-after, idempotent-replayed";
/// How long a browser may reuse a preflight answer, in seconds.
const PREFLIGHT_MAX_AGE: &str = "600";

pub async fn check_origin(State(app): State<App>, mut req: Request, next: Next) -> Response {
    let Some(origin) = req
        .headers()
        .get(header::ORIGIN)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
    else {
        return next.run(req).await;
    };
    if same_origin(&app, &origin, req.headers()) {
        return next.run(req).await;
    }
    let preflight = req.method() == Method::OPTIONS
        && req
            .headers()
            .contains_key(header::ACCESS_CONTROL_REQUEST_METHOD);
    if preflight {
        return match app.origin_allowed_by_any(&origin).await {
            Ok(true) => preflight_answer(&origin),
            Ok(false) => refused(&origin),
            Err(e) => ApiError::from(e).into_response(),
        };
    }
    let verified = match bearer_token(req.headers()) {
        Some(token) => match app.verify_member_token(token).await {
            Ok(result) => result.ok(),
            Err(e) => return ApiError::from(e).into_response(),
        },
        None => None,
    };
    match verified {
        Some(claims) => match app.origin_allowed_by(&claims.program_id, &origin).await {
            Ok(true) => {
                req.extensions_mut().insert(claims);
                readable_by(next.run(req).await, &origin)
            }
            Ok(false) => refused(&origin),
            Err(e) => ApiError::from(e).into_response(),
        },
        None => {
            let known = app.origin_allowed_by_any(&origin).await.unwrap_or(false);
            let response = next.run(req).await;
            if known {
                readable_by(response, &origin)
            } else {
                response
            }
        }
    }
}

/// Whether the page calling is Patron's own (the hosted dashboard): its origin is the public URL's,
/// or names the host the request was sent to.
fn same_origin(app: &App, origin: &str, headers: &HeaderMap) -> bool {
    let Ok(origin) = normalize_origin(origin) else {
        return false;
    };
    let public_origin = app
        .settings()
        .public_url
        .split_once("://")
        .map(|(scheme, rest)| format!("{scheme}://{}", rest.split('/').next().unwrap_or_default()));
    if public_origin.and_then(|p| normalize_origin(&p).ok()) == Some(origin.clone()) {
        return true;
    }
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .map(str::to_ascii_lowercase);
    let authority = origin.split_once("://").map(|(_, a)| a);
    host.is_some() && host.as_deref() == authority
}

fn set(response: &mut Response, name: header::HeaderName, value: &str) {
    if let Ok(v) = HeaderValue::from_str(value) {
        response.headers_mut().insert(name, v);
    }
}

fn readable_by(mut response: Response, origin: &str) -> Response {
    set(&mut response, header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
    set(
        &mut response,
        header::ACCESS_CONTROL_EXPOSE_HEADERS,
        EXPOSE_HEADERS,
    );
    response
        .headers_mut()
        .append(header::VARY, HeaderValue::from_static("origin"));
    response
}

fn preflight_answer(origin: &str) -> Response {
    let mut response = StatusCode::NO_CONTENT.into_response();
    set(&mut response, header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
    set(
        &mut response,
        header::ACCESS_CONTROL_ALLOW_METHODS,
        ALLOW_METHODS,
    );
    set(
        &mut response,
        header::ACCESS_CONTROL_ALLOW_HEADERS,
        ALLOW_HEADERS,
    );
    set(
        &mut response,
        header::ACCESS_CONTROL_MAX_AGE,
        PREFLIGHT_MAX_AGE,
    );
    set(
        &mut response,
        header::VARY,
        "origin, access-control-request-method, access-control-request-headers",
    );
    response
}

fn refused(origin: &str) -> Response {
    ApiError::new(
        StatusCode::FORBIDDEN,
        "origin_not_allowed",
        format!(
            "pages of {origin} may not call the member routes of this program: add the origin to the \
             program's settings, dashboard.allowed_origins"
        ),
    )
    .into_response()
}
