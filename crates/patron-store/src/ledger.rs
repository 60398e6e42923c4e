//! Ledger use cases: award an activity (idempotently), adjust, reverse a return, approve pending
//! points, and read the ledger. Each runs in one transaction with the member's row locked, and
//! records the notifications it causes in the same transaction.

use crate::group_commit;
use crate::outbox::NewNotification;
use crate::rows::MemberRecord;
use crate::{Backend, Store, StoreError, Tx, from_ms, ms};
use chrono::{DateTime, Duration, Utc};
use patron_domain::catalog::field;
use patron_domain::ledger::{self, Draw, EntryKind, LedgerError, Lot};
use patron_domain::profile::{RewardOffer, common_fields, with_event_fields};
use patron_domain::settings::{ExpiryMode, ReturnPolicy};
use patron_domain::{EventKind, Member, MemberStatus, Points, ProgramSettings, tiers};
use serde::{Deserialize, Serialize};
use sqlx::{AssertSqlSafe, Row};
use std::collections::HashMap;
use std::sync::Arc;
use tokio::sync::{OwnedMutexGuard, oneshot};

#[derive(Debug, Clone)]
pub struct ActivityInput {
    pub activity_type: String,
    pub amount: Option<f64>,
    pub order_id: Option<String>,
    pub occurred_at: Option<DateTime<Utc>>,
    pub idempotency_key: Option<String>,
    /// A digest of the request body, to tell a replay from a different request under the same key.
    pub request_hash: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ActivityOutcome {
    pub entry_id: i64,
    pub activity_type: String,
    pub points: i64,
    /// `available` or `pending`.
    pub status: String,
    pub available_at: DateTime<Utc>,
    #[serde(skip)]
    pub replayed: bool,
}

#[derive(Debug, Clone)]
pub struct AdjustmentInput {
    pub points: i64,
    pub reason: String,
}

#[derive(Debug, Clone)]
pub struct ReturnInput {
    pub order_id: String,
    /// Defaults to whatever of the order has not been returned yet.
    pub returned_amount: Option<f64>,
    pub idempotency_key: Option<String>,
    pub request_hash: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReturnOutcome {
    pub entry_id: i64,
    pub points_reversed: i64,
    pub from_pending: i64,
    pub shortfall: i64,
    #[serde(skip)]
    pub replayed: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct LedgerEntryView {
    pub id: i64,
    pub kind: String,
    pub points: i64,
    pub status: String,
    pub activity_type: Option<String>,
    pub description: String,
    pub order_id: Option<String>,
    pub draws: Vec<Draw>,
    pub shortfall: i64,
    pub occurred_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
}

/// What a member-changing use case needs to know about the program.
pub(crate) struct ProgramCtx {
    pub settings: ProgramSettings,
    pub expiry_enabled_at: Option<DateTime<Utc>>,
    pub rewards: Vec<RewardOffer>,
    /// The channel notifications go out on (`native` or `listrak`).
    pub channel: String,
}

impl ProgramCtx {
    pub(crate) fn fields(
        &self,
        member: &Member,
        event_fields: &[(&str, String)],
    ) -> patron_domain::Fields {
        with_event_fields(
            common_fields(member, &self.settings, &self.rewards),
            event_fields,
        )
    }

    pub(crate) fn lot_expiry(&self, earned_at: DateTime<Utc>) -> Option<DateTime<Utc>> {
        match self.settings.expiry.mode {
            ExpiryMode::PerLot => {
                let start = self
                    .expiry_enabled_at
                    .map_or(earned_at, |e| e.max(earned_at));
                Some(start + Duration::days(i64::from(self.settings.expiry.days)))
            }
            _ => None,
        }
    }
}

/// The program context of each program an award batch touches, read once per batch inside its
/// transaction (awards change neither settings nor rewards, so it stays current for the batch).
#[derive(Default)]
pub(crate) struct Programs(HashMap<String, Arc<ProgramCtx>>);

impl Programs {
    pub(crate) async fn get(
        &mut self,
        store: &Store,
        tx: &mut Tx,
        program_id: &str,
    ) -> Result<Arc<ProgramCtx>, StoreError> {
        if let Some(ctx) = self.0.get(program_id) {
            return Ok(ctx.clone());
        }
        let ctx = Arc::new(store.program_ctx(tx, program_id).await?);
        self.0.insert(program_id.to_string(), ctx.clone());
        Ok(ctx)
    }
}

/// An award waiting in the group-commit queue.
pub(crate) struct AwardJob {
    program_id: String,
    external_id: String,
    input: ActivityInput,
    now: DateTime<Utc>,
    reply: oneshot::Sender<Result<ActivityOutcome, StoreError>>,
}

async fn apply_awards(store: Store, turn: OwnedMutexGuard<()>, jobs: Vec<AwardJob>) {
    match store.award_batch(turn, &jobs).await {
        Ok(results) => {
            for (job, result) in jobs.into_iter().zip(results) {
                let _ = job.reply.send(result);
            }
        }
        Err(e) => {
            tracing::warn!(error = %e, awards = jobs.len(), "a batch of awards failed");
            for job in jobs {
                let _ = job.reply.send(Err(group_commit::failed(&e)));
            }
        }
    }
}

fn ledger_rejection(e: LedgerError, field: &str) -> StoreError {
    match e {
        LedgerError::InsufficientPoints { .. } => {
            StoreError::conflict("insufficient_points", e.to_string())
        }
        LedgerError::AmountRequired => StoreError::invalid("required", field, e.to_string()),
        LedgerError::InvalidAmount => StoreError::invalid("invalid_amount", field, e.to_string()),
        LedgerError::Overflow => StoreError::invalid("out_of_range", field, e.to_string()),
    }
}

/// A lot row, and whether it counts toward tiers.
fn lot_row(r: &sqlx::any::AnyRow) -> Result<(Lot, bool), StoreError> {
    let approved: i64 = r.try_get("approved")?;
    // An unapproved lot stays pending until the approval job runs, whatever the clock says.
    let available_at = if approved == 0 {
        DateTime::<Utc>::MAX_UTC
    } else {
        from_ms(r.try_get("available_at")?)
    };
    Ok((
        Lot {
            id: r.try_get("id")?,
            amount: Points(r.try_get("amount")?),
            remaining: Points(r.try_get("remaining")?),
            earned_at: from_ms(r.try_get("earned_at")?),
            available_at,
            expires_at: r.try_get::<Option<i64>, _>("expires_at")?.map(from_ms),
        },
        r.try_get::<i64, _>("qualifying")? != 0,
    ))
}

impl Store {
    pub(crate) async fn program_ctx(
        &self,
        tx: &mut Tx,
        program_id: &str,
    ) -> Result<ProgramCtx, StoreError> {
        let row =
            sqlx::query("SELECT settings, expiry_enabled_at, channel FROM programs WHERE id = $1")
                .bind(program_id)
                .fetch_optional(&mut **tx)
                .await?
                .ok_or(StoreError::NotFound("program"))?;
        let settings: ProgramSettings =
            serde_json::from_str(&row.try_get::<String, _>("settings")?)?;
        let rewards = crate::rewards::active_offers(&mut **tx, program_id).await?;
        Ok(ProgramCtx {
            channel: row.try_get("channel")?,
            settings,
            expiry_enabled_at: row
                .try_get::<Option<i64>, _>("expiry_enabled_at")?
                .map(from_ms),
            rewards,
        })
    }

    /// A stored answer for this key, if the same request was made before; a 422 if the key was used
    /// for a different request.
    pub(crate) async fn replay<T: for<'de> Deserialize<'de>>(
        &self,
        tx: &mut Tx,
        program_id: &str,
        key: &str,
        request_hash: &str,
        field: &str,
    ) -> Result<Option<T>, StoreError> {
        let row = sqlx::query("SELECT request_hash, response FROM idempotency_keys WHERE program_id = $1 AND key = $2")
            .bind(program_id)
            .bind(key)
            .fetch_optional(&mut **tx)
            .await?;
        match row {
            None => Ok(None),
            Some(row) if row.try_get::<String, _>("request_hash")? == request_hash => Ok(Some(
                serde_json::from_str(&row.try_get::<String, _>("response")?)?,
            )),
            Some(_) => Err(StoreError::invalid(
                "idempotency_key_reused",
                field,
                "this key was already used for a different request; use a new key for a new request",
            )),
        }
    }

    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn remember<T: Serialize>(
        &self,
        tx: &mut Tx,
        program_id: &str,
        key: &str,
        member_id: &str,
        request_hash: &str,
        response: &T,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO idempotency_keys (program_id, key, member_id, request_hash, response, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(program_id)
        .bind(key)
        .bind(member_id)
        .bind(request_hash)
        .bind(serde_json::to_string(response)?)
        .bind(ms(now))
        .execute(&mut **tx)
        .await?;
        Ok(())
    }

    /// Awards an activity. Replaying the same idempotency key (or purchase order id) returns the
    /// first answer and awards nothing twice. On SQLite, awards requested at the same time are
    /// applied together in one transaction, each within a savepoint of its own (so one refused award
    /// changes nothing and fails alone); each is answered once that transaction has committed.
    pub async fn record_activity(
        &self,
        program_id: &str,
        external_id: &str,
        input: &ActivityInput,
        now: DateTime<Utc>,
    ) -> Result<ActivityOutcome, StoreError> {
        match self.backend() {
            Backend::Sqlite => {
                let (reply, answer) = oneshot::channel();
                let job = AwardJob {
                    program_id: program_id.to_string(),
                    external_id: external_id.to_string(),
                    input: input.clone(),
                    now,
                    reply,
                };
                let queue = self.awards.clone();
                self.group_commit(&queue, job, answer, apply_awards).await
            }
            // Row locks already let awards for different members run side by side.
            Backend::Postgres => {
                let mut tx = self.write_tx().await?;
                let mut programs = Programs::default();
                let outcome = self
                    .award(&mut tx, &mut programs, program_id, external_id, input, now)
                    .await?;
                tx.commit().await?;
                Ok(outcome)
            }
        }
    }

    /// Applies a batch of awards in one transaction, each in a savepoint: an award that fails is
    /// rolled back alone and answered with its error. Fails as a whole only if the transaction does.
    async fn award_batch(
        &self,
        turn: OwnedMutexGuard<()>,
        jobs: &[AwardJob],
    ) -> Result<Vec<Result<ActivityOutcome, StoreError>>, StoreError> {
        let mut tx = self.write_tx_holding(turn).await?;
        let mut programs = Programs::default();
        let mut results = Vec::with_capacity(jobs.len());
        for job in jobs {
            sqlx::query("SAVEPOINT award").execute(&mut *tx).await?;
            let result = self
                .award(
                    &mut tx,
                    &mut programs,
                    &job.program_id,
                    &job.external_id,
                    &job.input,
                    job.now,
                )
                .await;
            if result.is_err() {
                sqlx::query("ROLLBACK TO SAVEPOINT award")
                    .execute(&mut *tx)
                    .await?;
            }
            // Released at once: savepoints left stacked make every later write journal more.
            sqlx::query("RELEASE SAVEPOINT award")
                .execute(&mut *tx)
                .await?;
            results.push(result);
        }
        tx.commit().await?;
        Ok(results)
    }

    /// One award inside the caller's transaction.
    async fn award(
        &self,
        tx: &mut Tx,
        programs: &mut Programs,
        program_id: &str,
        external_id: &str,
        input: &ActivityInput,
        now: DateTime<Utc>,
    ) -> Result<ActivityOutcome, StoreError> {
        let mut rec = self.lock_member(tx, program_id, external_id).await?;
        let mut keys: Vec<(String, &str)> = Vec::new();
        if let Some(k) = &input.idempotency_key {
            keys.push((format!("key:{k}"), "Idempotency-Key"));
        }
        if let Some(order) = &input.order_id {
            keys.push((format!("order:{order}"), "order_id"));
        }
        if input.activity_type == "signup" {
            keys.push((format!("signup:{}", rec.member.id), "type"));
        }
        for (key, field) in &keys {
            if let Some(mut first) = self
                .replay::<ActivityOutcome>(tx, program_id, key, &input.request_hash, field)
                .await?
            {
                first.replayed = true;
                return Ok(first);
            }
        }
        rec.require_active("a blocked member earns no points")?;
        let ctx = programs.get(self, tx, program_id).await?;
        let rule = ctx.settings.earning.rule(&input.activity_type).ok_or_else(|| {
            StoreError::invalid(
                "unknown_activity_type",
                "type",
                format!("`{}` is not an activity type of this program; define it under earning.custom in the settings", input.activity_type),
            )
        })?;
        let points =
            ledger::points_for(&rule, input.amount).map_err(|e| ledger_rejection(e, "amount"))?;
        let occurred_at = input.occurred_at.unwrap_or(now).min(now);
        let available_at = occurred_at + Duration::days(i64::from(rule.approval_days()));
        let pending = available_at > now;
        let display_name = rule.display_name().to_string();
        let qualifies = ctx.settings.tiers.qualifying.contains(&input.activity_type);
        let (entry_id, _lot_id) = self
            .insert_earning(
                tx,
                &mut rec,
                &ctx,
                Earning {
                    kind: EntryKind::Earn,
                    activity_type: Some(&input.activity_type),
                    description: &display_name,
                    order_id: input.order_id.as_deref(),
                    order_amount: input.amount,
                    points: Points(points.0.max(0)),
                    occurred_at,
                    available_at,
                    qualifies,
                },
                now,
            )
            .await?;
        if input.activity_type == "purchase" {
            self.take_winback_offer(tx, &mut rec, &ctx, occurred_at, now)
                .await?;
            self.reward_referrer(tx, &rec, &ctx, input.amount.unwrap_or(0.0), now)
                .await?;
        }
        if ctx
            .settings
            .expiry
            .keeps_active
            .contains(&input.activity_type)
        {
            rec.last_active_at = Some(
                rec.last_active_at
                    .map_or(ms(occurred_at), |l| l.max(ms(occurred_at))),
            );
        }
        self.save_member(tx, &rec, now).await?;
        let outcome = ActivityOutcome {
            entry_id,
            activity_type: input.activity_type.clone(),
            points: points.0,
            status: if pending { "pending" } else { "available" }.into(),
            available_at,
            replayed: false,
        };
        for (key, _) in &keys {
            self.remember(
                tx,
                program_id,
                key,
                &rec.member.id,
                &input.request_hash,
                &outcome,
                now,
            )
            .await?;
        }
        Ok(outcome)
    }

    /// Writes an earning's entry and lot, updates the member's balances and tier, and records
    /// `Points Earned` (and `Tier Upgrade`) when the points are available at once.
    pub(crate) async fn insert_earning(
        &self,
        tx: &mut Tx,
        rec: &mut MemberRecord,
        ctx: &ProgramCtx,
        e: Earning<'_>,
        now: DateTime<Utc>,
    ) -> Result<(i64, i64), StoreError> {
        let program_id = rec.program_id.clone();
        let pending = e.available_at > now;
        let entry_id: i64 = sqlx::query_scalar(
            "INSERT INTO ledger_entries (program_id, member_id, kind, points, pending, activity_type, description, \
             order_id, occurred_at, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
        )
        .bind(&program_id)
        .bind(&rec.member.id)
        .bind(e.kind.as_str())
        .bind(e.points.0)
        .bind(i64::from(pending))
        .bind(e.activity_type)
        .bind(e.description)
        .bind(e.order_id)
        .bind(ms(e.occurred_at))
        .bind(ms(now))
        .fetch_one(&mut **tx)
        .await?;
        let (remaining, repaid) = if pending {
            (e.points, Points::ZERO)
        } else {
            let (repaid, rest) = ledger::repay_debt(e.points, rec.debt);
            (rest, repaid)
        };
        let lot_id: i64 = sqlx::query_scalar(
            "INSERT INTO lots (program_id, member_id, entry_id, activity_type, description, amount, remaining, \
             qualifying, earned_at, available_at, approved, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING id",
        )
        .bind(&program_id)
        .bind(&rec.member.id)
        .bind(entry_id)
        .bind(e.activity_type)
        .bind(e.description)
        .bind(e.points.0)
        .bind(remaining.0)
        .bind(i64::from(e.qualifies))
        .bind(ms(e.occurred_at))
        .bind(ms(e.available_at))
        .bind(i64::from(!pending))
        .bind(ctx.lot_expiry(e.occurred_at).map(ms))
        .fetch_one(&mut **tx)
        .await?;
        if let (Some(order_id), Some(amount)) = (e.order_id, e.order_amount) {
            sqlx::query(
                "INSERT INTO orders (program_id, order_id, member_id, amount, points, lot_id, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(&program_id)
            .bind(order_id)
            .bind(&rec.member.id)
            .bind(amount)
            .bind(e.points.0)
            .bind(lot_id)
            .bind(ms(now))
            .execute(&mut **tx)
            .await?;
        }
        let b = &mut rec.member.balances;
        if pending {
            b.pending = b.pending.checked_add(e.points).map_err(|_| overflow())?;
        } else {
            rec.debt = Points(rec.debt.0 - repaid.0);
            b.available = b.available.checked_add(e.points).map_err(|_| overflow())?;
            b.earned = b.earned.checked_add(e.points).map_err(|_| overflow())?;
            if e.qualifies {
                rec.member.qualifying_points = rec
                    .member
                    .qualifying_points
                    .checked_add(e.points)
                    .map_err(|_| overflow())?;
                self.refresh_window_qualifying(tx, rec, ctx, now).await?;
            }
            let mut notes = Vec::new();
            let upgrade = self.apply_tier_upgrade(rec, ctx);
            if e.points.is_positive() && rec.member.receives_events() {
                let fields = ctx.fields(
                    &rec.member,
                    &[
                        (field::POINTS_CURRENT_ACTIVITY, e.points.0.to_string()),
                        (field::RECENT_ACTIVITY_COMPLETED, e.description.to_string()),
                    ],
                );
                notes.push(note(&rec.member, EventKind::PointsEarned, fields));
            }
            if let Some(n) = upgrade {
                notes.push(n);
            }
            self.enqueue_on(tx, &program_id, &ctx.channel, &notes, now)
                .await?;
        }
        Ok((entry_id, lot_id))
    }

    /// Raises the member's tier if the qualifying total reached a higher one. Downgrades wait for the
    /// tier review. Returns the `Tier Upgrade` notification, if one is due.
    pub(crate) fn apply_tier_upgrade(
        &self,
        rec: &mut MemberRecord,
        ctx: &ProgramCtx,
    ) -> Option<NewNotification> {
        let levels = &ctx.settings.tiers.levels;
        let reached = tiers::tier_for(levels, rec.member.qualifying_points)?
            .name
            .clone();
        if !tiers::is_upgrade(levels, rec.member.tier.as_deref(), Some(&reached))
            && rec.member.tier.is_some()
        {
            return None;
        }
        let event_due = tiers::is_upgrade(levels, rec.member.tier.as_deref(), Some(&reached));
        rec.member.tier = Some(reached.clone());
        if !event_due || !rec.member.receives_events() {
            return None;
        }
        let expiry = self.balance_expiry_hint(rec, ctx);
        let fields = ctx.fields(
            &rec.member,
            &[
                (field::CURRENT_TIER, reached),
                (field::POINTS_EXPIRY_DATE, expiry),
            ],
        );
        Some(note(&rec.member, EventKind::TierUpgrade, fields))
    }

    /// The date the member's points next expire, as Listrak text (empty when they do not).
    fn balance_expiry_hint(&self, rec: &MemberRecord, ctx: &ProgramCtx) -> String {
        match ctx.settings.expiry.mode {
            ExpiryMode::Inactivity => rec
                .last_active_at
                .map(from_ms)
                .map(|last| {
                    let start = ctx.expiry_enabled_at.map_or(last, |e| e.max(last));
                    patron_domain::profile::format_instant_date(
                        start + Duration::days(i64::from(ctx.settings.expiry.days)),
                    )
                })
                .unwrap_or_default(),
            _ => String::new(),
        }
    }

    pub(crate) async fn member_lots(
        &self,
        tx: &mut Tx,
        member_id: &str,
    ) -> Result<Vec<(Lot, bool)>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, amount, remaining, earned_at, available_at, approved, expires_at, qualifying FROM lots \
             WHERE member_id = $1 AND remaining > 0",
        )
        .bind(member_id)
        .fetch_all(&mut **tx)
        .await?;
        rows.iter().map(lot_row).collect()
    }

    /// The lots with something left of several members, by member id.
    pub(crate) async fn lots_of(
        &self,
        tx: &mut Tx,
        member_ids: &[&str],
    ) -> Result<HashMap<String, Vec<Lot>>, StoreError> {
        let mut out: HashMap<String, Vec<Lot>> = HashMap::new();
        for chunk in member_ids.chunks(500) {
            let sql = format!(
                "SELECT member_id, id, amount, remaining, earned_at, available_at, approved, expires_at, qualifying \
                 FROM lots WHERE member_id IN ({}) AND remaining > 0",
                crate::group_commit::Params::new(self.backend()).list(chunk.len())
            );
            let mut q = sqlx::query(AssertSqlSafe(sql));
            for id in chunk {
                q = q.bind(*id);
            }
            for r in q.fetch_all(&mut **tx).await? {
                let (lot, _) = lot_row(&r)?;
                out.entry(r.try_get("member_id")?).or_default().push(lot);
            }
        }
        Ok(out)
    }

    pub(crate) async fn apply_draws(&self, tx: &mut Tx, draws: &[Draw]) -> Result<(), StoreError> {
        for d in draws {
            sqlx::query("UPDATE lots SET remaining = remaining - $1 WHERE id = $2")
                .bind(d.points.0)
                .bind(d.lot_id)
                .execute(&mut **tx)
                .await?;
        }
        Ok(())
    }

    /// A signed manual correction. Positive adds an available lot; negative draws from lots, and what
    /// they cannot cover is owed.
    pub async fn record_adjustment(
        &self,
        program_id: &str,
        external_id: &str,
        input: &AdjustmentInput,
        now: DateTime<Utc>,
    ) -> Result<i64, StoreError> {
        let mut tx = self.write_tx().await?;
        let mut rec = self.lock_member(&mut tx, program_id, external_id).await?;
        if rec.member.status == MemberStatus::Deleted {
            return Err(StoreError::conflict(
                "member_deleted",
                "this member was deleted",
            ));
        }
        let ctx = self.program_ctx(&mut tx, program_id).await?;
        let entry_id = if input.points >= 0 {
            let e = Earning {
                kind: EntryKind::Adjust,
                activity_type: None,
                description: &input.reason,
                order_id: None,
                order_amount: None,
                points: Points(input.points),
                occurred_at: now,
                available_at: now,
                qualifies: false,
            };
            self.insert_earning(&mut tx, &mut rec, &ctx, e, now)
                .await?
                .0
        } else {
            let lots: Vec<Lot> = self
                .member_lots(&mut tx, &rec.member.id)
                .await?
                .into_iter()
                .map(|(l, _)| l)
                .collect();
            let plan = ledger::plan_reversal(&lots, None, Points(-input.points), now);
            self.apply_draws(&mut tx, &plan.draws).await?;
            rec.debt = Points(rec.debt.0 + plan.uncovered.0);
            let b = &mut rec.member.balances;
            b.available = Points(b.available.0 + input.points);
            self.insert_entry(
                &mut tx,
                program_id,
                &rec.member.id,
                EntryKind::Adjust,
                input.points,
                &input.reason,
                None,
                &plan.draws,
                0,
                now,
            )
            .await?
        };
        self.save_member(&mut tx, &rec, now).await?;
        tx.commit().await?;
        Ok(entry_id)
    }

    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn insert_entry(
        &self,
        tx: &mut Tx,
        program_id: &str,
        member_id: &str,
        kind: EntryKind,
        points: i64,
        description: &str,
        order_id: Option<&str>,
        draws: &[Draw],
        shortfall: i64,
        now: DateTime<Utc>,
    ) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar(
            "INSERT INTO ledger_entries (program_id, member_id, kind, points, description, order_id, draws, \
             shortfall, occurred_at, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9) RETURNING id",
        )
        .bind(program_id)
        .bind(member_id)
        .bind(kind.as_str())
        .bind(points)
        .bind(description)
        .bind(order_id)
        .bind(serde_json::to_string(draws)?)
        .bind(shortfall)
        .bind(ms(now))
        .fetch_one(&mut **tx)
        .await?)
    }

