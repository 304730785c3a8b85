//! Benchmark data: signs in COUNT of the members `seed_members` made (one session each, as
//! a password sign-in would leave it) and writes their session tokens to TOKENS_FILE, one
//! per line, for wrk to spread requests over. Used by `scripts/bench.sh`; not part of the
//! server binary.
//!
//! cargo run --release -p server --example seed_sessions -- DATABASE_URL COUNT TOKENS_FILE

use app::server::{
    entities::{session, user},
    tokens::{hash_token, new_token},
};
use chrono::Utc;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [url, count, tokens_file] = args.as_slice() else {
        eprintln!("usage: seed_sessions DATABASE_URL COUNT TOKENS_FILE");
        std::process::exit(2);
    };
    let count: u64 = count.parse()?;
    let db = server::db::connect_and_migrate(url).await?.writer;
    let members: Vec<i32> = user::Entity::find()
        .select_only()
        .column(user::Column::Id)
        .filter(user::Column::EmailNormalized.like("member-%@bench.example"))
        .order_by_asc(user::Column::Id)
        .limit(count)
        .into_tuple()
        .all(&db)
        .await?;
    if (members.len() as u64) < count {
        return Err(format!(
            "only {} members to sign in; run seed_members first",
            members.len()
        )
        .into());
    }
    let now = Utc::now();
    let mut tokens = String::new();
    for batch in members.chunks(500) {
        let sessions = batch.iter().map(|&user_id| {
            let token = new_token();
            let row = session::ActiveModel {
                token_hash: Set(hash_token(&token)),
                user_id: Set(user_id),
                created_at: Set(now),
                last_seen_at: Set(now),
                sign_in_method: Set(session::SignInMethod::Password),
                user_agent: Set(Some("seed_sessions".into())),
                client_address: Set(Some("127.0.0.1".into())),
                ..Default::default()
            };
            tokens.push_str(&token);
            tokens.push('\n');
            row
        });
        session::Entity::insert_many(sessions).exec(&db).await?;
    }
    std::fs::write(tokens_file, tokens)?;
    println!("signed in {count} members; their tokens are in {tokens_file}");
    Ok(())
}
