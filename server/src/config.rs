//! Runtime configuration: `Leptos.toml` (the Leptos options and an `[orgdesk]` table),
//! each value overridable by an environment variable. The README lists every setting.

use std::{
    net::SocketAddr,
    path::{Path, PathBuf},
};

use leptos::config::LeptosOptions;
use serde::Deserialize;

/// Everything the server needs to start.
#[derive(Debug, Clone)]
pub struct Config {
    pub leptos: LeptosOptions,
    /// `DATABASE_URL`: `sqlite://path?mode=rwc` (the default) or `postgres://...`.
    pub database_url: String,
    /// `ORGDESK_PUBLIC_URL`: where users reach Orgdesk.
    pub public_url: String,
    /// `ORGDESK_TRUST_PROXY`: take the client address from X-Forwarded-For.
    pub trust_proxy: bool,
    /// `SMTP_URL`: where mail is sent; `None` writes it to `mail_dir` instead.
    pub smtp_url: Option<String>,
    /// `MAIL_FROM`: the sender of Orgdesk's emails.
    pub mail_from: String,
    /// `ORGDESK_MAIL_DIR`: the folder for unsent mail when there is no SMTP server.
    pub mail_dir: PathBuf,
    /// `ORGDESK_DNS_RESOLVER`: the one name server (`ip:port`) domain verification asks;
    /// `None` uses the system's resolvers.
    pub dns_resolver: Option<SocketAddr>,
    /// `ORGDESK_ALLOWED_HOSTS`: Host headers answered besides the public URL's (comma-
    /// separated `host[:port]`); any other is refused, so a DNS-rebinding page cannot
    /// drive a server on someone's loopback.
    pub allowed_hosts: Vec<String>,
    /// `ORGDESK_SIGNUPS_PER_ADDRESS`: new accounts one client address may create in 15
    /// minutes.
    pub signups_per_address: u64,
    /// `ORGDESK_API_KEY_REQUESTS_PER_MINUTE` (default 600): API requests one key may make
    /// in a minute.
    pub api_key_requests_per_minute: i32,
    /// `ORGDESK_API_ORGANIZATION_REQUESTS_PER_MINUTE` (default 1200): API requests all of
    /// one organization's keys together may make in a minute.
    pub api_organization_requests_per_minute: i32,
    /// `ORGDESK_IPV6_THROTTLE_PREFIX`: throttles count IPv6 clients by this many leading
    /// bits of their address (a subscriber usually holds a whole /64 and could take a fresh
    /// address per guess); 32 to 128, default 64.
    pub ipv6_throttle_prefix: u8,
    /// `ORGDESK_PRIVATE_IDENTITY_PROVIDERS`: identity providers may be on loopback and
    /// private addresses and use plain http. Unset: only when the public URL is plain http
    /// on loopback (development); otherwise no, so a provider setting cannot make the
    /// server fetch internal addresses.
    pub private_identity_providers: bool,
    /// `ORGDESK_PRIVATE_WEBHOOK_DESTINATIONS`: webhook endpoints may be on loopback and
    /// private addresses and use plain http. Unset: as for identity providers (only a
    /// plain-http loopback public URL, i.e. development, turns it on).
    pub private_webhook_destinations: bool,
    /// `ORGDESK_SECRET_KEY` (environment only): 64 hex digits, the key that seals stored
    /// secrets. Overrides the key file.
    pub secret_key: Option<String>,
    /// `ORGDESK_SECRET_KEY_FILE`: where the key is kept. Default: `secret.key` beside the
    /// SQLite database file (generated on first start); none with PostgreSQL.
    pub secret_key_file: Option<PathBuf>,
    /// `ORGDESK_PREVIOUS_SECRET_KEYS` (environment only, comma-separated): keys from before a
    /// rotation, still accepted to open what they sealed.
    pub previous_secret_keys: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("{path} is not valid TOML: {source}")]
    Parse {
        path: String,
        source: toml::de::Error,
    },
    #[error("the Leptos options are invalid: {0}")]
    Leptos(String),
    #[error("{name} must be true or false, not {value:?}")]
    NotABool { name: &'static str, value: String },
    #[error("ORGDESK_PUBLIC_URL must start with http:// or https://, not {0:?}")]
    PublicUrl(String),
    #[error("ORGDESK_DNS_RESOLVER must be an address and port like 127.0.0.1:53, not {0:?}")]
    DnsResolver(String),
    #[error("{name} must be a whole number, not {value:?}")]
    NotANumber { name: &'static str, value: String },
    #[error("ORGDESK_IPV6_THROTTLE_PREFIX must be a prefix length from 32 to 128, not {0}")]
    Ipv6Prefix(String),
}

/// A requests-per-minute limit: the environment's, the file's, or the default; at least 1.
fn per_minute(
    from_env: Option<String>,
    name: &'static str,
    from_file: Option<i32>,
    default: i32,
) -> Result<i32, ConfigError> {
    let value = match from_env {
        Some(value) => value
            .trim()
            .parse::<i32>()
            .map_err(|_| ConfigError::NotANumber {
                name,
                value: value.clone(),
            })?,
        None => from_file.unwrap_or(default),
    };
    if value < 1 {
        return Err(ConfigError::NotANumber {
            name,
            value: value.to_string(),
        });
    }
    Ok(value)
}

/// The `[orgdesk]` table of Leptos.toml.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
struct OrgdeskTable {
    database_url: Option<String>,
    public_url: Option<String>,
    trust_proxy: Option<bool>,
    smtp_url: Option<String>,
    mail_from: Option<String>,
    mail_dir: Option<PathBuf>,
    dns_resolver: Option<String>,
    allowed_hosts: Option<String>,
    signups_per_address: Option<u64>,
    api_key_requests_per_minute: Option<i32>,
    api_organization_requests_per_minute: Option<i32>,
    ipv6_throttle_prefix: Option<u8>,
    private_identity_providers: Option<bool>,
    private_webhook_destinations: Option<bool>,
    secret_key_file: Option<PathBuf>,
}

#[derive(Debug, Default, Deserialize)]
struct ConfigFile {
    #[serde(default)]
    orgdesk: OrgdeskTable,
}

impl Config {
    /// The settings the app crate's server functions read.
    pub fn app_settings(&self) -> app::server::Settings {
        app::server::Settings {
            public_url: self.public_url.clone(),
            signups_per_address: self.signups_per_address,
            api_rate_limits: app::server::ApiRateLimits {
                per_key: self.api_key_requests_per_minute,
                per_organization: self.api_organization_requests_per_minute,
            },
            private_identity_providers: self.private_identity_providers,
            private_webhook_destinations: self.private_webhook_destinations,
        }
    }

    /// Loads `ORGDESK_CONFIG` (default `Leptos.toml`); a missing file means all defaults.
    pub fn load() -> Result<Self, ConfigError> {
        let path = std::env::var("ORGDESK_CONFIG").unwrap_or_else(|_| "Leptos.toml".into());
        Self::load_from(Path::new(&path), |name| std::env::var(name).ok())
    }

    /// Loads `path`, taking overrides from `env` (a parameter so tests need not touch the
    /// process environment).
    pub fn load_from(
        path: &Path,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, ConfigError> {
        let display = path.display().to_string();
        let (leptos, file) = if path.exists() {
            let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
                path: display.clone(),
                source,
            })?;
            let file: ConfigFile = toml::from_str(&text).map_err(|source| ConfigError::Parse {
                path: display.clone(),
                source,
            })?;
            let leptos = leptos::config::get_configuration(Some(&display))
                .map_err(|e| ConfigError::Leptos(e.to_string()))?
                .leptos_options;
            (leptos, file.orgdesk)
        } else {
            let leptos = leptos::config::get_configuration(None)
                .map_err(|e| ConfigError::Leptos(e.to_string()))?
                .leptos_options;
            (leptos, OrgdeskTable::default())
        };
        let leptos = without_missing_hashes(leptos);

        let pick = |name: &str, from_file: Option<String>, default: &str| {
            env(name)
                .or(from_file)
                .unwrap_or_else(|| default.to_string())
        };
        // Whether someone chose the public URL (not derived from the site address): only a
        // chosen loopback URL turns private identity providers on by itself.
        let public_url_chosen = env("ORGDESK_PUBLIC_URL").is_some() || file.public_url.is_some();
        let public_url = pick(
            "ORGDESK_PUBLIC_URL",
            file.public_url,
            &format!("http://{}", leptos.site_addr),
        )
        .trim_end_matches('/')
        .to_string();
        if !(public_url.starts_with("http://") || public_url.starts_with("https://")) {
            return Err(ConfigError::PublicUrl(public_url));
        }
        let trust_proxy = match env("ORGDESK_TRUST_PROXY") {
            Some(value) => parse_bool("ORGDESK_TRUST_PROXY", &value)?,
            None => file.trust_proxy.unwrap_or(false),
        };
        let private_identity_providers = match env("ORGDESK_PRIVATE_IDENTITY_PROVIDERS") {
            Some(value) => parse_bool("ORGDESK_PRIVATE_IDENTITY_PROVIDERS", &value)?,
            None => file
                .private_identity_providers
                .unwrap_or_else(|| public_url_chosen && is_loopback_http(&public_url)),
        };
        let private_webhook_destinations = match env("ORGDESK_PRIVATE_WEBHOOK_DESTINATIONS") {
            Some(value) => parse_bool("ORGDESK_PRIVATE_WEBHOOK_DESTINATIONS", &value)?,
            None => file
                .private_webhook_destinations
                .unwrap_or_else(|| public_url_chosen && is_loopback_http(&public_url)),
        };
        let smtp_url =
            Some(pick("SMTP_URL", file.smtp_url, "")).filter(|url| !url.trim().is_empty());
        let dns_resolver = match pick("ORGDESK_DNS_RESOLVER", file.dns_resolver, "").trim() {
            "" => None,
            address => Some(
                address
                    .parse::<SocketAddr>()
                    .map_err(|_| ConfigError::DnsResolver(address.to_string()))?,
            ),
        };
        Ok(Config {
            database_url: pick(
                "DATABASE_URL",
                file.database_url,
                "sqlite://data/orgdesk.db?mode=rwc",
            ),
            public_url,
            trust_proxy,
            smtp_url,
            mail_from: pick(
                "MAIL_FROM",
                file.mail_from,
                "Orgdesk <no-reply@orgdesk.localhost>",
            ),
            mail_dir: env("ORGDESK_MAIL_DIR")
                .map(PathBuf::from)
                .or(file.mail_dir)
                .unwrap_or_else(|| PathBuf::from("data/mail")),
            dns_resolver,
            private_identity_providers,
            private_webhook_destinations,
            secret_key: env("ORGDESK_SECRET_KEY").filter(|key| !key.trim().is_empty()),
            secret_key_file: env("ORGDESK_SECRET_KEY_FILE")
                .map(PathBuf::from)
                .or(file.secret_key_file),
            previous_secret_keys: env("ORGDESK_PREVIOUS_SECRET_KEYS")
                .unwrap_or_default()
                .split(',')
                .map(|key| key.trim().to_string())
                .filter(|key| !key.is_empty())
                .collect(),
            signups_per_address: match env("ORGDESK_SIGNUPS_PER_ADDRESS") {
                Some(value) => value.trim().parse().map_err(|_| ConfigError::NotANumber {
                    name: "ORGDESK_SIGNUPS_PER_ADDRESS",
                    value,
                })?,
                None => file.signups_per_address.unwrap_or(10),
            },
            api_key_requests_per_minute: per_minute(
                env("ORGDESK_API_KEY_REQUESTS_PER_MINUTE"),
                "ORGDESK_API_KEY_REQUESTS_PER_MINUTE",
                file.api_key_requests_per_minute,
                600,
            )?,
            api_organization_requests_per_minute: per_minute(
                env("ORGDESK_API_ORGANIZATION_REQUESTS_PER_MINUTE"),
                "ORGDESK_API_ORGANIZATION_REQUESTS_PER_MINUTE",
                file.api_organization_requests_per_minute,
                1200,
            )?,
            ipv6_throttle_prefix: {
                let prefix = match env("ORGDESK_IPV6_THROTTLE_PREFIX") {
                    Some(value) => value
                        .trim()
                        .parse::<u8>()
                        .map_err(|_| ConfigError::Ipv6Prefix(value.clone()))?,
                    None => file.ipv6_throttle_prefix.unwrap_or(64),
                };
                if !(32..=128).contains(&prefix) {
                    return Err(ConfigError::Ipv6Prefix(prefix.to_string()));
                }
                prefix
            },
            allowed_hosts: pick("ORGDESK_ALLOWED_HOSTS", file.allowed_hosts, "")
                .split(',')
                .map(|h| h.trim().to_ascii_lowercase())
                .filter(|h| !h.is_empty())
                .collect(),
            leptos,
        })
    }
}

