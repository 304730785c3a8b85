//! Platform staff commands: list organizations, move one to another account stage
//! (organizations cannot change their own stage), add a member, vouch for a domain.

use app::{
    organizations::rules::Stage,
    server::entities::{membership, organization},
};
use sea_orm::{
    sea_query::Expr, ColumnTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder,
};

/// `server list-orgs`: one line per organization: ID, stage, members, name.
pub async fn list_organizations(db: &DatabaseConnection) -> Result<String, sea_orm::DbErr> {
    let mut out = format!(
        "{:<36}  {:<13}  {:>7}  name\n",
        "organization id", "stage", "members"
    );
    for org in organization::Entity::find()
        .order_by_asc(organization::Column::CreatedAt)
        .all(db)
        .await?
    {
        let members = membership::Entity::find()
            .filter(membership::Column::OrganizationId.eq(org.id))
            .count(db)
            .await?;
        out.push_str(&format!(
            "{:<36}  {:<13}  {:>7}  {}\n",
            org.public_id,
            org.stage.as_str(),
            members,
            org.name
        ));
    }
    Ok(out)
}

#[derive(Debug, thiserror::Error)]
pub enum StageError {
    #[error("unknown stage {0:?}: use free, preproduction or production")]
    UnknownStage(String),
    #[error("no organization has the ID {0}")]
    NoSuchOrganization(String),
    #[error(transparent)]
    Database(#[from] sea_orm::DbErr),
}

/// `server stage ORG_ID STAGE`.
pub async fn set_stage(
    db: &DatabaseConnection,
    public_id: &str,
    stage: &str,
) -> Result<String, StageError> {
    let stage = Stage::parse(stage).ok_or_else(|| StageError::UnknownStage(stage.to_string()))?;
    let updated = organization::Entity::update_many()
        .col_expr(organization::Column::Stage, Expr::value(stage))
        .col_expr(
            organization::Column::UpdatedAt,
            Expr::value(chrono::Utc::now()),
        )
        .filter(organization::Column::PublicId.eq(public_id))
        .exec(db)
        .await?;
    if updated.rows_affected == 0 {
        return Err(StageError::NoSuchOrganization(public_id.to_string()));
    }
    Ok(format!("{public_id} is now in stage {}.\n", stage.as_str()))
}

#[derive(Debug, thiserror::Error)]
pub enum AddMemberError {
    #[error("unknown role {0:?}: use owner, admin or member")]
    UnknownRole(String),
    #[error("no organization has the ID {0}")]
    NoSuchOrganization(String),
    #[error("no account has the email {0}")]
    NoSuchUser(String),
    #[error("{0} already belongs to this organization")]
    AlreadyMember(String),
    #[error("{0}")]
    Refused(String),
    #[error(transparent)]
    Database(#[from] sea_orm::DbErr),
}

/// `server add-member ORG_ID EMAIL ROLE`: adds an existing account to an organization (for
/// support work; users invite each other from Access Control). The 400-organization limit
/// applies as everywhere.
pub async fn add_member(
    db: &DatabaseConnection,
    public_id: &str,
    email: &str,
    role: &str,
) -> Result<String, AddMemberError> {
    use app::{
        members::memberships::join_organization, members::roles::Role, server::entities::user,
    };
    use sea_orm::TransactionTrait;

    let role = Role::parse(role).ok_or_else(|| AddMemberError::UnknownRole(role.to_string()))?;
    let org = organization::Entity::find()
        .filter(organization::Column::PublicId.eq(public_id))
        .one(db)
        .await?
        .ok_or_else(|| AddMemberError::NoSuchOrganization(public_id.to_string()))?;
    let found = user::Entity::find()
        .filter(user::Column::EmailNormalized.eq(email.trim().to_lowercase()))
        .one(db)
        .await?
        .ok_or_else(|| AddMemberError::NoSuchUser(email.to_string()))?;
    let already = membership::Entity::find()
        .filter(membership::Column::OrganizationId.eq(org.id))
        .filter(membership::Column::UserId.eq(found.id))
        .count(db)
        .await?;
    if already > 0 {
        return Err(AddMemberError::AlreadyMember(found.email));
    }
    let txn = db.begin().await?;
    join_organization(&txn, found.id, org.id, role, chrono::Utc::now())
        .await
        .map_err(|err| AddMemberError::Refused(err.to_string()))?;
    txn.commit().await?;
    Ok(format!(
        "{} is now {} of {} ({public_id}).\n",
        found.email,
        match role {
            Role::Owner => "an owner",
            Role::Admin => "an admin",
            Role::Member => "a member",
        },
        org.name
    ))
}

#[derive(Debug, thiserror::Error)]
pub enum VerifyDomainError {
    #[error("no organization has the ID {0}")]
    NoSuchOrganization(String),
    #[error("{0}")]
    Refused(String),
    #[error(transparent)]
    Database(#[from] sea_orm::DbErr),
}

/// `server verify-domain ORG_ID DOMAIN`: marks a domain verified for an organization whose
/// ownership platform staff checked some other way (added first if missing). A domain
/// another organization verified is refused, as in the app.
pub async fn verify_domain(
    db: &DatabaseConnection,
    public_id: &str,
    domain: &str,
) -> Result<String, VerifyDomainError> {
    use app::domains::service::{parse_domain, verify_by_staff};

    let domain = parse_domain(domain).map_err(VerifyDomainError::Refused)?;
    let org = organization::Entity::find()
        .filter(organization::Column::PublicId.eq(public_id))
        .one(db)
        .await?
        .ok_or_else(|| VerifyDomainError::NoSuchOrganization(public_id.to_string()))?;
    verify_by_staff(db, org.id, &domain, chrono::Utc::now())
        .await
        .map_err(|err| VerifyDomainError::Refused(err.to_string()))?;
    Ok(format!(
        "{domain} is now verified for {} ({public_id}).\n",
        org.name
    ))
}

#[derive(Debug, thiserror::Error)]
pub enum ResetFactorsError {
    #[error("no account has the email {0}")]
    NoSuchUser(String),
    #[error(transparent)]
    Database(#[from] sea_orm::DbErr),
}

/// `server reset-factors EMAIL`: removes every second factor of an account and signs it out
/// everywhere, after platform staff checked who is asking some other way. Audited in the
/// account's organizations that require two-factor authentication; the address is told.
pub async fn reset_factors(
    db: &DatabaseConnection,
    settings: &app::server::Settings,
    email: &str,
) -> Result<String, ResetFactorsError> {
    use app::{accounts::rules::normalize_email, server::entities::user};
    use sea_orm::TransactionTrait;

    let found = user::Entity::find()
        .filter(user::Column::EmailNormalized.eq(normalize_email(email)))
        .one(db)
        .await?
        .ok_or_else(|| ResetFactorsError::NoSuchUser(email.to_string()))?;
    let txn = db.begin().await?;
    let had =
        app::identity::factors::reset_by_staff(&txn, settings, &found, chrono::Utc::now()).await?;
    txn.commit().await?;
    tracing::info!(
        user_id = found.id,
        "platform staff removed every second factor of an account"
    );
    Ok(if had {
        format!(
            "Every second factor of {} was removed and every session signed out; the address was told.\n",
            found.email
        )
    } else {
        format!(
            "{} had no second factor; every session was signed out and the address was told.\n",
            found.email
        )
    })
}
