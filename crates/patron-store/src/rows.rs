//! Mapping database rows to domain types.

use crate::{StoreError, from_ms};
use chrono::NaiveDate;
use patron_domain::{Balances, Member, MemberStatus, Points};
use sqlx::Row;
use sqlx::any::AnyRow;

pub(crate) const MEMBER_COLUMNS: &str = "id, program_id, external_id, email, name, birth_date, phone, preferred_language, \
     opted_out, status, referral_code, tier, available, pending, earned, redeemed, expired, debt, qualifying, \
     last_active_at, created_at";

/// A member row with the bookkeeping columns the domain type does not carry.
#[derive(Debug, Clone)]
pub(crate) struct MemberRecord {
    pub program_id: String,
    pub member: Member,
    pub debt: Points,
    pub last_active_at: Option<i64>,
}

pub(crate) fn member_record(row: &AnyRow) -> Result<MemberRecord, StoreError> {
    let status: String = row.try_get("status")?;
    let birth: Option<String> = row.try_get("birth_date")?;
    let member = Member {
        id: row.try_get("id")?,
        external_id: row.try_get("external_id")?,
        email: row.try_get("email")?,
        name: row.try_get("name")?,
        birth_date: birth
            .as_deref()
            .and_then(|b| NaiveDate::parse_from_str(b, "%Y-%m-%d").ok()),
        phone: row.try_get("phone")?,
        preferred_language: row.try_get("preferred_language")?,
        opted_out: row.try_get::<i64, _>("opted_out")? != 0,
        status: MemberStatus::parse(&status)
            .ok_or_else(|| StoreError::Corrupt(format!("member status {status}")))?,
        referral_code: row.try_get("referral_code")?,
        tier: row.try_get("tier")?,
        balances: Balances {
            available: Points(row.try_get("available")?),
            pending: Points(row.try_get("pending")?),
            earned: Points(row.try_get("earned")?),
            redeemed: Points(row.try_get("redeemed")?),
            expired: Points(row.try_get("expired")?),
        },
        qualifying_points: Points(row.try_get("qualifying")?),
        created_at: from_ms(row.try_get("created_at")?),
    };
    Ok(MemberRecord {
        program_id: row.try_get("program_id")?,
        member,
        debt: Points(row.try_get("debt")?),
        last_active_at: row.try_get("last_active_at")?,
    })
}

impl MemberRecord {
    /// Refuses anything but an Active member: Blocked with `blocked` as the reason, Deleted as frozen.
    pub(crate) fn require_active(&self, blocked: &str) -> Result<(), StoreError> {
        match self.member.status {
            MemberStatus::Active => Ok(()),
            MemberStatus::Blocked => Err(StoreError::conflict("member_blocked", blocked)),
            MemberStatus::Deleted => Err(StoreError::conflict(
                "member_deleted",
                "this member was deleted",
            )),
        }
    }
}
