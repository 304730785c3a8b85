//! Members and roles through the real router and a real database: who may change roles and
//! remove people, the last-owner rule (also under concurrent requests), leaving, the list.

use crate::common::{spawn_app, Call, TestApp};
use app::{
    error::AppError,
    members::{roles::Role, views::MembersPage},
    server::entities::{membership, organization, user},
};
use axum::http::StatusCode;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};

struct Team {
    org: String,
    owner: String,
    admin: String,
    member: String,
    outsider: String,
}

async fn team(app: &TestApp) -> Team {
    let owner = app.sign_up("Olivia Owner", "olivia@example.com").await;
    let admin = app.sign_up("Adam Admin", "adam@example.com").await;
    let member = app.sign_up("Mia Member", "mia@example.com").await;
    let outsider = app.sign_up("Oscar Outsider", "oscar@example.com").await;
    let org = app.create_organization(&owner, "Acme").await;
    app.join(&admin, &org, Role::Admin).await;
    app.join(&member, &org, Role::Member).await;
    app.create_organization(&outsider, "Elsewhere").await;
    Team {
        org,
        owner,
        admin,
        member,
        outsider,
    }
}

async fn members(app: &TestApp, session: &str, query: &str, page: u64) -> MembersPage {
    list_members(app, session, query, page, None).await
}

/// A page opened from a Previous (`before`) or Next (`after`) link.
async fn members_from(
    app: &TestApp,
    session: &str,
    query: &str,
    page: u64,
    cursor: (&str, &str),
) -> MembersPage {
    list_members(app, session, query, page, Some(cursor)).await
}

async fn list_members(
    app: &TestApp,
    session: &str,
    query: &str,
    page: u64,
    cursor: Option<(&str, &str)>,
) -> MembersPage {
    let page = page.to_string();
    let mut form = vec![("query", query), ("page", page.as_str())];
    form.extend(cursor);
    let found: Option<MembersPage> = app
        .call_json("/api/members/list", &form, Some(session))
        .await;
    found.expect("a current organization")
}

fn ids(page: &MembersPage) -> Vec<i32> {
    page.members.iter().map(|m| m.membership_id).collect()
}

/// `count` accounts (no password: faster than signing up) joined to `org` as members.
async fn add_members(app: &TestApp, org: &str, count: usize) {
    use sea_orm::{ActiveModelTrait, Set, TransactionTrait};
    let org = organization::Entity::find()
        .filter(organization::Column::PublicId.eq(org))
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    let now = chrono::Utc::now();
    for i in 0..count {
        let email = format!("member{i:03}@many.example");
        let txn = app.db.begin().await.unwrap();
        let account = user::ActiveModel {
            name: Set(format!("Member {i:03}")),
            email: Set(email.clone()),
            email_normalized: Set(email),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        }
        .insert(&txn)
        .await
        .unwrap();
        app::members::memberships::join_organization(&txn, account.id, org.id, Role::Member, now)
            .await
            .unwrap();
        txn.commit().await.unwrap();
    }
}

async fn membership_id(app: &TestApp, session: &str, org: &str) -> String {
    app.membership_of(session, org)
        .await
        .unwrap()
        .id
        .to_string()
}

async fn role_of(app: &TestApp, session: &str, org: &str) -> Option<Role> {
    app.membership_of(session, org).await.map(|m| m.role)
}

async fn change_role(
    app: &TestApp,
    by: &str,
    org: &str,
    membership: &str,
    role: &str,
) -> crate::common::Reply {
    app.send(
        Call::post(
            "/api/members/change_role",
            &[
                ("organization_id", org),
                ("membership_id", membership),
                ("role", role),
            ],
        )
        .session(by),
    )
    .await
}

async fn remove(app: &TestApp, by: &str, org: &str, membership: &str) -> crate::common::Reply {
    app.send(
        Call::post(
            "/api/members/remove",
            &[("organization_id", org), ("membership_id", membership)],
        )
        .session(by),
    )
    .await
}

