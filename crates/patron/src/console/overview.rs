//! `GET /admin`: the program at a glance — where notifications go, the Listrak status, and how many
//! notifications are in each state, each a link to the list.

use super::chrome;
use super::session::Console;
use super::view::{PageResult, Policy, page as render};
use crate::app::{App, AppError};
use axum::extract::State;
use axum::http::StatusCode;
use minijinja::context;
use minijinja::value::Serde;

pub async fn page(State(app): State<App>, console: Console) -> PageResult {
    let program_id = &console.program.id;
    let integration = match app.listrak_view(program_id).await {
        Ok(view) => Some(view),
        Err(AppError::NotConnected) => None,
        Err(e) => return Err(e.into()),
    };
    let counts = app.store().delivery_counts(program_id).await?;
    let ctx = context! {
        channel => console.program.channel.clone(),
        integration => Serde(&integration),
        counts => Serde(&counts),
        ..chrome(&console, "overview")
    };
    Ok(render("overview.html", StatusCode::OK, ctx, Policy::Strict))
}
