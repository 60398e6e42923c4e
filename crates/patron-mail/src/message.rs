//! The MIME message: multipart/alternative (text, then HTML) with Message-ID, Date, From, Reply-To, To,
//! a UTF-8-safe Subject and one-click `List-Unsubscribe` headers, plus the SMTP envelope to send it with.

use crate::render::RenderedMail;
use lettre::message::header::{HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart};
use lettre::{Address, Message};
use std::fmt;

/// Who the mail is from and to, and the headers that are not part of the template.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Envelope {
    /// `Acme Rewards <rewards@acme.example>` or a bare address.
    pub from: String,
    /// Where replies go, in the same forms as `from`.
    pub reply_to: Option<String>,
    /// The recipient's address.
    pub to: String,
    /// The recipient's display name (UTF-8 is fine).
    pub to_name: Option<String>,
    /// An `https:` (or `mailto:`) link that unsubscribes this recipient in one click (RFC 8058).
    pub unsubscribe_url: Option<String>,
    /// The domain after `@` in the Message-ID, normally the sending domain.
    pub message_id_domain: String,
    /// A stable id (the outbox delivery id) so a retried delivery keeps its Message-ID; random when `None`.
    pub delivery_id: Option<String>,
}

/// A message ready to send: its raw RFC 5322 bytes and the SMTP envelope.
#[derive(Clone)]
pub struct MailMessage {
    message_id: String,
    raw: Vec<u8>,
    envelope: lettre::address::Envelope,
}

impl MailMessage {
    /// The Message-ID header value, with angle brackets: `<patron.…@domain>`.
    pub fn message_id(&self) -> &str {
        &self.message_id
    }

    /// The complete message as written to an `.eml` file or sent after SMTP `DATA`.
    pub fn raw(&self) -> &[u8] {
        &self.raw
    }

    /// The envelope recipient.
    pub fn recipient(&self) -> String {
        self.envelope
            .to()
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    }

    pub(crate) fn envelope(&self) -> &lettre::address::Envelope {
        &self.envelope
    }
}

impl fmt::Debug for MailMessage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MailMessage")
            .field("message_id", &self.message_id)
            .field("recipient", &self.recipient())
            .field("bytes", &self.raw.len())
            .finish()
    }
}

/// A message that cannot be built from its envelope: a configuration or data problem, never worth a retry.
#[derive(Debug, thiserror::Error)]
pub enum MessageError {
    #[error("invalid {field} address {value:?}: {source}")]
    InvalidAddress {
        field: &'static str,
        value: String,
        #[source]
        source: lettre::address::AddressError,
    },
    #[error("invalid unsubscribe URL: {reason}")]
    InvalidUnsubscribeUrl { reason: &'static str },
    #[error("invalid Message-ID domain {0:?}: expected a host name such as mail.example.com")]
    InvalidMessageIdDomain(String),
    #[error("the message could not be assembled: {0}")]
    Build(#[source] lettre::error::Error),
}

const LIST_UNSUBSCRIBE: HeaderName = HeaderName::new_from_ascii_str("List-Unsubscribe");
const LIST_UNSUBSCRIBE_POST: HeaderName = HeaderName::new_from_ascii_str("List-Unsubscribe-Post");
const CONTENT_LANGUAGE: HeaderName = HeaderName::new_from_ascii_str("Content-Language");

/// Builds the MIME message for one recipient.
pub fn build_message(
    mail: &RenderedMail,
    envelope: &Envelope,
) -> Result<MailMessage, MessageError> {
    let from = mailbox("from", &envelope.from)?;
    let to_address: Address =
        envelope
            .to
            .trim()
            .parse()
            .map_err(|source| MessageError::InvalidAddress {
                field: "to",
                value: envelope.to.clone(),
                source,
            })?;
    let to_name = envelope
        .to_name
        .as_deref()
        .map(str::trim)
        .filter(|n| !n.is_empty());
    let to = Mailbox::new(to_name.map(str::to_owned), to_address);
    let message_id = message_id(envelope)?;

    let mut builder = Message::builder()
        .message_id(Some(message_id.clone()))
        .date_now()
        .from(from)
        .to(to)
        .subject(mail.subject.as_str());
    if let Some(reply_to) = envelope
        .reply_to
        .as_deref()
        .filter(|r| !r.trim().is_empty())
    {
        builder = builder.reply_to(mailbox("reply_to", reply_to)?);
    }
    if let Some(url) = &envelope.unsubscribe_url {
        check_unsubscribe_url(url)?;
        builder = builder
            .raw_header(HeaderValue::new(LIST_UNSUBSCRIBE, format!("<{url}>")))
            .raw_header(HeaderValue::new(
                LIST_UNSUBSCRIBE_POST,
                "List-Unsubscribe=One-Click".to_owned(),
            ));
    }
    if is_language_tag(&mail.language) {
        builder = builder.raw_header(HeaderValue::new(CONTENT_LANGUAGE, mail.language.clone()));
    }
    let message = builder
        .multipart(MultiPart::alternative_plain_html(
            mail.text.clone(),
            mail.html.clone(),
        ))
        .map_err(MessageError::Build)?;
    Ok(MailMessage {
        message_id,
        raw: message.formatted(),
        envelope: message.envelope().clone(),
    })
}

fn mailbox(field: &'static str, value: &str) -> Result<Mailbox, MessageError> {
    value
        .trim()
        .parse()
        .map_err(|source| MessageError::InvalidAddress {
            field,
            value: value.to_owned(),
            source,
        })
}

fn message_id(envelope: &Envelope) -> Result<String, MessageError> {
    let domain = envelope.message_id_domain.trim();
    let valid_domain = !domain.is_empty()
        && domain.len() <= 253
        && domain
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-');
    if !valid_domain {
        return Err(MessageError::InvalidMessageIdDomain(
            envelope.message_id_domain.clone(),
        ));
    }
    let local: String = match &envelope.delivery_id {
        Some(id) => id
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
            .take(64)
            .collect(),
        None => String::new(),
    };
    let local = if local.is_empty() {
        uuid::Uuid::new_v4().simple().to_string()
    } else {
        local
    };
    Ok(format!("<patron.{local}@{domain}>"))
}

/// The URL goes inside a header verbatim, so it must be a plain ASCII link: no spaces, brackets or line breaks.
fn check_unsubscribe_url(url: &str) -> Result<(), MessageError> {
    let lowered = url.to_ascii_lowercase();
    if !(lowered.starts_with("https://")
        || lowered.starts_with("http://")
        || lowered.starts_with("mailto:"))
    {
        return Err(MessageError::InvalidUnsubscribeUrl {
            reason: "it must start with https://, http:// or mailto:",
        });
    }
    if !url
        .chars()
        .all(|c| c.is_ascii_graphic() && c != '<' && c != '>')
    {
        return Err(MessageError::InvalidUnsubscribeUrl {
            reason: "it must be ASCII without spaces or angle brackets (percent-encode them)",
        });
    }
    Ok(())
}

fn is_language_tag(tag: &str) -> bool {
    !tag.is_empty() && tag.len() <= 35 && tag.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
}
