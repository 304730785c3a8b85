//! Database sessions: a random 256-bit token in an HttpOnly, SameSite=Lax cookie, stored only
//! as its SHA-256, ending after 14 days without use. Kept in the database so that every
//! server process behind a load balancer sees the same sessions.

use axum::http::{header, HeaderMap, HeaderValue};
use chrono::{DateTime, Duration, Utc};
use cookie::{Cookie, SameSite};
use sea_orm::{
    sea_query::{Alias, Expr, IntoCondition, Order, Query, SelectStatement, SimpleExpr},
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, FromQueryResult,
    IdenStatic, Iterable, JoinType, QueryFilter, QueryResult, QuerySelect, QueryTrait,
    RelationTrait, Set,
};

pub use super::entities::session::{SecondFactor, SignInMethod};
use super::{
    entities::{membership, organization, passkey, session, totp_authenticator, user},
    tokens::{hash_token, new_token},
    CurrentMembership, SignedIn,
};

/// The session cookie's name: over https with the `__Host-` prefix, which browsers accept
/// only from a secure origin, for the whole host and no subdomain (no sibling site can
/// plant or overwrite it).
pub fn cookie_name(secure: bool) -> &'static str {
    if secure {
        "__Host-orgdesk_session"
    } else {
        "orgdesk_session"
    }
}

/// A session ends after this long without a request...
pub fn idle_lifetime() -> Duration {
    Duration::days(14)
}

/// ...and this long after its sign-in, however busy.
pub fn absolute_lifetime() -> Duration {
    Duration::days(30)
}

/// Where and how a sign-in happened, recorded with its session for the Sessions list.
#[derive(Debug, Clone)]
pub struct SignInOrigin {
    pub method: SignInMethod,
    /// The second factor given after the first step, if the account has one.
    pub second_factor: Option<SecondFactor>,
    pub user_agent: Option<String>,
    pub client_address: Option<std::net::IpAddr>,
    /// The client as throttles count it (its IPv6 network): see
    /// [`super::throttle_bucket`].
    pub throttle_address: Option<std::net::IpAddr>,
}

impl SignInOrigin {
    /// From a request's headers and client address.
    pub fn new(
        method: SignInMethod,
        headers: &HeaderMap,
        client_address: Option<std::net::IpAddr>,
    ) -> Self {
        let user_agent = headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(|ua| ua.chars().take(200).collect::<String>())
            .filter(|ua| !ua.trim().is_empty());
        Self {
            method,
            second_factor: None,
            user_agent,
            client_address,
            throttle_address: client_address,
        }
    }

    /// The same sign-in, completed with `factor`.
    pub fn with_second_factor(mut self, factor: SecondFactor) -> Self {
        self.second_factor = Some(factor);
        self
    }

    /// Inside a server function: from the request being answered.
    pub fn of_request(method: SignInMethod) -> Self {
        match leptos::prelude::use_context::<axum::http::request::Parts>() {
            Some(parts) => Self {
                throttle_address: super::throttle_address(),
                ..Self::new(method, &parts.headers, super::client_address())
            },
            None => Self {
                method,
                second_factor: None,
                user_agent: None,
                client_address: None,
                throttle_address: None,
            },
        }
    }
}

/// `last_seen_at` is written at most this often, so reading pages stays read-only.
fn touch_interval() -> Duration {
    Duration::hours(1)
}

