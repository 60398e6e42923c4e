//! `/admin/deliveries`: recent notifications filtered by status, event, member and date, each with its
//! attempts and the far end's answers; retry one; replay the dead ones of a time window.

use super::chrome;
use super::csrf::Posted;
use super::form::{FormData, plain};
use super::session::{Console, safe_next};
use super::view::{PageResult, Policy, encode_component, page as html, see_other};
use crate::app::deliveries::STATUSES;
use crate::app::{App, AppError};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, Utc};
use minijinja::context;
use minijinja::value::Serde;
use patron_domain::EventKind;
use patron_store::DeliveryFilter;
use serde::Deserialize;
use std::collections::BTreeMap;

const PAGE_SIZE: u32 = 50;

#[derive(Debug, Default, Deserialize)]
pub struct ListQuery {
    status: Option<String>,
    event: Option<String>,
    member: Option<String>,
    /// `YYYY-MM-DD`, from the start of that day (UTC).
    from: Option<String>,
    /// `YYYY-MM-DD`, to the end of that day (UTC).
    to: Option<String>,
    cursor: Option<i64>,
    replayed: Option<u64>,
    retried: Option<i64>,
}

fn non_empty(v: &Option<String>) -> Option<String> {
    v.as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

fn day(text: &str) -> Option<DateTime<Utc>> {
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| t.and_utc())
}

/// A `datetime-local` value (`2026-05-01T12:30`), read as UTC.
fn instant(text: &str) -> Option<DateTime<Utc>> {
    ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"]
        .iter()
        .find_map(|f| NaiveDateTime::parse_from_str(text.trim(), f).ok())
        .map(|t| t.and_utc())
}

/// The store filter of a query, with a problem per field that could not be read.
fn filter(q: &ListQuery, errors: &mut BTreeMap<String, String>) -> DeliveryFilter {
    let mut bound = |name: &str, text: &Option<String>, shift: Duration| {
        let text = non_empty(text)?;
        match day(&text) {
            Some(t) => Some(t + shift),
            None => {
                errors.insert(name.into(), "Enter a date like 2026-05-01.".into());
                None
            }
        }
    };
    let created_from = bound("from", &q.from, Duration::zero());
    let created_before = bound("to", &q.to, Duration::days(1));
    DeliveryFilter {
        member_external_id: non_empty(&q.member),
        event: non_empty(&q.event),
        status: non_empty(&q.status),
        created_from,
        created_before,
        before_id: q.cursor,
        limit: PAGE_SIZE,
    }
}

/// The query string of a filter, for the "older" link.
fn query_string(q: &ListQuery, cursor: &str) -> String {
    let mut parts = Vec::new();
    for (name, value) in [
        ("status", &q.status),
        ("event", &q.event),
        ("member", &q.member),
        ("from", &q.from),
        ("to", &q.to),
    ] {
        if let Some(v) = non_empty(value) {
            parts.push(format!("{name}={}", encode_component(&v)));
        }
    }
    parts.push(format!("cursor={cursor}"));
    parts.join("&")
}

