//! The SCIM 2.0 service provider at `/scim/v2`: its own router, where the bearer token
//! decides the organization. Every request is checked by [`gate`] and written to the
//! organization's request log; every change runs in one transaction after the
//! organization's lock, so parallel requests of a provider apply one after another.

use axum::{
    body::Bytes,
    extract::{Path, Query, Request, State},
    http::{header, HeaderValue, StatusCode},
    middleware::Next,
    response::{IntoResponse, Response},
    routing::get,
    Extension, Router,
};
use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, Set, TransactionTrait,
};
use serde::Deserialize;
use serde_json::Value;

use super::{
    discovery,
    filter::{parse_filter, Filter},
    groups, membership_sync,
    membership_sync::SyncRefusal,
    patch,
    protocol::{self, attribute_list, document, list, project, ListQuery, ScimError},
    tokens::{authenticate, ScimCaller},
    users,
};
use crate::{
    identity::routing::verified_domains_of,
    server::{entities::scim_request, locks::lock_organization, AppState},
};

/// Requests kept in each organization's log.
pub const LOG_KEPT: i64 = 1000;

pub fn router(state: &AppState) -> Router<AppState> {
    Router::new()
        .route("/ServiceProviderConfig", get(service_provider_config))
        .route("/ResourceTypes", get(resource_types))
        .route("/ResourceTypes/{id}", get(resource_type))
        .route("/Schemas", get(schemas))
        .route("/Schemas/{id}", get(schema))
        .route("/Users", get(list_users).post(create_user))
        .route("/Users/.search", axum::routing::post(search_users))
        .route(
            "/Users/{id}",
            get(get_user)
                .put(replace_user)
                .patch(patch_user)
                .delete(delete_user),
        )
        .route("/Groups", get(list_groups).post(create_group))
        .route("/Groups/.search", axum::routing::post(search_groups))
        .route(
            "/Groups/{id}",
            get(get_group)
                .put(replace_group)
                .patch(patch_group)
                .delete(delete_group),
        )
        .route("/Bulk", axum::routing::post(bulk))
        .route("/.search", axum::routing::post(search_everything))
        .fallback(|| async { ScimError::not_found("There is no such SCIM endpoint.") })
        .method_not_allowed_fallback(|| async {
            ScimError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                None,
                "This endpoint does not take that method.",
            )
        })
        .layer(axum::middleware::from_fn_with_state(state.clone(), gate))
}

/// The token checked, the request run, and the request written to the organization's log.
async fn gate(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let now = Utc::now();
    let presented = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| {
            let (scheme, token) = value.split_once(' ')?;
            scheme
                .eq_ignore_ascii_case("bearer")
                .then(|| token.trim().to_string())
        });
    let caller = match authenticate(&state.db, &state.reader, presented.as_deref(), now).await {
        Ok(caller) => caller,
        Err(refused) => {
            let mut response = refused.into_response();
            if response.status() == StatusCode::UNAUTHORIZED {
                response.headers_mut().insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Bearer realm=\"scim\""),
                );
            }
            return response;
        }
    };
    let method = req.method().to_string();
    // The whole path (the nested router sees it without /scim/v2).
    let path = req
        .extensions()
        .get::<axum::extract::OriginalUri>()
        .map_or_else(|| req.uri().clone(), |original| original.0.clone())
        .path_and_query()
        .map(|p| p.as_str().chars().take(300).collect::<String>())
        .unwrap_or_default();
    req.extensions_mut().insert(caller.clone());
    let response = next.run(req).await;
    let detail = response
        .extensions()
        .get::<ScimError>()
        .map(|err| err.detail.chars().take(500).collect::<String>());
    if let Err(err) = log_request(
        &state.db,
        caller.organization.id,
        &method,
        &path,
        response.status(),
        detail,
        now,
    )
    .await
    {
        // Bookkeeping: the answer stands.
        tracing::warn!(error = %err, "a directory sync request was not logged");
    }
    response
}

