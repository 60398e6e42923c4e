//! Native mail: previews, and the one-click unsubscribe link every loyalty email carries.

use super::error::{ApiError, ApiResult};
use super::extract::{ApiJson, ProgramAuth};
use crate::app::App;
use crate::app::settings::{PreviewAnswer, PreviewBody};
use axum::Json;
use axum::extract::{Path, State};
use axum::response::Html;
use chrono::Utc;

/// Render an event's email with the program's templates, without sending it.
#[utoipa::path(post, path = "/v1/mail/preview", tag = "mail", security(("program_key" = [])), request_body = PreviewBody,
    responses((status = 200, body = PreviewAnswer), (status = 422, body = super::error::Problem)))]
pub async fn preview(
    State(app): State<App>,
    ProgramAuth(program): ProgramAuth,
    ApiJson(body): ApiJson<PreviewBody>,
) -> ApiResult<Json<PreviewAnswer>> {
    Ok(Json(app.preview_mail(&program.id, &body, None).await?))
}

const PAGE: &str = r#"<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>Loyalty emails</title>
<style>body{font-family:system-ui,sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem;color:#1a1a1a}button{font-size:1rem;padding:.6rem 1.2rem;border-radius:.4rem;border:1px solid #1a1a1a;background:#1a1a1a;color:#fff;cursor:pointer}</style></head><body>BODY</body></html>"#;

fn page(body: &str) -> Html<String> {
    Html(PAGE.replace("BODY", body))
}

async fn verified(app: &App, program_id: &str, member_id: &str, token: &str) -> ApiResult<()> {
    let expected = app
        .key()
        .mac(&format!("unsubscribe:{program_id}:{member_id}"));
    if !crate::crypto::same_secret(&expected, token) {
        return Err(ApiError::not_found("unsubscribe link"));
    }
    Ok(())
}

/// The page an unsubscribe link opens: one button, so that link scanners don't unsubscribe anyone.
pub async fn unsubscribe_page(
    State(app): State<App>,
    Path((program_id, member_id, token)): Path<(String, String, String)>,
) -> ApiResult<Html<String>> {
    verified(&app, &program_id, &member_id, &token).await?;
    Ok(page(
        r#"<h1>Stop loyalty emails?</h1><p>You will keep your points and rewards; we will just stop emailing you about them.</p><form method="post"><button type="submit">Unsubscribe</button></form>"#,
    ))
}

/// One-click unsubscribe (RFC 8058) and the page's button: the member is opted out of loyalty emails.
pub async fn unsubscribe(
    State(app): State<App>,
    Path((program_id, member_id, token)): Path<(String, String, String)>,
) -> ApiResult<Html<String>> {
    verified(&app, &program_id, &member_id, &token).await?;
    let member = app.store().member_by_id(&member_id).await?;
    let input = patron_store::MemberInput {
        opted_out: Some(true),
        ..Default::default()
    };
    match app
        .store()
        .upsert_member(&program_id, &member.external_id, &input, Utc::now())
        .await
    {
        Ok(_) | Err(patron_store::StoreError::Rejected(_)) => {}
        Err(e) => return Err(e.into()),
    }
    Ok(page(
        "<h1>You are unsubscribed</h1><p>You will not receive loyalty emails any more. Your points and rewards are kept.</p>",
    ))
}
