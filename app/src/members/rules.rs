//! Member values computed the same way wherever a membership is written.

/// What the Users tab sorts and searches by: the name and the address, lowercased (Unicode
/// rules, so "Élodie" sorts and matches as "élodie").
pub fn member_key(name: &str, email_normalized: &str) -> String {
    format!("{} {}", name.to_lowercase(), email_normalized)
}
