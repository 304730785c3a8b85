//! What the Invited Users tab receives. Both builds.

use serde::{Deserialize, Serialize};

use crate::members::roles::Role;

pub const INVITATIONS_PAGE_SIZE: u64 = 25;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvitationRow {
    pub id: i32,
    pub email: String,
    pub role: Role,
    pub invited_by: Option<String>,
    /// RFC 3339.
    pub sent_at: String,
    pub expires_at: String,
    pub expired: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvitationsPage {
    pub invitations: Vec<InvitationRow>,
    pub total: u64,
    pub page: u64,
    pub pages: u64,
}
