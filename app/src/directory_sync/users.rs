//! SCIM Users: the people the identity provider provisions into the organization. A User
//! is linked to the Orgdesk account of its address (an existing one is linked, not
//! duplicated) and its membership follows [`super::membership_sync`]. Addresses must be at
//! one of the organization's verified domains: a provider cannot claim a stranger.

use chrono::{DateTime, SecondsFormat, Utc};
use sea_orm::{
    sea_query::{Expr, ExprTrait, Func, LikeExpr, SimpleExpr},
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter, Set,
};
use serde_json::{json, Value};

use super::{
    filter::{AttrPath, CompareOp, Filter, Literal},
    membership_sync::{self, Change, SyncRefusal},
    protocol::{attribute, lenient_bool, optional_string, page, ListQuery, ScimError, USER_SCHEMA},
};
use crate::{
    accounts::rules::{shown_name_from_outside, EmailAddress},
    addresses::{domain_of, normalize_email},
    server::entities::{scim_user, user},
};

/// A User as the provider sent it, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserInput {
    pub user_name: String,
    /// The primary address: of `emails`, else `userName`.
    pub email: String,
    /// `emails` as sent, each checked: returned as they came.
    pub emails: Vec<Value>,
    pub name_formatted: Option<String>,
    pub external_id: Option<String>,
    pub display_name: Option<String>,
    pub given_name: Option<String>,
    pub family_name: Option<String>,
    pub active: bool,
}

const NAME_MAX: usize = 200;
const EXTERNAL_ID_MAX: usize = 256;
const MAX_EMAILS: usize = 10;

/// Reads a User body: `userName` and every address must be at one of `verified_domains`.
pub fn parse_user(body: &Value, verified_domains: &[String]) -> Result<UserInput, ScimError> {
    if !body.is_object() {
        return Err(ScimError::invalid_syntax("A User must be a JSON object."));
    }
    let at_verified = |what: &str, raw: &str| -> Result<String, ScimError> {
        let address = EmailAddress::parse(raw).map_err(|_| {
            ScimError::invalid_value(format!(
                "{what} must be an email address at one of the organization's verified domains ({}); “{}” is not an address.",
                domains_text(verified_domains),
                raw.chars().take(100).collect::<String>()
            ))
        })?;
        let domain = domain_of(address.as_str()).unwrap_or_default();
        if !verified_domains.contains(&domain) {
            return Err(ScimError::invalid_value(format!(
                "{what} must be at one of the organization's verified domains ({}); {domain} is not one of them.",
                domains_text(verified_domains)
            )));
        }
        Ok(address.as_str().to_string())
    };
    let user_name = match attribute(body, "userName") {
        Some(Value::String(name)) if !name.trim().is_empty() => at_verified("userName", name)?,
        _ => {
            return Err(ScimError::invalid_value(
                "userName is required: the person's work email address.",
            ))
        }
    };
    let mut emails = Vec::new();
    // The primary address, ranked: marked primary, else the first of type work, else the first.
    let mut primary: Option<(String, u8)> = None;
    match attribute(body, "emails") {
        None | Some(Value::Null) => {}
        Some(Value::Array(items)) => {
            if items.len() > MAX_EMAILS {
                return Err(ScimError::invalid_value(format!(
                    "emails may list at most {MAX_EMAILS} addresses."
                )));
            }
            for item in items {
                let value = match attribute(item, "value") {
                    Some(Value::String(value)) => at_verified("emails.value", value)?,
                    _ => {
                        return Err(ScimError::invalid_value(
                            "Each of emails needs a value: an address.",
                        ))
                    }
                };
                let mut kept = serde_json::Map::new();
                kept.insert("value".into(), json!(value));
                if let Some(kind) = optional_string(attribute(item, "type"), "emails.type", 64)? {
                    kept.insert("type".into(), json!(kind));
                }
                let rank = match attribute(item, "primary") {
                    None | Some(Value::Null) => 0,
                    Some(flag) => {
                        let is_primary = lenient_bool(flag, "emails.primary")?;
                        kept.insert("primary".into(), json!(is_primary));
                        if is_primary {
                            2
                        } else {
                            0
                        }
                    }
                };
                let is_work = kept
                    .get("type")
                    .and_then(Value::as_str)
                    .is_some_and(|t| t.eq_ignore_ascii_case("work"));
                let rank = rank.max(u8::from(is_work));
                if primary.as_ref().is_none_or(|(_, best)| rank > *best) {
                    primary = Some((value, rank));
                }
                emails.push(Value::Object(kept));
            }
        }
        Some(_) => {
            return Err(ScimError::invalid_value(
                "emails must be a list of addresses.",
            ))
        }
    }
    let email = primary.map_or_else(|| user_name.clone(), |(address, _)| address);
    let name = attribute(body, "name");
    let active = match attribute(body, "active") {
        None | Some(Value::Null) => true,
        Some(value) => lenient_bool(value, "active")?,
    };
    Ok(UserInput {
        user_name,
        email,
        emails,
        name_formatted: optional_string(
            name.and_then(|n| attribute(n, "formatted")),
            "name.formatted",
            400,
        )?,
        external_id: optional_string(attribute(body, "externalId"), "externalId", EXTERNAL_ID_MAX)?,
        display_name: optional_string(attribute(body, "displayName"), "displayName", NAME_MAX)?,
        given_name: optional_string(
            name.and_then(|n| attribute(n, "givenName")),
            "name.givenName",
            NAME_MAX,
        )?,
        family_name: optional_string(
            name.and_then(|n| attribute(n, "familyName")),
            "name.familyName",
            NAME_MAX,
        )?,
        active,
    })
}

