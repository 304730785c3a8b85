//! Serves organization logos. Each stored version has its own URL (its content hash), so a
//! logo can be cached for a year; `nosniff` keeps browsers from reading it as anything but
//! the PNG we encoded.

use app::server::entities::{organization, organization_logo};
use axum::{
    extract::{Path, State},
    http::{header, StatusCode},
    response::{IntoResponse, Response},
};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

use crate::ServerState;

pub async fn serve_logo(
    State(state): State<ServerState>,
    Path((public_id, file)): Path<(String, String)>,
) -> Response {
    let Some(hash) = file.strip_suffix(".png") else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let found = organization_logo::Entity::find()
        .inner_join(organization::Entity)
        .filter(organization::Column::PublicId.eq(public_id))
        .filter(organization_logo::Column::ContentHash.eq(hash))
        .one(&state.app.reader)
        .await;
    match found {
        Ok(Some(logo)) => (
            [
                (header::CONTENT_TYPE, "image/png"),
                (header::CACHE_CONTROL, "public, max-age=31536000, immutable"),
                (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
                (
                    header::CONTENT_SECURITY_POLICY,
                    "default-src 'none'; sandbox",
                ),
            ],
            logo.image,
        )
            .into_response(),
        Ok(None) => StatusCode::NOT_FOUND.into_response(),
        Err(err) => {
            tracing::error!(error = %err, "loading a logo failed");
            StatusCode::SERVICE_UNAVAILABLE.into_response()
        }
    }
}
