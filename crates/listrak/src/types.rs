//! Listrak's resources and request bodies, named as Listrak's Swagger spells them (camelCase,
//! `externalContactID`). Enums read unknown values as `Other` so a new Listrak value never breaks a read.

use serde::{Deserialize, Serialize};

/// `{"status":200,"data":…}`.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Resource<T> {
    pub data: T,
}

/// `{"status":201,"resourceId":"…"}` (also the 200 of an update).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ResourceId {
    pub resource_id: Option<String>,
}

/// One page of a paged collection; pass `next_page_cursor` back as the cursor while it is `Some`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Page<T> {
    pub data: Vec<T>,
    pub next_page_cursor: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum BounceHandling {
    None,
    Standard,
    Aggressive,
    #[serde(other)]
    Other,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct List {
    pub list_id: i64,
    pub list_name: String,
    pub bounce_handling: Option<BounceHandling>,
    pub bounce_unsubscribe_count: Option<i64>,
    /// Listrak's zone-less timestamp, e.g. `2015-08-31T16:02:41.65`.
    pub create_date: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NewList {
    pub list_name: String,
    pub bounce_handling: BounceHandling,
    pub bounce_unsubscribe_count: i64,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EventGroup {
    pub event_group_id: i64,
    pub event_group_name: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum EventStatus {
    Active,
    Blocked,
    #[serde(other)]
    Other,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Event {
    pub event_id: i64,
    pub event_name: String,
    /// 0 when the event is in no group.
    #[serde(default)]
    pub event_group_id: i64,
    pub status: EventStatus,
}

/// The body of event create and update.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NewEvent {
    pub event_name: String,
    pub status: EventStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event_group_id: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SegmentationFieldGroup {
    pub segmentation_field_group_id: i64,
    pub segmentation_field_group_name: String,
    #[serde(default)]
    pub position: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NewSegmentationFieldGroup {
    pub segmentation_field_group_name: String,
    pub position: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum DataType {
    Text,
    Numeric,
    RadioButton,
    CheckBox,
    CommentArea,
    Date,
    ContentBlock,
    #[serde(other)]
    Other,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SegmentationField {
    pub segmentation_field_id: i64,
    pub segmentation_field_name: String,
    #[serde(default)]
    pub segmentation_field_group_id: i64,
    pub data_type: DataType,
    #[serde(default)]
    pub max_length: i64,
    #[serde(default)]
    pub position: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NewSegmentationField {
    pub segmentation_field_name: String,
    pub data_type: DataType,
    pub max_length: i64,
    pub position: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum SubscriptionState {
    Subscribed,
    Unsubscribed,
    #[serde(other)]
    Other,
}

/// One profile field value: always a string (dates `MM/DD/YYYY`, numbers without separators).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SegmentationFieldValue {
    pub segmentation_field_id: i64,
    #[serde(default)]
    pub value: String,
}

impl SegmentationFieldValue {
    pub fn new(segmentation_field_id: i64, value: impl Into<String>) -> Self {
        Self {
            segmentation_field_id,
            value: value.into(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Contact {
    pub email_address: String,
    pub email_key: Option<String>,
    pub subscription_state: Option<SubscriptionState>,
    pub subscribe_date: Option<String>,
    pub resubscribe_date: Option<String>,
    pub unsubscribe_date: Option<String>,
    pub unsubscribe_method: Option<String>,
    #[serde(rename = "externalContactID")]
    pub external_contact_id: Option<String>,
    #[serde(default, deserialize_with = "null_as_empty")]
    pub segmentation_field_values: Vec<SegmentationFieldValue>,
}

fn null_as_empty<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Vec<SegmentationFieldValue>, D::Error> {
    Ok(Option::<Vec<SegmentationFieldValue>>::deserialize(d)?.unwrap_or_default())
}

/// The body of the contact upsert.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ContactUpsert {
    pub email_address: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subscription_state: Option<SubscriptionState>,
    #[serde(rename = "externalContactID", skip_serializing_if = "Option::is_none")]
    pub external_contact_id: Option<String>,
    pub segmentation_field_values: Vec<SegmentationFieldValue>,
}

impl ContactUpsert {
    pub fn new(email_address: impl Into<String>) -> Self {
        Self {
            email_address: email_address.into(),
            subscription_state: None,
            external_contact_id: None,
            segmentation_field_values: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum UpdateType {
    Update,
    Append,
    Overwrite,
}

impl UpdateType {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Update => "Update",
            Self::Append => "Append",
            Self::Overwrite => "Overwrite",
        }
    }
}

/// The upsert's query parameters. Never set `override_unsubscribe` for a person who opted out.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct UpsertOptions {
    /// Events raised by this call (they fire on every call: no idempotency on Listrak's side).
    pub event_ids: Vec<i64>,
    pub override_unsubscribe: bool,
    pub subscribed_by_contact: bool,
    pub send_double_opt_in: bool,
    pub update_type: Option<UpdateType>,
    /// Changes the contact's address (its own call: no events, no values).
    pub new_email_address: Option<String>,
}

/// What a contact upsert did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpsertOutcome {
    /// 201: the contact is new to the list.
    Created,
    /// 200: the contact was already on the list.
    Updated,
}

/// Filters of the contact listing.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ContactQuery {
    pub subscription_state: Option<SubscriptionState>,
    /// Inclusive; on the unsubscribe date when listing unsubscribed contacts. Sent as `YYYY-MM-DDTHH:MM:SS`.
    pub start_date: Option<chrono::NaiveDateTime>,
    pub end_date: Option<chrono::NaiveDateTime>,
    pub external_contact_id: Option<String>,
    pub segmentation_field_ids: Vec<i64>,
    /// `None` for the first page.
    pub cursor: Option<String>,
    /// Page size, 1..=5000 (Listrak's default 1000).
    pub count: Option<u32>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum FileColumnType {
    Email,
    SegmentationField,
    Event,
    #[serde(rename = "ExternalContactID")]
    ExternalContactId,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ImportFileMapping {
    /// 0-based column.
    pub file_column: u32,
    pub file_column_type: FileColumnType,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub segmentation_field_id: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default_value: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum ImportType {
    AddSubscribers,
    AddSubscribersAndSegmentationData,
    RemoveSubscribers,
    UpdateSubscribers,
}

/// The body of a list import; `file_stream` is the Base64 of the file.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ImportFile {
    pub file_delimiter: String,
    pub file_mappings: Vec<ImportFileMapping>,
    pub file_name: String,
    pub file_stream: String,
    pub import_type: ImportType,
    pub segmentation_import_type: UpdateType,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub has_column_names: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text_qualifier: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub suppress_email_notifications: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trigger_journey: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub include_unsubscribed: Option<bool>,
}

/// An import's progress; Listrak does not document the `status` strings.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListImportStatus {
    pub start_date: Option<String>,
    pub end_date: Option<String>,
    pub status: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ListImportSummary {
    pub already_subscribed_count: i64,
    pub already_unsubscribed_count: i64,
    pub banned_count: i64,
    pub invalid_email_count: i64,
    pub previously_unsubscribed_count: i64,
    pub processed_count: i64,
    pub skipped_count: i64,
    pub subscribed_count: i64,
    pub suppressed_count: i64,
    pub unsubscribed_count: i64,
}
