//! The passwords people actually guess: the 10,000 most common (OWASP SecLists), compared
//! without regard to case. Server-only: the list stays out of the browser's bundle.

use std::{collections::HashSet, sync::LazyLock};

static LIST: &str = include_str!("common-passwords.txt");

static COMMON: LazyLock<HashSet<String>> = LazyLock::new(|| {
    LIST.lines()
        .filter(|line| !line.starts_with('#') && !line.is_empty())
        .map(str::to_lowercase)
        .collect()
});

/// Whether `password` is on the list, ignoring case.
pub fn is_common(password: &str) -> bool {
    COMMON.contains(&password.to_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_list_holds_ten_thousand_passwords_and_matches_without_case() {
        assert!(COMMON.len() > 9_900, "{}", COMMON.len());
        for guessed in ["password", "PassWord", "12345678", "qwertyuiop", "iloveyou"] {
            assert!(is_common(guessed), "{guessed}");
        }
        assert!(!is_common("correct horse battery"));
    }
}
