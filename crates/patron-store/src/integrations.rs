//! The Listrak integration of a program: credentials (secret already sealed by the caller), status,
//! provisioned lists with their ids and routing, the values last sent per (list, member) for profile sync,
//! and the program's channel switch. No network here: the caller provisions, then stores what it got.

use crate::rows::{MEMBER_COLUMNS, member_record};
use crate::{Store, StoreError, Tx, from_ms, ms};
use chrono::{DateTime, Utc};
use patron_domain::{Fields, Member};
use sqlx::{AssertSqlSafe, Row};
use std::collections::BTreeMap;

/// Where a list's notifications come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ListRoute {
    /// Every member.
    All,
    /// Members whose preferred language matches, case-insensitively.
    Language(String),
}

impl ListRoute {
    pub fn parse(raw: &str) -> Option<ListRoute> {
        let raw = raw.trim();
        if raw == "all" {
            return Some(ListRoute::All);
        }
        let lang = raw.strip_prefix("language:")?.trim();
        (!lang.is_empty()).then(|| ListRoute::Language(lang.to_string()))
    }

    pub fn as_string(&self) -> String {
        match self {
            ListRoute::All => "all".into(),
            ListRoute::Language(l) => format!("language:{l}"),
        }
    }

    pub fn matches(&self, preferred_language: Option<&str>) -> bool {
        match self {
            ListRoute::All => true,
            ListRoute::Language(l) => {
                preferred_language.is_some_and(|p| p.trim().eq_ignore_ascii_case(l))
            }
        }
    }
}

/// Integration status as stored and shown.
pub mod status {
    pub const CONNECTED: &str = "connected";
    pub const ERROR: &str = "error";
    pub const NEEDS_REPROVISIONING: &str = "needs_reprovisioning";
    pub const DISCONNECTED: &str = "disconnected";
}

#[derive(Debug, Clone, PartialEq)]
pub struct IntegrationRow {
    pub program_id: String,
    pub client_id: String,
    /// Sealed; open it with the instance key.
    pub sealed_secret: String,
    pub status: String,
    pub last_error: Option<String>,
    pub requests_per_second: Option<i64>,
    pub provisioned_at: Option<DateTime<Utc>>,
    pub updated_at: DateTime<Utc>,
    pub lists: Vec<ListRow>,
}

/// One configured list and what provisioning found or created for it.
#[derive(Debug, Clone, PartialEq)]
pub struct ListRow {
    pub name: String,
    pub route: ListRoute,
    pub position: i64,
    /// Listrak's list id, once provisioned.
    pub list_id: Option<String>,
    pub event_group_id: Option<i64>,
    pub field_group_id: Option<i64>,
    pub event_ids: BTreeMap<String, i64>,
    pub field_ids: BTreeMap<String, i64>,
    pub unsubscribe_watermark: Option<DateTime<Utc>>,
}

/// What the caller provisioned for one list.
#[derive(Debug, Clone, PartialEq)]
pub struct ProvisionedList {
    pub name: String,
    pub list_id: String,
    pub event_group_id: i64,
    pub field_group_id: i64,
    pub event_ids: BTreeMap<String, i64>,
    pub field_ids: BTreeMap<String, i64>,
}

/// What Patron last told Listrak about one member on one list.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ContactState {
    pub email: String,
    pub sent_fields: Fields,
    pub unsubscribed: bool,
}

fn list_row(r: &sqlx::any::AnyRow) -> Result<ListRow, StoreError> {
    let route: String = r.try_get("route")?;
    Ok(ListRow {
        name: r.try_get("name")?,
        route: ListRoute::parse(&route)
            .ok_or_else(|| StoreError::Corrupt(format!("list route {route}")))?,
        position: r.try_get("position")?,
        list_id: r.try_get("list_id")?,
        event_group_id: r.try_get("event_group_id")?,
        field_group_id: r.try_get("field_group_id")?,
        event_ids: serde_json::from_str(&r.try_get::<String, _>("event_ids")?)?,
        field_ids: serde_json::from_str(&r.try_get::<String, _>("field_ids")?)?,
        unsubscribe_watermark: r
            .try_get::<Option<i64>, _>("unsubscribe_watermark")?
            .map(from_ms),
    })
}

const LIST_COLUMNS: &str = "name, route, position, list_id, event_group_id, field_group_id, event_ids, \
     field_ids, unsubscribe_watermark";

