//! The control surface under `/_sim/` (never subject to faults, no token needed): integrations, a view of
//! the whole account, the log of raised events, faults, a contact clicking "unsubscribe", expiring tokens,
//! and reset.

use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::auth::Scopes;
use crate::faults::FaultConfig;
use crate::sim::Sim;
use crate::state::{List, listrak_time, now};

pub fn control_routes() -> Router<Arc<Sim>> {
    Router::new()
        .route("/_sim/integrations", post(add_integration))
        .route("/_sim/state", get(state))
        .route("/_sim/raised", get(raised))
        .route("/_sim/faults", get(get_faults).post(set_faults))
        .route("/_sim/contacts/unsubscribe", post(unsubscribe_contact))
        .route("/_sim/tokens/expire", post(expire_tokens))
        .route("/_sim/reset", post(reset))
}

fn refuse(status: StatusCode, message: impl Into<String>) -> Response {
    (
        status,
        Json(json!({"error": "SIM_BAD_REQUEST", "message": message.into()})),
    )
        .into_response()
}

/// Parses a control body ourselves so a mistake gets a readable JSON answer.
fn body<T: serde::de::DeserializeOwned>(raw: &[u8]) -> Result<T, String> {
    serde_json::from_slice(raw).map_err(|e| e.to_string())
}

#[derive(Deserialize)]
#[serde(untagged)]
enum ScopeList {
    Csv(String),
    Names(Vec<String>),
}

#[derive(Deserialize)]
struct NewIntegration {
    client_id: String,
    client_secret: String,
    scopes: Option<ScopeList>,
}

async fn add_integration(State(sim): State<Arc<Sim>>, raw: axum::body::Bytes) -> Response {
    let req: NewIntegration = match body(&raw) {
        Ok(r) => r,
        Err(why) => return refuse(StatusCode::BAD_REQUEST, why),
    };
    let csv = match req.scopes {
        None => crate::DEFAULT_SCOPES.to_owned(),
        Some(ScopeList::Csv(s)) => s,
        Some(ScopeList::Names(v)) => v.join(","),
    };
    let scopes = match Scopes::parse_list(&csv) {
        Ok(s) => s,
        Err(e) => return refuse(StatusCode::BAD_REQUEST, e),
    };
    if req.client_id.is_empty() || req.client_secret.is_empty() {
        return refuse(
            StatusCode::BAD_REQUEST,
            "client_id and client_secret must not be empty",
        );
    }
    sim.auth()
        .add(req.client_id.clone(), req.client_secret, scopes);
    (
        StatusCode::CREATED,
        Json(json!({"client_id": req.client_id, "scopes": scopes.names()})),
    )
        .into_response()
}

#[derive(Deserialize)]
struct StateQuery {
    /// `false` leaves contacts out (a million of them make a large answer); counts stay.
    contacts: Option<bool>,
    /// Only this contact.
    email: Option<String>,
}

fn list_state(list: &List, q: &StateQuery) -> Value {
    let contacts: Vec<Value> = if q.contacts == Some(false) {
        Vec::new()
    } else {
        let wanted = q.email.as_deref().map(List::contact_key);
        list.contacts
            .iter()
            .filter(|(k, _)| wanted.as_ref().is_none_or(|w| w == *k))
            .map(|(_, c)| {
                json!({
                    "email": &*c.email,
                    "subscription_state": c.state.as_str(),
                    "subscribe_date": listrak_time(c.subscribed),
                    "unsubscribe_date": c.unsubscribed.map(listrak_time),
                    "external_contact_id": c.external_id.as_deref(),
                    "fields": list.values_by_name(&c.values),
                })
            })
            .collect()
    };
    json!({
        "list_id": list.id,
        "list_name": list.name,
        "event_groups": list.event_groups.values().map(|g| json!({"id": g.id, "name": g.name})).collect::<Vec<_>>(),
        "events": list.events.values().map(|e| json!({
            "id": e.id, "name": &*e.name, "event_group_id": e.group_id, "status": e.status.as_str(),
        })).collect::<Vec<_>>(),
        "field_groups": list.field_groups.values().map(|g| json!({
            "id": g.id, "name": g.name, "position": g.position,
        })).collect::<Vec<_>>(),
        "fields": list.fields.values().map(|f| json!({
            "id": f.id, "name": f.name, "group_id": f.group_id, "data_type": f.data_type.as_str(),
            "max_length": f.max_length, "position": f.position,
        })).collect::<Vec<_>>(),
        "contact_count": list.contacts.len(),
        "unsubscribed_count": list.unsubscribed.len(),
        "contacts": contacts,
    })
}

