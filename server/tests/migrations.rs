//! Upgrading a database keeps its data right: the owner count added by the third
//! migration is filled in from the memberships that were already there, accounts from
//! before email verification count as verified, and the members' search keys are filled in.

mod common;

use migration::{Migrator, MigratorTrait};
use sea_orm::{ConnectionTrait, Database, EntityTrait};

#[tokio::test]
async fn upgrading_counts_the_owners_of_existing_organizations() {
    let (url, _guard) = common::empty_database().await;
    let db = Database::connect(&url).await.unwrap();
    Migrator::up(&db, Some(2)).await.unwrap();
    let now = "2026-11-01T00:00:00+00:00";
    for statement in [
        format!("INSERT INTO users (name, email, email_normalized, created_at, updated_at) VALUES ('Ada', 'ada@example.com', 'ada@example.com', '{now}', '{now}')"),
        format!("INSERT INTO users (name, email, email_normalized, created_at, updated_at) VALUES ('Élodie', 'bob@example.com', 'bob@example.com', '{now}', '{now}')"),
        format!("INSERT INTO organizations (public_id, name, created_at, updated_at) VALUES ('org_00000000000000000000000000000001', 'One owner', '{now}', '{now}')"),
        format!("INSERT INTO organizations (public_id, name, created_at, updated_at) VALUES ('org_00000000000000000000000000000002', 'Two owners', '{now}', '{now}')"),
        format!("INSERT INTO memberships (organization_id, user_id, role, created_at, selected_at) VALUES (1, 1, 'owner', '{now}', '{now}')"),
        format!("INSERT INTO memberships (organization_id, user_id, role, created_at, selected_at) VALUES (1, 2, 'member', '{now}', '{now}')"),
        format!("INSERT INTO memberships (organization_id, user_id, role, created_at, selected_at) VALUES (2, 1, 'owner', '{now}', '{now}')"),
        format!("INSERT INTO memberships (organization_id, user_id, role, created_at, selected_at) VALUES (2, 2, 'owner', '{now}', '{now}')"),
    ] {
        db.execute_unprepared(&statement).await.unwrap();
    }

    Migrator::up(&db, None).await.unwrap();
    let mut orgs = app::server::entities::organization::Entity::find()
        .all(&db)
        .await
        .unwrap();
    orgs.sort_by_key(|o| o.id);
    assert_eq!(
        orgs.iter()
            .map(|o| (o.name.as_str(), o.owner_count))
            .collect::<Vec<_>>(),
        [("One owner", 1), ("Two owners", 2)]
    );

    let users = app::server::entities::user::Entity::find()
        .all(&db)
        .await
        .unwrap();
    assert!(users.iter().all(|u| u.email_verified_at.is_some()));
    let mut keys: Vec<String> = app::server::entities::membership::Entity::find()
        .all(&db)
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.member_key)
        .collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            "ada ada@example.com",
            "ada ada@example.com",
            "élodie bob@example.com",
            "élodie bob@example.com"
        ]
    );
    // The migration's copy of the key function is the app's.
    assert_eq!(
        migration::member_key("Ünal ÖZ", "u@example.com"),
        app::members::service::member_key("Ünal ÖZ", "u@example.com")
    );
}

/// The SSO migration rebuilds the audit log's kind check (SQLite cannot alter one): the
/// events already there survive, the new kinds are accepted, unknown kinds still are not,
/// and stepping back down restores the old check.
#[tokio::test]
async fn the_sso_migration_keeps_the_audit_log_and_widens_its_kinds() {
    let (url, _guard) = common::empty_database().await;
    let db = Database::connect(&url).await.unwrap();
    Migrator::up(&db, Some(5)).await.unwrap();
    let now = "2026-11-01T00:00:00+00:00";
    for statement in [
        format!("INSERT INTO users (name, email, email_normalized, created_at, updated_at) VALUES ('Ada', 'ada@example.com', 'ada@example.com', '{now}', '{now}')"),
        format!("INSERT INTO organizations (public_id, name, created_at, updated_at) VALUES ('org_00000000000000000000000000000001', 'Acme', '{now}', '{now}')"),
        format!("INSERT INTO audit_events (organization_id, actor_id, actor_name, kind, created_at) VALUES (1, 1, 'Ada', 'created', '{now}')"),
    ] {
        db.execute_unprepared(&statement).await.unwrap();
    }
    let joined = format!("INSERT INTO audit_events (organization_id, actor_id, actor_name, kind, created_at) VALUES (1, 1, 'Ada', 'joined', '{now}')");
    assert!(
        db.execute_unprepared(&joined).await.is_err(),
        "not a kind before SSO"
    );

    Migrator::up(&db, None).await.unwrap();
    db.execute_unprepared(&joined).await.unwrap();
    let bogus = format!("INSERT INTO audit_events (organization_id, actor_id, actor_name, kind, created_at) VALUES (1, 1, 'Ada', 'dropped_tables', '{now}')");
    assert!(db.execute_unprepared(&bogus).await.is_err());
    let kinds: Vec<String> = app::server::entities::audit_event::Entity::find()
        .all(&db)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.kind)
        .collect();
    assert_eq!(kinds, ["created", "joined"]);
    // Deleting the organization still takes its events with it (the foreign key survived).
    db.execute_unprepared("DELETE FROM organizations")
        .await
        .unwrap();
    assert_eq!(
        app::server::entities::audit_event::Entity::find()
            .all(&db)
            .await
            .unwrap()
            .len(),
        0
    );

    Migrator::down(&db, Some(1)).await.unwrap();
    db.execute_unprepared(&format!("INSERT INTO organizations (public_id, name, created_at, updated_at) VALUES ('org_00000000000000000000000000000002', 'Again', '{now}', '{now}')")).await.unwrap();
    let joined_again = joined.replace("(1, 1,", "((SELECT id FROM organizations), 1,");
    assert!(
        db.execute_unprepared(&joined_again).await.is_err(),
        "the old check is back"
    );
}
