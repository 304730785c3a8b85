//! What the browser and the server share about passkeys: the list's rows, a ceremony to
//! answer, and the longest name.

use serde::{Deserialize, Serialize};

/// The longest passkey name kept.
pub const PASSKEY_NAME_MAX_CHARS: usize = 100;

/// One of the signed-in person's passkeys.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PasskeyRow {
    pub id: i32,
    pub name: String,
    /// RFC 3339.
    pub created_at: String,
    pub last_used_at: Option<String>,
}

/// A ceremony the browser is to answer: its token (sent back with the answer) and the
/// options for `navigator.credentials` as WebAuthn's JSON.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PasskeyCeremony {
    pub token: String,
    pub options: String,
}
