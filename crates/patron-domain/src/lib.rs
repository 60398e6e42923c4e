//! Patron's loyalty rules as pure, total functions over plain types: ids, points, members, the ledger
//! and its lots, tiers, expiry, referrals, win-back, the digest, and the event and field catalog.
//! No I/O and no clock: time is always a parameter.

pub mod catalog;
pub mod digest;
pub mod expiry;
pub mod ledger;
pub mod member;
pub mod profile;
pub mod referral;
pub mod settings;
pub mod tiers;
pub mod values;
pub mod winback;

pub use catalog::{EventKind, FIELDS, FieldSpec, FieldType};
pub use member::{Balances, Member, MemberStatus};
pub use profile::Fields;
pub use settings::ProgramSettings;
pub use values::{Email, ExternalId, Points};