fn domains_text(domains: &[String]) -> String {
    if domains.is_empty() {
        "none is verified yet".into()
    } else {
        domains.join(", ")
    }
}

fn timestamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// The User as SCIM shows it.
pub fn render(person: &scim_user::Model, base: &str) -> Value {
    let mut body = json!({
        "schemas": [USER_SCHEMA],
        "id": person.public_id,
        "userName": person.user_name,
        "active": person.active,
        "meta": {
            "resourceType": "User",
            "created": timestamp(person.created_at),
            "lastModified": timestamp(person.updated_at),
            "location": format!("{base}/Users/{}", person.public_id),
        },
    });
    if let Ok(Value::Array(emails)) = serde_json::from_str::<Value>(&person.emails) {
        if !emails.is_empty() {
            body["emails"] = Value::Array(emails);
        }
    }
    if let Some(external_id) = &person.external_id {
        body["externalId"] = json!(external_id);
    }
    if let Some(display_name) = &person.display_name {
        body["displayName"] = json!(display_name);
    }
    let mut name = serde_json::Map::new();
    for (key, value) in [
        ("formatted", &person.name_formatted),
        ("givenName", &person.given_name),
        ("familyName", &person.family_name),
    ] {
        if let Some(value) = value {
            name.insert(key.into(), json!(value));
        }
    }
    if !name.is_empty() {
        body["name"] = Value::Object(name);
    }
    body
}

/// One of the organization's Users by its SCIM id (another organization's is not found).
pub async fn find(
    db: &impl ConnectionTrait,
    organization_id: i32,
    public_id: &str,
) -> Result<scim_user::Model, ScimError> {
    scim_user::Entity::find()
        .filter(scim_user::Column::OrganizationId.eq(organization_id))
        .filter(scim_user::Column::PublicId.eq(public_id))
        .one(db)
        .await?
        .ok_or_else(|| ScimError::not_found(format!("There is no User {public_id}.")))
}

/// The name an account made for a provisioned person gets.
fn account_name(input: &UserInput) -> String {
    let full = [&input.given_name, &input.family_name]
        .into_iter()
        .flatten()
        .cloned()
        .collect::<Vec<_>>()
        .join(" ");
    input
        .display_name
        .as_deref()
        .and_then(shown_name_from_outside)
        .or_else(|| shown_name_from_outside(&full))
        .or_else(|| {
            input
                .email
                .split('@')
                .next()
                .and_then(shown_name_from_outside)
        })
        .unwrap_or_else(|| "Member".into())
}

