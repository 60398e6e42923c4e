//! The members' dashboard: what a member sees of their own account (balance with the next expiry,
//! tier progress, rewards with affordability, referral link, recent history), in their language,
//! and the runtime it needs (translations, rate limits, the store origins allowed to embed it).

pub mod locales;
pub mod origins;
pub mod rate_limits;

use super::ledger::LedgerPage;
use super::rewards::{MemberReward, member_rewards};
use super::{App, AppError, MemberView};
use crate::config::Settings;
use chrono::{DateTime, NaiveDate, Utc};
use locales::{Messages, Translations};
use patron_domain::member::referral_url;
use patron_domain::{Member, ProgramSettings, tiers};
use serde::Serialize;
use std::sync::{Arc, RwLock};
use utoipa::ToSchema;

/// Recent history entries the dashboard shows.
pub const HISTORY_ENTRIES: u32 = 10;

/// The dashboard's share of a running Patron.
#[derive(Debug)]
pub struct Runtime {
    translations: RwLock<Arc<Translations>>,
    pub limits: rate_limits::RateLimits,
    pub origins: origins::AllowedOrigins,
}

impl Runtime {
    pub fn new(settings: &Settings) -> Runtime {
        Runtime {
            translations: RwLock::new(Arc::new(Translations::built_in())),
            limits: rate_limits::RateLimits::new(settings.member_limits),
            origins: origins::AllowedOrigins::default(),
        }
    }

    /// Adds the drop-in translations of `locales_dir` to the built-in ones.
    pub fn load_translations(
        &self,
        locales_dir: &std::path::Path,
    ) -> Result<(), locales::LocaleError> {
        let loaded = Translations::built_in().with_folder(locales_dir)?;
        if let Ok(mut t) = self.translations.write() {
            *t = Arc::new(loaded);
        }
        Ok(())
    }

