//! `/admin/members`: search by email or external id; a member's profile, balances, tier, ledger and the
//! notifications recorded for them.

use super::chrome;
use super::session::Console;
use super::view::{PageResult, Policy, page as html};
use crate::app::App;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use minijinja::context;
use minijinja::value::Serde;
use patron_store::DeliveryFilter;
use serde::Deserialize;

#[derive(Debug, Deserialize)]
pub struct SearchQuery {
    q: Option<String>,
}

/// `GET /admin/members?q=`: exact and prefix matches on external id and email (the newest members when
/// nothing is asked).
pub async fn search(
    State(app): State<App>,
    console: Console,
    Query(query): Query<SearchQuery>,
) -> PageResult {
    let q = query.q.unwrap_or_default().trim().to_string();
    let found = app
        .store()
        .search_members(&console.program.id, &q, 50)
        .await?;
    let members = app.member_views(&console.program.id, found).await?;
    let ctx = context! {
        q => q,
        members => Serde(&members),
        ..chrome(&console, "members")
    };
    Ok(html("members.html", StatusCode::OK, ctx, Policy::Strict))
}

#[derive(Debug, Deserialize)]
pub struct ProfileQuery {
    /// The ledger page cursor.
    cursor: Option<i64>,
}

/// `GET /admin/members/{external_id}`.
pub async fn profile(
    State(app): State<App>,
    console: Console,
    Path(external_id): Path<String>,
    Query(query): Query<ProfileQuery>,
) -> PageResult {
    let program_id = &console.program.id;
    let member = app.store().member(program_id, &external_id).await?;
    let view = app.member_view(program_id, member).await?;
    let ledger = app
        .ledger_page(program_id, &external_id, query.cursor, 50)
        .await?;
    let filter = DeliveryFilter {
        member_external_id: Some(external_id.clone()),
        limit: 20,
        ..Default::default()
    };
    let notifications = app.deliveries(program_id, &filter).await?;
    let ctx = context! {
        member => Serde(&view),
        ledger => Serde(&ledger),
        notifications => Serde(&notifications),
        ..chrome(&console, "members")
    };
    Ok(html("member.html", StatusCode::OK, ctx, Policy::Strict))
}
