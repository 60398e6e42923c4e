//! Patron's native email: the channel that carries loyalty notifications until a program connects Listrak.
//!
//! Three steps, each usable on its own:
//! 1. [`render`] turns an event's Listrak fields into a [`RenderedMail`] (subject, HTML, text) from the
//!    embedded default templates or a program's [`TemplateOverrides`];
//! 2. [`build_message`] wraps it in a multipart/alternative MIME [`MailMessage`] for one recipient;
//! 3. a [`MailTransport`] (an `.eml` folder or SMTP) sends it and classifies failures as temporary or permanent.
//!
//! With the `test-sink` feature, the `sink` module offers a scriptable SMTP server for tests.

mod fields;
mod language;
mod message;
mod overrides;
mod render;
mod templates;
mod transport;

#[cfg(feature = "test-sink")]
pub mod sink;

pub use fields::{event_fields, sample_fields, variable_name};
pub use language::language_code;
pub use message::{Envelope, MailMessage, MessageError, build_message};
pub use overrides::{
    EventOverride, MAX_TEMPLATE_BYTES, PartOverrides, TemplateOverrides, TemplateProblem,
    validate_overrides,
};
pub use render::{MailContext, MailError, RenderedMail, render};
pub use templates::{DEFAULT_LANGUAGE, Part, shipped_languages};
pub use transport::{
    MailConfigError, MailTransport, SendError, SendReceipt, SmtpConfig, SmtpReply, TlsMode,
};

pub use patron_domain::catalog::EventKind;
