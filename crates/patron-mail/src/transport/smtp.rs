//! SMTP through lettre's pooled async transport: connections are reused, every command has a timeout, and
//! lettre's errors are classified (5xx reply → permanent; 4xx reply, network, TLS, timeout → temporary).

use super::config::{MailConfigError, SmtpConfig, TlsMode};
use super::{SendError, SendReceipt, SmtpReply};
use crate::message::MailMessage;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::transport::smtp::{PoolConfig, response::Response};
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use secrecy::ExposeSecret;
use std::error::Error as _;
use std::fmt;
use std::time::Duration;

/// Connections idle longer than this are closed by the pool.
const IDLE_TIMEOUT: Duration = Duration::from_secs(60);

#[derive(Clone)]
pub struct SmtpTransport {
    config: SmtpConfig,
    inner: AsyncSmtpTransport<Tokio1Executor>,
}

impl SmtpTransport {
    pub(super) fn new(config: &SmtpConfig) -> Result<Self, MailConfigError> {
        // lettre's pool spawns its housekeeping task here, and would panic outside a runtime.
        if tokio::runtime::Handle::try_current().is_err() {
            return Err(MailConfigError::NoRuntime);
        }
        let tls = match config.tls {
            TlsMode::None => Tls::None,
            TlsMode::StartTls => Tls::Required(tls_parameters(&config.host)?),
            TlsMode::Implicit => Tls::Wrapper(tls_parameters(&config.host)?),
        };
        let mut builder =
            AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(config.host.as_str())
                .port(config.port)
                .tls(tls)
                .timeout(Some(config.timeout))
                .pool_config(
                    PoolConfig::new()
                        .max_size(config.pool_size)
                        .idle_timeout(IDLE_TIMEOUT),
                );
        if let Some((user, password)) = &config.credentials {
            builder = builder.credentials(Credentials::new(
                user.clone(),
                password.expose_secret().to_owned(),
            ));
        }
        Ok(SmtpTransport {
            config: config.clone(),
            inner: builder.build(),
        })
    }

    pub(super) fn config(&self) -> &SmtpConfig {
        &self.config
    }

    pub(super) async fn send(&self, message: &MailMessage) -> Result<SendReceipt, SendError> {
        match self.inner.send_raw(message.envelope(), message.raw()).await {
            Ok(response) => Ok(SendReceipt::Accepted {
                reply: reply_of(&response),
            }),
            Err(err) => Err(classify(err)),
        }
    }

    pub(super) async fn check(&self) -> Result<(), SendError> {
        match self.inner.test_connection().await {
            Ok(true) => Ok(()),
            Ok(false) => Err(SendError::Temporary {
                reply: None,
                detail: format!("{} did not answer NOOP", self.config),
                source: None,
            }),
            Err(err) => Err(classify(err)),
        }
    }

    pub(super) async fn shutdown(&self) {
        self.inner.shutdown().await;
    }
}

/// lettre's `Debug` would show the credentials; show the redacted config instead.
impl fmt::Debug for SmtpTransport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmtpTransport")
            .field("config", &self.config)
            .finish()
    }
}

fn tls_parameters(host: &str) -> Result<TlsParameters, MailConfigError> {
    TlsParameters::new(host.to_owned()).map_err(MailConfigError::Tls)
}

fn reply_of(response: &Response) -> SmtpReply {
    SmtpReply {
        code: response.code().into(),
        message: response.message().collect::<Vec<_>>().join(" "),
    }
}

/// Only a 5xx reply is final; anything else may work on a later attempt.
fn classify(err: lettre::transport::smtp::Error) -> SendError {
    let Some(code) = err.status() else {
        let detail = if err.is_timeout() {
            format!("timed out: {err}")
        } else {
            err.to_string()
        };
        return SendError::Temporary {
            reply: None,
            detail,
            source: Some(Box::new(err)),
        };
    };
    // For 4xx/5xx errors lettre keeps the reply text as the error's source.
    let message = err.source().map(ToString::to_string).unwrap_or_default();
    let reply = SmtpReply {
        code: code.into(),
        message,
    };
    let detail = reply.to_string();
    if err.is_permanent() {
        SendError::Permanent {
            reply: Some(reply),
            detail,
            source: Some(Box::new(err)),
        }
    } else {
        SendError::Temporary {
            reply: Some(reply),
            detail,
            source: Some(Box::new(err)),
        }
    }
}