impl Store {
    /// The program's integration with its lists, if it was ever connected.
    pub async fn listrak_integration(
        &self,
        program_id: &str,
    ) -> Result<Option<IntegrationRow>, StoreError> {
        let Some(r) = sqlx::query(
            "SELECT client_id, client_secret, status, last_error, requests_per_second, provisioned_at, \
             updated_at FROM listrak_integrations WHERE program_id = $1",
        )
        .bind(program_id)
        .fetch_optional(self.pool())
        .await?
        else {
            return Ok(None);
        };
        let lists = self.listrak_lists(program_id).await?;
        Ok(Some(IntegrationRow {
            program_id: program_id.to_string(),
            client_id: r.try_get("client_id")?,
            sealed_secret: r.try_get("client_secret")?,
            status: r.try_get("status")?,
            last_error: r.try_get("last_error")?,
            requests_per_second: r.try_get("requests_per_second")?,
            provisioned_at: r.try_get::<Option<i64>, _>("provisioned_at")?.map(from_ms),
            updated_at: from_ms(r.try_get("updated_at")?),
            lists,
        }))
    }

    pub async fn listrak_lists(&self, program_id: &str) -> Result<Vec<ListRow>, StoreError> {
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT {LIST_COLUMNS} FROM listrak_lists WHERE program_id = $1 ORDER BY position, name"
        )))
        .bind(program_id)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(list_row).collect()
    }

    /// Saves checked credentials and the wanted lists (keeping the ids of lists that stay), before
    /// provisioning. `lists = None` keeps the configured lists.
    pub async fn save_listrak_credentials(
        &self,
        program_id: &str,
        client_id: &str,
        sealed_secret: &str,
        requests_per_second: Option<i64>,
        lists: Option<&[(String, ListRoute)]>,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let mut tx = self.write_tx().await?;
        sqlx::query(
            "INSERT INTO listrak_integrations (program_id, client_id, client_secret, status, requests_per_second, \
             created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $6) ON CONFLICT (program_id) DO UPDATE SET \
             client_id = $2, client_secret = $3, status = $4, last_error = NULL, requests_per_second = $5, updated_at = $6",
        )
        .bind(program_id)
        .bind(client_id)
        .bind(sealed_secret)
        .bind(status::ERROR)
        .bind(requests_per_second)
        .bind(ms(now))
        .execute(&mut *tx)
        .await?;
        if let Some(lists) = lists {
            let keep: Vec<&str> = lists.iter().map(|(n, _)| n.as_str()).collect();
            let existing: Vec<String> =
                sqlx::query_scalar("SELECT name FROM listrak_lists WHERE program_id = $1")
                    .bind(program_id)
                    .fetch_all(&mut *tx)
                    .await?;
            for name in existing.iter().filter(|n| !keep.contains(&n.as_str())) {
                sqlx::query("DELETE FROM listrak_lists WHERE program_id = $1 AND name = $2")
                    .bind(program_id)
                    .bind(name)
                    .execute(&mut *tx)
                    .await?;
            }
            for (position, (name, route)) in lists.iter().enumerate() {
                sqlx::query(
                    "INSERT INTO listrak_lists (program_id, name, route, position) VALUES ($1, $2, $3, $4) \
                     ON CONFLICT (program_id, name) DO UPDATE SET route = $3, position = $4",
                )
                .bind(program_id)
                .bind(name)
                .bind(route.as_string())
                .bind(position as i64)
                .execute(&mut *tx)
                .await?;
            }
        }
        tx.commit().await?;
        Ok(())
    }

    /// Stores what provisioning found or created, marks the integration connected and switches the
    /// program's notifications to Listrak, in one transaction.
    pub async fn finish_listrak_provisioning(
        &self,
        program_id: &str,
        lists: &[ProvisionedList],
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let mut tx = self.write_tx().await?;
        for l in lists {
            sqlx::query(
                "UPDATE listrak_lists SET list_id = $1, event_group_id = $2, field_group_id = $3, event_ids = $4, \
                 field_ids = $5 WHERE program_id = $6 AND name = $7",
            )
            .bind(&l.list_id)
            .bind(l.event_group_id)
            .bind(l.field_group_id)
            .bind(serde_json::to_string(&l.event_ids)?)
            .bind(serde_json::to_string(&l.field_ids)?)
            .bind(program_id)
            .bind(&l.name)
            .execute(&mut *tx)
            .await?;
        }
        sqlx::query(
            "UPDATE listrak_integrations SET status = $1, last_error = NULL, provisioned_at = $2, updated_at = $2 \
             WHERE program_id = $3",
        )
        .bind(status::CONNECTED)
        .bind(ms(now))
        .bind(program_id)
        .execute(&mut *tx)
        .await?;
        set_channel(&mut tx, program_id, "listrak", now).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Records why the integration cannot be used (`error`, `needs_reprovisioning`).
    pub async fn set_listrak_status(
        &self,
        program_id: &str,
        new_status: &str,
        last_error: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.write_one(sqlx::query(
            "UPDATE listrak_integrations SET status = $1, last_error = $2, updated_at = $3 WHERE program_id = $4",
        )
        .bind(new_status)
        .bind(last_error)
        .bind(ms(now))
        .bind(program_id)
        )
        .await?;
        Ok(())
    }

    /// Disconnects: the stored secret is dropped and notifications go back to native mail. Lists and their
    /// ids stay, so connecting again adopts them.
    pub async fn disconnect_listrak(
        &self,
        program_id: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let mut tx = self.write_tx().await?;
        let done = sqlx::query(
            "UPDATE listrak_integrations SET status = $1, client_secret = '', last_error = NULL, updated_at = $2 \
             WHERE program_id = $3",
        )
        .bind(status::DISCONNECTED)
        .bind(ms(now))
        .bind(program_id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        set_channel(&mut tx, program_id, "native", now).await?;
        tx.commit().await?;
        Ok(done > 0)
    }

    pub async fn set_unsubscribe_watermark(
        &self,
        program_id: &str,
        list_name: &str,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.write_one(sqlx::query(
            "UPDATE listrak_lists SET unsubscribe_watermark = $1 WHERE program_id = $2 AND name = $3",
        )
        .bind(ms(at))
        .bind(program_id)
        .bind(list_name)
        )
        .await?;
        Ok(())
    }

    /// What was last sent for this member on this list.
    pub async fn listrak_contact(
        &self,
        program_id: &str,
        list_id: &str,
        member_id: &str,
    ) -> Result<Option<ContactState>, StoreError> {
        let row = sqlx::query(
            "SELECT email, sent_fields, unsubscribed FROM listrak_contacts WHERE program_id = $1 AND list_id = $2 \
             AND member_id = $3",
        )
        .bind(program_id)
        .bind(list_id)
        .bind(member_id)
        .fetch_optional(self.pool())
        .await?;
        row.map(|r| {
            Ok(ContactState {
                email: r.try_get("email")?,
                sent_fields: serde_json::from_str(&r.try_get::<String, _>("sent_fields")?)?,
                unsubscribed: r.try_get::<i64, _>("unsubscribed")? != 0,
            })
        })
        .transpose()
    }

    pub async fn save_listrak_contact(
        &self,
        program_id: &str,
        list_id: &str,
        member_id: &str,
        state: &ContactState,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.write_one(sqlx::query(
            "INSERT INTO listrak_contacts (program_id, list_id, member_id, email, sent_fields, unsubscribed, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (program_id, list_id, member_id) DO UPDATE SET \
             email = $4, sent_fields = $5, unsubscribed = $6, updated_at = $7",
        )
        .bind(program_id)
        .bind(list_id)
        .bind(member_id)
        .bind(&state.email)
        .bind(serde_json::to_string(&state.sent_fields)?)
        .bind(i64::from(state.unsubscribed))
        .bind(ms(now))
        )
        .await?;
        Ok(())
    }

    /// A member by Patron's internal id (the outbox's `member_id`).
    pub async fn listrak_member(&self, member_id: &str) -> Result<Member, StoreError> {
        let sql = format!("SELECT {MEMBER_COLUMNS} FROM members WHERE id = $1");
        let row = sqlx::query(AssertSqlSafe(sql))
            .bind(member_id)
            .fetch_optional(self.pool())
            .await?
            .ok_or(StoreError::NotFound("member"))?;
        Ok(member_record(&row)?.member)
    }

    /// Marks a member opted out because they unsubscribed in Listrak (found by external id, else email).
    /// Returns whether a member changed. The contact is remembered as unsubscribed on that list, so
    /// Patron never calls Listrak to unsubscribe them again.
    pub async fn opt_out_from_listrak(
        &self,
        program_id: &str,
        list_id: &str,
        external_id: Option<&str>,
        email: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let mut tx = self.write_tx().await?;
        let sql = format!(
            "SELECT {MEMBER_COLUMNS} FROM members WHERE program_id = $1 AND (external_id = $2 OR email_key = $3) \
             ORDER BY CASE WHEN external_id = $2 THEN 0 ELSE 1 END, CASE WHEN status = 'Deleted' THEN 1 ELSE 0 END{}",
            self.backend().for_update()
        );
        let row = sqlx::query(AssertSqlSafe(sql))
            .bind(program_id)
            .bind(external_id.unwrap_or(""))
            .bind(email.trim().to_lowercase())
            .fetch_optional(&mut *tx)
            .await?;
        let Some(row) = row else {
            return Ok(false);
        };
        let mut rec = member_record(&row)?;
        sqlx::query(
            "INSERT INTO listrak_contacts (program_id, list_id, member_id, email, unsubscribed, updated_at) \
             VALUES ($1, $2, $3, $4, 1, $5) ON CONFLICT (program_id, list_id, member_id) DO UPDATE SET \
             unsubscribed = 1, updated_at = $5",
        )
        .bind(program_id)
        .bind(list_id)
        .bind(&rec.member.id)
        .bind(&rec.member.email)
        .bind(ms(now))
        .execute(&mut *tx)
        .await?;
        if rec.member.opted_out {
            tx.commit().await?;
            return Ok(false);
        }
        rec.member.opted_out = true;
        sqlx::query("UPDATE members SET opt_out_source = 'listrak' WHERE id = $1")
            .bind(&rec.member.id)
            .execute(&mut *tx)
            .await?;
        self.save_member(&mut tx, &rec, now).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Where an opt-out came from (`listrak`, or `None` for Patron's API).
    pub async fn opt_out_source(
        &self,
        program_id: &str,
        external_id: &str,
    ) -> Result<Option<String>, StoreError> {
        let source: Option<Option<String>> = sqlx::query_scalar(
            "SELECT opt_out_source FROM members WHERE program_id = $1 AND external_id = $2",
        )
        .bind(program_id)
        .bind(external_id)
        .fetch_optional(self.pool())
        .await?;
        Ok(source.flatten())
    }

    /// The provisioned lists a member's notifications go to, in list order (for the outbox fan-out).
    /// The provisioned lists of a program with their routes, in routing order.
    pub(crate) async fn listrak_routes(
        &self,
        tx: &mut Tx,
        program_id: &str,
    ) -> Result<Vec<(ListRoute, String)>, StoreError> {
        let rows = sqlx::query(
            "SELECT route, list_id FROM listrak_lists WHERE program_id = $1 AND list_id IS NOT NULL \
             ORDER BY position, name",
        )
        .bind(program_id)
        .fetch_all(&mut **tx)
        .await?;
        let mut out = Vec::new();
        for r in rows {
            let route: String = r.try_get("route")?;
            if let Some(route) = ListRoute::parse(&route) {
                out.push((route, r.try_get("list_id")?));
            }
        }
        Ok(out)
    }

    pub(crate) async fn routed_lists(
        &self,
        tx: &mut Tx,
        program_id: &str,
        preferred_language: Option<&str>,
    ) -> Result<Vec<String>, StoreError> {
        Ok(self
            .listrak_routes(tx, program_id)
            .await?
            .into_iter()
            .filter(|(route, _)| route.matches(preferred_language))
            .map(|(_, list)| list)
            .collect())
    }

    pub(crate) async fn note_profile_change(
        &self,
        tx: &mut Tx,
        program_id: &str,
        member: &Member,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let channel: Option<String> =
            sqlx::query_scalar("SELECT channel FROM programs WHERE id = $1")
                .bind(program_id)
                .fetch_optional(&mut **tx)
                .await?;
        if channel.as_deref() != Some("listrak") {
            return Ok(());
        }
        for list_id in self
            .routed_lists(tx, program_id, member.preferred_language.as_deref())
            .await?
        {
            let waiting: Option<i64> = sqlx::query_scalar(
                "SELECT id FROM deliveries WHERE program_id = $1 AND member_id = $2 AND list_id = $3 \
                 AND event IS NULL AND status = 'pending' LIMIT 1",
            )
            .bind(program_id)
            .bind(&member.id)
            .bind(&list_id)
            .fetch_optional(&mut **tx)
            .await?;
            if waiting.is_some() {
                continue;
            }
            sqlx::query(
                "INSERT INTO deliveries (program_id, member_id, event, email, channel, list_id, fields, status, \
                 next_attempt_at, created_at) VALUES ($1, $2, NULL, $3, 'listrak', $4, '{}', 'pending', 0, $5)",
            )
            .bind(program_id)
            .bind(&member.id)
            .bind(&member.email)
            .bind(&list_id)
            .bind(ms(now))
            .execute(&mut **tx)
            .await?;
        }
        Ok(())
    }
}

async fn set_channel(
    tx: &mut Tx,
    program_id: &str,
    channel: &str,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    sqlx::query("UPDATE programs SET channel = $1, updated_at = $2 WHERE id = $3")
        .bind(channel)
        .bind(ms(now))
        .bind(program_id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_parse_and_match_languages_case_insensitively() {
        assert_eq!(ListRoute::parse("all"), Some(ListRoute::All));
        let fr = ListRoute::parse("language:French").expect("a route");
        assert!(fr.matches(Some("french")));
        assert!(!fr.matches(Some("English")));
        assert!(!fr.matches(None));
        assert_eq!(ListRoute::parse("language:"), None);
        assert_eq!(ListRoute::parse("everyone"), None);
    }
}
