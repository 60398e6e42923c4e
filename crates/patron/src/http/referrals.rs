//! Referrals: a member invites friends by email; a friend claims with the referral code.

use super::error::{ApiError, ApiResult};
use super::extract::{ApiJson, ProgramAuth};
use crate::app::App;
use crate::app::referrals::{InvitationAnswer, InvitationBody, friend_emails};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use chrono::Utc;
use patron_domain::Email;
use patron_store::ClaimInput;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Invite friends: one `Referral Friend Invitation` per friend (the friend is the contact).
#[utoipa::path(post, path = "/v1/members/{external_id}/referral-invitations", tag = "referrals", security(("program_key" = [])),
    params(("external_id" = String, Path)), request_body = InvitationBody,
    responses((status = 201, body = InvitationAnswer), (status = 404, body = super::error::Problem),
              (status = 409, body = super::error::Problem), (status = 422, body = super::error::Problem)))]
pub async fn invite(
    State(app): State<App>,
    ProgramAuth(program): ProgramAuth,
    Path(member): Path<String>,
    ApiJson(body): ApiJson<InvitationBody>,
) -> ApiResult<(StatusCode, Json<InvitationAnswer>)> {
    let friends = friend_emails(&body)?;
    let answer = app
        .invite_friends(&program.id, &member, &friends, body.emails.len())
        .await?;
    Ok((StatusCode::CREATED, Json(answer)))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClaimBody {
    pub referral_code: String,
    /// The friend's email address.
    pub email: String,
    /// The friend's name, sent as User Name on the friend's events.
    pub name: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ClaimAnswer {
    pub eligible: bool,
    /// The friend's coupon, when eligible.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub coupon_code: Option<String>,
    /// When not eligible: `self_referral`, `referrer_not_active`, `already_member` or `claim_limit`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// A referred friend claims the friend incentive. The same code and email always get the same
/// answer (and the same coupon). An unknown code is a 422 `unknown_referral_code`.
#[utoipa::path(post, path = "/v1/referrals/claims", tag = "referrals", security(("program_key" = [])), request_body = ClaimBody,
    responses((status = 200, body = ClaimAnswer), (status = 422, body = super::error::Problem)))]
pub async fn claim(
    State(app): State<App>,
    ProgramAuth(program): ProgramAuth,
    ApiJson(body): ApiJson<ClaimBody>,
) -> ApiResult<Json<ClaimAnswer>> {
    let email = Email::parse(&body.email).map_err(|e| ApiError::invalid("email", e.to_string()))?;
    if body.referral_code.trim().is_empty() || body.referral_code.len() > 50 {
        return Err(ApiError::invalid(
            "referral_code",
            "must be 1 to 50 characters",
        ));
    }
    let name = body
        .name
        .map(|n| n.trim().to_string())
        .filter(|n| !n.is_empty());
    if name.as_ref().is_some_and(|n| n.chars().count() > 200) {
        return Err(ApiError::invalid("name", "must be at most 200 characters"));
    }
    let input = ClaimInput {
        referral_code: body.referral_code,
        email,
        name,
    };
    let out = app
        .store()
        .claim_referral(&program.id, &input, Utc::now())
        .await?;
    Ok(Json(ClaimAnswer {
        eligible: out.eligible,
        coupon_code: out.coupon_code,
        reason: out.reason,
    }))
}
