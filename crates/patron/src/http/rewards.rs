//! Rewards: the catalogue (create, list, change), coupon pools, and redeeming points for a reward.

use super::error::{ApiError, ApiResult};
use super::extract::{ApiJson, ProgramAuth};
use super::ledger::{idempotency_key, replayed};
use crate::app::App;
use crate::app::rewards::{RedemptionAnswer, RedemptionBody};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use chrono::{DateTime, Utc};
use patron_domain::settings::FieldProblem;
use patron_store::{CouponSourceSpec, RewardInput, RewardPatch, RewardView};
use serde::{Deserialize, Deserializer, Serialize};
use utoipa::ToSchema;

/// Where a reward's codes come from: `{"prefix": "SAVE10-"}` generates prefix + random unique
/// codes; `{"pool": true}` hands out codes uploaded with `POST /v1/rewards/{id}/coupons`.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CouponBody {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefix: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pool: Option<bool>,
    /// For pools (answers only): codes not yet given out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub available: Option<i64>,
}

impl CouponBody {
    fn into_spec(self, problems: &mut Vec<FieldProblem>) -> Option<CouponSourceSpec> {
        match (self.prefix, self.pool) {
            (Some(prefix), None | Some(false))
                if prefix.chars().count() <= 40 && !prefix.contains(char::is_whitespace) =>
            {
                Some(CouponSourceSpec::Generated { prefix })
            }
            (None, Some(true)) => Some(CouponSourceSpec::Pool),
            _ => {
                problems.push(problem("coupon", "give either {\"prefix\": \"SAVE10-\"} (at most 40 characters, no spaces) or {\"pool\": true}"));
                None
            }
        }
    }
}

