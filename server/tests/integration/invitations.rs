//! Invitations through the real router and database: who may invite, resend and revoke;
//! the link's life (accept once, expiry, resend, revoke, wrong address, the 400 limit);
//! email verification; the rate limit; the audit log.

use crate::common::{spawn_app, Call, Reply, TestApp, PASSWORD};
use app::{
    audit::events::{AuditPage, EventKind},
    error::AppError,
    invitations::{
        api::{InvitationLink, LinkState, Visitor},
        views::InvitationsPage,
    },
    members::roles::Role,
    server::entities::{
        invitation::{self, InvitationStatus},
        membership, organization, user,
    },
};
use axum::http::StatusCode;
use chrono::{Duration, Utc};
use sea_orm::{
    sea_query::Expr, ActiveModelTrait, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, Set,
};

struct Team {
    org: String,
    owner: String,
    admin: String,
    member: String,
    outsider: String,
    outsider_org: String,
}

async fn team(app: &TestApp) -> Team {
    let owner = app.sign_up("Olivia Owner", "olivia@example.com").await;
    let admin = app.sign_up("Adam Admin", "adam@example.com").await;
    let member = app.sign_up("Mia Member", "mia@example.com").await;
    let outsider = app.sign_up("Oscar Outsider", "oscar@example.com").await;
    let org = app.create_organization(&owner, "Acme").await;
    app.join(&admin, &org, Role::Admin).await;
    app.join(&member, &org, Role::Member).await;
    let outsider_org = app.create_organization(&outsider, "Elsewhere").await;
    Team {
        org,
        owner,
        admin,
        member,
        outsider,
        outsider_org,
    }
}

async fn invite(app: &TestApp, by: &str, org: &str, email: &str, role: &str) -> Reply {
    app.send(
        Call::post(
            "/api/invitations/invite",
            &[("organization_id", org), ("email", email), ("role", role)],
        )
        .session(by),
    )
    .await
}

/// The replies to requests sent at once, of which exactly one must have succeeded: the others.
fn refused_but_one(replies: &[Reply]) -> Vec<&Reply> {
    let ok = replies
        .iter()
        .filter(|r| r.status == StatusCode::OK)
        .count();
    assert_eq!(
        ok,
        1,
        "{:?}",
        replies.iter().map(|r| &r.body).collect::<Vec<_>>()
    );
    replies
        .iter()
        .filter(|r| r.status != StatusCode::OK)
        .collect()
}

async fn invitation_to(app: &TestApp, email: &str) -> invitation::Model {
    invitation::Entity::find()
        .filter(invitation::Column::EmailNormalized.eq(email.to_lowercase()))
        .one(&app.db)
        .await
        .unwrap()
        .expect("an invitation")
}

async fn invitation_count(app: &TestApp) -> u64 {
    invitation::Entity::find().count(&app.db).await.unwrap()
}

async fn accept(app: &TestApp, session: &str, token: &str) -> Reply {
    app.send(Call::post("/api/invitations/accept", &[("token", token)]).session(session))
        .await
}

async fn show(app: &TestApp, session: Option<&str>, token: &str) -> Option<InvitationLink> {
    app.call_json("/api/invitations/show", &[("token", token)], session)
        .await
}

async fn role_in(app: &TestApp, session: &str, org: &str) -> Option<Role> {
    app.membership_of(session, org).await.map(|m| m.role)
}

async fn pending_list(app: &TestApp, session: &str) -> InvitationsPage {
    let found: Option<InvitationsPage> = app
        .call_json(
            "/api/invitations/list",
            &[("query", ""), ("page", "1")],
            Some(session),
        )
        .await;
    found.expect("a current organization")
}

