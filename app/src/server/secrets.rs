//! Secrets Orgdesk must read back (an identity provider's client secret) are stored
//! sealed: AES-256-GCM under a key from the server's configuration, which never sits in
//! the database beside them. A copy of the database alone does not give them away.
//!
//! A sealed value is `sealed:v1:<key id>:<nonce>:<ciphertext>` (hex). The key id is the
//! start of the key's SHA-256, so keys rotate: the current key seals, previous keys still
//! open, and `server reseal-secrets` moves every value to the current key. Each value is
//! bound to where it is stored (the associated data), so one row's secret cannot be
//! copied into another's.

use aes_gcm::{
    aead::{Aead, AeadCore, OsRng, Payload},
    Aes256Gcm, Key, KeyInit, Nonce,
};
use sha2::{Digest, Sha256};

const PREFIX: &str = "sealed:v1:";

/// One AES-256 key and its id.
#[derive(Clone)]
pub struct SecretKey {
    id: String,
    cipher: Aes256Gcm,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretError {
    #[error("a secret key must be 64 hexadecimal characters (32 bytes)")]
    BadKey,
    #[error(
        "the value was sealed with key {0}, which this server does not have \
         (add it to ORGDESK_PREVIOUS_SECRET_KEYS)"
    )]
    UnknownKey(String),
    #[error("the sealed value is damaged or belongs to another row")]
    Damaged,
    #[error("the value is not sealed")]
    NotSealed,
}

impl SecretKey {
    /// A key written as 64 hex digits (how `ORGDESK_SECRET_KEY` and the key file hold it).
    pub fn from_hex(text: &str) -> Result<Self, SecretError> {
        let bytes = hex::decode(text.trim()).map_err(|_| SecretError::BadKey)?;
        if bytes.len() != 32 {
            return Err(SecretError::BadKey);
        }
        let id = hex::encode(&Sha256::digest(&bytes)[..4]);
        Ok(SecretKey {
            id,
            cipher: Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(&bytes)),
        })
    }

    /// A new random key, as 64 hex digits.
    pub fn generate_hex() -> String {
        hex::encode(Aes256Gcm::generate_key(OsRng))
    }

    /// The first 8 hex digits of the key's SHA-256: names it without giving it away.
    pub fn id(&self) -> &str {
        &self.id
    }
}

/// The server's keys: the current one seals, every one opens.
#[derive(Clone)]
pub struct Secrets {
    current: SecretKey,
    previous: Vec<SecretKey>,
}

impl Secrets {
    pub fn new(current: SecretKey, previous: Vec<SecretKey>) -> Self {
        Secrets { current, previous }
    }

    pub fn current_key_id(&self) -> &str {
        self.current.id()
    }

    /// Seals `plaintext` for the place named by `context` (e.g. the row it goes into).
    pub fn seal(&self, plaintext: &str, context: &str) -> String {
        let nonce = Aes256Gcm::generate_nonce(&mut OsRng);
        let ciphertext = self
            .current
            .cipher
            .encrypt(
                &nonce,
                Payload {
                    msg: plaintext.as_bytes(),
                    aad: context.as_bytes(),
                },
            )
            .expect("AES-GCM encryption of a short value cannot fail");
        format!(
            "{PREFIX}{}:{}:{}",
            self.current.id,
            hex::encode(nonce),
            hex::encode(ciphertext)
        )
    }

    /// Opens a value [`Secrets::seal`] made for the same `context`.
    pub fn open(&self, sealed: &str, context: &str) -> Result<String, SecretError> {
        let rest = sealed.strip_prefix(PREFIX).ok_or(SecretError::NotSealed)?;
        let mut parts = rest.splitn(3, ':');
        let (Some(key_id), Some(nonce), Some(ciphertext)) =
            (parts.next(), parts.next(), parts.next())
        else {
            return Err(SecretError::Damaged);
        };
        let key = std::iter::once(&self.current)
            .chain(&self.previous)
            .find(|key| key.id == key_id)
            .ok_or_else(|| SecretError::UnknownKey(key_id.to_string()))?;
        let nonce = hex::decode(nonce).map_err(|_| SecretError::Damaged)?;
        if nonce.len() != 12 {
            return Err(SecretError::Damaged);
        }
        let ciphertext = hex::decode(ciphertext).map_err(|_| SecretError::Damaged)?;
        let plaintext = key
            .cipher
            .decrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: &ciphertext,
                    aad: context.as_bytes(),
                },
            )
            .map_err(|_| SecretError::Damaged)?;
        String::from_utf8(plaintext).map_err(|_| SecretError::Damaged)
    }

    /// Whether `value` is sealed (with any key).
    pub fn is_sealed(value: &str) -> bool {
        value.starts_with(PREFIX)
    }

    /// Whether `value` is sealed with the current key.
    pub fn is_sealed_with_current(&self, value: &str) -> bool {
        value
            .strip_prefix(PREFIX)
            .and_then(|rest| rest.split(':').next())
            .is_some_and(|id| id == self.current.id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> SecretKey {
        SecretKey::from_hex(&SecretKey::generate_hex()).unwrap()
    }

    #[test]
    fn a_sealed_value_opens_only_with_its_key_and_in_its_place() {
        let secrets = Secrets::new(key(), vec![]);
        let sealed = secrets.seal("client-secret-1", "row:1");
        assert!(!sealed.contains("client-secret-1"));
        assert_ne!(
            sealed,
            secrets.seal("client-secret-1", "row:1"),
            "fresh nonce"
        );
        assert_eq!(secrets.open(&sealed, "row:1").unwrap(), "client-secret-1");
        assert_eq!(secrets.open(&sealed, "row:2"), Err(SecretError::Damaged));

        let mut tampered = sealed.clone();
        let last = tampered.pop().unwrap();
        tampered.push(if last == '0' { '1' } else { '0' });
        assert_eq!(secrets.open(&tampered, "row:1"), Err(SecretError::Damaged));

        let stranger = Secrets::new(key(), vec![]);
        assert!(matches!(
            stranger.open(&sealed, "row:1"),
            Err(SecretError::UnknownKey(_))
        ));
        assert_eq!(secrets.open("plain", "row:1"), Err(SecretError::NotSealed));
    }

    #[test]
    fn after_rotation_old_values_open_and_new_ones_use_the_new_key() {
        let old = key();
        let before = Secrets::new(old.clone(), vec![]);
        let sealed = before.seal("s3cret", "row:1");
        let after = Secrets::new(key(), vec![old]);
        assert_eq!(after.open(&sealed, "row:1").unwrap(), "s3cret");
        assert!(!after.is_sealed_with_current(&sealed));
        assert!(after.is_sealed_with_current(&after.seal("s3cret", "row:1")));
    }

    #[test]
    fn keys_must_be_32_bytes_of_hex() {
        for bad in ["", "zz", &"ab".repeat(31), &"ab".repeat(33)] {
            assert!(SecretKey::from_hex(bad).is_err(), "{bad}");
        }
        assert!(SecretKey::from_hex(&"ab".repeat(32)).is_ok());
    }
}
