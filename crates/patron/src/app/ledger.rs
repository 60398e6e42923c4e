//! The ledger as the API, the console and the member's dashboard show it, and the
//! request digests that tell an idempotent replay from a different request under the same key.

use super::{App, AppError};
use chrono::{DateTime, Utc};
use serde::Serialize;
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct LedgerItem {
    pub id: i64,
    /// `earn`, `bonus`, `redeem`, `expire`, `reverse` or `adjust`.
    pub kind: String,
    pub points: i64,
    /// `posted`, or `pending` while awaiting approval.
    pub status: String,
    pub activity_type: Option<String>,
    pub description: String,
    pub order_id: Option<String>,
    /// For spends, returns and expiries: the lots drawn from.
    #[schema(value_type = Vec<Object>)]
    pub draws: Vec<patron_domain::ledger::Draw>,
    pub shortfall: i64,
    pub occurred_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct LedgerPage {
    pub items: Vec<LedgerItem>,
    pub next_cursor: Option<String>,
}

/// A digest of the parts of a request, separated so that `("ab", "c")` and `("a", "bc")` differ.
pub fn request_digest(parts: &[&str]) -> String {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p.as_bytes());
        h.update([0]);
    }
    hex::encode(h.finalize())
}

impl App {
    /// A member's ledger entries, newest first: `limit` of them (1 to 500) before the entry `before`.
    pub async fn ledger_page(
        &self,
        program_id: &str,
        external_id: &str,
        before: Option<i64>,
        limit: u32,
    ) -> Result<LedgerPage, AppError> {
        let limit = limit.clamp(1, 500);
        let entries = self
            .store()
            .ledger_page(program_id, external_id, before, limit)
            .await?;
        let next_cursor = (entries.len() == limit as usize)
            .then(|| entries.last().map(|e| e.id.to_string()))
            .flatten();
        let items = entries
            .into_iter()
            .map(|e| LedgerItem {
                id: e.id,
                kind: e.kind,
                points: e.points,
                status: e.status,
                activity_type: e.activity_type,
                description: e.description,
                order_id: e.order_id,
                draws: e.draws,
                shortfall: e.shortfall,
                occurred_at: e.occurred_at,
                created_at: e.created_at,
            })
            .collect();
        Ok(LedgerPage { items, next_cursor })
    }
}
