//! Notifications: what the outbox recorded and what became of it.

use super::error::ApiResult;
use super::extract::{ApiJson, ProgramAuth};
use super::ledger::parse_cursor;
use crate::app::App;
use crate::app::deliveries::{DeliveryDetail, DeliveryItem, DeliveryPage};
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use patron_store::DeliveryFilter;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

#[derive(Debug, Deserialize, IntoParams)]
pub struct DeliveryQuery {
    /// A member's external id.
    pub member: Option<String>,
    /// An event name, e.g. `Points Earned`.
    pub event: Option<String>,
    /// `pending`, `in_flight`, `delivered` or `dead`.
    pub status: Option<String>,
    pub cursor: Option<String>,
    pub limit: Option<u32>,
}

/// Notifications, newest first, filtered by member, event and status.
#[utoipa::path(get, path = "/v1/deliveries", tag = "deliveries", security(("program_key" = [])), params(DeliveryQuery),
    responses((status = 200, body = DeliveryPage)))]
pub async fn list(
    State(app): State<App>,
    ProgramAuth(program): ProgramAuth,
    Query(q): Query<DeliveryQuery>,
) -> ApiResult<Json<DeliveryPage>> {
    let filter = DeliveryFilter {
        member_external_id: q.member,
        event: q.event,
        status: q.status,
        before_id: parse_cursor(&q.cursor)?,
        limit: q.limit.unwrap_or(100).clamp(1, 500),
        ..Default::default()
    };
    Ok(Json(app.deliveries(&program.id, &filter).await?))
}

/// One notification with every attempt and the far end's answers.
#[utoipa::path(get, path = "/v1/deliveries/{id}", tag = "deliveries", security(("program_key" = [])),
    params(("id" = i64, Path)), responses((status = 200, body = DeliveryDetail), (status = 404, body = super::error::Problem)))]
pub async fn detail(
    State(app): State<App>,
    ProgramAuth(program): ProgramAuth,
    Path(id): Path<i64>,
) -> ApiResult<Json<DeliveryDetail>> {
    Ok(Json(app.delivery_detail(&program.id, id).await?))
}

/// Put a dead (or unconfirmed) notification back in line, with a fresh retry schedule.
#[utoipa::path(post, path = "/v1/deliveries/{id}/retry", tag = "deliveries", security(("program_key" = [])),
    params(("id" = i64, Path)), responses((status = 202, body = DeliveryItem), (status = 409, body = super::error::Problem)))]
pub async fn retry(
    State(app): State<App>,
    ProgramAuth(program): ProgramAuth,
    Path(id): Path<i64>,
) -> ApiResult<(StatusCode, Json<DeliveryItem>)> {
    Ok((
        StatusCode::ACCEPTED,
        Json(app.retry_delivery(&program.id, id).await?),
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReplayBody {
    /// Dead notifications recorded at or after this instant…
    pub from: DateTime<Utc>,
    /// …and before this one.
    pub to: DateTime<Utc>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ReplayAnswer {
    pub replayed: u64,
}

/// Put every dead notification recorded in a time window back in line.
#[utoipa::path(post, path = "/v1/deliveries/replay", tag = "deliveries", security(("program_key" = [])),
    request_body = ReplayBody, responses((status = 202, body = ReplayAnswer), (status = 422, body = super::error::Problem)))]
pub async fn replay(
    State(app): State<App>,
    ProgramAuth(program): ProgramAuth,
    ApiJson(body): ApiJson<ReplayBody>,
) -> ApiResult<(StatusCode, Json<ReplayAnswer>)> {
    let replayed = app
        .replay_dead_deliveries(&program.id, body.from, body.to)
        .await?;
    Ok((StatusCode::ACCEPTED, Json(ReplayAnswer { replayed })))
}
