//! GET /settings/two-factor/recovery-codes/download: the new recovery codes as a text file, while
//! the page that shows them once may still show them. Reading only.

use axum::{
    extract::{Request, State},
    http::{header, StatusCode},
    response::{IntoResponse, Response},
};

use crate::server::{AppState, Viewer};

pub async fn recovery_codes_file(State(state): State<AppState>, request: Request) -> Response {
    let Some(me) = request
        .extensions()
        .get::<Viewer>()
        .and_then(|viewer| viewer.0.clone())
    else {
        return (
            StatusCode::UNAUTHORIZED,
            "Log in to download your recovery codes.",
        )
            .into_response();
    };
    match crate::identity::recovery_codes::revealed_codes(
        &state.reader,
        &state.secrets,
        me.user_id,
        me.session_id,
        chrono::Utc::now(),
    ).await {
        Ok(Some(codes)) => {
            let text = format!(
                "Orgdesk recovery codes for {}\n\nEach code signs you in once if you cannot use your authenticator app.\nKeep them somewhere safe.\n\n{}\n",
                me.email,
                codes.join("\n")
            );
            (
                [
                    (header::CONTENT_TYPE, "text/plain; charset=utf-8"),
                    (
                        header::CONTENT_DISPOSITION,
                        "attachment; filename=\"orgdesk-recovery-codes.txt\"",
                    ),
                    // Secrets: never kept by a cache.
                    (header::CACHE_CONTROL, "no-store"),
                ],
                text,
            )
                .into_response()
        }
        Ok(None) => (
            StatusCode::NOT_FOUND,
            "Recovery codes can be downloaded only right after they are made. Generate new ones in User Settings.",
        )
            .into_response(),
        Err(_) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            "Something went wrong on our side. Please try again in a moment.",
        )
            .into_response(),
    }
}
