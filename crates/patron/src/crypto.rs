//! Secrets at rest: sealed with XChaCha20-Poly1305 under the instance key, so a copy of the database
//! alone reveals no Listrak secret and no member-token secret. API keys are stored as SHA-256 hashes.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chacha20poly1305::aead::{Aead, KeyInit};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use rand::RngCore;
use sha2::{Digest, Sha256};
use std::path::Path;

const PREFIX: &str = "v1:";

#[derive(Debug, thiserror::Error)]
pub enum CryptoError {
    #[error("the secret key must be 64 hex characters (32 bytes)")]
    BadKey,
    #[error(
        "a stored secret could not be opened: wrong PATRON_SECRET_KEY, or the data was altered"
    )]
    Open,
    #[error("cannot read or create the key file {path}")]
    KeyFile {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

/// The instance key that seals stored secrets.
#[derive(Clone)]
pub struct SecretKey([u8; 32]);

impl std::fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretKey(***)")
    }
}

impl SecretKey {
    pub fn from_hex(hex_key: &str) -> Result<SecretKey, CryptoError> {
        let bytes = hex::decode(hex_key.trim()).map_err(|_| CryptoError::BadKey)?;
        let key: [u8; 32] = bytes.try_into().map_err(|_| CryptoError::BadKey)?;
        Ok(SecretKey(key))
    }

    /// Reads the key file, or creates it with a fresh random key (readable by the owner only).
    pub fn load_or_create(path: &Path) -> Result<(SecretKey, bool), CryptoError> {
        let err = |source| CryptoError::KeyFile {
            path: path.display().to_string(),
            source,
        };
        match std::fs::read_to_string(path) {
            Ok(text) => Ok((SecretKey::from_hex(&text)?, false)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let mut key = [0u8; 32];
                rand::rng().fill_bytes(&mut key);
                write_private(path, &hex::encode(key)).map_err(err)?;
                Ok((SecretKey(key), true))
            }
            Err(e) => Err(err(e)),
        }
    }

    /// A keyed digest (HMAC-SHA256, hex, 32 characters) for links that must not be forgeable.
    pub fn mac(&self, data: &str) -> String {
        hex::encode(&hmac_sha256(&self.0, data.as_bytes())[..16])
    }

    pub fn seal(&self, plaintext: &str) -> String {
        let cipher = XChaCha20Poly1305::new((&self.0).into());
        let mut nonce = [0u8; 24];
        rand::rng().fill_bytes(&mut nonce);
        // Encryption with a valid key and nonce cannot fail for in-memory data.
        let sealed = cipher
            .encrypt(&XNonce::from(nonce), plaintext.as_bytes())
            .unwrap_or_default();
        let mut out = nonce.to_vec();
        out.extend(sealed);
        format!("{PREFIX}{}", STANDARD.encode(out))
    }

    pub fn open(&self, sealed: &str) -> Result<String, CryptoError> {
        let data = sealed.strip_prefix(PREFIX).ok_or(CryptoError::Open)?;
        let bytes = STANDARD.decode(data).map_err(|_| CryptoError::Open)?;
        if bytes.len() < 24 {
            return Err(CryptoError::Open);
        }
        let (nonce, body) = bytes.split_at(24);
        let nonce: [u8; 24] = nonce.try_into().map_err(|_| CryptoError::Open)?;
        let cipher = XChaCha20Poly1305::new((&self.0).into());
        let plain = cipher
            .decrypt(&XNonce::from(nonce), body)
            .map_err(|_| CryptoError::Open)?;
        String::from_utf8(plain).map_err(|_| CryptoError::Open)
    }
}

fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(text.as_bytes())?;
    file.sync_all()
}

/// HMAC-SHA256 (RFC 2104).
pub fn hmac_sha256(key: &[u8], data: &[u8]) -> [u8; 32] {
    let mut block = [0u8; 64];
    if key.len() > 64 {
        block[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        block[..key.len()].copy_from_slice(key);
    }
    let mut inner = Sha256::new();
    inner.update(block.map(|b| b ^ 0x36));
    inner.update(data);
    let mut outer = Sha256::new();
    outer.update(block.map(|b| b ^ 0x5c));
    outer.update(inner.finalize());
    outer.finalize().into()
}

/// A random token with a readable prefix, e.g. `pk_live_…`.
pub fn random_token(prefix: &str, bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::rng().fill_bytes(&mut buf);
    format!("{prefix}{}", hex::encode(buf))
}

/// The stored form of an API key: keys are high-entropy, so one SHA-256 suffices.
pub fn hash_key(key: &str) -> String {
    hex::encode(Sha256::digest(key.as_bytes()))
}

/// Compares secrets in constant time.
pub fn same_secret(a: &str, b: &str) -> bool {
    let (a, b) = (Sha256::digest(a.as_bytes()), Sha256::digest(b.as_bytes()));
    a.iter()
        .zip(b.iter())
        .fold(0u8, |acc, (x, y)| acc | (x ^ y))
        == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_secrets_open_only_with_their_key() {
        let key = SecretKey::from_hex(&"ab".repeat(32)).expect("valid");
        let sealed = key.seal("s3cret-value");
        assert!(!sealed.contains("s3cret"));
        assert_eq!(key.open(&sealed).expect("opens"), "s3cret-value");
        let other = SecretKey::from_hex(&"cd".repeat(32)).expect("valid");
        assert!(other.open(&sealed).is_err());
        assert_ne!(key.seal("x"), key.seal("x"), "each seal uses a fresh nonce");
    }

    #[test]
    fn macs_depend_on_key_and_data() {
        let key = SecretKey::from_hex(&"ab".repeat(32)).expect("valid");
        let other = SecretKey::from_hex(&"cd".repeat(32)).expect("valid");
        assert_eq!(key.mac("x").len(), 32);
        assert_eq!(key.mac("x"), key.mac("x"));
        assert_ne!(key.mac("x"), key.mac("y"));
        assert_ne!(key.mac("x"), other.mac("x"));
    }

    #[test]
    fn hmac_matches_the_rfc_4231_vectors() {
        let key = [0x0b; 20];
        assert_eq!(
            hex::encode(hmac_sha256(&key, b"Hi There")),
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"
        );
        let long_key = [0xaa; 131];
        assert_eq!(
            hex::encode(hmac_sha256(
                &long_key,
                b"Test Using Larger Than Block-Size Key - Hash Key First"
            )),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"
        );
    }

    #[test]
    fn keys_are_hashed_and_compared_in_constant_time() {
        assert_eq!(hash_key("pk_1").len(), 64);
        assert!(same_secret("abc", "abc"));
        assert!(!same_secret("abc", "abd"));
    }
}
