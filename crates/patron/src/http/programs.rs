//! Instance administration: create and list programs.

use super::error::ApiResult;
use super::extract::{AdminAuth, ApiJson, ProgramAuth};
use crate::app::console::IssuedConsolePassword;
use crate::app::{App, CreatedProgram};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewProgramBody {
    pub name: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ProgramSummary {
    pub id: String,
    pub name: String,
    /// `native` (Patron's own mail) or `listrak`.
    pub channel: String,
    pub created_at: chrono::DateTime<chrono::Utc>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ProgramList {
    pub items: Vec<ProgramSummary>,
}

/// Create a program (a tenant). The API key and member-token secret are shown once.
#[utoipa::path(post, path = "/v1/programs", tag = "programs", request_body = NewProgramBody,
    security(("admin_token" = [])),
    responses((status = 201, body = CreatedProgram), (status = 401, body = super::error::Problem), (status = 422, body = super::error::Problem)))]
pub async fn create(
    State(app): State<App>,
    _: AdminAuth,
    ApiJson(body): ApiJson<NewProgramBody>,
) -> ApiResult<(StatusCode, Json<CreatedProgram>)> {
    Ok((
        StatusCode::CREATED,
        Json(app.create_program(&body.name).await?),
    ))
}

/// List programs (never their keys).
#[utoipa::path(get, path = "/v1/programs", tag = "programs", security(("admin_token" = [])), responses((status = 200, body = ProgramList)))]
pub async fn list(State(app): State<App>, _: AdminAuth) -> ApiResult<Json<ProgramList>> {
    let items = app
        .store()
        .list_programs()
        .await?
        .into_iter()
        .map(|p| ProgramSummary {
            id: p.id,
            name: p.name,
            channel: p.channel,
            created_at: p.created_at,
        })
        .collect();
    Ok(Json(ProgramList { items }))
}

/// Issue a console password for a program: the merchant signs in to the admin console (`/admin`) with
/// it instead of the API key. Shown once; issuing another replaces it and signs the program's console
/// sessions out.
#[utoipa::path(post, path = "/v1/programs/{id}/console-password", tag = "programs", security(("admin_token" = [])),
    params(("id" = String, Path)),
    responses((status = 201, body = IssuedConsolePassword), (status = 401, body = super::error::Problem), (status = 404, body = super::error::Problem)))]
pub async fn console_password(
    State(app): State<App>,
    _: AdminAuth,
    Path(id): Path<String>,
) -> ApiResult<(StatusCode, Json<IssuedConsolePassword>)> {
    Ok((
        StatusCode::CREATED,
        Json(app.issue_console_password(&id).await?),
    ))
}

/// The program this API key belongs to: a cheap way to check a key.
#[utoipa::path(get, path = "/v1/program", tag = "programs", security(("program_key" = [])),
    responses((status = 200, body = ProgramSummary), (status = 401, body = super::error::Problem)))]
pub async fn current(ProgramAuth(p): ProgramAuth) -> Json<ProgramSummary> {
    Json(ProgramSummary {
        id: p.id,
        name: p.name,
        channel: p.channel,
        created_at: p.created_at,
    })
}
