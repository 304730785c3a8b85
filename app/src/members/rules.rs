//! Member values computed the same way wherever a membership is written, and the limit of
//! organizations one account may belong to.

/// One user may belong to at most this many organizations.
pub const MAX_ORGANIZATIONS_PER_USER: u64 = 400;

/// What a user at the limit of organizations is told.
pub fn limit_message() -> String {
    format!(
        "You already belong to {MAX_ORGANIZATIONS_PER_USER} organizations, the most one account can have. Leave one before creating or joining another."
    )
}

/// What the Users tab sorts by: the name and the address, lowercased (Unicode rules, so
/// "Élodie" sorts as "élodie").
pub fn member_key(name: &str, email_normalized: &str) -> String {
    format!("{} {}", name.to_lowercase(), email_normalized)
}

/// The words the Users tab search finds a member by, each matched by its beginning: every
/// word of the name, the whole address, its local part and the pieces of it between dots,
/// dashes, underscores and plus signs, the domain and each domain above it. So "ada",
/// "lovelace", "ada.l", "ada.l@", "analytical.example" and "example" all find
/// "Ada Lovelace <ada.l@analytical.example>". Lowercased like the member key; at most 254
/// characters each (the column).
pub fn search_terms(name: &str, email_normalized: &str) -> Vec<String> {
    let mut terms: Vec<String> = name
        .to_lowercase()
        .split_whitespace()
        .map(String::from)
        .collect();
    terms.push(email_normalized.to_string());
    if let Some((local, domain)) = email_normalized.rsplit_once('@') {
        terms.push(local.to_string());
        terms.extend(
            local
                .split(['.', '-', '_', '+'])
                .filter(|piece| !piece.is_empty())
                .map(String::from),
        );
        let mut rest = domain;
        loop {
            terms.push(rest.to_string());
            match rest.split_once('.') {
                Some((_, parent)) if !parent.is_empty() => rest = parent,
                _ => break,
            }
        }
    }
    let mut terms: Vec<String> = terms
        .into_iter()
        .filter(|term| !term.is_empty())
        .map(|term| term.chars().take(254).collect())
        .collect();
    terms.sort();
    terms.dedup();
    terms
}

/// The words of a search, each to match the beginning of one of a member's terms; at most
/// five (more narrow nothing a person types).
pub fn search_words(query: &str) -> Vec<String> {
    query
        .to_lowercase()
        .split_whitespace()
        .take(5)
        .map(String::from)
        .collect()
}

/// The end of the range of terms that start with `word` (byte order): `word` followed by
/// the last Unicode character.
pub fn prefix_end(word: &str) -> String {
    format!("{word}{}", char::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_member_is_found_by_each_word_and_each_part_of_the_address() {
        let terms = search_terms("Ada  Lovelace", "ada.l+work@analytical.example");
        for expected in [
            "ada",
            "lovelace",
            "ada.l+work@analytical.example",
            "ada.l+work",
            "l",
            "work",
            "analytical.example",
            "example",
        ] {
            assert!(
                terms.iter().any(|t| t == expected),
                "{expected} in {terms:?}"
            );
        }
        assert_eq!(
            terms.len(),
            terms
                .iter()
                .collect::<std::collections::BTreeSet<_>>()
                .len(),
            "no repeats"
        );
        assert!(prefix_end("ada").as_str() > "ada.l+work");
        assert!(prefix_end("ada").as_str() < "adb");
        assert_eq!(search_words("  Zed   1 "), ["zed", "1"]);
    }
}