#[tokio::test]
async fn only_owners_change_roles() {
    let app = spawn_app().await;
    let t = team(&app).await;
    let mia = membership_id(&app, &t.member, &t.org).await;
    for who in [&t.admin, &t.member] {
        let reply = change_role(&app, who, &t.org, &mia, "admin").await;
        assert_eq!(reply.status, StatusCode::FORBIDDEN);
    }
    let outsider = change_role(&app, &t.outsider, &t.org, &mia, "admin").await;
    assert_eq!(
        outsider.error(),
        AppError::Forbidden("You are not a member of this organization.".into())
    );
    let signed_out = app
        .send(Call::post(
            "/api/members/change_role",
            &[
                ("organization_id", &t.org),
                ("membership_id", &mia),
                ("role", "admin"),
            ],
        ))
        .await;
    assert_eq!(signed_out.error(), AppError::Unauthenticated);
    assert_eq!(role_of(&app, &t.member, &t.org).await, Some(Role::Member));

    let reply = change_role(&app, &t.owner, &t.org, &mia, "admin").await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(role_of(&app, &t.member, &t.org).await, Some(Role::Admin));
    let bad = change_role(&app, &t.owner, &t.org, &mia, "superuser").await;
    assert_eq!(bad.field_error("role"), "Choose owner, admin or member.");
}

#[tokio::test]
async fn another_organizations_memberships_cannot_be_touched() {
    let app = spawn_app().await;
    let t = team(&app).await;
    let elsewhere = app.create_organization(&t.owner, "Second").await;
    // Oscar's membership in his own organization, addressed through Olivia's organization.
    let oscars = membership_id(&app, &t.outsider, &app_org_of(&app, &t.outsider).await).await;
    for org in [&t.org, &elsewhere] {
        let reply = change_role(&app, &t.owner, org, &oscars, "member").await;
        assert_eq!(
            reply.error(),
            AppError::Forbidden("That user is not a member of this organization.".into())
        );
        let reply = remove(&app, &t.owner, org, &oscars).await;
        assert_eq!(reply.status, StatusCode::FORBIDDEN);
    }
    assert_eq!(membership::Entity::find().count(&app.db).await.unwrap(), 5);
}

async fn app_org_of(app: &TestApp, session: &str) -> String {
    let mine: app::organizations::api::MyOrganizationsPage = app
        .call_json(
            "/api/organizations/mine",
            &[("query", ""), ("page", "1")],
            Some(session),
        )
        .await;
    mine.organizations[0].public_id.clone()
}

#[tokio::test]
async fn owners_and_admins_remove_people_but_admins_never_an_owner() {
    let app = spawn_app().await;
    let t = team(&app).await;
    let olivia = membership_id(&app, &t.owner, &t.org).await;
    let mia = membership_id(&app, &t.member, &t.org).await;
    let adam = membership_id(&app, &t.admin, &t.org).await;

    let by_member = remove(&app, &t.member, &t.org, &adam).await;
    assert_eq!(by_member.status, StatusCode::FORBIDDEN);
    let admin_on_owner = remove(&app, &t.admin, &t.org, &olivia).await;
    assert_eq!(
        admin_on_owner.error(),
        AppError::Forbidden("Admins cannot remove an owner.".into())
    );

    let reply = remove(&app, &t.admin, &t.org, &mia).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(role_of(&app, &t.member, &t.org).await, None);
    let mia_user = user::Entity::find_by_id(app.user_id(&t.member).await)
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        mia_user.membership_count, 0,
        "her count went down with the membership"
    );
}

#[tokio::test]
async fn the_last_owner_cannot_be_demoted_removed_or_leave() {
    let app = spawn_app().await;
    let t = team(&app).await;
    let olivia = membership_id(&app, &t.owner, &t.org).await;
    let demote = change_role(&app, &t.owner, &t.org, &olivia, "admin").await;
    assert!(
        matches!(demote.error(), AppError::Forbidden(m) if m.starts_with("An organization needs at least one owner"))
    );
    let removed = remove(&app, &t.owner, &t.org, &olivia).await;
    assert_eq!(removed.status, StatusCode::FORBIDDEN);
    let leave = app
        .send(Call::post("/api/members/leave", &[("organization_id", &t.org)]).session(&t.owner))
        .await;
    assert_eq!(leave.status, StatusCode::FORBIDDEN);
    assert_eq!(role_of(&app, &t.owner, &t.org).await, Some(Role::Owner));

    // With a second owner, the first may go.
    let adam = membership_id(&app, &t.admin, &t.org).await;
    assert_eq!(
        change_role(&app, &t.owner, &t.org, &adam, "owner")
            .await
            .status,
        StatusCode::OK
    );
    let leave = app
        .send(Call::post("/api/members/leave", &[("organization_id", &t.org)]).session(&t.owner))
        .await;
    assert_eq!(leave.status, StatusCode::OK, "{}", leave.body);
    let org = organization::Entity::find()
        .filter(organization::Column::PublicId.eq(&t.org))
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(org.owner_count, 1);
}

