//! Identity's one door (`app::identity::sign_in::arrive`) against the database, without
//! HTTP: every way in passes it, so each of its rules is tested once here for every method,
//! as the attack it stops. (The HTTP tests of each path show that the path reaches it.)

use app::{
    error::AppError,
    identity::sign_in::{arrive, Arrival, SignInStep},
    kinds::{SecondFactor, SignInMethod},
    server::{
        entities::{passkey, session, two_factor_challenge},
        session::SignInOrigin,
    },
};
use axum::http::HeaderMap;
use chrono::Utc;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, Set};

use crate::common::{spawn_app, TestApp};

/// Every way in but the organization's provider.
const NOT_SSO: [SignInMethod; 3] = [
    SignInMethod::Password,
    SignInMethod::Reset,
    SignInMethod::Passkey,
];

async fn sessions_of(app: &TestApp, user_id: i32) -> u64 {
    session::Entity::find()
        .filter(session::Column::UserId.eq(user_id))
        .count(&app.db)
        .await
        .unwrap()
}

async fn arrive_by(
    app: &TestApp,
    user_id: i32,
    origin: &SignInOrigin,
    previous_session: Option<i32>,
) -> Result<SignInStep, AppError> {
    let arrival = Arrival {
        user_id,
        origin,
        previous_session,
        next: Some("/settings".into()),
    };
    arrive(&app.db, arrival, Utc::now()).await
}

fn by(method: SignInMethod) -> SignInOrigin {
    SignInOrigin::new(method, &HeaderMap::new(), None)
}

#[tokio::test]
async fn no_way_in_lets_in_an_account_whose_address_is_unproven() {
    let app = spawn_app().await;
    app.sign_up_pending("Mallory", "ada@example.com").await;
    let squatter = app.user_id_by_email("ada@example.com").await;
    for method in NOT_SSO.into_iter().chain([SignInMethod::Sso]) {
        let refused = arrive_by(&app, squatter, &by(method), None).await;
        match refused {
            Err(AppError::Forbidden(message)) => {
                assert!(message.contains("not verified"), "{method:?}: {message}")
            }
            other => panic!("{method:?} let an unproven address in: {other:?}"),
        }
        // Not even with a second factor in hand.
        let with_factor = by(method).with_second_factor(SecondFactor::Totp);
        assert!(arrive_by(&app, squatter, &with_factor, None).await.is_err());
    }
    assert_eq!(sessions_of(&app, squatter).await, 0);
}

#[tokio::test]
async fn only_the_organizations_provider_lets_in_an_address_at_its_domain() {
    let app = spawn_app().await;
    // Ann proved her address before the organization verified its domain and turned SSO on.
    app.sign_up("Ann", "ann@acme.example").await;
    app.sso_organization("acme.example").await;
    let ann = app.user_id_by_email("ann@acme.example").await;
    let before = sessions_of(&app, ann).await;
    for method in NOT_SSO {
        match arrive_by(&app, ann, &by(method), None).await {
            Err(AppError::Forbidden(message)) => assert!(
                message.contains("sign in through Test IdP"),
                "{method:?}: {message}"
            ),
            other => panic!("{method:?} went around the provider: {other:?}"),
        }
    }
    assert_eq!(sessions_of(&app, ann).await, before);
    let through_provider = arrive_by(&app, ann, &by(SignInMethod::Sso), None).await;
    assert!(
        matches!(through_provider, Ok(SignInStep::Session(_))),
        "the provider lets its people in: {through_provider:?}"
    );
}

#[tokio::test]
async fn an_account_with_a_second_factor_is_asked_for_it_unless_the_arrival_carries_one() {
    let app = spawn_app().await;
    app.sign_up("Ada", "ada@example.com").await;
    let ada = app.user_id_by_email("ada@example.com").await;
    passkey::ActiveModel {
        user_id: Set(ada),
        name: Set("Laptop".into()),
        credential_id: Set("AAAA".into()),
        credential: Set("{}".into()),
        created_at: Set(Utc::now()),
        ..Default::default()
    }
    .insert(&app.db)
    .await
    .unwrap();
    let before = sessions_of(&app, ada).await;
    for method in [
        SignInMethod::Password,
        SignInMethod::Reset,
        SignInMethod::Sso,
    ] {
        let step = arrive_by(&app, ada, &by(method), None).await.unwrap();
        assert!(
            matches!(step, SignInStep::SecondFactor(_)),
            "{method:?} skipped the second factor: {step:?}"
        );
    }
    assert_eq!(sessions_of(&app, ada).await, before, "no session before it");
    let waiting = two_factor_challenge::Entity::find()
        .filter(two_factor_challenge::Column::UserId.eq(ada))
        .all(&app.db)
        .await
        .unwrap();
    assert_eq!(waiting.len(), 3);
    assert!(waiting
        .iter()
        .all(|challenge| challenge.next_path.as_deref() == Some("/settings")));

    // With the factor given, or a passkey alone (both factors), a session starts.
    let with_code = by(SignInMethod::Password).with_second_factor(SecondFactor::Totp);
    assert!(matches!(
        arrive_by(&app, ada, &with_code, None).await.unwrap(),
        SignInStep::Session(_)
    ));
    assert!(matches!(
        arrive_by(&app, ada, &by(SignInMethod::Passkey), None)
            .await
            .unwrap(),
        SignInStep::Session(_)
    ));
    assert_eq!(sessions_of(&app, ada).await, before + 2);
}

#[tokio::test]
async fn arriving_ends_the_browsers_previous_session() {
    let app = spawn_app().await;
    let old_cookie = app.sign_up("Ada", "ada@example.com").await;
    let ada = app.user_id_by_email("ada@example.com").await;
    let old = session::Entity::find()
        .filter(session::Column::UserId.eq(ada))
        .one(&app.db)
        .await
        .unwrap()
        .expect("the sign-up's session");
    let step = arrive_by(&app, ada, &by(SignInMethod::Password), Some(old.id))
        .await
        .unwrap();
    let SignInStep::Session(new_token) = step else {
        panic!("no second factor, so a session: {step:?}");
    };
    assert!(session::Entity::find_by_id(old.id)
        .one(&app.db)
        .await
        .unwrap()
        .is_none());
    assert_eq!(sessions_of(&app, ada).await, 1);
    let with_old = app.get("/settings", Some(&old_cookie)).await;
    assert_ne!(
        with_old.status,
        axum::http::StatusCode::OK,
        "the old cookie is out"
    );
    let with_new = app.get("/settings", Some(&new_token)).await;
    assert_eq!(with_new.status, axum::http::StatusCode::OK);
}
