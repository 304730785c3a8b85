//! Organization Profile → Settings → Security: owners require two-factor authentication of
//! every member. Members without it hear by email and see a banner during the grace period
//! the owner picks (0–14 days); after it they keep the membership but cannot open the
//! organization until they set one up (enforced in `service::enforce_two_factor_policy`).

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::{
    error::AppError,
    members::roles::Role,
    ui::{
        form::{form_error, FormAlert, SubmitButton},
        list::time_of,
    },
};

/// The longest grace period an owner may give.
pub const MAX_GRACE_DAYS: u32 = 14;

/// A member who has no second factor yet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberWithoutTwoFactor {
    pub name: String,
    pub email: String,
    pub role: Role,
}

/// The Security section as the current organization's members see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecurityView {
    pub public_id: String,
    /// RFC 3339: since when two-factor authentication is required, if it is.
    pub required_since: Option<String>,
    /// RFC 3339: from when members without it are kept out.
    pub deadline: Option<String>,
    /// Owners and admins must sign in with a passkey.
    pub passkeys_for_admins: bool,
    /// Owners only: who is not compliant yet (the first 100) and how many in all.
    pub owner: Option<OwnerSecurityView>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OwnerSecurityView {
    pub without_two_factor: Vec<MemberWithoutTwoFactor>,
    pub without_two_factor_count: u64,
}

/// How many members without two-factor authentication the section lists by name.
#[cfg(feature = "ssr")]
const LISTED: u64 = 100;

/// The members of `organization_id` whose accounts have no second factor, by name.
#[cfg(feature = "ssr")]
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

/// The Security section of the current organization.
#[server(endpoint = "organizations/security")]
pub async fn current_security_settings() -> Result<Option<SecurityView>, AppError> {
    use super::service::{authorize_current, Authorized};
    use crate::{members::roles::Action, server::entities::user};
    use sea_orm::{FromQueryResult, PaginatorTrait, QuerySelect};

    let Some(Authorized {
        state, org, role, ..
    }) = authorize_current(Action::ViewOrganization).await?
    else {
        return Ok(None);
    };
    let owner = if role.allows(Action::ManageSecurity) {
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
            .column(crate::server::entities::membership::Column::Role)
            .limit(LISTED)
            .into_model::<Row>()
            .all(&state.reader)
            .await?;
        Some(OwnerSecurityView {
            without_two_factor_count: without_two_factor(org.id).count(&state.reader).await?,
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
    Ok(Some(SecurityView {
        public_id: org.public_id,
        required_since: org.two_factor_required_at.map(|at| at.to_rfc3339()),
        deadline: org.two_factor_deadline.map(|at| at.to_rfc3339()),
        passkeys_for_admins: org.passkeys_for_admins,
        owner,
    }))
}

/// **Require two-factor authentication** (owners): members without it get an email and
/// `grace_days` (0–14) to set it up; after that they cannot open the organization.
#[server(endpoint = "organizations/require_two_factor")]
pub async fn require_two_factor(
    organization_id: String,
    grace_days: String,
) -> Result<(), AppError> {
    use super::service::{authorize_request, lock_organization, Authorized};
    use crate::{
        audit::{events::EventKind, service::NewEvent},
        members::roles::Action,
        server::{
            entities::{organization, user},
            mail,
        },
    };
    use sea_orm::{
        sea_query::Expr, ColumnTrait, EntityTrait, FromQueryResult, QueryFilter, QuerySelect,
        TransactionTrait,
    };

    let days = grace_days
        .trim()
        .parse::<u32>()
        .ok()
        .filter(|days| *days <= MAX_GRACE_DAYS)
        .ok_or_else(|| {
            AppError::field(
                "grace_days",
                format!("Grace period must be a whole number of days from 0 to {MAX_GRACE_DAYS}."),
            )
        })?;
    let Authorized {
        state,
        user: me,
        org,
        ..
    } = authorize_request(&organization_id, Action::ManageSecurity).await?;
    // The owner who requires it goes first (and cannot lock themselves out).
    if !me.meets_two_factor_policy() {
        return Err(AppError::Forbidden(
            "Set up two-factor authentication for your own account first (User Settings → Two-factor authentication).".into(),
        ));
    }
    let now = chrono::Utc::now();
    let deadline = now + chrono::Duration::days(days.into());
    let txn = state.db.begin().await?;
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
    NewEvent::new(org.id, &me, EventKind::TwoFactorRequired)
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
                    recipient.name, me.name, org.name
                ),
            ),
            now,
        )
        .await?;
    }
    txn.commit().await?;
    state.wake_mail_worker();
    leptos_axum::redirect("/organization/profile?tab=settings&saved=two-factor-required");
    Ok(())
}

