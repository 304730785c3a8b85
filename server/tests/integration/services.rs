//! The services under the server functions, called directly against the database (no HTTP,
//! no request): the throttles, the waiting sign-in (challenge), step-up proofs, parallel
//! accepts of one invitation and parallel membership changes. Each is written as the
//! attack or the race it must withstand; the HTTP tests show the server functions reach
//! these services.

use app::{
    error::AppError,
    identity::{
        proofs::{require_recent_proof, step_up_window},
        sign_in::{challenge_lifetime, challenge_of, start_challenge},
        throttles::{
            account_scope, backoff_after, count_password_attempt, forgive_attempts,
            password_scopes, refuse_during_backoff, ATTEMPTS_BEFORE_BACKOFF,
            MAX_ATTEMPTS_PER_ADDRESS, MAX_ATTEMPTS_PER_PAIR,
        },
    },
    invitations::service::{accept, Chosen},
    kinds::SignInMethod,
    members::roles::Role,
    server::{
        entities::{invitation, membership, organization, two_factor_challenge},
        session::{resolve, Resolved},
        SignedIn,
    },
};
use axum::http::StatusCode;
use chrono::{Duration, Utc};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, TransactionTrait};
use std::net::IpAddr;

use crate::common::{spawn_app, Call, TestApp, PASSWORD};

/// The signed-in user behind a session token, as a request would see it.
async fn signed_in(app: &TestApp, token: &str) -> SignedIn {
    match resolve(&app.db, &app.db, token, Utc::now()).await.unwrap() {
        Resolved::Active { user, .. } => user,
        Resolved::Invalid => panic!("the session is valid"),
    }
}

fn client(address: &str) -> Option<IpAddr> {
    Some(address.parse().unwrap())
}

fn is_throttled(result: &Result<(), AppError>) -> bool {
    matches!(result, Err(AppError::TooManyAttempts(_)))
}

#[tokio::test]
async fn a_guesser_gets_the_pair_limit_of_password_attempts_and_no_more() {
    let app = spawn_app().await;
    let scopes = password_scopes("ada@example.com", client("203.0.113.7"));
    let now = Utc::now();
    for attempt in 1..=MAX_ATTEMPTS_PER_PAIR {
        let counted = count_password_attempt(&app.db, &scopes, now).await;
        assert!(counted.is_ok(), "attempt {attempt}: {counted:?}");
    }
    let refused = count_password_attempt(&app.db, &scopes, now).await;
    assert!(is_throttled(&refused), "{refused:?}");
    // Another client guessing at the same account has its own pair allowance...
    let elsewhere = password_scopes("ada@example.com", client("198.51.100.9"));
    assert!(count_password_attempt(&app.db, &elsewhere, now)
        .await
        .is_ok());
    // ...and the right password forgives the account and its pairs.
    forgive_attempts(&app.db, "ada@example.com", client("203.0.113.7"), None)
        .await
        .unwrap();
    assert!(count_password_attempt(&app.db, &scopes, now).await.is_ok());
    // The window passes: the old attempts no longer count.
    let later = now + Duration::minutes(16);
    for _ in 0..MAX_ATTEMPTS_PER_PAIR {
        assert!(count_password_attempt(&app.db, &scopes, later)
            .await
            .is_ok());
    }
}

#[tokio::test]
async fn parallel_guesses_do_not_slip_past_the_limit() {
    let app = spawn_app().await;
    let scopes = password_scopes("ada@example.com", client("203.0.113.7"));
    let now = Utc::now();
    let guesses = (0..20).map(|_| count_password_attempt(&app.db, &scopes, now));
    let results = futures::future::join_all(guesses).await;
    let counted = results.iter().filter(|r| r.is_ok()).count() as u64;
    // Each attempt is written before it is counted, so an attempt sees every earlier one:
    // at most the limit get through (none, if all are written before any is counted).
    assert!(
        counted <= MAX_ATTEMPTS_PER_PAIR,
        "{counted} of 20 parallel guesses were let through"
    );
    assert!(results.iter().all(|r| r.is_ok() || is_throttled(r)));
}

#[tokio::test]
async fn one_client_guessing_at_many_accounts_is_stopped_by_its_address() {
    let app = spawn_app().await;
    let now = Utc::now();
    let from = client("203.0.113.7");
    for n in 0..MAX_ATTEMPTS_PER_ADDRESS {
        let scopes = password_scopes(&format!("user{n}@example.com"), from);
        assert!(count_password_attempt(&app.db, &scopes, now).await.is_ok());
    }
    let next = password_scopes("someone-new@example.com", from);
    assert!(is_throttled(
        &count_password_attempt(&app.db, &next, now).await
    ));
}

