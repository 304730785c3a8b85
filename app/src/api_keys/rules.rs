//! What a key may be: its name, its scopes and its expiry, for the server and the browser.

use crate::members::roles::{Action, Role};

/// At most this many unrevoked keys per organization.
pub const MAX_KEYS: usize = 50;
pub const MAX_NAME_CHARS: usize = 100;

/// The actions a key may carry: all of the matrix but making keys (a key never mints keys,
/// so a leaked one cannot outlive its revocation).
pub fn key_scopes() -> impl Iterator<Item = Action> {
    Action::ALL
        .into_iter()
        .filter(|action| *action != Action::ManageApiKeys)
}

/// The scopes someone with `role` may give a key: what they may do themselves.
pub fn grantable_by(role: Role) -> Vec<Action> {
    key_scopes().filter(|action| role.allows(*action)).collect()
}

/// The role whose rules apply where a rule speaks of roles (removing an owner, making
/// one): a key that may change roles acts as an owner, any other as an admin.
pub fn acting_role(scopes: &[Action]) -> Role {
    if scopes.contains(&Action::ManageRoles) {
        Role::Owner
    } else {
        Role::Admin
    }
}

pub fn parse_name(raw: &str) -> Result<String, String> {
    let name = raw.trim();
    if name.is_empty() {
        return Err("Enter a name, so you know later what uses this key.".into());
    }
    if name.chars().count() > MAX_NAME_CHARS {
        return Err(format!("Use at most {MAX_NAME_CHARS} characters."));
    }
    if name.chars().any(char::is_control) {
        return Err("Use letters, digits, spaces and punctuation only.".into());
    }
    Ok(name.to_string())
}

/// The scopes by their names, each once, in the matrix's order; at least one.
pub fn parse_scopes(raw: &[String]) -> Result<Vec<Action>, String> {
    let mut chosen = Vec::new();
    for name in raw {
        match Action::parse(name.trim()) {
            Some(action) if key_scopes().any(|a| a == action) => chosen.push(action),
            _ => return Err(format!("“{name}” is not a scope a key can have.")),
        }
    }
    let scopes: Vec<Action> = key_scopes().filter(|a| chosen.contains(a)).collect();
    if scopes.is_empty() {
        return Err("Choose at least one scope.".into());
    }
    Ok(scopes)
}

/// Scopes as stored: their names, comma separated.
pub fn scopes_text(scopes: &[Action]) -> String {
    scopes
        .iter()
        .map(|a| a.as_str())
        .collect::<Vec<_>>()
        .join(",")
}

/// The stored scopes; a name this version does not know is dropped (never widened).
pub fn scopes_from_text(text: &str) -> Vec<Action> {
    text.split(',').filter_map(Action::parse).collect()
}

/// How long a key works.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expiry {
    Days(i64),
    Never,
}

pub const EXPIRY_CHOICES: [(&str, &str); 4] = [
    ("30", "30 days"),
    ("90", "90 days"),
    ("365", "365 days"),
    ("never", "Never"),
];
pub const DEFAULT_EXPIRY: &str = "90";

pub fn parse_expiry(raw: &str) -> Result<Expiry, String> {
    match raw.trim() {
        "30" => Ok(Expiry::Days(30)),
        "90" | "" => Ok(Expiry::Days(90)),
        "365" => Ok(Expiry::Days(365)),
        "never" => Ok(Expiry::Never),
        _ => Err("Choose 30, 90 or 365 days, or never.".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn admins_grant_only_what_admins_do() {
        let admin = grantable_by(Role::Admin);
        assert!(admin.iter().all(|a| Role::Admin.allows(*a)));
        assert!(!admin.contains(&Action::ManageRoles));
        assert!(!admin.contains(&Action::ManageApiKeys));
        assert_eq!(grantable_by(Role::Member), vec![Action::ViewOrganization]);
        assert_eq!(grantable_by(Role::Owner).len(), Action::ALL.len() - 1);
    }

    #[test]
    fn scopes_parse_in_the_matrix_order_once_each() {
        let raw = ["remove_users", "view_organization", "remove_users"].map(String::from);
        assert_eq!(
            parse_scopes(&raw),
            Ok(vec![Action::ViewOrganization, Action::RemoveUsers])
        );
        assert!(parse_scopes(&[]).is_err());
        assert!(parse_scopes(&["manage_api_keys".into()]).is_err());
        assert!(parse_scopes(&["ViewOrganization".into()]).is_err());
        let text = scopes_text(&[Action::ViewOrganization, Action::ManageRoles]);
        assert_eq!(text, "view_organization,manage_roles");
        assert_eq!(
            scopes_from_text(&format!("{text},unknown_thing")),
            vec![Action::ViewOrganization, Action::ManageRoles]
        );
    }

    #[test]
    fn only_a_key_that_changes_roles_acts_as_an_owner() {
        assert_eq!(acting_role(&[Action::ManageRoles]), Role::Owner);
        assert_eq!(
            acting_role(&[Action::RemoveUsers, Action::ManageProfile]),
            Role::Admin
        );
    }

    #[test]
    fn expiry_defaults_to_ninety_days() {
        assert_eq!(parse_expiry(""), Ok(Expiry::Days(90)));
        assert_eq!(parse_expiry("never"), Ok(Expiry::Never));
        assert!(parse_expiry("7").is_err());
    }

    proptest! {
        #[test]
        fn names_are_checked_without_panicking(raw in ".{0,200}") {
            if let Ok(name) = parse_name(&raw) {
                prop_assert!(!name.is_empty() && name.chars().count() <= MAX_NAME_CHARS);
            }
        }
    }
}