#[tokio::test]
async fn a_new_user_follows_the_link_signs_up_and_accepts() {
    let app = spawn_app().await;
    let t = team(&app).await;
    let reply = invite(&app, &t.owner, &t.org, " New.Person@Example.com ", "admin").await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(
        reply.redirected_to(),
        Some("/access-control?tab=invited&saved=invited")
    );

    // Pending at once, with who sent it.
    let list = pending_list(&app, &t.owner).await;
    assert_eq!(list.total, 1);
    let row = &list.invitations[0];
    assert_eq!(
        (row.email.as_str(), row.role, row.expired),
        ("New.Person@Example.com", Role::Admin, false)
    );
    assert_eq!(row.invited_by.as_deref(), Some("Olivia Owner"));

    // The email: organization, inviter, the link; the token is stored only as a hash.
    let link = app
        .mailed_link("New.Person@Example.com", "/invitation")
        .await;
    let token = link.split("token=").nth(1).unwrap().to_string();
    assert_eq!(token.len(), 64, "256 bits, hex");
    let stored = invitation_to(&app, "new.person@example.com").await;
    assert_ne!(stored.token_hash, token);
    assert_eq!(stored.token_hash, app::server::tokens::hash_token(&token));
    assert!(stored.expires_at > Utc::now() + Duration::days(6));

    // Signed out, the link says who invited whom, and that there is no account yet.
    let seen = show(&app, None, &token).await.expect("a known link");
    assert_eq!(seen.state, LinkState::Pending);
    assert_eq!(seen.organization_name, "Acme");
    assert_eq!(seen.inviter_name.as_deref(), Some("Olivia Owner"));
    assert_eq!(seen.visitor, Visitor::SignedOut { has_account: false });
    let page = app.get(&format!("/invitation?token={token}"), None).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page
        .body
        .contains("Olivia Owner invited New.Person@Example.com to join Acme as Admin."));

    // Signing up for another address with the invitation is refused...
    let wrong = app
        .send(Call::post(
            "/api/accounts/sign_up",
            &[
                ("name", "Nora New"),
                ("email", "someone.else@example.com"),
                ("password", crate::common::PASSWORD),
                ("invitation", &token),
            ],
        ))
        .await;
    assert!(wrong
        .field_error("email")
        .contains("New.Person@Example.com"));
    // ...for the invited address it counts as verified (no verification email).
    let signed_up = app
        .send(Call::post(
            "/api/accounts/sign_up",
            &[
                ("name", "Nora New"),
                ("email", "new.person@example.com"),
                ("password", crate::common::PASSWORD),
                ("invitation", &token),
                ("next", &format!("/invitation?token={token}")),
            ],
        ))
        .await;
    assert_eq!(signed_up.status, StatusCode::OK, "{}", signed_up.body);
    let nora = signed_up.session_cookie().unwrap();
    let nora_row = user::Entity::find_by_id(app.user_id(&nora).await)
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    assert!(nora_row.email_verified_at.is_some());
    assert_eq!(
        show(&app, Some(&nora), &token).await.unwrap().visitor,
        Visitor::Invitee
    );

    let accepted = accept(&app, &nora, &token).await;
    assert_eq!(accepted.status, StatusCode::OK, "{}", accepted.body);
    assert_eq!(accepted.redirected_to(), Some("/organization?joined=1"));
    assert_eq!(role_in(&app, &nora, &t.org).await, Some(Role::Admin));
    // The organization became current.
    let mine: app::organizations::api::MyOrganizationsPage = app
        .call_json(
            "/api/organizations/mine",
            &[("query", ""), ("page", "1")],
            Some(&nora),
        )
        .await;
    assert_eq!(mine.current.map(|o| o.public_id), Some(t.org.clone()));
    assert_eq!(pending_list(&app, &t.owner).await.total, 0);

    // The link works once.
    let again = accept(&app, &nora, &token).await;
    assert_eq!(
        again.error(),
        AppError::Forbidden("This invitation was already accepted.".into())
    );
    assert_eq!(
        show(&app, Some(&nora), &token).await.unwrap().state,
        LinkState::Accepted
    );
}

#[tokio::test]
async fn an_existing_user_logs_in_and_accepts_and_the_link_proves_their_address() {
    let app = spawn_app().await;
    let t = team(&app).await;
    // Signed in without verifying (before confirmation came first).
    let uma = app
        .legacy_unverified_session("Uma Unverified", "uma@example.com")
        .await;
    invite(&app, &t.admin, &t.org, "uma@example.com", "member").await;
    let token = app.mailed_token("uma@example.com", "/invitation").await;
    assert_eq!(
        show(&app, None, &token).await.unwrap().visitor,
        Visitor::SignedOut { has_account: true }
    );
    let reply = accept(&app, &uma, &token).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(role_in(&app, &uma, &t.org).await, Some(Role::Member));
    let verified: Option<app::accounts::api::UserView> = app
        .call_json("/api/accounts/current_user", &[], Some(&uma))
        .await;
    assert!(verified.unwrap().email_verified);
}

