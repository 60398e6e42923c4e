//! Configuration: the commented defaults embedded from `config/default.toml`, then an optional file,
//! then `PATRON_*` environment variables, then validation with messages that say what to fix.

use anyhow::{Context, Result, bail};
use secrecy::SecretString;
use serde::Deserialize;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

pub const DEFAULT_TOML: &str = include_str!("../../../config/default.toml");

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    database_url: String,
    db_max_connections: u32,
    listen: String,
    admin_token: String,
    secret_key: String,
    listrak_auth_url: String,
    listrak_api_url: String,
    listrak_proxy: String,
    smtp_url: String,
    mail_dir: String,
    retry_base_ms: u64,
    retry_max_ms: u64,
    retry_attempts: u32,
    max_body_bytes: usize,
    delivery_concurrency: u32,
    delivery_lease_ms: u64,
    hold_probe_ms: u64,
    retry_ambiguous: u32,
    public_url: String,
    workers: bool,
    scheduler: bool,
    log: String,
    locales_dir: String,
    rate_limit_window_ms: u64,
    redemption_limit_per_member: u32,
    redemption_limit_per_ip: u32,
    invitation_limit_per_member: u32,
    invitation_limit_per_ip: u32,
    client_ip_header: String,
}

/// Validated settings. Secrets are [`SecretString`]s and never printed.
#[derive(Debug, Clone)]
pub struct Settings {
    pub database_url: String,
    pub db_max_connections: u32,
    pub listen: SocketAddr,
    pub admin_token: Option<SecretString>,
    pub secret_key: Option<SecretString>,
    pub listrak_auth_url: String,
    pub listrak_api_url: String,
    pub listrak_proxy: Option<String>,
    pub smtp_url: Option<SecretString>,
    pub mail_dir: PathBuf,
    pub retry_base_ms: u64,
    pub retry_max_ms: u64,
    pub retry_attempts: u32,
    pub max_body_bytes: usize,
    pub delivery_concurrency: usize,
    pub delivery_lease_ms: u64,
    pub hold_probe_ms: u64,
    pub retry_ambiguous: u32,
    pub public_url: String,
    pub workers: bool,
    pub scheduler: bool,
    pub log: String,
    /// Where drop-in translations live (`dashboard/<language>.json`).
    pub locales_dir: Option<PathBuf>,
    pub member_limits: MemberLimits,
    /// A header set by a trusted reverse proxy that carries the client's address.
    pub client_ip_header: Option<axum::http::HeaderName>,
}

/// How many redemptions and friend invitations one member, and one client address, may make per
/// window (per program, in each instance); 0 lifts a limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemberLimits {
    pub window: std::time::Duration,
    pub redemptions_per_member: u32,
    pub redemptions_per_ip: u32,
    pub invitations_per_member: u32,
    pub invitations_per_ip: u32,
}

impl Settings {
    /// Loads defaults, then `file` if given, then the environment.
    pub fn load(file: Option<&Path>) -> Result<Settings> {
        Self::load_from(file, |k| std::env::var(k).ok())
    }

