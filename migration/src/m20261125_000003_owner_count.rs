//! `organizations.owner_count`: the rule "an organization never has zero owners" in the
//! database. Demoting or removing an owner lowers it only `WHERE owner_count > 1`, which also
//! locks the organization's row, so two owners demoting each other at once leave one; the
//! CHECK refuses zero whatever the code does.

use sea_orm_migration::{prelude::*, schema::*};

use super::m20261124_000002_organizations::Organizations;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum OwnerCount {
    OwnerCount,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Organizations::Table)
                    .add_column(
                        integer(OwnerCount::OwnerCount)
                            .default(1)
                            .check(Expr::cust("owner_count >= 1")),
                    )
                    .to_owned(),
            )
            .await?;
        // Organizations created before this column count their owners now.
        manager
            .get_connection()
            .execute_unprepared(
                "UPDATE organizations SET owner_count = (SELECT count(*) FROM memberships \
                 WHERE memberships.organization_id = organizations.id AND role = 'owner') \
                 WHERE EXISTS (SELECT 1 FROM memberships WHERE memberships.organization_id = organizations.id AND role = 'owner')",
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Organizations::Table)
                    .drop_column(OwnerCount::OwnerCount)
                    .to_owned(),
            )
            .await
    }
}
