//! Links between accounts and an organization's identity provider (its issuer and
//! subject). A link speaks for an account only while the organization's proof of the
//! account's domain stands and the provider is the one that made it, so the links go when
//! either changes.

use sea_orm::{
    sea_query::{LikeExpr, Query},
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter,
};

use crate::server::entities::{sso_identity, user};

/// The `LIKE` pattern of addresses at `domain` (`%@domain`, with `\`, `%` and `_` literal).
fn addresses_at(domain: &str) -> String {
    format!(
        "%@{}",
        domain
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_")
    )
}

/// Drops the links of accounts whose address is at `domain`: in `organization_id` when
/// given (its proof of the domain lapsed or was removed), else in every organization but
/// `except` (another organization verified it). Returns how many went.
pub async fn drop_links_at_domain(
    txn: &impl ConnectionTrait,
    organization_id: Option<i32>,
    except: Option<i32>,
    domain: &str,
) -> Result<u64, DbErr> {
    let mut delete = sso_identity::Entity::delete_many().filter(
        sso_identity::Column::UserId.in_subquery(
            Query::select()
                .column(user::Column::Id)
                .from(user::Entity)
                .and_where(
                    user::Column::EmailNormalized
                        .like(LikeExpr::new(addresses_at(&domain.to_lowercase())).escape('\\')),
                )
                .to_owned(),
        ),
    );
    if let Some(organization_id) = organization_id {
        delete = delete.filter(sso_identity::Column::OrganizationId.eq(organization_id));
    }
    if let Some(except) = except {
        delete = delete.filter(sso_identity::Column::OrganizationId.ne(except));
    }
    Ok(delete.exec(txn).await?.rows_affected)
}

/// Drops every link of the organization (its provider changed: a subject of the old
/// issuer names nobody at the new one).
pub async fn drop_links_of(txn: &impl ConnectionTrait, organization_id: i32) -> Result<u64, DbErr> {
    Ok(sso_identity::Entity::delete_many()
        .filter(sso_identity::Column::OrganizationId.eq(organization_id))
        .exec(txn)
        .await?
        .rows_affected)
}

/// The account linked to `subject` of `issuer` in the organization, if any.
pub async fn linked_account(
    db: &impl ConnectionTrait,
    organization_id: i32,
    issuer: &str,
    subject: &str,
) -> Result<Option<(sso_identity::Model, user::Model)>, DbErr> {
    Ok(sso_identity::Entity::find()
        .filter(sso_identity::Column::OrganizationId.eq(organization_id))
        .filter(sso_identity::Column::Issuer.eq(issuer))
        .filter(sso_identity::Column::Subject.eq(subject))
        .find_also_related(user::Entity)
        .one(db)
        .await?
        .and_then(|(link, account)| account.map(|account| (link, account))))
}

/// Removes one link (its account's address left the organization's verified domains).
pub async fn unlink(db: &impl ConnectionTrait, link_id: i32) -> Result<(), DbErr> {
    sso_identity::Entity::delete_by_id(link_id).exec(db).await?;
    Ok(())
}
