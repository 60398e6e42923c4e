//! Contacts of a list (access level Contact): the upsert with Listrak's subscription rules, one contact by
//! email or email key, and the paged listing that pulls unsubscribes back.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::HeaderMap;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{NaiveDate, NaiveDateTime};
use serde_json::Value;

use super::path_id;
use crate::auth::Scope;
use crate::body::{Query, json_object};
use crate::errors::{ApiError, ApiResult, data, paged};
use crate::sim::Sim;
use crate::state::{Contact, List, SubscriptionState, now};
use crate::upsert::{Upsert, UpsertOutcome};

/// At most this many `segmentationFieldIds` per read.
pub const MAX_FIELD_IDS: usize = 30;
/// Page size bounds of the contact listing.
pub const DEFAULT_PAGE: usize = 1000;
pub const MAX_PAGE: usize = 5000;

pub async fn upsert(
    State(sim): State<Arc<Sim>>,
    headers: HeaderMap,
    Path(list_id): Path<String>,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> ApiResult {
    let list_id = path_id(&list_id)?;
    sim.authorize(&headers, Scope::Contact)?;
    let obj = json_object(&headers, &body)?;
    let request = Upsert::parse(&obj, &Query::parse(query.as_deref()))?;
    let mut account = sim.account();
    let list = account
        .list_mut(list_id)
        .ok_or_else(|| ApiError::not_found("listId"))?;
    let UpsertOutcome { response, raised } = request.apply(list, now())?;
    account.raised.extend(raised);
    Ok(response)
}

/// Field ids asked for with `segmentationFieldIds`, each a field of the list; at most thirty.
fn requested_fields(list: &List, query: &Query) -> Result<Vec<u32>, ApiError> {
    let ids = query.ids("segmentationFieldIds")?;
    if ids.len() > MAX_FIELD_IDS {
        return Err(ApiError::bad_request(
            "ERROR_TOO_MANY_SEGMENTATION_FIELDS",
            format!("At most {MAX_FIELD_IDS} profile fields may be requested."),
        ));
    }
    ids.into_iter()
        .map(|id| {
            u32::try_from(id)
                .ok()
                .filter(|id| list.fields.contains_key(id))
                .ok_or_else(|| ApiError::invalid("segmentationFieldIds"))
        })
        .collect()
}

pub async fn get_contact(
    State(sim): State<Arc<Sim>>,
    headers: HeaderMap,
    Path((list_id, identifier)): Path<(String, String)>,
    RawQuery(query): RawQuery,
) -> ApiResult {
    let list_id = path_id(&list_id)?;
    sim.authorize(&headers, Scope::Contact)?;
    let query = Query::parse(query.as_deref());
    let account = sim.account();
    let list = account
        .list(list_id)
        .ok_or_else(|| ApiError::not_found("listId"))?;
    let field_ids = requested_fields(list, &query)?;
    let contact = if identifier.contains('@') {
        list.contacts.get(&*List::contact_key(&identifier))
    } else {
        // An email key: rare, so a scan rather than a second index over every contact.
        list.contacts
            .values()
            .find(|c| Contact::email_key(list_id, &c.email) == identifier)
    };
    let contact = contact.ok_or_else(|| ApiError::not_found("listId and contactIdentifier"))?;
    Ok(data(contact.to_json(list_id, &field_ids, &list.fields)))
}

/// `startDate`/`endDate`: `YYYY-MM-DD`, `YYYY-MM-DDTHH:MM:SS[.fff]` or `MM/DD/YYYY`. A date-only end is the
/// whole day.
fn query_time(
    query: &Query,
    name: &str,
    end_of_day: bool,
) -> Result<Option<NaiveDateTime>, ApiError> {
    let Some(raw) = query.get(name).map(str::trim).filter(|s| !s.is_empty()) else {
        return Ok(None);
    };
    let raw = raw.trim_end_matches('Z');
    for format in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f"] {
        if let Ok(t) = NaiveDateTime::parse_from_str(raw, format) {
            return Ok(Some(t));
        }
    }
    let date = NaiveDate::parse_from_str(raw, "%Y-%m-%d")
        .or_else(|_| NaiveDate::parse_from_str(raw, "%m/%d/%Y"))
        .map_err(|_| ApiError::invalid(name))?;
    let time = if end_of_day {
        date.and_hms_opt(23, 59, 59)
    } else {
        date.and_hms_opt(0, 0, 0)
    };
    Ok(time)
}

