//! (ssr) The sign-in step waiting for a second factor, shared by the code and recovery-code
//! forms and by passkeys: this browser's pending challenge, completing it into a session,
//! and the notice a change of factors mails. Apart from the server functions, so those of
//! codes and of passkeys both use it without importing each other.

use crate::error::AppError;

/// The challenge cookie's token, if the browser sent one.
pub(crate) fn challenge_token(state: &crate::server::AppState) -> Option<String> {
    let parts = leptos::prelude::use_context::<http::request::Parts>()?;
    crate::server::session::cookie_value(
        &parts.headers,
        crate::identity::sign_in::challenge_cookie_name(state.settings.secure_cookies()),
    )
    .filter(|token| !token.is_empty())
}

/// This browser's sign-in waiting for its second factor, with its account, or why there is
/// none.
pub(crate) async fn pending_challenge(
    state: &crate::server::AppState,
) -> Result<
    (
        crate::server::entities::two_factor_challenge::Model,
        crate::server::entities::user::Model,
    ),
    AppError,
> {
    let token = challenge_token(state).ok_or_else(sign_in_expired)?;
    crate::identity::sign_in::challenge_of(&state.reader, &token, chrono::Utc::now())
        .await?
        .ok_or_else(sign_in_expired)
}

pub(crate) fn sign_in_expired() -> AppError {
    AppError::Forbidden("This sign-in has expired or was already used. Log in again.".into())
}

/// Ends a sign-in whose second factor was right, inside `txn` (which holds that factor's
/// use): the sign-in is used up (of two answers, one signs in), the account's code guesses
/// are forgiven, and the account arrives with `factor` (see
/// [`crate::identity::sign_in::arrive`]). Sets the cookies; returns where to go.
pub(crate) async fn complete_sign_in(
    state: &crate::server::AppState,
    txn: sea_orm::DatabaseTransaction,
    challenge: &crate::server::entities::two_factor_challenge::Model,
    account: &crate::server::entities::user::Model,
    factor: crate::accounts::rules::SecondFactor,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<String, AppError> {
    use crate::{
        accounts::rules::safe_next_path,
        identity::sign_in::{arrive, challenge_cookie_removal, Arrival, SignInStep},
        server::{
            append_response_header,
            entities::two_factor_challenge,
            session::{self, SignInOrigin},
            viewer,
        },
    };
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

    let claimed = two_factor_challenge::Entity::delete_many()
        .filter(two_factor_challenge::Column::Id.eq(challenge.id))
        .exec(&txn)
        .await?;
    if claimed.rows_affected == 0 {
        return Err(sign_in_expired());
    }
    // The right answer forgives the wrong guesses before it.
    crate::identity::code_guesses::forgive_code_guesses(&txn, account.id).await?;
    crate::identity::code_guesses::clear_consecutive_failures(&txn, account.id).await?;
    let origin = SignInOrigin::of_request(challenge.sign_in_method).with_second_factor(factor);
    let arrival = Arrival {
        user_id: account.id,
        origin: &origin,
        previous_session: viewer().map(|previous| previous.session_id),
        next: challenge.next_path.clone(),
    };
    let SignInStep::Session(session_token) = arrive(&txn, arrival, now).await? else {
        // An arrival that carries its second factor is never asked for another.
        return Err(sign_in_expired());
    };
    txn.commit().await?;
    state.wake_mail_worker();
    let secure = state.settings.secure_cookies();
    append_response_header(
        http::header::SET_COOKIE,
        session::cookie_header(&session_token, secure),
    );
    append_response_header(http::header::SET_COOKIE, challenge_cookie_removal(secure));
    Ok(safe_next_path(challenge.next_path.as_deref()))
}

/// A notice to the account's address that its second factors changed.
pub(crate) fn factor_notice(
    state: &crate::server::AppState,
    me: &crate::server::SignedIn,
    subject: &str,
    what_happened: &str,
) -> crate::server::mail::Email {
    crate::identity::factors::factor_notice(
        &state.settings,
        super::authenticator::holder_of(me),
        subject,
        what_happened,
    )
}
