//! Members: create or update, read, find by email, block, unblock, delete.

use super::error::{ApiError, ApiResult};
use super::extract::{ApiJson, ProgramAuth};
use crate::app::members::external_id;
use crate::app::{App, MemberPatch, MemberView};
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use chrono::Utc;
use patron_domain::MemberStatus;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// Create the member, or update the fields given (absent fields are kept; `null` clears).
#[utoipa::path(put, path = "/v1/members/{external_id}", tag = "members", security(("program_key" = [])),
    params(("external_id" = String, Path, description = "The store's customer id")), request_body = MemberPatch,
    responses((status = 201, description = "Created", body = MemberView), (status = 200, description = "Updated", body = MemberView),
              (status = 409, body = super::error::Problem), (status = 422, body = super::error::Problem)))]
pub async fn put(
    State(app): State<App>,
    ProgramAuth(program): ProgramAuth,
    Path(raw_id): Path<String>,
    ApiJson(body): ApiJson<MemberPatch>,
) -> ApiResult<(StatusCode, Json<MemberView>)> {
    let id = external_id(&raw_id)?;
    let input = body.into_input()?;
    let upsert = app
        .store()
        .upsert_member(&program.id, id.as_str(), &input, Utc::now())
        .await?;
    let status = if upsert.created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((
        status,
        Json(app.member_view(&program.id, upsert.member).await?),
    ))
}

/// A member with balances, tier, referral code and URL, and computed fields.
#[utoipa::path(get, path = "/v1/members/{external_id}", tag = "members", security(("program_key" = [])),
    params(("external_id" = String, Path, description = "The store's customer id")),
    responses((status = 200, body = MemberView), (status = 404, body = super::error::Problem)))]
pub async fn get(
    State(app): State<App>,
    ProgramAuth(program): ProgramAuth,
    Path(raw_id): Path<String>,
) -> ApiResult<Json<MemberView>> {
    let member = app.store().member(&program.id, &raw_id).await?;
    Ok(Json(app.member_view(&program.id, member).await?))
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct FindQuery {
    /// Compared case-insensitively.
    pub email: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MemberList {
    pub items: Vec<MemberView>,
}

/// Members with this email address.
#[utoipa::path(get, path = "/v1/members", tag = "members", security(("program_key" = [])), params(FindQuery),
    responses((status = 200, body = MemberList)))]
pub async fn find(
    State(app): State<App>,
    ProgramAuth(program): ProgramAuth,
    Query(query): Query<FindQuery>,
) -> ApiResult<Json<MemberList>> {
    let Some(email) = query.email else {
        return Err(ApiError::invalid(
            "email",
            "give ?email=ADDRESS to find members",
        ));
    };
    let found = app
        .store()
        .find_members_by_email(&program.id, &email)
        .await?;
    let items = app.member_views(&program.id, found).await?;
    Ok(Json(MemberList { items }))
}

async fn set_status(
    app: &App,
    program_id: &str,
    raw_id: &str,
    status: MemberStatus,
) -> ApiResult<Json<MemberView>> {
    let member = app
        .store()
        .set_member_status(program_id, raw_id, status, Utc::now())
        .await?;
    Ok(Json(app.member_view(program_id, member).await?))
}

/// Block: the member neither earns nor redeems nor gets referral rewards.
#[utoipa::path(post, path = "/v1/members/{external_id}/block", tag = "members", security(("program_key" = [])),
    params(("external_id" = String, Path)), responses((status = 200, body = MemberView), (status = 404, body = super::error::Problem)))]
pub async fn block(
    State(app): State<App>,
    ProgramAuth(program): ProgramAuth,
    Path(raw_id): Path<String>,
) -> ApiResult<Json<MemberView>> {
    set_status(&app, &program.id, &raw_id, MemberStatus::Blocked).await
}

/// Unblock: the member is Active again.
#[utoipa::path(post, path = "/v1/members/{external_id}/unblock", tag = "members", security(("program_key" = [])),
    params(("external_id" = String, Path)), responses((status = 200, body = MemberView), (status = 409, body = super::error::Problem)))]
pub async fn unblock(
    State(app): State<App>,
    ProgramAuth(program): ProgramAuth,
    Path(raw_id): Path<String>,
) -> ApiResult<Json<MemberView>> {
    set_status(&app, &program.id, &raw_id, MemberStatus::Active).await
}

/// Delete: the member is marked Deleted and frozen (no more ledger writes or events).
#[utoipa::path(delete, path = "/v1/members/{external_id}", tag = "members", security(("program_key" = [])),
    params(("external_id" = String, Path)), responses((status = 200, body = MemberView), (status = 404, body = super::error::Problem)))]
pub async fn delete(
    State(app): State<App>,
    ProgramAuth(program): ProgramAuth,
    Path(raw_id): Path<String>,
) -> ApiResult<Json<MemberView>> {
    set_status(&app, &program.id, &raw_id, MemberStatus::Deleted).await
}