#[tokio::test]
async fn who_may_invite_resend_revoke_and_list() {
    let app = spawn_app().await;
    let t = team(&app).await;

    // Members and outsiders may not invite; signed-out visitors are asked to log in.
    let by_member = invite(&app, &t.member, &t.org, "x@example.com", "member").await;
    assert_eq!(by_member.status, StatusCode::FORBIDDEN);
    let by_outsider = invite(&app, &t.outsider, &t.org, "x@example.com", "member").await;
    assert_eq!(
        by_outsider.error(),
        AppError::Forbidden("You are not a member of this organization.".into())
    );
    let signed_out = app
        .send(Call::post(
            "/api/invitations/invite",
            &[
                ("organization_id", &t.org),
                ("email", "x@example.com"),
                ("role", "member"),
            ],
        ))
        .await;
    assert_eq!(signed_out.error(), AppError::Unauthenticated);
    // An admin may invite, but not an owner.
    let admin_owner = invite(&app, &t.admin, &t.org, "x@example.com", "owner").await;
    assert!(admin_owner.field_error("role").contains("Only owners"));
    assert_eq!(invitation_count(&app).await, 0);
    let admin_admin = invite(&app, &t.admin, &t.org, "x@example.com", "admin").await;
    assert_eq!(admin_admin.status, StatusCode::OK, "{}", admin_admin.body);
    let owner_owner = invite(&app, &t.owner, &t.org, "co-owner@example.com", "owner").await;
    assert_eq!(owner_owner.status, StatusCode::OK, "{}", owner_owner.body);

    // The list: owners and admins only.
    assert_eq!(pending_list(&app, &t.admin).await.total, 2);
    let member_list = app
        .send(
            Call::post("/api/invitations/list", &[("query", ""), ("page", "1")]).session(&t.member),
        )
        .await;
    assert_eq!(member_list.status, StatusCode::FORBIDDEN);
    let filtered: Option<InvitationsPage> = app
        .call_json(
            "/api/invitations/list",
            &[("query", "co-OWNER"), ("page", "1")],
            Some(&t.owner),
        )
        .await;
    assert_eq!(
        filtered.unwrap().invitations[0].email,
        "co-owner@example.com"
    );

    let x = invitation_to(&app, "x@example.com").await.id.to_string();
    let co_owner = invitation_to(&app, "co-owner@example.com")
        .await
        .id
        .to_string();
    let act = |path: &'static str, by: String, org: String, id: String| {
        let app = &app;
        async move {
            app.send(
                Call::post(path, &[("organization_id", &org), ("invitation_id", &id)]).session(&by),
            )
            .await
        }
    };
    for path in ["/api/invitations/resend", "/api/invitations/revoke"] {
        let member = act(path, t.member.clone(), t.org.clone(), x.clone()).await;
        assert_eq!(member.status, StatusCode::FORBIDDEN, "{path}");
        // The outsider's own organization does not reach Acme's invitation.
        let outsider = act(path, t.outsider.clone(), t.outsider_org.clone(), x.clone()).await;
        assert_eq!(
            outsider.error(),
            AppError::NotFound("That invitation is no longer pending.".into()),
            "{path}"
        );
    }
    // An admin does not resend an owner invitation.
    let admin_resend = act(
        "/api/invitations/resend",
        t.admin.clone(),
        t.org.clone(),
        co_owner.clone(),
    )
    .await;
    assert_eq!(admin_resend.status, StatusCode::FORBIDDEN);
    let resent = act(
        "/api/invitations/resend",
        t.admin.clone(),
        t.org.clone(),
        x.clone(),
    )
    .await;
    assert_eq!(resent.status, StatusCode::OK, "{}", resent.body);
    let revoked = act(
        "/api/invitations/revoke",
        t.admin.clone(),
        t.org.clone(),
        x.clone(),
    )
    .await;
    assert_eq!(revoked.status, StatusCode::OK, "{}", revoked.body);
    assert_eq!(
        invitation_to(&app, "x@example.com").await.status,
        InvitationStatus::Revoked
    );
    let twice = act("/api/invitations/revoke", t.owner.clone(), t.org.clone(), x).await;
    assert_eq!(
        twice.status,
        StatusCode::NOT_FOUND,
        "no longer pending: nothing to revoke"
    );
}

