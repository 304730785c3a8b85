//! `/not-me?token=…`: the **This wasn't me — remove it** link every "factor added" email
//! carries. Opening it changes nothing; its button removes that factor and signs out every
//! session of the account, and signs no one in.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;
use serde::{Deserialize, Serialize};

use crate::{
    error::AppError,
    ui::form::{form_error, FormAlert, SubmitButton},
    ui::layout::AuthCard,
};

/// What a **This wasn't me** link would remove.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FactorToRemove {
    /// The account's address.
    pub email: String,
    /// "an authenticator app", "a passkey (Work laptop)".
    pub factor: String,
}

#[cfg(feature = "ssr")]
fn link_not_valid() -> AppError {
    AppError::Forbidden(
        "This link is not valid: it was used already, it has expired (links work for 7 days), or the factor it names was already removed.".into(),
    )
}

/// The factor and account a link names (reading it changes nothing).
#[server(endpoint = "accounts/unrecognized_factor")]
pub async fn unrecognized_factor(token: String) -> Result<FactorToRemove, AppError> {
    let state = crate::server::app_state()?;
    let (_, account, factor) =
        crate::identity::factors::revocation_of(&state.reader, &token, chrono::Utc::now())
            .await?
            .ok_or_else(link_not_valid)?;
    Ok(FactorToRemove {
        email: account.email,
        factor: factor.described(),
    })
}

/// **Remove it and sign out everywhere**: the link is used up, its factor removed, every
/// session of the account ended (this browser's too, if it is that account's).
#[server(endpoint = "accounts/remove_unrecognized_factor")]
pub async fn remove_unrecognized_factor(token: String) -> Result<(), AppError> {
    use crate::identity::factors::{remove_unrecognized_factor, revocation_of};
    use sea_orm::TransactionTrait;

    let state = crate::server::app_state()?;
    let now = chrono::Utc::now();
    let (link, account, factor) = revocation_of(&state.reader, &token, now)
        .await?
        .ok_or_else(link_not_valid)?;
    let txn = state.db.begin().await?;
    if !remove_unrecognized_factor(&txn, &state.settings, &link, &account, &factor, now).await? {
        return Err(link_not_valid());
    }
    txn.commit().await?;
    state.wake_mail_worker();
    leptos_axum::redirect("/not-me?removed=1");
    Ok(())
}

/// `/not-me?token=…`.
#[component]
pub fn NotMePage() -> impl IntoView {
    let query = use_query_map();
    let (token, removed) = query.with_untracked(|q| {
        (
            q.get("token").unwrap_or_default(),
            q.get("removed").is_some(),
        )
    });
    let link = Resource::new(
        {
            let token = token.clone();
            move || token.clone()
        },
        unrecognized_factor,
    );
    // Made here, outside the Suspend (leptos-rs/leptos#3595).
    let remove = ServerAction::<RemoveUnrecognizedFactor>::new();
    let result = remove.value();
    if removed {
        return view! {
            <Title text="Removed · Orgdesk" />
            <AuthCard title="Removed, and signed out everywhere">
                <p role="status">"The factor was removed and every session of the account was signed out. Choose a new password now: whoever added it may know your current one."</p>
                <a class="button primary" href="/forgot-password">"Choose a new password"</a>
            </AuthCard>
        }
        .into_any();
    }
    view! {
        <Title text="Remove a factor you did not add · Orgdesk" />
        <Suspense fallback=|| view! { <AuthCard title="Remove a factor you did not add"><p>"Loading…"</p></AuthCard> }>
            {move || {
                let token = token.clone();
                Suspend::new(async move {
                    match link.await {
                        Ok(found) => view! {
                            <AuthCard title="Remove a factor you did not add">
                                <p>
                                    "This removes " <strong>{found.factor}</strong> " from the Orgdesk account "
                                    <strong>{found.email}</strong>
                                    " and signs out every session of the account. It signs no one in."
                                </p>
                                <ActionForm action=remove>
                                    <FormAlert message=form_error(result) />
                                    <input type="hidden" name="token" value=token />
                                    <SubmitButton label="Remove it and sign out everywhere" busy_label="Removing…" class="button danger" />
                                </ActionForm>
                            </AuthCard>
                        }
                            .into_any(),
                        Err(err) => view! {
                            <AuthCard title="This link cannot be used">
                                <p role="alert">{err.to_string()}</p>
                                <a href="/login">"Go to log in"</a>
                            </AuthCard>
                        }
                            .into_any(),
                    }
                })
            }}
        </Suspense>
    }
    .into_any()
}