/// **Stop requiring two-factor authentication** (owners).
#[server(endpoint = "organizations/stop_requiring_two_factor")]
pub async fn stop_requiring_two_factor(organization_id: String) -> Result<(), AppError> {
    use super::service::{authorize_request, Authorized};
    use crate::{
        audit::{events::EventKind, service::NewEvent},
        members::roles::Action,
        server::entities::organization,
    };
    use sea_orm::{sea_query::Expr, ColumnTrait, EntityTrait, QueryFilter, TransactionTrait};

    let Authorized {
        state,
        user: me,
        org,
        ..
    } = authorize_request(&organization_id, Action::ManageSecurity).await?;
    let now = chrono::Utc::now();
    crate::identity::proofs::require_fresh_proof(&me, now)?;
    let txn = state.db.begin().await?;
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
    NewEvent::new(org.id, &me, EventKind::TwoFactorNotRequired)
        .record(&txn, now)
        .await?;
    txn.commit().await?;
    leptos_axum::redirect("/organization/profile?tab=settings&saved=two-factor-not-required");
    Ok(())
}

/// **Require passkeys of owners and admins** (owners), or stop: owners and admins then open
/// the organization only from a session signed in with a passkey. The owner who switches it
/// on must be in such a session (no lock-out).
#[server(endpoint = "organizations/set_passkeys_for_admins")]
pub async fn set_passkeys_for_admins(
    organization_id: String,
    required: String,
) -> Result<(), AppError> {
    use super::service::{authorize_request, Authorized};
    use crate::{
        accounts::rules::SecondFactor,
        audit::{events::EventKind, service::NewEvent},
        members::roles::Action,
        server::entities::organization,
    };
    use sea_orm::{sea_query::Expr, ColumnTrait, EntityTrait, QueryFilter, TransactionTrait};

    let required = match required.trim() {
        "true" => true,
        "false" => false,
        _ => {
            return Err(AppError::field(
                "required",
                "Required must be true or false.",
            ))
        }
    };
    let Authorized {
        state,
        user: me,
        org,
        ..
    } = authorize_request(&organization_id, Action::ManageSecurity).await?;
    if !required {
        crate::identity::proofs::require_fresh_proof(&me, chrono::Utc::now())?;
    }
    if required && me.second_factor != Some(SecondFactor::Passkey) {
        return Err(AppError::Forbidden(
            "Sign in with a passkey first (add one in User Settings, log out, and sign in with it): otherwise this would lock you out.".into(),
        ));
    }
    let now = chrono::Utc::now();
    let txn = state.db.begin().await?;
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
            &me,
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
    leptos_axum::redirect(if required {
        "/organization/profile?tab=settings&saved=passkeys-required"
    } else {
        "/organization/profile?tab=settings&saved=passkeys-not-required"
    });
    Ok(())
}

/// The section's loaded settings and its actions, made outside the page's Suspend.
#[derive(Clone, Copy)]
pub struct SecurityState {
    require: ServerAction<RequireTwoFactor>,
    stop: ServerAction<StopRequiringTwoFactor>,
    passkeys: ServerAction<SetPasskeysForAdmins>,
    settings: Resource<Result<Option<SecurityView>, AppError>>,
}

impl SecurityState {
    /// `shown`: whether the Settings tab is open (the settings load only then).
    pub fn new(shown: Memo<bool>) -> Self {
        Self {
            require: ServerAction::<RequireTwoFactor>::new(),
            stop: ServerAction::<StopRequiringTwoFactor>::new(),
            passkeys: ServerAction::<SetPasskeysForAdmins>::new(),
            settings: Resource::new(
                move || shown.get(),
                |shown| async move {
                    if shown {
                        current_security_settings().await
                    } else {
                        Ok(None)
                    }
                },
            ),
        }
    }
}

/// Organization Profile → Settings → Security.
#[component]
pub fn SecuritySection(state: SecurityState) -> impl IntoView {
    let query = leptos_router::hooks::use_query_map();
    let notice = move || {
        query.with(|q| match q.get("saved").as_deref() {
            Some("two-factor-required") => {
                Some("Two-factor authentication is now required. Members without it were emailed.")
            }
            Some("two-factor-not-required") => {
                Some("Two-factor authentication is no longer required.")
            }
            _ => None,
        })
    };
    let SecurityState {
        require,
        stop,
        passkeys,
        settings,
    } = state;
    view! {
        <section class="card" aria-labelledby="security-heading">
            <h2 id="security-heading">"Security"</h2>
            {move || notice().map(|text| view! { <p class="notice" role="status">{text}</p> })}
            <Transition fallback=|| view! { <p>"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match settings.await {
                        Ok(Some(view)) => view! { <SecuritySettings view require stop passkeys /> }.into_any(),
                        Ok(None) => ().into_any(),
                        Err(err) => view! { <p role="alert">{err.to_string()}</p> }.into_any(),
                    }
                })}
            </Transition>
        </section>
    }
}