#[tokio::test]
async fn unverified_users_cannot_invite_until_they_follow_the_verification_link() {
    let app = spawn_app().await;
    let vera = app
        .legacy_unverified_session("Vera", "vera@example.com")
        .await;
    let org = app.create_organization(&vera, "Vera Co").await;
    let refused = invite(&app, &vera, &org, "x@example.com", "member").await;
    assert!(matches!(refused.error(), AppError::Forbidden(m) if m.contains("Verify your email")));

    // A new link a minute later at the earliest; the newest link replaces older ones.
    let too_soon = app
        .send(Call::post("/api/accounts/resend_verification", &[]).session(&vera))
        .await;
    assert_eq!(too_soon.status, StatusCode::TOO_MANY_REQUESTS);
    let first = app.mailed_token("vera@example.com", "/verify-email").await;
    app::server::entities::email_verification::Entity::update_many()
        .col_expr(
            app::server::entities::email_verification::Column::CreatedAt,
            Expr::value(Utc::now() - Duration::minutes(2)),
        )
        .exec(&app.db)
        .await
        .unwrap();
    let resent = app
        .send(Call::post("/api/accounts/resend_verification", &[]).session(&vera))
        .await;
    assert_eq!(resent.status, StatusCode::OK, "{}", resent.body);
    let second = app.mailed_token("vera@example.com", "/verify-email").await;
    assert_ne!(first, second);

    // Opening the link (as a mail scanner does) verifies nothing; its button does.
    let page = app
        .get(&format!("/verify-email?token={second}"), None)
        .await;
    assert!(page.body.contains("Confirm my email"), "{}", page.body);
    let still = invite(&app, &vera, &org, "x@example.com", "member").await;
    assert_eq!(still.status, StatusCode::FORBIDDEN, "a GET proves nothing");
    let confirmed = app
        .send(Call::post(
            "/api/accounts/verify_email",
            &[("token", &second), ("password", PASSWORD)],
        ))
        .await;
    assert_eq!(confirmed.status, StatusCode::OK, "{}", confirmed.body);
    assert_eq!(confirmed.redirected_to(), Some("/"));
    // Used links (and the older one) stop working.
    for token in [&first, &second] {
        let reused = app
            .send(Call::post(
                "/api/accounts/verify_email",
                &[("token", token), ("password", PASSWORD)],
            ))
            .await;
        assert_eq!(reused.status, StatusCode::FORBIDDEN);
    }
    let allowed = invite(&app, &vera, &org, "x@example.com", "member").await;
    assert_eq!(allowed.status, StatusCode::OK, "{}", allowed.body);
}

#[tokio::test]
async fn members_and_pending_addresses_are_not_invited_twice() {
    let app = spawn_app().await;
    let t = team(&app).await;
    let member = invite(&app, &t.owner, &t.org, "MIA@example.com", "member").await;
    assert_eq!(
        member.field_error("email"),
        "MIA@example.com is already a member of Acme."
    );
    invite(&app, &t.owner, &t.org, "new@example.com", "member").await;
    let twice = invite(&app, &t.admin, &t.org, "New@Example.com", "admin").await;
    assert!(twice
        .field_error("email")
        .contains("already has a pending invitation"));
    // Expired, it still blocks a duplicate, and says how to send it again.
    invitation::Entity::update_many()
        .col_expr(
            invitation::Column::ExpiresAt,
            Expr::value(Utc::now() - Duration::hours(1)),
        )
        .exec(&app.db)
        .await
        .unwrap();
    let expired = invite(&app, &t.owner, &t.org, "new@example.com", "member").await;
    assert!(expired
        .field_error("email")
        .contains("has expired. Use Resend"));
    // Every rule is checked, each naming its field.
    let bad = invite(&app, &t.owner, &t.org, "not an address", "boss").await;
    assert!(bad.field_error("email").contains("single address"));
    assert_eq!(bad.field_error("role"), "Choose owner, admin or member.");
    assert_eq!(invitation_count(&app).await, 1);
    // Another organization may invite the same address.
    let elsewhere = invite(
        &app,
        &t.outsider,
        &t.outsider_org,
        "new@example.com",
        "member",
    )
    .await;
    assert_eq!(elsewhere.status, StatusCode::OK, "{}", elsewhere.body);
}

#[tokio::test]
async fn expired_links_fail_until_resent_and_a_resend_replaces_the_old_link() {
    let app = spawn_app().await;
    let t = team(&app).await;
    let eve = app.sign_up("Eve", "eve@example.com").await;
    invite(&app, &t.owner, &t.org, "eve@example.com", "member").await;
    let old = app.mailed_token("eve@example.com", "/invitation").await;
    invitation::Entity::update_many()
        .col_expr(
            invitation::Column::ExpiresAt,
            Expr::value(Utc::now() - Duration::minutes(1)),
        )
        .exec(&app.db)
        .await
        .unwrap();
    let expired = accept(&app, &eve, &old).await;
    assert!(matches!(expired.error(), AppError::Forbidden(m) if m.contains("expired")));
    assert_eq!(
        show(&app, Some(&eve), &old).await.unwrap().state,
        LinkState::Expired
    );
    let list = pending_list(&app, &t.owner).await;
    assert!(list.invitations[0].expired, "marked expired in the list");

    let id = invitation_to(&app, "eve@example.com").await.id.to_string();
    let resent = app
        .send(
            Call::post(
                "/api/invitations/resend",
                &[("organization_id", &t.org), ("invitation_id", &id)],
            )
            .session(&t.owner),
        )
        .await;
    assert_eq!(resent.status, StatusCode::OK, "{}", resent.body);
    let new = app.mailed_token("eve@example.com", "/invitation").await;
    assert_ne!(old, new);
    assert_eq!(
        invitation_count(&app).await,
        1,
        "the same invitation, refreshed"
    );
    assert!(!pending_list(&app, &t.owner).await.invitations[0].expired);
    assert!(
        show(&app, Some(&eve), &old).await.is_none(),
        "the old link is dead"
    );
    let reply = accept(&app, &eve, &new).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
}