/// Starts a session for `user_id` and returns the token for the cookie.
pub async fn start(
    db: &impl ConnectionTrait,
    user_id: i32,
    origin: &SignInOrigin,
) -> Result<String, DbErr> {
    let token = new_token();
    let now = Utc::now();
    session::ActiveModel {
        token_hash: Set(hash_token(&token)),
        user_id: Set(user_id),
        created_at: Set(now),
        last_seen_at: Set(now),
        sign_in_method: Set(origin.method),
        second_factor: Set(origin.second_factor),
        proved_at: Set(Some(now)),
        user_agent: Set(origin.user_agent.clone()),
        client_address: Set(origin.client_address.map(|a| a.to_string())),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(token)
}

/// What a session cookie turned out to be.
pub enum Resolved {
    /// Valid; `refresh_cookie` says the cookie's lifetime should be renewed.
    Active {
        user: SignedIn,
        refresh_cookie: bool,
    },
    /// Unknown, forged or expired: the cookie should be cleared.
    Invalid,
}

/// Looks the token up (on `reader`), ends it if it has been idle too long, and records
/// use (on `writer`, only when there is something to write).
pub async fn resolve(
    reader: &impl ConnectionTrait,
    writer: &impl ConnectionTrait,
    token: &str,
    now: DateTime<Utc>,
) -> Result<Resolved, DbErr> {
    // The organization the user works in (for every page's navigation and the current
    // organization's lists) is read in the same statement: one query per request, not two.
    let mut lookup = session::Entity::find()
        .filter(session::Column::TokenHash.eq(hash_token(token)))
        .find_also_related(user::Entity)
        .join(
            JoinType::LeftJoin,
            user::Relation::Membership
                .def()
                .on_condition(|_, memberships| {
                    // `=` a scalar subquery: one index seek for the id, then the row by
                    // its key (not the subquery per membership of the user).
                    Expr::col((memberships, membership::Column::Id))
                        .eq(SimpleExpr::SubQuery(
                            None,
                            Box::new(latest_selected_membership().into_sub_query_statement()),
                        ))
                        .into_condition()
                }),
        )
        .join(JoinType::LeftJoin, membership::Relation::Organization.def())
        .select_also(membership::Entity);
    for column in organization::Column::iter() {
        lookup = lookup.column_as(
            Expr::col((organization::Entity, column)),
            format!("{ORGANIZATION_PREFIX}{}", column.as_str()),
        );
    }
    // The account's second factors: organizations that require one ask on every request,
    // and User Settings shows them. Two index lookups in the same statement.
    let user_id = || Expr::col((session::Entity, session::Column::UserId));
    lookup = lookup
        .column_as(
            SimpleExpr::SubQuery(
                None,
                Box::new(
                    Query::select()
                        .column(totp_authenticator::Column::ConfirmedAt)
                        .from(totp_authenticator::Entity)
                        .and_where(
                            Expr::col((
                                totp_authenticator::Entity,
                                totp_authenticator::Column::UserId,
                            ))
                            .equals((session::Entity, session::Column::UserId)),
                        )
                        .and_where(totp_authenticator::Column::ConfirmedAt.is_not_null())
                        .limit(1)
                        .to_owned()
                        .into_sub_query_statement(),
                ),
            ),
            AUTHENTICATOR_SINCE,
        )
        .column_as(
            Expr::exists(
                Query::select()
                    .expr(Expr::val(1))
                    .from(passkey::Entity)
                    .and_where(Expr::col((passkey::Entity, passkey::Column::UserId)).eq(user_id()))
                    .to_owned(),
            ),
            HAS_PASSKEY,
        );
    let found = SessionLookup::find_by_statement(lookup.build(reader.get_database_backend()))
        .one(reader)
        .await?;
    let Some(SessionLookup {
        session,
        user: Some(user),
        current,
        authenticator_since,
        has_passkey,
    }) = found
    else {
        return Ok(Resolved::Invalid);
    };
    // Idle too long, signed in too long ago, or the account never proved its address
    // within its grace period.
    if session.last_seen_at + idle_lifetime() <= now
        || session.created_at + absolute_lifetime() <= now
        || user.is_stale_unverified(now)
    {
        session::Entity::delete_by_id(session.id)
            .exec(writer)
            .await?;
        return Ok(Resolved::Invalid);
    }
    let refresh_cookie = session.last_seen_at + touch_interval() <= now;
    if refresh_cookie {
        session::Entity::update_many()
            .col_expr(session::Column::LastSeenAt, Expr::value(now))
            .filter(session::Column::Id.eq(session.id))
            .exec(writer)
            .await?;
    }
    Ok(Resolved::Active {
        user: SignedIn {
            user_id: user.id,
            session_id: session.id,
            name: user.name,
            email: user.email,
            has_password: user.password_hash.is_some(),
            email_verified_at: user.email_verified_at,
            proved_at: session.proved_at.unwrap_or(session.created_at),
            second_factor: session.second_factor,
            authenticator_since,
            has_passkey,
            current,
        },
        refresh_cookie,
    })
}

/// The organization's columns in the session lookup are named with this prefix (SeaORM names
/// the session's, the user's and the membership's `A_`, `B_` and `C_`).
const ORGANIZATION_PREFIX: &str = "D_";

/// The names of the lookup's columns about the account's second factors.
const AUTHENTICATOR_SINCE: &str = "authenticator_since";
const HAS_PASSKEY: &str = "has_passkey";

/// One row of the session lookup.
struct SessionLookup {
    session: session::Model,
    user: Option<user::Model>,
    current: Option<std::sync::Arc<CurrentMembership>>,
    authenticator_since: Option<chrono::DateTime<Utc>>,
    has_passkey: bool,
}

impl FromQueryResult for SessionLookup {
    fn from_query_result(row: &QueryResult, _: &str) -> Result<Self, DbErr> {
        let membership = membership::Model::from_query_result_optional(row, "C_")?;
        let organization =
            organization::Model::from_query_result_optional(row, ORGANIZATION_PREFIX)?;
        Ok(SessionLookup {
            authenticator_since: row.try_get("", AUTHENTICATOR_SINCE)?,
            has_passkey: row.try_get("", HAS_PASSKEY)?,
            session: session::Model::from_query_result(row, "A_")?,
            user: user::Model::from_query_result_optional(row, "B_")?,
            current: membership
                .zip(organization)
                .map(|(membership, organization)| {
                    std::sync::Arc::new(CurrentMembership {
                        organization,
                        membership,
                    })
                }),
        })
    }
}

/// The id of the membership the session's user selected last (their current organization:
/// switching organizations sets `selected_at`; the newest membership wins a tie).
fn latest_selected_membership() -> SelectStatement {
    let latest = Alias::new("latest");
    Query::select()
        .column((latest.clone(), membership::Column::Id))
        .from_as(membership::Entity, latest.clone())
        .and_where(
            Expr::col((latest.clone(), membership::Column::UserId))
                .equals((session::Entity, session::Column::UserId)),
        )
        .order_by(
            (latest.clone(), membership::Column::SelectedAt),
            Order::Desc,
        )
        .order_by((latest, membership::Column::Id), Order::Desc)
        .limit(1)
        .to_owned()
}

pub async fn end(db: &impl ConnectionTrait, session_id: i32) -> Result<(), DbErr> {
    session::Entity::delete_by_id(session_id).exec(db).await?;
    Ok(())
}

/// Ends every session of the user (an SSO sign-in took the account over, a password reset).
pub async fn end_all(db: &impl ConnectionTrait, user_id: i32) -> Result<(), DbErr> {
    session::Entity::delete_many()
        .filter(session::Column::UserId.eq(user_id))
        .exec(db)
        .await?;
    Ok(())
}

/// Records that the session's holder proved who they are just now (step-up).
pub async fn mark_proved(
    db: &impl ConnectionTrait,
    session_id: i32,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    session::Entity::update_many()
        .col_expr(session::Column::ProvedAt, Expr::value(now))
        .filter(session::Column::Id.eq(session_id))
        .exec(db)
        .await?;
    Ok(())
}

/// Ends every session of the user except `keep` (after a password change).
pub async fn end_others(db: &impl ConnectionTrait, user_id: i32, keep: i32) -> Result<(), DbErr> {
    session::Entity::delete_many()
        .filter(session::Column::UserId.eq(user_id))
        .filter(session::Column::Id.ne(keep))
        .exec(db)
        .await?;
    Ok(())
}

/// The session token a request carries, if any.
pub fn token_from(headers: &HeaderMap, secure: bool) -> Option<String> {
    cookie_value(headers, cookie_name(secure))
}

/// The value of the request's cookie called `name`, if any.
pub fn cookie_value(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(Cookie::split_parse)
        .filter_map(Result::ok)
        .find(|c| c.name() == name)
        .map(|c| c.value().to_string())
}

/// `Set-Cookie` for a live session.
pub fn cookie_header(token: &str, secure: bool) -> HeaderValue {
    set_cookie(
        cookie_name(secure),
        token,
        "/",
        cookie::time::Duration::days(idle_lifetime().num_days()),
        secure,
    )
}

/// `Set-Cookie` that removes the session cookie.
pub fn removal_cookie_header(secure: bool) -> HeaderValue {
    set_cookie(
        cookie_name(secure),
        "",
        "/",
        cookie::time::Duration::ZERO,
        secure,
    )
}

/// `Set-Cookie` for one of Orgdesk's cookies: HttpOnly, SameSite=Lax, Secure on https; a
/// zero `max_age` removes it.
pub fn set_cookie(
    name: &str,
    value: &str,
    path: &str,
    max_age: cookie::time::Duration,
    secure: bool,
) -> HeaderValue {
    let cookie = Cookie::build((name, value))
        .path(path)
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(secure)
        .max_age(max_age)
        .build();
    HeaderValue::from_str(&cookie.to_string()).expect("hex tokens make valid header values")
}
