//! `organizations.member_count`: how many members an organization has, kept by the
//! database itself (a trigger on `memberships`), so the Users tab need not count 100,000
//! rows on every request and no code path (joins, removals, leaving, SSO, staff, deleted
//! accounts, cascades) can let it drift. Memberships never move between organizations, so
//! inserts and deletes are all there is to count.

use sea_orm_migration::{prelude::*, schema::*, sea_orm::DatabaseBackend};

use super::m20261124_000002_organizations::Organizations;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum MemberCount {
    MemberCount,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Organizations::Table)
                    .add_column(
                        integer(MemberCount::MemberCount)
                            .default(0)
                            .check(Expr::cust("member_count >= 0")),
                    )
                    .to_owned(),
            )
            .await?;
        let db = manager.get_connection();
        db.execute_unprepared(
            "UPDATE organizations SET member_count = (SELECT count(*) FROM memberships \
             WHERE memberships.organization_id = organizations.id)",
        )
        .await?;
        match manager.get_database_backend() {
            DatabaseBackend::Postgres => {
                db.execute_unprepared(
                    "CREATE FUNCTION count_memberships() RETURNS trigger LANGUAGE plpgsql AS $$ \
                     BEGIN \
                       IF TG_OP = 'INSERT' THEN \
                         UPDATE organizations SET member_count = member_count + 1 \
                           WHERE id = NEW.organization_id; \
                       ELSE \
                         UPDATE organizations SET member_count = member_count - 1 \
                           WHERE id = OLD.organization_id; \
                       END IF; \
                       RETURN NULL; \
                     END $$",
                )
                .await?;
                db.execute_unprepared(
                    "CREATE TRIGGER memberships_count AFTER INSERT OR DELETE ON memberships \
                     FOR EACH ROW EXECUTE FUNCTION count_memberships()",
                )
                .await?;
            }
            _ => {
                db.execute_unprepared(
                    "CREATE TRIGGER memberships_count_insert AFTER INSERT ON memberships BEGIN \
                     UPDATE organizations SET member_count = member_count + 1 \
                     WHERE id = NEW.organization_id; END",
                )
                .await?;
                db.execute_unprepared(
                    "CREATE TRIGGER memberships_count_delete AFTER DELETE ON memberships BEGIN \
                     UPDATE organizations SET member_count = member_count - 1 \
                     WHERE id = OLD.organization_id; END",
                )
                .await?;
            }
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        match manager.get_database_backend() {
            DatabaseBackend::Postgres => {
                db.execute_unprepared("DROP TRIGGER IF EXISTS memberships_count ON memberships")
                    .await?;
                db.execute_unprepared("DROP FUNCTION IF EXISTS count_memberships()")
                    .await?;
            }
            _ => {
                db.execute_unprepared("DROP TRIGGER IF EXISTS memberships_count_insert")
                    .await?;
                db.execute_unprepared("DROP TRIGGER IF EXISTS memberships_count_delete")
                    .await?;
            }
        }
        manager
            .alter_table(
                Table::alter()
                    .table(Organizations::Table)
                    .drop_column(MemberCount::MemberCount)
                    .to_owned(),
            )
            .await
    }
}