    pub fn load_from(
        file: Option<&Path>,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Settings> {
        let mut table: toml::Table = DEFAULT_TOML
            .parse()
            .context("the built-in defaults do not parse")?;
        if let Some(path) = file {
            let text = std::fs::read_to_string(path).with_context(|| {
                format!("cannot read the configuration file {}", path.display())
            })?;
            let overrides: toml::Table = text
                .parse()
                .with_context(|| format!("{} is not valid TOML", path.display()))?;
            for (key, value) in overrides {
                if !table.contains_key(&key) {
                    bail!(
                        "{}: unknown setting `{key}` (see `patron config` for the list)",
                        path.display()
                    );
                }
                table.insert(key, value);
            }
        }
        let keys: Vec<String> = table.keys().cloned().collect();
        for key in keys {
            let var = format!("PATRON_{}", key.to_uppercase());
            let Some(text) = env(&var) else { continue };
            let value = match table.get(&key) {
                Some(toml::Value::Integer(_)) => toml::Value::Integer(
                    text.trim()
                        .parse()
                        .with_context(|| format!("{var} must be a whole number, not `{text}`"))?,
                ),
                Some(toml::Value::Boolean(_)) => toml::Value::Boolean(match text.trim() {
                    "1" | "true" | "yes" | "on" => true,
                    "0" | "false" | "no" | "off" => false,
                    _ => bail!("{var} must be true or false, not `{text}`"),
                }),
                _ => toml::Value::String(text),
            };
            table.insert(key, value);
        }
        let raw: Raw = toml::Value::Table(table)
            .try_into()
            .context("invalid configuration")?;
        raw.validate()
    }
}

fn non_empty(s: String) -> Option<String> {
    if s.trim().is_empty() { None } else { Some(s) }
}

impl Raw {
    fn validate(self) -> Result<Settings> {
        let listen: SocketAddr = self.listen.parse().with_context(|| {
            format!(
                "listen: `{}` is not an address like 127.0.0.1:8080",
                self.listen
            )
        })?;
        patron_store::Backend::from_url(&self.database_url)
            .map_err(|e| anyhow::anyhow!("database_url: {e}"))?;
        if let Some(key) = non_empty(self.secret_key.clone()) {
            crate::crypto::SecretKey::from_hex(&key)
                .context("secret_key (PATRON_SECRET_KEY) must be 64 hex characters; generate one with `openssl rand -hex 32`")?;
        }
        for (name, url) in [
            ("listrak_auth_url", &self.listrak_auth_url),
            ("listrak_api_url", &self.listrak_api_url),
        ] {
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                bail!("{name}: `{url}` must be an http(s) URL");
            }
        }
        if self.retry_attempts == 0
            || self.retry_base_ms == 0
            || self.retry_max_ms < self.retry_base_ms
        {
            bail!(
                "retry settings: retry_attempts and retry_base_ms must be at least 1, and retry_max_ms at least retry_base_ms"
            );
        }
        if self.max_body_bytes < 1024 {
            bail!("max_body_bytes must be at least 1024");
        }
        if self.rate_limit_window_ms == 0 {
            bail!("rate_limit_window_ms must be at least 1");
        }
        let client_ip_header = non_empty(self.client_ip_header)
            .map(|h| {
                axum::http::HeaderName::try_from(h.trim()).with_context(|| {
                    format!("client_ip_header: `{h}` is not a header name, e.g. X-Forwarded-For")
                })
            })
            .transpose()?;
        let mail_dir = match non_empty(self.mail_dir) {
            Some(dir) => PathBuf::from(dir),
            None => sqlite_dir(&self.database_url).join("mail"),
        };
        Ok(Settings {
            database_url: self.database_url,
            db_max_connections: self.db_max_connections.max(1),
            listen,
            admin_token: non_empty(self.admin_token).map(SecretString::from),
            secret_key: non_empty(self.secret_key).map(SecretString::from),
            listrak_auth_url: self.listrak_auth_url.trim_end_matches('/').to_string(),
            listrak_api_url: self.listrak_api_url.trim_end_matches('/').to_string(),
            listrak_proxy: non_empty(self.listrak_proxy),
            smtp_url: non_empty(self.smtp_url).map(SecretString::from),
            mail_dir,
            retry_base_ms: self.retry_base_ms,
            retry_max_ms: self.retry_max_ms,
            retry_attempts: self.retry_attempts,
            max_body_bytes: self.max_body_bytes,
            delivery_concurrency: self.delivery_concurrency.clamp(1, 1024) as usize,
            delivery_lease_ms: self.delivery_lease_ms.max(1000),
            hold_probe_ms: self.hold_probe_ms.max(100),
            retry_ambiguous: self.retry_ambiguous,
            public_url: non_empty(self.public_url)
                .map(|u| u.trim_end_matches('/').to_string())
                .unwrap_or_else(|| format!("http://{listen}")),
            workers: self.workers,
            scheduler: self.scheduler,
            log: self.log,
            locales_dir: non_empty(self.locales_dir).map(PathBuf::from),
            member_limits: MemberLimits {
                window: std::time::Duration::from_millis(self.rate_limit_window_ms),
                redemptions_per_member: self.redemption_limit_per_member,
                redemptions_per_ip: self.redemption_limit_per_ip,
                invitations_per_member: self.invitation_limit_per_member,
                invitations_per_ip: self.invitation_limit_per_ip,
            },
            client_ip_header,
        })
    }
}

