//! Sending a [`MailMessage`]: to an `.eml` folder (the default on a fresh install) or over SMTP, with every
//! failure classified as temporary (retry later) or permanent (dead-letter), carrying the server's reply.

mod config;
mod folder;
mod smtp;

pub use config::{MailConfigError, SmtpConfig, TlsMode};

use crate::message::MailMessage;
use folder::FolderTransport;
use secrecy::{ExposeSecret, SecretString};
use smtp::SmtpTransport;
use std::fmt;
use std::path::{Path, PathBuf};

type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Where native mail goes.
#[derive(Debug, Clone)]
pub enum MailTransport {
    /// Each message becomes `<timestamp>-<message-id>.eml` in this folder (created on first use).
    Folder(FolderTransport),
    /// An SMTP server, with a pool of reused connections.
    Smtp(SmtpTransport),
}

impl MailTransport {
    /// SMTP when `smtp_url` is set (`PATRON_SMTP_URL`), else the `.eml` folder `mail_dir` (`PATRON_MAIL_DIR`).
    pub fn from_settings(
        smtp_url: Option<&SecretString>,
        mail_dir: &Path,
    ) -> Result<Self, MailConfigError> {
        match smtp_url
            .map(ExposeSecret::expose_secret)
            .filter(|url| !url.trim().is_empty())
        {
            Some(url) => Self::smtp(&SmtpConfig::parse(url)?),
            None => Ok(Self::folder(mail_dir)),
        }
    }

    pub fn folder(dir: impl Into<PathBuf>) -> Self {
        MailTransport::Folder(FolderTransport::new(dir.into()))
    }

    pub fn smtp(config: &SmtpConfig) -> Result<Self, MailConfigError> {
        Ok(MailTransport::Smtp(SmtpTransport::new(config)?))
    }

    /// Sends one message. Retrying is the caller's job: on `Err`, check [`SendError::is_retryable`].
    pub async fn send(&self, message: &MailMessage) -> Result<SendReceipt, SendError> {
        let result = match self {
            MailTransport::Folder(folder) => folder.send(message).await,
            MailTransport::Smtp(smtp) => smtp.send(message).await,
        };
        match &result {
            Ok(receipt) => {
                tracing::debug!(message_id = message.message_id(), %receipt, "mail sent")
            }
            Err(err) => {
                tracing::warn!(message_id = message.message_id(), error = %err, "mail not sent")
            }
        }
        result
    }

    /// Checks the transport can be used (the folder is writable, the SMTP server answers), for a health or
    /// "test settings" action.
    pub async fn check(&self) -> Result<(), SendError> {
        match self {
            MailTransport::Folder(folder) => folder.check().await,
            MailTransport::Smtp(smtp) => smtp.check().await,
        }
    }

    /// Closes pooled SMTP connections; call on shutdown.
    pub async fn shutdown(&self) {
        if let MailTransport::Smtp(smtp) = self {
            smtp.shutdown().await;
        }
    }
}

/// A description without secrets, for logs: `folder mail/` or `smtp://user@host:587 (starttls)`.
impl fmt::Display for MailTransport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MailTransport::Folder(folder) => write!(f, "folder {}", folder.dir().display()),
            MailTransport::Smtp(smtp) => write!(f, "{}", smtp.config()),
        }
    }
}

/// What the transport did with an accepted message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendReceipt {
    /// Written to this `.eml` file.
    Written { path: PathBuf },
    /// Accepted by the SMTP server with this reply (e.g. `250 2.0.0 Ok: queued as 4F2A1`).
    Accepted { reply: SmtpReply },
}

impl fmt::Display for SendReceipt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SendReceipt::Written { path } => write!(f, "written to {}", path.display()),
            SendReceipt::Accepted { reply } => write!(f, "accepted: {reply}"),
        }
    }
}

/// An SMTP server's reply: its code and text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmtpReply {
    pub code: u16,
    pub message: String,
}

impl fmt::Display for SmtpReply {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.message.is_empty() {
            write!(f, "{}", self.code)
        } else {
            write!(f, "{} {}", self.code, self.message)
        }
    }
}

/// A message that was not delivered, classified for the retry policy.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// Worth retrying later: a 4xx reply, a connection failure, a timeout, a full disk.
    #[error("temporary mail failure: {detail}")]
    Temporary {
        /// The server's reply, when it answered.
        reply: Option<SmtpReply>,
        detail: String,
        #[source]
        source: Option<BoxError>,
    },
    /// Will fail the same way again: a 5xx reply (unknown mailbox, message refused, …).
    #[error("permanent mail failure: {detail}")]
    Permanent {
        reply: Option<SmtpReply>,
        detail: String,
        #[source]
        source: Option<BoxError>,
    },
}

impl SendError {
    pub fn is_retryable(&self) -> bool {
        matches!(self, SendError::Temporary { .. })
    }

    /// The server's reply, when there was one.
    pub fn reply(&self) -> Option<&SmtpReply> {
        match self {
            SendError::Temporary { reply, .. } | SendError::Permanent { reply, .. } => {
                reply.as_ref()
            }
        }
    }

    /// A one-line reason for the delivery's attempt log or dead-letter entry, e.g. `550 5.1.1 No such user`.
    pub fn reason(&self) -> String {
        match self {
            SendError::Temporary { detail, .. } | SendError::Permanent { detail, .. } => {
                detail.clone()
            }
        }
    }

    pub(crate) fn temporary(detail: impl Into<String>, source: impl Into<BoxError>) -> Self {
        SendError::Temporary {
            reply: None,
            detail: detail.into(),
            source: Some(source.into()),
        }
    }
}
