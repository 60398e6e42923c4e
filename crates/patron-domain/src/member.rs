//! A member as notifications and the API see it: profile, status, balances and tier.

use crate::values::Points;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum MemberStatus {
    Active,
    Blocked,
    Deleted,
}

impl MemberStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            MemberStatus::Active => "Active",
            MemberStatus::Blocked => "Blocked",
            MemberStatus::Deleted => "Deleted",
        }
    }
    pub fn parse(s: &str) -> Option<MemberStatus> {
        match s {
            "Active" => Some(MemberStatus::Active),
            "Blocked" => Some(MemberStatus::Blocked),
            "Deleted" => Some(MemberStatus::Deleted),
            _ => None,
        }
    }
}

/// Derived balances. `available` may be negative while a return under the `negative` policy is owed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Balances {
    pub available: Points,
    pub pending: Points,
    pub earned: Points,
    pub redeemed: Points,
    pub expired: Points,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Member {
    pub id: String,
    pub external_id: String,
    pub email: String,
    pub name: Option<String>,
    pub birth_date: Option<NaiveDate>,
    pub phone: Option<String>,
    pub preferred_language: Option<String>,
    pub opted_out: bool,
    pub status: MemberStatus,
    pub referral_code: String,
    pub tier: Option<String>,
    pub balances: Balances,
    /// Points counted toward tiers (approved, qualifying activity types, inside the window).
    pub qualifying_points: Points,
    pub created_at: DateTime<Utc>,
}

impl Member {
    /// Members who may receive loyalty events (profile updates go to everyone).
    pub fn receives_events(&self) -> bool {
        self.status == MemberStatus::Active && !self.opted_out
    }
}

/// The member's referral link: the program's base URL with `ref=<code>`.
pub fn referral_url(base_url: &str, code: &str) -> String {
    let sep = if base_url.contains('?') { '&' } else { '?' };
    format!("{base_url}{sep}ref={code}")
}