    /// Reverses the points of a returned purchase in proportion to the returned amount: pending
    /// points first, then available ones; what is already spent follows the program's policy.
    pub async fn record_return(
        &self,
        program_id: &str,
        external_id: &str,
        input: &ReturnInput,
        now: DateTime<Utc>,
    ) -> Result<ReturnOutcome, StoreError> {
        let mut tx = self.write_tx().await?;
        let mut rec = self.lock_member(&mut tx, program_id, external_id).await?;
        if let Some(k) = &input.idempotency_key {
            let key = format!("return:{k}");
            if let Some(mut first) = self
                .replay::<ReturnOutcome>(
                    &mut tx,
                    program_id,
                    &key,
                    &input.request_hash,
                    "Idempotency-Key",
                )
                .await?
            {
                first.replayed = true;
                return Ok(first);
            }
        }
        if rec.member.status == MemberStatus::Deleted {
            return Err(StoreError::conflict(
                "member_deleted",
                "this member was deleted",
            ));
        }
        let order = sqlx::query(
            "SELECT amount, points, lot_id, returned_amount, returned_points FROM orders \
             WHERE program_id = $1 AND order_id = $2 AND member_id = $3",
        )
        .bind(program_id)
        .bind(&input.order_id)
        .bind(&rec.member.id)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or_else(|| {
            StoreError::invalid(
                "unknown_order",
                "order_id",
                "no purchase of this member has this order id",
            )
        })?;
        let amount: f64 = order.try_get("amount")?;
        let points = Points(order.try_get("points")?);
        let lot_id: Option<i64> = order.try_get("lot_id")?;
        let already_amount: f64 = order.try_get("returned_amount")?;
        let already_points: i64 = order.try_get("returned_points")?;
        let returning = input.returned_amount.unwrap_or(amount - already_amount);
        if !(returning.is_finite() && returning > 0.0) || already_amount + returning > amount + 1e-9
        {
            return Err(StoreError::invalid(
                "invalid_amount",
                "returned_amount",
                format!(
                    "must be more than 0 and at most the {:.2} not yet returned",
                    amount - already_amount
                ),
            ));
        }
        let total_after = ledger::reversal_points(points, amount, already_amount + returning)
            .map_err(|e| ledger_rejection(e, "returned_amount"))?;
        let to_reverse = Points(total_after.0 - already_points);
        let ctx = self.program_ctx(&mut tx, program_id).await?;
        let lots = self.member_lots(&mut tx, &rec.member.id).await?;
        let origin_qualifies = lots
            .iter()
            .find(|(l, _)| Some(l.id) == lot_id)
            .map(|(_, q)| *q)
            .unwrap_or(false);
        let plain: Vec<Lot> = lots.into_iter().map(|(l, _)| l).collect();
        let plan = ledger::plan_reversal(&plain, lot_id, to_reverse, now);
        self.apply_draws(&mut tx, &plan.draws).await?;
        let from_available = to_reverse.0 - plan.from_pending.0 - plan.uncovered.0;
        let (owed, shortfall) = match ctx.settings.returns.policy {
            ReturnPolicy::Negative => (plan.uncovered.0, 0),
            ReturnPolicy::Clamp => (0, plan.uncovered.0),
        };
        rec.debt = Points(rec.debt.0 + owed);
        let approved_part = to_reverse.0 - plan.from_pending.0;
        let b = &mut rec.member.balances;
        b.pending = Points(b.pending.0 - plan.from_pending.0);
        b.available = Points(b.available.0 - from_available - owed);
        b.earned = Points((b.earned.0 - approved_part).max(0));
        if origin_qualifies {
            rec.member.qualifying_points =
                Points((rec.member.qualifying_points.0 - approved_part).max(0));
        }
        if let Some(lot) = lot_id {
            sqlx::query("UPDATE lots SET reversed = reversed + $1 WHERE id = $2")
                .bind(to_reverse.0)
                .bind(lot)
                .execute(&mut *tx)
                .await?;
            if origin_qualifies {
                self.refresh_window_qualifying(&mut tx, &mut rec, &ctx, now)
                    .await?;
            }
        }
        let entry_points = -(to_reverse.0 - shortfall);
        let entry_id = self
            .insert_entry(
                &mut tx,
                program_id,
                &rec.member.id,
                EntryKind::Reverse,
                entry_points,
                "Return",
                Some(&input.order_id),
                &plan.draws,
                shortfall,
                now,
            )
            .await?;
        sqlx::query(
            "UPDATE orders SET returned_amount = returned_amount + $1, returned_points = $2 WHERE program_id = $3 AND order_id = $4",
        )
        .bind(returning)
        .bind(total_after.0)
        .bind(program_id)
        .bind(&input.order_id)
        .execute(&mut *tx)
        .await?;
        self.save_member(&mut tx, &rec, now).await?;
        let outcome = ReturnOutcome {
            entry_id,
            points_reversed: to_reverse.0 - shortfall,
            from_pending: plan.from_pending.0,
            shortfall,
            replayed: false,
        };
        if let Some(k) = &input.idempotency_key {
            self.remember(
                &mut tx,
                program_id,
                &format!("return:{k}"),
                &rec.member.id,
                &input.request_hash,
                &outcome,
                now,
            )
            .await?;
        }
        tx.commit().await?;
        Ok(outcome)
    }