#[tokio::test]
async fn two_owners_demoting_each_other_at_once_leave_one_owner() {
    let app = spawn_app().await;
    let t = team(&app).await;
    let adam = membership_id(&app, &t.admin, &t.org).await;
    assert_eq!(
        change_role(&app, &t.owner, &t.org, &adam, "owner")
            .await
            .status,
        StatusCode::OK
    );
    let olivia = membership_id(&app, &t.owner, &t.org).await;
    for _ in 0..5 {
        let (a, b) = futures::join!(
            change_role(&app, &t.owner, &t.org, &adam, "member"),
            change_role(&app, &t.admin, &t.org, &olivia, "member"),
        );
        let owners = membership::Entity::find()
            .filter(membership::Column::Role.eq("owner"))
            .filter(
                membership::Column::OrganizationId.is_in(
                    organization::Entity::find()
                        .filter(organization::Column::PublicId.eq(&t.org))
                        .all(&app.db)
                        .await
                        .unwrap()
                        .into_iter()
                        .map(|o| o.id),
                ),
            )
            .count(&app.db)
            .await
            .unwrap();
        assert_eq!(owners, 1, "statuses {} / {}", a.status, b.status);
        assert!(a.status == StatusCode::OK || b.status == StatusCode::OK);
        // Make both owners again for the next round (whoever is still owner promotes).
        let (still_owner, other) = if role_of(&app, &t.owner, &t.org).await == Some(Role::Owner) {
            (&t.owner, &adam)
        } else {
            (&t.admin, &olivia)
        };
        assert_eq!(
            change_role(&app, still_owner, &t.org, other, "owner")
                .await
                .status,
            StatusCode::OK
        );
    }
}

#[tokio::test]
async fn a_member_may_leave() {
    let app = spawn_app().await;
    let t = team(&app).await;
    let reply = app
        .send(Call::post("/api/members/leave", &[("organization_id", &t.org)]).session(&t.member))
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(reply.redirected_to(), Some("/?left=1"));
    assert_eq!(role_of(&app, &t.member, &t.org).await, None);
}

#[tokio::test]
async fn the_member_list_pages_and_searches_by_name_or_email() {
    let app = spawn_app().await;
    let t = team(&app).await;
    for i in 0..27 {
        let session = app
            .sign_up(&format!("Zed {i:02}"), &format!("zed{i:02}@corp.example"))
            .await;
        app.join(&session, &t.org, Role::Member).await;
    }
    let first = members(&app, &t.owner, "", 1).await;
    assert_eq!((first.total, first.pages, first.members.len()), (30, 2, 25));
    assert_eq!(first.your_role, Role::Owner);
    assert!(first
        .members
        .iter()
        .any(|m| m.is_you && m.name == "Olivia Owner"));
    let second = members(&app, &t.owner, "", 2).await;
    assert_eq!(second.members.len(), 5);

    assert_eq!(
        members(&app, &t.owner, "zed 1", 1).await.total,
        10,
        "by name, any case"
    );
    assert_eq!(
        members(&app, &t.owner, "CORP.EXAMPLE", 1).await.total,
        27,
        "by email"
    );
    assert_eq!(
        members(&app, &t.owner, "_", 1).await.total,
        0,
        "matched literally"
    );
    assert_eq!(
        members(&app, &t.member, "", 1).await.total,
        30,
        "members see the members"
    );
}

