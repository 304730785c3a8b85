//! SCIM Groups: the provider's groups and who is in them. A group an owner mapped to a
//! role decides its members' roles (see [`super::membership_sync`]), so every change of a
//! mapped group's members recomputes theirs, in the same transaction.

use std::collections::{BTreeSet, HashMap};

use chrono::{DateTime, SecondsFormat, Utc};
use sea_orm::{
    sea_query::{Expr, Query},
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, Set,
};
use serde_json::{json, Value};

use super::{
    filter::{CompareOp, Filter, Literal},
    membership_sync::{self, Change, SyncRefusal},
    protocol::{attribute, optional_string, page, ListQuery, ScimError, GROUP_SCHEMA},
    users::like_pattern,
};
use crate::server::entities::{scim_group, scim_group_member, scim_user};

const NAME_MAX: usize = 200;

/// A Group as the provider sent it, checked; `members` are Users' SCIM ids.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupInput {
    pub display_name: String,
    pub external_id: Option<String>,
    pub members: Option<Vec<String>>,
}

pub fn parse_group(body: &Value) -> Result<GroupInput, ScimError> {
    if !body.is_object() {
        return Err(ScimError::invalid_syntax("A Group must be a JSON object."));
    }
    let display_name = optional_string(attribute(body, "displayName"), "displayName", NAME_MAX)?
        .ok_or_else(|| ScimError::invalid_value("displayName is required."))?;
    let members = match attribute(body, "members") {
        None | Some(Value::Null) => None,
        Some(Value::Array(items)) => Some(
            items
                .iter()
                .map(|item| match attribute(item, "value") {
                    Some(Value::String(id)) => Ok(id.trim().to_string()),
                    _ => Err(ScimError::invalid_value(
                        "Each of members needs a value: the id of a User.",
                    )),
                })
                .collect::<Result<Vec<_>, _>>()?,
        ),
        Some(_) => return Err(ScimError::invalid_value("members must be a list.")),
    };
    Ok(GroupInput {
        display_name,
        external_id: optional_string(attribute(body, "externalId"), "externalId", 256)?,
        members,
    })
}

/// The group's members: their SCIM ids and shown names, in a stable order.
pub async fn members_of(
    db: &impl ConnectionTrait,
    group_id: i32,
) -> Result<Vec<(String, String)>, sea_orm::DbErr> {
    let rows: Vec<(String, Option<String>, String)> = scim_group_member::Entity::find()
        .inner_join(scim_user::Entity)
        .filter(scim_group_member::Column::GroupId.eq(group_id))
        .select_only()
        .column(scim_user::Column::PublicId)
        .column(scim_user::Column::DisplayName)
        .column(scim_user::Column::UserName)
        .order_by_asc(scim_user::Column::Id)
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .map(|(id, display, user_name)| (id, display.unwrap_or(user_name)))
        .collect())
}

/// The Group as SCIM shows it; `members` None leaves them out (`excludedAttributes`).
pub fn render(
    group: &scim_group::Model,
    members: Option<&[(String, String)]>,
    base: &str,
) -> Value {
    let mut body = json!({
        "schemas": [GROUP_SCHEMA],
        "id": group.public_id,
        "displayName": group.display_name,
        "meta": {
            "resourceType": "Group",
            "created": group.created_at.to_rfc3339_opts(SecondsFormat::Millis, true),
            "lastModified": group.updated_at.to_rfc3339_opts(SecondsFormat::Millis, true),
            "location": format!("{base}/Groups/{}", group.public_id),
        },
    });
    if let Some(external_id) = &group.external_id {
        body["externalId"] = json!(external_id);
    }
    if let Some(members) = members {
        body["members"] = Value::Array(
            members
                .iter()
                .map(|(id, _)| {
                    json!({"value": id, "type": "User", "$ref": format!("{base}/Users/{id}")})
                })
                .collect(),
        );
    }
    body
}