#[tokio::test]
async fn unknown_browsers_back_off_exponentially_at_an_account_under_attack() {
    let app = spawn_app().await;
    let now = Utc::now();
    // Failures from many addresses (a botnet): no pair reaches its limit.
    for n in 0..=ATTEMPTS_BEFORE_BACKOFF {
        let scopes = password_scopes("ada@example.com", client(&format!("192.0.2.{n}")));
        count_password_attempt(&app.db, &scopes, now).await.unwrap();
    }
    let wait = backoff_after(ATTEMPTS_BEFORE_BACKOFF + 1);
    assert_eq!(wait, Duration::seconds(2));
    match refuse_during_backoff(&app.db, "ada@example.com", now).await {
        Err(AppError::TooManyAttempts(message)) => {
            assert!(message.contains("wait 2 seconds"), "{message}")
        }
        other => panic!("no back-off: {other:?}"),
    }
    assert!(
        refuse_during_backoff(&app.db, "ada@example.com", now + wait)
            .await
            .is_ok()
    );
    // Another account is not slowed by Ada's attackers.
    assert!(refuse_during_backoff(&app.db, "bob@example.com", now)
        .await
        .is_ok());
    assert_ne!(
        account_scope("ada@example.com"),
        account_scope("bob@example.com")
    );
}

#[tokio::test]
async fn a_waiting_sign_in_is_found_only_by_its_own_token_and_only_in_time() {
    let app = spawn_app().await;
    app.sign_up("Ada", "ada@example.com").await;
    let ada = app.user_id_by_email("ada@example.com").await;
    let now = Utc::now();
    let txn = app.db.begin().await.unwrap();
    let token = start_challenge(
        &txn,
        ada,
        SignInMethod::Password,
        Some("/settings".into()),
        now,
    )
    .await
    .unwrap();
    txn.commit().await.unwrap();

    let (challenge, account) = challenge_of(&app.db, &token, now)
        .await
        .unwrap()
        .expect("found by its token");
    assert_eq!(account.id, ada);
    assert_eq!(challenge.next_path.as_deref(), Some("/settings"));
    // Only its hash is stored: a copy of the database does not hold a usable token.
    let stored = two_factor_challenge::Entity::find()
        .all(&app.db)
        .await
        .unwrap();
    assert!(stored.iter().all(|row| row.token_hash != token));
    // A guessed or altered token finds nothing.
    let mut altered = token.clone();
    altered.pop();
    altered.push(if token.ends_with('A') { 'B' } else { 'A' });
    assert!(challenge_of(&app.db, &altered, now)
        .await
        .unwrap()
        .is_none());
    // It waits ten minutes, not longer.
    let too_late = now + challenge_lifetime() + Duration::seconds(1);
    assert!(challenge_of(&app.db, &token, too_late)
        .await
        .unwrap()
        .is_none());
}

#[tokio::test]
async fn a_stale_session_proves_itself_again_and_guessing_the_password_is_throttled() {
    let app = spawn_app().await;
    let token = app.sign_up("Ada", "ada@example.com").await;
    let me = signed_in(&app, &token).await;
    let state = &app.state.app;
    let from = client("203.0.113.7");
    // Just signed in: no proof asked.
    let now = Utc::now();
    assert!(require_recent_proof(state, &me, None, from, now)
        .await
        .is_ok());

    // A stolen cookie, used later: the session must prove itself again.
    let later = now + step_up_window() + Duration::minutes(1);
    match require_recent_proof(state, &me, None, from, later).await {
        Err(AppError::Invalid(errors)) => assert_eq!(errors[0].field, "proof"),
        other => panic!("no proof asked: {other:?}"),
    }
    for _ in 0..MAX_ATTEMPTS_PER_PAIR {
        let wrong = require_recent_proof(state, &me, Some("hunter2"), from, later).await;
        assert!(matches!(wrong, Err(AppError::Invalid(_))), "{wrong:?}");
    }
    // The guesser is out of attempts: even the right password is refused for now.
    let throttled = require_recent_proof(state, &me, Some(PASSWORD), from, later).await;
    assert!(is_throttled(&throttled), "{throttled:?}");

    // The owner, elsewhere, proves it and the session counts as proved from then on.
    let owner = client("198.51.100.9");
    require_recent_proof(state, &me, Some(PASSWORD), owner, later)
        .await
        .unwrap();
    let renewed = signed_in(&app, &token).await;
    assert!(renewed.proved_at > me.proved_at);
}

/// Bob, invited to Acme by its owner, and his invitation's ID.
async fn invited_bob(app: &TestApp) -> (String, String, i32) {
    let owner = app.sign_up("Olivia", "olivia@example.com").await;
    let org = app.create_organization(&owner, "Acme").await;
    let invited = app
        .send(
            Call::post(
                "/api/invitations/invite",
                &[
                    ("organization_id", &org),
                    ("email", "bob@example.com"),
                    ("role", "admin"),
                ],
            )
            .session(&owner),
        )
        .await;
    assert_eq!(invited.status, StatusCode::OK, "{}", invited.body);
    let bob = app.sign_up("Bob", "bob@example.com").await;
    let id = invitation::Entity::find()
        .filter(invitation::Column::EmailNormalized.eq("bob@example.com"))
        .one(&app.db)
        .await
        .unwrap()
        .unwrap()
        .id;
    (org, bob, id)
}

