//! `mail_recipients`: one row per message queued to an address (its normalized form), kept
//! a day. Sent messages leave the outbox at once (they hold links), so the daily limit of
//! messages to one address is counted here.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
pub enum MailRecipients {
    Table,
    Id,
    RecipientKey,
    QueuedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(MailRecipients::Table)
                    .col(pk_auto(MailRecipients::Id))
                    .col(string_len(MailRecipients::RecipientKey, 254))
                    .col(timestamp_with_time_zone(MailRecipients::QueuedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_mail_recipients_key_time")
                    .table(MailRecipients::Table)
                    .col(MailRecipients::RecipientKey)
                    .col(MailRecipients::QueuedAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(MailRecipients::Table).to_owned())
            .await
    }
}
