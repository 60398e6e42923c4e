//! Value types parsed once at the edge: points, e-mail addresses, external member ids.

use serde::{Deserialize, Serialize};
use std::fmt;

/// A signed amount of points. Arithmetic is checked: an overflow is an error, never a wrap.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Points(pub i64);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("points arithmetic overflowed")]
pub struct Overflow;

impl Points {
    pub const ZERO: Points = Points(0);

    pub fn checked_add(self, other: Points) -> Result<Points, Overflow> {
        self.0.checked_add(other.0).map(Points).ok_or(Overflow)
    }
    pub fn checked_sub(self, other: Points) -> Result<Points, Overflow> {
        self.0.checked_sub(other.0).map(Points).ok_or(Overflow)
    }
    pub fn is_positive(self) -> bool {
        self.0 > 0
    }
    pub fn is_negative(self) -> bool {
        self.0 < 0
    }
}

impl fmt::Display for Points {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ValueError {
    #[error("is not a valid email address")]
    Email,
    #[error("must be 1 to 128 characters without spaces or slashes")]
    ExternalId,
}

/// An e-mail address, trimmed and stored as given; compared case-insensitively through [`Email::key`].
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct Email(String);

impl Email {
    pub fn parse(raw: &str) -> Result<Email, ValueError> {
        let s = raw.trim();
        if s.len() > 254 || s.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(ValueError::Email);
        }
        let (local, domain) = s.rsplit_once('@').ok_or(ValueError::Email)?;
        let domain_ok = domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !domain.contains("..")
            && domain
                .chars()
                .all(|c| c.is_alphanumeric() || c == '-' || c == '.');
        if local.is_empty() || local.len() > 64 || local.contains('@') || !domain_ok {
            return Err(ValueError::Email);
        }
        Ok(Email(s.to_string()))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
    /// The lower-cased form used for lookups and uniqueness.
    pub fn key(&self) -> String {
        self.0.to_lowercase()
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The store's own id for a member (its customer id), used in URLs.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct ExternalId(String);

impl ExternalId {
    pub fn parse(raw: &str) -> Result<ExternalId, ValueError> {
        let ok = !raw.is_empty()
            && raw.len() <= 128
            && raw
                .chars()
                .all(|c| !c.is_whitespace() && !c.is_control() && c != '/' && c != '?' && c != '#');
        if ok {
            Ok(ExternalId(raw.to_string()))
        } else {
            Err(ValueError::ExternalId)
        }
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ExternalId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_validated_and_keyed_case_insensitively() {
        let e = Email::parse("  Ann.Lee+vip@Example.COM ").expect("valid");
        assert_eq!(e.as_str(), "Ann.Lee+vip@Example.COM");
        assert_eq!(e.key(), "ann.lee+vip@example.com");
        for bad in [
            "",
            "ann",
            "ann@",
            "@example.com",
            "ann@example",
            "a b@example.com",
            "ann@exa..mple.com",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad} should be refused");
        }
    }

    #[test]
    fn points_arithmetic_refuses_to_overflow() {
        assert_eq!(Points(i64::MAX).checked_add(Points(1)), Err(Overflow));
        assert_eq!(Points(5).checked_sub(Points(7)), Ok(Points(-2)));
    }

    #[test]
    fn external_ids_refuse_slashes_and_blanks() {
        assert!(ExternalId::parse("cust-42").is_ok());
        assert!(ExternalId::parse("").is_err());
        assert!(ExternalId::parse("a/b").is_err());
        assert!(ExternalId::parse("a b").is_err());
    }
}
