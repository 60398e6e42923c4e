//! Helpers for test suites: a fresh, empty database per test on either backend.

use crate::StoreError;
use sqlx::Connection;

/// The PostgreSQL server tests should use, if any (`PATRON_TEST_POSTGRES_URL`).
pub fn postgres_admin_url() -> Option<String> {
    std::env::var("PATRON_TEST_POSTGRES_URL")
        .ok()
        .filter(|u| !u.trim().is_empty())
}

/// Creates an empty database named after a fresh id on the server of `admin_url` and returns its URL.
pub async fn fresh_postgres_database(admin_url: &str) -> Result<String, StoreError> {
    sqlx::any::install_default_drivers();
    let name = format!("patron_test_{}", uuid::Uuid::new_v4().simple());
    let mut conn = sqlx::AnyConnection::connect(admin_url).await?;
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut conn)
        .await?;
    conn.close().await?;
    let base = match admin_url.rfind('/') {
        Some(i) if i > admin_url.find("://").map_or(0, |s| s + 2) => &admin_url[..i],
        _ => admin_url,
    };
    let (base, query) = match admin_url.split_once('?') {
        Some((_, q)) => (base.split('?').next().unwrap_or(base), format!("?{q}")),
        None => (base, String::new()),
    };
    Ok(format!("{base}/{name}{query}"))
}

/// Members made in bulk for benchmarks: `m{n}` with `m{n}@bench.example`, each holding `points`
/// available points in one lot that expires at `expires_at` (entry, lot and balance agree).
#[derive(Debug, Clone)]
pub struct SeedMembers {
    pub program_id: String,
    pub first: u64,
    pub count: u64,
    pub points: i64,
    pub expires_at: chrono::DateTime<chrono::Utc>,
    pub now: chrono::DateTime<chrono::Utc>,
}

/// Writes [`SeedMembers`] with multi-row inserts, 10,000 members per transaction: far faster than
/// the API, and only for filling a database to measure against.
pub async fn seed_members(store: &crate::Store, seed: &SeedMembers) -> Result<(), StoreError> {
    use crate::group_commit::Params;
    const ROWS: u64 = 200;
    const PER_TX: u64 = 10_000;
    let now = crate::ms(seed.now);
    let mut n = seed.first;
    let end = seed.first + seed.count;
    while n < end {
        let mut tx = store.write_tx().await?;
        let tx_end = (n + PER_TX).min(end);
        while n < tx_end {
            let rows: Vec<u64> = (n..(n + ROWS).min(tx_end)).collect();
            let id = |i: u64| format!("seed-{i:010}");
            let sql = format!(
                "INSERT INTO members (id, program_id, external_id, email, email_key, referral_code, available, \
                 earned, created_at, updated_at) VALUES {}",
                Params::new(store.backend()).rows(rows.len(), 10)
            );
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
            for &i in &rows {
                let email = format!("m{i}@bench.example");
                q = q
                    .bind(id(i))
                    .bind(&seed.program_id)
                    .bind(format!("m{i}"))
                    .bind(email.clone())
                    .bind(email)
                    .bind(format!("SEED{i:010}"))
                    .bind(seed.points)
                    .bind(seed.points)
                    .bind(now)
                    .bind(now);
            }
            q.execute(&mut *tx).await?;
            let sql = format!(
                "INSERT INTO ledger_entries (program_id, member_id, kind, points, activity_type, description, \
                 occurred_at, created_at) VALUES {}",
                Params::new(store.backend()).rows(rows.len(), 8)
            );
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
            for &i in &rows {
                q = q
                    .bind(&seed.program_id)
                    .bind(id(i))
                    .bind("earn")
                    .bind(seed.points)
                    .bind("signup")
                    .bind("Signup")
                    .bind(now)
                    .bind(now);
            }
            q.execute(&mut *tx).await?;
            sqlx::query(
                "INSERT INTO lots (program_id, member_id, entry_id, activity_type, description, amount, remaining, \
                 earned_at, available_at, approved, expires_at) SELECT program_id, member_id, id, activity_type, \
                 description, points, points, occurred_at, occurred_at, 1, $1 FROM ledger_entries \
                 WHERE member_id >= $2 AND member_id <= $3",
            )
            .bind(crate::ms(seed.expires_at))
            .bind(id(rows[0]))
            .bind(id(*rows.last().unwrap_or(&rows[0])))
            .execute(&mut *tx)
            .await?;
            n = *rows.last().unwrap_or(&n) + 1;
        }
        tx.commit().await?;
    }
    Ok(())
}
