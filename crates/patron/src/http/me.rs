//! The member's own view, authenticated by a member token signed by the store's backend.

use super::error::ApiResult;
use super::extract::{ApiJson, MemberAuth, ProgramAuth};
use crate::app::{App, MemberView};
use axum::Json;
use axum::extract::State;
use chrono::Utc;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The member, as `GET /v1/members/{externalId}` shows them.
#[utoipa::path(get, path = "/v1/me", tag = "members", security(("member_token" = [])),
    responses((status = 200, body = MemberView), (status = 401, body = super::error::Problem)))]
pub async fn get(
    State(app): State<App>,
    MemberAuth(claims): MemberAuth,
) -> ApiResult<Json<MemberView>> {
    let member = app
        .store()
        .member(&claims.program_id, &claims.external_id)
        .await?;
    Ok(Json(app.member_view(&claims.program_id, member).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PreferencesBody {
    /// `true` stops loyalty emails (points and rewards are kept).
    pub opted_out: bool,
}

/// The member opts out of (or back into) loyalty emails.
#[utoipa::path(put, path = "/v1/me/preferences", tag = "members", security(("member_token" = [])), request_body = PreferencesBody,
    responses((status = 200, body = MemberView), (status = 401, body = super::error::Problem)))]
pub async fn preferences(
    State(app): State<App>,
    MemberAuth(claims): MemberAuth,
    ApiJson(body): ApiJson<PreferencesBody>,
) -> ApiResult<Json<MemberView>> {
    let input = patron_store::MemberInput {
        opted_out: Some(body.opted_out),
        ..Default::default()
    };
    let upsert = app
        .store()
        .upsert_member(&claims.program_id, &claims.external_id, &input, Utc::now())
        .await?;
    Ok(Json(
        app.member_view(&claims.program_id, upsert.member).await?,
    ))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RotatedSecret {
    /// The new secret. Shown once; tokens signed with the old one stop working at once.
    pub member_token_secret: String,
}

/// Replace the program's member-token secret.
#[utoipa::path(post, path = "/v1/member-token-secret", tag = "programs", security(("program_key" = [])),
    responses((status = 200, body = RotatedSecret)))]
pub async fn rotate(
    State(app): State<App>,
    ProgramAuth(program): ProgramAuth,
) -> ApiResult<Json<RotatedSecret>> {
    Ok(Json(RotatedSecret {
        member_token_secret: app.rotate_member_token_secret(&program.id).await?,
    }))
}
