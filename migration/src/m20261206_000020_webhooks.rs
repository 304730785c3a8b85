//! Webhooks: an organization's endpoints and the events delivered to them.
//!
//! - `webhook_endpoints`: a URL and the event types it wants. Disabled with a reason: by an
//!   owner, by a 410 answer (`gone`), or after three days of failures (`failing`).
//! - `webhook_secrets`: an endpoint's signing secrets, sealed with the server's key (they
//!   must be read back to sign). Rotation adds one and gives the old ones 24 hours
//!   (`expires_at`); every live secret signs. A new secret is shown once, to the session
//!   that made it (`reveal_session_id` until `reveal_until`).
//! - `webhook_messages`: each event, written in the transaction of the change it
//!   describes; its `public_id` is the `webhook-id` receivers deduplicate by.
//! - `webhook_deliveries`: a message to one endpoint, claimed by a worker with a
//!   conditional update (several processes), retried with backoff; its last answer is the
//!   delivery log.
//! - audit events: new kinds for endpoints added, removed, disabled, enabled, and
//!   secrets rotated.

use sea_orm_migration::{prelude::*, schema::*};

use super::{
    m20261124_000002_organizations::Organizations, m20261205_000018_saml::replace_kind_check,
    m20261205_000019_api_keys::AUDIT_KINDS_API,
};