    pub fn translations(&self) -> Arc<Translations> {
        self.translations
            .read()
            .map(|t| t.clone())
            .unwrap_or_else(|_| Arc::new(Translations::built_in()))
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct NextExpiry {
    /// The UTC day the points expire.
    #[schema(value_type = String, example = "2026-07-31")]
    pub date: NaiveDate,
    pub expires_at: DateTime<Utc>,
    pub points: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BalanceView {
    /// Points that can be spent now (negative while a return is owed).
    pub available: i64,
    /// Points awaiting approval: visible, not spendable.
    pub pending: i64,
    pub earned: i64,
    pub redeemed: i64,
    pub expired: i64,
    /// The soonest expiry, by the same rules as the expiry job; `null` when nothing is set to expire.
    pub next_expiry: Option<NextExpiry>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TierLevelView {
    pub name: String,
    pub threshold: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TierView {
    /// The member's tier (`null` in a program without tiers).
    pub current: Option<String>,
    /// Points counted toward tiers.
    pub qualifying_points: i64,
    /// `null`: lifetime points count; otherwise the last so many days.
    pub window_days: Option<u32>,
    /// The next tier up, and the qualifying points still needed for it.
    pub next: Option<String>,
    pub points_to_next: i64,
    /// 0 to 100: from the threshold reached to the next one (100 at the top tier).
    pub progress_percent: u8,
    pub levels: Vec<TierLevelView>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ReferralView {
    pub referral_code: String,
    /// The link friends follow: the program's referral base URL with `ref=<code>`.
    pub referral_url: String,
}

/// Everything the dashboard shows, in one answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct DashboardView {
    /// The language the words are in (`en`, `es`, or a dropped-in one).
    pub language: String,
    /// The dashboard's words by key, English where the language lacks one.
    #[schema(value_type = Object)]
    pub messages: Messages,
    pub program_name: String,
    pub member: MemberView,
    pub balance: BalanceView,
    pub tier: TierView,
    pub rewards: Vec<MemberReward>,
    pub referral: ReferralView,
    /// The most recent ledger entries.
    pub history: LedgerPage,
}

fn tier_view(member: &Member, settings: &ProgramSettings) -> TierView {
    let levels = &settings.tiers.levels;
    let progress = tiers::progress(levels, member.qualifying_points);
    TierView {
        current: member.tier.clone(),
        qualifying_points: member.qualifying_points.0,
        window_days: settings.tiers.window_days,
        next: progress.next.map(|(l, _)| l.name.clone()),
        points_to_next: progress.next.map_or(0, |(_, p)| p.0),
        progress_percent: progress.percent,
        levels: levels
            .iter()
            .map(|l| TierLevelView {
                name: l.name.clone(),
                threshold: l.threshold,
            })
            .collect(),
    }
}

fn referral_view(member: &Member, settings: &ProgramSettings) -> ReferralView {
    ReferralView {
        referral_url: referral_url(&settings.referral.base_url, &member.referral_code),
        referral_code: member.referral_code.clone(),
    }
}

impl App {
    pub fn dashboard(&self) -> &Runtime {
        &self.inner.dashboard
    }

    pub async fn member_balance(
        &self,
        program_id: &str,
        external_id: &str,
    ) -> Result<BalanceView, AppError> {
        let member = self.store().member(program_id, external_id).await?;
        let next = self
            .store()
            .next_expiry(program_id, external_id, Utc::now())
            .await?;
        let b = member.balances;
        Ok(BalanceView {
            available: b.available.0,
            pending: b.pending.0,
            earned: b.earned.0,
            redeemed: b.redeemed.0,
            expired: b.expired.0,
            next_expiry: next.map(|n| NextExpiry {
                date: n.expires_at.date_naive(),
                expires_at: n.expires_at,
                points: n.points.0,
            }),
        })
    }

    pub async fn member_tier(
        &self,
        program_id: &str,
        external_id: &str,
    ) -> Result<TierView, AppError> {
        let member = self.store().member(program_id, external_id).await?;
        let settings = self.store().settings(program_id).await?;
        Ok(tier_view(&member, &settings))
    }

    pub async fn member_rewards(
        &self,
        program_id: &str,
        external_id: &str,
    ) -> Result<Vec<MemberReward>, AppError> {
        let member = self.store().member(program_id, external_id).await?;
        let settings = self.store().settings(program_id).await?;
        let rewards = self.store().list_rewards(program_id).await?;
        Ok(member_rewards(&member, &settings, rewards))
    }

    pub async fn member_referral(
        &self,
        program_id: &str,
        external_id: &str,
    ) -> Result<ReferralView, AppError> {
        let member = self.store().member(program_id, external_id).await?;
        let settings = self.store().settings(program_id).await?;
        Ok(referral_view(&member, &settings))
    }

    /// The whole dashboard of a member, in the member's language.
    pub async fn member_dashboard(
        &self,
        program_id: &str,
        external_id: &str,
    ) -> Result<DashboardView, AppError> {
        let program = self.store().program(program_id).await?;
        let member = self.store().member(program_id, external_id).await?;
        let settings = self.store().settings(program_id).await?;
        let rewards = self.store().list_rewards(program_id).await?;
        let (language, messages) = self
            .dashboard()
            .translations()
            .for_member(member.preferred_language.as_deref());
        Ok(DashboardView {
            language,
            messages,
            program_name: program.name,
            balance: self.member_balance(program_id, external_id).await?,
            tier: tier_view(&member, &settings),
            rewards: member_rewards(&member, &settings, rewards),
            referral: referral_view(&member, &settings),
            history: self
                .ledger_page(program_id, external_id, None, HISTORY_ENTRIES)
                .await?,
            member: self.member_view(program_id, member).await?,
        })
    }

    /// Takes from the member's and the client address's allowance for `action`.
    pub fn take_member_allowance(
        &self,
        action: rate_limits::Action,
        claims: &super::member_tokens::MemberClaims,
        ip: std::net::IpAddr,
        cost: u32,
    ) -> Result<(), rate_limits::Limited> {
        self.dashboard().limits.take(
            action,
            &claims.program_id,
            &claims.external_id,
            ip,
            cost,
            std::time::Instant::now(),
        )
    }
}
