//! The contact upsert (`POST /v1/List/{listId}/Contact`) and Listrak's rules around it: field and event
//! validation, 201 created / 200 updated, unsubscribes and email changes as their own calls, and contacts
//! who opted out never receiving events or being re-subscribed without `overrideUnsubscribe`.

use std::sync::Arc;

use axum::response::Response;
use chrono::NaiveDateTime;
use serde_json::Value;

use crate::body::{Object, Query, opt_str, req_str};
use crate::errors::{ApiError, created, updated};
use crate::state::{Contact, EventStatus, List, Raised, SubscriptionState};
use crate::values::{UpdateType, check_value};

/// A parsed upsert request, not yet checked against the list.
#[derive(Debug)]
pub struct Upsert {
    email: String,
    state: Option<SubscriptionState>,
    external_id: Option<String>,
    values: Vec<(i64, String)>,
    event_ids: Vec<i64>,
    override_unsubscribe: bool,
    update_type: UpdateType,
    new_email: Option<String>,
}

pub struct UpsertOutcome {
    pub response: Response,
    pub raised: Vec<Raised>,
}

/// A plausible address: one `@`, something on each side, a dot in the domain, no spaces or `,;`.
pub fn is_valid_email(email: &str) -> bool {
    let Some((local, domain)) = email.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains('@')
        && email.len() <= 254
        && !email.contains(|c: char| c.is_whitespace() || c == ',' || c == ';')
}

fn error(code: &'static str, message: &str) -> ApiError {
    ApiError::bad_request(code, message)
}

impl Upsert {
    pub fn parse(obj: &Object, query: &Query) -> Result<Self, ApiError> {
        let email = req_str(obj, "emailAddress")?.trim().to_owned();
        if !is_valid_email(&email) {
            return Err(ApiError::invalid("emailAddress"));
        }
        let state = opt_str(obj, "subscriptionState")?
            .map(|s| {
                SubscriptionState::parse(s).ok_or_else(|| ApiError::invalid("subscriptionState"))
            })
            .transpose()?;
        let external_id = opt_str(obj, "externalContactID")?.map(str::to_owned);
        let values = match obj.get("segmentationFieldValues") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(items)) => items.iter().map(field_value).collect::<Result<_, _>>()?,
            Some(_) => return Err(ApiError::invalid("segmentationFieldValues")),
        };
        let update_type = match query.get("updateType") {
            None | Some("") => UpdateType::Update,
            Some(s) => UpdateType::parse(s).ok_or_else(|| ApiError::invalid("updateType"))?,
        };
        query.flag("subscribedByContact")?;
        query.flag("sendDoubleOptIn")?;
        let new_email = query
            .get("newEmailAddress")
            .map(str::trim)
            .filter(|s| !s.is_empty());
        if new_email.is_some_and(|e| !is_valid_email(e)) {
            return Err(ApiError::invalid("newEmailAddress"));
        }
        Ok(Self {
            email,
            state,
            external_id,
            values,
            event_ids: query.ids("eventIds")?,
            override_unsubscribe: query.flag("overrideUnsubscribe")?,
            update_type,
            new_email: new_email.map(str::to_owned),
        })
    }

    pub fn apply(self, list: &mut List, at: NaiveDateTime) -> Result<UpsertOutcome, ApiError> {
        let values = self.checked_values(list)?;
        let events = self.checked_events(list)?;
        if let Some(new_email) = &self.new_email {
            return change_address(
                list,
                &self.email,
                new_email,
                !events.is_empty(),
                !values.is_empty(),
            );
        }
        let key = List::contact_key(&self.email);
        let existing = list.contacts.get(&key).map(|c| c.state);
        if self.state == Some(SubscriptionState::Unsubscribed) {
            return unsubscribe(
                list,
                &key,
                &self.email,
                !events.is_empty(),
                !values.is_empty(),
                at,
            );
        }
        if existing == Some(SubscriptionState::Unsubscribed) && !self.override_unsubscribe {
            if self.state == Some(SubscriptionState::Subscribed) {
                return Err(error(
                    "ERROR_UNSUBSCRIBED_EMAIL_ADDRESS",
                    "The emailAddress has already been unsubscribed from the list.",
                ));
            }
            if !events.is_empty() {
                return Err(error(
                    "ERROR_UPDATE_UNSUBSCRIBE_WITH_EVENTS",
                    "Events cannot be raised for a contact that has unsubscribed from the list.",
                ));
            }
        }
        let list_id = list.id;
        let contact = list
            .contacts
            .entry(key.clone())
            .or_insert_with(|| Contact::new(&self.email, SubscriptionState::Subscribed, at));
        if self.override_unsubscribe {
            contact.resubscribe(at);
        }
        if let Some(external_id) = self.external_id.filter(|e| !e.is_empty()) {
            contact.external_id = Some(external_id.into_boxed_str());
        }
        contact.values.apply(&values, self.update_type);
        let raised = events
            .into_iter()
            .map(|(event_id, event_name)| Raised {
                list_id,
                event_id,
                event_name,
                email: contact.email.clone(),
                values: contact.values.clone(),
                at,
                source: "api",
            })
            .collect();
        list.index_state(&key);
        let response = if existing.is_none() {
            created(&self.email)
        } else {
            updated(&self.email)
        };
        Ok(UpsertOutcome { response, raised })
    }

    fn checked_values(&self, list: &List) -> Result<Vec<(u32, String)>, ApiError> {
        let mut out: Vec<(u32, String)> = Vec::with_capacity(self.values.len());
        for (id, value) in &self.values {
            let field = u32::try_from(*id)
                .ok()
                .and_then(|id| list.fields.get(&id))
                .ok_or_else(|| {
                    ApiError::invalid_because(
                        "segmentationFieldId",
                        format!("no field {id} in this list"),
                    )
                })?;
            check_value(field, value).map_err(|why| ApiError::invalid_because("value", why))?;
            if out.iter().any(|(seen, _)| *seen == field.id) {
                return Err(error(
                    "ERROR_SEGMENTATION_FIELD_DEFINED_TWICE",
                    "A profile field was supplied more than once.",
                ));
            }
            out.push((field.id, value.clone()));
        }
        Ok(out)
    }

    fn checked_events(&self, list: &List) -> Result<Vec<(i64, Arc<str>)>, ApiError> {
        self.event_ids
            .iter()
            .map(|id| match list.events.get(id) {
                Some(e) if e.status == EventStatus::Active => Ok((e.id, e.name.clone())),
                Some(_) => Err(ApiError::invalid_because(
                    "eventIds",
                    format!("event {id} is Blocked"),
                )),
                None => Err(ApiError::invalid_because(
                    "eventIds",
                    format!("no event {id} in this list"),
                )),
            })
            .collect()
    }
}

