//! `/admin/listrak`: connect or update the credentials (the secret is write-only), the status with the
//! last error in plain words, every provisioned id (the "API ID information"), re-provision, disconnect,
//! and the backfill with its progress.

use super::chrome;
use super::csrf::Posted;
use super::form::{FormData, plain};
use super::session::Console;
use super::view::{PageError, PageResult, Policy, page as html, see_other};
use crate::app::integration::{ConnectRequest, ListSpec};
use crate::app::{App, AppError};
use axum::Json;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use minijinja::context;
use minijinja::value::Serde;
use serde::Deserialize;
use std::collections::BTreeMap;

#[derive(Debug, Deserialize)]
pub struct Done {
    done: Option<String>,
}

fn flash(done: Option<&str>) -> Option<&'static str> {
    Some(match done? {
        "connected" => {
            "Listrak is connected and provisioned. Notifications now go out through Listrak."
        }
        "reprovisioned" => "Re-provisioned: every list, event and field Patron needs is in place.",
        "disconnected" => {
            "Listrak is disconnected. Notifications go out as Patron's own emails again."
        }
        "backfill" => {
            "The backfill started. Its progress shows below; you may leave this page meanwhile."
        }
        _ => return None,
    })
}

/// What the connect form shows besides the stored state.
#[derive(Default)]
struct FormState {
    values: BTreeMap<String, String>,
    errors: BTreeMap<String, String>,
    /// A problem that belongs to no single field (Listrak unreachable, provisioning failed…).
    error: Option<String>,
    flash: Option<&'static str>,
}

async fn render(app: &App, console: &Console, status: StatusCode, state: FormState) -> PageResult {
    let program_id = &console.program.id;
    let integration = match app.listrak_view(program_id).await {
        Ok(view) => Some(view),
        Err(AppError::NotConnected) => None,
        Err(e) => return Err(e.into()),
    };
    let backfill = match &integration {
        Some(_) => Some(app.backfill_view(program_id).await?),
        None => None,
    };
    let hold = app.store().channel_hold(program_id, "listrak").await?;
    let mut values = state.values;
    if let Some(view) = &integration {
        values
            .entry("client_id".into())
            .or_insert_with(|| view.client_id.clone());
        values.entry("lists".into()).or_insert_with(|| {
            view.lists
                .iter()
                .map(|l| format!("{} | {}", l.name, l.route))
                .collect::<Vec<_>>()
                .join("\n")
        });
        if let Some(rate) = view.requests_per_second {
            values
                .entry("requests_per_second".into())
                .or_insert_with(|| rate.to_string());
        }
    }
    let connected = integration
        .as_ref()
        .is_some_and(|v| v.status != patron_store::integration_status::DISCONNECTED);
    let ctx = context! {
        integration => Serde(&integration),
        connected => connected,
        backfill => Serde(&backfill),
        hold => hold.map(|(reason, since)| context! { reason => reason, since => since.to_rfc3339() }),
        f => context! { values => values, errors => state.errors },
        error => state.error,
        flash => state.flash,
        ..chrome(console, "listrak")
    };
    Ok(html("listrak.html", status, ctx, Policy::Strict))
}

pub async fn page(State(app): State<App>, console: Console, Query(q): Query<Done>) -> PageResult {
    let state = FormState {
        flash: flash(q.done.as_deref()),
        ..Default::default()
    };
    render(&app, &console, StatusCode::OK, state).await
}

/// Lines of `Name` or `Name | route` (`all` or `language:Spanish`); empty keeps the configured lists.
fn list_specs(text: &str) -> Option<Vec<ListSpec>> {
    let specs: Vec<ListSpec> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(|line| match line.split_once('|') {
            Some((name, route)) => ListSpec {
                name: name.trim().to_string(),
                route: route.trim().to_string(),
            },
            None => ListSpec {
                name: line.to_string(),
                route: "all".into(),
            },
        })
        .collect();
    (!specs.is_empty()).then_some(specs)
}