fn problem(field: &str, message: &str) -> FieldProblem {
    FieldProblem {
        field: field.into(),
        message: message.into(),
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RewardBody {
    pub name: String,
    pub points_cost: i64,
    #[serde(default = "yes")]
    pub active: bool,
    /// The lowest tier that may redeem it (a tier name of the settings).
    pub min_tier: Option<String>,
    pub coupon: CouponBody,
}

fn yes() -> bool {
    true
}

/// Tells "absent" (`None`) from "null" (`Some(None)`).
fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RewardPatchBody {
    pub name: Option<String>,
    pub points_cost: Option<i64>,
    pub active: Option<bool>,
    /// `null` removes the minimum tier.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub min_tier: Option<Option<String>>,
    pub coupon: Option<CouponBody>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RewardAnswer {
    pub id: String,
    pub name: String,
    pub points_cost: i64,
    pub active: bool,
    pub min_tier: Option<String>,
    pub coupon: CouponBody,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<RewardView> for RewardAnswer {
    fn from(r: RewardView) -> Self {
        let coupon = match r.coupon {
            CouponSourceSpec::Generated { prefix } => CouponBody {
                prefix: Some(prefix),
                pool: None,
                available: None,
            },
            CouponSourceSpec::Pool => CouponBody {
                prefix: None,
                pool: Some(true),
                available: r.pool_available,
            },
        };
        RewardAnswer {
            id: r.id,
            name: r.name,
            points_cost: r.points_cost,
            active: r.active,
            min_tier: r.min_tier,
            coupon,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

fn check_name(name: &str, problems: &mut Vec<FieldProblem>) {
    if name.trim().is_empty() || name.chars().count() > 200 {
        problems.push(problem("name", "must be 1 to 200 characters"));
    }
}

fn check_cost(cost: i64, problems: &mut Vec<FieldProblem>) {
    if !(1..=100_000_000).contains(&cost) {
        problems.push(problem(
            "points_cost",
            "must be a whole number from 1 to 100000000",
        ));
    }
}

fn done<T>(value: T, problems: Vec<FieldProblem>) -> ApiResult<T> {
    if problems.is_empty() {
        Ok(value)
    } else {
        Err(ApiError::invalid_fields(problems))
    }
}

/// Create a reward.
#[utoipa::path(post, path = "/v1/rewards", tag = "rewards", security(("program_key" = [])), request_body = RewardBody,
    responses((status = 201, body = RewardAnswer), (status = 422, body = super::error::Problem)))]
pub async fn create(
    State(app): State<App>,
    ProgramAuth(program): ProgramAuth,
    ApiJson(body): ApiJson<RewardBody>,
) -> ApiResult<(StatusCode, Json<RewardAnswer>)> {
    let mut problems = Vec::new();
    check_name(&body.name, &mut problems);
    check_cost(body.points_cost, &mut problems);
    let coupon = body.coupon.into_spec(&mut problems);
    let input = done(coupon, problems)?.map(|coupon| RewardInput {
        name: body.name.trim().to_string(),
        points_cost: body.points_cost,
        active: body.active,
        min_tier: body.min_tier,
        coupon,
    });
    let Some(input) = input else {
        return Err(ApiError::invalid("coupon", "required"));
    };
    let view = app
        .store()
        .create_reward(&program.id, &input, Utc::now())
        .await?;
    Ok((StatusCode::CREATED, Json(view.into())))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RewardList {
    pub items: Vec<RewardAnswer>,
}

/// Every reward of the program, cheapest first.
#[utoipa::path(get, path = "/v1/rewards", tag = "rewards", security(("program_key" = [])), responses((status = 200, body = RewardList)))]
pub async fn list(
    State(app): State<App>,
    ProgramAuth(program): ProgramAuth,
) -> ApiResult<Json<RewardList>> {
    let items = app
        .store()
        .list_rewards(&program.id)
        .await?
        .into_iter()
        .map(Into::into)
        .collect();
    Ok(Json(RewardList { items }))
}

/// Change a reward: only the fields given change.
#[utoipa::path(patch, path = "/v1/rewards/{id}", tag = "rewards", security(("program_key" = [])),
    params(("id" = String, Path)), request_body = RewardPatchBody,
    responses((status = 200, body = RewardAnswer), (status = 404, body = super::error::Problem), (status = 422, body = super::error::Problem)))]
pub async fn update(
    State(app): State<App>,
    ProgramAuth(program): ProgramAuth,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<RewardPatchBody>,
) -> ApiResult<Json<RewardAnswer>> {
    let mut problems = Vec::new();
    if let Some(name) = &body.name {
        check_name(name, &mut problems);
    }
    if let Some(cost) = body.points_cost {
        check_cost(cost, &mut problems);
    }
    let coupon = body.coupon.map(|c| c.into_spec(&mut problems));
    let coupon = done(coupon, problems)?.flatten();
    let patch = RewardPatch {
        name: body.name.map(|n| n.trim().to_string()),
        points_cost: body.points_cost,
        active: body.active,
        min_tier: body.min_tier,
        coupon,
    };
    let view = app
        .store()
        .update_reward(&program.id, &id, &patch, Utc::now())
        .await?;
    Ok(Json(view.into()))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CouponsBody {
    /// Codes to add to the pool; codes the program already has are ignored.
    pub codes: Vec<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CouponsAnswer {
    pub added: u64,
    pub duplicates: u64,
    /// Codes of the pool not yet given out.
    pub available: i64,
}

/// Upload codes to a reward's pool.
#[utoipa::path(post, path = "/v1/rewards/{id}/coupons", tag = "rewards", security(("program_key" = [])),
    params(("id" = String, Path)), request_body = CouponsBody,
    responses((status = 201, body = CouponsAnswer), (status = 409, body = super::error::Problem), (status = 422, body = super::error::Problem)))]
pub async fn upload(
    State(app): State<App>,
    ProgramAuth(program): ProgramAuth,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<CouponsBody>,
) -> ApiResult<(StatusCode, Json<CouponsAnswer>)> {
    let mut problems = Vec::new();
    if body.codes.is_empty() || body.codes.len() > 100_000 {
        problems.push(problem("codes", "give 1 to 100000 codes"));
    }
    for (i, code) in body.codes.iter().enumerate() {
        if code.is_empty()
            || code.chars().count() > 100
            || code.chars().any(|c| c.is_whitespace() || c.is_control())
        {
            problems.push(problem(
                &format!("codes[{i}]"),
                "must be 1 to 100 characters without spaces",
            ));
        }
    }
    done((), problems)?;
    let upload = app
        .store()
        .upload_coupons(&program.id, &id, &body.codes, Utc::now())
        .await?;
    let view = app.store().reward(&program.id, &id).await?;
    Ok((
        StatusCode::CREATED,
        Json(CouponsAnswer {
            added: upload.added,
            duplicates: upload.duplicates,
            available: view.pool_available.unwrap_or(0),
        }),
    ))
}

/// Spend points on a reward: answers the coupon code. Refusals (`insufficient_points`,
/// `coupon_pool_empty`, `reward_inactive`, `tier_too_low`, `negative_balance`, `member_blocked`,
/// `member_deleted`) cost nothing. Send an `Idempotency-Key` to make retries safe.
#[utoipa::path(post, path = "/v1/members/{external_id}/redemptions", tag = "rewards", security(("program_key" = [])),
    params(("external_id" = String, Path), ("Idempotency-Key" = Option<String>, Header)), request_body = RedemptionBody,
    responses((status = 201, body = RedemptionAnswer), (status = 404, body = super::error::Problem),
              (status = 409, body = super::error::Problem), (status = 422, body = super::error::Problem)))]
pub async fn redeem(
    State(app): State<App>,
    ProgramAuth(program): ProgramAuth,
    Path(member): Path<String>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<RedemptionBody>,
) -> ApiResult<Response> {
    let redeemed = app
        .redeem(&program.id, &member, body, idempotency_key(&headers)?)
        .await?;
    Ok(replayed(
        StatusCode::CREATED,
        redeemed.replayed,
        redeemed.answer,
    ))
}
