//! `server` (or `server serve`): runs Orgdesk. `server migrate`: only brings the database
//! schema up to date.

use std::process::ExitCode;

use server::Config;
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,sea_orm=warn,tower_http=warn")),
        )
        .init();

    let config = match Config::load() {
        Ok(config) => config,
        Err(err) => {
            eprintln!("error: {err}");
            return ExitCode::from(2);
        }
    };
    let command = std::env::args().nth(1);
    let result = match command.as_deref() {
        None | Some("serve") => server::serve(config).await,
        Some("migrate") => server::db::connect_and_migrate(&config.database_url)
            .await
            .map(|_| println!("The database schema is up to date."))
            .map_err(Into::into),
        Some(other) => {
            eprintln!("unknown command {other:?}\n\nusage: server [serve | migrate]");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            tracing::error!("{err}");
            eprintln!("error: {err}");
            ExitCode::FAILURE
        }
    }
}
