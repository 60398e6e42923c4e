//! Notifications as operators see them, whether through the API or the console: the outbox rows and
//! what became of them, every attempt with the far end's answer, retry of one, replay of a window.

use super::{App, AppError};
use chrono::{DateTime, Utc};
use patron_store::DeliveryFilter;
use serde::Serialize;
use std::collections::BTreeMap;
use utoipa::ToSchema;

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DeliveryItem {
    pub id: i64,
    pub event: Option<String>,
    pub member: Option<String>,
    pub email: String,
    /// `native` or `listrak`.
    pub channel: String,
    pub list_id: Option<String>,
    pub status: String,
    pub attempts: i64,
    /// Field values by exact Listrak field name, in Listrak's formats.
    pub fields: BTreeMap<String, String>,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DeliveryPage {
    pub items: Vec<DeliveryItem>,
    pub next_cursor: Option<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AttemptItem {
    pub started_at: DateTime<Utc>,
    pub finished_at: DateTime<Utc>,
    /// `delivered`, `retry`, `dead`, `unconfirmed` or `held`.
    pub outcome: String,
    /// The far end's answer, or why it failed.
    pub detail: Option<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DeliveryDetail {
    #[serde(flatten)]
    pub delivery: DeliveryItem,
    pub attempt_log: Vec<AttemptItem>,
}

/// The statuses a delivery can be in, for filters.
pub const STATUSES: [&str; 5] = ["pending", "in_flight", "delivered", "dead", "unconfirmed"];

fn item(d: patron_store::DeliveryView) -> DeliveryItem {
    DeliveryItem {
        id: d.id,
        event: d.event,
        member: d.member_external_id,
        email: d.email,
        channel: d.channel,
        list_id: d.list_id,
        status: d.status,
        attempts: d.attempts,
        fields: d.fields,
        last_error: d.last_error,
        created_at: d.created_at,
        finished_at: d.finished_at,
    }
}

fn attempt(a: patron_store::AttemptView) -> AttemptItem {
    AttemptItem {
        started_at: a.started_at,
        finished_at: a.finished_at,
        outcome: a.outcome,
        detail: a.detail,
    }
}

impl App {
    /// A page of notifications, newest first; `next_cursor` is set when there may be more.
    pub async fn deliveries(
        &self,
        program_id: &str,
        filter: &DeliveryFilter,
    ) -> Result<DeliveryPage, AppError> {
        let rows = self.store().list_deliveries(program_id, filter).await?;
        let next_cursor = (rows.len() == filter.limit.clamp(1, 500) as usize)
            .then(|| rows.last().map(|d| d.id.to_string()))
            .flatten();
        Ok(DeliveryPage {
            items: rows.into_iter().map(item).collect(),
            next_cursor,
        })
    }

    /// The attempts of each delivery of a page, by delivery id.
    pub async fn attempts_of(
        &self,
        program_id: &str,
        items: &[DeliveryItem],
    ) -> Result<BTreeMap<i64, Vec<AttemptItem>>, AppError> {
        let ids: Vec<i64> = items.iter().map(|d| d.id).collect();
        Ok(self
            .store()
            .attempts_of_deliveries(program_id, &ids)
            .await?
            .into_iter()
            .map(|(id, attempts)| (id, attempts.into_iter().map(attempt).collect()))
            .collect())
    }

    /// One notification with every attempt.
    pub async fn delivery_detail(
        &self,
        program_id: &str,
        id: i64,
    ) -> Result<DeliveryDetail, AppError> {
        let delivery = self.store().delivery(program_id, id).await?;
        let attempt_log = self
            .store()
            .delivery_attempts(program_id, id)
            .await?
            .into_iter()
            .map(attempt)
            .collect();
        Ok(DeliveryDetail {
            delivery: item(delivery),
            attempt_log,
        })
    }

    /// Puts a dead (or unconfirmed) notification back in line with a fresh retry schedule.
    pub async fn retry_delivery(
        &self,
        program_id: &str,
        id: i64,
    ) -> Result<DeliveryItem, AppError> {
        self.store()
            .retry_delivery(program_id, id, Utc::now())
            .await?;
        Ok(item(self.store().delivery(program_id, id).await?))
    }

    /// Puts every dead notification recorded in `[from, to)` back in line; answers how many.
    pub async fn replay_dead_deliveries(
        &self,
        program_id: &str,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<u64, AppError> {
        if to <= from {
            return Err(AppError::invalid("to", "must be after `from`"));
        }
        Ok(self
            .store()
            .replay_deliveries(program_id, from, to, Utc::now())
            .await?)
    }
}
