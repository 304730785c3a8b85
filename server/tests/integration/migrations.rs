//! Upgrading a database keeps its data right: the owner count added by the third
//! migration is filled in from the memberships that were already there, accounts from
//! before email verification count as verified, the members' search keys are filled in, and
//! domains claimed before DNS proof existed count as unproven.

use migration::{Migrator, MigratorTrait};
use sea_orm::{ConnectionTrait, Database, EntityTrait, FromQueryResult, QuerySelect};

#[tokio::test]
async fn upgrading_counts_the_owners_of_existing_organizations() {
    let (url, _guard) = crate::common::empty_database().await;
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
    assert_eq!(
        orgs.iter().map(|o| o.member_count).collect::<Vec<_>>(),
        [2, 2],
        "members counted when the column arrived"
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
        app::members::rules::member_key("Ünal ÖZ", "u@example.com")
    );
}

/// The SSO migration rebuilds the audit log's kind check (SQLite cannot alter one): the
/// events already there survive, the new kinds are accepted, unknown kinds still are not,
/// and stepping back down restores the old check.
#[tokio::test]
async fn the_sso_migration_keeps_the_audit_log_and_widens_its_kinds() {
    let (url, _guard) = crate::common::empty_database().await;
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

    Migrator::up(&db, Some(1)).await.unwrap();
    db.execute_unprepared(&joined).await.unwrap();
    let bogus = format!("INSERT INTO audit_events (organization_id, actor_id, actor_name, kind, created_at) VALUES (1, 1, 'Ada', 'dropped_tables', '{now}')");
    assert!(db.execute_unprepared(&bogus).await.is_err());
    // Read as raw rows: the entity has columns later migrations add.
    let kinds: Vec<String> = db
        .query_all(sea_orm::Statement::from_string(
            db.get_database_backend(),
            "SELECT kind FROM audit_events ORDER BY id",
        ))
        .await
        .unwrap()
        .into_iter()
        .map(|row| row.try_get::<String>("", "kind").unwrap())
        .collect();
    assert_eq!(kinds, ["created", "joined"]);
    // Deleting the organization still takes its events with it (the foreign key survived).
    db.execute_unprepared("DELETE FROM organizations")
        .await
        .unwrap();
    let left = db
        .query_all(sea_orm::Statement::from_string(
            db.get_database_backend(),
            "SELECT id FROM audit_events",
        ))
        .await
        .unwrap();
    assert_eq!(left.len(), 0);

    Migrator::down(&db, Some(1)).await.unwrap();
    db.execute_unprepared(&format!("INSERT INTO organizations (public_id, name, created_at, updated_at) VALUES ('org_00000000000000000000000000000002', 'Again', '{now}', '{now}')")).await.unwrap();
    let joined_again = joined.replace("(1, 1,", "((SELECT id FROM organizations), 1,");
    assert!(
        db.execute_unprepared(&joined_again).await.is_err(),
        "the old check is back"
    );
}