fn page_size(query: &Query) -> Result<usize, ApiError> {
    match query.get("count") {
        None | Some("") => Ok(DEFAULT_PAGE),
        Some(raw) => raw
            .trim()
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=MAX_PAGE).contains(n))
            .ok_or_else(|| ApiError::invalid("count")),
    }
}

/// The key after which a page starts: `Start` (or nothing) is the beginning; otherwise our opaque cursor.
fn cursor_key(query: &Query) -> Result<Option<String>, ApiError> {
    match query.get("cursor") {
        None | Some("") => Ok(None),
        Some(c) if c.eq_ignore_ascii_case("Start") => Ok(None),
        Some(c) => URL_SAFE_NO_PAD
            .decode(c)
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .map(Some)
            .ok_or_else(|| ApiError::invalid("cursor")),
    }
}

pub async fn list_contacts(
    State(sim): State<Arc<Sim>>,
    headers: HeaderMap,
    Path(list_id): Path<String>,
    RawQuery(query): RawQuery,
) -> ApiResult {
    let list_id = path_id(&list_id)?;
    sim.authorize(&headers, Scope::Contact)?;
    let query = Query::parse(query.as_deref());
    let state = match query.get("subscriptionState") {
        None | Some("") => SubscriptionState::Subscribed,
        Some(s) => {
            SubscriptionState::parse(s).ok_or_else(|| ApiError::invalid("subscriptionState"))?
        }
    };
    let count = page_size(&query)?;
    let after = cursor_key(&query)?;
    let start = query_time(&query, "startDate", false)?;
    let end = query_time(&query, "endDate", true)?;
    let external = query.get("externalContactId").filter(|s| !s.is_empty());
    let original_date = !matches!(query.get("useOriginalSubscribeDate"), Some(v) if v.eq_ignore_ascii_case("false"));

    let account = sim.account();
    let list = account
        .list(list_id)
        .ok_or_else(|| ApiError::not_found("listId"))?;
    let field_ids = requested_fields(list, &query)?;
    let from = std::ops::Bound::<&str>::Excluded;
    let range = after.as_deref().map_or(std::ops::Bound::Unbounded, from);
    let keys: Box<dyn Iterator<Item = &str>> = match state {
        SubscriptionState::Unsubscribed => Box::new(
            list.unsubscribed
                .range::<str, _>((range, std::ops::Bound::Unbounded))
                .map(|k| &**k),
        ),
        SubscriptionState::Subscribed => Box::new(
            list.contacts
                .range::<str, _>((range, std::ops::Bound::Unbounded))
                .map(|(k, _)| &**k),
        ),
    };
    let matches = keys
        .filter_map(|key| list.contacts.get(key).map(|c| (key, c)))
        .filter(|(_, c)| {
            let when = match state {
                SubscriptionState::Unsubscribed => c.unsubscribed,
                SubscriptionState::Subscribed if original_date => Some(c.subscribed),
                SubscriptionState::Subscribed => Some(c.resubscribed.unwrap_or(c.subscribed)),
            };
            c.state == state
                && external.is_none_or(|e| c.external_id.as_deref() == Some(e))
                && start.is_none_or(|s| when.is_some_and(|w| w >= s))
                && end.is_none_or(|e| when.is_some_and(|w| w <= e))
        });
    let mut page: Vec<Value> = Vec::new();
    let mut last_key = None;
    let mut more = false;
    for (key, contact) in matches {
        if page.len() == count {
            more = true;
            break;
        }
        page.push(contact.to_json(list_id, &field_ids, &list.fields));
        last_key = Some(key);
    }
    let next = if more {
        last_key.map(|k| URL_SAFE_NO_PAD.encode(k))
    } else {
        None
    };
    Ok(paged(page, next))
}

/// The bulk profile update is Beta: most integrations are refused, and so is every one here.
pub async fn beta_bulk_fields(State(sim): State<Arc<Sim>>, headers: HeaderMap) -> ApiResult {
    sim.authorize(&headers, Scope::Contact)?;
    Err(ApiError::bad_request(
        "ERROR_INTEGRATION_CANNOT_ACCESS_BETA_ROUTE",
        "This route is in Beta and not yet generally available for all integrations.",
    ))
}