async fn log_request(
    db: &impl ConnectionTrait,
    organization_id: i32,
    method: &str,
    path: &str,
    status: StatusCode,
    detail: Option<String>,
    now: chrono::DateTime<Utc>,
) -> Result<(), sea_orm::DbErr> {
    let row = scim_request::ActiveModel {
        organization_id: Set(organization_id),
        at: Set(now),
        method: Set(method.to_string()),
        path: Set(path.to_string()),
        status: Set(i32::from(status.as_u16())),
        detail: Set(detail),
        ..Default::default()
    }
    .insert(db)
    .await?;
    // Now and then, not at every request: the log is trimmed to its last LOG_KEPT.
    if row.id % 100 == 0 {
        let cutoff: Option<i32> = scim_request::Entity::find()
            .filter(scim_request::Column::OrganizationId.eq(organization_id))
            .order_by_desc(scim_request::Column::Id)
            .offset(LOG_KEPT as u64)
            .select_only()
            .column(scim_request::Column::Id)
            .into_tuple()
            .one(db)
            .await?;
        if let Some(cutoff) = cutoff {
            scim_request::Entity::delete_many()
                .filter(scim_request::Column::OrganizationId.eq(organization_id))
                .filter(scim_request::Column::Id.lte(cutoff))
                .exec(db)
                .await?;
        }
    }
    Ok(())
}

fn base(state: &AppState) -> String {
    state.settings.link(super::SCIM_BASE_PATH)
}

/// A request body as JSON (`application/scim+json` or `application/json`).
fn json_body(bytes: &Bytes) -> Result<Value, ScimError> {
    serde_json::from_slice(bytes)
        .map_err(|err| ScimError::invalid_syntax(format!("The body is not valid JSON: {err}.")))
}

