//! The Listrak channel: one outbox row → Listrak calls on one list, and the failure classified into an
//! [`Outcome`] for the worker. An event row is one upsert that raises the event; a profile row (no event)
//! sends only the member's fields that changed since the last call, then, for a member who opted out in
//! Patron, the unsubscribe as its own call. Email changes go first, as their own call.
//!
//! The worker calls [`attempt`] with no database transaction open; this module only reads the store
//! (and records integration-wide trouble). The contact state an attempt leaves behind is handed back
//! in the [`Attempt`], for the worker to record with the outcome, fenced on the claim.

use super::{ClaimedDelivery, Outcome};
use crate::app::App;
use ::listrak::{
    ContactUpsert, Error, ErrorClass, ListrakClient, SegmentationFieldValue, SubscriptionState,
    UpsertOptions, UpsertOutcome,
};
use chrono::Utc;
use patron_domain::profile::common_fields;
use patron_domain::{EventKind, Fields, Member};
use patron_store::{
    ContactState, ContactWrite, IntegrationRow, ListRow, StoreError, integration_status,
};
use std::collections::BTreeMap;
use std::sync::Arc;

/// What one attempt came to, and the contact state it leaves behind.
#[derive(Debug)]
pub struct Attempt {
    pub outcome: Outcome,
    /// What Listrak now knows of the contact (address, fields sent, unsubscribed), when it changed.
    pub contact: Option<ContactWrite>,
}

/// What the worker already read for a row, with its claim; anything left `None` is read here.
#[derive(Debug, Default, Clone)]
pub struct Known {
    /// The program's integration (`Some(None)`: not connected).
    pub integration: Option<Option<Arc<IntegrationRow>>>,
    pub member: Option<Member>,
    /// The contact state on the row's list (`Some(None)`: Listrak was never told of them).
    pub contact: Option<Option<ContactState>>,
}

/// Delivers one claimed row of channel `listrak`, handing back the contact state to record with the
/// outcome. Never panics, never holds a transaction.
pub async fn attempt(app: &App, d: &ClaimedDelivery, known: Known) -> Attempt {
    let mut contact = Contact::default();
    let outcome = match run(app, d, known, &mut contact).await {
        Ok(outcome) => outcome,
        Err(Failure::Store(e)) => Outcome::Retry {
            reason: format!("database: {e}"),
            retry_after: None,
            may_have_been_applied: false,
        },
        Err(Failure::Listrak(e)) => classify(app, d, &e, &mut contact).await,
    };
    Attempt {
        outcome,
        contact: contact.0,
    }
}

/// Delivers one claimed row and records the contact state at once (outside the worker).
pub async fn deliver(app: &App, d: &ClaimedDelivery) -> Outcome {
    let Attempt { outcome, contact } = attempt(app, d, Known::default()).await;
    if let Some(c) = contact
        && let Err(e) = app
            .store()
            .save_listrak_contact(
                &d.program_id,
                &c.list_id,
                &c.member_id,
                &c.state,
                Utc::now(),
            )
            .await
    {
        tracing::warn!(program = %d.program_id, error = %e, "could not record the Listrak contact state");
    }
    outcome
}

/// The latest contact state of the attempt under way.
#[derive(Default)]
struct Contact(Option<ContactWrite>);

impl Contact {
    fn set(&mut self, list_id: &str, member_id: &str, state: &ContactState) {
        self.0 = Some(ContactWrite {
            list_id: list_id.to_string(),
            member_id: member_id.to_string(),
            state: state.clone(),
        });
    }
}

enum Failure {
    Store(StoreError),
    Listrak(Error),
}

impl From<StoreError> for Failure {
    fn from(e: StoreError) -> Self {
        Failure::Store(e)
    }
}

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        Failure::Listrak(e)
    }
}

fn hold(reason: impl Into<String>) -> Outcome {
    Outcome::Hold {
        reason: reason.into(),
    }
}

fn dead(reason: impl Into<String>) -> Outcome {
    Outcome::Dead {
        reason: reason.into(),
    }
}

