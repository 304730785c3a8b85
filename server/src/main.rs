//! The `server` command: `server` (or `server serve`) runs Orgdesk; `server migrate` only
//! brings the database schema up to date; the others are for platform staff.

use std::process::ExitCode;

/// mimalloc: a page's render allocates thousands of small blocks on one thread that the
/// database's threads and other workers free, and glibc's malloc spent a third of the
/// signed-in page's time in its arenas and their locks (User Settings 1,880 → 3,300 req/s,
/// interleaved runs of one build with each). Each password hash's 19 MiB still goes back to
/// the system (the abuse storm peaks at 186 MiB, under its 200 MiB goal). It keeps freed
/// pages longer: see the README's memory figures and its `MIMALLOC_*` settings.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use server::Config;
use tracing_subscriber::EnvFilter;

const USAGE: &str = "usage:
  server [serve]                 run Orgdesk
  server migrate                 bring the database schema up to date
  server list-orgs               list organizations with their IDs and stages
  server stage ORG_ID STAGE      move an organization to free, preproduction or production
  server add-member ORG_ID EMAIL ROLE
                                 add an existing account as owner, admin or member
  server verify-domain ORG_ID DOMAIN
                                 mark a domain verified (ownership checked another way)
  server reset-factors EMAIL     remove every second factor of an account and sign it out
                                 (after checking who asks some other way)
  server openapi                 print the public API's OpenAPI 3.1 document
  server generate-secret-key     print a new key for ORGDESK_SECRET_KEY
  server reseal-secrets          seal every stored secret with the current key (after a
                                 rotation; the old key in ORGDESK_PREVIOUS_SECRET_KEYS)";

type BoxError = Box<dyn std::error::Error>;

/// Runs a staff command on the configured database and prints what it says.
async fn staff<F, Fut>(config: &Config, command: F) -> Result<(), BoxError>
where
    F: FnOnce(sea_orm::DatabaseConnection) -> Fut,
    Fut: std::future::Future<Output = Result<String, BoxError>>,
{
    let db = server::db::connect_and_migrate(&config.database_url)
        .await?
        .writer;
    print!("{}", command(db).await?);
    Ok(())
}

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
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let result = match args.as_slice() {
        [] | ["serve"] => server::serve(config).await,
        ["openapi"] => {
            println!("{}", app::public_api::openapi_json());
            Ok(())
        }
        ["migrate"] => server::db::connect_and_migrate(&config.database_url)
            .await
            .map(|_| println!("The database schema is up to date."))
            .map_err(Into::into),
        ["list-orgs"] => {
            staff(&config, |db| async move {
                server::staff::list_organizations(&db)
                    .await
                    .map_err(Into::into)
            })
            .await
        }
        ["stage", public_id, stage] => {
            staff(&config, |db| async move {
                server::staff::set_stage(&db, public_id, stage)
                    .await
                    .map_err(Into::into)
            })
            .await
        }
        ["add-member", public_id, email, role] => {
            staff(&config, |db| async move {
                server::staff::add_member(&db, public_id, email, role)
                    .await
                    .map_err(Into::into)
            })
            .await
        }
        ["verify-domain", public_id, domain] => {
            staff(&config, |db| async move {
                server::staff::verify_domain(&db, public_id, domain)
                    .await
                    .map_err(Into::into)
            })
            .await
        }
        ["reset-factors", email] => {
            let settings = config.app_settings();
            staff(&config, |db| async move {
                server::staff::reset_factors(&db, &settings, email)
                    .await
                    .map_err(Into::into)
            })
            .await
        }
        ["generate-secret-key"] => {
            println!("{}", app::server::secrets::SecretKey::generate_hex());
            Ok(())
        }
        ["reseal-secrets"] => match server::secret_key::load(&config) {
            Ok(secrets) => {
                staff(&config, |db| async move {
                    let resealed = app::server::sealed::reseal_all(&db, &secrets).await?;
                    Ok(format!(
                        "{resealed} secret(s) sealed again with key {}.\n",
                        secrets.current_key_id()
                    ))
                })
                .await
            }
            Err(err) => Err(err.into()),
        },
        _ => {
            eprintln!("{USAGE}");
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
