//! What a person does, as steps a test can take: sign up and confirm, log in, read the
//! mailed link, create and join organizations.

use super::*;

impl TestApp {
    /// Signs a new user up and returns their session token.
    /// Signs up as a person does: the form, then the mailed link confirmed with the
    /// password. Returns the session cookie the confirmation sets.
    pub async fn sign_up(&self, name: &str, email: &str) -> String {
        self.sign_up_pending(name, email).await;
        let confirmed = self.confirm_email(email, PASSWORD).await;
        assert_eq!(
            confirmed.status,
            StatusCode::OK,
            "confirming failed: {}",
            confirmed.body
        );
        confirmed
            .session_cookie()
            .expect("confirming the address signs in")
    }

    /// Only the sign-up form: the account waits for its address to be confirmed, signed
    /// out.
    pub async fn sign_up_pending(&self, name: &str, email: &str) -> Reply {
        let reply = self
            .send(Call::post(
                "/api/accounts/sign_up",
                &[("name", name), ("email", email), ("password", PASSWORD)],
            ))
            .await;
        assert_eq!(
            reply.status,
            StatusCode::OK,
            "sign up failed: {}",
            reply.body
        );
        assert_eq!(reply.redirected_to(), Some("/verify-email?result=sent"));
        assert!(
            reply.session_cookie().is_none_or(|c| c.is_empty()),
            "a sign-up alone never signs in"
        );
        reply
    }

    /// Presses "Confirm my email" on the newest verification link mailed to `email`.
    pub async fn confirm_email(&self, email: &str, password: &str) -> Reply {
        let token = self.mailed_token(email, "/verify-email").await;
        let token = token.split('&').next().unwrap_or_default().to_string();
        self.send(Call::post(
            "/api/accounts/verify_email",
            &[("token", &token), ("password", password)],
        ))
        .await
    }

    /// A session of an account whose address was never confirmed, as servers before
    /// confirmation-first sign-up made them (those sessions may still be live).
    pub async fn legacy_unverified_session(&self, name: &str, email: &str) -> String {
        self.sign_up_pending(name, email).await;
        let user_id = self.user_id_by_email(email).await;
        let origin = app::server::session::SignInOrigin::new(
            app::server::session::SignInMethod::Password,
            &Default::default(),
            None,
        );
        let txn = sea_orm::TransactionTrait::begin(&self.db).await.unwrap();
        let token = app::server::session::start(&txn, user_id, &origin)
            .await
            .unwrap();
        txn.commit().await.unwrap();
        token
    }

    pub async fn log_in(&self, email: &str, password: &str) -> Reply {
        self.send(Call::post(
            "/api/accounts/log_in",
            &[("email", email), ("password", password)],
        ))
        .await
    }

    /// The link (from the public URL up to the end of its line) in the newest queued
    /// message to `to` whose link path starts with `path`.
    pub async fn mailed_link(&self, to: &str, path: &str) -> String {
        use app::server::entities::mail_outbox;
        use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
        // Any public URL: the path after its host.
        let has_path = |line: &str| {
            line.split_once("://")
                .and_then(|(_, rest)| rest.find('/').map(|i| rest[i..].starts_with(path)))
                .unwrap_or(false)
        };
        mail_outbox::Entity::find()
            .filter(mail_outbox::Column::Recipient.eq(to))
            .order_by_desc(mail_outbox::Column::Id)
            .all(&self.db)
            .await
            .unwrap()
            .into_iter()
            .find_map(|m| {
                m.text_body
                    .lines()
                    .find(|line| line.starts_with("http") && has_path(line))
                    .map(str::to_string)
            })
            .unwrap_or_else(|| panic!("no queued message to {to} with a {path} link"))
    }

    /// The token in the newest `path` link mailed to `to`.
    pub async fn mailed_token(&self, to: &str, path: &str) -> String {
        let link = self.mailed_link(to, path).await;
        link.split("token=").nth(1).expect("a token").to_string()
    }

    /// Creates an organization as the session's user and returns its public ID.
    pub async fn create_organization(&self, session: &str, name: &str) -> String {
        let reply = self
            .send(Call::post("/api/organizations/create", &[("name", name)]).session(session))
            .await;
        assert_eq!(
            reply.status,
            StatusCode::OK,
            "create failed: {}",
            reply.body
        );
        let mine: app::organizations::api::MyOrganizationsPage = self
            .call_json(
                "/api/organizations/mine",
                &[("query", ""), ("page", "1")],
                Some(session),
            )
            .await;
        mine.current
            .expect("the new organization is current")
            .public_id
    }

    /// Adds a user to an organization with a role, as an accepted invitation would.
    pub async fn join(&self, session: &str, public_id: &str, role: app::members::roles::Role) {
        use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, TransactionTrait};
        let user_id = self.user_id(session).await;
        let org = app::server::entities::organization::Entity::find()
            .filter(app::server::entities::organization::Column::PublicId.eq(public_id))
            .one(&self.db)
            .await
            .unwrap()
            .unwrap();
        let txn = self.db.begin().await.unwrap();
        app::members::memberships::join_organization(
            &txn,
            user_id,
            org.id,
            role,
            chrono::Utc::now(),
        )
        .await
        .unwrap();
        txn.commit().await.unwrap();
    }
}