/// What one row needs: the integration, its list, and a client.
struct Target {
    list: ListRow,
    list_id: i64,
    client: ListrakClient,
}

fn target(
    app: &App,
    d: &ClaimedDelivery,
    row: Option<&IntegrationRow>,
) -> Result<Result<Target, Outcome>, Failure> {
    let Some(row) = row else {
        return Ok(Err(hold("Listrak is not connected for this program")));
    };
    match row.status.as_str() {
        integration_status::DISCONNECTED => {
            return Ok(Err(hold(
                "Listrak was disconnected; connect it again to send this",
            )));
        }
        integration_status::NEEDS_REPROVISIONING => {
            return Ok(Err(hold(
                "the Listrak list is gone; run POST /v1/integrations/listrak/reprovision",
            )));
        }
        _ => {}
    }
    let Some(wanted) = d.list_id.as_deref() else {
        return Ok(Err(dead("no Listrak list on this row")));
    };
    let Some(list) = find_list(row, wanted) else {
        return Ok(Err(dead(format!(
            "Listrak list {wanted} is no longer configured for this program"
        ))));
    };
    let Ok(list_id) = wanted.parse::<i64>() else {
        return Ok(Err(dead(format!("`{wanted}` is not a Listrak list id"))));
    };
    let client = match app.listrak_client(row) {
        Ok(c) => c,
        Err(e) => {
            return Ok(Err(hold(format!(
                "the Listrak client cannot be built: {e}"
            ))));
        }
    };
    Ok(Ok(Target {
        list,
        list_id,
        client,
    }))
}

fn find_list(row: &IntegrationRow, list_id: &str) -> Option<ListRow> {
    row.lists
        .iter()
        .find(|l| l.list_id.as_deref() == Some(list_id))
        .cloned()
}

/// Field values by provisioned id; names the list does not have are skipped.
fn values(list: &ListRow, fields: &BTreeMap<String, String>) -> Vec<SegmentationFieldValue> {
    fields
        .iter()
        .filter_map(|(name, value)| {
            list.field_ids
                .get(name)
                .map(|id| SegmentationFieldValue::new(*id, value.clone()))
        })
        .collect()
}

fn detail(outcome: UpsertOutcome) -> String {
    match outcome {
        UpsertOutcome::Created => "201 Created".into(),
        UpsertOutcome::Updated => "200 Updated".into(),
    }
}

async fn run(
    app: &App,
    d: &ClaimedDelivery,
    known: Known,
    c: &mut Contact,
) -> Result<Outcome, Failure> {
    let integration = match known.integration {
        Some(i) => i,
        None => app
            .store()
            .listrak_integration(&d.program_id)
            .await?
            .map(Arc::new),
    };
    let t = match target(app, d, integration.as_deref())? {
        Ok(t) => t,
        Err(outcome) => return Ok(outcome),
    };
    let member = match (&d.member_id, known.member) {
        (Some(_), Some(m)) => Some(m),
        (Some(id), None) => Some(app.store().listrak_member(id).await?),
        (None, _) => None,
    };
    let state = match (&member, known.contact) {
        (_, Some(state)) => state,
        (Some(m), None) => {
            app.store()
                .listrak_contact(&d.program_id, &t.list_id.to_string(), &m.id)
                .await?
        }
        (None, None) => None,
    };
    match d.event.as_deref() {
        Some(event) => deliver_event(app, d, c, &t, event, member, state).await,
        None => match member {
            Some(m) => sync_profile(app, d, c, &t, &m, state).await,
            None => Ok(dead("a profile update without a member")),
        },
    }
}