pub(crate) const AUDIT_KINDS_WEBHOOKS: &str =
    "kind IN ('invited', 'resent', 'revoked', 'accepted', 'declined', \
     'role_changed', 'removed', 'left', 'created', 'profile_changed', 'logo_changed', \
     'joined', 'sso_changed', 'sso_enabled', 'sso_disabled', 'domain_added', 'domain_verified', \
     'domain_unverified', 'domain_removed', 'account_linked', 'invitation_voided', \
     'two_factor_required', 'two_factor_not_required', 'factor_added', 'factor_removed', \
     'recovery_code_used', 'blocked_by_two_factor', 'passkeys_required', \
     'passkeys_not_required', 'sso_refused', 'sso_certificate_expiring', 'member_added', \
     'api_key_created', 'api_key_first_used', 'api_key_revoked', 'api_key_expired', \
     'webhook_added', 'webhook_removed', 'webhook_disabled', 'webhook_enabled', \
     'webhook_secret_rotated')";

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(WebhookEndpoints::Table)
                    .col(pk_auto(WebhookEndpoints::Id))
                    .col(integer(WebhookEndpoints::OrganizationId))
                    .col(string_len(WebhookEndpoints::Url, 2048).check(Expr::cust("length(url) > 0")))
                    // Event types, comma separated.
                    .col(string_len(WebhookEndpoints::Events, 1000).check(Expr::cust("length(events) > 0")))
                    .col(boolean(WebhookEndpoints::Enabled))
                    .col(
                        string_len_null(WebhookEndpoints::DisabledReason, 16).check(Expr::cust(
                            "disabled_reason IN ('owner', 'gone', 'failing')",
                        )),
                    )
                    .col(timestamp_with_time_zone_null(WebhookEndpoints::DisabledAt))
                    // The first failure since the last success.
                    .col(timestamp_with_time_zone_null(WebhookEndpoints::FailingSince))
                    .col(string_len(WebhookEndpoints::CreatedByName, 200))
                    .col(timestamp_with_time_zone(WebhookEndpoints::CreatedAt))
                    .col(timestamp_with_time_zone(WebhookEndpoints::UpdatedAt))
                    .check(Expr::cust(
                        "(enabled AND disabled_reason IS NULL) OR (NOT enabled AND disabled_reason IS NOT NULL)",
                    ))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_webhook_endpoints_organization")
                            .from(WebhookEndpoints::Table, WebhookEndpoints::OrganizationId)
                            .to(Organizations::Table, Organizations::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_webhook_endpoints_organization")
                    .table(WebhookEndpoints::Table)
                    .col(WebhookEndpoints::OrganizationId)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(WebhookSecrets::Table)
                    .col(pk_auto(WebhookSecrets::Id))
                    .col(integer(WebhookSecrets::EndpointId))
                    .col(text(WebhookSecrets::SecretSealed))
                    .col(timestamp_with_time_zone(WebhookSecrets::CreatedAt))
                    .col(timestamp_with_time_zone_null(WebhookSecrets::ExpiresAt))
                    .col(integer_null(WebhookSecrets::RevealSessionId))
                    .col(timestamp_with_time_zone_null(WebhookSecrets::RevealUntil))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_webhook_secrets_endpoint")
                            .from(WebhookSecrets::Table, WebhookSecrets::EndpointId)
                            .to(WebhookEndpoints::Table, WebhookEndpoints::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_webhook_secrets_reveal_session")
                            .from(WebhookSecrets::Table, WebhookSecrets::RevealSessionId)
                            .to(Sessions::Table, Sessions::Id)
                            .on_delete(ForeignKeyAction::SetNull),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_webhook_secrets_endpoint")
                    .table(WebhookSecrets::Table)
                    .col(WebhookSecrets::EndpointId)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(WebhookMessages::Table)
                    .col(pk_auto(WebhookMessages::Id))
                    .col(integer(WebhookMessages::OrganizationId))
                    .col(string_len_uniq(WebhookMessages::PublicId, 40))
                    .col(string_len(WebhookMessages::EventType, 64))
                    .col(text(WebhookMessages::Payload))
                    .col(timestamp_with_time_zone(WebhookMessages::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_webhook_messages_organization")
                            .from(WebhookMessages::Table, WebhookMessages::OrganizationId)
                            .to(Organizations::Table, Organizations::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_webhook_messages_created")
                    .table(WebhookMessages::Table)
                    .col(WebhookMessages::CreatedAt)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(WebhookDeliveries::Table)
                    .col(pk_auto(WebhookDeliveries::Id))
                    .col(integer(WebhookDeliveries::MessageId))
                    .col(integer(WebhookDeliveries::EndpointId))
                    .col(
                        string_len(WebhookDeliveries::Status, 16)
                            .check(Expr::cust("status IN ('pending', 'succeeded', 'failed')")),
                    )
                    .col(integer(WebhookDeliveries::Attempts).check(Expr::cust("attempts >= 0")))
                    .col(timestamp_with_time_zone(WebhookDeliveries::NextAttemptAt))
                    .col(timestamp_with_time_zone_null(
                        WebhookDeliveries::ClaimedUntil,
                    ))
                    .col(timestamp_with_time_zone_null(
                        WebhookDeliveries::LastAttemptAt,
                    ))
                    .col(integer_null(WebhookDeliveries::ResponseStatus))
                    // The first 1 KiB of the receiver's answer.
                    .col(text_null(WebhookDeliveries::ResponseBody))
                    .col(string_len_null(WebhookDeliveries::LastError, 500))
                    .col(timestamp_with_time_zone(WebhookDeliveries::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_webhook_deliveries_message")
                            .from(WebhookDeliveries::Table, WebhookDeliveries::MessageId)
                            .to(WebhookMessages::Table, WebhookMessages::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_webhook_deliveries_endpoint")
                            .from(WebhookDeliveries::Table, WebhookDeliveries::EndpointId)
                            .to(WebhookEndpoints::Table, WebhookEndpoints::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        // The workers' claim: pending deliveries by due time.
        manager
            .create_index(
                Index::create()
                    .name("idx_webhook_deliveries_due")
                    .table(WebhookDeliveries::Table)
                    .col(WebhookDeliveries::Status)
                    .col(WebhookDeliveries::NextAttemptAt)
                    .to_owned(),
            )
            .await?;
        // An endpoint's delivery log, newest first.
        manager
            .create_index(
                Index::create()
                    .name("idx_webhook_deliveries_endpoint")
                    .table(WebhookDeliveries::Table)
                    .col(WebhookDeliveries::EndpointId)
                    .col(WebhookDeliveries::Id)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_webhook_deliveries_message")
                    .table(WebhookDeliveries::Table)
                    .col(WebhookDeliveries::MessageId)
                    .to_owned(),
            )
            .await?;

        replace_kind_check(manager, AUDIT_KINDS_API, AUDIT_KINDS_WEBHOOKS).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared("DELETE FROM audit_events WHERE kind LIKE 'webhook_%'")
            .await?;
        replace_kind_check(manager, AUDIT_KINDS_WEBHOOKS, AUDIT_KINDS_API).await?;
        for table in [
            WebhookDeliveries::Table.into_iden(),
            WebhookMessages::Table.into_iden(),
            WebhookSecrets::Table.into_iden(),
            WebhookEndpoints::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden)]
enum WebhookEndpoints {
    Table,
    Id,
    OrganizationId,
    Url,
    Events,
    Enabled,
    DisabledReason,
    DisabledAt,
    FailingSince,
    CreatedByName,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum WebhookSecrets {
    Table,
    Id,
    EndpointId,
    SecretSealed,
    CreatedAt,
    ExpiresAt,
    RevealSessionId,
    RevealUntil,
}

#[derive(DeriveIden)]
enum WebhookMessages {
    Table,
    Id,
    OrganizationId,
    PublicId,
    EventType,
    Payload,
    CreatedAt,
}

#[derive(DeriveIden)]
enum WebhookDeliveries {
    Table,
    Id,
    MessageId,
    EndpointId,
    Status,
    Attempts,
    NextAttemptAt,
    ClaimedUntil,
    LastAttemptAt,
    ResponseStatus,
    ResponseBody,
    LastError,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Sessions {
    Table,
    Id,
}