async fn render_list(
    app: &App,
    console: &Console,
    q: ListQuery,
    status: StatusCode,
    replay: (BTreeMap<String, String>, BTreeMap<String, String>),
) -> PageResult {
    let program_id = &console.program.id;
    let mut errors = BTreeMap::new();
    let filter = filter(&q, &mut errors);
    let page = app.deliveries(program_id, &filter).await?;
    let attempts = app.attempts_of(program_id, &page.items).await?;
    let attempts: BTreeMap<String, _> = attempts
        .into_iter()
        .map(|(id, a)| (id.to_string(), a))
        .collect();
    let older = page.next_cursor.as_deref().map(|c| query_string(&q, c));
    let flash = match (q.replayed, q.retried) {
        (Some(0), _) => Some(
            "No dead notifications were recorded in that window: nothing to replay.".to_string(),
        ),
        (Some(1), _) => Some("1 dead notification was put back in line.".to_string()),
        (Some(n), _) => Some(format!("{n} dead notifications were put back in line.")),
        (None, Some(id)) => Some(format!(
            "Notification #{id} is back in line; it goes out within moments."
        )),
        (None, None) => None,
    };
    let filters = context! {
        status => non_empty(&q.status),
        event => non_empty(&q.event),
        member => non_empty(&q.member),
        from => non_empty(&q.from),
        to => non_empty(&q.to),
        active => non_empty(&q.status).is_some() || non_empty(&q.event).is_some()
            || non_empty(&q.member).is_some() || non_empty(&q.from).is_some() || non_empty(&q.to).is_some(),
    };
    let (replay_values, replay_errors) = replay;
    let ctx = context! {
        items => Serde(&page.items),
        attempts => Serde(&attempts),
        older => older,
        filters => filters,
        errors => errors,
        statuses => STATUSES.to_vec(),
        events => EventKind::ALL.iter().map(|e| e.name()).collect::<Vec<_>>(),
        replay => context! { values => replay_values, errors => replay_errors },
        flash => flash,
        ..chrome(console, "deliveries")
    };
    Ok(html("deliveries.html", status, ctx, Policy::Strict))
}

/// `GET /admin/deliveries`.
pub async fn page(
    State(app): State<App>,
    console: Console,
    Query(q): Query<ListQuery>,
) -> PageResult {
    render_list(&app, &console, q, StatusCode::OK, Default::default()).await
}

#[derive(Debug, Deserialize)]
pub struct DetailQuery {
    retried: Option<String>,
}

/// `GET /admin/deliveries/{id}`: one notification, its fields and every attempt.
pub async fn detail(
    State(app): State<App>,
    console: Console,
    Path(id): Path<i64>,
    Query(q): Query<DetailQuery>,
) -> PageResult {
    let detail = app.delivery_detail(&console.program.id, id).await?;
    let ctx = context! {
        d => Serde(&detail),
        flash => q.retried.map(|_| "The notification is back in line; it goes out within moments."),
        ..chrome(&console, "deliveries")
    };
    Ok(html("delivery.html", StatusCode::OK, ctx, Policy::Strict))
}

#[derive(Debug, Deserialize)]
pub struct RetryForm {
    #[serde(default)]
    return_to: String,
}

/// `POST /admin/deliveries/{id}/retry`: a dead notification back in line.
pub async fn retry(
    State(app): State<App>,
    Path(id): Path<i64>,
    posted: Posted<RetryForm>,
) -> PageResult {
    app.retry_delivery(&posted.console.program.id, id).await?;
    let back = safe_next(&posted.form.return_to)
        .map(str::to_string)
        .unwrap_or_else(|| format!("/admin/deliveries/{id}"));
    let sep = if back.contains('?') { '&' } else { '?' };
    Ok(see_other(&format!("{back}{sep}retried={id}")))
}

/// `POST /admin/deliveries/replay`: every dead notification of a window back in line.
pub async fn replay(State(app): State<App>, posted: Posted<Vec<(String, String)>>) -> PageResult {
    let console = posted.console;
    let mut form = FormData::new(posted.form);
    let mut bound = |name: &str| {
        let at = instant(&form.text(name));
        if at.is_none() {
            form.problem(name, "Enter a date and time, like 2026-05-01 09:00 (UTC).");
        }
        at
    };
    let (from, to) = (bound("from"), bound("to"));
    let outcome = match (from, to) {
        (Some(from), Some(to)) => Some(
            app.replay_dead_deliveries(&console.program.id, from, to)
                .await,
        ),
        _ => None,
    };
    match outcome {
        Some(Ok(n)) => {
            return Ok(see_other(&format!(
                "/admin/deliveries?status=dead&replayed={n}"
            )));
        }
        Some(Err(AppError::Invalid(problems))) => {
            for p in problems {
                form.problem(&p.field, plain(&p.message));
            }
        }
        Some(Err(e)) => return Err(e.into()),
        None => {}
    }
    let (values, _) = form.values();
    let q = ListQuery::default();
    render_list(
        &app,
        &console,
        q,
        StatusCode::UNPROCESSABLE_ENTITY,
        (values, form.problems),
    )
    .await
}
