//! Operations routes: health, Prometheus metrics and the OpenAPI document.

use super::error::{ApiError, ApiResult};
use crate::app::App;
use axum::Json;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use utoipa::OpenApi;

#[derive(OpenApi)]
#[openapi(
    info(title = "Patron", description = "Self-hosted loyalty engine whose notifications go out through Listrak."),
    paths(
        super::programs::create, super::programs::list, super::programs::current,
        super::programs::console_password,
        super::settings::get, super::settings::put,
        super::members::put, super::members::get, super::members::find, super::members::delete,
        super::members::block, super::members::unblock,
        super::integrations::put, super::integrations::get, super::integrations::delete,
        super::integrations::reprovision, super::integrations::backfill, super::integrations::backfill_progress,
        super::ledger::activity, super::ledger::adjustment, super::ledger::returns, super::ledger::page,
        super::rewards::create, super::rewards::list, super::rewards::update, super::rewards::upload,
        super::rewards::redeem, super::referrals::invite, super::referrals::claim,
        super::deliveries::list, super::deliveries::detail, super::deliveries::retry, super::deliveries::replay,
        super::mail::preview, super::jobs::run, super::me::get, super::me::preferences, super::me::rotate, healthz, metrics,
        super::me::dashboard, super::me::balance, super::me::tier, super::me::history, super::me::rewards,
        super::me::redeem, super::me::referral, super::me::invite
    ),
    components(schemas(super::error::Problem)),
    modifiers(&BearerAuth)
)]
pub struct ApiDoc;

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "program_key",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("The program's API key"))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "member_token",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).bearer_format("JWT").description(Some("A member token: JWT HS256, sub = external member id, exp ≤ 24 h, signed with the program's member_token_secret")).build()),
        );
        components.add_security_scheme(
            "admin_token",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("PATRON_ADMIN_TOKEN"))
                    .build(),
            ),
        );
    }
}

/// Liveness and database reachability.
#[utoipa::path(get, path = "/healthz", tag = "operations", responses((status = 200, description = "Up, and the database answers")))]
pub async fn healthz(State(app): State<App>) -> ApiResult<Json<serde_json::Value>> {
    app.store().ping().await.map_err(ApiError::from)?;
    Ok(Json(serde_json::json!({"status": "ok"})))
}

/// Prometheus metrics in text format.
#[utoipa::path(get, path = "/metrics", tag = "operations", responses((status = 200, description = "Prometheus text exposition", content_type = "text/plain")))]
pub async fn metrics(State(app): State<App>) -> ApiResult<impl IntoResponse> {
    let depth = app.store().outbox_depth().await.map_err(ApiError::from)?;
    Ok((
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        app.metrics().render(depth),
    ))
}

pub async fn openapi() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}
