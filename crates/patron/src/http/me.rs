//! The member's own view, authenticated by a member token signed by the store's backend: profile,
//! balance, tier, history, rewards and redemption, referral link and invitations, email opt-out —
//! what the members' dashboard shows. Redemptions and invitations are rate limited per member and
//! per client address. Cross-origin calls pass the origin check of [`super::member_cors`].

use super::error::{ApiError, ApiResult};
use super::extract::{ApiJson, ClientIp, MemberAuth, ProgramAuth};
use super::ledger::{PageQuery, idempotency_key, parse_cursor, replayed};
use crate::app::dashboard::rate_limits::{Action, Limited, retry_after_secs};
use crate::app::dashboard::{BalanceView, DashboardView, ReferralView, TierView};
use crate::app::ledger::LedgerPage;
use crate::app::referrals::{InvitationAnswer, InvitationBody, friend_emails};
use crate::app::rewards::{MemberReward, RedemptionAnswer, RedemptionBody};
use crate::app::{App, MemberView};
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{self, MethodRouter, post, put};
use axum::{Json, Router};
use chrono::Utc;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The member routes (`/v1/me…`), behind the check of the browser's origin. Each also takes
/// `OPTIONS`, so that preflights reach that check (which answers them).
pub fn routes(app: App) -> Router<App> {
    let preflighted = |route: MethodRouter<App>| route.options(not_a_preflight);
    Router::new()
        .route("/v1/me", preflighted(routing::get(get)))
        .route("/v1/me/preferences", preflighted(put(preferences)))
        .route("/v1/me/dashboard", preflighted(routing::get(dashboard)))
        .route("/v1/me/balance", preflighted(routing::get(balance)))
        .route("/v1/me/tier", preflighted(routing::get(tier)))
        .route("/v1/me/history", preflighted(routing::get(history)))
        .route("/v1/me/rewards", preflighted(routing::get(rewards)))
        .route("/v1/me/redemptions", preflighted(post(redeem)))
        .route("/v1/me/referral", preflighted(routing::get(referral)))
        .route("/v1/me/referral-invitations", preflighted(post(invite)))
        .layer(axum::middleware::from_fn_with_state(
            app,
            super::member_cors::check_origin,
        ))
}

/// `OPTIONS` that is not a CORS preflight from another origin.
async fn not_a_preflight() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "OPTIONS answers CORS preflights from store pages only",
    )
}

/// An error of a rate-limited route: a problem, or 429 with `Retry-After`.
pub enum MeError {
    Api(ApiError),
    Limited(Limited),
}

impl<E: Into<ApiError>> From<E> for MeError {
    fn from(e: E) -> MeError {
        MeError::Api(e.into())
    }
}

impl IntoResponse for MeError {
    fn into_response(self) -> Response {
        match self {
            MeError::Api(e) => e.into_response(),
            MeError::Limited(limited) => {
                let wait = retry_after_secs(limited.retry_after);
                let mut response = ApiError::new(
                    StatusCode::TOO_MANY_REQUESTS,
                    "rate_limited",
                    limited.to_string(),
                )
                .into_response();
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(wait));
                response
            }
        }
    }
}

/// The member, as `GET /v1/members/{externalId}` shows them.
#[utoipa::path(get, path = "/v1/me", tag = "members", security(("member_token" = [])),
    responses((status = 200, body = MemberView), (status = 401, body = super::error::Problem)))]
pub async fn get(
    State(app): State<App>,
    MemberAuth(claims): MemberAuth,
) -> ApiResult<Json<MemberView>> {
    let member = app
        .store()
        .member(&claims.program_id, &claims.external_id)
        .await?;
    Ok(Json(app.member_view(&claims.program_id, member).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PreferencesBody {
    /// `true` stops loyalty emails (points and rewards are kept).
    pub opted_out: bool,
}

/// The member opts out of (or back into) loyalty emails.
#[utoipa::path(put, path = "/v1/me/preferences", tag = "members", security(("member_token" = [])), request_body = PreferencesBody,
    responses((status = 200, body = MemberView), (status = 401, body = super::error::Problem)))]
pub async fn preferences(
    State(app): State<App>,
    MemberAuth(claims): MemberAuth,
    ApiJson(body): ApiJson<PreferencesBody>,
) -> ApiResult<Json<MemberView>> {
    let input = patron_store::MemberInput {
        opted_out: Some(body.opted_out),
        ..Default::default()
    };
    let upsert = app
        .store()
        .upsert_member(&claims.program_id, &claims.external_id, &input, Utc::now())
        .await?;
    Ok(Json(
        app.member_view(&claims.program_id, upsert.member).await?,
    ))
}

/// Everything the members' dashboard shows, in the member's language, in one answer.
#[utoipa::path(get, path = "/v1/me/dashboard", tag = "members", security(("member_token" = [])),
    responses((status = 200, body = DashboardView), (status = 401, body = super::error::Problem)))]
pub async fn dashboard(
    State(app): State<App>,
    MemberAuth(claims): MemberAuth,
) -> ApiResult<Json<DashboardView>> {
    Ok(Json(
        app.member_dashboard(&claims.program_id, &claims.external_id)
            .await?,
    ))
}

/// The balance: available, pending, lifetime totals, and the next expiry (date and points).
#[utoipa::path(get, path = "/v1/me/balance", tag = "members", security(("member_token" = [])),
    responses((status = 200, body = BalanceView), (status = 401, body = super::error::Problem)))]
pub async fn balance(
    State(app): State<App>,
    MemberAuth(claims): MemberAuth,
) -> ApiResult<Json<BalanceView>> {
    Ok(Json(
        app.member_balance(&claims.program_id, &claims.external_id)
            .await?,
    ))
}

