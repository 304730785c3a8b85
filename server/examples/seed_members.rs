//! Benchmark data: adds COUNT members (accounts without passwords, so nobody can log in as
//! them; addresses PREFIX-000000@bench.example…, PREFIX "member" unless given) to the
//! organization ORG_ID, in batches. Used by `scripts/bench.sh`; not part of the server
//! binary.
//!
//! cargo run --release -p server --example seed_members -- DATABASE_URL ORG_ID COUNT [PREFIX]

use app::server::entities::{membership, organization, user};
use chrono::Utc;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, Set, TransactionTrait};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (url, public_id, count, prefix) = match args.as_slice() {
        [url, public_id, count] => (url, public_id, count, "member"),
        [url, public_id, count, prefix] => (url, public_id, count, prefix.as_str()),
        _ => {
            eprintln!("usage: seed_members DATABASE_URL ORG_ID COUNT [PREFIX]");
            std::process::exit(2);
        }
    };
    let count: usize = count.parse()?;
    let db = server::db::connect_and_migrate(url).await?.writer;
    let org = organization::Entity::find()
        .filter(organization::Column::PublicId.eq(public_id.as_str()))
        .one(&db)
        .await?
        .ok_or("no such organization")?;
    let now = Utc::now();
    const BATCH: usize = 500;
    for start in (0..count).step_by(BATCH) {
        let txn = db.begin().await?;
        let end = (start + BATCH).min(count);
        let users = (start..end).map(|i| user::ActiveModel {
            name: Set(format!("Member {i:06}")),
            email: Set(format!("{prefix}-{i:06}@bench.example")),
            email_normalized: Set(format!("{prefix}-{i:06}@bench.example")),
            password_hash: Set(None),
            email_verified_at: Set(Some(now)),
            created_at: Set(now),
            updated_at: Set(now),
            membership_count: Set(1),
            ..Default::default()
        });
        user::Entity::insert_many(users).exec(&txn).await?;
        let members: Vec<(i32, String)> = user::Entity::find()
            .filter(user::Column::EmailNormalized.gte(format!("{prefix}-{start:06}@bench.example")))
            .filter(user::Column::EmailNormalized.lt(format!("{prefix}-{end:06}@bench.example")))
            .all(&txn)
            .await?
            .into_iter()
            .map(|u| {
                (
                    u.id,
                    app::members::rules::member_key(&u.name, &u.email_normalized),
                )
            })
            .collect();
        let memberships = members
            .into_iter()
            .map(|(user_id, key)| membership::ActiveModel {
                organization_id: Set(org.id),
                user_id: Set(user_id),
                member_key: Set(key),
                role: Set(app::members::roles::Role::Member),
                created_at: Set(now),
                selected_at: Set(now - chrono::Duration::days(1)),
                ..Default::default()
            });
        membership::Entity::insert_many(memberships)
            .exec(&txn)
            .await?;
        txn.commit().await?;
    }
    // Their search terms, as the server writes them for members from before the index.
    let indexed = app::members::service::index_unindexed_members(&db).await?;
    println!("added {count} members to {public_id} ({indexed} indexed for search)");
    Ok(())
}
