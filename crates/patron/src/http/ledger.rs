//! Points: award activities, adjust, reverse returns, and read the ledger.

use super::error::{ApiError, ApiResult};
use super::extract::{ApiJson, ProgramAuth};
use crate::app::App;
use crate::app::ledger::LedgerPage;
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use patron_store::{ActivityInput, AdjustmentInput, ReturnInput};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::{IntoParams, ToSchema};

#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ActivityBody {
    /// `signup`, `purchase`, `review`, `birthday`, `referral_purchase` or a custom type of the settings.
    #[serde(rename = "type")]
    pub activity_type: String,
    /// For purchases: the amount in currency units.
    pub amount: Option<f64>,
    /// For purchases: the store's order id; a repeated order id awards nothing twice.
    pub order_id: Option<String>,
    /// When it happened (defaults to now; a future time counts as now).
    pub occurred_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ActivityAnswer {
    pub points: i64,
    /// `available`, or `pending` until `available_at` when the activity type has an approval delay.
    pub status: String,
    pub available_at: DateTime<Utc>,
    pub activity_type: String,
    pub entry_id: i64,
}

pub(super) fn idempotency_key(headers: &HeaderMap) -> ApiResult<Option<String>> {
    match headers.get("idempotency-key") {
        None => Ok(None),
        Some(v) => match v.to_str() {
            Ok(k) if !k.trim().is_empty() && k.len() <= 200 => Ok(Some(k.trim().to_string())),
            _ => Err(ApiError::invalid(
                "Idempotency-Key",
                "must be 1 to 200 visible ASCII characters",
            )),
        },
    }
}

pub(super) fn digest(parts: &[&str]) -> String {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p.as_bytes());
        h.update([0]);
    }
    hex::encode(h.finalize())
}

pub(super) fn replayed(status: StatusCode, replayed: bool, body: impl Serialize) -> Response {
    let mut response = (status, Json(body)).into_response();
    if replayed {
        response
            .headers_mut()
            .insert("idempotent-replayed", HeaderValue::from_static("true"));
    }
    response
}

/// Award an activity. Send an `Idempotency-Key` (or, for purchases, an `order_id`): replaying it
/// returns the first answer and awards nothing twice; the same key with another body is a 422.
#[utoipa::path(post, path = "/v1/members/{external_id}/activities", tag = "points", security(("program_key" = [])),
    params(("external_id" = String, Path), ("Idempotency-Key" = Option<String>, Header)), request_body = ActivityBody,
    responses((status = 201, body = ActivityAnswer), (status = 404, body = super::error::Problem),
              (status = 409, body = super::error::Problem), (status = 422, body = super::error::Problem)))]
pub async fn activity(
    State(app): State<App>,
    ProgramAuth(program): ProgramAuth,
    Path(member): Path<String>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<ActivityBody>,
) -> ApiResult<Response> {
    let key = idempotency_key(&headers)?;
    if body.activity_type.is_empty() || body.activity_type.len() > 64 {
        return Err(ApiError::invalid("type", "must be 1 to 64 characters"));
    }
    if body
        .order_id
        .as_ref()
        .is_some_and(|o| o.trim().is_empty() || o.len() > 200)
    {
        return Err(ApiError::invalid("order_id", "must be 1 to 200 characters"));
    }
    if body.amount.is_some_and(|a| !a.is_finite() || a < 0.0) {
        return Err(ApiError::invalid("amount", "must be a non-negative number"));
    }
    let canonical = serde_json::to_string(&body).map_err(|e| ApiError::internal(&e))?;
    let input = ActivityInput {
        request_hash: digest(&[&member, &canonical]),
        activity_type: body.activity_type,
        amount: body.amount,
        order_id: body.order_id,
        occurred_at: body.occurred_at,
        idempotency_key: key,
    };
    let outcome = app
        .store()
        .record_activity(&program.id, &member, &input, Utc::now())
        .await?;
    let answer = ActivityAnswer {
        points: outcome.points,
        status: outcome.status,
        available_at: outcome.available_at,
        activity_type: outcome.activity_type,
        entry_id: outcome.entry_id,
    };
    Ok(replayed(StatusCode::CREATED, outcome.replayed, answer))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AdjustmentBody {
    /// Signed: positive adds available points, negative removes them.
    pub points: i64,
    pub reason: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EntryAnswer {
    pub entry_id: i64,
    pub points: crate::app::PointsView,
}

/// A manual, signed correction with a reason.
#[utoipa::path(post, path = "/v1/members/{external_id}/adjustments", tag = "points", security(("program_key" = [])),
    params(("external_id" = String, Path)), request_body = AdjustmentBody,
    responses((status = 201, body = EntryAnswer), (status = 422, body = super::error::Problem)))]
