//! The Listrak integration: connect, show, re-provision, disconnect, and backfill existing members.

use super::error::ApiResult;
use super::extract::{ApiJson, ProgramAuth, parse_json};
use crate::app::App;
use crate::app::backfill::{BackfillOptions, BackfillView};
use crate::app::integration::{ConnectRequest, IntegrationView};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;

/// Connect Listrak: checks the credentials (a token request), stores them sealed, provisions each list
/// (list, event group, the ten events, field group, every profile field; adopting what exists) and
/// switches the program's notifications to Listrak. Saving again is safe: it reconciles.
#[utoipa::path(put, path = "/v1/integrations/listrak", tag = "listrak", security(("program_key" = [])),
    request_body = ConnectRequest,
    responses((status = 200, body = IntegrationView),
              (status = 422, description = "Invalid input, or `listrak_credentials_rejected`", body = super::error::Problem),
              (status = 502, description = "`listrak_failed`: Listrak could not be reached or refused provisioning", body = super::error::Problem)))]
pub async fn put(
    State(app): State<App>,
    ProgramAuth(program): ProgramAuth,
    ApiJson(body): ApiJson<ConnectRequest>,
) -> ApiResult<Json<IntegrationView>> {
    Ok(Json(app.connect_listrak(&program.id, body).await?))
}

/// Status and every provisioned id by name (never the secret), with the admin notice.
#[utoipa::path(get, path = "/v1/integrations/listrak", tag = "listrak", security(("program_key" = [])),
    responses((status = 200, body = IntegrationView), (status = 404, body = super::error::Problem)))]
pub async fn get(
    State(app): State<App>,
    ProgramAuth(program): ProgramAuth,
) -> ApiResult<Json<IntegrationView>> {
    Ok(Json(app.listrak_view(&program.id).await?))
}

/// Disconnect: forgets the secret and switches notifications back to native mail.
#[utoipa::path(delete, path = "/v1/integrations/listrak", tag = "listrak", security(("program_key" = [])),
    responses((status = 200, body = IntegrationView), (status = 404, body = super::error::Problem)))]
pub async fn delete(
    State(app): State<App>,
    ProgramAuth(program): ProgramAuth,
) -> ApiResult<Json<IntegrationView>> {
    Ok(Json(app.disconnect_listrak(&program.id).await?))
}

/// Re-run provisioning with the stored credentials (e.g. after a list was deleted in Listrak).
#[utoipa::path(post, path = "/v1/integrations/listrak/reprovision", tag = "listrak", security(("program_key" = [])),
    responses((status = 200, body = IntegrationView), (status = 404, body = super::error::Problem),
              (status = 502, body = super::error::Problem)))]
pub async fn reprovision(
    State(app): State<App>,
    ProgramAuth(program): ProgramAuth,
) -> ApiResult<Json<IntegrationView>> {
    Ok(Json(app.provision_listrak(&program.id).await?))
}

/// Start (or resume) the backfill of every existing member into every list, in the background.
#[utoipa::path(post, path = "/v1/integrations/listrak/backfill", tag = "listrak", security(("program_key" = [])),
    request_body = Option<BackfillOptions>,
    responses((status = 202, body = BackfillView), (status = 404, body = super::error::Problem)))]
pub async fn backfill(
    State(app): State<App>,
    ProgramAuth(program): ProgramAuth,
    body: axum::body::Bytes,
) -> ApiResult<(StatusCode, Json<BackfillView>)> {
    let options: BackfillOptions = if body.iter().all(u8::is_ascii_whitespace) {
        BackfillOptions::default()
    } else {
        parse_json(&body)?
    };
    let view = app
        .start_backfill_in_background(&program.id, options)
        .await?;
    Ok((StatusCode::ACCEPTED, Json(view)))
}

/// Backfill progress per list.
#[utoipa::path(get, path = "/v1/integrations/listrak/backfill", tag = "listrak", security(("program_key" = [])),
    responses((status = 200, body = BackfillView)))]
pub async fn backfill_progress(
    State(app): State<App>,
    ProgramAuth(program): ProgramAuth,
) -> ApiResult<Json<BackfillView>> {
    Ok(Json(app.backfill_view(&program.id).await?))
}