/// The member's tier and the progress to the next one.
#[utoipa::path(get, path = "/v1/me/tier", tag = "members", security(("member_token" = [])),
    responses((status = 200, body = TierView), (status = 401, body = super::error::Problem)))]
pub async fn tier(
    State(app): State<App>,
    MemberAuth(claims): MemberAuth,
) -> ApiResult<Json<TierView>> {
    Ok(Json(
        app.member_tier(&claims.program_id, &claims.external_id)
            .await?,
    ))
}

/// The member's ledger, newest first (the same entries as the program's `…/ledger`).
#[utoipa::path(get, path = "/v1/me/history", tag = "members", security(("member_token" = [])), params(PageQuery),
    responses((status = 200, body = LedgerPage), (status = 401, body = super::error::Problem)))]
pub async fn history(
    State(app): State<App>,
    MemberAuth(claims): MemberAuth,
    Query(q): Query<PageQuery>,
) -> ApiResult<Json<LedgerPage>> {
    let page = app
        .ledger_page(
            &claims.program_id,
            &claims.external_id,
            parse_cursor(&q.cursor)?,
            q.limit.unwrap_or(50),
        )
        .await?;
    Ok(Json(page))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MemberRewardList {
    pub items: Vec<MemberReward>,
}

/// The active rewards, cheapest first, each with whether the member can redeem it now and why not.
#[utoipa::path(get, path = "/v1/me/rewards", tag = "members", security(("member_token" = [])),
    responses((status = 200, body = MemberRewardList), (status = 401, body = super::error::Problem)))]
pub async fn rewards(
    State(app): State<App>,
    MemberAuth(claims): MemberAuth,
) -> ApiResult<Json<MemberRewardList>> {
    let items = app
        .member_rewards(&claims.program_id, &claims.external_id)
        .await?;
    Ok(Json(MemberRewardList { items }))
}

/// Redeem a reward: the same rules and guarantees as `POST /v1/members/{externalId}/redemptions`
/// (refusals cost nothing; racing redemptions never spend the same points). Send an
/// `Idempotency-Key` to make retries safe. Rate limited per member and per client address (429).
#[utoipa::path(post, path = "/v1/me/redemptions", tag = "members", security(("member_token" = [])),
    params(("Idempotency-Key" = Option<String>, Header)), request_body = RedemptionBody,
    responses((status = 201, body = RedemptionAnswer), (status = 401, body = super::error::Problem),
              (status = 409, body = super::error::Problem), (status = 422, body = super::error::Problem),
              (status = 429, body = super::error::Problem, headers(("Retry-After" = u64, description = "Seconds to wait")))))]
pub async fn redeem(
    State(app): State<App>,
    MemberAuth(claims): MemberAuth,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    ApiJson(body): ApiJson<RedemptionBody>,
) -> Result<Response, MeError> {
    // A member's keys live apart from the store's, so neither can replay the other's answers.
    let key = idempotency_key(&headers)?.map(|k| format!("member:{}:{k}", claims.external_id));
    app.take_member_allowance(Action::Redemption, &claims, ip, 1)
        .map_err(MeError::Limited)?;
    let redeemed = app
        .redeem(&claims.program_id, &claims.external_id, body, key)
        .await?;
    Ok(replayed(
        StatusCode::CREATED,
        redeemed.replayed,
        redeemed.answer,
    ))
}

/// The member's referral code and link.
#[utoipa::path(get, path = "/v1/me/referral", tag = "members", security(("member_token" = [])),
    responses((status = 200, body = ReferralView), (status = 401, body = super::error::Problem)))]
pub async fn referral(
    State(app): State<App>,
    MemberAuth(claims): MemberAuth,
) -> ApiResult<Json<ReferralView>> {
    Ok(Json(
        app.member_referral(&claims.program_id, &claims.external_id)
            .await?,
    ))
}

/// Invite friends by email: the same limits and de-duplication as
/// `POST /v1/members/{externalId}/referral-invitations`. Each address counts against the member's and
/// the client address's invitation allowance (429 past it).
#[utoipa::path(post, path = "/v1/me/referral-invitations", tag = "members", security(("member_token" = [])),
    request_body = InvitationBody,
    responses((status = 201, body = InvitationAnswer), (status = 401, body = super::error::Problem),
              (status = 409, body = super::error::Problem), (status = 422, body = super::error::Problem),
              (status = 429, body = super::error::Problem, headers(("Retry-After" = u64, description = "Seconds to wait")))))]
pub async fn invite(
    State(app): State<App>,
    MemberAuth(claims): MemberAuth,
    ClientIp(ip): ClientIp,
    ApiJson(body): ApiJson<InvitationBody>,
) -> Result<(StatusCode, Json<InvitationAnswer>), MeError> {
    let friends = friend_emails(&body)?;
    let cost = u32::try_from(friends.len()).unwrap_or(u32::MAX);
    app.take_member_allowance(Action::Invitation, &claims, ip, cost)
        .map_err(MeError::Limited)?;
    let answer = app
        .invite_friends(
            &claims.program_id,
            &claims.external_id,
            &friends,
            body.emails.len(),
        )
        .await?;
    Ok((StatusCode::CREATED, Json(answer)))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RotatedSecret {
    /// The new secret. Shown once; tokens signed with the old one stop working at once.
    pub member_token_secret: String,
}

/// Replace the program's member-token secret.
#[utoipa::path(post, path = "/v1/member-token-secret", tag = "programs", security(("program_key" = [])),
    responses((status = 200, body = RotatedSecret)))]
pub async fn rotate(
    State(app): State<App>,
    ProgramAuth(program): ProgramAuth,
) -> ApiResult<Json<RotatedSecret>> {
    Ok(Json(RotatedSecret {
        member_token_secret: app.rotate_member_token_secret(&program.id).await?,
    }))
}