pub async fn adjustment(
    State(app): State<App>,
    ProgramAuth(program): ProgramAuth,
    Path(member): Path<String>,
    ApiJson(body): ApiJson<AdjustmentBody>,
) -> ApiResult<(StatusCode, Json<EntryAnswer>)> {
    if body.points == 0 || body.points.abs() > 100_000_000 {
        return Err(ApiError::invalid(
            "points",
            "must be a non-zero whole number of at most 100000000 either way",
        ));
    }
    if body.reason.trim().is_empty() || body.reason.len() > 200 {
        return Err(ApiError::invalid("reason", "must be 1 to 200 characters"));
    }
    let input = AdjustmentInput {
        points: body.points,
        reason: body.reason.trim().to_string(),
    };
    let entry_id = app
        .store()
        .record_adjustment(&program.id, &member, &input, Utc::now())
        .await?;
    let points =
        crate::app::PointsView::from(app.store().member(&program.id, &member).await?.balances);
    Ok((StatusCode::CREATED, Json(EntryAnswer { entry_id, points })))
}

#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReturnBody {
    /// The order id of the original purchase.
    pub order_id: String,
    /// Defaults to everything not yet returned.
    pub returned_amount: Option<f64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ReturnAnswer {
    pub entry_id: i64,
    /// Points taken back (pending first, then available; beyond the balance under policy `negative`).
    pub points_reversed: i64,
    pub from_pending: i64,
    /// Under policy `clamp`: points that could not be taken back because they were spent.
    pub shortfall: i64,
    pub points: crate::app::PointsView,
}

/// Reverse the points of a returned purchase, in proportion to the returned amount.
#[utoipa::path(post, path = "/v1/members/{external_id}/returns", tag = "points", security(("program_key" = [])),
    params(("external_id" = String, Path), ("Idempotency-Key" = Option<String>, Header)), request_body = ReturnBody,
    responses((status = 201, body = ReturnAnswer), (status = 422, body = super::error::Problem)))]
pub async fn returns(
    State(app): State<App>,
    ProgramAuth(program): ProgramAuth,
    Path(member): Path<String>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<ReturnBody>,
) -> ApiResult<Response> {
    let canonical = serde_json::to_string(&body).map_err(|e| ApiError::internal(&e))?;
    let input = ReturnInput {
        request_hash: digest(&[&member, &canonical]),
        order_id: body.order_id,
        returned_amount: body.returned_amount,
        idempotency_key: idempotency_key(&headers)?,
    };
    let outcome = app
        .store()
        .record_return(&program.id, &member, &input, Utc::now())
        .await?;
    let points =
        crate::app::PointsView::from(app.store().member(&program.id, &member).await?.balances);
    let answer = ReturnAnswer {
        entry_id: outcome.entry_id,
        points_reversed: outcome.points_reversed,
        from_pending: outcome.from_pending,
        shortfall: outcome.shortfall,
        points,
    };
    Ok(replayed(StatusCode::CREATED, outcome.replayed, answer))
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct PageQuery {
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// 1 to 500, default 50.
    pub limit: Option<u32>,
}

pub fn parse_cursor(cursor: &Option<String>) -> ApiResult<Option<i64>> {
    cursor
        .as_deref()
        .map(|c| {
            c.parse::<i64>().map_err(|_| {
                ApiError::invalid("cursor", "use the next_cursor of the previous page")
            })
        })
        .transpose()
}

/// The member's ledger, newest first.
#[utoipa::path(get, path = "/v1/members/{external_id}/ledger", tag = "points", security(("program_key" = [])),
    params(("external_id" = String, Path), PageQuery), responses((status = 200, body = LedgerPage)))]
pub async fn page(
    State(app): State<App>,
    ProgramAuth(program): ProgramAuth,
    Path(member): Path<String>,
    Query(q): Query<PageQuery>,
) -> ApiResult<Json<LedgerPage>> {
    let limit = q.limit.unwrap_or(50);
    Ok(Json(
        app.ledger_page(&program.id, &member, parse_cursor(&q.cursor)?, limit)
            .await?,
    ))
}