pub async fn find(
    db: &impl ConnectionTrait,
    organization_id: i32,
    public_id: &str,
) -> Result<scim_group::Model, ScimError> {
    scim_group::Entity::find()
        .filter(scim_group::Column::OrganizationId.eq(organization_id))
        .filter(scim_group::Column::PublicId.eq(public_id))
        .one(db)
        .await?
        .ok_or_else(|| ScimError::not_found(format!("There is no Group {public_id}.")))
}

async fn check_name_free(
    txn: &impl ConnectionTrait,
    organization_id: i32,
    normalized: &str,
    except: Option<i32>,
) -> Result<(), ScimError> {
    let mut query = scim_group::Entity::find()
        .filter(scim_group::Column::OrganizationId.eq(organization_id))
        .filter(scim_group::Column::DisplayNameNormalized.eq(normalized));
    if let Some(id) = except {
        query = query.filter(scim_group::Column::Id.ne(id));
    }
    if query.one(txn).await?.is_some() {
        return Err(ScimError::uniqueness(
            "A Group with this displayName already exists in the organization.",
        ));
    }
    Ok(())
}

/// The organization's Users with these SCIM ids, by id; an unknown id is refused.
async fn users_by_public_id(
    txn: &impl ConnectionTrait,
    organization_id: i32,
    ids: &[String],
) -> Result<HashMap<String, scim_user::Model>, ScimError> {
    let mut found = HashMap::new();
    for chunk in ids.chunks(500) {
        for person in scim_user::Entity::find()
            .filter(scim_user::Column::OrganizationId.eq(organization_id))
            .filter(scim_user::Column::PublicId.is_in(chunk.iter().cloned()))
            .all(txn)
            .await?
        {
            found.insert(person.public_id.clone(), person);
        }
    }
    if let Some(unknown) = ids.iter().find(|id| !found.contains_key(*id)) {
        return Err(ScimError::invalid_value(format!(
            "members: there is no User {unknown} in this organization."
        )));
    }
    Ok(found)
}

/// Makes the group's members exactly `wanted` (SCIM ids), and recomputes the roles of
/// everyone who came or went when the group gives a role.
async fn set_members(
    txn: &impl ConnectionTrait,
    group: &scim_group::Model,
    wanted: &[String],
    now: DateTime<Utc>,
) -> Result<(), SyncRefusal> {
    let wanted: BTreeSet<String> = wanted.iter().cloned().collect();
    let wanted_ids: Vec<String> = wanted.into_iter().collect();
    let people = users_by_public_id(txn, group.organization_id, &wanted_ids).await?;
    let wanted: BTreeSet<i32> = people.values().map(|p| p.id).collect();
    let current: BTreeSet<i32> = scim_group_member::Entity::find()
        .filter(scim_group_member::Column::GroupId.eq(group.id))
        .select_only()
        .column(scim_group_member::Column::ScimUserId)
        .into_tuple::<i32>()
        .all(txn)
        .await?
        .into_iter()
        .collect();
    let added: Vec<i32> = wanted.difference(&current).copied().collect();
    let removed: Vec<i32> = current.difference(&wanted).copied().collect();
    for chunk in added.chunks(500) {
        let mut insert = Query::insert();
        insert.into_table(scim_group_member::Entity).columns([
            scim_group_member::Column::GroupId,
            scim_group_member::Column::ScimUserId,
        ]);
        for id in chunk {
            insert.values_panic([group.id.into(), (*id).into()]);
        }
        txn.execute(txn.get_database_backend().build(&insert))
            .await?;
    }
    for chunk in removed.chunks(500) {
        scim_group_member::Entity::delete_many()
            .filter(scim_group_member::Column::GroupId.eq(group.id))
            .filter(scim_group_member::Column::ScimUserId.is_in(chunk.iter().copied()))
            .exec(txn)
            .await?;
    }
    if group.role.is_some() {
        resync(txn, added.iter().chain(&removed).copied(), now).await?;
    }
    Ok(())
}

