//! The API key format: `odk_`, 32 random base62 characters (190 bits), and a 6-character
//! checksum (the CRC32 of the random part in base62, zero-padded), so a secret scanner can
//! recognise a leaked key offline and a mistyped one is refused without a database query.
//! Only the key's SHA-256 is stored.

use rand::distr::{Alphanumeric, SampleString};
use sha2::{Digest, Sha256};

pub const PREFIX: &str = "odk_";
const RANDOM_LEN: usize = 32;
const CHECKSUM_LEN: usize = 6;

/// A key just made: the whole key (shown once), what the list shows, and what is stored.
pub struct NewKey {
    pub key: String,
    pub shown_prefix: String,
    pub hash: String,
}

pub fn generate() -> NewKey {
    generate_prefixed(PREFIX)
}

/// A secret in this format under another prefix (directory-sync tokens are `ods_`).
pub fn generate_prefixed(prefix: &str) -> NewKey {
    let random = Alphanumeric.sample_string(&mut rand::rng(), RANDOM_LEN);
    let key = format!("{prefix}{random}{}", checksum(&random));
    NewKey {
        shown_prefix: key[..prefix.len() + 8].to_string(),
        hash: hash(&key),
        key,
    }
}

fn checksum(random: &str) -> String {
    let crc = crc32fast::hash(random.as_bytes());
    format!("{:0>width$}", base62::encode(crc), width = CHECKSUM_LEN)
}

/// The stored form of a well-formed key; None for anything that is not one (wrong prefix,
/// length, characters or checksum).
pub fn parse(presented: &str) -> Option<String> {
    parse_prefixed(PREFIX, presented)
}

/// [`parse`] for a secret made by [`generate_prefixed`].
pub fn parse_prefixed(prefix: &str, presented: &str) -> Option<String> {
    let rest = presented.strip_prefix(prefix)?;
    if rest.len() != RANDOM_LEN + CHECKSUM_LEN || !rest.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return None;
    }
    let (random, sum) = rest.split_at(RANDOM_LEN);
    (checksum(random) == sum).then(|| hash(presented))
}

fn hash(key: &str) -> String {
    hex::encode(Sha256::digest(key.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_new_key_parses_to_its_stored_hash() {
        let made = generate();
        assert_eq!(made.key.len(), 4 + 32 + 6);
        assert!(made.key.starts_with(&made.shown_prefix));
        assert_eq!(parse(&made.key), Some(made.hash));
    }

    #[test]
    fn a_changed_character_fails_the_checksum() {
        let made = generate();
        let mut bytes = made.key.into_bytes();
        bytes[10] = if bytes[10] == b'a' { b'b' } else { b'a' };
        let changed = String::from_utf8(bytes).unwrap_or_default();
        assert_eq!(parse(&changed), None);
    }

    #[test]
    fn other_shapes_are_not_keys() {
        let made = generate();
        for wrong in [
            "",
            "odk_",
            &made.key[1..],
            &made.key.replace("odk_", "ODK_"),
            &format!("{}x", made.key),
            &made.key[..made.key.len() - 1],
            &format!("{} ", made.key),
        ] {
            assert_eq!(parse(wrong), None, "{wrong:?}");
        }
    }

    proptest! {
        #[test]
        fn arbitrary_text_never_panics(text in ".{0,80}") {
            let _ = parse(&text);
        }
    }
}