#[tokio::test]
async fn a_revoked_link_says_so_and_cannot_be_accepted() {
    let app = spawn_app().await;
    let t = team(&app).await;
    let rex = app.sign_up("Rex", "rex@example.com").await;
    invite(&app, &t.owner, &t.org, "rex@example.com", "member").await;
    let token = app.mailed_token("rex@example.com", "/invitation").await;
    let id = invitation_to(&app, "rex@example.com").await.id.to_string();
    let revoked = app
        .send(
            Call::post(
                "/api/invitations/revoke",
                &[("organization_id", &t.org), ("invitation_id", &id)],
            )
            .session(&t.owner),
        )
        .await;
    assert_eq!(revoked.status, StatusCode::OK, "{}", revoked.body);
    assert_eq!(
        show(&app, None, &token).await.unwrap().state,
        LinkState::Revoked
    );
    let page = app.get(&format!("/invitation?token={token}"), None).await;
    assert!(page.body.contains("This invitation was revoked"));
    let reply = accept(&app, &rex, &token).await;
    assert!(matches!(reply.error(), AppError::Forbidden(m) if m.contains("revoked")));
    assert_eq!(role_in(&app, &rex, &t.org).await, None);
}

#[tokio::test]
async fn only_the_invited_address_can_accept() {
    let app = spawn_app().await;
    let t = team(&app).await;
    invite(&app, &t.owner, &t.org, "invitee@example.com", "admin").await;
    let token = app.mailed_token("invitee@example.com", "/invitation").await;
    // Oscar holds the link but is signed in as himself.
    assert_eq!(
        show(&app, Some(&t.outsider), &token).await.unwrap().visitor,
        Visitor::SomeoneElse {
            signed_in_as: "oscar@example.com".into()
        }
    );
    let page = app
        .get(&format!("/invitation?token={token}"), Some(&t.outsider))
        .await;
    assert!(page.body.contains("This invitation is for another address"));
    assert!(page.body.contains("invitee@example.com"));
    let reply = accept(&app, &t.outsider, &token).await;
    assert!(
        matches!(reply.error(), AppError::Forbidden(m) if m.contains("was sent to invitee@example.com"))
    );
    let decline = app
        .send(Call::post("/api/invitations/decline", &[("token", &token)]).session(&t.outsider))
        .await;
    assert_eq!(decline.status, StatusCode::FORBIDDEN);
    assert_eq!(role_in(&app, &t.outsider, &t.org).await, None);
    assert_eq!(
        invitation_to(&app, "invitee@example.com").await.status,
        InvitationStatus::Pending
    );
}

#[tokio::test]
async fn invitations_sent_at_once_to_one_address_leave_one_pending() {
    let app = spawn_app().await;
    let t = team(&app).await;
    // Each request passes the checks before its transaction; the unique index decides.
    let replies = futures::future::join_all(
        [
            "twin@example.com",
            "Twin@example.com",
            "TWIN@example.com",
            "twin@EXAMPLE.com",
        ]
        .map(|email| invite(&app, &t.owner, &t.org, email, "member")),
    )
    .await;
    for refused in refused_but_one(&replies) {
        assert!(
            refused
                .field_error("email")
                .contains("already has a pending invitation"),
            "{}",
            refused.body
        );
    }
    let pending = invitation::Entity::find()
        .filter(invitation::Column::EmailNormalized.eq("twin@example.com"))
        .count(&app.db)
        .await
        .unwrap();
    assert_eq!(pending, 1);
    // The refused ones queued no mail.
    let mailed = app::server::entities::mail_outbox::Entity::find()
        .all(&app.db)
        .await
        .unwrap()
        .into_iter()
        .filter(|m| m.recipient.eq_ignore_ascii_case("twin@example.com"))
        .count();
    assert_eq!(mailed, 1);
}

#[tokio::test]
async fn two_accepts_at_once_give_one_membership() {
    let app = spawn_app().await;
    let t = team(&app).await;
    let dan = app.sign_up("Dan", "dan@example.com").await;
    invite(&app, &t.owner, &t.org, "dan@example.com", "member").await;
    let token = app.mailed_token("dan@example.com", "/invitation").await;
    let replies = futures::future::join_all((0..4).map(|_| accept(&app, &dan, &token))).await;
    for refused in refused_but_one(&replies) {
        assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.body);
    }
    let dan_id = app.user_id(&dan).await;
    let memberships = membership::Entity::find()
        .filter(membership::Column::UserId.eq(dan_id))
        .count(&app.db)
        .await
        .unwrap();
    assert_eq!(memberships, 1);
    let counted = user::Entity::find_by_id(dan_id)
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(counted.membership_count, 1);
}

