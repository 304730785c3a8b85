//! Organization Profile → Settings → Directory sync (SCIM): the base URL and token for the
//! identity provider, the provider's groups mapped to roles, and the last requests. Plain
//! forms: it all works without JavaScript.

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use super::api::{
    current_directory_sync, DirectorySyncView, DismissScimToken, GenerateScimToken, GroupRow,
    MapDirectoryGroup, RequestRow, RevokeScimToken, TokenRow,
};
use crate::{
    error::AppError,
    kinds::Role,
    ui::{
        clipboard::CopyButton,
        form::{form_error, FormAlert, SubmitButton},
        list::time_of,
        modal::{close_href, modal_href, Modal, ModalCancel},
    },
};

pub const REVOKE_TOKEN_DIALOG: &str = "revoke-scim-token";

type SyncResource = Resource<Result<Option<DirectorySyncView>, AppError>>;

/// The area's actions and data, made by the page outside every Suspend
/// (leptos-rs/leptos#3595).
#[derive(Clone, Copy)]
pub struct DirectorySyncState {
    generate: ServerAction<GenerateScimToken>,
    dismiss: ServerAction<DismissScimToken>,
    revoke: ServerAction<RevokeScimToken>,
    map: ServerAction<MapDirectoryGroup>,
    view: SyncResource,
    cancel: Memo<String>,
}

impl DirectorySyncState {
    /// `shown`: whether the area is open (it loads only then).
    pub fn new(shown: Memo<bool>) -> Self {
        Self {
            generate: ServerAction::new(),
            dismiss: ServerAction::new(),
            revoke: ServerAction::new(),
            map: ServerAction::new(),
            view: Resource::new(
                move || shown.get(),
                |shown| async move {
                    if shown {
                        current_directory_sync().await
                    } else {
                        Ok(None)
                    }
                },
            ),
            cancel: close_href(),
        }
    }
}

fn notice_from_query() -> impl Fn() -> Option<&'static str> {
    let query = use_query_map();
    move || {
        query.with(|q| match q.get("saved").as_deref() {
            Some("token") => Some("The token was generated."),
            Some("revoked") => Some(
                "The token was revoked: the provider's requests with it are refused from now on.",
            ),
            Some("mapped") => {
                Some("The group's role was saved and every provisioned member's role updated.")
            }
            _ => None,
        })
    }
}

#[component]
pub fn DirectorySyncSection(state: DirectorySyncState) -> impl IntoView {
    let notice = notice_from_query();
    view! {
        <section class="card" aria-labelledby="directory-sync-heading">
            <h2 id="directory-sync-heading">"Directory sync (SCIM)"</h2>
            {move || notice().map(|text| view! { <p class="notice" role="status">{text}</p> })}
            <p>
                "Let your identity provider (Okta, Microsoft Entra ID and others that speak SCIM 2.0) manage who is in the organization: "
                "people assigned to the Orgdesk app become members before their first sign-in, people it deactivates lose access at once, and its groups can decide roles."
            </p>
            <Transition fallback=|| view! { <p>"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match state.view.await {
                        Ok(Some(view)) if view.can_manage => view! { <ManageSync view state /> }.into_any(),
                        Ok(Some(_)) => view! { <p>"Only owners set up directory sync."</p> }.into_any(),
                        Ok(None) => ().into_any(),
                        Err(err) => view! { <p role="alert">{err.to_string()}</p> }.into_any(),
                    }
                })}
            </Transition>
        </section>
        <RevokeTokenModal state />
    }
}

