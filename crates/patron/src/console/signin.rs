//! Signing in and out. The sign-in form has its own CSRF token, tied to a short-lived cookie set with
//! the form, since there is no session yet; a sign-in never says whether a key exists.

use super::csrf::{Posted, same_origin};
use super::session::{SESSION_COOKIE, cookie, over_tls, safe_next, session_cookie, set_cookie};
use super::view::{PageResult, Policy, page as html, see_other};
use crate::app::App;
use crate::crypto::{random_token, same_secret};
use axum::Form;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use minijinja::context;
use serde::Deserialize;

const SIGNIN_COOKIE: &str = "patron_console_signin";

#[derive(Debug, Deserialize)]
pub struct SignInQuery {
    next: Option<String>,
    signed_out: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct SignInForm {
    #[serde(default)]
    secret: String,
    #[serde(default)]
    next: String,
    #[serde(default, rename = "_csrf")]
    csrf: String,
}

fn signin_token(app: &App, nonce: &str) -> String {
    app.key().mac(&format!("console-signin:{nonce}"))
}

/// The sign-in page with a fresh form token (and its cookie), `status` and a message by the field.
fn form_page(
    app: &App,
    headers: &HeaderMap,
    status: StatusCode,
    next: &str,
    error: Option<&str>,
    notice: Option<&str>,
) -> Response {
    let nonce = random_token("", 16);
    let ctx = context! {
        csrf_token => signin_token(app, &nonce),
        next => safe_next(next).unwrap_or("/admin"),
        error => error,
        notice => notice,
    };
    let mut response = html("signin.html", status, ctx, Policy::Strict);
    let cookie = set_cookie(SIGNIN_COOKIE, Some(&nonce), 3600, over_tls(app, headers));
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        response.headers_mut().append(header::SET_COOKIE, v);
    }
    response
}

/// `GET /admin/signin`: the form, or straight on when already signed in.
pub async fn page(
    State(app): State<App>,
    headers: HeaderMap,
    Query(query): Query<SignInQuery>,
) -> PageResult {
    let next = query.next.as_deref().unwrap_or("/admin");
    if let Some(id) = cookie(&headers, SESSION_COOKIE)
        && app.console_session(&id).await?.is_some()
    {
        return Ok(see_other(safe_next(next).unwrap_or("/admin")));
    }
    let notice = query
        .signed_out
        .is_some()
        .then_some("You are signed out. Sign in again to manage your program.");
    Ok(form_page(
        &app,
        &headers,
        StatusCode::OK,
        next,
        None,
        notice,
    ))
}

/// `POST /admin/signin`: a session for the program whose API key or console password was given.
pub async fn submit(
    State(app): State<App>,
    headers: HeaderMap,
    Form(form): Form<SignInForm>,
) -> PageResult {
    let nonce = cookie(&headers, SIGNIN_COOKIE).unwrap_or_default();
    let genuine = same_origin(&app, &headers)
        && !nonce.is_empty()
        && !form.csrf.is_empty()
        && same_secret(&form.csrf, &signin_token(&app, &nonce));
    if !genuine {
        return Ok(form_page(
            &app,
            &headers,
            StatusCode::FORBIDDEN,
            &form.next,
            Some(
                "This sign-in form expired or did not come from this page. Enter your key again; if this keeps happening, allow cookies for this site.",
            ),
            None,
        ));
    }
    let Some(signed_in) = app.console_sign_in(&form.secret).await? else {
        return Ok(form_page(
            &app,
            &headers,
            StatusCode::UNAUTHORIZED,
            &form.next,
            Some(
                "This is not a valid API key or console password. Paste the program's API key (it starts with pk_) or the console password your Patron administrator issued.",
            ),
            None,
        ));
    };
    tracing::info!(program = %signed_in.program.id, "console sign-in");
    let secure = over_tls(&app, &headers);
    let mut response = see_other(safe_next(&form.next).unwrap_or("/admin"));
    let h = response.headers_mut();
    for cookie in [
        session_cookie(&signed_in.session_id, secure),
        set_cookie(SIGNIN_COOKIE, None, 0, secure),
    ] {
        if let Ok(v) = HeaderValue::from_str(&cookie) {
            h.append(header::SET_COOKIE, v);
        }
    }
    Ok(response)
}

/// `POST /admin/signout`: the session ends on the server, and its cookie is cleared.
pub async fn sign_out(
    State(app): State<App>,
    headers: HeaderMap,
    posted: Posted<Vec<(String, String)>>,
) -> PageResult {
    app.console_sign_out(&posted.console.session_id).await?;
    let mut response = see_other("/admin/signin?signed_out=1");
    let cookie = set_cookie(SESSION_COOKIE, None, 0, over_tls(&app, &headers));
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        response.headers_mut().append(header::SET_COOKIE, v);
    }
    Ok(response)
}
