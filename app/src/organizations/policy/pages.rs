//! The Security section of Organization Profile → Settings.

use leptos::prelude::*;

use super::{
    current_security_settings,
    views::{OwnerSecurityView, SecurityView, MAX_GRACE_DAYS},
    RequireTwoFactor, SetPasskeysForAdmins, StopRequiringTwoFactor,
};
use crate::{
    error::AppError,
    ui::{
        form::{form_error, FormAlert, SubmitButton},
        list::time_of,
    },
};

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
