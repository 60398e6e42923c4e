//! The hosted members' dashboard, `/m/{programId}#token=<member token>`: a small page that loads the
//! same widget stores embed. The token travels in the URL's fragment, which browsers never send to a
//! server, so it stays out of request logs and `Referer` headers; the widget removes it from the
//! address bar once read. Assets are linked relative to the page, so the page works at whatever
//! address (and path prefix) a reverse proxy serves Patron.

use super::error::{ApiError, ApiResult};
use crate::app::App;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, header};
use axum::response::{Html, IntoResponse, Response};

const TEMPLATE: &str = include_str!("../../templates/member_page.html");

/// Scripts and styles from Patron only; the page talks to Patron only.
const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
     connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'";

/// `GET /m/{program_id}`.
pub async fn page(State(app): State<App>, Path(program_id): Path<String>) -> ApiResult<Response> {
    let program = app.store().program(&program_id).await?;
    let mut env = minijinja::Environment::new();
    env.set_auto_escape_callback(|_| minijinja::AutoEscape::Html);
    let html = env
        .render_str(
            TEMPLATE,
            minijinja::context! {
                program_name => program.name,
                program_id => program.id,
            },
        )
        .map_err(|e| ApiError::internal(&e))?;
    let mut response = Html(html).into_response();
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    Ok(response)
}