#[component]
fn ManageSync(view: DirectorySyncView, state: DirectorySyncState) -> impl IntoView {
    let generate = state.generate;
    let generated = generate.value();
    let DirectorySyncView {
        organization_id,
        sso_enabled,
        base_url,
        tokens,
        new_token,
        provisioned,
        groups,
        requests,
        ..
    } = view;
    let can_generate = sso_enabled && tokens.len() < 2;
    view! {
        {(!sso_enabled).then(|| view! {
            <p class="notice" role="status">
                "Directory sync needs single sign-on: provisioned members have no password and sign in through the identity provider. "
                <a href=crate::sso::SETTINGS_PAGE>"Turn single sign-on on"</a>" first."
            </p>
        })}
        <h3>"Connection"</h3>
        <div class="field">
            <label for="scim-base-url">"SCIM base URL"</label>
            <input id="scim-base-url" type="text" readonly value=base_url.clone() />
            <CopyButton label="Copy base URL".to_string() text=base_url />
        </div>
        {new_token.map(|token| view! { <NewToken token dismiss=state.dismiss /> })}
        <h3>"Tokens"</h3>
        <p>"The provider sends a token with every request. Two may exist at once, so you can switch the provider to a new one before revoking the old."</p>
        {if tokens.is_empty() {
            view! { <p>"No token yet."</p> }.into_any()
        } else {
            view! { <TokensTable tokens /> }.into_any()
        }}
        {can_generate.then({
            let organization_id = organization_id.clone();
            move || view! {
            <ActionForm action=generate>
                <FormAlert message=form_error(generated) />
                <input type="hidden" name="organization_id" value=organization_id />
                <div class="actions">
                    <SubmitButton label="Generate token" busy_label="Generating…" class="button" />
                </div>
            </ActionForm>
        }})}
        <h3>"Groups and roles"</h3>
        <p>{format!("{provisioned} people provisioned. ")}
            "Map a group to a role and its members get it; a provisioned member's role is the highest of their groups' (Member when none is mapped). "
            "Once a group is mapped, provisioned members' roles are managed by the provider: Edit roles and Remove refuse them in the Users tab."
        </p>
        {if groups.is_empty() {
            view! { <p>"The provider has pushed no groups yet."</p> }.into_any()
        } else {
            view! { <GroupsTable groups organization_id=organization_id.clone() map=state.map /> }.into_any()
        }}
        <h3>"Recent requests"</h3>
        {if requests.is_empty() {
            view! { <p>"No requests yet."</p> }.into_any()
        } else {
            view! { <RequestsTable requests /> }.into_any()
        }}
    }
}

/// The new token, shown until the owner says they copied it.
#[component]
fn NewToken(token: String, dismiss: ServerAction<DismissScimToken>) -> impl IntoView {
    view! {
        <div class="notice" role="region" aria-labelledby="new-token-heading">
            <h3 id="new-token-heading">"Your new directory sync token"</h3>
            <p>"Paste it into the identity provider now: Orgdesk keeps only a fingerprint of it and cannot show it again."</p>
            <p><code class="secret" id="new-scim-token">{token.clone()}</code></p>
            <CopyButton label="Copy token".to_string() text=token />
            <ActionForm action=dismiss>
                <div class="actions">
                    <SubmitButton label="I have copied the token" busy_label="Hiding…" class="button" />
                </div>
            </ActionForm>
        </div>
    }
}

#[component]
fn TokensTable(tokens: Vec<TokenRow>) -> impl IntoView {
    view! {
        <table class="table">
            <caption class="visually-hidden">"Directory sync tokens"</caption>
            <thead>
                <tr>
                    <th scope="col">"Created by"</th>
                    <th scope="col">"Created"</th>
                    <th scope="col">"Last used"</th>
                    <th scope="col">"Actions"</th>
                </tr>
            </thead>
            <tbody>
                {tokens.into_iter().map(|token| {
                    let href = modal_href(REVOKE_TOKEN_DIALOG, &[("tab", "settings"), ("area", "scim"), ("token", &token.id.to_string())]);
                    let label = format!("Revoke the token created {}", time_of(&token.created_at));
                    view! {
                        <tr>
                            <th scope="row">{token.created_by}</th>
                            <td>{time_of(&token.created_at)}</td>
                            <td>{token.last_used_at.as_deref().map(time_of).unwrap_or_else(|| "Never".into())}</td>
                            <td><a class="button small danger" href=href aria-label=label>"Revoke"</a></td>
                        </tr>
                    }
                }).collect_view()}
            </tbody>
        </table>
    }
}

