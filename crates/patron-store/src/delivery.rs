//! The delivery side of the outbox: claim due rows with a lease (only the oldest open row of each
//! (program, list, contact) lane, so one contact's notifications leave one at a time and in order),
//! give back rows never attempted, hold a program's channel while it is unusable, and put dead rows
//! back in line on request. Finishing lives in `finish.rs`.

use crate::group_commit::Params;
use crate::rows::{MEMBER_COLUMNS, member_record};
use crate::{Backend, ContactState, Store, StoreError, Tx, from_ms, ms};
use chrono::{DateTime, Utc};
use patron_domain::Member;
use sqlx::{AssertSqlSafe, Row};
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// A row claimed for one delivery attempt. `lease` fences the finish.
#[derive(Debug, Clone)]
pub struct ClaimedRow {
    pub id: i64,
    pub program_id: String,
    pub member_id: Option<String>,
    pub event: Option<String>,
    pub email: String,
    pub channel: String,
    pub list_id: Option<String>,
    pub fields: BTreeMap<String, String>,
    /// Attempts before this one.
    pub attempts: i64,
    pub ambiguous: i64,
    pub lease: String,
    pub claimed_at: DateTime<Utc>,
    /// The member, as read with the claim (`None` when the row has none, or it is gone).
    pub member: Option<Member>,
    /// For a Listrak row of a member: what Patron last told Listrak about them on this list
    /// (`Some(None)` when nothing yet), as read with the claim.
    pub contact: Option<Option<ContactState>>,
}

/// How an attempt ends, as the store records it.
#[derive(Debug, Clone, PartialEq)]
pub enum Finish {
    Delivered {
        detail: String,
    },
    /// Back to `pending`, due at `next_attempt_at`.
    Retry {
        reason: String,
        next_attempt_at: DateTime<Utc>,
        ambiguous: bool,
    },
    /// To the dead-letter list (`dead`), or `unconfirmed` when the last attempt may have been applied.
    Dead {
        reason: String,
        unconfirmed: bool,
    },
    /// Not attempted: the channel is held; back to `pending` without spending an attempt.
    Release {
        reason: String,
    },
}