/// The folder holding the SQLite file (the working directory otherwise): where `mail/` and
/// `patron.key` go by default.
pub fn sqlite_dir(database_url: &str) -> PathBuf {
    database_url
        .strip_prefix("sqlite://")
        .or_else(|| database_url.strip_prefix("sqlite:"))
        .map(|rest| rest.split('?').next().unwrap_or_default())
        .and_then(|file| Path::new(file).parent().map(Path::to_path_buf))
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or_else(|| PathBuf::from("."))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(vars: &[(&str, &str)]) -> Result<Settings> {
        let vars: Vec<(String, String)> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Settings::load_from(None, move |k| {
            vars.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone())
        })
    }

    #[test]
    fn defaults_load_and_point_at_a_local_sqlite_file() {
        let s = load(&[]).expect("defaults are valid");
        assert_eq!(s.database_url, "sqlite://patron.db");
        assert_eq!(s.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(s.mail_dir, PathBuf::from("./mail"));
        assert!(s.admin_token.is_none());
    }

    #[test]
    fn environment_variables_override_defaults_with_their_types() {
        let s = load(&[
            ("PATRON_RETRY_ATTEMPTS", "3"),
            ("PATRON_WORKERS", "false"),
            ("PATRON_DATABASE_URL", "sqlite:///var/lib/patron/p.db"),
        ])
        .expect("valid");
        assert_eq!(s.retry_attempts, 3);
        assert!(!s.workers);
        assert_eq!(s.mail_dir, PathBuf::from("/var/lib/patron/mail"));
    }

    #[test]
    fn dashboard_settings_load_with_their_limits_and_are_checked() {
        let s = load(&[
            ("PATRON_RATE_LIMIT_WINDOW_MS", "2000"),
            ("PATRON_INVITATION_LIMIT_PER_IP", "0"),
            ("PATRON_CLIENT_IP_HEADER", "X-Forwarded-For"),
        ])
        .expect("valid");
        assert_eq!(s.member_limits.window, std::time::Duration::from_secs(2));
        assert_eq!(s.member_limits.invitations_per_ip, 0);
        assert_eq!(s.member_limits.redemptions_per_member, 10);
        assert_eq!(
            s.client_ip_header.as_ref().map(|h| h.as_str()),
            Some("x-forwarded-for")
        );
        assert!(s.locales_dir.is_none());
        let err = load(&[("PATRON_CLIENT_IP_HEADER", "not a header")]).expect_err("refused");
        assert!(err.to_string().contains("client_ip_header"), "{err}");
        let err = load(&[("PATRON_RATE_LIMIT_WINDOW_MS", "0")]).expect_err("refused");
        assert!(err.to_string().contains("rate_limit_window_ms"), "{err}");
    }

    #[test]
    fn bad_values_are_explained() {
        let err = load(&[("PATRON_RETRY_ATTEMPTS", "many")]).expect_err("refused");
        assert!(
            err.to_string()
                .contains("PATRON_RETRY_ATTEMPTS must be a whole number")
        );
        let err = load(&[("PATRON_SECRET_KEY", "abc")]).expect_err("refused");
        assert!(format!("{err:#}").contains("64 hex characters"));
        let err = load(&[("PATRON_DATABASE_URL", "mysql://x")]).expect_err("refused");
        assert!(err.to_string().contains("database_url"));
    }
}