async fn state(State(sim): State<Arc<Sim>>, Query(q): Query<StateQuery>) -> Json<Value> {
    let integrations: Vec<Value> = {
        let auth = sim.auth();
        let mut v: Vec<Value> = auth
            .integrations
            .iter()
            .map(|(id, i)| json!({"client_id": id, "scopes": i.scopes.names()}))
            .collect();
        v.sort_by(|a, b| a["client_id"].as_str().cmp(&b["client_id"].as_str()));
        v
    };
    let account = sim.account();
    let lists: Vec<Value> = account.lists.values().map(|l| list_state(l, &q)).collect();
    let mut imports: Vec<Value> = account
        .imports
        .values()
        .map(|i| {
            json!({
                "import_id": i.id, "list_id": i.list_id, "file_name": i.file_name,
                "status": i.state.as_str(), "failure": i.failure,
                "events_raised": i.counts.events_raised, "updated": i.counts.updated,
                "summary": i.summary_json(),
            })
        })
        .collect();
    imports.sort_by_key(|i| i["import_id"].as_i64());
    let raised_count = account.raised.len();
    drop(account);
    Json(json!({
        "integrations": integrations,
        "lists": lists,
        "imports": imports,
        "raised_count": raised_count,
        "faults": sim.faults.get(),
        "requests": sim.counters.to_json(),
        "token_requests": sim.token_requests(),
    }))
}

#[derive(Deserialize)]
struct RaisedQuery {
    /// Only entries with a sequence number greater than this (for tailing the log).
    since: Option<usize>,
    list_id: Option<i64>,
    email: Option<String>,
}

async fn raised(State(sim): State<Arc<Sim>>, Query(q): Query<RaisedQuery>) -> Json<Value> {
    let account = sim.account();
    let skip = q.since.unwrap_or(0);
    let entries: Vec<Value> = account
        .raised
        .iter()
        .enumerate()
        .skip(skip)
        .filter(|(_, r)| q.list_id.is_none_or(|l| r.list_id == l))
        .filter(|(_, r)| {
            q.email
                .as_deref()
                .is_none_or(|e| r.email.eq_ignore_ascii_case(e))
        })
        .map(|(i, r)| {
            let fields = account
                .lists
                .get(&r.list_id)
                .map(|l| l.values_by_name(&r.values))
                .unwrap_or_default();
            json!({
                "seq": i + 1,
                "list_id": r.list_id,
                "event_id": r.event_id,
                "event_name": &*r.event_name,
                "email": &*r.email,
                "fields": fields,
                "raised_at": listrak_time(r.at),
                "source": r.source,
            })
        })
        .collect();
    Json(Value::Array(entries))
}

async fn get_faults(State(sim): State<Arc<Sim>>) -> Json<FaultConfig> {
    Json(sim.faults.get())
}

async fn set_faults(State(sim): State<Arc<Sim>>, raw: axum::body::Bytes) -> Response {
    let config: FaultConfig = match body(&raw) {
        Ok(c) => c,
        Err(why) => return refuse(StatusCode::BAD_REQUEST, why),
    };
    if let Err(why) = config.validate() {
        return refuse(StatusCode::BAD_REQUEST, why);
    }
    sim.faults.set(config.clone());
    Json(config).into_response()
}

#[derive(Deserialize)]
struct Unsubscribe {
    list_id: i64,
    email: String,
}

async fn unsubscribe_contact(State(sim): State<Arc<Sim>>, raw: axum::body::Bytes) -> Response {
    let req: Unsubscribe = match body(&raw) {
        Ok(r) => r,
        Err(why) => return refuse(StatusCode::BAD_REQUEST, why),
    };
    let mut account = sim.account();
    let Some(list) = account.list_mut(req.list_id) else {
        return refuse(StatusCode::NOT_FOUND, format!("no list {}", req.list_id));
    };
    let key = List::contact_key(&req.email);
    let Some(contact) = list.contacts.get_mut(&key) else {
        return refuse(
            StatusCode::NOT_FOUND,
            format!("no contact {} on list {}", req.email, req.list_id),
        );
    };
    contact.unsubscribe(now(), "Contact");
    let date = contact.unsubscribed.map(listrak_time);
    list.index_state(&key);
    Json(json!({"list_id": req.list_id, "email": req.email, "unsubscribe_date": date}))
        .into_response()
}

async fn expire_tokens(State(sim): State<Arc<Sim>>) -> Json<Value> {
    let expired = sim.auth().expire_all();
    Json(json!({"expired": expired}))
}

/// Clears lists, contacts, imports, the raised log, faults and counters. Integrations and issued tokens are
/// kept (they are configuration, like the flags), and ids keep increasing so stale ids stay 404.
async fn reset(State(sim): State<Arc<Sim>>) -> Json<Value> {
    sim.account().clear();
    sim.faults.set(FaultConfig::default());
    sim.counters.reset();
    Json(json!({"reset": true}))
}