#[component]
fn SecuritySettings(
    view: SecurityView,
    require: ServerAction<RequireTwoFactor>,
    stop: ServerAction<StopRequiringTwoFactor>,
    passkeys: ServerAction<SetPasskeysForAdmins>,
) -> impl IntoView {
    let status = match (&view.required_since, &view.deadline) {
        (Some(since), Some(deadline)) => format!(
            "Two-factor authentication is required of every member since {}. Members without it are kept out from {} (they keep their membership).",
            time_of(since),
            time_of(deadline)
        ),
        _ => "Two-factor authentication is not required. Each member chooses for their own account.".to_string(),
    };
    let required = view.required_since.is_some();
    let public_id = view.public_id.clone();
    let passkeys_required = view.passkeys_for_admins;
    let passkey_status = if passkeys_required {
        "Owners and admins must sign in with a passkey to open this organization."
    } else {
        "Owners and admins may sign in with any second factor."
    };
    let owner_may_change = view.owner.is_some();
    let passkeys_org = view.public_id.clone();
    view! {
        <p>{status}</p>
        <p>{passkey_status}</p>
        {owner_may_change.then(|| view! {
            <ActionForm action=passkeys>
                <FormAlert message=form_error(passkeys.value()) />
                <input type="hidden" name="organization_id" value=passkeys_org />
                <input type="hidden" name="required" value=if passkeys_required { "false" } else { "true" } />
                <p class="field-hint">"Codes from an authenticator app can be phished; a passkey answers only this site."</p>
                <SubmitButton
                    label=if passkeys_required { "Stop requiring passkeys of owners and admins" } else { "Require passkeys of owners and admins" }
                    busy_label="Saving…"
                    class="button"
                />
            </ActionForm>
        })}
        {match view.owner {
            None => view! { <p class="field-hint">"Only owners can change this."</p> }.into_any(),
            Some(owner) => view! {
                <MembersWithoutTwoFactor owner />
                {if required {
                    view! {
                        <ActionForm action=stop>
                            <FormAlert message=form_error(stop.value()) />
                            <input type="hidden" name="organization_id" value=public_id />
                            <SubmitButton label="Stop requiring two-factor authentication" busy_label="Saving…" class="button danger" />
                        </ActionForm>
                    }
                        .into_any()
                } else {
                    view! {
                        <ActionForm action=require>
                            <FormAlert message=form_error(require.value()) />
                            <input type="hidden" name="organization_id" value=public_id />
                            <div class="field">
                                <label for="grace-days">"Grace period"</label>
                                <p class="field-hint" id="grace-days-hint">"How long members without two-factor authentication have to set it up. They get an email now, and a banner until then."</p>
                                <select id="grace-days" name="grace_days" aria-describedby="grace-days-hint">
                                    {(0..=MAX_GRACE_DAYS)
                                        .map(|days| {
                                            let label = match days {
                                                0 => "None: from now on".to_string(),
                                                1 => "1 day".to_string(),
                                                n => format!("{n} days"),
                                            };
                                            view! { <option value=days.to_string() selected=days == 7>{label}</option> }
                                        })
                                        .collect_view()}
                                </select>
                            </div>
                            <SubmitButton label="Require two-factor authentication" busy_label="Saving…" />
                        </ActionForm>
                    }
                        .into_any()
                }}
            }
                .into_any(),
        }}
    }
}

/// Who is not compliant yet: name, email and role.
#[component]
fn MembersWithoutTwoFactor(owner: OwnerSecurityView) -> impl IntoView {
    if owner.without_two_factor_count == 0 {
        return view! { <p>"Every member has two-factor authentication."</p> }.into_any();
    }
    let count = owner.without_two_factor_count;
    let shown = owner.without_two_factor.len() as u64;
    view! {
        <p>
            {format!(
                "{count} member{} without two-factor authentication{}:",
                if count == 1 { "" } else { "s" },
                if shown < count { format!(" (the first {shown} by name)") } else { String::new() }
            )}
        </p>
        <table class="table">
            <caption class="visually-hidden">"Members without two-factor authentication"</caption>
            <thead>
                <tr>
                    <th scope="col">"Name"</th>
                    <th scope="col">"Email"</th>
                    <th scope="col">"Role"</th>
                </tr>
            </thead>
            <tbody>
                {owner
                    .without_two_factor
                    .into_iter()
                    .map(|member| view! {
                        <tr>
                            <th scope="row">{member.name}</th>
                            <td>{member.email}</td>
                            <td>{member.role.label()}</td>
                        </tr>
                    })
                    .collect_view()}
            </tbody>
        </table>
    }
    .into_any()
}
