//! Directory sync as an identity provider drives it: a token from the owner's settings
//! page, then SCIM requests with it.

use axum::http::StatusCode;
use serde_json::Value;

use super::{
    http::{Call, Reply},
    TestApp,
};

impl TestApp {
    /// Generates a directory sync token as the owner and reads it from the page's one-time
    /// reveal, as a person copies it into the provider.
    pub async fn scim_token(&self, owner: &str, org: &str) -> String {
        let made = self.try_scim_token(owner, org).await;
        assert_eq!(
            made.status,
            StatusCode::OK,
            "generating a token: {}",
            made.body
        );
        let view: Option<app::directory_sync::api::DirectorySyncView> = self
            .call_json("/api/directory_sync/view", &[], Some(owner))
            .await;
        let token = view
            .and_then(|v| v.new_token)
            .expect("the new token is shown once");
        let dismissed = self
            .send(Call::post("/api/directory_sync/dismiss_token", &[]).session(owner))
            .await;
        assert_eq!(dismissed.status, StatusCode::OK, "{}", dismissed.body);
        token
    }

    pub async fn try_scim_token(&self, owner: &str, org: &str) -> Reply {
        self.send(
            Call::post(
                "/api/directory_sync/generate_token",
                &[("organization_id", org)],
            )
            .session(owner),
        )
        .await
    }

    /// Maps a directory group to a role ("" for none) as the owner.
    pub async fn map_group(&self, owner: &str, org: &str, group_id: &str, role: &str) -> Reply {
        self.send(
            Call::post(
                "/api/directory_sync/map_group",
                &[
                    ("organization_id", org),
                    ("group_id", group_id),
                    ("role", role),
                ],
            )
            .session(owner),
        )
        .await
    }

    /// A SCIM request with the token.
    pub async fn scim(&self, method: &str, path: &str, token: &str, body: Option<Value>) -> Reply {
        self.api(method, &format!("/scim/v2{path}"), Some(token), body)
            .await
    }
}
