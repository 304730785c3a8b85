//! Recovery codes: ten single-use codes, stored hashed, shown once after they are made.

use chrono::{DateTime, Duration, Utc};
use rand::Rng;
use sea_orm::{
    sea_query::Expr, ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait,
    PaginatorTrait, QueryFilter, Set,
};

use crate::{
    error::AppError,
    server::{
        entities::{recovery_code, recovery_code_reveal},
        secrets::Secrets,
        tokens::hash_token,
    },
};

/// How many recovery codes a set has.
pub const RECOVERY_CODE_COUNT: usize = 10;

/// New recovery codes can be seen this long after they were made.
fn reveal_lifetime() -> Duration {
    Duration::minutes(15)
}

fn reveal_context(user_id: i32) -> String {
    crate::server::sealed::recovery_reveal_context(user_id)
}

/// Recovery codes are 16 characters of Crockford's base-32 alphabet (80 bits), written in
/// groups of four: easy to read aloud, no I, L, O or U to mistake.
const RECOVERY_ALPHABET: &[u8] = b"0123456789abcdefghjkmnpqrstvwxyz";

fn new_recovery_code() -> String {
    let mut rng = rand::rng();
    let chars: Vec<char> = (0..16)
        .map(|_| RECOVERY_ALPHABET[rng.random_range(0..RECOVERY_ALPHABET.len())] as char)
        .collect();
    chars
        .chunks(4)
        .map(|group| group.iter().collect::<String>())
        .collect::<Vec<_>>()
        .join("-")
}

/// A typed recovery code as it is hashed: lower case, without dashes or spaces, with the
/// letters people mistake for digits read as those digits.
fn normalize_recovery_code(typed: &str) -> String {
    typed
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .map(|c| match c.to_ascii_lowercase() {
            'o' => '0',
            'i' | 'l' => '1',
            other => other,
        })
        .collect()
}

/// Replaces the user's recovery codes with a new set; returns the codes, which are also kept
/// sealed for the page that shows them once, to `session_id` only.
pub async fn replace_recovery_codes(
    txn: &impl ConnectionTrait,
    secrets: &Secrets,
    user_id: i32,
    session_id: i32,
    now: DateTime<Utc>,
) -> Result<Vec<String>, DbErr> {
    let codes: Vec<String> = (0..RECOVERY_CODE_COUNT)
        .map(|_| new_recovery_code())
        .collect();
    recovery_code::Entity::delete_many()
        .filter(recovery_code::Column::UserId.eq(user_id))
        .exec(txn)
        .await?;
    recovery_code::Entity::insert_many(codes.iter().map(|code| recovery_code::ActiveModel {
        user_id: Set(user_id),
        code_hash: Set(hash_token(&normalize_recovery_code(code))),
        created_at: Set(now),
        ..Default::default()
    }))
    .exec(txn)
    .await?;
    recovery_code_reveal::Entity::delete_by_id(user_id)
        .exec(txn)
        .await?;
    recovery_code_reveal::ActiveModel {
        user_id: Set(user_id),
        codes_sealed: Set(secrets.seal(&codes.join("\n"), &reveal_context(user_id))),
        expires_at: Set(now + reveal_lifetime()),
        session_id: Set(Some(session_id)),
    }
    .insert(txn)
    .await?;
    Ok(codes)
}

/// The user's new recovery codes, while they may still be shown, to the session that made
/// them.
pub async fn revealed_codes(
    db: &impl ConnectionTrait,
    secrets: &Secrets,
    user_id: i32,
    session_id: i32,
    now: DateTime<Utc>,
) -> Result<Option<Vec<String>>, AppError> {
    let Some(reveal) = recovery_code_reveal::Entity::find_by_id(user_id)
        .filter(recovery_code_reveal::Column::ExpiresAt.gt(now))
        .filter(recovery_code_reveal::Column::SessionId.eq(session_id))
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    let codes = secrets
        .open(&reveal.codes_sealed, &reveal_context(user_id))
        .map_err(|err| {
            tracing::error!(user_id, error = %err, "revealed recovery codes do not open");
            AppError::Internal
        })?;
    Ok(Some(codes.lines().map(str::to_string).collect()))
}

/// Uses up one of the user's recovery codes; false when it is not one of theirs or was used.
pub async fn use_recovery_code(
    db: &impl ConnectionTrait,
    user_id: i32,
    typed: &str,
    now: DateTime<Utc>,
) -> Result<bool, DbErr> {
    let normalized = normalize_recovery_code(typed);
    if normalized.len() != 16 {
        return Ok(false);
    }
    let used = recovery_code::Entity::update_many()
        .col_expr(recovery_code::Column::UsedAt, Expr::value(now))
        .filter(recovery_code::Column::UserId.eq(user_id))
        .filter(recovery_code::Column::CodeHash.eq(hash_token(&normalized)))
        .filter(recovery_code::Column::UsedAt.is_null())
        .exec(db)
        .await?;
    Ok(used.rows_affected == 1)
}

/// How many of the user's recovery codes are still unused.
pub async fn recovery_codes_left(db: &impl ConnectionTrait, user_id: i32) -> Result<u64, DbErr> {
    recovery_code::Entity::find()
        .filter(recovery_code::Column::UserId.eq(user_id))
        .filter(recovery_code::Column::UsedAt.is_null())
        .count(db)
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recovery_codes_are_four_groups_of_four_from_the_alphabet() {
        let code = new_recovery_code();
        let groups: Vec<&str> = code.split('-').collect();
        assert_eq!(groups.len(), 4, "{code}");
        assert!(groups.iter().all(|g| g.len() == 4), "{code}");
        assert!(
            code.bytes()
                .filter(|b| *b != b'-')
                .all(|b| RECOVERY_ALPHABET.contains(&b)),
            "{code}"
        );
        assert_ne!(new_recovery_code(), code);
    }

    #[test]
    fn a_recovery_code_reads_the_same_typed_loosely() {
        assert_eq!(
            normalize_recovery_code(" ABCD-efgh 0000-1111 "),
            "abcdefgh00001111"
        );
        assert_eq!(normalize_recovery_code("oOiL"), "0011");
    }
}
