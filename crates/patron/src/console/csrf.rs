//! Forged form posts are refused: every console form carries its session's token (a hidden `_csrf`
//! field, or the `X-CSRF-Token` header for scripts), compared in constant time, and a request whose
//! `Origin` (or `Referer`) names another site is refused even with a token.

use super::session::Console;
use super::view::PageError;
use crate::app::App;
use crate::crypto::same_secret;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;

pub const FIELD: &str = "_csrf";
pub const HEADER: &str = "x-csrf-token";

/// A form posted from a console page by the signed-in merchant: session checked, origin checked, token
/// checked, body parsed.
pub struct Posted<T> {
    pub console: Console,
    pub form: T,
}

impl<T: DeserializeOwned> FromRequest<App> for Posted<T> {
    type Rejection = Response;

    async fn from_request(req: Request, app: &App) -> Result<Self, Self::Rejection> {
        let (mut parts, body) = req.into_parts();
        let console = Console::from_request_parts(&mut parts, app).await?;
        if !same_origin(app, &parts.headers) {
            return Err(refused());
        }
        let bytes = axum::body::to_bytes(body, app.settings().max_body_bytes)
            .await
            .map_err(|_| {
                PageError::new(
                    axum::http::StatusCode::PAYLOAD_TOO_LARGE,
                    "This form is larger than the server accepts. Shorten it and try again.",
                )
                .into_response()
            })?;
        let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(&bytes).unwrap_or_default();
        let token = pairs
            .iter()
            .find(|(k, _)| k == FIELD)
            .map(|(_, v)| v.as_str())
            .or_else(|| parts.headers.get(HEADER).and_then(|v| v.to_str().ok()));
        if !token.is_some_and(|t| same_secret(t, &console.csrf_token)) {
            return Err(refused());
        }
        let form = serde_urlencoded::from_bytes(&bytes).map_err(|_| {
            PageError::new(
                axum::http::StatusCode::BAD_REQUEST,
                "This form could not be read. Reload the page and submit it again.",
            )
            .into_response()
        })?;
        Ok(Posted { console, form })
    }
}

fn refused() -> Response {
    PageError::forbidden(
        "This form did not come from your console session, or the page is out of date. \
         Reload the page and submit the form again.",
    )
    .into_response()
}

/// False when the browser says the request comes from another site. Browsers send `Origin` with every
/// form post; when neither it nor `Referer` is present, the token alone decides.
pub fn same_origin(app: &App, headers: &HeaderMap) -> bool {
    let text = |name| headers.get(name).and_then(|v| v.to_str().ok());
    let claimed = match (text(header::ORIGIN), text(header::REFERER)) {
        (Some(origin), _) => origin.to_string(),
        (None, Some(referer)) => match origin_of(referer) {
            Some(o) => o,
            None => return false,
        },
        (None, None) => return true,
    };
    let ours = origin_of(&app.settings().public_url);
    let host = text(header::HOST);
    ours.as_deref() == Some(claimed.as_str())
        || host.is_some_and(|h| {
            claimed.eq_ignore_ascii_case(&format!("http://{h}"))
                || claimed.eq_ignore_ascii_case(&format!("https://{h}"))
        })
}

/// `scheme://host[:port]` of a URL.
fn origin_of(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let authority = rest.split(['/', '?', '#']).next()?;
    (!authority.is_empty()).then(|| format!("{scheme}://{authority}"))
}

#[cfg(test)]
mod tests {
    use super::origin_of;

    #[test]
    fn origins_are_scheme_host_and_port() {
        assert_eq!(
            origin_of("http://127.0.0.1:8080/admin/x?y").as_deref(),
            Some("http://127.0.0.1:8080")
        );
        assert_eq!(
            origin_of("https://shop.example").as_deref(),
            Some("https://shop.example")
        );
        assert_eq!(origin_of("null"), None);
    }
}
