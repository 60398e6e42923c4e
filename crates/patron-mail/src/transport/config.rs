//! The SMTP settings, parsed from `PATRON_SMTP_URL`:
//! `smtp://[user:pass@]host[:port][?tls=starttls|tls|none&timeout_ms=…&pool_size=…]`, or `smtps://…` for
//! implicit TLS. The password is a secret: it never appears in `Debug`, `Display` or an error.

use secrecy::SecretString;
use std::fmt;
use std::time::Duration;
use url::Url;

const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
const DEFAULT_POOL_SIZE: u32 = 4;

/// How the SMTP connection is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsMode {
    /// Plain connection upgraded with STARTTLS, which is required (default for `smtp://`, port 587).
    StartTls,
    /// TLS from the first byte (`smtps://` or `tls=tls`, port 465).
    Implicit,
    /// No encryption at all (`tls=none`, port 25): only for a relay on the same host or tests.
    None,
}

impl TlsMode {
    fn as_str(self) -> &'static str {
        match self {
            TlsMode::StartTls => "starttls",
            TlsMode::Implicit => "tls",
            TlsMode::None => "none",
        }
    }

    fn default_port(self) -> u16 {
        match self {
            TlsMode::StartTls => 587,
            TlsMode::Implicit => 465,
            TlsMode::None => 25,
        }
    }
}

/// Parsed SMTP settings.
#[derive(Debug, Clone)]
pub struct SmtpConfig {
    pub host: String,
    pub port: u16,
    pub tls: TlsMode,
    /// User name and password, when the server requires authentication.
    pub credentials: Option<(String, SecretString)>,
    /// Limit on connecting and on each SMTP command.
    pub timeout: Duration,
    /// Connections kept open for reuse.
    pub pool_size: u32,
}

/// A `PATRON_SMTP_URL` that cannot be used. Messages name the offending part, never the password.
#[derive(Debug, thiserror::Error)]
pub enum MailConfigError {
    #[error(
        "PATRON_SMTP_URL is not a valid URL ({0}); expected smtp://[user:pass@]host[:port][?tls=starttls|tls|none]"
    )]
    InvalidUrl(#[source] url::ParseError),
    #[error("PATRON_SMTP_URL must start with smtp:// or smtps://, not {0}://")]
    UnsupportedScheme(String),
    #[error("PATRON_SMTP_URL has no host name")]
    MissingHost,
    #[error("PATRON_SMTP_URL has a user name but no password (write smtp://user:password@host)")]
    MissingPassword,
    #[error("PATRON_SMTP_URL must not have a path (got {0:?})")]
    UnexpectedPath(String),
    #[error("PATRON_SMTP_URL parameter tls={0:?} is not one of starttls, tls, none")]
    InvalidTls(String),
    #[error(
        "PATRON_SMTP_URL uses smtps://, which is always implicit TLS: drop tls={0} or use smtp://"
    )]
    ConflictingTls(String),
    #[error("PATRON_SMTP_URL parameter {name}={value:?} is invalid: {reason}")]
    InvalidParameter {
        name: &'static str,
        value: String,
        reason: &'static str,
    },
    #[error("PATRON_SMTP_URL has an unknown parameter {0:?} (known: tls, timeout_ms, pool_size)")]
    UnknownParameter(String),
    #[error("the user name or password in PATRON_SMTP_URL is not valid percent-encoded UTF-8")]
    InvalidEncoding,
    #[error(
        "the SMTP transport must be created inside a Tokio runtime (it keeps a pool of connections)"
    )]
    NoRuntime,
    #[error("TLS cannot be set up for the SMTP host: {0}")]
    Tls(#[source] lettre::transport::smtp::Error),
}

