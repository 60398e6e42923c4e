//! The admin console at `/admin`: server-rendered pages where a merchant connects Listrak and reads its
//! ids, watches deliveries, looks members up and edits the program's settings. Every page needs a
//! session (sign-in with the API key or a console password); every form carries a CSRF token. Pages
//! call the same use cases as the JSON API.

mod csrf;
mod deliveries;
mod form;
mod listrak;
mod members;
mod overview;
mod session;
mod settings;
mod signin;
mod templates;
mod view;

use crate::app::App;
use axum::Router;
use axum::routing::{get, post};
use minijinja::context;
use minijinja::value::Value;
use session::Console;

pub fn router() -> Router<App> {
    Router::new()
        .route("/admin", get(overview::page))
        .route("/admin/", get(|| async { view::see_other("/admin") }))
        .route("/admin/signin", get(signin::page).post(signin::submit))
        .route("/admin/signout", post(signin::sign_out))
        .route("/admin/listrak", get(listrak::page).post(listrak::connect))
        .route("/admin/listrak/reprovision", post(listrak::reprovision))
        .route("/admin/listrak/disconnect", post(listrak::disconnect))
        .route("/admin/listrak/backfill", post(listrak::backfill))
        .route("/admin/listrak/backfill.json", get(listrak::progress))
        .route("/admin/deliveries", get(deliveries::page))
        .route("/admin/deliveries/replay", post(deliveries::replay))
        .route("/admin/deliveries/{id}", get(deliveries::detail))
        .route("/admin/deliveries/{id}/retry", post(deliveries::retry))
        .route("/admin/members", get(members::search))
        .route("/admin/members/{external_id}", get(members::profile))
        .route("/admin/settings", get(settings::page))
        .route(
            "/admin/settings/templates",
            get(templates::page).post(templates::save),
        )
        .route(
            "/admin/settings/templates/preview",
            post(templates::preview),
        )
        .route("/admin/settings/{section}", post(settings::save))
}

/// What every signed-in page shows around its content: the program, the navigation, the sign-out form.
fn chrome(console: &Console, section: &str) -> Value {
    context! {
        program_name => console.program.name.clone(),
        program_id => console.program.id.clone(),
        csrf_token => console.csrf_token.clone(),
        section => section,
    }
}