#[tokio::test]
async fn accepting_into_a_401st_organization_fails_and_leaves_the_invitation_pending() {
    let app = spawn_app().await;
    let t = team(&app).await;
    let busy = app.sign_up("Busy", "busy@example.com").await;
    invite(&app, &t.owner, &t.org, "busy@example.com", "member").await;
    let token = app.mailed_token("busy@example.com", "/invitation").await;
    // As if Busy already belonged to 400 organizations.
    let mut row: user::ActiveModel = user::Entity::find_by_id(app.user_id(&busy).await)
        .one(&app.db)
        .await
        .unwrap()
        .unwrap()
        .into();
    row.membership_count = Set(400);
    row.update(&app.db).await.unwrap();
    let reply = accept(&app, &busy, &token).await;
    assert!(
        matches!(reply.error(), AppError::Forbidden(m) if m.contains("400 organizations")),
        "{}",
        reply.body
    );
    assert_eq!(
        invitation_to(&app, "busy@example.com").await.status,
        InvitationStatus::Pending
    );
    assert_eq!(role_in(&app, &busy, &t.org).await, None);
}

#[tokio::test]
async fn declining_closes_the_invitation() {
    let app = spawn_app().await;
    let t = team(&app).await;
    let dee = app.sign_up("Dee", "dee@example.com").await;
    invite(&app, &t.owner, &t.org, "dee@example.com", "member").await;
    let token = app.mailed_token("dee@example.com", "/invitation").await;
    let reply = app
        .send(Call::post("/api/invitations/decline", &[("token", &token)]).session(&dee))
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(
        show(&app, Some(&dee), &token).await.unwrap().state,
        LinkState::Declined
    );
    assert_eq!(
        accept(&app, &dee, &token).await.status,
        StatusCode::FORBIDDEN
    );
}

