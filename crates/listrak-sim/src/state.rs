//! The emulator's in-memory account: lists with their event groups, events, profile field groups, fields
//! and contacts; list imports; and the ordered log of raised events. Plain data behind one mutex, rendered
//! in Listrak's JSON shapes by the `*_json` methods.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use chrono::NaiveDateTime;
use serde_json::{Value, json};

use crate::values::FieldValues;

/// Timestamps as Listrak writes them: no zone, whole seconds.
pub fn listrak_time(t: NaiveDateTime) -> String {
    t.format("%Y-%m-%dT%H:%M:%S").to_string()
}

pub fn now() -> NaiveDateTime {
    chrono::Utc::now().naive_utc()
}

/// Everything a merchant's Listrak account holds that the API subset touches.
#[derive(Debug)]
pub struct Account {
    pub lists: BTreeMap<i64, List>,
    pub imports: HashMap<i64, Import>,
    pub raised: Vec<Raised>,
    next_id: i64,
}

impl Default for Account {
    fn default() -> Self {
        Self {
            lists: BTreeMap::new(),
            imports: HashMap::new(),
            raised: Vec::new(),
            next_id: 1000,
        }
    }
}

impl Account {
    /// Ids are unique across kinds and never reused, even across `/_sim/reset`: a stale id stays a 404.
    pub fn next_id(&mut self) -> i64 {
        self.next_id += 1;
        self.next_id
    }

    /// Clears the data and keeps the id sequence.
    pub fn clear(&mut self) {
        let next_id = self.next_id;
        *self = Self {
            next_id,
            ..Self::default()
        };
    }

    pub fn list(&self, id: i64) -> Option<&List> {
        self.lists.get(&id)
    }

    pub fn list_mut(&mut self, id: i64) -> Option<&mut List> {
        self.lists.get_mut(&id)
    }
}

#[derive(Debug)]
pub struct List {
    pub id: i64,
    pub name: String,
    pub bounce_handling: String,
    pub bounce_unsubscribe_count: i64,
    pub created: NaiveDateTime,
    pub event_groups: BTreeMap<i64, EventGroup>,
    pub events: BTreeMap<i64, Event>,
    pub field_groups: BTreeMap<i64, FieldGroup>,
    pub fields: BTreeMap<u32, Field>,
    /// Keyed by the lower-cased email address.
    pub contacts: BTreeMap<Box<str>, Contact>,
    /// Keys of contacts currently unsubscribed, so pulling unsubscribes back does not scan every contact.
    pub unsubscribed: BTreeSet<Box<str>>,
}

impl List {
    pub fn new(
        id: i64,
        name: String,
        bounce_handling: String,
        bounce_unsubscribe_count: i64,
    ) -> Self {
        Self {
            id,
            name,
            bounce_handling,
            bounce_unsubscribe_count,
            created: now(),
            event_groups: BTreeMap::new(),
            events: BTreeMap::new(),
            field_groups: BTreeMap::new(),
            fields: BTreeMap::new(),
            contacts: BTreeMap::new(),
            unsubscribed: BTreeSet::new(),
        }
    }

    pub fn to_json(&self) -> Value {
        json!({
            "listId": self.id,
            "listName": self.name,
            "folderId": 0,
            "ipPoolId": 0,
            "bounceDomainAlias": "",
            "bounceHandling": self.bounce_handling,
            "bounceUnsubscribeCount": self.bounce_unsubscribe_count,
            "createDate": listrak_time(self.created),
            "enableBrowserLink": false,
            "enableDoubleOptIn": false,
            "enableDynamicContent": false,
            "enableGoogleAnalytics": false,
            "enableInternationalization": false,
            "enableListHygiene": true,
            "enableListRemovalHeader": true,
            "enableListRemovalLink": true,
            "enableListrakAnalytics": false,
            "enableSpamScorePersonalization": false,
            "enableToNamePersonalization": false,
            "enableUniversalEmailKeySetting": false,
            "fromEmail": "",
            "fromName": "",
            "googleTrackingDomains": [],
            "linkDomainAlias": "",
            "mediaDomainAlias": "",
        })
    }

    pub fn contact_key(email: &str) -> Box<str> {
        email.to_ascii_lowercase().into_boxed_str()
    }

    /// Keeps the unsubscribed index in step with a contact's state.
    pub fn index_state(&mut self, key: &str) {
        match self.contacts.get(key).map(|c| c.state) {
            Some(SubscriptionState::Unsubscribed) => {
                self.unsubscribed.insert(key.into());
            }
            _ => {
                self.unsubscribed.remove(key);
            }
        }
    }