    /// Makes pending points whose approval date has passed available, member by member, and records
    /// their `Points Earned`. Returns how many lots were approved.
    pub async fn approve_due_points(
        &self,
        program_id: &str,
        as_of: DateTime<Utc>,
        batch: u32,
    ) -> Result<u64, StoreError> {
        let mut approved = 0;
        loop {
            let members: Vec<String> = sqlx::query_scalar(AssertSqlSafe(format!(
                "SELECT DISTINCT m.external_id FROM lots l JOIN members m ON m.id = l.member_id \
                 WHERE l.program_id = $1 AND l.approved = 0 AND l.available_at <= $2 LIMIT {}",
                batch.max(1)
            )))
            .bind(program_id)
            .bind(ms(as_of))
            .fetch_all(self.pool())
            .await?;
            if members.is_empty() {
                return Ok(approved);
            }
            for external_id in members {
                approved += self
                    .approve_member_points(program_id, &external_id, as_of)
                    .await?;
            }
        }
    }

    async fn approve_member_points(
        &self,
        program_id: &str,
        external_id: &str,
        as_of: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        let mut tx = self.write_tx().await?;
        let mut rec = self.lock_member(&mut tx, program_id, external_id).await?;
        let ctx = self.program_ctx(&mut tx, program_id).await?;
        let due = sqlx::query(
            "SELECT id, remaining, description, qualifying FROM lots WHERE member_id = $1 AND approved = 0 \
             AND available_at <= $2 ORDER BY available_at, id",
        )
        .bind(&rec.member.id)
        .bind(ms(as_of))
        .fetch_all(&mut *tx)
        .await?;
        let mut notes = Vec::new();
        for lot in &due {
            let id: i64 = lot.try_get("id")?;
            let points = Points(lot.try_get("remaining")?);
            let description: String = lot.try_get("description")?;
            let active = rec.member.status != MemberStatus::Deleted;
            // Deleted members are frozen; Blocked members' points stay pending until unblocked.
            if !active || rec.member.status == MemberStatus::Blocked {
                continue;
            }
            let (repaid, rest) = ledger::repay_debt(points, rec.debt);
            rec.debt = Points(rec.debt.0 - repaid.0);
            sqlx::query("UPDATE lots SET approved = 1, remaining = $1 WHERE id = $2")
                .bind(rest.0)
                .bind(id)
                .execute(&mut *tx)
                .await?;
            let b = &mut rec.member.balances;
            b.pending = Points(b.pending.0 - points.0);
            b.available = Points(b.available.0 + points.0);
            b.earned = Points(b.earned.0 + points.0);
            if lot.try_get::<i64, _>("qualifying")? != 0 {
                rec.member.qualifying_points = Points(rec.member.qualifying_points.0 + points.0);
            }
            if points.is_positive() && rec.member.receives_events() {
                let fields = ctx.fields(
                    &rec.member,
                    &[
                        (field::POINTS_CURRENT_ACTIVITY, points.0.to_string()),
                        (field::RECENT_ACTIVITY_COMPLETED, description),
                    ],
                );
                notes.push(note(&rec.member, EventKind::PointsEarned, fields));
            }
        }
        self.refresh_window_qualifying(&mut tx, &mut rec, &ctx, as_of)
            .await?;
        if let Some(n) = self.apply_tier_upgrade(&mut rec, &ctx) {
            notes.push(n);
        }
        let count = notes
            .iter()
            .filter(|n| n.event == EventKind::PointsEarned)
            .count() as u64;
        self.enqueue(&mut tx, program_id, &notes, as_of).await?;
        self.save_member(&mut tx, &rec, as_of).await?;
        tx.commit().await?;
        Ok(count.max(if due.is_empty() { 0 } else { 1 }))
    }