#[tokio::test]
async fn two_parallel_accepts_of_one_invitation_make_one_membership() {
    let app = spawn_app().await;
    let (_, bob, invitation_id) = invited_bob(&app).await;
    let me = signed_in(&app, &bob).await;
    let state = &app.state.app;
    let (first, second) = tokio::join!(
        accept(state, &me, Chosen::ById(invitation_id)),
        accept(state, &me, Chosen::ById(invitation_id)),
    );
    assert_eq!(
        [first.is_ok(), second.is_ok()]
            .iter()
            .filter(|ok| **ok)
            .count(),
        1,
        "{first:?} / {second:?}"
    );
    let memberships = membership::Entity::find()
        .filter(membership::Column::UserId.eq(me.user_id))
        .all(&app.db)
        .await
        .unwrap();
    assert_eq!(memberships.len(), 1);
    assert_eq!(memberships[0].role, Role::Admin);
    let account = app::server::entities::user::Entity::find_by_id(me.user_id)
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(account.membership_count, 1);
}

#[tokio::test]
async fn someone_else_cannot_accept_an_invitation_by_its_id() {
    let app = spawn_app().await;
    let (_, _, invitation_id) = invited_bob(&app).await;
    let mallory = app.sign_up("Mallory", "mallory@example.com").await;
    let me = signed_in(&app, &mallory).await;
    let refused = accept(&app.state.app, &me, Chosen::ById(invitation_id)).await;
    assert!(
        matches!(refused, Err(AppError::Forbidden(_))),
        "{refused:?}"
    );
    let pending = invitation::Entity::find_by_id(invitation_id)
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(pending.status, invitation::InvitationStatus::Pending);
    assert_eq!(membership::Entity::find().count(&app.db).await.unwrap(), 1);
}

/// Acme with two owners, Olivia and Oscar, and each one's membership ID.
async fn two_owners(app: &TestApp) -> (organization::Model, i32, i32) {
    let olivia = app.sign_up("Olivia", "olivia@example.com").await;
    let oscar = app.sign_up("Oscar", "oscar@example.com").await;
    let public_id = app.create_organization(&olivia, "Acme").await;
    app.join(&oscar, &public_id, Role::Owner).await;
    let org = organization::Entity::find()
        .filter(organization::Column::PublicId.eq(public_id.as_str()))
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    let id_of = |user_id: i32| {
        let db = app.db.clone();
        let org_id = org.id;
        async move {
            membership::Entity::find()
                .filter(membership::Column::OrganizationId.eq(org_id))
                .filter(membership::Column::UserId.eq(user_id))
                .one(&db)
                .await
                .unwrap()
                .unwrap()
                .id
        }
    };
    let olivia_id = id_of(app.user_id(&olivia).await).await;
    let oscar_id = id_of(app.user_id(&oscar).await).await;
    (org, olivia_id, oscar_id)
}

async fn owners_of(app: &TestApp, organization_id: i32) -> (u64, i32) {
    let counted = membership::Entity::find()
        .filter(membership::Column::OrganizationId.eq(organization_id))
        .filter(membership::Column::Role.eq(Role::Owner))
        .count(&app.db)
        .await
        .unwrap();
    let stored = organization::Entity::find_by_id(organization_id)
        .one(&app.db)
        .await
        .unwrap()
        .unwrap()
        .owner_count;
    (counted, stored)
}

#[tokio::test]
async fn two_owners_demoting_each_other_at_once_leave_one_owner() {
    let app = spawn_app().await;
    let (org, olivia, oscar) = two_owners(&app).await;
    let demote = |membership_id: i32| {
        let db = app.db.clone();
        async move {
            let txn = db.begin().await?;
            let changed =
                app::members::service::change_role(&txn, org.id, membership_id, Role::Member)
                    .await?;
            txn.commit().await?;
            Ok::<_, AppError>(changed.is_some())
        }
    };
    let (a, b) = tokio::join!(demote(olivia), demote(oscar));
    assert_eq!(
        [&a, &b].iter().filter(|r| matches!(r, Ok(true))).count(),
        1,
        "{a:?} / {b:?}"
    );
    assert_eq!(owners_of(&app, org.id).await, (1, 1));
}

#[tokio::test]
async fn two_owners_removing_each_other_at_once_leave_one_owner() {
    let app = spawn_app().await;
    let (org, olivia, oscar) = two_owners(&app).await;
    let remove = |membership_id: i32| {
        let db = app.db.clone();
        async move {
            let txn = db.begin().await?;
            let removed =
                app::members::service::remove(&txn, org.id, membership_id, Role::Owner).await?;
            txn.commit().await?;
            Ok::<_, AppError>(removed)
        }
    };
    let (a, b) = tokio::join!(remove(olivia), remove(oscar));
    assert_eq!(
        [a.is_ok(), b.is_ok()].iter().filter(|ok| **ok).count(),
        1,
        "{a:?} / {b:?}"
    );
    assert_eq!(owners_of(&app, org.id).await, (1, 1));
    // An admin cannot remove the owner who is left.
    let left = if a.is_ok() { oscar } else { olivia };
    let txn = app.db.begin().await.unwrap();
    let refused = app::members::service::remove(&txn, org.id, left, Role::Admin).await;
    assert!(
        matches!(refused, Err(AppError::Forbidden(_))),
        "{refused:?}"
    );
}
