//! `GET|POST /v1/List` and `GET /v1/List/{listId}` (access level List).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::HeaderMap;

use super::{path_id, same_name};
use crate::auth::Scope;
use crate::body::{json_object, req_int, req_str};
use crate::errors::{ApiError, ApiResult, created, data};
use crate::sim::Sim;
use crate::state::List;

pub async fn list_lists(State(sim): State<Arc<Sim>>, headers: HeaderMap) -> ApiResult {
    sim.authorize(&headers, Scope::List)?;
    let account = sim.account();
    let lists: Vec<_> = account.lists.values().map(List::to_json).collect();
    Ok(data(lists))
}

pub async fn get_list(
    State(sim): State<Arc<Sim>>,
    headers: HeaderMap,
    Path(list_id): Path<String>,
) -> ApiResult {
    let list_id = path_id(&list_id)?;
    sim.authorize(&headers, Scope::List)?;
    let account = sim.account();
    let list = account
        .list(list_id)
        .ok_or_else(|| ApiError::not_found("listId"))?;
    Ok(data(list.to_json()))
}

pub async fn create_list(
    State(sim): State<Arc<Sim>>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    sim.authorize(&headers, Scope::List)?;
    let obj = json_object(&headers, &body)?;
    let name = req_str(&obj, "listName")?.trim().to_owned();
    let bounce = req_str(&obj, "bounceHandling")?;
    if !matches!(bounce, "None" | "Standard" | "Aggressive") {
        return Err(ApiError::invalid("bounceHandling"));
    }
    let bounce_count = req_int(&obj, "bounceUnsubscribeCount")?;
    if bounce_count < 0 {
        return Err(ApiError::invalid("bounceUnsubscribeCount"));
    }
    let mut account = sim.account();
    // Our choice: list names are unique in the account, answered like a duplicate event name.
    if account.lists.values().any(|l| same_name(&l.name, &name)) {
        return Err(ApiError::invalid("listName"));
    }
    let id = account.next_id();
    account
        .lists
        .insert(id, List::new(id, name, bounce.to_owned(), bounce_count));
    Ok(created(id))
}
