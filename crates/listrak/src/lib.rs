//! The Listrak Email API v1 client Patron speaks: typed requests and responses for every operation it uses
//! ([`ListrakClient`]), a single-flight token provider, client-side pacing, and failures classified as the
//! contract says ([`Error::class`], [`Error::may_have_been_applied`]). No retries beyond one token refresh:
//! the caller's retry policy decides.

mod client;
mod config;
mod error;
mod pacing;
mod token;
mod transport;
mod types;

pub use client::ListrakClient;
pub use config::{ClientConfig, Credentials};
pub use error::{Error, ErrorClass, class_of_code, class_of_status};
pub use secrecy::SecretString;
pub use types::{
    BounceHandling, Contact, ContactQuery, ContactUpsert, DataType, Event, EventGroup, EventStatus,
    FileColumnType, ImportFile, ImportFileMapping, ImportType, List, ListImportStatus,
    ListImportSummary, NewEvent, NewList, NewSegmentationField, NewSegmentationFieldGroup, Page,
    SegmentationField, SegmentationFieldGroup, SegmentationFieldValue, SubscriptionState,
    UpdateType, UpsertOptions, UpsertOutcome,
};