#[component]
fn GroupsTable(
    groups: Vec<GroupRow>,
    organization_id: String,
    map: ServerAction<MapDirectoryGroup>,
) -> impl IntoView {
    let mapped = map.value();
    view! {
        <FormAlert message=form_error(mapped) />
        <table class="table">
            <caption class="visually-hidden">"Directory groups"</caption>
            <thead>
                <tr>
                    <th scope="col">"Group"</th>
                    <th scope="col">"Members"</th>
                    <th scope="col">"Role"</th>
                </tr>
            </thead>
            <tbody>
                {groups.into_iter().map(|group| {
                    let organization_id = organization_id.clone();
                    let select_id = format!("group-role-{}", group.id);
                    let label = format!("Role for {}", group.name);
                    let current = group.role;
                    view! {
                        <tr>
                            <th scope="row">{group.name.clone()}</th>
                            <td>{group.members}</td>
                            <td>
                                <ActionForm action=map attr:class="inline-form">
                                    <input type="hidden" name="organization_id" value=organization_id />
                                    <input type="hidden" name="group_id" value=group.id.clone() />
                                    <label for=select_id.clone() class="visually-hidden">{label}</label>
                                    <select id=select_id name="role">
                                        <option value="" selected=current.is_none()>"No role"</option>
                                        {Role::ALL.into_iter().map(|role| view! {
                                            <option value=role.as_str() selected=current == Some(role)>{role.label()}</option>
                                        }).collect_view()}
                                    </select>
                                    <SubmitButton label="Save" busy_label="Saving…" class="button small" />
                                </ActionForm>
                            </td>
                        </tr>
                    }
                }).collect_view()}
            </tbody>
        </table>
    }
}

#[component]
fn RequestsTable(requests: Vec<RequestRow>) -> impl IntoView {
    view! {
        <table class="table">
            <caption class="visually-hidden">"Recent directory sync requests"</caption>
            <thead>
                <tr>
                    <th scope="col">"Time"</th>
                    <th scope="col">"Request"</th>
                    <th scope="col">"Result"</th>
                </tr>
            </thead>
            <tbody>
                {requests.into_iter().map(|r| {
                    let result = match &r.detail {
                        Some(detail) => format!("{} — {detail}", r.status),
                        None => r.status.to_string(),
                    };
                    view! {
                        <tr>
                            <td>{time_of(&r.at)}</td>
                            <td><code>{format!("{} {}", r.method, r.path)}</code></td>
                            <td>{result}</td>
                        </tr>
                    }
                }).collect_view()}
            </tbody>
        </table>
    }
}

/// Confirms revoking a token (the provider's next request is refused).
#[component]
fn RevokeTokenModal(state: DirectorySyncState) -> impl IntoView {
    let cancel = state.cancel;
    let revoke = state.revoke;
    let result = revoke.value();
    let query = use_query_map();
    let chosen = move || {
        query.with(|q| {
            q.get("token")
                .and_then(|id| id.parse::<i32>().ok())
                .unwrap_or_default()
        })
    };
    view! {
        <Modal name=REVOKE_TOKEN_DIALOG title="Revoke directory sync token">
            <Suspense fallback=|| view! { <p>"Loading…"</p> }>
                {move || Suspend::new(async move {
                    let view = state.view.await.ok().flatten().filter(|v| v.can_manage);
                    let id = chosen();
                    let row = view.as_ref().and_then(|v| v.tokens.iter().find(|t| t.id == id).cloned());
                    let (Some(view), Some(_)) = (view, row) else {
                        return view! { <p>"That token is not on this page any more."</p> <ModalCancel href=cancel /> }.into_any();
                    };
                    view! {
                        <p>"The identity provider's requests with this token are refused from the next one: provisioning stops until it has a new token. This cannot be undone."</p>
                        <ActionForm action=revoke>
                            <FormAlert message=form_error(result) />
                            <input type="hidden" name="organization_id" value=view.organization_id.clone() />
                            <input type="hidden" name="token_id" value=id.to_string() />
                            <div class="actions">
                                <ModalCancel href=cancel />
                                <SubmitButton label="Revoke" busy_label="Revoking…" class="button danger" />
                            </div>
                        </ActionForm>
                    }
                    .into_any()
                })}
            </Suspense>
        </Modal>
    }
}