/// `POST /admin/listrak`: check the credentials, store them sealed, provision, switch to Listrak.
pub async fn connect(State(app): State<App>, posted: Posted<Vec<(String, String)>>) -> PageResult {
    let console = posted.console;
    let mut form = FormData::new(posted.form);
    let client_id = form.text("client_id");
    let client_secret = form.raw("client_secret").trim().to_string();
    if client_id.is_empty() {
        form.problem(
            "client_id",
            "Enter the Client ID of your Listrak Email API integration.",
        );
    }
    if client_secret.is_empty() {
        form.problem(
            "client_secret",
            "Enter the Client Secret. Patron never shows it again, so enter it every time you save.",
        );
    }
    let rate = form.optional_int("requests_per_second");
    if rate.is_some_and(|r| !(1..=10_000).contains(&r)) {
        form.problem(
            "requests_per_second",
            "Enter a whole number from 1 to 10000, or leave it empty for no limit.",
        );
    }
    let (mut values, _) = form.values();
    // The secret never travels back to the browser, not even after a mistake.
    values.remove("client_secret");
    values.remove(super::csrf::FIELD);
    if !form.is_valid() {
        let state = FormState {
            values,
            errors: form.problems,
            ..Default::default()
        };
        return render(&app, &console, StatusCode::UNPROCESSABLE_ENTITY, state).await;
    }
    let request = ConnectRequest {
        client_id,
        client_secret,
        lists: list_specs(&form.text("lists")),
        requests_per_second: rate.map(|r| r as u32),
    };
    let mut state = FormState {
        values,
        ..Default::default()
    };
    let status = match app.connect_listrak(&console.program.id, request).await {
        Ok(_) => return Ok(see_other("/admin/listrak?done=connected")),
        Err(AppError::Invalid(problems)) => {
            for p in problems {
                let field = if p.field.starts_with("lists") {
                    "lists".to_string()
                } else {
                    p.field.clone()
                };
                let message = match p.field.split_once('[') {
                    Some((_, rest)) if field == "lists" => {
                        let line = rest
                            .split(']')
                            .next()
                            .and_then(|i| i.parse::<usize>().ok())
                            .map_or(0, |i| i + 1);
                        format!("Line {line}: {}", plain(&p.message))
                    }
                    _ => plain(&p.message),
                };
                state.errors.entry(field).or_insert(message);
            }
            StatusCode::UNPROCESSABLE_ENTITY
        }
        Err(AppError::ListrakCredentials(detail)) => {
            state.errors.insert(
                "client_secret".into(),
                format!(
                    "Listrak refused these credentials ({detail}). Check the Client ID and Secret in Listrak \
                     under Integrations, that the integration is active, and that this server's IP address \
                     is allowed (see PATRON_LISTRAK_PROXY)."
                ),
            );
            StatusCode::UNPROCESSABLE_ENTITY
        }
        Err(e) => {
            let e = PageError::from(e);
            state.error = Some(listrak_failure(&e.message));
            e.status
        }
    };
    render(&app, &console, status, state).await
}

fn listrak_failure(message: &str) -> String {
    let message = message.trim_end_matches('.');
    format!(
        "{message}. Nothing was lost: fix the cause in Listrak (or wait until it answers again) and press \
         Re-provision."
    )
}

/// `POST /admin/listrak/reprovision`.
pub async fn reprovision(
    State(app): State<App>,
    posted: Posted<Vec<(String, String)>>,
) -> PageResult {
    let console = posted.console;
    match app.provision_listrak(&console.program.id).await {
        Ok(_) => Ok(see_other("/admin/listrak?done=reprovisioned")),
        Err(e) => {
            let e = PageError::from(e);
            let state = FormState {
                error: Some(listrak_failure(&e.message)),
                ..Default::default()
            };
            render(&app, &console, e.status, state).await
        }
    }
}

/// `POST /admin/listrak/disconnect`.
pub async fn disconnect(
    State(app): State<App>,
    posted: Posted<Vec<(String, String)>>,
) -> PageResult {
    app.disconnect_listrak(&posted.console.program.id).await?;
    Ok(see_other("/admin/listrak?done=disconnected"))
}

/// `POST /admin/listrak/backfill`: starts (or resumes) the backfill in the background.
pub async fn backfill(State(app): State<App>, posted: Posted<Vec<(String, String)>>) -> PageResult {
    app.start_backfill_in_background(&posted.console.program.id, Default::default())
        .await?;
    Ok(see_other("/admin/listrak?done=backfill#backfill"))
}

/// `GET /admin/listrak/backfill.json`: progress for the page's script.
pub async fn progress(State(app): State<App>, console: Console) -> Response {
    match app.backfill_view(&console.program.id).await {
        Ok(view) => {
            let mut response = Json(view).into_response();
            response.headers_mut().insert(
                axum::http::header::CACHE_CONTROL,
                axum::http::HeaderValue::from_static("no-store"),
            );
            response
        }
        Err(e) => PageError::from(e).into_response(),
    }
}