async fn deliver_event(
    app: &App,
    d: &ClaimedDelivery,
    c: &mut Contact,
    t: &Target,
    event: &str,
    member: Option<Member>,
    mut state: Option<ContactState>,
) -> Result<Outcome, Failure> {
    let Some(event_id) = t.list.event_ids.get(event).copied() else {
        mark(app, d, integration_status::NEEDS_REPROVISIONING, event).await;
        return Ok(hold(format!(
            "event `{event}` is not provisioned on list {}; re-provision",
            t.list_id
        )));
    };
    let friend_facing = EventKind::from_name(event).is_some_and(EventKind::is_friend_facing);
    let options = UpsertOptions {
        event_ids: vec![event_id],
        ..UpsertOptions::default()
    };
    let mut contact = ContactUpsert::new(d.email.clone());
    contact.segmentation_field_values = values(&t.list, &d.fields);
    // The contact of a friend-facing event is the friend: none of the member's identity goes along.
    let member = member.filter(|_| !friend_facing);
    let Some(member) = member else {
        contact.subscription_state = Some(SubscriptionState::Subscribed);
        let outcome = t
            .client
            .upsert_contact(t.list_id, &contact, &options)
            .await?;
        return Ok(Outcome::Delivered {
            detail: detail(outcome),
        });
    };
    if member.opted_out {
        return Ok(dead("the member opted out: events are never sent to them"));
    }
    let list_key = t.list_id.to_string();
    change_address(d, c, t, &member, &mut state, &d.email).await?;
    // Subscribed only for a contact Patron has not sent yet: for one it knows, asking again would turn
    // "unsubscribed in Listrak meanwhile" into a different refusal, and never re-subscribes anyone.
    if state.is_none() {
        contact.subscription_state = Some(SubscriptionState::Subscribed);
    }
    contact.external_contact_id = Some(member.external_id.clone());
    let outcome = t
        .client
        .upsert_contact(t.list_id, &contact, &options)
        .await?;
    let mut state = state.unwrap_or_default();
    state.email.clone_from(&d.email);
    state
        .sent_fields
        .extend(d.fields.iter().map(|(k, v)| (k.clone(), v.clone())));
    c.set(&list_key, &member.id, &state);
    Ok(Outcome::Delivered {
        detail: detail(outcome),
    })
}

/// Sends what changed in the member's profile since the last call, then unsubscribes a member who opted
/// out in Patron (its own call, no events, no values).
async fn sync_profile(
    app: &App,
    d: &ClaimedDelivery,
    c: &mut Contact,
    t: &Target,
    member: &Member,
    mut state: Option<ContactState>,
) -> Result<Outcome, Failure> {
    let list_key = t.list_id.to_string();
    if state.is_none() && member.opted_out {
        return Ok(Outcome::Delivered {
            detail: "not sent: the member opted out before Listrak knew them".into(),
        });
    }
    let settings = app.store().settings(&d.program_id).await?;
    let rewards = app.store().reward_offers(&d.program_id).await?;
    let now_fields = common_fields(member, &settings, &rewards);
    change_address(d, c, t, member, &mut state, &member.email).await?;
    let mut st = state.clone().unwrap_or_default();
    let changed: Fields = now_fields
        .iter()
        .filter(|(k, v)| st.sent_fields.get(*k) != Some(*v))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let mut calls = Vec::new();
    if !changed.is_empty() || state.is_none() {
        let mut contact = ContactUpsert::new(member.email.clone());
        contact.segmentation_field_values = values(&t.list, &changed);
        contact.external_contact_id = Some(member.external_id.clone());
        if state.is_none() {
            contact.subscription_state = Some(SubscriptionState::Subscribed);
        }
        let outcome = t
            .client
            .upsert_contact(t.list_id, &contact, &UpsertOptions::default())
            .await?;
        calls.push(format!("profile {}", detail(outcome)));
        st.email.clone_from(&member.email);
        st.sent_fields.extend(changed);
        c.set(&list_key, &member.id, &st);
    }
    if member.opted_out && !st.unsubscribed {
        let mut contact = ContactUpsert::new(member.email.clone());
        contact.subscription_state = Some(SubscriptionState::Unsubscribed);
        t.client
            .upsert_contact(t.list_id, &contact, &UpsertOptions::default())
            .await?;
        calls.push("unsubscribed".into());
        st.unsubscribed = true;
        c.set(&list_key, &member.id, &st);
    }
    Ok(Outcome::Delivered {
        detail: if calls.is_empty() {
            "nothing changed: no call".into()
        } else {
            calls.join(", ")
        },
    })
}

