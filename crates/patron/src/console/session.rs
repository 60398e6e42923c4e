//! Who is signed in: the session cookie, the [`Console`] extractor every page takes (no session: a
//! `303` to the sign-in page), and the cookie's attributes.

use super::view::{PageError, encode_component, see_other};
use crate::app::App;
use crate::app::console::SESSION_HOURS;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, header};
use axum::response::{IntoResponse, Response};
use patron_store::ProgramRow;

pub const SESSION_COOKIE: &str = "patron_console";

/// A signed-in merchant: the program they manage, their session id and its form token.
pub struct Console {
    pub program: ProgramRow,
    pub session_id: String,
    pub csrf_token: String,
}

impl FromRequestParts<App> for Console {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<Self, Self::Rejection> {
        let Some(session_id) = cookie(&parts.headers, SESSION_COOKIE) else {
            return Err(to_sign_in(parts));
        };
        match app.console_session(&session_id).await {
            Ok(Some((program, _))) => Ok(Console {
                csrf_token: app.console_csrf_token(&session_id),
                program,
                session_id,
            }),
            Ok(None) => Err(to_sign_in(parts)),
            Err(e) => Err(PageError::from(e).into_response()),
        }
    }
}

/// `303` to the sign-in page, coming back to the page asked for (for a GET) afterwards.
fn to_sign_in(parts: &Parts) -> Response {
    let wanted = parts
        .uri
        .path_and_query()
        .map_or("/admin", |pq| pq.as_str());
    if parts.method == Method::GET && safe_next(wanted).is_some() && wanted != "/admin" {
        see_other(&format!("/admin/signin?next={}", encode_component(wanted)))
    } else {
        see_other("/admin/signin")
    }
}

/// `next` if it is a console path on this server; anything else (another site, `//host`, a path outside
/// the console) is refused, so a link cannot send a merchant elsewhere after signing in.
pub fn safe_next(next: &str) -> Option<&str> {
    let rest = next.strip_prefix("/admin")?;
    let console_path = rest.is_empty() || rest.starts_with('/') || rest.starts_with('?');
    let plain = !next.contains("//")
        && !next.contains('\\')
        && !next.chars().any(|c| c.is_control() || c.is_whitespace());
    (console_path && plain && !rest.starts_with("/signin") && !rest.starts_with("/signout"))
        .then_some(next)
}

/// A cookie's value from the request's `Cookie` headers.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim().to_string())
        .filter(|v| !v.is_empty())
}

/// Whether the browser reached us over TLS: the public URL is https, or a proxy in front says so.
pub fn over_tls(app: &App, headers: &HeaderMap) -> bool {
    app.settings().public_url.starts_with("https://")
        || headers
            .get("x-forwarded-proto")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(',').next())
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("https"))
}

/// A `Set-Cookie` value for the console: HttpOnly, SameSite=Strict, only under `/admin`, and Secure over
/// TLS. `None` clears the cookie.
pub fn set_cookie(name: &str, value: Option<&str>, max_age_secs: i64, secure: bool) -> String {
    let (value, max_age) = match value {
        Some(v) => (v, max_age_secs),
        None => ("", 0),
    };
    format!(
        "{name}={value}; Path=/admin; HttpOnly; SameSite=Strict; Max-Age={max_age}{}",
        if secure { "; Secure" } else { "" }
    )
}

/// The session cookie for a new session.
pub fn session_cookie(session_id: &str, secure: bool) -> String {
    set_cookie(
        SESSION_COOKIE,
        Some(session_id),
        SESSION_HOURS * 3600,
        secure,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_console_paths_are_followed_after_sign_in() {
        for good in ["/admin", "/admin/members?q=ann", "/admin/deliveries/3"] {
            assert_eq!(safe_next(good), Some(good), "{good}");
        }
        for bad in [
            "//evil.example/admin",
            "https://evil.example/admin",
            "/admin//evil.example",
            "/administrator",
            "/admin/\\evil",
            "/v1/members",
            "/admin/signout",
        ] {
            assert_eq!(safe_next(bad), None, "{bad}");
        }
    }

    #[test]
    fn cookies_are_found_by_name() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            "a=1; patron_console=abc; b=2".parse().expect("header"),
        );
        assert_eq!(cookie(&headers, SESSION_COOKIE).as_deref(), Some("abc"));
        assert_eq!(cookie(&headers, "c"), None);
    }
}