    /// Field values keyed by field name, as the control surface shows them.
    pub fn values_by_name(&self, values: &FieldValues) -> serde_json::Map<String, Value> {
        values
            .iter()
            .map(|(id, v)| {
                let name = self
                    .fields
                    .get(&id)
                    .map_or_else(|| id.to_string(), |f| f.name.clone());
                (name, Value::String(v.to_owned()))
            })
            .collect()
    }
}

#[derive(Debug, Clone)]
pub struct EventGroup {
    pub id: i64,
    pub name: String,
}

impl EventGroup {
    pub fn to_json(&self) -> Value {
        json!({"eventGroupId": self.id, "eventGroupName": self.name})
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventStatus {
    Active,
    Blocked,
}

impl EventStatus {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "Active" => Some(Self::Active),
            "Blocked" => Some(Self::Blocked),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "Active",
            Self::Blocked => "Blocked",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Event {
    pub id: i64,
    pub name: Arc<str>,
    pub group_id: i64,
    pub status: EventStatus,
}

impl Event {
    pub fn to_json(&self) -> Value {
        json!({
            "eventId": self.id,
            "eventName": &*self.name,
            "eventGroupId": self.group_id,
            "status": self.status.as_str(),
        })
    }
}

#[derive(Debug, Clone)]
pub struct FieldGroup {
    pub id: i64,
    pub name: String,
    pub position: i64,
}

impl FieldGroup {
    pub fn to_json(&self) -> Value {
        json!({
            "segmentationFieldGroupId": self.id,
            "segmentationFieldGroupName": self.name,
            "position": self.position,
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DataType {
    Text,
    Numeric,
    RadioButton,
    CheckBox,
    CommentArea,
    Date,
    ContentBlock,
}

impl DataType {
    const ALL: [(Self, &'static str); 7] = [
        (Self::Text, "Text"),
        (Self::Numeric, "Numeric"),
        (Self::RadioButton, "RadioButton"),
        (Self::CheckBox, "CheckBox"),
        (Self::CommentArea, "CommentArea"),
        (Self::Date, "Date"),
        (Self::ContentBlock, "ContentBlock"),
    ];

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.iter().find(|(_, n)| *n == s).map(|(t, _)| *t)
    }

    pub fn as_str(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(t, _)| *t == self)
            .map_or("Text", |(_, n)| n)
    }
}

#[derive(Debug, Clone)]
pub struct Field {
    pub id: u32,
    pub group_id: i64,
    pub name: String,
    pub data_type: DataType,
    pub max_length: u32,
    pub position: i64,
}

impl Field {
    pub fn to_json(&self) -> Value {
        json!({
            "segmentationFieldId": self.id,
            "segmentationFieldName": self.name,
            "segmentationFieldGroupId": self.group_id,
            "dataType": self.data_type.as_str(),
            "maxLength": self.max_length,
            "position": self.position,
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubscriptionState {
    Subscribed,
    Unsubscribed,
}

impl SubscriptionState {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "Subscribed" => Some(Self::Subscribed),
            "Unsubscribed" => Some(Self::Unsubscribed),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Subscribed => "Subscribed",
            Self::Unsubscribed => "Unsubscribed",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Contact {
    pub email: Box<str>,
    pub external_id: Option<Box<str>>,
    pub state: SubscriptionState,
    pub subscribed: NaiveDateTime,
    pub resubscribed: Option<NaiveDateTime>,
    pub unsubscribed: Option<NaiveDateTime>,
    pub unsubscribe_method: Option<&'static str>,
    pub values: FieldValues,
}

impl Contact {
    pub fn new(email: &str, state: SubscriptionState, at: NaiveDateTime) -> Self {
        let unsubscribed = (state == SubscriptionState::Unsubscribed).then_some(at);
        Self {
            email: email.into(),
            external_id: None,
            state,
            subscribed: at,
            resubscribed: None,
            unsubscribed,
            unsubscribe_method: unsubscribed.map(|_| "Administrator"),
            values: FieldValues::default(),
        }
    }

    pub fn unsubscribe(&mut self, at: NaiveDateTime, method: &'static str) {
        if self.state != SubscriptionState::Unsubscribed {
            self.state = SubscriptionState::Unsubscribed;
            self.unsubscribed = Some(at);
            self.unsubscribe_method = Some(method);
        }
    }

    pub fn resubscribe(&mut self, at: NaiveDateTime) {
        if self.state == SubscriptionState::Unsubscribed {
            self.state = SubscriptionState::Subscribed;
            self.resubscribed = Some(at);
            self.unsubscribed = None;
            self.unsubscribe_method = None;
        }
    }

    /// Listrak's opaque per-list email key (26 upper-case hex characters), stable for an address.
    pub fn email_key(list_id: i64, email: &str) -> String {
        use sha2::Digest;
        let digest = sha2::Sha256::digest(format!("{list_id}:{}", email.to_ascii_lowercase()));
        hex::encode_upper(digest)[..26].to_owned()
    }

    pub fn universal_email_key(email: &str) -> String {
        use sha2::Digest;
        hex::encode(sha2::Sha256::digest(email.trim().to_ascii_lowercase()))
    }

    /// The Listrak `Contact` resource; `field_ids` picks which values come back (none by default).
    pub fn to_json(&self, list_id: i64, field_ids: &[u32], fields: &BTreeMap<u32, Field>) -> Value {
        let values: Vec<Value> = field_ids
            .iter()
            .map(|id| {
                json!({
                    "segmentationFieldGroupId": fields.get(id).map_or(0, |f| f.group_id),
                    "segmentationFieldId": id,
                    "value": self.values.get(*id).unwrap_or(""),
                })
            })
            .collect();
        json!({
            "emailAddress": &*self.email,
            "emailKey": Self::email_key(list_id, &self.email),
            "universalEmailKey": Self::universal_email_key(&self.email),
            "subscriptionState": self.state.as_str(),
            "subscribeDate": listrak_time(self.subscribed),
            "resubscribeDate": self.resubscribed.map(listrak_time),
            "subscribeMethod": "API",
            "unsubscribeDate": self.unsubscribed.map(listrak_time),
            "unsubscribeMethod": self.unsubscribe_method,
            "externalContactID": self.external_id.as_deref(),
            "segmentationFieldValues": values,
        })
    }
}

/// One raised event, as the control surface reports it. Compact: names are shared, values are one buffer.
#[derive(Debug, Clone)]
pub struct Raised {
    pub list_id: i64,
    pub event_id: i64,
    pub event_name: Arc<str>,
    pub email: Box<str>,
    pub values: FieldValues,
    pub at: NaiveDateTime,
    /// `api` for a contact upsert, `import` for a list import.
    pub source: &'static str,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImportState {
    Queued,
    Processing,
    Completed,
    Failed,
}

impl ImportState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "Queued",
            Self::Processing => "Processing",
            Self::Completed => "Completed",
            Self::Failed => "Failed",
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct ImportCounts {
    pub processed: u64,
    pub subscribed: u64,
    pub already_subscribed: u64,
    pub previously_unsubscribed: u64,
    pub unsubscribed: u64,
    pub already_unsubscribed: u64,
    pub invalid_email: u64,
    pub skipped: u64,
    pub updated: u64,
    pub events_raised: u64,
}

#[derive(Debug, Clone)]
pub struct Import {
    pub id: i64,
    pub list_id: i64,
    pub file_name: String,
    pub created: NaiveDateTime,
    pub started: Option<NaiveDateTime>,
    pub ended: Option<NaiveDateTime>,
    pub state: ImportState,
    pub counts: ImportCounts,
    pub failure: Option<String>,
}

impl Import {
    pub fn status_json(&self) -> Value {
        json!({
            "startDate": self.started.map(listrak_time),
            "endDate": self.ended.map(listrak_time),
            "status": self.state.as_str(),
        })
    }

    pub fn summary_json(&self) -> Value {
        let c = &self.counts;
        json!({
            "alreadySubscribedCount": c.already_subscribed,
            "alreadyUnsubscribedCount": c.already_unsubscribed,
            "bannedCount": 0,
            "invalidEmailCount": c.invalid_email,
            "previouslyUnsubscribedCount": c.previously_unsubscribed,
            "processedCount": c.processed,
            "skippedCount": c.skipped,
            "subscribedCount": c.subscribed,
            "suppressedCount": 0,
            "unsubscribedCount": c.unsubscribed,
        })
    }

    pub fn to_json(&self) -> Value {
        json!({
            "importFileId": self.id,
            "importFileName": self.file_name,
            "importDate": listrak_time(self.created),
        })
    }
}
