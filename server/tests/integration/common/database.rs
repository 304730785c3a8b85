//! Looking into the test's database directly: ids and rows a test asserts on.

use super::*;

impl TestApp {
    /// The user behind a session.
    /// The id of the account at `email` (normalized).
    pub async fn user_id_by_email(&self, email: &str) -> i32 {
        use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
        app::server::entities::user::Entity::find()
            .filter(app::server::entities::user::Column::EmailNormalized.eq(email.to_lowercase()))
            .one(&self.db)
            .await
            .unwrap()
            .expect("an account at this address")
            .id
    }

    pub async fn user_id(&self, session: &str) -> i32 {
        use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
        app::server::entities::session::Entity::find()
            .filter(
                app::server::entities::session::Column::TokenHash
                    .eq(app::server::tokens::hash_token(session)),
            )
            .one(&self.db)
            .await
            .unwrap()
            .expect("a live session")
            .user_id
    }

    /// The session user's membership in the organization, if any.
    pub async fn membership_of(
        &self,
        session: &str,
        public_id: &str,
    ) -> Option<app::server::entities::membership::Model> {
        use app::server::entities::{membership, organization};
        use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
        let user_id = self.user_id(session).await;
        let org = organization::Entity::find()
            .filter(organization::Column::PublicId.eq(public_id))
            .one(&self.db)
            .await
            .unwrap()
            .expect("the organization");
        membership::Entity::find()
            .filter(membership::Column::UserId.eq(user_id))
            .filter(membership::Column::OrganizationId.eq(org.id))
            .one(&self.db)
            .await
            .unwrap()
    }

    /// The domain's row as stored.
    pub async fn domain_row(
        &self,
        public_id: &str,
        domain: &str,
    ) -> app::server::entities::organization_domain::Model {
        use app::server::entities::{organization, organization_domain};
        use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
        let org = organization::Entity::find()
            .filter(organization::Column::PublicId.eq(public_id))
            .one(&self.db)
            .await
            .unwrap()
            .expect("the organization");
        organization_domain::Entity::find()
            .filter(organization_domain::Column::OrganizationId.eq(org.id))
            // As typed: stored in its ASCII form.
            .filter(
                organization_domain::Column::Domain
                    .eq(app::accounts::rules::ascii_domain(domain).unwrap_or_default()),
            )
            .one(&self.db)
            .await
            .unwrap()
            .expect("the domain was added")
    }
}
