//! Known devices, the SSO hand-off page and who acted in the audit log.
//!
//! - `known_devices`: a browser that signed in to an account with its password before (a
//!   device cookie, stored as SHA-256). Its attempts count against the device, not the
//!   account, so strangers' wrong passwords cannot lock the owner out of their own browsers.
//! - `sso_logins.authorization_url`: where the Orgdesk hand-off page sends the browser, so
//!   forms never post to another origin (`form-action 'self'`).
//! - `audit_events.actor_kind`: `user`, `system` (Orgdesk itself) or `staff`. A system
//!   event is marked as one, and a deleted account shows as "(deleted account)", never as
//!   the name someone chose. Rows written before it have no kind: those without an actor
//!   and with one of the two names Orgdesk used become `system` or `staff`.
//!
//! SQLite's audit table rebuild (`replace_audit_kind_check`) copies a fixed column list:
//! a later rebuild must copy `actor_kind` too.

use sea_orm_migration::{prelude::*, schema::*};

use super::m20261123_000001_accounts::Users;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(KnownDevices::Table)
                    .col(pk_auto(KnownDevices::Id))
                    .col(
                        string_len_uniq(KnownDevices::TokenHash, 64)
                            .check(Expr::cust("length(token_hash) = 64")),
                    )
                    .col(integer(KnownDevices::UserId))
                    .col(timestamp_with_time_zone(KnownDevices::CreatedAt))
                    .col(timestamp_with_time_zone(KnownDevices::LastUsedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_known_devices_user")
                            .from(KnownDevices::Table, KnownDevices::UserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_known_devices_user")
                    .table(KnownDevices::Table)
                    .col(KnownDevices::UserId)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(SsoLogins::Table)
                    .add_column(text_null(SsoLogins::AuthorizationUrl))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(AuditEvents::Table)
                    .add_column(
                        string_len(AuditEvents::ActorKind, 10)
                            .default("user")
                            .check(Expr::cust("actor_kind IN ('user', 'system', 'staff')")),
                    )
                    .to_owned(),
            )
            .await?;
        let db = manager.get_connection();
        db.execute_unprepared(
            "UPDATE audit_events SET actor_kind = 'system' \
             WHERE actor_id IS NULL AND actor_name = 'Orgdesk'",
        )
        .await?;
        db.execute_unprepared(
            "UPDATE audit_events SET actor_kind = 'staff' \
             WHERE actor_id IS NULL AND actor_name = 'Platform staff'",
        )
        .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(AuditEvents::Table)
                    .drop_column(AuditEvents::ActorKind)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(SsoLogins::Table)
                    .drop_column(SsoLogins::AuthorizationUrl)
                    .to_owned(),
            )
            .await?;
        manager
            .drop_table(Table::drop().table(KnownDevices::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum KnownDevices {
    Table,
    Id,
    TokenHash,
    UserId,
    CreatedAt,
    LastUsedAt,
}

#[derive(DeriveIden)]
enum SsoLogins {
    Table,
    AuthorizationUrl,
}

#[derive(DeriveIden)]
enum AuditEvents {
    Table,
    ActorKind,
}
