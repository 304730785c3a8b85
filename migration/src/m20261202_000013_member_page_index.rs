//! The Users tab's page of 25 member ids is read from the index alone: the index on
//! `(organization_id, member_key)` gains `id`. SQLite's indexes already end in the row id;
//! PostgreSQL's did not, so a later page (OFFSET 50,000) visited 50,000 table rows to learn
//! their ids, about 800 ms at 100,000 members.

use sea_orm_migration::prelude::*;

use super::m20261124_000002_organizations::Memberships;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum MemberKey {
    MemberKey,
}

const OLD: &str = "idx_memberships_organization_member_key";
const NEW: &str = "idx_memberships_organization_member_key_id";

fn index(name: &str, with_id: bool) -> IndexCreateStatement {
    let mut index = Index::create();
    index
        .name(name)
        .table(Memberships::Table)
        .col(Memberships::OrganizationId)
        .col(MemberKey::MemberKey);
    if with_id {
        index.col(Memberships::Id);
    }
    index.to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.create_index(index(NEW, true)).await?;
        manager
            .drop_index(Index::drop().name(OLD).table(Memberships::Table).to_owned())
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.create_index(index(OLD, false)).await?;
        manager
            .drop_index(Index::drop().name(NEW).table(Memberships::Table).to_owned())
            .await
    }
}
