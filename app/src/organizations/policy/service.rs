//! (ssr) The organization's security policy: who lacks a second factor, requiring one (with
//! the members' notices), and the passkey rule for owners and admins. Each change writes
//! its audit event in its transaction. The callers check the role and the fresh proof.

use chrono::{DateTime, Utc};
use sea_orm::{
    sea_query::Expr, ColumnTrait, ConnectionTrait, EntityTrait, FromQueryResult, PaginatorTrait,
    QueryFilter, QuerySelect, TransactionTrait,
};

use super::views::{MemberWithoutTwoFactor, OwnerSecurityView, SecurityView};
use crate::{
    audit::{
        events::EventKind,
        service::{Actor, NewEvent},
    },
    error::AppError,
    members::roles::Role,
    server::{
        entities::{membership, organization, user},
        locks::lock_organization,
        mail, AppState, SignedIn,
    },
};

/// How many members without two-factor authentication the section lists by name.
const LISTED: u64 = 100;

/// The members of `organization_id` whose accounts have no second factor, by name.
fn without_two_factor(
    organization_id: i32,
) -> sea_orm::Select<crate::server::entities::membership::Entity> {
    use crate::server::entities::{membership, user};
    use sea_orm::{
        sea_query::Expr, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
        RelationTrait,
    };

    membership::Entity::find()
        .filter(membership::Column::OrganizationId.eq(organization_id))
        .join(
            sea_orm::JoinType::InnerJoin,
            membership::Relation::User.def(),
        )
        .filter(
            crate::server::second_factor::has_second_factor_of(
                Expr::col((membership::Entity, membership::Column::UserId)).into(),
            )
            .not(),
        )
        .order_by_asc(user::Column::Name)
        .order_by_asc(membership::Column::Id)
}

/// The Security section of `org` as a member with `role` sees it: owners also see who has
/// no second factor yet.
pub async fn security_view(
    db: &impl ConnectionTrait,
    org: organization::Model,
    sees_members: bool,
) -> Result<SecurityView, AppError> {
    let owner = if sees_members {
        #[derive(FromQueryResult)]
        struct Row {
            name: String,
            email: String,
            role: Role,
        }
        let listed = without_two_factor(org.id)
            .select_only()
            .column(user::Column::Name)
            .column(user::Column::Email)
            .column(membership::Column::Role)
            .limit(LISTED)
            .into_model::<Row>()
            .all(db)
            .await?;
        Some(OwnerSecurityView {
            without_two_factor_count: without_two_factor(org.id).count(db).await?,
            without_two_factor: listed
                .into_iter()
                .map(|row| MemberWithoutTwoFactor {
                    name: row.name,
                    email: row.email,
                    role: row.role,
                })
                .collect(),
        })
    } else {
        None
    };
    Ok(SecurityView {
        public_id: org.public_id,
        required_since: org.two_factor_required_at.map(|at| at.to_rfc3339()),
        deadline: org.two_factor_deadline.map(|at| at.to_rfc3339()),
        passkeys_for_admins: org.passkeys_for_admins,
        owner,
    })
}