/// `1, 2, 3`: ids are integers from the database, safe to write into the statement.
fn id_list(ids: &[i64]) -> String {
    ids.iter()
        .map(i64::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

#[derive(Debug, Clone, PartialEq)]
pub struct AttemptView {
    pub started_at: DateTime<Utc>,
    pub finished_at: DateTime<Utc>,
    pub outcome: String,
    pub detail: Option<String>,
}

fn same_list(backend: Backend) -> &'static str {
    match backend {
        Backend::Sqlite => "e.list_id IS d.list_id",
        Backend::Postgres => "e.list_id IS NOT DISTINCT FROM d.list_id",
    }
}

impl Store {
    /// Claims up to `limit` due rows for `lease_ms`. A row is due when pending and its time has come,
    /// or in flight with an expired lease (its worker died); and when no older row of its lane is
    /// still open, and its program's channel is not held.
    pub async fn claim_deliveries(
        &self,
        now: DateTime<Utc>,
        lease_ms: i64,
        limit: u32,
    ) -> Result<Vec<ClaimedRow>, StoreError> {
        let mut tx = self.write_tx().await?;
        // Rows whose worker died come back first (their lease expired), then pending rows are walked in
        // recorded order until `limit` are found whose lane is free and whose channel is not held.
        sqlx::query("UPDATE deliveries SET status = 'pending' WHERE status = 'in_flight' AND lease_until < $1")
            .bind(ms(now))
            .execute(&mut *tx)
            .await?;
        // `+` keeps the planner on the (status, id) index, which walks rows in recorded order and stops
        // at the limit, instead of sorting every pending row first.
        let sql = format!(
            "SELECT d.id FROM deliveries d \
             WHERE d.status = 'pending' AND +d.next_attempt_at <= $1 \
             AND NOT EXISTS (SELECT 1 FROM deliveries e WHERE e.program_id = d.program_id AND e.email = d.email \
                 AND {} AND e.id < d.id AND e.status IN ('pending', 'in_flight')) \
             AND NOT EXISTS (SELECT 1 FROM delivery_holds h WHERE h.program_id = d.program_id AND h.channel = d.channel \
                 AND h.until > $1) \
             ORDER BY d.id LIMIT {}{}",
            same_list(self.backend()),
            limit.max(1),
            match self.backend() {
                Backend::Sqlite => "",
                Backend::Postgres => " FOR UPDATE OF d SKIP LOCKED",
            }
        );
        let ids: Vec<i64> = sqlx::query_scalar(AssertSqlSafe(sql))
            .bind(ms(now))
            .fetch_all(&mut *tx)
            .await?;
        if ids.is_empty() {
            tx.commit().await?;
            return Ok(Vec::new());
        }
        // One lease for the batch: the finish is fenced on the row id and the lease together.
        let lease = uuid::Uuid::new_v4().simple().to_string();
        let sql = format!(
            "UPDATE deliveries SET status = 'in_flight', lease_owner = $1, lease_until = $2 WHERE id IN ({}) \
             RETURNING id, program_id, member_id, event, email, channel, list_id, fields, attempts, ambiguous",
            id_list(&ids)
        );
        let rows = sqlx::query(AssertSqlSafe(sql))
            .bind(&lease)
            .bind(ms(now) + lease_ms)
            .fetch_all(&mut *tx)
            .await?;
        let mut claimed = Vec::with_capacity(rows.len());
        for row in rows {
            claimed.push(ClaimedRow {
                id: row.try_get("id")?,
                program_id: row.try_get("program_id")?,
                member_id: row.try_get("member_id")?,
                event: row.try_get("event")?,
                email: row.try_get("email")?,
                channel: row.try_get("channel")?,
                list_id: row.try_get("list_id")?,
                fields: serde_json::from_str(&row.try_get::<String, _>("fields")?)?,
                attempts: row.try_get("attempts")?,
                ambiguous: row.try_get("ambiguous")?,
                lease: lease.clone(),
                claimed_at: now,
                member: None,
                contact: None,
            });
        }
        claimed.sort_by_key(|c| c.id);
        self.preload(&mut tx, &mut claimed).await?;
        tx.commit().await?;
        Ok(claimed)
    }

    /// Reads what delivering the claimed rows needs (their members, and the Listrak contact state of
    /// each), in a few statements for the whole batch rather than a few per row.
    async fn preload(&self, tx: &mut Tx, claimed: &mut [ClaimedRow]) -> Result<(), StoreError> {
        let member_ids: BTreeSet<&str> = claimed
            .iter()
            .filter_map(|c| c.member_id.as_deref())
            .collect();
        if member_ids.is_empty() {
            return Ok(());
        }
        let sql = format!(
            "SELECT {MEMBER_COLUMNS} FROM members WHERE id IN ({})",
            Params::new(self.backend()).list(member_ids.len())
        );
        let mut q = sqlx::query(AssertSqlSafe(sql));
        for id in &member_ids {
            q = q.bind(*id);
        }
        let mut members = HashMap::new();
        for row in q.fetch_all(&mut **tx).await? {
            let m = member_record(&row)?.member;
            members.insert(m.id.clone(), m);
        }
        let keys: BTreeSet<(&str, &str, &str)> = claimed
            .iter()
            .filter(|c| c.channel == "listrak")
            .filter_map(|c| {
                Some((
                    c.program_id.as_str(),
                    c.list_id.as_deref()?,
                    c.member_id.as_deref()?,
                ))
            })
            .collect();
        let mut contacts = HashMap::new();
        if !keys.is_empty() {
            let mut p = Params::new(self.backend());
            let clause = (0..keys.len())
                .map(|_| {
                    format!(
                        "(program_id = {} AND list_id = {} AND member_id = {})",
                        p.next(),
                        p.next(),
                        p.next()
                    )
                })
                .collect::<Vec<_>>()
                .join(" OR ");
            let sql = format!(
                "SELECT program_id, list_id, member_id, email, sent_fields, unsubscribed FROM listrak_contacts \
                 WHERE {clause}"
            );
            let mut q = sqlx::query(AssertSqlSafe(sql));
            for (p, l, m) in &keys {
                q = q.bind(*p).bind(*l).bind(*m);
            }
            for r in q.fetch_all(&mut **tx).await? {
                let key: (String, String, String) = (
                    r.try_get("program_id")?,
                    r.try_get("list_id")?,
                    r.try_get("member_id")?,
                );
                let state = ContactState {
                    email: r.try_get("email")?,
                    sent_fields: serde_json::from_str(&r.try_get::<String, _>("sent_fields")?)?,
                    unsubscribed: r.try_get::<i64, _>("unsubscribed")? != 0,
                };
                contacts.insert(key, state);
            }
        }
        for c in claimed.iter_mut() {
            let Some(member_id) = c.member_id.clone() else {
                continue;
            };
            c.member = members.get(&member_id).cloned();
            if c.channel == "listrak"
                && let Some(list_id) = c.list_id.clone()
            {
                c.contact = Some(contacts.remove(&(c.program_id.clone(), list_id, member_id)));
            }
        }
        Ok(())
    }

    /// Gives claimed rows that were never attempted back to the line at once (no attempt is logged),
    /// where their claim still holds.
    pub async fn unclaim_deliveries(&self, rows: &[ClaimedRow]) -> Result<(), StoreError> {
        if rows.is_empty() {
            return Ok(());
        }
        let mut tx = self.write_tx().await?;
        for row in rows {
            sqlx::query(
                "UPDATE deliveries SET status = 'pending', lease_owner = NULL, lease_until = NULL \
                 WHERE id = $1 AND lease_owner = $2 AND status = 'in_flight'",
            )
            .bind(row.id)
            .bind(&row.lease)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Pauses a program's channel until `until` (the worker probes again then).
    pub async fn hold_channel(
        &self,
        program_id: &str,
        channel: &str,
        reason: &str,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.write_one(sqlx::query(
            "INSERT INTO delivery_holds (program_id, channel, reason, since, until) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (program_id, channel) DO UPDATE SET reason = excluded.reason, until = excluded.until",
        )
        .bind(program_id)
        .bind(channel)
        .bind(reason)
        .bind(ms(now))
        .bind(ms(until))
        )
        .await?;
        Ok(())
    }

    /// Lifts a hold at once (e.g. after the credentials were fixed).
    pub async fn release_channel(&self, program_id: &str, channel: &str) -> Result<(), StoreError> {
        self.write_one(
            sqlx::query("DELETE FROM delivery_holds WHERE program_id = $1 AND channel = $2")
                .bind(program_id)
                .bind(channel),
        )
        .await?;
        Ok(())
    }

    /// The hold on a program's channel, if any: (reason, since).
    pub async fn channel_hold(
        &self,
        program_id: &str,
        channel: &str,
    ) -> Result<Option<(String, DateTime<Utc>)>, StoreError> {
        let row = sqlx::query(
            "SELECT reason, since FROM delivery_holds WHERE program_id = $1 AND channel = $2",
        )
        .bind(program_id)
        .bind(channel)
        .fetch_optional(self.pool())
        .await?;
        row.map(|r| Ok((r.try_get("reason")?, from_ms(r.try_get("since")?))))
            .transpose()
    }

    /// Puts one dead (or unconfirmed) delivery back in line with a fresh retry schedule.
    pub async fn retry_delivery(
        &self,
        program_id: &str,
        id: i64,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let status: Option<String> =
            sqlx::query_scalar("SELECT status FROM deliveries WHERE program_id = $1 AND id = $2")
                .bind(program_id)
                .bind(id)
                .fetch_optional(self.pool())
                .await?;
        match status.as_deref() {
            None => Err(StoreError::NotFound("delivery")),
            Some("dead" | "unconfirmed") => {
                self.requeue(program_id, &format!("id = {id}"), now).await?;
                Ok(())
            }
            Some(other) => Err(StoreError::conflict(
                "not_dead",
                format!("only dead or unconfirmed deliveries can be retried; this one is {other}"),
            )),
        }
    }

    /// Puts every dead delivery recorded in `[from, to)` back in line. Returns how many.
    pub async fn replay_deliveries(
        &self,
        program_id: &str,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        self.requeue(
            program_id,
            &format!(
                "status = 'dead' AND created_at >= {} AND created_at < {}",
                ms(from),
                ms(to)
            ),
            now,
        )
        .await
    }

    async fn requeue(
        &self,
        program_id: &str,
        condition: &str,
        now: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        let mut tx = self.write_tx().await?;
        let sql = format!(
            "UPDATE deliveries SET status = 'pending', attempts = 0, ambiguous = 0, next_attempt_at = $1, finished_at = NULL \
             WHERE program_id = $2 AND status IN ('dead', 'unconfirmed') AND {condition}"
        );
        let n = sqlx::query(AssertSqlSafe(sql))
            .bind(ms(now))
            .bind(program_id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        tx.commit().await?;
        Ok(n)
    }

    pub async fn delivery_attempts(
        &self,
        program_id: &str,
        id: i64,
    ) -> Result<Vec<AttemptView>, StoreError> {
        let rows = sqlx::query(
            "SELECT a.started_at, a.finished_at, a.outcome, a.detail FROM delivery_attempts a \
             JOIN deliveries d ON d.id = a.delivery_id WHERE d.program_id = $1 AND d.id = $2 ORDER BY a.id",
        )
        .bind(program_id)
        .bind(id)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(AttemptView {
                    started_at: from_ms(r.try_get("started_at")?),
                    finished_at: from_ms(r.try_get("finished_at")?),
                    outcome: r.try_get("outcome")?,
                    detail: r.try_get("detail")?,
                })
            })
            .collect()
    }

    /// The attempts of several of a program's deliveries at once, by delivery id, oldest first.
    pub async fn attempts_of_deliveries(
        &self,
        program_id: &str,
        ids: &[i64],
    ) -> Result<BTreeMap<i64, Vec<AttemptView>>, StoreError> {
        let mut out: BTreeMap<i64, Vec<AttemptView>> = BTreeMap::new();
        if ids.is_empty() {
            return Ok(out);
        }
        let list = ids
            .iter()
            .map(i64::to_string)
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!(
            "SELECT a.delivery_id, a.started_at, a.finished_at, a.outcome, a.detail FROM delivery_attempts a \
             JOIN deliveries d ON d.id = a.delivery_id WHERE d.program_id = $1 AND a.delivery_id IN ({list}) ORDER BY a.id"
        );
        let rows = sqlx::query(AssertSqlSafe(sql))
            .bind(program_id)
            .fetch_all(self.pool())
            .await?;
        for r in &rows {
            out.entry(r.try_get("delivery_id")?)
                .or_default()
                .push(AttemptView {
                    started_at: from_ms(r.try_get("started_at")?),
                    finished_at: from_ms(r.try_get("finished_at")?),
                    outcome: r.try_get("outcome")?,
                    detail: r.try_get("detail")?,
                });
        }
        Ok(out)
    }

    /// Notifications still to deliver, now or at a later retry, on channels not held (for draining
    /// in tests and the demo).
    pub async fn deliveries_open(&self, now: DateTime<Utc>) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT COUNT(*) FROM deliveries d WHERE d.status IN ('pending', 'in_flight') \
             AND NOT EXISTS (SELECT 1 FROM delivery_holds h WHERE h.program_id = d.program_id AND h.channel = d.channel AND h.until > $1)",
        )
        .bind(ms(now))
        .fetch_one(self.pool())
        .await?)
    }
}