/// Next and Previous open the page after or before the rows shown (keyset paging), and give
/// the same pages as their numbers; a cursor is only a position in this organization's
/// list: a forged one, or one naming another organization's member, shows nothing else.
#[tokio::test]
async fn next_and_previous_pages_start_where_the_shown_page_ends() {
    let app = spawn_app().await;
    let t = team(&app).await;
    add_members(&app, &t.org, 60).await;
    let mut by_number = Vec::new();
    for page in 1..=3 {
        by_number.push(ids(&members(&app, &t.owner, "", page).await));
    }
    assert_eq!(
        by_number.iter().map(Vec::len).collect::<Vec<_>>(),
        [25, 25, 13]
    );

    let first = members(&app, &t.owner, "", 1).await;
    assert_eq!(first.previous_cursor, None, "page 1 has no previous page");
    let second = members_from(
        &app,
        &t.owner,
        "",
        2,
        ("after", first.next_cursor.as_deref().unwrap()),
    )
    .await;
    assert_eq!(ids(&second), by_number[1]);
    // The rows come from the cursor (the number is only shown): not an OFFSET in disguise.
    let from_cursor = members_from(
        &app,
        &t.owner,
        "",
        1,
        ("after", first.next_cursor.as_deref().unwrap()),
    )
    .await;
    assert_eq!(ids(&from_cursor), by_number[1]);
    assert_eq!(
        (from_cursor.page, from_cursor.previous_cursor.is_some()),
        (2, true),
        "the page number shown follows the rows, not the URL"
    );
    let third = members_from(
        &app,
        &t.owner,
        "",
        3,
        ("after", second.next_cursor.as_deref().unwrap()),
    )
    .await;
    assert_eq!(ids(&third), by_number[2]);
    assert_eq!(third.next_cursor, None, "the last page has no next page");
    let back = members_from(
        &app,
        &t.owner,
        "",
        2,
        ("before", third.previous_cursor.as_deref().unwrap()),
    )
    .await;
    assert_eq!(ids(&back), by_number[1]);
    let back = members_from(
        &app,
        &t.owner,
        "",
        1,
        ("before", back.previous_cursor.as_deref().unwrap()),
    )
    .await;
    assert_eq!(ids(&back), by_number[0]);
    assert_eq!(
        (back.page, back.previous_cursor),
        (1, None),
        "back at the start"
    );

    // The Users tab's Next page link carries the cursor.
    let tab = app.get("/access-control?tab=users", Some(&t.owner)).await;
    let next_link = format!(
        "page=2&amp;after={}",
        app::ui::url::urlencode(first.next_cursor.as_deref().unwrap())
    );
    assert!(tab.body.contains(&next_link), "{next_link} in {}", tab.body);

    // A search pages the same way.
    let found = members(&app, &t.owner, "many.example", 1).await;
    assert_eq!(found.total, 60);
    let found_next = members_from(
        &app,
        &t.owner,
        "many.example",
        2,
        ("after", found.next_cursor.as_deref().unwrap()),
    )
    .await;
    assert_eq!(
        ids(&found_next),
        ids(&members(&app, &t.owner, "many.example", 2).await)
    );

    // Not a cursor: the page opens by its number.
    let forged = members_from(&app, &t.owner, "", 2, ("after", "not-a-cursor")).await;
    assert_eq!(ids(&forged), by_number[1]);
    let huge = format!("1.{}", "a".repeat(5_000));
    let oversized = members_from(&app, &t.owner, "", 2, ("after", &huge)).await;
    assert_eq!(
        ids(&oversized),
        by_number[1],
        "an oversized cursor is not one"
    );
    // Another organization's member as the position: still only this organization's rows.
    let elsewhere = membership::Entity::find()
        .filter(membership::Column::UserId.eq(app.user_id(&t.outsider).await))
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    let foreign = format!("{}.{}", elsewhere.id, elsewhere.member_key);
    let everyone: Vec<i32> = by_number.concat();
    for cursor in [
        ("after", foreign.as_str()),
        ("before", foreign.as_str()),
        ("after", "0."),
        ("before", "2147483647.~"),
    ] {
        let shown = members_from(&app, &t.owner, "", 2, cursor).await;
        assert!(
            ids(&shown).iter().all(|id| everyone.contains(id)),
            "{cursor:?}: {:?}",
            ids(&shown)
        );
    }
}

#[tokio::test]
async fn the_users_tab_finds_members_by_their_new_name_after_a_rename() {
    let app = spawn_app().await;
    let t = team(&app).await;
    let renamed = app
        .send(Call::post("/api/accounts/update_name", &[("name", "Émile Zola")]).session(&t.member))
        .await;
    assert_eq!(renamed.status, StatusCode::OK, "{}", renamed.body);
    let found = members(&app, &t.owner, "ÉMILE", 1).await;
    assert_eq!(found.total, 1);
    assert_eq!(found.members[0].name, "Émile Zola");
    assert_eq!(members(&app, &t.owner, "mia member", 1).await.total, 0);
    // Sorted by name: Adam, Émile, Olivia.
    let all = members(&app, &t.owner, "", 1).await;
    let names: Vec<&str> = all.members.iter().map(|m| m.name.as_str()).collect();
    assert_eq!(names, ["Adam Admin", "Olivia Owner", "Émile Zola"]);
}

