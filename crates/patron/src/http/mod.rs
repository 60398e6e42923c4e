//! The HTTP API: thin routes that authenticate, validate and call one use case each.

mod assets;
mod deliveries;
pub mod error;
pub mod extract;
mod integrations;
mod jobs;
mod ledger;
mod mail;
mod me;
mod member_cors;
mod member_page;
mod members;
mod ops;
mod programs;
mod referrals;
mod rewards;
mod settings;

use crate::app::App;
use axum::Router;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{get, patch, post};
use error::ApiError;
use std::time::Instant;

pub use ops::ApiDoc;

pub fn router(app: App) -> Router {
    let limit = app.settings().max_body_bytes;
    Router::new()
        .route("/healthz", get(ops::healthz))
        .route("/metrics", get(ops::metrics))
        .route("/openapi.json", get(ops::openapi))
        .route("/assets/{name}", get(assets::get))
        .route("/v1/programs", post(programs::create).get(programs::list))
        .route("/v1/program", get(programs::current))
        .merge(me::routes(app.clone()))
        .route("/m/{program_id}", get(member_page::page))
        .route(
            "/v1/programs/{id}/console-password",
            post(programs::console_password),
        )
        .route("/v1/member-token-secret", post(me::rotate))
        .route("/v1/settings", get(settings::get).put(settings::put))
        .route("/v1/members", get(members::find))
        .route(
            "/v1/members/{external_id}",
            get(members::get).put(members::put).delete(members::delete),
        )
        .route("/v1/members/{external_id}/block", post(members::block))
        .route("/v1/members/{external_id}/unblock", post(members::unblock))
        .route(
            "/v1/members/{external_id}/activities",
            post(ledger::activity),
        )
        .route(
            "/v1/members/{external_id}/adjustments",
            post(ledger::adjustment),
        )
        .route("/v1/members/{external_id}/returns", post(ledger::returns))
        .route("/v1/members/{external_id}/ledger", get(ledger::page))
        .route("/v1/rewards", post(rewards::create).get(rewards::list))
        .route("/v1/rewards/{id}", patch(rewards::update))
        .route("/v1/rewards/{id}/coupons", post(rewards::upload))
        .route(
            "/v1/members/{external_id}/redemptions",
            post(rewards::redeem),
        )
        .route(
            "/v1/members/{external_id}/referral-invitations",
            post(referrals::invite),
        )
        .route("/v1/referrals/claims", post(referrals::claim))
        .route("/v1/deliveries", get(deliveries::list))
        .route("/v1/deliveries/replay", post(deliveries::replay))
        .route("/v1/deliveries/{id}", get(deliveries::detail))
        .route("/v1/deliveries/{id}/retry", post(deliveries::retry))
        .route("/v1/mail/preview", post(mail::preview))
        .route(
            "/unsubscribe/{program_id}/{member_id}/{token}",
            get(mail::unsubscribe_page).post(mail::unsubscribe),
        )
        .route("/v1/jobs/{job}/run", post(jobs::run))
        .route(
            "/v1/integrations/listrak",
            get(integrations::get)
                .put(integrations::put)
                .delete(integrations::delete),
        )
        .route(
            "/v1/integrations/listrak/reprovision",
            post(integrations::reprovision),
        )
        .route(
            "/v1/integrations/listrak/backfill",
            post(integrations::backfill).get(integrations::backfill_progress),
        )
        .merge(crate::console::router())
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(limit))
        .layer(middleware::from_fn_with_state(app.clone(), observe))
        .with_state(app)
}

async fn not_found() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "not_found",
        "no such route; see /openapi.json for the API",
    )
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "this route does not accept this method; see /openapi.json",
    )
}

/// Records each request in the metrics, by its route template (not its raw path).
async fn observe(State(app): State<App>, req: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = req.method().clone();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", |p| p.as_str())
        .to_string();
    let response = next.run(req).await;
    app.metrics().observe_request(
        method.as_str(),
        &route,
        response.status().as_u16(),
        started.elapsed(),
    );
    response
}
