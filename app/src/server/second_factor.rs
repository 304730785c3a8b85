//! Whether an account has a second factor, as a condition other queries embed (the session
//! lookup, the members list, the security policy): one definition wherever it is asked.
//! Here in the database layer, so the session lookup needs nothing above it.

use sea_orm::sea_query::{Expr, Query, SimpleExpr};

use super::entities::{passkey, totp_authenticator};

/// The condition "the account whose id is `user_id` (an outer query's column) has a second
/// factor", for queries over members and sessions: one definition wherever it is asked.
pub fn has_second_factor_of(user_id: SimpleExpr) -> SimpleExpr {
    Expr::exists(
        Query::select()
            .expr(Expr::val(1))
            .from(totp_authenticator::Entity)
            .and_where(
                Expr::col((
                    totp_authenticator::Entity,
                    totp_authenticator::Column::UserId,
                ))
                .eq(user_id.clone()),
            )
            .and_where(
                Expr::col((
                    totp_authenticator::Entity,
                    totp_authenticator::Column::ConfirmedAt,
                ))
                .is_not_null(),
            )
            .to_owned(),
    )
    .or(Expr::exists(
        Query::select()
            .expr(Expr::val(1))
            .from(passkey::Entity)
            .and_where(Expr::col((passkey::Entity, passkey::Column::UserId)).eq(user_id))
            .to_owned(),
    ))
}

/// Whether the account `user_id` has a second factor.
pub async fn user_has_second_factor(
    db: &impl sea_orm::ConnectionTrait,
    user_id: i32,
) -> Result<bool, sea_orm::DbErr> {
    use super::entities::user;
    use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};

    let found = user::Entity::find()
        .filter(user::Column::Id.eq(user_id))
        .filter(has_second_factor_of(
            sea_orm::sea_query::Expr::col((user::Entity, user::Column::Id)).into(),
        ))
        .count(db)
        .await?;
    Ok(found > 0)
}
