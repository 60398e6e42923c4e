//! Rendering console pages: the minijinja templates embedded from `templates/console/` (HTML escaped
//! automatically), the headers every page carries, and the error page.

use crate::app::AppError;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use minijinja::value::Value;
use minijinja::{Environment, context};
use patron_store::StoreError;
use std::sync::LazyLock;

macro_rules! templates {
    ($($name:literal),* $(,)?) => {
        &[$(($name, include_str!(concat!("../../templates/console/", $name)))),*]
    };
}

const TEMPLATES: &[(&str, &str)] = templates!(
    "layout.html",
    "macros.html",
    "signin.html",
    "overview.html",
    "listrak.html",
    "deliveries.html",
    "delivery.html",
    "members.html",
    "member.html",
    "settings.html",
    "templates.html",
    "error.html",
);

static ENV: LazyLock<Environment<'static>> = LazyLock::new(|| {
    let mut env = Environment::new();
    for (name, source) in TEMPLATES {
        if let Err(e) = env.add_template(name, source) {
            // A template that does not compile is a bug caught by every test that opens the console.
            tracing::error!(template = name, error = %e, "a console template does not compile");
        }
    }
    env.add_filter("urlencode", |s: String| encode_component(&s));
    env.add_filter("when", when);
    env
});

/// Percent-encodes a path segment or query value.
pub fn encode_component(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// An RFC 3339 instant as operators read it: `2026-05-01 12:00:03 UTC`.
fn when(s: String) -> String {
    chrono::DateTime::parse_from_rfc3339(&s)
        .map(|t| {
            t.with_timezone(&chrono::Utc)
                .format("%Y-%m-%d %H:%M:%S UTC")
                .to_string()
        })
        .unwrap_or(s)
}

/// How strict a page's Content-Security-Policy is.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Policy {
    /// Scripts, styles and images from this server only.
    Strict,
    /// Also inline styles: for the email preview, whose HTML (shown in a sandboxed frame without
    /// scripts) carries its own styles.
    EmailPreview,
}

/// Renders a template into a response with the console's headers.
pub fn page(template: &str, status: StatusCode, ctx: Value, policy: Policy) -> Response {
    let html = ENV.get_template(template).and_then(|t| t.render(ctx));
    match html {
        Ok(html) => respond(status, html, policy),
        Err(e) => {
            tracing::error!(template, error = %e, "a console page did not render");
            respond(
                StatusCode::INTERNAL_SERVER_ERROR,
                "<!doctype html><title>Error</title><p>This page could not be shown; the cause was logged.</p>"
                    .into(),
                Policy::Strict,
            )
        }
    }
}

fn respond(status: StatusCode, html: String, policy: Policy) -> Response {
    let mut response = (status, html).into_response();
    let h = response.headers_mut();
    let style = match policy {
        Policy::Strict => "style-src 'self'",
        Policy::EmailPreview => "style-src 'self' 'unsafe-inline'",
    };
    let csp = format!(
        "default-src 'none'; script-src 'self'; {style}; img-src 'self' data: https:; connect-src 'self'; \
         form-action 'self'; frame-src 'self'; frame-ancestors 'none'; base-uri 'none'"
    );
    if let Ok(v) = HeaderValue::from_str(&csp) {
        h.insert(header::CONTENT_SECURITY_POLICY, v);
    }
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    response
}

/// A `303 See Other` to a console path.
pub fn see_other(location: &str) -> Response {
    let mut response = StatusCode::SEE_OTHER.into_response();
    if let Ok(v) = HeaderValue::from_str(location) {
        response.headers_mut().insert(header::LOCATION, v);
    }
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// A page that could not be shown, in plain words.
#[derive(Debug)]
pub struct PageError {
    pub status: StatusCode,
    pub message: String,
}

impl PageError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> PageError {
        PageError {
            status,
            message: message.into(),
        }
    }
    pub fn forbidden(message: impl Into<String>) -> PageError {
        PageError::new(StatusCode::FORBIDDEN, message)
    }
}

impl From<StoreError> for PageError {
    fn from(e: StoreError) -> PageError {
        PageError::from(AppError::Store(e))
    }
}

impl From<AppError> for PageError {
    fn from(e: AppError) -> PageError {
        match e {
            AppError::Store(StoreError::NotFound(what)) => PageError::new(
                StatusCode::NOT_FOUND,
                format!("This {what} does not exist in your program. Go back and pick another."),
            ),
            AppError::Store(StoreError::Rejected(r)) => PageError::new(
                if r.conflict {
                    StatusCode::CONFLICT
                } else {
                    StatusCode::UNPROCESSABLE_ENTITY
                },
                r.message,
            ),
            AppError::Invalid(problems) => PageError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                problems
                    .iter()
                    .map(|p| format!("{}: {}", p.field, p.message))
                    .collect::<Vec<_>>()
                    .join("; "),
            ),
            AppError::NotConnected => PageError::new(
                StatusCode::NOT_FOUND,
                "Listrak is not connected for this program: connect it on the Listrak page first.",
            ),
            AppError::ListrakCredentials(detail) => PageError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                format!("Listrak refused the credentials: {detail}"),
            ),
            AppError::Listrak { message, source } => {
                tracing::warn!(error = %source, "{message}");
                PageError::new(StatusCode::BAD_GATEWAY, format!("{message}: {source}"))
            }
            other => {
                let mut chain = other.to_string();
                let mut source = std::error::Error::source(&other);
                while let Some(s) = source {
                    chain.push_str(": ");
                    chain.push_str(&s.to_string());
                    source = s.source();
                }
                tracing::error!(error = %chain, "a console page failed");
                PageError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Something went wrong on our side; it was logged. Try again in a moment.",
                )
            }
        }
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        page(
            "error.html",
            self.status,
            context! { status => self.status.as_u16(), message => self.message },
            Policy::Strict,
        )
    }
}

pub type PageResult = Result<Response, PageError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_console_template_compiles() {
        let mut env = Environment::new();
        for (name, source) in TEMPLATES {
            env.add_template(name, source)
                .unwrap_or_else(|e| panic!("{name}: {e}"));
        }
    }

    #[test]
    fn path_segments_are_percent_encoded() {
        assert_eq!(encode_component("a b/c?d%"), "a%20b%2Fc%3Fd%25");
        assert_eq!(encode_component("cust-42_x.y~"), "cust-42_x.y~");
    }
}
