//! Where the key that seals stored secrets comes from (see `app::server::secrets`):
//! `ORGDESK_SECRET_KEY`, else the key file. On the embedded default (SQLite) the key file
//! sits beside the database and is generated on first start; with PostgreSQL every server
//! process must be given the same key, so none is made up.

use std::{
    io::Write,
    path::{Path, PathBuf},
};

use app::server::secrets::{SecretError, SecretKey, Secrets};

use crate::{config::Config, db::sqlite_file};

#[derive(Debug, thiserror::Error)]
pub enum SecretKeyError {
    #[error("ORGDESK_SECRET_KEY: {0}")]
    Current(SecretError),
    #[error("ORGDESK_PREVIOUS_SECRET_KEYS: {0}")]
    Previous(SecretError),
    #[error("the secret key file {path}: {detail}")]
    File { path: String, detail: String },
    #[error(
        "no secret key: with PostgreSQL set ORGDESK_SECRET_KEY (the same on every server \
         process) or ORGDESK_SECRET_KEY_FILE; `server generate-secret-key` prints a new key"
    )]
    Missing,
}

/// The key file in use: the configured one, or `secret.key` beside a SQLite database file.
pub fn key_file(config: &Config) -> Option<PathBuf> {
    config.secret_key_file.clone().or_else(|| {
        sqlite_file(&config.database_url).map(|db| {
            Path::new(db)
                .parent()
                .unwrap_or(Path::new("."))
                .join("secret.key")
        })
    })
}

/// The server's keys: the current one (from the environment, the key file, or generated
/// into the key file on SQLite) and the previous ones still accepted for opening.
pub fn load(config: &Config) -> Result<Secrets, SecretKeyError> {
    let previous = config
        .previous_secret_keys
        .iter()
        .map(|hex| SecretKey::from_hex(hex))
        .collect::<Result<Vec<_>, _>>()
        .map_err(SecretKeyError::Previous)?;
    let current = match (&config.secret_key, key_file(config)) {
        (Some(hex), _) => SecretKey::from_hex(hex).map_err(SecretKeyError::Current)?,
        (None, Some(path)) => read_or_generate(&path, sqlite_file(&config.database_url).is_some())?,
        (None, None) if config.database_url.starts_with("sqlite:") => {
            // An in-memory database: its secrets live no longer than this key.
            SecretKey::from_hex(&SecretKey::generate_hex()).map_err(SecretKeyError::Current)?
        }
        (None, None) => return Err(SecretKeyError::Missing),
    };
    Ok(Secrets::new(current, previous))
}

fn read_or_generate(path: &Path, may_generate: bool) -> Result<SecretKey, SecretKeyError> {
    let file_error = |detail: String| SecretKeyError::File {
        path: path.display().to_string(),
        detail,
    };
    match std::fs::read_to_string(path) {
        Ok(text) => SecretKey::from_hex(&text).map_err(|err| file_error(err.to_string())),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound && may_generate => {
            let hex = SecretKey::generate_hex();
            if let Some(folder) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
                std::fs::create_dir_all(folder).map_err(|err| file_error(err.to_string()))?;
            }
            let mut options = std::fs::OpenOptions::new();
            // Never overwrite a key another process just wrote: it may have sealed with it.
            options.write(true).create_new(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
            match options.open(path) {
                Ok(mut file) => {
                    file.write_all(format!("{hex}\n").as_bytes())
                        .map_err(|err| file_error(err.to_string()))?;
                    tracing::info!(
                        path = %path.display(),
                        "generated the key that seals stored secrets; back it up with the database"
                    );
                    SecretKey::from_hex(&hex).map_err(|err| file_error(err.to_string()))
                }
                Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists => {
                    read_or_generate(path, false)
                }
                Err(err) => Err(file_error(err.to_string())),
            }
        }
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Err(SecretKeyError::Missing),
        Err(err) => Err(file_error(err.to_string())),
    }
}
