//! Row locks and counters of an organization that every change to its members,
//! invitations, domains and SSO takes first, in the database layer: the feature slices
//! use them without importing one another.

use sea_orm::{sea_query::Expr, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter};

use super::entities::organization;

/// Locks the organization's row until the transaction ends: changes to one organization's
/// members and invitations run one at a time and see each other's results.
///
/// On SQLite there is nothing to do: every write transaction runs on the one writing
/// connection (`server::db`), one after another, so no two of them ever overlap. The row
/// update would only cost a statement and a rewritten page in every such transaction.
pub async fn lock_organization(
    txn: &impl ConnectionTrait,
    organization_id: i32,
) -> Result<(), DbErr> {
    if txn.get_database_backend() == sea_orm::DbBackend::Sqlite {
        return Ok(());
    }
    organization::Entity::update_many()
        .col_expr(
            organization::Column::OwnerCount,
            Expr::col(organization::Column::OwnerCount).into(),
        )
        .filter(organization::Column::Id.eq(organization_id))
        .exec(txn)
        .await?;
    Ok(())
}

/// Adds `delta` owners. Taking one away happens only while another owner remains (the
/// update also locks the organization's row); returns false when it would leave none.
pub async fn change_owner_count(
    txn: &impl ConnectionTrait,
    organization_id: i32,
    delta: i32,
) -> Result<bool, DbErr> {
    let mut update = organization::Entity::update_many()
        .col_expr(
            organization::Column::OwnerCount,
            Expr::col(organization::Column::OwnerCount).add(delta),
        )
        .filter(organization::Column::Id.eq(organization_id));
    if delta < 0 {
        update = update.filter(organization::Column::OwnerCount.gt(-delta));
    }
    Ok(update.exec(txn).await?.rows_affected == 1)
}