#[tokio::test]
async fn an_organization_sends_at_most_50_invitations_a_day_while_young() {
    let app = spawn_app().await;
    let t = team(&app).await;
    for i in 0..50 {
        let reply = invite(
            &app,
            &t.admin,
            &t.org,
            &format!("p{i}@example.com"),
            "member",
        )
        .await;
        assert_eq!(reply.status, StatusCode::OK, "{i}: {}", reply.body);
    }
    let over = invite(&app, &t.owner, &t.org, "p50@example.com", "member").await;
    assert_eq!(over.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(
        matches!(over.error(), AppError::TooManyAttempts(m) if m.contains("50 invitations in the last 24 hours"))
    );
    // A resend counts too.
    let id = invitation_to(&app, "p0@example.com").await.id.to_string();
    let resend = app
        .send(
            Call::post(
                "/api/invitations/resend",
                &[("organization_id", &t.org), ("invitation_id", &id)],
            )
            .session(&t.owner),
        )
        .await;
    assert_eq!(resend.status, StatusCode::TOO_MANY_REQUESTS);
    // Older organizations get 500.
    organization::Entity::update_many()
        .col_expr(
            organization::Column::CreatedAt,
            Expr::value(Utc::now() - Duration::days(40)),
        )
        .exec(&app.db)
        .await
        .unwrap();
    let later = invite(&app, &t.owner, &t.org, "p50@example.com", "member").await;
    assert_eq!(later.status, StatusCode::OK, "{}", later.body);
}

#[tokio::test]
async fn owners_read_the_audit_log_newest_first_and_filtered() {
    let app = spawn_app().await;
    let t = team(&app).await;
    invite(&app, &t.admin, &t.org, "new@example.com", "admin").await;
    let token = app.mailed_token("new@example.com", "/invitation").await;
    let nora = app.sign_up("Nora", "new@example.com").await;
    accept(&app, &nora, &token).await;
    let list: Option<app::members::views::MembersPage> = app
        .call_json(
            "/api/members/list",
            &[("query", "nora"), ("page", "1")],
            Some(&t.owner),
        )
        .await;
    let nora_membership = list.unwrap().members[0].membership_id.to_string();
    let changed = app
        .send(
            Call::post(
                "/api/members/change_role",
                &[
                    ("organization_id", &t.org),
                    ("membership_id", &nora_membership),
                    ("role", "member"),
                ],
            )
            .session(&t.owner),
        )
        .await;
    assert_eq!(changed.status, StatusCode::OK);

    let log = |kind: &'static str, session: String| {
        let app = &app;
        async move {
            app.send(
                Call::post("/api/audit/list", &[("kind", kind), ("page", "1")]).session(&session),
            )
            .await
        }
    };
    let all: Option<AuditPage> =
        serde_json::from_str(&log("", t.owner.clone()).await.body).unwrap();
    let all = all.unwrap();
    let kinds: Vec<EventKind> = all.events.iter().map(|e| e.kind).collect();
    assert_eq!(
        kinds,
        [
            EventKind::RoleChanged,
            EventKind::Accepted,
            EventKind::Invited,
            EventKind::Created
        ]
    );
    assert_eq!(
        all.events[0].describe(),
        "Olivia Owner changed the role of new@example.com from Admin to Member."
    );
    assert_eq!(
        all.events[2].describe(),
        "Adam Admin invited new@example.com as Admin."
    );
    // A name can be anyone's; the address beside it cannot.
    assert_eq!(
        all.events[2].actor_email.as_deref(),
        Some("adam@example.com")
    );
    assert_eq!(
        all.events[0].actor_email.as_deref(),
        Some("olivia@example.com")
    );
    let invited: Option<AuditPage> =
        serde_json::from_str(&log("invited", t.owner.clone()).await.body).unwrap();
    assert_eq!(invited.unwrap().total, 1);
    assert_eq!(log("", t.admin.clone()).await.status, StatusCode::FORBIDDEN);
    assert_eq!(
        log("", t.member.clone()).await.status,
        StatusCode::FORBIDDEN
    );
    let bad = log("dropped_tables", t.owner.clone()).await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn a_verified_invitee_accepts_from_the_welcome_page_without_the_link() {
    let app = spawn_app().await;
    let t = team(&app).await;
    let uma = app
        .legacy_unverified_session("Uma", "uma@example.com")
        .await;
    invite(&app, &t.owner, &t.org, "uma@example.com", "admin").await;
    let id = invitation_to(&app, "uma@example.com").await.id.to_string();
    let mine = |session: String| {
        let app = &app;
        async move {
            let found: Vec<app::invitations::api::InvitationForMe> = app
                .call_json("/api/invitations/mine", &[], Some(&session))
                .await;
            found
        }
    };
    let accept_mine = |session: String, id: String| {
        let app = &app;
        async move {
            app.send(
                Call::post("/api/invitations/accept_mine", &[("invitation_id", &id)])
                    .session(&session),
            )
            .await
        }
    };
    // Unverified, the address is only a claim: nothing is shown, nothing accepted.
    assert!(mine(uma.clone()).await.is_empty());
    assert_eq!(
        accept_mine(uma.clone(), id.clone()).await.status,
        StatusCode::FORBIDDEN
    );
    // Someone else's invitation ID does not work for a verified stranger either.
    let stranger = accept_mine(t.outsider.clone(), id.clone()).await;
    assert!(matches!(stranger.error(), AppError::Forbidden(m) if m.contains("not valid")));

    let confirmed = app.confirm_email("uma@example.com", PASSWORD).await;
    assert_eq!(confirmed.status, StatusCode::OK, "{}", confirmed.body);
    let listed = mine(uma.clone()).await;
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].organization_name, "Acme");
    assert_eq!(listed[0].inviter_name.as_deref(), Some("Olivia Owner"));
    let reply = accept_mine(uma.clone(), id).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(role_in(&app, &uma, &t.org).await, Some(Role::Admin));
    assert!(mine(uma.clone()).await.is_empty());

    // An invitation sent after the address was proven is not listed (the proof is older
    // than the invitation: a mailbox can change hands); its emailed link still works.
    invite(
        &app,
        &t.outsider,
        &t.outsider_org,
        "uma@example.com",
        "member",
    )
    .await;
    assert!(mine(uma.clone()).await.is_empty());
    let later = invitation_to_org(&app, "uma@example.com", &t.outsider_org).await;
    assert_eq!(
        accept_mine(uma.clone(), later.id.to_string()).await.status,
        StatusCode::FORBIDDEN
    );
    let token = app.mailed_token("uma@example.com", "/invitation").await;
    assert_eq!(accept(&app, &uma, &token).await.status, StatusCode::OK);
    assert_eq!(
        role_in(&app, &uma, &t.outsider_org).await,
        Some(Role::Member)
    );
}

async fn invitation_to_org(app: &TestApp, email: &str, org: &str) -> invitation::Model {
    let org = organization::Entity::find()
        .filter(organization::Column::PublicId.eq(org))
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    invitation::Entity::find()
        .filter(invitation::Column::EmailNormalized.eq(email))
        .filter(invitation::Column::OrganizationId.eq(org.id))
        .one(&app.db)
        .await
        .unwrap()
        .expect("an invitation")
}

/// The membership ID of `session`'s user in `org`.
async fn membership_id(app: &TestApp, session: &str, org: &str) -> String {
    app.membership_of(session, org)
        .await
        .expect("a member")
        .id
        .to_string()
}