/// Runs a change in one transaction after the organization's lock (the verified domains a
/// User is checked against are read there too, so a domain removed meanwhile counts). A refused removal or
/// demotion of the last owner rolls back, then is recorded and mailed on its own.
async fn change<T, F>(state: &AppState, caller: &ScimCaller, work: F) -> Result<T, ScimError>
where
    F: for<'t> FnOnce(
        &'t DatabaseTransaction,
    ) -> std::pin::Pin<
        Box<dyn std::future::Future<Output = Result<T, SyncRefusal>> + Send + 't>,
    >,
{
    let organization = &caller.organization;
    let txn = state.db.begin().await?;
    lock_organization(&txn, organization.id).await?;
    match work(&txn).await {
        Ok(value) => {
            txn.commit().await?;
            state.wake_mail_worker();
            Ok(value)
        }
        Err(SyncRefusal::Scim(err)) => Err(err),
        Err(SyncRefusal::LastOwner(email)) => {
            drop(txn);
            let now = Utc::now();
            let txn = state.db.begin().await?;
            membership_sync::note_last_owner_kept(
                &txn,
                organization.id,
                &organization.name,
                &email,
                &state.settings,
                now,
            )
            .await?;
            txn.commit().await?;
            state.wake_mail_worker();
            Err(ScimError::conflict(membership_sync::last_owner_detail(
                &email,
            )))
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ListParams {
    filter: Option<String>,
    start_index: Option<i64>,
    count: Option<i64>,
    sort_by: Option<String>,
    sort_order: Option<String>,
    attributes: Option<String>,
    excluded_attributes: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ShapeParams {
    attributes: Option<String>,
    excluded_attributes: Option<String>,
}

struct Listing {
    filter: Option<Filter>,
    start_index: u64,
    count: u64,
    descending: bool,
    attributes: Vec<String>,
    excluded: Vec<String>,
}

impl Listing {
    fn query<'a>(&'a self, params: &'a ListParams) -> ListQuery<'a> {
        ListQuery {
            filter: self.filter.as_ref(),
            sort_by: params.sort_by.as_deref(),
            descending: self.descending,
            start_index: self.start_index,
            count: self.count,
        }
    }
}

fn listing(params: &ListParams) -> Result<Listing, ScimError> {
    let filter = params
        .filter
        .as_deref()
        .map(parse_filter)
        .transpose()
        .map_err(|e| ScimError::invalid_filter(e.0))?;
    let descending = match params.sort_order.as_deref() {
        None => false,
        Some(order) if order.eq_ignore_ascii_case("ascending") => false,
        Some(order) if order.eq_ignore_ascii_case("descending") => true,
        Some(_) => {
            return Err(ScimError::invalid_value(
                "sortOrder must be ascending or descending.",
            ))
        }
    };
    Ok(Listing {
        filter,
        // RFC 7644 §3.4.2.4: below 1 is read as 1, a negative count as 0.
        start_index: params.start_index.unwrap_or(1).max(1) as u64,
        count: (params.count.unwrap_or(100).max(0) as u64).min(discovery::MAX_PAGE),
        descending,
        attributes: attribute_list(params.attributes.as_deref()),
        excluded: attribute_list(params.excluded_attributes.as_deref()),
    })
}

async fn service_provider_config(State(state): State<AppState>) -> Response {
    document(
        StatusCode::OK,
        &discovery::service_provider_config(&base(&state)),
    )
}

async fn resource_types(State(state): State<AppState>) -> Response {
    document(
        StatusCode::OK,
        &discovery::listed(discovery::resource_types(&base(&state))),
    )
}

async fn resource_type(State(state): State<AppState>, Path(id): Path<String>) -> Response {
    one_of(
        discovery::resource_types(&base(&state)),
        &id,
        "resource type",
    )
}

async fn schemas(State(state): State<AppState>) -> Response {
    document(
        StatusCode::OK,
        &discovery::listed(discovery::schemas(&base(&state))),
    )
}

async fn schema(State(state): State<AppState>, Path(id): Path<String>) -> Response {
    one_of(discovery::schemas(&base(&state)), &id, "schema")
}

/// The discovery document of `documents` whose `id` is `id`.
fn one_of(documents: Vec<Value>, id: &str, what: &str) -> Response {
    match documents.into_iter().find(|d| d["id"] == id) {
        Some(found) => document(StatusCode::OK, &found),
        None => ScimError::not_found(format!("There is no {what} {id}.")).into_response(),
    }
}

/// `POST /.search`: Users, then Groups, as one list (each sorted as asked within its type).
async fn search_everything(
    State(state): State<AppState>,
    Extension(caller): Extension<ScimCaller>,
    bytes: Bytes,
) -> Result<Response, ScimError> {
    let params = search_params(&bytes)?;
    let listing = listing(&params)?;
    let organization_id = caller.organization.id;
    let query = listing.query(&params);
    let db = &state.reader;
    let (_, users_total) = users::list(db, organization_id, query.window(1, 0)).await?;
    let (_, groups_total) = groups::list(db, organization_id, query.window(1, 0)).await?;
    let base = base(&state);
    let skip = listing.start_index - 1;
    let mut resources = Vec::new();
    if skip < users_total {
        let (rows, _) = users::list(db, organization_id, query).await?;
        resources.extend(rows.iter().map(|p| {
            project(
                users::render(p, &base),
                &listing.attributes,
                &listing.excluded,
            )
        }));
    }
    let room = listing.count.saturating_sub(resources.len() as u64);
    if room > 0 {
        let start = skip.saturating_sub(users_total) + 1;
        let (rows, _) = groups::list(db, organization_id, query.window(start, room)).await?;
        let with_members = wants_members(&listing.attributes, &listing.excluded);
        for group in &rows {
            let body = render_group(db, group, with_members, &base).await?;
            resources.push(project(body, &listing.attributes, &listing.excluded));
        }
    }
    Ok(document(
        StatusCode::OK,
        &list(resources, users_total + groups_total, listing.start_index),
    ))
}

async fn bulk() -> ScimError {
    ScimError::new(
        StatusCode::NOT_IMPLEMENTED,
        None,
        "Bulk operations are not supported: send each change as its own request.",
    )
}

fn created(body: Value) -> Response {
    let mut response = document(StatusCode::CREATED, &body);
    if let Some(location) = body["meta"]["location"]
        .as_str()
        .and_then(|l| HeaderValue::from_str(l).ok())
    {
        response.headers_mut().insert(header::LOCATION, location);
    }
    response
}

/// A `SearchRequest` body (RFC 7644 §3.4.3): the list's parameters, posted.
fn search_params(bytes: &Bytes) -> Result<ListParams, ScimError> {
    let body = json_body(bytes)?;
    let text = |name: &str| -> Result<Option<String>, ScimError> {
        match protocol::attribute(&body, name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(Value::Array(items)) => Ok(Some(
                items
                    .iter()
                    .filter_map(Value::as_str)
                    .collect::<Vec<_>>()
                    .join(","),
            )),
            Some(_) => Err(ScimError::invalid_value(format!(
                "{name} must be a string."
            ))),
        }
    };
    let number = |name: &str| -> Result<Option<i64>, ScimError> {
        match protocol::attribute(&body, name) {
            None | Some(Value::Null) => Ok(None),
            Some(value) => value
                .as_i64()
                .map(Some)
                .ok_or_else(|| ScimError::invalid_value(format!("{name} must be a number."))),
        }
    };
    Ok(ListParams {
        filter: text("filter")?,
        start_index: number("startIndex")?,
        count: number("count")?,
        sort_by: text("sortBy")?,
        sort_order: text("sortOrder")?,
        attributes: text("attributes")?,
        excluded_attributes: text("excludedAttributes")?,
    })
}

async fn search_users(
    state: State<AppState>,
    caller: Extension<ScimCaller>,
    bytes: Bytes,
) -> Result<Response, ScimError> {
    list_users(state, caller, Query(search_params(&bytes)?)).await
}

async fn search_groups(
    state: State<AppState>,
    caller: Extension<ScimCaller>,
    bytes: Bytes,
) -> Result<Response, ScimError> {
    list_groups(state, caller, Query(search_params(&bytes)?)).await
}

async fn list_users(
    State(state): State<AppState>,
    Extension(caller): Extension<ScimCaller>,
    Query(params): Query<ListParams>,
) -> Result<Response, ScimError> {
    let listing = listing(&params)?;
    let (rows, total) = users::list(
        &state.reader,
        caller.organization.id,
        listing.query(&params),
    )
    .await?;
    let base = base(&state);
    let resources = rows
        .iter()
        .map(|p| {
            project(
                users::render(p, &base),
                &listing.attributes,
                &listing.excluded,
            )
        })
        .collect();
    Ok(document(
        StatusCode::OK,
        &list(resources, total, listing.start_index),
    ))
}

async fn get_user(
    State(state): State<AppState>,
    Extension(caller): Extension<ScimCaller>,
    Path(id): Path<String>,
    Query(shape): Query<ShapeParams>,
) -> Result<Response, ScimError> {
    let person = users::find(&state.reader, caller.organization.id, &id).await?;
    Ok(document(
        StatusCode::OK,
        &project(
            users::render(&person, &base(&state)),
            &attribute_list(shape.attributes.as_deref()),
            &attribute_list(shape.excluded_attributes.as_deref()),
        ),
    ))
}

async fn create_user(
    State(state): State<AppState>,
    Extension(caller): Extension<ScimCaller>,
    bytes: Bytes,
) -> Result<Response, ScimError> {
    let body = json_body(&bytes)?;
    let organization_id = caller.organization.id;
    let person = change(&state, &caller, |txn| {
        Box::pin(async move {
            let input =
                users::parse_user(&body, &verified_domains_of(txn, organization_id).await?)?;
            users::create(txn, organization_id, input, Utc::now()).await
        })
    })
    .await?;
    Ok(created(users::render(&person, &base(&state))))
}

async fn replace_user(
    State(state): State<AppState>,
    Extension(caller): Extension<ScimCaller>,
    Path(id): Path<String>,
    bytes: Bytes,
) -> Result<Response, ScimError> {
    let body = json_body(&bytes)?;
    let organization_id = caller.organization.id;
    let person = change(&state, &caller, |txn| {
        Box::pin(async move {
            let input =
                users::parse_user(&body, &verified_domains_of(txn, organization_id).await?)?;
            let person = users::find(txn, organization_id, &id).await?;
            users::replace(txn, person, input, Utc::now()).await
        })
    })
    .await?;
    Ok(document(
        StatusCode::OK,
        &users::render(&person, &base(&state)),
    ))
}

async fn patch_user(
    State(state): State<AppState>,
    Extension(caller): Extension<ScimCaller>,
    Path(id): Path<String>,
    bytes: Bytes,
) -> Result<Response, ScimError> {
    let body = json_body(&bytes)?;
    let organization_id = caller.organization.id;
    let base = base(&state);
    let person = change(&state, &caller, |txn| {
        let base = base.clone();
        Box::pin(async move {
            let person = users::find(txn, organization_id, &id).await?;
            let mut doc = users::render(&person, &base);
            patch::apply(&mut doc, &body)?;
            let input = users::parse_user(&doc, &verified_domains_of(txn, organization_id).await?)?;
            users::replace(txn, person, input, Utc::now()).await
        })
    })
    .await?;
    Ok(document(StatusCode::OK, &users::render(&person, &base)))
}

async fn delete_user(
    State(state): State<AppState>,
    Extension(caller): Extension<ScimCaller>,
    Path(id): Path<String>,
) -> Result<Response, ScimError> {
    let organization_id = caller.organization.id;
    change(&state, &caller, |txn| {
        Box::pin(async move {
            let person = users::find(txn, organization_id, &id).await?;
            users::delete(txn, person, Utc::now()).await
        })
    })
    .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Whether a Group's members are returned: not when they are excluded or other
/// attributes were asked for.
fn wants_members(attributes: &[String], excluded: &[String]) -> bool {
    let named = |list: &[String]| {
        list.iter().any(|a| {
            a.eq_ignore_ascii_case("members") || a.to_ascii_lowercase().starts_with("members.")
        })
    };
    !named(excluded) && (attributes.is_empty() || named(attributes))
}

async fn render_group(
    db: &impl ConnectionTrait,
    group: &crate::server::entities::scim_group::Model,
    with_members: bool,
    base: &str,
) -> Result<Value, ScimError> {
    let members = if with_members {
        Some(groups::members_of(db, group.id).await?)
    } else {
        None
    };
    Ok(groups::render(group, members.as_deref(), base))
}

async fn list_groups(
    State(state): State<AppState>,
    Extension(caller): Extension<ScimCaller>,
    Query(params): Query<ListParams>,
) -> Result<Response, ScimError> {
    let listing = listing(&params)?;
    let (rows, total) = groups::list(
        &state.reader,
        caller.organization.id,
        listing.query(&params),
    )
    .await?;
    let base = base(&state);
    let with_members = wants_members(&listing.attributes, &listing.excluded);
    let mut resources = Vec::with_capacity(rows.len());
    for group in &rows {
        let body = render_group(&state.reader, group, with_members, &base).await?;
        resources.push(project(body, &listing.attributes, &listing.excluded));
    }
    Ok(document(
        StatusCode::OK,
        &list(resources, total, listing.start_index),
    ))
}

async fn get_group(
    State(state): State<AppState>,
    Extension(caller): Extension<ScimCaller>,
    Path(id): Path<String>,
    Query(shape): Query<ShapeParams>,
) -> Result<Response, ScimError> {
    let group = groups::find(&state.reader, caller.organization.id, &id).await?;
    let attributes = attribute_list(shape.attributes.as_deref());
    let excluded = attribute_list(shape.excluded_attributes.as_deref());
    let body = render_group(
        &state.reader,
        &group,
        wants_members(&attributes, &excluded),
        &base(&state),
    )
    .await?;
    Ok(document(
        StatusCode::OK,
        &project(body, &attributes, &excluded),
    ))
}

async fn create_group(
    State(state): State<AppState>,
    Extension(caller): Extension<ScimCaller>,
    bytes: Bytes,
) -> Result<Response, ScimError> {
    let input = groups::parse_group(&json_body(&bytes)?)?;
    let organization_id = caller.organization.id;
    let group = change(&state, &caller, |txn| {
        Box::pin(async move { groups::create(txn, organization_id, input, Utc::now()).await })
    })
    .await?;
    let body = render_group(&state.db, &group, true, &base(&state)).await?;
    Ok(created(body))
}

async fn replace_group(
    State(state): State<AppState>,
    Extension(caller): Extension<ScimCaller>,
    Path(id): Path<String>,
    bytes: Bytes,
) -> Result<Response, ScimError> {
    let input = groups::parse_group(&json_body(&bytes)?)?;
    let organization_id = caller.organization.id;
    let group = change(&state, &caller, |txn| {
        Box::pin(async move {
            let group = groups::find(txn, organization_id, &id).await?;
            groups::replace(txn, group, input, Utc::now()).await
        })
    })
    .await?;
    let body = render_group(&state.db, &group, true, &base(&state)).await?;
    Ok(document(StatusCode::OK, &body))
}

async fn patch_group(
    State(state): State<AppState>,
    Extension(caller): Extension<ScimCaller>,
    Path(id): Path<String>,
    bytes: Bytes,
) -> Result<Response, ScimError> {
    let body = json_body(&bytes)?;
    let organization_id = caller.organization.id;
    let base = base(&state);
    let group = change(&state, &caller, |txn| {
        let base = base.clone();
        Box::pin(async move {
            let group = groups::find(txn, organization_id, &id).await?;
            let mut doc = render_group(txn, &group, true, &base).await?;
            patch::apply(&mut doc, &body)?;
            let mut input = groups::parse_group(&doc)?;
            input.members.get_or_insert_with(Vec::new);
            groups::replace(txn, group, input, Utc::now()).await
        })
    })
    .await?;
    let body = render_group(&state.db, &group, true, &base).await?;
    Ok(document(StatusCode::OK, &body))
}

async fn delete_group(
    State(state): State<AppState>,
    Extension(caller): Extension<ScimCaller>,
    Path(id): Path<String>,
) -> Result<Response, ScimError> {
    let organization_id = caller.organization.id;
    change(&state, &caller, |txn| {
        Box::pin(async move {
            let group = groups::find(txn, organization_id, &id).await?;
            groups::delete(txn, group, Utc::now()).await
        })
    })
    .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