/// Requires a second factor of every member of `org` from now, with `days` of grace: the
/// members without one are emailed. Refused when it is already required.
pub async fn require_two_factor(
    state: &AppState,
    db: &impl TransactionTrait,
    org: &organization::Model,
    me: &Actor,
    days: u32,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    let deadline = now + chrono::Duration::days(days.into());
    let txn = db.begin().await?;
    lock_organization(&txn, org.id).await?;
    let changed = organization::Entity::update_many()
        .col_expr(organization::Column::TwoFactorRequiredAt, Expr::value(now))
        .col_expr(
            organization::Column::TwoFactorDeadline,
            Expr::value(deadline),
        )
        .col_expr(organization::Column::UpdatedAt, Expr::value(now))
        .filter(organization::Column::Id.eq(org.id))
        .filter(organization::Column::TwoFactorRequiredAt.is_null())
        .exec(&txn)
        .await?;
    if changed.rows_affected == 0 {
        return Err(AppError::Forbidden(
            "Two-factor authentication is already required.".into(),
        ));
    }
    let deadline_text = deadline.format("%B %-d, %Y at %H:%M UTC").to_string();
    NewEvent::of(org.id, me, EventKind::TwoFactorRequired)
        .about(&deadline_text)
        .record(&txn, now)
        .await?;
    #[derive(FromQueryResult)]
    struct Recipient {
        name: String,
        email: String,
    }
    let recipients = without_two_factor(org.id)
        .select_only()
        .column(user::Column::Name)
        .column(user::Column::Email)
        .into_model::<Recipient>()
        .all(&txn)
        .await?;
    let settings_link = state.settings.link("/settings");
    for recipient in recipients {
        let when = if days == 0 {
            format!(
                "From now on you cannot open {} until you set one up.",
                org.name
            )
        } else {
            format!(
                "Set one up by {deadline_text}. After that you keep your membership, but cannot open {} until you do.",
                org.name
            )
        };
        // Past the address's daily limit the notice waits for the banner to say it.
        let _queued = mail::enqueue(
            &txn,
            mail::plain_notice(
                &recipient.email,
                format!("{} requires two-factor authentication", org.name),
                format!(
                    "Hello {},\n\n{} ({}) now requires two-factor authentication of its members on Orgdesk. {when}\n\nSet up an authenticator app in User Settings: {settings_link}",
                    recipient.name,
                    me.display_name(),
                    org.name
                ),
            ),
            now,
        )
        .await?;
    }
    txn.commit().await?;
    state.wake_mail_worker();
    Ok(())
}

/// Stops requiring a second factor of `org`'s members. Refused when it is not required.
pub async fn stop_requiring_two_factor(
    db: &impl TransactionTrait,
    org: &organization::Model,
    me: &Actor,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    let txn = db.begin().await?;
    let changed = organization::Entity::update_many()
        .col_expr(
            organization::Column::TwoFactorRequiredAt,
            Expr::value(Option::<chrono::DateTime<chrono::Utc>>::None),
        )
        .col_expr(
            organization::Column::TwoFactorDeadline,
            Expr::value(Option::<chrono::DateTime<chrono::Utc>>::None),
        )
        .col_expr(organization::Column::UpdatedAt, Expr::value(now))
        .filter(organization::Column::Id.eq(org.id))
        .filter(organization::Column::TwoFactorRequiredAt.is_not_null())
        .exec(&txn)
        .await?;
    if changed.rows_affected == 0 {
        return Err(AppError::Forbidden(
            "Two-factor authentication is not required.".into(),
        ));
    }
    NewEvent::of(org.id, me, EventKind::TwoFactorNotRequired)
        .record(&txn, now)
        .await?;
    txn.commit().await?;
    Ok(())
}

/// Sets whether `org`'s owners and admins must sign in with a passkey (audited when it
/// changes; setting it to what it is changes nothing).
pub async fn set_passkeys_for_admins(
    db: &impl TransactionTrait,
    org: &organization::Model,
    me: &SignedIn,
    required: bool,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    let txn = db.begin().await?;
    let changed = organization::Entity::update_many()
        .col_expr(
            organization::Column::PasskeysForAdmins,
            Expr::value(required),
        )
        .col_expr(organization::Column::UpdatedAt, Expr::value(now))
        .filter(organization::Column::Id.eq(org.id))
        .filter(organization::Column::PasskeysForAdmins.eq(!required))
        .exec(&txn)
        .await?;
    if changed.rows_affected == 1 {
        NewEvent::new(
            org.id,
            me,
            if required {
                EventKind::PasskeysRequired
            } else {
                EventKind::PasskeysNotRequired
            },
        )
        .record(&txn, now)
        .await?;
    }
    txn.commit().await?;
    Ok(())
}
