//! Every column Orgdesk keeps sealed with the server's key, in one place: what binds each
//! value to its row (the context), and sealing them all again with the current key after a
//! rotation or at start. A column sealed anywhere else would be left under an old key.

use chrono::Utc;
use sea_orm::{sea_query::Expr, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter};

use super::{
    entities::{recovery_code_reveal, sso_connection, totp_authenticator, webhook_secret},
    secrets::{SecretError, Secrets},
};

/// An identity provider's client secret, bound to its organization and its issuer: a
/// secret never opens for another provider (an issuer changed in the database, say).
pub fn sso_client_secret_context(organization_id: i32, issuer_url: &str) -> String {
    format!("sso_connections.client_secret:{organization_id}:{issuer_url}")
}

/// Client secrets sealed before they were bound to their issuer; resealed at start.
fn legacy_sso_client_secret_context(organization_id: i32) -> String {
    format!("sso_connections.client_secret:{organization_id}")
}

/// An authenticator app's secret, bound to its account (a sealed value copied to another
/// row does not open).
pub fn authenticator_secret_context(user_id: i32) -> String {
    format!("totp_authenticators.user_id:{user_id}")
}

/// A webhook endpoint's signing secret, bound to its endpoint.
pub fn webhook_secret_context(endpoint_id: i32) -> String {
    format!("webhook_secrets.endpoint_id:{endpoint_id}")
}

/// New recovery codes waiting to be shown, bound to their account.
pub fn recovery_reveal_context(user_id: i32) -> String {
    format!("recovery_code_reveals.user_id:{user_id}")
}

#[derive(Debug, thiserror::Error)]
pub enum ResealError {
    #[error(transparent)]
    Database(#[from] DbErr),
    #[error("{what} cannot be opened: {source}")]
    Secret {
        what: &'static str,
        source: SecretError,
    },
}

/// The sealed columns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SealedColumn {
    ClientSecret,
    AuthenticatorSecret,
    RecoveryReveal,
    WebhookSecret,
}

impl SealedColumn {
    /// What an error names.
    fn what(self) -> &'static str {
        match self {
            SealedColumn::ClientSecret => "an identity provider's client secret",
            SealedColumn::AuthenticatorSecret => "an authenticator app's secret",
            SealedColumn::RecoveryReveal => "new recovery codes",
            SealedColumn::WebhookSecret => "a webhook endpoint's signing secret",
        }
    }
}

/// One sealed value as stored: its column, its row's key, the value and its context (and
/// the context it may still be sealed under from an older version).
struct Stored {
    column: SealedColumn,
    id: i32,
    value: String,
    context: String,
    legacy_context: Option<String>,
}

/// Seals every sealed column's values that are not sealed with the current key (all of
/// them after a rotation, any stored in the clear before sealing existed). Each update is
/// conditional on the value it read, so several servers starting at once do not seal a
/// value twice. A value that cannot be opened stops it, naming the key it needs: the server
/// must not start and fail later at a sign-in. Recovery-code reveals past their time are
/// dropped first (nobody can see them any more). Returns how many were sealed again.
pub async fn reseal_all(
    db: &impl ConnectionTrait,
    secrets: &Secrets,
) -> Result<usize, ResealError> {
    recovery_code_reveal::Entity::delete_many()
        .filter(recovery_code_reveal::Column::ExpiresAt.lte(Utc::now()))
        .exec(db)
        .await?;
    let mut stored = Vec::new();
    for row in sso_connection::Entity::find().all(db).await? {
        stored.push(Stored {
            column: SealedColumn::ClientSecret,
            id: row.id,
            context: sso_client_secret_context(row.organization_id, &row.issuer_url),
            legacy_context: Some(legacy_sso_client_secret_context(row.organization_id)),
            value: row.client_secret,
        });
    }
    for row in totp_authenticator::Entity::find().all(db).await? {
        stored.push(Stored {
            column: SealedColumn::AuthenticatorSecret,
            id: row.id,
            context: authenticator_secret_context(row.user_id),
            legacy_context: None,
            value: row.secret_sealed,
        });
    }
    for row in recovery_code_reveal::Entity::find().all(db).await? {
        stored.push(Stored {
            column: SealedColumn::RecoveryReveal,
            id: row.user_id,
            context: recovery_reveal_context(row.user_id),
            legacy_context: None,
            value: row.codes_sealed,
        });
    }
    for row in webhook_secret::Entity::find().all(db).await? {
        stored.push(Stored {
            column: SealedColumn::WebhookSecret,
            id: row.id,
            context: webhook_secret_context(row.endpoint_id),
            legacy_context: None,
            value: row.secret_sealed,
        });
    }
    let mut resealed = 0;
    for item in stored {
        // Under the current key and the current context: nothing to do.
        if secrets.is_sealed_with_current(&item.value)
            && secrets.open(&item.value, &item.context).is_ok()
        {
            continue;
        }
        // Client secrets from before sealing existed are stored in the clear.
        let plaintext =
            if item.column == SealedColumn::ClientSecret && !Secrets::is_sealed(&item.value) {
                item.value.clone()
            } else {
                secrets
                    .open(&item.value, &item.context)
                    .or_else(|err| match &item.legacy_context {
                        Some(legacy) => secrets.open(&item.value, legacy).map_err(|_| err),
                        None => Err(err),
                    })
                    .map_err(|source| ResealError::Secret {
                        what: item.column.what(),
                        source,
                    })?
            };
        let sealed = secrets.seal(&plaintext, &item.context);
        let updated = match item.column {
            SealedColumn::ClientSecret => {
                sso_connection::Entity::update_many()
                    .col_expr(sso_connection::Column::ClientSecret, Expr::value(sealed))
                    .filter(sso_connection::Column::Id.eq(item.id))
                    .filter(sso_connection::Column::ClientSecret.eq(item.value))
                    .exec(db)
                    .await?
            }
            SealedColumn::AuthenticatorSecret => {
                totp_authenticator::Entity::update_many()
                    .col_expr(
                        totp_authenticator::Column::SecretSealed,
                        Expr::value(sealed),
                    )
                    .filter(totp_authenticator::Column::Id.eq(item.id))
                    .filter(totp_authenticator::Column::SecretSealed.eq(item.value))
                    .exec(db)
                    .await?
            }
            SealedColumn::RecoveryReveal => {
                recovery_code_reveal::Entity::update_many()
                    .col_expr(
                        recovery_code_reveal::Column::CodesSealed,
                        Expr::value(sealed),
                    )
                    .filter(recovery_code_reveal::Column::UserId.eq(item.id))
                    .filter(recovery_code_reveal::Column::CodesSealed.eq(item.value))
                    .exec(db)
                    .await?
            }
            SealedColumn::WebhookSecret => {
                webhook_secret::Entity::update_many()
                    .col_expr(webhook_secret::Column::SecretSealed, Expr::value(sealed))
                    .filter(webhook_secret::Column::Id.eq(item.id))
                    .filter(webhook_secret::Column::SecretSealed.eq(item.value))
                    .exec(db)
                    .await?
            }
        };
        resealed += updated.rows_affected as usize;
    }
    Ok(resealed)
}