/// The account of the person's address: the existing one, or a new one without a password
/// (provisioned people sign in through the identity provider). An existing account that
/// never proved its address may have been made by someone else at the company's domain:
/// what it holds goes and its sessions end, as when an SSO sign-in takes it over.
async fn account_for(
    txn: &impl ConnectionTrait,
    input: &UserInput,
    now: DateTime<Utc>,
) -> Result<user::Model, ScimError> {
    let normalized = normalize_email(&input.email);
    if let Some(existing) = user::Entity::find()
        .filter(user::Column::EmailNormalized.eq(normalized.as_str()))
        .one(txn)
        .await?
    {
        if existing.email_verified_at.is_none() {
            crate::accounts::sign_up::service::release_unproven_holdings(txn, existing.id).await?;
            let mut taken: user::ActiveModel = existing.into();
            taken.password_hash = Set(None);
            taken.email_verified_at = Set(Some(now));
            taken.updated_at = Set(now);
            return Ok(taken.update(txn).await?);
        }
        return Ok(existing);
    }
    Ok(user::ActiveModel {
        name: Set(account_name(input)),
        email: Set(input.email.clone()),
        email_normalized: Set(normalized),
        password_hash: Set(None),
        email_verified_at: Set(Some(now)),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(txn)
    .await?)
}

async fn check_user_name_free(
    txn: &impl ConnectionTrait,
    organization_id: i32,
    user_name_normalized: &str,
    except: Option<i32>,
) -> Result<(), ScimError> {
    let mut query = scim_user::Entity::find()
        .filter(scim_user::Column::OrganizationId.eq(organization_id))
        .filter(scim_user::Column::UserNameNormalized.eq(user_name_normalized));
    if let Some(id) = except {
        query = query.filter(scim_user::Column::Id.ne(id));
    }
    if query.one(txn).await?.is_some() {
        return Err(ScimError::uniqueness(
            "A User with this userName already exists in the organization.",
        ));
    }
    Ok(())
}

/// Provisions a person. Inside the caller's transaction, after the organization's lock.
pub async fn create(
    txn: &impl ConnectionTrait,
    organization_id: i32,
    input: UserInput,
    now: DateTime<Utc>,
) -> Result<scim_user::Model, SyncRefusal> {
    let user_name_normalized = normalize_email(&input.user_name);
    check_user_name_free(txn, organization_id, &user_name_normalized, None).await?;
    let account = account_for(txn, &input, now).await?;
    if scim_user::Entity::find()
        .filter(scim_user::Column::OrganizationId.eq(organization_id))
        .filter(scim_user::Column::UserId.eq(account.id))
        .one(txn)
        .await?
        .is_some()
    {
        return Err(ScimError::uniqueness(format!(
            "{} is already provisioned under another userName.",
            input.email
        ))
        .into());
    }
    let person = scim_user::ActiveModel {
        public_id: Set(uuid::Uuid::new_v4().to_string()),
        organization_id: Set(organization_id),
        user_id: Set(account.id),
        user_name: Set(input.user_name),
        user_name_normalized: Set(user_name_normalized),
        external_id: Set(input.external_id),
        display_name: Set(input.display_name),
        given_name: Set(input.given_name),
        family_name: Set(input.family_name),
        email: Set(input.email),
        emails: Set(Value::Array(input.emails).to_string()),
        name_formatted: Set(input.name_formatted),
        active: Set(input.active),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(txn)
    .await?;
    membership_sync::apply(txn, &person, Change::Provisioned, now).await?;
    Ok(person)
}

/// Replaces a person's attributes (PUT, and PATCH once applied). A new address is a
/// directory attribute: the membership stays with the account linked at creation (which
/// signs in through the provider by its subject), so a rename never moves it to another
/// account.
pub async fn replace(
    txn: &impl ConnectionTrait,
    person: scim_user::Model,
    input: UserInput,
    now: DateTime<Utc>,
) -> Result<scim_user::Model, SyncRefusal> {
    let user_name_normalized = normalize_email(&input.user_name);
    check_user_name_free(
        txn,
        person.organization_id,
        &user_name_normalized,
        Some(person.id),
    )
    .await?;
    let was_active = person.active;
    let mut changed: scim_user::ActiveModel = person.into();
    changed.user_name = Set(input.user_name);
    changed.user_name_normalized = Set(user_name_normalized);
    changed.external_id = Set(input.external_id);
    changed.display_name = Set(input.display_name);
    changed.given_name = Set(input.given_name);
    changed.family_name = Set(input.family_name);
    changed.name_formatted = Set(input.name_formatted);
    changed.email = Set(input.email);
    changed.emails = Set(Value::Array(input.emails).to_string());
    changed.active = Set(input.active);
    changed.updated_at = Set(now);
    let person = changed.update(txn).await?;
    membership_sync::apply(txn, &person, Change::Updated { was_active }, now).await?;
    Ok(person)
}

/// Deprovisions a person: their membership goes (never the last owner's) and the link.
pub async fn delete(
    txn: &impl ConnectionTrait,
    person: scim_user::Model,
    now: DateTime<Utc>,
) -> Result<(), SyncRefusal> {
    let mut gone = person.clone();
    gone.active = false;
    membership_sync::apply(txn, &gone, Change::Deprovisioned, now).await?;
    scim_user::Entity::delete_by_id(person.id).exec(txn).await?;
    Ok(())
}

/// A page of the organization's Users.
pub async fn list(
    db: &impl ConnectionTrait,
    organization_id: i32,
    query: ListQuery<'_>,
) -> Result<(Vec<scim_user::Model>, u64), ScimError> {
    let mut select =
        scim_user::Entity::find().filter(scim_user::Column::OrganizationId.eq(organization_id));
    if let Some(filter) = query.filter {
        select = select.filter(condition(filter, None)?);
    }
    let column = match query.sort_by.map(str::to_ascii_lowercase).as_deref() {
        None | Some("id") => scim_user::Column::Id,
        Some("username") => scim_user::Column::UserNameNormalized,
        Some("displayname") => scim_user::Column::DisplayName,
        Some("externalid") => scim_user::Column::ExternalId,
        Some("meta.created") => scim_user::Column::CreatedAt,
        Some("meta.lastmodified") => scim_user::Column::UpdatedAt,
        Some("name.givenname") => scim_user::Column::GivenName,
        Some("name.familyname") => scim_user::Column::FamilyName,
        Some(other) => {
            return Err(ScimError::invalid_value(format!(
                "sortBy {other} is not supported: use userName, displayName, externalId, name.givenName, name.familyName, meta.created or meta.lastModified."
            )))
        }
    };
    Ok(page(db, select, column, scim_user::Column::Id, &query).await?)
}

/// What a filter attribute of Users is stored as.
enum UserAttribute {
    /// Compared as stored (`id`, `externalId`).
    Exact(scim_user::Column),
    /// Compared without regard to case.
    Caseless(scim_user::Column),
    /// `userName`: against its normalized form.
    UserName,
    Active,
    Time(scim_user::Column),
    /// An attribute every User has the one value of (`emails.type` is "work").
    Constant(Value),
}

fn user_attribute(path: &AttrPath, within: Option<&str>) -> Result<UserAttribute, ScimError> {
    let key = match within {
        Some(parent) => format!("{parent}.{}", path.key()),
        None => path.key(),
    };
    use scim_user::Column as C;
    Ok(match key.as_str() {
        "id" => UserAttribute::Exact(C::PublicId),
        "externalid" => UserAttribute::Exact(C::ExternalId),
        "username" => UserAttribute::UserName,
        "displayname" => UserAttribute::Caseless(C::DisplayName),
        "name.givenname" => UserAttribute::Caseless(C::GivenName),
        "name.familyname" => UserAttribute::Caseless(C::FamilyName),
        "emails" | "emails.value" => UserAttribute::Caseless(C::Email),
        "emails.type" => UserAttribute::Constant(json!("work")),
        "emails.primary" => UserAttribute::Constant(json!(true)),
        "active" => UserAttribute::Active,
        "meta.created" => UserAttribute::Time(C::CreatedAt),
        "meta.lastmodified" => UserAttribute::Time(C::UpdatedAt),
        "meta.resourcetype" => UserAttribute::Constant(json!("User")),
        _ => {
            return Err(ScimError::invalid_filter(format!(
                "Users cannot be filtered by {key}: use id, userName, externalId, displayName, name.givenName, name.familyName, emails, active, meta.created or meta.lastModified."
            )))
        }
    })
}

fn always(yes: bool) -> Condition {
    Condition::all().add(Expr::cust(if yes { "1 = 1" } else { "1 = 0" }))
}

/// A LIKE pattern with the text's wildcards escaped.
pub(super) fn like_pattern(prefix: &str, text: &str, suffix: &str) -> LikeExpr {
    let escaped = text
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    LikeExpr::new(format!("{prefix}{escaped}{suffix}")).escape('\\')
}

fn string_condition(column: SimpleExpr, op: CompareOp, text: String) -> Condition {
    let cond = match op {
        CompareOp::Eq => column.eq(text),
        CompareOp::Ne => column.ne(text),
        CompareOp::Co => column.like(like_pattern("%", &text, "%")),
        CompareOp::Sw => column.like(like_pattern("", &text, "%")),
        CompareOp::Ew => column.like(like_pattern("%", &text, "")),
        CompareOp::Gt => column.gt(text),
        CompareOp::Ge => column.gte(text),
        CompareOp::Lt => column.lt(text),
        CompareOp::Le => column.lte(text),
    };
    Condition::all().add(cond)
}

/// A filter as a condition on `scim_users`. `within` is the multi-valued attribute a value
/// path's inner filter is about.
fn condition(filter: &Filter, within: Option<&str>) -> Result<Condition, ScimError> {
    Ok(match filter {
        Filter::And(a, b) => Condition::all()
            .add(condition(a, within)?)
            .add(condition(b, within)?),
        Filter::Or(a, b) => Condition::any()
            .add(condition(a, within)?)
            .add(condition(b, within)?),
        Filter::Not(inner) => condition(inner, within)?.not(),
        Filter::ValuePath { path, filter } => {
            if within.is_some() || path.key() != "emails" {
                return Err(ScimError::invalid_filter(format!(
                    "Users take a value filter only on emails, not on {}.",
                    path.key()
                )));
            }
            condition(filter, Some("emails"))?
        }
        Filter::Present(path) => match user_attribute(path, within)? {
            UserAttribute::Exact(c) | UserAttribute::Caseless(c) | UserAttribute::Time(c) => {
                Condition::all().add(c.is_not_null())
            }
            UserAttribute::UserName | UserAttribute::Active | UserAttribute::Constant(_) => {
                always(true)
            }
        },
        Filter::Compare { path, op, value } => {
            let attribute = user_attribute(path, within)?;
            let wrong_type = |expected: &str| {
                ScimError::invalid_filter(format!("{} compares with {expected}.", path.key()))
            };
            match (attribute, value) {
                (_, Literal::Null) => match op {
                    CompareOp::Eq => {
                        return condition(&Filter::Present(path.clone()), within)
                            .map(Condition::not)
                    }
                    CompareOp::Ne => return condition(&Filter::Present(path.clone()), within),
                    _ => return Err(wrong_type("eq or ne when the value is null")),
                },
                (UserAttribute::Exact(c), Literal::String(s)) => {
                    string_condition(Expr::col(c).into(), *op, s.clone())
                }
                (UserAttribute::Caseless(c), Literal::String(s)) => {
                    string_condition(Func::lower(Expr::col(c)).into(), *op, s.to_lowercase())
                }
                (UserAttribute::UserName, Literal::String(s)) => {
                    let text = if *op == CompareOp::Eq || *op == CompareOp::Ne {
                        normalize_email(s)
                    } else {
                        s.to_lowercase()
                    };
                    string_condition(
                        Expr::col(scim_user::Column::UserNameNormalized).into(),
                        *op,
                        text,
                    )
                }
                (UserAttribute::Active, Literal::Bool(b)) => match op {
                    CompareOp::Eq => Condition::all().add(scim_user::Column::Active.eq(*b)),
                    CompareOp::Ne => Condition::all().add(scim_user::Column::Active.ne(*b)),
                    _ => return Err(wrong_type("eq or ne and true or false")),
                },
                (UserAttribute::Time(c), Literal::String(s)) => {
                    let at = DateTime::parse_from_rfc3339(s)
                        .map_err(|_| wrong_type("a date and time such as 2026-01-31T09:00:00Z"))?
                        .with_timezone(&Utc);
                    let cond = match op {
                        CompareOp::Eq => c.eq(at),
                        CompareOp::Ne => c.ne(at),
                        CompareOp::Gt => c.gt(at),
                        CompareOp::Ge => c.gte(at),
                        CompareOp::Lt => c.lt(at),
                        CompareOp::Le => c.lte(at),
                        _ => return Err(wrong_type("eq, ne, gt, ge, lt or le")),
                    };
                    Condition::all().add(cond)
                }
                (UserAttribute::Constant(constant), literal) => {
                    let item = json!({ "v": constant });
                    let probe = Filter::Compare {
                        path: AttrPath {
                            schema: None,
                            name: "v".into(),
                            sub: None,
                        },
                        op: *op,
                        value: literal.clone(),
                    };
                    always(super::patch::matches(&probe, &item))
                }
                (UserAttribute::Active, _) => return Err(wrong_type("true or false")),
                _ => return Err(wrong_type("a quoted string")),
            }
        }
    })
}