/// The member count the Users tab shows comes from the organization's row, kept by a
/// trigger: it must equal the memberships after every way in and out.
#[tokio::test]
async fn the_member_count_follows_every_way_in_and_out() {
    let app = spawn_app().await;
    let t = team(&app).await;
    let counts_agree = || async {
        for org in organization::Entity::find().all(&app.db).await.unwrap() {
            let counted = membership::Entity::find()
                .filter(membership::Column::OrganizationId.eq(org.id))
                .count(&app.db)
                .await
                .unwrap();
            assert_eq!(org.member_count as u64, counted, "{}", org.name);
        }
    };
    counts_agree().await;
    assert_eq!(members(&app, &t.owner, "", 1).await.total, 3);

    let admin_membership = membership_id(&app, &t.admin, &t.org).await;
    assert_eq!(
        remove(&app, &t.owner, &t.org, &admin_membership)
            .await
            .status,
        StatusCode::OK
    );
    let left = app
        .send(Call::post("/api/members/leave", &[("organization_id", &t.org)]).session(&t.member))
        .await;
    assert_eq!(left.status, StatusCode::OK, "{}", left.body);
    counts_agree().await;
    assert_eq!(members(&app, &t.owner, "", 1).await.total, 1);

    // An account deleted takes its memberships with it (a cascade the trigger counts too).
    app.join(&t.member, &t.org, Role::Member).await;
    let outsider_id = app.user_id(&t.outsider).await;
    app.join(&t.outsider, &t.org, Role::Member).await;
    user::Entity::delete_by_id(outsider_id)
        .exec(&app.db)
        .await
        .unwrap();
    counts_agree().await;
    assert_eq!(members(&app, &t.owner, "", 1).await.total, 2);
}

async fn names_found(app: &TestApp, session: &str, query: &str) -> Vec<String> {
    members(app, session, query, 1)
        .await
        .members
        .into_iter()
        .map(|m| m.name)
        .collect()
}

/// The Users tab search matches the beginning of a word of the name or a part of the
/// address (through its own index), follows renames, and members from before the index are
/// indexed when the server starts.
#[tokio::test]
async fn the_users_tab_search_matches_word_beginnings_and_follows_renames() {
    use app::server::entities::member_search_term;

    let mut app = spawn_app().await;
    let t = team(&app).await;
    let ada = app
        .sign_up("Ada Lovelace", "ada.l@analytical.example")
        .await;
    app.join(&ada, &t.org, Role::Member).await;
    assert_eq!(
        names_found(&app, &t.owner, "ada").await,
        ["Ada Lovelace", "Adam Admin"],
        "the beginning of a word"
    );
    assert_eq!(
        names_found(&app, &t.owner, "example").await.len(),
        4,
        "a domain above the address's"
    );
    for query in [
        "LOVE",
        "ada lov",
        "ada.l@",
        "analytical",
        "ADA.L@ANALYTICAL.EXAMPLE",
    ] {
        assert_eq!(
            names_found(&app, &t.owner, query).await,
            ["Ada Lovelace"],
            "{query}"
        );
    }
    for query in ["velace", "lovelace ada x", "nalytical", "%", "a_a"] {
        assert!(
            names_found(&app, &t.owner, query).await.is_empty(),
            "{query}"
        );
    }

    // A rename: the old words no longer find her, the new ones do.
    let renamed = app
        .send(Call::post("/api/accounts/update_name", &[("name", "Augusta King")]).session(&ada))
        .await;
    assert_eq!(renamed.status, StatusCode::OK, "{}", renamed.body);
    assert!(names_found(&app, &t.owner, "lovelace").await.is_empty());
    assert_eq!(
        names_found(&app, &t.owner, "augusta").await,
        ["Augusta King"]
    );

    // Terms lost (a database from before the index): the next start writes them again.
    member_search_term::Entity::delete_many()
        .exec(&app.db)
        .await
        .unwrap();
    assert!(names_found(&app, &t.owner, "augusta").await.is_empty());
    app.restart_with(|_| {}).await.expect("restart");
    assert_eq!(
        names_found(&app, &t.owner, "augusta").await,
        ["Augusta King"]
    );
    assert_eq!(members(&app, &t.owner, "", 1).await.total, 4);
}