/// Whether users reach Orgdesk over plain http on this machine (development).
fn is_loopback_http(public_url: &str) -> bool {
    url::Url::parse(public_url).is_ok_and(|url| {
        url.scheme() == "http"
            && match url.host() {
                Some(url::Host::Domain(name)) => name == "localhost",
                Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
                Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
                None => false,
            }
    })
}

fn parse_bool(name: &'static str, value: &str) -> Result<bool, ConfigError> {
    match value.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" => Ok(true),
        "false" | "0" | "no" => Ok(false),
        _ => Err(ConfigError::NotABool {
            name,
            value: value.to_string(),
        }),
    }
}

/// Hashed file names need the hashes cargo-leptos wrote beside the server binary. A binary
/// built without cargo-leptos (`cargo build`) has none: it serves the unhashed names
/// instead of failing every page.
fn without_missing_hashes(mut leptos: LeptosOptions) -> LeptosOptions {
    if leptos.hash_files {
        let hashes = std::env::current_exe()
            .ok()
            .and_then(|exe| exe.parent().map(|dir| dir.join(leptos.hash_file.as_ref())));
        if !hashes.as_ref().is_some_and(|path| path.exists()) {
            tracing::warn!(
                "hash-files is on but {} is missing (built without cargo-leptos?): serving unhashed file names",
                leptos.hash_file
            );
            leptos.hash_files = false;
        }
    }
    leptos
}