/// The attack: an owner invites a second address of theirs as owner, is removed, then
/// accepts with that address to come back as owner.
#[tokio::test]
async fn a_removed_owners_invitations_die_with_their_membership() {
    let app = spawn_app().await;
    let t = team(&app).await;
    let second_owner = app.sign_up("Sara Second", "sara@example.com").await;
    app.join(&second_owner, &t.org, Role::Owner).await;
    assert_eq!(
        invite(&app, &t.owner, &t.org, "olivia.alt@example.com", "owner")
            .await
            .status,
        StatusCode::OK
    );
    invite(&app, &t.owner, &t.org, "helper@example.com", "member").await;
    let token = app
        .mailed_token("olivia.alt@example.com", "/invitation")
        .await;

    let olivia = membership_id(&app, &t.owner, &t.org).await;
    let removed = app
        .send(
            Call::post(
                "/api/members/remove",
                &[("organization_id", &t.org), ("membership_id", &olivia)],
            )
            .session(&second_owner),
        )
        .await;
    assert_eq!(removed.status, StatusCode::OK, "{}", removed.body);
    for email in ["olivia.alt@example.com", "helper@example.com"] {
        assert_eq!(
            invitation_to(&app, email).await.status,
            InvitationStatus::Revoked,
            "{email}"
        );
    }
    let voided = app::server::entities::audit_event::Entity::find()
        .filter(app::server::entities::audit_event::Column::Kind.eq(EventKind::InvitationVoided))
        .count(&app.db)
        .await
        .unwrap();
    assert_eq!(voided, 2);

    let alt = app.sign_up("Olivia Again", "olivia.alt@example.com").await;
    let refused = accept(&app, &alt, &token).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert_eq!(role_in(&app, &alt, &t.org).await, None);
}

#[tokio::test]
async fn a_demoted_inviter_keeps_only_the_invitations_their_new_role_could_send() {
    let app = spawn_app().await;
    let t = team(&app).await;
    let promoted = membership_id(&app, &t.admin, &t.org).await;
    let change = |role: &'static str| {
        let org = t.org.clone();
        let promoted = promoted.clone();
        let owner = t.owner.clone();
        let app = &app;
        async move {
            app.send(
                Call::post(
                    "/api/members/change_role",
                    &[
                        ("organization_id", &org),
                        ("membership_id", &promoted),
                        ("role", role),
                    ],
                )
                .session(&owner),
            )
            .await
        }
    };
    assert_eq!(change("owner").await.status, StatusCode::OK);
    invite(&app, &t.admin, &t.org, "new.owner@example.com", "owner").await;
    invite(&app, &t.admin, &t.org, "new.admin@example.com", "admin").await;
    invite(&app, &t.admin, &t.org, "new.member@example.com", "member").await;

    assert_eq!(change("admin").await.status, StatusCode::OK);
    assert_eq!(
        invitation_to(&app, "new.owner@example.com").await.status,
        InvitationStatus::Revoked
    );
    for kept in ["new.admin@example.com", "new.member@example.com"] {
        assert_eq!(
            invitation_to(&app, kept).await.status,
            InvitationStatus::Pending,
            "{kept}"
        );
    }
    assert_eq!(change("member").await.status, StatusCode::OK);
    for gone in ["new.admin@example.com", "new.member@example.com"] {
        assert_eq!(
            invitation_to(&app, gone).await.status,
            InvitationStatus::Revoked,
            "{gone}"
        );
    }
}

/// Accepting checks the inviter's authority again, whatever happened in between.
#[tokio::test]
async fn accepting_checks_that_the_inviter_may_still_grant_the_role() {
    let app = spawn_app().await;
    let t = team(&app).await;
    invite(&app, &t.admin, &t.org, "newcomer@example.com", "admin").await;
    let token = app
        .mailed_token("newcomer@example.com", "/invitation")
        .await;
    // The admin is made a member behind the app's back (say, by a database restore).
    membership::Entity::update_many()
        .col_expr(membership::Column::Role, Expr::value("member"))
        .filter(
            membership::Column::Id.eq(membership_id(&app, &t.admin, &t.org)
                .await
                .parse::<i32>()
                .unwrap()),
        )
        .exec(&app.db)
        .await
        .unwrap();
    let newcomer = app.sign_up("Nina", "newcomer@example.com").await;
    let refused = accept(&app, &newcomer, &token).await;
    assert!(
        matches!(refused.error(), AppError::Forbidden(m) if m.contains("can no longer invite you as Admin")),
        "{}",
        refused.body
    );
    assert_eq!(role_in(&app, &newcomer, &t.org).await, None);
    assert_eq!(
        invitation_to(&app, "newcomer@example.com").await.status,
        InvitationStatus::Revoked
    );
}