impl SmtpConfig {
    /// Parses an SMTP URL. Special characters in the user name or password must be percent-encoded
    /// (`@` → `%40`, `:` → `%3A`, `/` → `%2F`).
    pub fn parse(input: &str) -> Result<Self, MailConfigError> {
        let url = Url::parse(input.trim()).map_err(MailConfigError::InvalidUrl)?;
        let implicit = match url.scheme() {
            "smtp" => false,
            "smtps" => true,
            other => return Err(MailConfigError::UnsupportedScheme(other.to_owned())),
        };
        let host = url
            .host_str()
            .map(|h| h.trim_start_matches('[').trim_end_matches(']'))
            .filter(|h| !h.is_empty())
            .ok_or(MailConfigError::MissingHost)?
            .to_owned();
        if !matches!(url.path(), "" | "/") {
            return Err(MailConfigError::UnexpectedPath(url.path().to_owned()));
        }
        let credentials = credentials(&url)?;

        let mut tls = if implicit {
            TlsMode::Implicit
        } else {
            TlsMode::StartTls
        };
        let mut timeout = DEFAULT_TIMEOUT;
        let mut pool_size = DEFAULT_POOL_SIZE;
        for (name, value) in url.query_pairs() {
            match name.as_ref() {
                "tls" => {
                    let mode = match value.as_ref() {
                        "starttls" => TlsMode::StartTls,
                        "tls" => TlsMode::Implicit,
                        "none" => TlsMode::None,
                        _ => return Err(MailConfigError::InvalidTls(value.into_owned())),
                    };
                    if implicit && mode != TlsMode::Implicit {
                        return Err(MailConfigError::ConflictingTls(value.into_owned()));
                    }
                    tls = mode;
                }
                "timeout_ms" => {
                    let ms = number(
                        &value,
                        "timeout_ms",
                        "a number of milliseconds between 1 and 600000",
                    )?;
                    if !(1..=600_000).contains(&ms) {
                        return Err(invalid(
                            "timeout_ms",
                            &value,
                            "a number of milliseconds between 1 and 600000",
                        ));
                    }
                    timeout = Duration::from_millis(ms);
                }
                "pool_size" => {
                    let size = number(
                        &value,
                        "pool_size",
                        "a number of connections between 1 and 100",
                    )?;
                    pool_size = u32::try_from(size)
                        .ok()
                        .filter(|s| (1..=100).contains(s))
                        .ok_or_else(|| {
                            invalid(
                                "pool_size",
                                &value,
                                "a number of connections between 1 and 100",
                            )
                        })?;
                }
                other => return Err(MailConfigError::UnknownParameter(other.to_owned())),
            }
        }
        Ok(SmtpConfig {
            port: url.port().unwrap_or(tls.default_port()),
            host,
            tls,
            credentials,
            timeout,
            pool_size,
        })
    }
}

fn credentials(url: &Url) -> Result<Option<(String, SecretString)>, MailConfigError> {
    if url.username().is_empty() {
        return match url.password() {
            Some(_) => Err(MailConfigError::InvalidEncoding),
            None => Ok(None),
        };
    }
    let user = percent_decode(url.username())?;
    let password = url.password().ok_or(MailConfigError::MissingPassword)?;
    let password = percent_decode(password)?;
    Ok(Some((user, SecretString::from(password))))
}

fn percent_decode(input: &str) -> Result<String, MailConfigError> {
    let bytes = input.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes
                .get(i + 1..i + 3)
                .ok_or(MailConfigError::InvalidEncoding)?;
            let hex = std::str::from_utf8(hex).map_err(|_| MailConfigError::InvalidEncoding)?;
            out.push(u8::from_str_radix(hex, 16).map_err(|_| MailConfigError::InvalidEncoding)?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| MailConfigError::InvalidEncoding)
}

fn number(value: &str, name: &'static str, reason: &'static str) -> Result<u64, MailConfigError> {
    value.parse().map_err(|_| invalid(name, value, reason))
}

fn invalid(name: &'static str, value: &str, reason: &'static str) -> MailConfigError {
    MailConfigError::InvalidParameter {
        name,
        value: value.to_owned(),
        reason,
    }
}

/// `smtp://user@host:587?tls=starttls`: the URL without the password.
impl fmt::Display for SmtpConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("smtp://")?;
        if let Some((user, _)) = &self.credentials {
            write!(f, "{user}@")?;
        }
        if self.host.contains(':') {
            write!(f, "[{}]", self.host)?;
        } else {
            f.write_str(&self.host)?;
        }
        write!(f, ":{}?tls={}", self.port, self.tls.as_str())
    }
}
