//! Delivery of recorded notifications: the outbox worker claims due rows with a lease, hands each to
//! its channel (native mail or Listrak) with no database transaction open, and finishes the row with
//! an update fenced on the claim. The channel answers an [`Outcome`]; the retry policy decides.

pub mod listrak;
pub mod native;
pub mod policy;
pub mod worker;

use std::collections::BTreeMap;
use std::time::Duration;

/// A notification claimed for delivery.
#[derive(Debug, Clone)]
pub struct ClaimedDelivery {
    pub id: i64,
    pub program_id: String,
    pub member_id: Option<String>,
    /// `None` for a plain profile update (Listrak only).
    pub event: Option<String>,
    pub email: String,
    /// `native` or `listrak`.
    pub channel: String,
    /// The Listrak list this row goes to (channel `listrak`).
    pub list_id: Option<String>,
    /// Field values by exact Listrak field name.
    pub fields: BTreeMap<String, String>,
    /// Attempts made before this one.
    pub attempts: i64,
}

/// What one attempt came to.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Delivered; `detail` says how (e.g. "201 Created", "250 2.0.0 queued").
    Delivered { detail: String },
    /// Worth another try later.
    Retry {
        reason: String,
        /// A delay the far end asked for (Retry-After).
        retry_after: Option<Duration>,
        /// The request may have reached the far end before the failure (timeout, dropped
        /// connection): a retry could deliver twice. The policy counts these.
        may_have_been_applied: bool,
    },
    /// Will never succeed as is: straight to the dead-letter list with this reason.
    Dead { reason: String },
    /// The channel is unusable for this program (e.g. Listrak credentials paused): hold the
    /// program's deliveries without spending attempts until it is fixed.
    Hold { reason: String },
}