/// When the member's address changed since Listrak last heard of them, moves the contact first
/// (`newEmailAddress`, its own call). If Listrak refuses the move for this contact, the new address is
/// used from now on (a new contact) rather than blocking the member's lane forever.
async fn change_address(
    d: &ClaimedDelivery,
    c: &mut Contact,
    t: &Target,
    member: &Member,
    state: &mut Option<ContactState>,
    new_email: &str,
) -> Result<(), Failure> {
    let Some(st) = state.as_mut() else {
        return Ok(());
    };
    if st.email.is_empty() || st.email.eq_ignore_ascii_case(new_email) {
        return Ok(());
    }
    let contact = ContactUpsert::new(st.email.clone());
    let options = UpsertOptions {
        new_email_address: Some(new_email.to_string()),
        ..UpsertOptions::default()
    };
    match t.client.upsert_contact(t.list_id, &contact, &options).await {
        Ok(_) => {}
        Err(e) if e.class() == ErrorClass::FinalForContact => {
            tracing::warn!(program = %d.program_id, list = t.list_id, error = %e,
                "Listrak refused the email change; continuing with the new address");
            st.sent_fields.clear();
        }
        Err(e) => return Err(e.into()),
    }
    st.email = new_email.to_string();
    c.set(&t.list_id.to_string(), &member.id, st);
    Ok(())
}

async fn mark(app: &App, d: &ClaimedDelivery, status: &str, why: &str) {
    if let Err(e) = app
        .store()
        .set_listrak_status(&d.program_id, status, Some(why), Utc::now())
        .await
    {
        tracing::warn!(program = %d.program_id, error = %e, "could not record the Listrak integration status");
    }
}

/// Maps a failed call to what the worker should do, recording integration-wide trouble.
async fn classify(app: &App, d: &ClaimedDelivery, e: &Error, c: &mut Contact) -> Outcome {
    let reason = match e.code() {
        Some(code) => format!("{code}: {e}"),
        None => e.to_string(),
    };
    if e.is_stale_list() {
        mark(app, d, integration_status::NEEDS_REPROVISIONING, &reason).await;
        return hold(reason);
    }
    match e.class() {
        ErrorClass::Retryable => Outcome::Retry {
            reason,
            retry_after: e.retry_after(),
            may_have_been_applied: e.may_have_been_applied(),
        },
        ErrorClass::FinalForContact => {
            if matches!(
                e.code(),
                Some("ERROR_UNSUBSCRIBED_EMAIL_ADDRESS" | "ERROR_UPDATE_UNSUBSCRIBE_WITH_EVENTS")
            ) {
                remember_unsubscribed(app, d, c).await;
            }
            dead(reason)
        }
        ErrorClass::BadRequest => dead(reason),
        ErrorClass::IntegrationUnusable => {
            mark(app, d, integration_status::ERROR, &reason).await;
            hold(reason)
        }
    }
}

/// Listrak says the contact unsubscribed: later calls stop asking to subscribe them.
async fn remember_unsubscribed(app: &App, d: &ClaimedDelivery, c: &mut Contact) {
    let (Some(member_id), Some(list_id)) = (&d.member_id, &d.list_id) else {
        return;
    };
    // This attempt may have changed the contact already (a moved address) without recording it yet.
    let pending =
        c.0.as_ref()
            .filter(|w| w.list_id == *list_id && w.member_id == *member_id)
            .map(|w| w.state.clone());
    let known = match pending {
        Some(st) => Ok(Some(st)),
        None => {
            app.store()
                .listrak_contact(&d.program_id, list_id, member_id)
                .await
        }
    };
    match known {
        Ok(st) => {
            let mut st = st.unwrap_or_default();
            if st.email.is_empty() {
                st.email.clone_from(&d.email);
            }
            st.unsubscribed = true;
            c.set(list_id, member_id, &st);
        }
        Err(e) => {
            tracing::warn!(program = %d.program_id, error = %e, "could not read the contact to record it unsubscribed")
        }
    }
}
