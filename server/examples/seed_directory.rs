//! Benchmark data for directory sync: makes the organization ORG_ID an SSO organization
//! of DOMAIN (the domain verified, a connection on, as after a passed test sign-in),
//! writes a new directory sync token to TOKEN_FILE, and links every account at DOMAIN
//! that is already a member (as `seed_members` makes them) to a provisioned SCIM User.
//! With SESSION_FILE, the first 20 linked people also get a session each: "address token"
//! lines there. Used by `scripts/bench-scim.sh`; not part of the server binary.
//!
//! cargo run --release -p server --example seed_directory -- DATABASE_URL ORG_ID DOMAIN TOKEN_FILE [SESSION_FILE]

use app::server::{
    entities::{
        membership, organization, organization_domain, scim_token, scim_user, session,
        sso_connection, user,
    },
    tokens::{hash_token, new_token},
};
use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, Set, TransactionTrait,
};

/// People signed in when SESSION_FILE is given (one deactivation each).
const SIGNED_IN: usize = 20;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (url, public_id, domain, token_file, session_file) = match args.as_slice() {
        [url, public_id, domain, token_file] => (url, public_id, domain, token_file, None),
        [url, public_id, domain, token_file, session_file] => {
            (url, public_id, domain, token_file, Some(session_file))
        }
        _ => {
            eprintln!("usage: seed_directory DATABASE_URL ORG_ID DOMAIN TOKEN_FILE [SESSION_FILE]");
            std::process::exit(2);
        }
    };
    let db = server::db::connect_and_migrate(url).await?.writer;
    let org = organization::Entity::find()
        .filter(organization::Column::PublicId.eq(public_id.as_str()))
        .one(&db)
        .await?
        .ok_or("no such organization")?;
    let now = Utc::now();
    let txn = db.begin().await?;
    organization_domain::ActiveModel {
        organization_id: Set(org.id),
        domain: Set(domain.clone()),
        status: Set(organization_domain::DomainStatus::Verified),
        challenge: Set(new_token()),
        verified_at: Set(Some(now)),
        checked_at: Set(Some(now)),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    sso_connection::ActiveModel {
        organization_id: Set(org.id),
        provider_name: Set("Bench IdP".into()),
        protocol: Set(sso_connection::Protocol::OpenIdConnect),
        issuer_url: Set("https://idp.bench.example".into()),
        client_id: Set("orgdesk".into()),
        // Never used: nobody signs in through this provider in the benchmark.
        client_secret: Set(String::new()),
        trust_emails: Set(false),
        enabled: Set(true),
        tested_at: Set(Some(now)),
        tested_email: Set(Some(format!("bench@{domain}"))),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    let made = app::api_keys::token::generate_prefixed(app::directory_sync::tokens::PREFIX);
    scim_token::ActiveModel {
        organization_id: Set(org.id),
        secret_hash: Set(made.hash),
        created_by_name: Set("Benchmark".into()),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    txn.commit().await?;
    std::fs::write(token_file, &made.key)?;

    // Every member at the domain becomes a provisioned User, in batches.
    let members: Vec<(i32, String)> = membership::Entity::find()
        .filter(membership::Column::OrganizationId.eq(org.id))
        .find_also_related(user::Entity)
        .filter(user::Column::EmailNormalized.like(format!("%@{domain}")))
        .order_by_asc(user::Column::Id)
        .all(&db)
        .await?
        .into_iter()
        .filter_map(|(_, u)| u.map(|u| (u.id, u.email)))
        .collect();
    for batch in members.chunks(500) {
        let rows = batch.iter().map(|(id, email)| scim_user::ActiveModel {
            public_id: Set(uuid::Uuid::new_v4().to_string()),
            organization_id: Set(org.id),
            user_id: Set(*id),
            user_name: Set(email.clone()),
            user_name_normalized: Set(email.to_lowercase()),
            email: Set(email.clone()),
            emails: Set(format!(
                r#"[{{"value":"{email}","type":"work","primary":true}}]"#
            )),
            active: Set(true),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        });
        scim_user::Entity::insert_many(rows).exec(&db).await?;
    }
    if let Some(session_file) = session_file {
        let mut lines = String::new();
        for (user_id, email) in members.iter().take(SIGNED_IN) {
            let token = new_token();
            session::ActiveModel {
                user_id: Set(*user_id),
                token_hash: Set(hash_token(&token)),
                created_at: Set(now),
                last_seen_at: Set(now),
                sign_in_method: Set(session::SignInMethod::Sso),
                user_agent: Set(Some("seed_directory".into())),
                client_address: Set(Some("127.0.0.1".into())),
                ..Default::default()
            }
            .insert(&db)
            .await?;
            lines.push_str(&format!("{email} {token}\n"));
        }
        std::fs::write(session_file, lines)?;
    }
    println!("{} provisioned", members.len());
    Ok(())
}
