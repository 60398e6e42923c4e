//! A program's settings: read them, or replace sections of them.

use super::error::ApiResult;
use super::extract::{ApiJson, ProgramAuth};
use crate::app::App;
use axum::Json;
use axum::extract::State;
use patron_domain::ProgramSettings;

/// The program's settings, every section with its current values.
#[utoipa::path(get, path = "/v1/settings", tag = "settings", security(("program_key" = [])),
    responses((status = 200, description = "Settings", body = Object)))]
pub async fn get(
    State(app): State<App>,
    ProgramAuth(program): ProgramAuth,
) -> ApiResult<Json<ProgramSettings>> {
    Ok(Json(app.store().settings(&program.id).await?))
}

/// Replace settings. Each section given replaces that section (its missing keys take their
/// defaults); sections not given stay as they are. Invalid settings change nothing.
#[utoipa::path(put, path = "/v1/settings", tag = "settings", security(("program_key" = [])), request_body = Object,
    responses((status = 200, description = "The settings now in force", body = Object), (status = 422, body = super::error::Problem)))]
pub async fn put(
    State(app): State<App>,
    ProgramAuth(program): ProgramAuth,
    ApiJson(body): ApiJson<serde_json::Map<String, serde_json::Value>>,
) -> ApiResult<Json<ProgramSettings>> {
    Ok(Json(app.update_settings(&program.id, body).await?))
}
