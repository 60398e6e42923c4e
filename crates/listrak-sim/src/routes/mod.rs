//! The Listrak API surface (`/OAuth2/Token` and `/email/v1/...`): the route table, Listrak's answers for
//! unknown routes (404 `ERROR_UNKNOWN_ROUTE`), wrong methods (405) and unsafe paths (`ERROR_UNSAFE_ROUTE`),
//! request counting, and the fault layer.

pub mod contacts;
pub mod events;
pub mod fields;
pub mod imports;
pub mod lists;

use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

use crate::errors::ApiError;
use crate::sim::Sim;

const LIST: &str = "/email/v1/List/{listId}";

/// The Listrak routes, with counting and faults; `/_sim/` is added by [`crate::router`].
pub fn listrak_routes(sim: Arc<Sim>) -> Router<Arc<Sim>> {
    Router::new()
        .route("/OAuth2/Token", post(crate::auth::token))
        .route(
            "/email/v1/List",
            get(lists::list_lists).post(lists::create_list),
        )
        .route(LIST, get(lists::get_list))
        .route(
            &format!("{LIST}/EventGroup"),
            get(events::list_groups).post(events::create_group),
        )
        .route(
            &format!("{LIST}/Event"),
            get(events::list_events).post(events::create_event),
        )
        .route(
            &format!("{LIST}/Event/{{eventId}}"),
            get(events::get_event).put(events::update_event),
        )
        .route(
            &format!("{LIST}/SegmentationFieldGroup"),
            get(fields::list_groups).post(fields::create_group),
        )
        .route(
            &format!("{LIST}/SegmentationFieldGroup/{{groupId}}/SegmentationField"),
            get(fields::list_fields).post(fields::create_field),
        )
        .route(
            &format!("{LIST}/Contact"),
            get(contacts::list_contacts).post(contacts::upsert),
        )
        .route(
            &format!("{LIST}/Contact/{{contactIdentifier}}"),
            get(contacts::get_contact),
        )
        .route(
            &format!("{LIST}/Contact/SegmentationField"),
            post(contacts::beta_bulk_fields),
        )
        .route(
            &format!("{LIST}/ListImport"),
            get(imports::list_imports).post(imports::create_import),
        )
        .route(
            &format!("{LIST}/ListImport/{{importId}}/Status"),
            get(imports::status),
        )
        .route(
            &format!("{LIST}/ListImport/{{importId}}/Summary"),
            get(imports::summary),
        )
        .route_layer(middleware::from_fn_with_state(
            sim.clone(),
            crate::faults::inject,
        ))
        .route_layer(middleware::from_fn(refuse_unsafe_route))
        .route_layer(middleware::from_fn_with_state(sim, count))
}

async fn count(
    State(sim): State<Arc<Sim>>,
    matched: MatchedPath,
    request: Request,
    next: Next,
) -> Response {
    if !matched.as_str().starts_with("/OAuth2") {
        sim.counters.api_requests.fetch_add(1, Ordering::Relaxed);
    }
    sim.counters
        .count(format!("{} {}", request.method(), matched.as_str()));
    next.run(request).await
}

/// `&`, `<` and `>` cannot appear in a Listrak path, even percent-encoded.
async fn refuse_unsafe_route(request: Request, next: Next) -> Response {
    let path = request.uri().path();
    let decoded = crate::body::percent_decode(&path.replace('+', "%2B"));
    if decoded.contains(['&', '<', '>']) {
        return ApiError::unsafe_route().into_response();
    }
    next.run(request).await
}

pub async fn unknown_route() -> ApiError {
    ApiError::unknown_route()
}

pub async fn unsupported_method() -> ApiError {
    ApiError::unsupported_method()
}

/// A path id; a non-integer never matches Listrak's `{id:int}` routes.
pub(crate) fn path_id(raw: &str) -> Result<i64, ApiError> {
    raw.parse().map_err(|_| ApiError::unknown_route())
}

/// Names are unique per collection, compared trimmed and case-insensitively (SQL Server's default
/// collation, which is what Listrak's duplicate-event answer suggests).
pub(crate) fn same_name(a: &str, b: &str) -> bool {
    a.trim().eq_ignore_ascii_case(b.trim())
}
