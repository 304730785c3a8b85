//! `member_search_terms`: the words the Users tab search finds members by (their name's
//! words, their address and its parts; `members::rules::search_terms`), one row each, under
//! an index on (organization_id, term). A search word is a prefix range on that index
//! instead of a substring scan of every member. PostgreSQL compares the terms byte by byte
//! (`COLLATE "C"`), as SQLite does, so a range from `w` to `w` + U+10FFFF is exactly the
//! terms starting with `w`. The server fills in the terms of existing members at start.

use sea_orm_migration::{prelude::*, schema::*, sea_orm::DatabaseBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum MemberSearchTerms {
    Table,
    Id,
    OrganizationId,
    MembershipId,
    Term,
}

#[derive(DeriveIden)]
enum Memberships {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Organizations {
    Table,
    Id,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let mut term = ColumnDef::new(MemberSearchTerms::Term);
        term.string_len(254).not_null();
        if manager.get_database_backend() == DatabaseBackend::Postgres {
            term.extra("COLLATE \"C\"");
        }
        manager
            .create_table(
                Table::create()
                    .table(MemberSearchTerms::Table)
                    .col(pk_auto(MemberSearchTerms::Id))
                    .col(integer(MemberSearchTerms::OrganizationId))
                    .col(integer(MemberSearchTerms::MembershipId))
                    .col(&mut term)
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_member_search_terms_membership")
                            .from(MemberSearchTerms::Table, MemberSearchTerms::MembershipId)
                            .to(Memberships::Table, Memberships::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_member_search_terms_organization")
                            .from(MemberSearchTerms::Table, MemberSearchTerms::OrganizationId)
                            .to(Organizations::Table, Organizations::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_member_search_terms_lookup")
                    .table(MemberSearchTerms::Table)
                    .col(MemberSearchTerms::OrganizationId)
                    .col(MemberSearchTerms::Term)
                    .col(MemberSearchTerms::MembershipId)
                    .to_owned(),
            )
            .await?;
        // One row per term and member (several servers may fill in at start at once), and
        // the way to a member's terms when its name changes.
        manager
            .create_index(
                Index::create()
                    .name("idx_member_search_terms_member")
                    .table(MemberSearchTerms::Table)
                    .col(MemberSearchTerms::MembershipId)
                    .col(MemberSearchTerms::Term)
                    .unique()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(MemberSearchTerms::Table).to_owned())
            .await
    }
}
