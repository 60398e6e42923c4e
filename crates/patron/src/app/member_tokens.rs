//! Member tokens: the store's backend signs a short-lived JWT (HS256, `sub` = the member's external id,
//! `exp` at most 24 h ahead) with its program's member-token secret; Patron accepts it as a bearer
//! token on `/v1/me`. The signing secret also tells which program the token belongs to.

use super::{App, AppError};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use serde::Deserialize;

/// The longest lifetime a member token may claim, with a minute of clock skew.
const MAX_AHEAD_SECS: i64 = 24 * 3600 + 60;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberClaims {
    pub program_id: String,
    pub external_id: String,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TokenError {
    #[error("the member token is not a JWT")]
    Malformed,
    #[error("member tokens must be signed with HS256")]
    Algorithm,
    #[error("the member token's signature does not match any program's member-token secret")]
    Signature,
    #[error("the member token has expired")]
    Expired,
    #[error("the member token must have `exp` at most 24 hours ahead")]
    TooLong,
    #[error("the member token needs `sub` (the member's external id) and `exp`")]
    Claims,
}

#[derive(Deserialize)]
struct Header {
    alg: String,
}

#[derive(Deserialize)]
struct Claims {
    sub: Option<String>,
    exp: Option<i64>,
}

fn decode<T: for<'de> Deserialize<'de>>(part: &str) -> Result<T, TokenError> {
    let bytes = URL_SAFE_NO_PAD
        .decode(part.trim_end_matches('='))
        .map_err(|_| TokenError::Malformed)?;
    serde_json::from_slice(&bytes).map_err(|_| TokenError::Malformed)
}

/// Checks a token against the given program secrets at `now`.
pub fn verify(
    token: &str,
    secrets: &[(String, String)],
    now: DateTime<Utc>,
) -> Result<MemberClaims, TokenError> {
    let mut parts = token.split('.');
    let (Some(h), Some(p), Some(s), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(TokenError::Malformed);
    };
    let header: Header = decode(h)?;
    if header.alg != "HS256" {
        return Err(TokenError::Algorithm);
    }
    let signature = URL_SAFE_NO_PAD
        .decode(s)
        .map_err(|_| TokenError::Malformed)?;
    let signed = format!("{h}.{p}");
    let program_id = secrets
        .iter()
        .find(|(_, secret)| {
            let expected = crate::crypto::hmac_sha256(secret.as_bytes(), signed.as_bytes());
            expected.len() == signature.len()
                && expected
                    .iter()
                    .zip(&signature)
                    .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                    == 0
        })
        .map(|(id, _)| id.clone())
        .ok_or(TokenError::Signature)?;
    let claims: Claims = decode(p)?;
    let (Some(sub), Some(exp)) = (claims.sub.filter(|s| !s.is_empty()), claims.exp) else {
        return Err(TokenError::Claims);
    };
    let now = now.timestamp();
    if exp <= now {
        return Err(TokenError::Expired);
    }
    if exp > now + MAX_AHEAD_SECS {
        return Err(TokenError::TooLong);
    }
    Ok(MemberClaims {
        program_id,
        external_id: sub,
    })
}

/// Signs a member token (for tests, the demo and documentation examples).
pub fn sign(secret: &str, external_id: &str, exp: i64) -> String {
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","typ":"JWT"}"#);
    let payload =
        URL_SAFE_NO_PAD.encode(serde_json::json!({"sub": external_id, "exp": exp}).to_string());
    let signature =
        crate::crypto::hmac_sha256(secret.as_bytes(), format!("{header}.{payload}").as_bytes());
    format!("{header}.{payload}.{}", URL_SAFE_NO_PAD.encode(signature))
}

impl App {
    /// The program secrets, opened, cached until a program is created or a secret rotated.
    async fn member_secrets(&self) -> Result<Vec<(String, String)>, AppError> {
        if let Some(cached) = self
            .inner
            .member_secrets
            .read()
            .ok()
            .and_then(|c| c.clone())
        {
            return Ok(cached);
        }
        let mut opened = Vec::new();
        for (id, sealed) in self.store().member_token_secrets().await? {
            opened.push((id, self.key().open(&sealed)?));
        }
        if let Ok(mut cache) = self.inner.member_secrets.write() {
            *cache = Some(opened.clone());
        }
        Ok(opened)
    }

    pub(crate) fn forget_member_secrets(&self) {
        if let Ok(mut cache) = self.inner.member_secrets.write() {
            *cache = None;
        }
    }

    pub async fn verify_member_token(
        &self,
        token: &str,
    ) -> Result<Result<MemberClaims, TokenError>, AppError> {
        Ok(verify(token, &self.member_secrets().await?, Utc::now()))
    }

    /// Replaces a program's member-token secret; tokens signed with the old one stop working.
    pub async fn rotate_member_token_secret(&self, program_id: &str) -> Result<String, AppError> {
        let secret = crate::crypto::random_token("mts_", 32);
        self.store()
            .set_member_token_secret(program_id, &self.key().seal(&secret), Utc::now())
            .await?;
        self.forget_member_secrets();
        Ok(secret)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secrets() -> Vec<(String, String)> {
        vec![
            ("p1".into(), "secret-one".into()),
            ("p2".into(), "secret-two".into()),
        ]
    }

    #[test]
    fn a_signed_token_names_its_program_and_member() {
        let now = Utc::now();
        let token = sign("secret-two", "cust-9", now.timestamp() + 600);
        assert_eq!(
            verify(&token, &secrets(), now),
            Ok(MemberClaims {
                program_id: "p2".into(),
                external_id: "cust-9".into()
            })
        );
    }

    #[test]
    fn forged_expired_too_long_and_alg_swapped_tokens_are_refused() {
        let now = Utc::now();
        assert_eq!(
            verify(&sign("guess", "c", now.timestamp() + 60), &secrets(), now),
            Err(TokenError::Signature)
        );
        assert_eq!(
            verify(
                &sign("secret-one", "c", now.timestamp() - 1),
                &secrets(),
                now
            ),
            Err(TokenError::Expired)
        );
        assert_eq!(
            verify(
                &sign("secret-one", "c", now.timestamp() + 3 * 86400),
                &secrets(),
                now
            ),
            Err(TokenError::TooLong)
        );
        let good = sign("secret-one", "c", now.timestamp() + 60);
        let payload = good.split('.').nth(1).expect("payload");
        let none = format!(
            "{}.{payload}.",
            URL_SAFE_NO_PAD.encode(br#"{"alg":"none"}"#)
        );
        assert_eq!(verify(&none, &secrets(), now), Err(TokenError::Algorithm));
        assert_eq!(
            verify("not-a-jwt", &secrets(), now),
            Err(TokenError::Malformed)
        );
    }
}
