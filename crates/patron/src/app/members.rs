//! Members as the API shows them, and profile changes as the API accepts them.

use super::{App, AppError};
use chrono::{DateTime, NaiveDate, Utc};
use patron_domain::catalog::field;
use patron_domain::profile::common_fields;
use patron_domain::{Email, ExternalId, Member};
use patron_store::MemberInput;
use serde::{Deserialize, Deserializer, Serialize};
use utoipa::ToSchema;

/// `PUT /v1/members/{externalId}`: absent fields stay as they are; `null` clears a field.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MemberPatch {
    pub email: Option<String>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub name: Option<Option<String>>,
    /// `YYYY-MM-DD`.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, example = "1991-03-26")]
    pub birth_date: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub phone: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, example = "English")]
    pub preferred_language: Option<Option<String>>,
    pub opted_out: Option<bool>,
}

/// Tells "absent" (`None`) from "null" (`Some(None)`).
fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

fn text(
    field: &str,
    value: &Option<Option<String>>,
    max: usize,
    problems: &mut Vec<patron_domain::settings::FieldProblem>,
) -> Option<Option<String>> {
    match value {
        Some(Some(s)) if s.chars().count() > max => {
            problems.push(patron_domain::settings::FieldProblem {
                field: field.into(),
                message: format!("must be at most {max} characters"),
            });
            None
        }
        Some(Some(s)) if s.trim().is_empty() => Some(None),
        Some(Some(s)) => Some(Some(s.trim().to_string())),
        Some(None) => Some(None),
        None => None,
    }
}

impl MemberPatch {
    pub fn into_input(self) -> Result<MemberInput, AppError> {
        let mut problems = Vec::new();
        let email = match self.email.as_deref().map(Email::parse) {
            Some(Ok(e)) => Some(e),
            Some(Err(e)) => {
                problems.push(patron_domain::settings::FieldProblem {
                    field: "email".into(),
                    message: e.to_string(),
                });
                None
            }
            None => None,
        };
        let birth_date = match &self.birth_date {
            Some(Some(s)) => match NaiveDate::parse_from_str(s, "%Y-%m-%d") {
                Ok(d) if d.year_ce().1 >= 1900 => Some(Some(d)),
                _ => {
                    problems.push(patron_domain::settings::FieldProblem {
                        field: "birth_date".into(),
                        message: "must be a date written YYYY-MM-DD, from 1900 on".into(),
                    });
                    None
                }
            },
            Some(None) => Some(None),
            None => None,
        };
        let input = MemberInput {
            email,
            name: text("name", &self.name, 200, &mut problems),
            birth_date,
            phone: text("phone", &self.phone, 50, &mut problems),
            preferred_language: text(
                "preferred_language",
                &self.preferred_language,
                50,
                &mut problems,
            ),
            opted_out: self.opted_out,
        };
        if problems.is_empty() {
            Ok(input)
        } else {
            Err(AppError::Invalid(problems))
        }
    }
}

use chrono::Datelike;

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PointsView {
    /// Approved, unexpired points that can be spent (negative while a return is owed).
    pub available: i64,
    /// Points awaiting approval: visible, not spendable.
    pub pending: i64,
    /// Lifetime earned (approved).
    pub earned: i64,
    pub redeemed: i64,
    pub expired: i64,
}

impl From<patron_domain::Balances> for PointsView {
    fn from(b: patron_domain::Balances) -> Self {
        PointsView {
            available: b.available.0,
            pending: b.pending.0,
            earned: b.earned.0,
            redeemed: b.redeemed.0,
            expired: b.expired.0,
        }
    }
}

/// A member with balances and the computed fields Patron keeps in Listrak.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MemberView {
    pub external_id: String,
    pub email: String,
    pub name: Option<String>,
    pub birth_date: Option<String>,
    pub phone: Option<String>,
    pub preferred_language: Option<String>,
    /// `Active`, `Blocked` or `Deleted`.
    pub status: String,
    pub opted_out: bool,
    pub tier: Option<String>,
    pub next_tier: Option<String>,
    pub points_to_next_tier: i64,
    pub qualifying_points: i64,
    pub referral_code: String,
    pub referral_url: String,
    pub points: PointsView,
    pub eligible_rewards_count: i64,
    pub eligible_rewards: Vec<String>,
    pub next_reward_name: Option<String>,
    pub points_to_next_reward: i64,
    pub member_since: DateTime<Utc>,
}

impl App {
    pub async fn member_view(
        &self,
        program_id: &str,
        member: Member,
    ) -> Result<MemberView, AppError> {
        let mut views = self.member_views(program_id, vec![member]).await?;
        views
            .pop()
            .ok_or_else(|| AppError::Store(patron_store::StoreError::NotFound("member")))
    }

    /// Views of several members of one program, reading the program's settings and rewards once.
    pub async fn member_views(
        &self,
        program_id: &str,
        members: Vec<Member>,
    ) -> Result<Vec<MemberView>, AppError> {
        let settings = self.store().settings(program_id).await?;
        let rewards = self.store().reward_offers(program_id).await?;
        Ok(members
            .into_iter()
            .map(|m| view(m, &settings, &rewards))
            .collect())
    }
}

fn view(
    member: Member,
    settings: &patron_domain::ProgramSettings,
    rewards: &[patron_domain::profile::RewardOffer],
) -> MemberView {
    let fields = common_fields(&member, settings, rewards);
    let permitted = patron_domain::profile::permitted_offers(
        &settings.tiers.levels,
        member.tier.as_deref(),
        rewards,
    );
    let (eligible, _) =
        patron_domain::profile::reward_outlook(member.balances.available, &permitted);
    let non_empty = |name: &str| fields.get(name).filter(|v| !v.is_empty()).cloned();
    let number = |name: &str| fields.get(name).and_then(|v| v.parse().ok()).unwrap_or(0);
    let b = member.balances;
    MemberView {
        referral_url: fields.get(field::REFERRAL_URL).cloned().unwrap_or_default(),
        next_tier: non_empty(field::NEXT_TIER),
        points_to_next_tier: number(field::POINTS_TO_NEXT_TIER),
        eligible_rewards_count: eligible.len() as i64,
        eligible_rewards: eligible.iter().map(|r| r.name.clone()).collect(),
        next_reward_name: non_empty(field::NEXT_REWARD_NAME),
        points_to_next_reward: number(field::POINTS_TO_NEXT_REWARD),
        external_id: member.external_id,
        email: member.email,
        name: member.name,
        birth_date: member.birth_date.map(|d| d.format("%Y-%m-%d").to_string()),
        phone: member.phone,
        preferred_language: member.preferred_language,
        status: member.status.as_str().to_string(),
        opted_out: member.opted_out,
        tier: member.tier,
        qualifying_points: member.qualifying_points.0,
        referral_code: member.referral_code,
        points: PointsView::from(b),
        member_since: member.created_at,
    }
}

/// Parses the external id from a path, or answers which rule it breaks.
pub fn external_id(raw: &str) -> Result<ExternalId, AppError> {
    ExternalId::parse(raw).map_err(|e| AppError::invalid("externalId", e.to_string()))
}