    /// The member's ledger, newest first; `before_id` pages.
    pub async fn ledger_page(
        &self,
        program_id: &str,
        external_id: &str,
        before_id: Option<i64>,
        limit: u32,
    ) -> Result<Vec<LedgerEntryView>, StoreError> {
        let member = self.member(program_id, external_id).await?;
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT e.id, e.kind, e.points, e.activity_type, e.description, e.order_id, e.draws, e.shortfall, \
             e.occurred_at, e.created_at, l.approved FROM ledger_entries e LEFT JOIN lots l ON l.entry_id = e.id \
             WHERE e.member_id = $1 AND e.id < $2 ORDER BY e.id DESC LIMIT {}",
            limit.clamp(1, 500)
        )))
        .bind(&member.id)
        .bind(before_id.unwrap_or(i64::MAX))
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                let approved: Option<i64> = r.try_get("approved")?;
                let draws: Option<String> = r.try_get("draws")?;
                Ok(LedgerEntryView {
                    id: r.try_get("id")?,
                    kind: r.try_get("kind")?,
                    points: r.try_get("points")?,
                    status: if approved == Some(0) {
                        "pending"
                    } else {
                        "posted"
                    }
                    .into(),
                    activity_type: r.try_get("activity_type")?,
                    description: r.try_get("description")?,
                    order_id: r.try_get("order_id")?,
                    draws: draws
                        .map(|d| serde_json::from_str(&d))
                        .transpose()?
                        .unwrap_or_default(),
                    shortfall: r.try_get("shortfall")?,
                    occurred_at: from_ms(r.try_get("occurred_at")?),
                    created_at: from_ms(r.try_get("created_at")?),
                })
            })
            .collect()
    }
}

/// One earning to write.
pub(crate) struct Earning<'a> {
    pub kind: EntryKind,
    pub activity_type: Option<&'a str>,
    pub description: &'a str,
    pub order_id: Option<&'a str>,
    pub order_amount: Option<f64>,
    pub points: Points,
    pub occurred_at: DateTime<Utc>,
    pub available_at: DateTime<Utc>,
    pub qualifies: bool,
}

pub(crate) fn note(
    member: &Member,
    event: EventKind,
    fields: patron_domain::Fields,
) -> NewNotification {
    NewNotification {
        member_id: Some(member.id.clone()),
        event,
        email: member.email.clone(),
        fields,
        dedupe_key: None,
    }
}

fn overflow() -> StoreError {
    StoreError::invalid("out_of_range", "points", "the balance would overflow")
}
