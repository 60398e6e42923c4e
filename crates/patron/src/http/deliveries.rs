//! Notifications: what the outbox recorded and what became of it.

use super::error::ApiResult;
use super::extract::ProgramAuth;
use super::ledger::parse_cursor;
use crate::app::App;
use axum::Json;
use axum::extract::{Query, State};
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
    let items = rows
        .into_iter()
        .map(|d| DeliveryItem {
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
        })
        .collect();
    Ok(Json(DeliveryPage { items, next_cursor }))
}