/// The domains migration: domains typed into SSO settings were never proven, so they move
/// over as pending (each with a challenge of its own) and SSO is switched off; stepping
/// down keeps only verified domains.
#[tokio::test]
async fn the_domains_migration_keeps_claimed_domains_as_unproven_and_switches_sso_off() {
    use app::{
        domains::rules::DomainStatus,
        server::entities::{organization_domain, sso_connection},
    };

    let (url, _guard) = crate::common::empty_database().await;
    let db = Database::connect(&url).await.unwrap();
    Migrator::up(&db, Some(6)).await.unwrap();
    let now = "2026-11-01T00:00:00+00:00";
    for statement in [
        format!("INSERT INTO organizations (public_id, name, created_at, updated_at) VALUES ('org_00000000000000000000000000000001', 'Acme', '{now}', '{now}')"),
        format!("INSERT INTO sso_connections (organization_id, provider_name, issuer_url, client_id, client_secret, trust_emails, enabled, tested_at, created_at, updated_at) VALUES (1, 'IdP', 'https://idp.example', 'c', 's', false, true, '{now}', '{now}', '{now}')"),
        "INSERT INTO sso_domains (organization_id, domain) VALUES (1, 'acme.example')".into(),
        "INSERT INTO sso_domains (organization_id, domain) VALUES (1, 'acme.test')".into(),
    ] {
        db.execute_unprepared(&statement).await.unwrap();
    }

    Migrator::up(&db, Some(1)).await.unwrap();
    let domains = organization_domain::Entity::find().all(&db).await.unwrap();
    assert_eq!(domains.len(), 2);
    assert!(domains
        .iter()
        .all(|d| d.status == DomainStatus::Pending && d.verified_at.is_none()));
    assert_ne!(domains[0].challenge, domains[1].challenge);
    assert!(domains.iter().all(|d| d.challenge.len() == 32));
    // Only the column this migration changed: later migrations add columns the entity has.
    let enabled: bool = sso_connection::Entity::find()
        .select_only()
        .column(sso_connection::Column::Enabled)
        .into_tuple()
        .one(&db)
        .await
        .unwrap()
        .unwrap();
    assert!(!enabled, "SSO waits for a verified domain");
    assert!(db
        .execute_unprepared("SELECT 1 FROM sso_domains")
        .await
        .is_err());
    let linked = format!("INSERT INTO audit_events (organization_id, actor_name, kind, created_at) VALUES (1, 'Orgdesk', 'domain_unverified', '{now}')");
    db.execute_unprepared(&linked).await.unwrap();

    db.execute_unprepared(&format!(
        "UPDATE organization_domains SET status = 'verified', verified_at = '{now}' WHERE domain = 'acme.test'"
    ))
    .await
    .unwrap();
    Migrator::down(&db, Some(1)).await.unwrap();
    let back: Vec<String> = DomainRow::find_by_statement(sea_orm::Statement::from_string(
        db.get_database_backend(),
        "SELECT domain FROM sso_domains",
    ))
    .all(&db)
    .await
    .unwrap()
    .into_iter()
    .map(|row| row.domain)
    .collect();
    assert_eq!(back, ["acme.test"], "only proven domains go back");
}

#[derive(Debug, sea_orm::FromQueryResult)]
struct DomainRow {
    domain: String,
}

#[tokio::test]
async fn the_database_checks_the_normalized_address_where_every_database_agrees() {
    let (url, _guard) = crate::common::empty_database().await;
    let db = Database::connect(&url).await.unwrap();
    Migrator::up(&db, Some(7)).await.unwrap();
    let now = "2026-11-01T00:00:00+00:00";
    let insert = |name: &str, email: &str, normalized: &str| {
        format!("INSERT INTO users (name, email, email_normalized, created_at, updated_at) VALUES ('{name}', '{email}', '{normalized}', '{now}', '{now}')")
    };
    db.execute_unprepared(&insert("Ada", "Ada@example.com", "ada@example.com"))
        .await
        .unwrap();
    db.execute_unprepared(&format!("INSERT INTO organizations (public_id, name, created_at, updated_at) VALUES ('org_00000000000000000000000000000001', 'Acme', '{now}', '{now}')")).await.unwrap();
    db.execute_unprepared(&format!("INSERT INTO memberships (organization_id, user_id, role, created_at, selected_at, member_key) VALUES (1, 1, 'owner', '{now}', '{now}', 'ada ada@example.com')")).await.unwrap();

    Migrator::up(&db, None).await.unwrap();
    // The rebuild (on SQLite) kept the account and what refers to it.
    assert_eq!(
        app::server::entities::membership::Entity::find()
            .all(&db)
            .await
            .unwrap()
            .len(),
        1
    );
    db.execute_unprepared(&insert("Élodie", "Élodie@exemple.fr", "élodie@exemple.fr"))
        .await
        .expect("a non-ASCII capital is the app's to fold");
    for (email, normalized) in [
        ("Bob@example.com", "Bob@example.com"),
        ("Bob@example.com", "rob@example.com"),
        ("Zoë@example.com", "Zoë@example.com"),
    ] {
        assert!(
            db.execute_unprepared(&insert("Bob", email, normalized))
                .await
                .is_err(),
            "{email} stored as {normalized}"
        );
    }
    // A membership pointing at no user is still refused: foreign keys are back on.
    assert!(db
        .execute_unprepared(&format!("INSERT INTO memberships (organization_id, user_id, role, created_at, selected_at, member_key) VALUES (1, 99, 'member', '{now}', '{now}', 'x')"))
        .await
        .is_err());
}
