//! The notification outbox: rows written in the same transaction as the change that causes them,
//! with every field already computed, and read back for `GET /v1/deliveries`.

use crate::group_commit::{Params, ROWS_PER_STATEMENT};
use crate::integrations::ListRoute;
use crate::{Store, StoreError, Tx, from_ms, ms};
use chrono::{DateTime, Utc};
use patron_domain::{EventKind, Fields};
use sqlx::{AssertSqlSafe, Row};
use std::collections::{BTreeSet, HashMap};

/// `(?, …, ?, 'pending', 0, ?, ?), …`: placeholders for `n` delivery rows.
fn rows_sql(p: &mut Params, n: usize) -> String {
    (0..n)
        .map(|_| format!("({}, 'pending', 0, {})", p.list(7), p.list(2)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A notification to record. `dedupe_key` makes a second identical one a no-op (e.g. once a month).
#[derive(Debug, Clone)]
pub struct NewNotification {
    pub member_id: Option<String>,
    pub event: EventKind,
    pub email: String,
    pub fields: Fields,
    pub dedupe_key: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct DeliveryFilter {
    pub member_external_id: Option<String>,
    pub event: Option<String>,
    pub status: Option<String>,
    /// Only rows recorded at or after this instant…
    pub created_from: Option<DateTime<Utc>>,
    /// …and before this one.
    pub created_before: Option<DateTime<Utc>>,
    /// Only rows with an id below this (the page cursor).
    pub before_id: Option<i64>,
    pub limit: u32,
}

#[derive(Debug, Clone, PartialEq)]
pub struct DeliveryView {
    pub id: i64,
    pub member_external_id: Option<String>,
    pub event: Option<String>,
    pub email: String,
    pub channel: String,
    pub list_id: Option<String>,
    pub status: String,
    pub attempts: i64,
    pub fields: Fields,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
}

impl Store {
    /// Records notifications inside the caller's transaction, on the program's current channel; on
    /// Listrak, fanned out to every list the member is routed to (a member routed nowhere gets no row).
    /// Returns how many rows were recorded (a duplicate `dedupe_key` is skipped).
    pub(crate) async fn enqueue(
        &self,
        tx: &mut Tx,
        program_id: &str,
        notes: &[NewNotification],
        now: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        if notes.is_empty() {
            return Ok(0);
        }
        let channel: String = sqlx::query_scalar("SELECT channel FROM programs WHERE id = $1")
            .bind(program_id)
            .fetch_one(&mut **tx)
            .await?;
        self.enqueue_on(tx, program_id, &channel, notes, now).await
    }

    /// [`Store::enqueue`] on a channel the caller read in this transaction.
    pub(crate) async fn enqueue_on(
        &self,
        tx: &mut Tx,
        program_id: &str,
        channel: &str,
        notes: &[NewNotification],
        now: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        if notes.is_empty() {
            return Ok(0);
        }
        // On Listrak, one row per routed list (each list has its own lane); the first keeps the plain
        // dedupe key so a key recorded before a channel switch still dedupes.
        let rows: Vec<(&NewNotification, Option<String>, Option<String>)> = if channel == "listrak"
        {
            let lists = self.listrak_routes(tx, program_id).await?;
            // Languages matter only when a list is routed by one.
            let languages = if lists.iter().all(|(route, _)| *route == ListRoute::All) {
                HashMap::new()
            } else {
                self.languages(tx, notes).await?
            };
            let mut rows = Vec::new();
            for note in notes {
                let language = note
                    .member_id
                    .as_ref()
                    .and_then(|id| languages.get(id))
                    .and_then(Option::as_deref);
                let routed = lists
                    .iter()
                    .filter(|(route, _)| route.matches(language))
                    .map(|(_, list)| list);
                for (i, list_id) in routed.enumerate() {
                    let dedupe_key = match &note.dedupe_key {
                        Some(k) if i > 0 => Some(format!("{k}@list:{list_id}")),
                        k => k.clone(),
                    };
                    rows.push((note, Some(list_id.clone()), dedupe_key));
                }
            }
            rows
        } else {
            notes
                .iter()
                .map(|n| (n, None, n.dedupe_key.clone()))
                .collect()
        };
        let mut recorded = 0;
        for chunk in rows.chunks(ROWS_PER_STATEMENT) {
            // Due at once (next_attempt_at 0), even when a job ran "as of" a later instant:
            // `created_at` keeps the instant the notification belongs to.
            let sql = format!(
                "INSERT INTO deliveries (program_id, member_id, event, email, channel, list_id, fields, status, \
                 next_attempt_at, dedupe_key, created_at) VALUES {} ON CONFLICT DO NOTHING",
                rows_sql(&mut Params::new(self.backend()), chunk.len())
            );
            let mut q = sqlx::query(AssertSqlSafe(sql));
            for (note, list_id, dedupe_key) in chunk {
                q = q
                    .bind(program_id)
                    .bind(&note.member_id)
                    .bind(note.event.name())
                    .bind(&note.email)
                    .bind(channel)
                    .bind(list_id)
                    .bind(serde_json::to_string(&note.fields)?)
                    .bind(dedupe_key)
                    .bind(ms(now));
            }
            recorded += q.execute(&mut **tx).await?.rows_affected();
        }
        Ok(recorded)
    }

    /// The preferred language of each member the notes are for, as the transaction sees it.
    async fn languages(
        &self,
        tx: &mut Tx,
        notes: &[NewNotification],
    ) -> Result<HashMap<String, Option<String>>, StoreError> {
        let ids: BTreeSet<&str> = notes
            .iter()
            .filter_map(|n| n.member_id.as_deref())
            .collect();
        let ids: Vec<&str> = ids.into_iter().collect();
        let mut out = HashMap::new();
        for chunk in ids.chunks(500) {
            let sql = format!(
                "SELECT id, preferred_language FROM members WHERE id IN ({})",
                Params::new(self.backend()).list(chunk.len())
            );
            let mut q = sqlx::query(AssertSqlSafe(sql));
            for id in chunk {
                q = q.bind(*id);
            }
            for r in q.fetch_all(&mut **tx).await? {
                out.insert(r.try_get("id")?, r.try_get("preferred_language")?);
            }
        }
        Ok(out)
    }

    pub async fn list_deliveries(
        &self,
        program_id: &str,
        filter: &DeliveryFilter,
    ) -> Result<Vec<DeliveryView>, StoreError> {
        let mut sql = String::from(
            "SELECT d.id, m.external_id, d.event, d.email, d.channel, d.list_id, d.status, d.attempts, d.fields, \
             d.last_error, d.created_at, d.finished_at FROM deliveries d LEFT JOIN members m ON m.id = d.member_id \
             WHERE d.program_id = $1",
        );
        let mut binds: Vec<String> = Vec::new();
        let mut arg = |sql: &mut String, clause: &str, value: &str| {
            binds.push(value.to_string());
            sql.push_str(&clause.replace('?', &format!("${}", binds.len() + 1)));
        };
        if let Some(m) = &filter.member_external_id {
            arg(&mut sql, " AND m.external_id = ?", m);
        }
        if let Some(e) = &filter.event {
            arg(&mut sql, " AND d.event = ?", e);
        }
        if let Some(s) = &filter.status {
            arg(&mut sql, " AND d.status = ?", s);
        }
        if let Some(from) = filter.created_from {
            sql.push_str(&format!(" AND d.created_at >= {}", ms(from)));
        }
        if let Some(before) = filter.created_before {
            sql.push_str(&format!(" AND d.created_at < {}", ms(before)));
        }
        if let Some(before) = filter.before_id {
            sql.push_str(&format!(" AND d.id < {before}"));
        }
        sql.push_str(&format!(
            " ORDER BY d.id DESC LIMIT {}",
            filter.limit.clamp(1, 500)
        ));
        let mut query = sqlx::query(AssertSqlSafe(sql)).bind(program_id);
        for b in binds {
            query = query.bind(b);
        }
        let rows = query.fetch_all(self.pool()).await?;
        rows.iter()
            .map(|row| {
                Ok(DeliveryView {
                    id: row.try_get("id")?,
                    member_external_id: row.try_get("external_id")?,
                    event: row.try_get("event")?,
                    email: row.try_get("email")?,
                    channel: row.try_get("channel")?,
                    list_id: row.try_get("list_id")?,
                    status: row.try_get("status")?,
                    attempts: row.try_get("attempts")?,
                    fields: serde_json::from_str(&row.try_get::<String, _>("fields")?)?,
                    last_error: row.try_get("last_error")?,
                    created_at: from_ms(row.try_get("created_at")?),
                    finished_at: row.try_get::<Option<i64>, _>("finished_at")?.map(from_ms),
                })
            })
            .collect()
    }

    pub async fn delivery(&self, program_id: &str, id: i64) -> Result<DeliveryView, StoreError> {
        let filter = DeliveryFilter {
            before_id: Some(id + 1),
            limit: 1,
            ..Default::default()
        };
        self.list_deliveries(program_id, &filter)
            .await?
            .into_iter()
            .find(|d| d.id == id)
            .ok_or(StoreError::NotFound("delivery"))
    }

    /// How many of a program's notifications are in each status.
    pub async fn delivery_counts(
        &self,
        program_id: &str,
    ) -> Result<std::collections::BTreeMap<String, i64>, StoreError> {
        let rows = sqlx::query(
            "SELECT status, COUNT(*) AS n FROM deliveries WHERE program_id = $1 GROUP BY status",
        )
        .bind(program_id)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| Ok((r.try_get("status")?, r.try_get("n")?)))
            .collect()
    }

    /// Notifications not yet delivered nor dead, across all programs (the outbox depth).
    pub async fn outbox_depth(&self) -> Result<i64, StoreError> {
        let n: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM deliveries WHERE status IN ('pending', 'in_flight')",
        )
        .fetch_one(self.pool())
        .await?;
        Ok(n)
    }
}
