//! Secret tokens for cookies and emailed links: 256 random bits, hex-encoded, kept in the
//! database only as their SHA-256, so a copy of the database opens no session or link.

use rand::RngCore;
use sha2::{Digest, Sha256};

/// 32 random bytes from the OS-seeded CSPRNG, hex-encoded.
pub fn new_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

pub fn hash_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}
