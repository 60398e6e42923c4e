//! Notifications: what the outbox recorded and what became of it.

use super::error::{ApiError, ApiResult};
use super::extract::{ApiJson, ProgramAuth};
use super::ledger::parse_cursor;
use crate::app::App;
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use patron_store::DeliveryFilter;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
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

#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryItem {
    pub id: i64,
    pub event: Option<String>,
    pub member: Option<String>,
    pub email: String,
    /// `native` or `listrak`.
    pub channel: String,
    pub list_id: Option<String>,
    pub status: String,
    pub attempts: i64,
    /// Field values by exact Listrak field name, in Listrak's formats.
    pub fields: BTreeMap<String, String>,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryPage {
    pub items: Vec<DeliveryItem>,
    pub next_cursor: Option<String>,
}

/// Notifications, newest first, filtered by member, event and status.
#[utoipa::path(get, path = "/v1/deliveries", tag = "deliveries", security(("program_key" = [])), params(DeliveryQuery),
    responses((status = 200, body = DeliveryPage)))]
pub async fn list(
    State(app): State<App>,
    ProgramAuth(program): ProgramAuth,
    Query(q): Query<DeliveryQuery>,
) -> ApiResult<Json<DeliveryPage>> {
    let limit = q.limit.unwrap_or(100).clamp(1, 500);
    let filter = DeliveryFilter {
        member_external_id: q.member,
        event: q.event,
        status: q.status,
        before_id: parse_cursor(&q.cursor)?,
        limit,
    };
    let rows = app.store().list_deliveries(&program.id, &filter).await?;
    let next_cursor = (rows.len() == limit as usize)
        .then(|| rows.last().map(|d| d.id.to_string()))
        .flatten();
    let items = rows.into_iter().map(item).collect();
    Ok(Json(DeliveryPage { items, next_cursor }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AttemptItem {
    pub started_at: DateTime<Utc>,
    pub finished_at: DateTime<Utc>,
    /// `delivered`, `retry`, `dead`, `unconfirmed` or `held`.
    pub outcome: String,
    /// The far end's answer, or why it failed.
    pub detail: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryDetail {
    #[serde(flatten)]
    pub delivery: DeliveryItem,
    pub attempt_log: Vec<AttemptItem>,
}

fn item(d: patron_store::DeliveryView) -> DeliveryItem {
    DeliveryItem {
        id: d.id,
        event: d.event,
        member: d.member_external_id,
        email: d.email,
        channel: d.channel,
        list_id: d.list_id,
        status: d.status,
        attempts: d.attempts,
        fields: d.fields,
        last_error: d.last_error,
        created_at: d.created_at,
        finished_at: d.finished_at,
    }
}

/// One notification with every attempt and the far end's answers.
#[utoipa::path(get, path = "/v1/deliveries/{id}", tag = "deliveries", security(("program_key" = [])),
    params(("id" = i64, Path)), responses((status = 200, body = DeliveryDetail), (status = 404, body = super::error::Problem)))]
pub async fn detail(
    State(app): State<App>,
    ProgramAuth(program): ProgramAuth,
    Path(id): Path<i64>,
) -> ApiResult<Json<DeliveryDetail>> {
    let delivery = app.store().delivery(&program.id, id).await?;
    let attempt_log = app
        .store()
        .delivery_attempts(&program.id, id)
        .await?
        .into_iter()
        .map(|a| AttemptItem {
            started_at: a.started_at,
            finished_at: a.finished_at,
            outcome: a.outcome,
            detail: a.detail,
        })
        .collect();
    Ok(Json(DeliveryDetail {
        delivery: item(delivery),
        attempt_log,
    }))
}

/// Put a dead (or unconfirmed) notification back in line, with a fresh retry schedule.
#[utoipa::path(post, path = "/v1/deliveries/{id}/retry", tag = "deliveries", security(("program_key" = [])),
    params(("id" = i64, Path)), responses((status = 202, body = DeliveryItem), (status = 409, body = super::error::Problem)))]
pub async fn retry(
    State(app): State<App>,
    ProgramAuth(program): ProgramAuth,
    Path(id): Path<i64>,
) -> ApiResult<(StatusCode, Json<DeliveryItem>)> {
    app.store()
        .retry_delivery(&program.id, id, Utc::now())
        .await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(item(app.store().delivery(&program.id, id).await?)),
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
    if body.to <= body.from {
        return Err(ApiError::invalid("to", "must be after `from`"));
    }
    let replayed = app
        .store()
        .replay_deliveries(&program.id, body.from, body.to, Utc::now())
        .await?;
    Ok((StatusCode::ACCEPTED, Json(ReplayAnswer { replayed })))
}
