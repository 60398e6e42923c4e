//! Event groups and events of a list (access level Event). Event names are unique per list; the only way
//! to retire an event is `status: Blocked` (there is no DELETE: 405).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::HeaderMap;

use super::{path_id, same_name};
use crate::auth::Scope;
use crate::body::{Object, json_object, opt_int, req_str};
use crate::errors::{ApiError, ApiResult, created, data, updated};
use crate::sim::Sim;
use crate::state::{Event, EventGroup, EventStatus, List};

pub async fn list_groups(
    State(sim): State<Arc<Sim>>,
    headers: HeaderMap,
    Path(list_id): Path<String>,
) -> ApiResult {
    let list_id = path_id(&list_id)?;
    sim.authorize(&headers, Scope::Event)?;
    let account = sim.account();
    let list = account
        .list(list_id)
        .ok_or_else(|| ApiError::not_found("listId"))?;
    Ok(data(
        list.event_groups
            .values()
            .map(EventGroup::to_json)
            .collect::<Vec<_>>(),
    ))
}

pub async fn create_group(
    State(sim): State<Arc<Sim>>,
    headers: HeaderMap,
    Path(list_id): Path<String>,
    body: Bytes,
) -> ApiResult {
    let list_id = path_id(&list_id)?;
    sim.authorize(&headers, Scope::Event)?;
    let obj = json_object(&headers, &body)?;
    let name = req_str(&obj, "eventGroupName")?.trim().to_owned();
    let mut account = sim.account();
    let id = account.next_id();
    let list = account
        .list_mut(list_id)
        .ok_or_else(|| ApiError::not_found("listId"))?;
    if list
        .event_groups
        .values()
        .any(|g| same_name(&g.name, &name))
    {
        return Err(ApiError::invalid("eventGroupName"));
    }
    list.event_groups.insert(id, EventGroup { id, name });
    Ok(created(id))
}

pub async fn list_events(
    State(sim): State<Arc<Sim>>,
    headers: HeaderMap,
    Path(list_id): Path<String>,
) -> ApiResult {
    let list_id = path_id(&list_id)?;
    sim.authorize(&headers, Scope::Event)?;
    let account = sim.account();
    let list = account
        .list(list_id)
        .ok_or_else(|| ApiError::not_found("listId"))?;
    Ok(data(
        list.events.values().map(Event::to_json).collect::<Vec<_>>(),
    ))
}

pub async fn get_event(
    State(sim): State<Arc<Sim>>,
    headers: HeaderMap,
    Path((list_id, event_id)): Path<(String, String)>,
) -> ApiResult {
    let (list_id, event_id) = (path_id(&list_id)?, path_id(&event_id)?);
    sim.authorize(&headers, Scope::Event)?;
    let account = sim.account();
    let list = account
        .list(list_id)
        .ok_or_else(|| ApiError::not_found("listId"))?;
    let event = list
        .events
        .get(&event_id)
        .ok_or_else(|| ApiError::not_found("listId and eventId"))?;
    Ok(data(event.to_json()))
}

/// The event body shared by create and update, validated against the list.
fn event_body(
    obj: &Object,
    list: &List,
    this: Option<i64>,
) -> Result<(String, EventStatus, i64), ApiError> {
    let name = req_str(obj, "eventName")?.trim().to_owned();
    let status =
        EventStatus::parse(req_str(obj, "status")?).ok_or_else(|| ApiError::invalid("status"))?;
    let group_id = opt_int(obj, "eventGroupId")?.unwrap_or(0);
    if group_id != 0 && !list.event_groups.contains_key(&group_id) {
        return Err(ApiError::invalid("eventGroupId"));
    }
    if list
        .events
        .values()
        .any(|e| Some(e.id) != this && same_name(&e.name, &name))
    {
        return Err(ApiError::invalid("eventName"));
    }
    Ok((name, status, group_id))
}

pub async fn create_event(
    State(sim): State<Arc<Sim>>,
    headers: HeaderMap,
    Path(list_id): Path<String>,
    body: Bytes,
) -> ApiResult {
    let list_id = path_id(&list_id)?;
    sim.authorize(&headers, Scope::Event)?;
    let obj = json_object(&headers, &body)?;
    let mut account = sim.account();
    let id = account.next_id();
    let list = account
        .list_mut(list_id)
        .ok_or_else(|| ApiError::not_found("listId"))?;
    let (name, status, group_id) = event_body(&obj, list, None)?;
    list.events.insert(
        id,
        Event {
            id,
            name: name.into(),
            group_id,
            status,
        },
    );
    Ok(created(id))
}

pub async fn update_event(
    State(sim): State<Arc<Sim>>,
    headers: HeaderMap,
    Path((list_id, event_id)): Path<(String, String)>,
    body: Bytes,
) -> ApiResult {
    let (list_id, event_id) = (path_id(&list_id)?, path_id(&event_id)?);
    sim.authorize(&headers, Scope::Event)?;
    let obj = json_object(&headers, &body)?;
    let mut account = sim.account();
    let list = account
        .list_mut(list_id)
        .ok_or_else(|| ApiError::not_found("listId"))?;
    if !list.events.contains_key(&event_id) {
        return Err(ApiError::not_found("listId and eventId"));
    }
    let (name, status, group_id) = event_body(&obj, list, Some(event_id))?;
    list.events.insert(
        event_id,
        Event {
            id: event_id,
            name: name.into(),
            group_id,
            status,
        },
    );
    Ok(updated(event_id))
}