/// Recomputes the memberships of these provisioned people.
pub async fn resync(
    txn: &impl ConnectionTrait,
    people: impl IntoIterator<Item = i32>,
    now: DateTime<Utc>,
) -> Result<(), SyncRefusal> {
    let ids: Vec<i32> = people.into_iter().collect();
    for chunk in ids.chunks(500) {
        for person in scim_user::Entity::find()
            .filter(scim_user::Column::Id.is_in(chunk.iter().copied()))
            .all(txn)
            .await?
        {
            let was_active = person.active;
            membership_sync::apply(txn, &person, Change::Updated { was_active }, now).await?;
        }
    }
    Ok(())
}

/// Every member of the group, by internal id.
async fn member_ids(txn: &impl ConnectionTrait, group_id: i32) -> Result<Vec<i32>, sea_orm::DbErr> {
    scim_group_member::Entity::find()
        .filter(scim_group_member::Column::GroupId.eq(group_id))
        .select_only()
        .column(scim_group_member::Column::ScimUserId)
        .into_tuple::<i32>()
        .all(txn)
        .await
}

pub async fn create(
    txn: &impl ConnectionTrait,
    organization_id: i32,
    input: GroupInput,
    now: DateTime<Utc>,
) -> Result<scim_group::Model, SyncRefusal> {
    let normalized = input.display_name.to_lowercase();
    check_name_free(txn, organization_id, &normalized, None).await?;
    let group = scim_group::ActiveModel {
        public_id: Set(uuid::Uuid::new_v4().to_string()),
        organization_id: Set(organization_id),
        display_name: Set(input.display_name),
        display_name_normalized: Set(normalized),
        external_id: Set(input.external_id),
        role: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(txn)
    .await?;
    if let Some(members) = input.members {
        set_members(txn, &group, &members, now).await?;
    }
    Ok(group)
}

/// Replaces the group (PUT, and PATCH once applied): members absent leaves them as they
/// are only for PATCH, which always passes them.
pub async fn replace(
    txn: &impl ConnectionTrait,
    group: scim_group::Model,
    input: GroupInput,
    now: DateTime<Utc>,
) -> Result<scim_group::Model, SyncRefusal> {
    let normalized = input.display_name.to_lowercase();
    check_name_free(txn, group.organization_id, &normalized, Some(group.id)).await?;
    let mut changed: scim_group::ActiveModel = group.into();
    changed.display_name = Set(input.display_name);
    changed.display_name_normalized = Set(normalized);
    changed.external_id = Set(input.external_id);
    changed.updated_at = Set(now);
    let group = changed.update(txn).await?;
    set_members(txn, &group, &input.members.unwrap_or_default(), now).await?;
    Ok(group)
}

pub async fn delete(
    txn: &impl ConnectionTrait,
    group: scim_group::Model,
    now: DateTime<Utc>,
) -> Result<(), SyncRefusal> {
    let members = member_ids(txn, group.id).await?;
    scim_group::Entity::delete_by_id(group.id).exec(txn).await?;
    if group.role.is_some() {
        resync(txn, members, now).await?;
    }
    Ok(())
}

/// A page of the organization's Groups.
pub async fn list(
    db: &impl ConnectionTrait,
    organization_id: i32,
    query: ListQuery<'_>,
) -> Result<(Vec<scim_group::Model>, u64), ScimError> {
    let mut select =
        scim_group::Entity::find().filter(scim_group::Column::OrganizationId.eq(organization_id));
    if let Some(filter) = query.filter {
        select = select.filter(condition(filter, organization_id, None)?);
    }
    let column = match query.sort_by.map(str::to_ascii_lowercase).as_deref() {
        None | Some("id") => scim_group::Column::Id,
        Some("displayname") => scim_group::Column::DisplayNameNormalized,
        Some("externalid") => scim_group::Column::ExternalId,
        Some("meta.created") => scim_group::Column::CreatedAt,
        Some("meta.lastmodified") => scim_group::Column::UpdatedAt,
        Some(other) => {
            return Err(ScimError::invalid_value(format!(
                "sortBy {other} is not supported: use displayName, externalId, meta.created or meta.lastModified."
            )))
        }
    };
    Ok(page(db, select, column, scim_group::Column::Id, &query).await?)
}

fn condition(
    filter: &Filter,
    organization_id: i32,
    within: Option<&str>,
) -> Result<Condition, ScimError> {
    use scim_group::Column as C;
    Ok(match filter {
        Filter::And(a, b) => Condition::all()
            .add(condition(a, organization_id, within)?)
            .add(condition(b, organization_id, within)?),
        Filter::Or(a, b) => Condition::any()
            .add(condition(a, organization_id, within)?)
            .add(condition(b, organization_id, within)?),
        Filter::Not(inner) => condition(inner, organization_id, within)?.not(),
        Filter::ValuePath { path, filter } if within.is_none() && path.key() == "members" => {
            condition(filter, organization_id, Some("members"))?
        }
        Filter::ValuePath { path, .. } => {
            return Err(ScimError::invalid_filter(format!(
                "Groups take a value filter only on members, not on {}.",
                path.key()
            )))
        }
        Filter::Present(path) => {
            let key = scoped(path.key(), within);
            match key.as_str() {
                "externalid" => Condition::all().add(C::ExternalId.is_not_null()),
                "members" | "members.value" => Condition::all().add(
                    C::Id.in_subquery(
                        Query::select()
                            .column(scim_group_member::Column::GroupId)
                            .from(scim_group_member::Entity)
                            .to_owned(),
                    ),
                ),
                "id" | "displayname" => Condition::all().add(Expr::cust("1 = 1")),
                _ => return Err(unsupported(&key)),
            }
        }
        Filter::Compare { path, op, value } => {
            let key = scoped(path.key(), within);
            let Literal::String(text) = value else {
                return Err(ScimError::invalid_filter(format!(
                    "{key} compares with a quoted string."
                )));
            };
            let string = |column: C, text: String| -> Result<Condition, ScimError> {
                let cond = match op {
                    CompareOp::Eq => Expr::col(column).eq(text),
                    CompareOp::Ne => Expr::col(column).ne(text),
                    CompareOp::Sw => Expr::col(column).like(like_pattern("", &text, "%")),
                    CompareOp::Ew => Expr::col(column).like(like_pattern("%", &text, "")),
                    CompareOp::Co => Expr::col(column).like(like_pattern("%", &text, "%")),
                    _ => {
                        return Err(ScimError::invalid_filter(format!(
                            "{key} compares with eq, ne, co, sw or ew."
                        )))
                    }
                };
                Ok(Condition::all().add(cond))
            };
            match key.as_str() {
                "id" => string(C::PublicId, text.clone())?,
                "externalid" => string(C::ExternalId, text.clone())?,
                "displayname" => string(C::DisplayNameNormalized, text.to_lowercase())?,
                "members" | "members.value" if *op == CompareOp::Eq => Condition::all().add(
                    C::Id.in_subquery(
                        Query::select()
                            .column((
                                scim_group_member::Entity,
                                scim_group_member::Column::GroupId,
                            ))
                            .from(scim_group_member::Entity)
                            .inner_join(
                                scim_user::Entity,
                                Expr::col((scim_user::Entity, scim_user::Column::Id)).equals((
                                    scim_group_member::Entity,
                                    scim_group_member::Column::ScimUserId,
                                )),
                            )
                            .and_where(
                                Expr::col((scim_user::Entity, scim_user::Column::PublicId))
                                    .eq(text.clone()),
                            )
                            .and_where(
                                Expr::col((scim_user::Entity, scim_user::Column::OrganizationId))
                                    .eq(organization_id),
                            )
                            .to_owned(),
                    ),
                ),
                "members" | "members.value" => {
                    return Err(ScimError::invalid_filter("members compares with eq only."))
                }
                _ => return Err(unsupported(&key)),
            }
        }
    })
}

fn scoped(key: String, within: Option<&str>) -> String {
    match within {
        Some(parent) => format!("{parent}.{key}"),
        None => key,
    }
}

fn unsupported(key: &str) -> ScimError {
    ScimError::invalid_filter(format!(
        "Groups cannot be filtered by {key}: use id, displayName, externalId or members."
    ))
}
