//! Platform staff commands: list organizations, and move one to another account stage
//! (organizations cannot change their own stage).

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
            org.public_id, org.stage, members, org.name
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
        .col_expr(organization::Column::Stage, Expr::value(stage.as_str()))
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