fn field_value(item: &Value) -> Result<(i64, String), ApiError> {
    let obj = item
        .as_object()
        .ok_or_else(|| ApiError::invalid("segmentationFieldValues"))?;
    let id = obj
        .get("segmentationFieldId")
        .and_then(Value::as_i64)
        .ok_or_else(|| ApiError::invalid("segmentationFieldId"))?;
    let value = match obj.get("value") {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(_) => return Err(ApiError::invalid("value")),
    };
    Ok((id, value))
}

/// `subscriptionState: Unsubscribed`: its own call, without events or values. Unsubscribing someone not on
/// the list is `ERROR_NOT_SUBSCRIBED_EMAIL_ADDRESS`; unsubscribing twice keeps the first date.
fn unsubscribe(
    list: &mut List,
    key: &str,
    email: &str,
    with_events: bool,
    with_values: bool,
    at: NaiveDateTime,
) -> Result<UpsertOutcome, ApiError> {
    if with_events {
        return Err(error(
            "ERROR_UNSUBSCRIBE_WITH_EVENTS",
            "A contact cannot be unsubscribed while raising events.",
        ));
    }
    if with_values {
        return Err(error(
            "ERROR_UNSUBSCRIBE_WITH_SEGMENTATION_DATA",
            "A contact cannot be unsubscribed while updating profile data.",
        ));
    }
    let contact = list.contacts.get_mut(key).ok_or_else(|| {
        error(
            "ERROR_NOT_SUBSCRIBED_EMAIL_ADDRESS",
            "The emailAddress is not a subscriber of the list.",
        )
    })?;
    contact.unsubscribe(at, "API");
    list.index_state(key);
    Ok(UpsertOutcome {
        response: updated(email),
        raised: Vec::new(),
    })
}

/// `newEmailAddress`: its own call, without events or values, onto an address not already on the list.
fn change_address(
    list: &mut List,
    email: &str,
    new_email: &str,
    with_events: bool,
    with_values: bool,
) -> Result<UpsertOutcome, ApiError> {
    if with_events {
        return Err(error(
            "ERROR_CHANGE_ADDRESS_WITH_EVENTS",
            "The emailAddress cannot be changed while raising events.",
        ));
    }
    if with_values {
        return Err(error(
            "ERROR_CHANGE_ADDRESS_WITH_SEGMENTATION_DATA",
            "The emailAddress cannot be changed while updating profile data.",
        ));
    }
    let key = List::contact_key(email);
    let new_key = List::contact_key(new_email);
    let source = list.contacts.get(&key).ok_or_else(|| {
        ApiError::invalid_because("emailAddress", "no contact with this address on the list")
    })?;
    if source.state == SubscriptionState::Unsubscribed {
        return Err(error(
            "ERROR_CHANGE_ADDRESS_CONTACT_UNSUBSCRIBED",
            "The contact has unsubscribed from the list; its address cannot be changed.",
        ));
    }
    if new_key != key {
        match list.contacts.get(&new_key).map(|c| c.state) {
            Some(SubscriptionState::Subscribed) => {
                return Err(error(
                    "ERROR_SUBSCRIBED_NEW_EMAIL_ADDRESS",
                    "The newEmailAddress is already subscribed to the list.",
                ));
            }
            Some(SubscriptionState::Unsubscribed) => {
                return Err(error(
                    "ERROR_UNSUBSCRIBED_NEW_EMAIL_ADDRESS",
                    "The newEmailAddress has already been unsubscribed from the list.",
                ));
            }
            None => {}
        }
    }
    if let Some(mut contact) = list.contacts.remove(&key) {
        contact.email = new_email.into();
        list.contacts.insert(new_key.clone(), contact);
    }
    list.index_state(&key);
    list.index_state(&new_key);
    Ok(UpsertOutcome {
        response: updated(new_email),
        raised: Vec::new(),
    })
}
