//! Leptos.toml (read by the server) and Cargo.toml (read by cargo-leptos) must agree.

use std::path::Path;

fn workspace_file(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn leptos_toml_and_cargo_toml_share_their_site_keys() {
    let cargo: toml::Value = toml::from_str(&workspace_file("Cargo.toml")).unwrap();
    let leptos: toml::Value = toml::from_str(&workspace_file("Leptos.toml")).unwrap();
    let build = &cargo["workspace"]["metadata"]["leptos"][0];
    let runtime = &leptos["package"]["metadata"]["leptos"];
    assert_eq!(build["name"], runtime["output-name"]);
    for key in [
        "site-root",
        "site-pkg-dir",
        "site-addr",
        "reload-port",
        "hash-files",
    ] {
        assert_eq!(build[key], runtime[key], "{key} differs");
    }
}

#[test]
fn the_defaults_serve_sqlite_on_localhost() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../Leptos.toml");
    let config = server::Config::load_from(&path, |_| None).unwrap();
    assert!(config.database_url.starts_with("sqlite://data/"));
    assert_eq!(config.leptos.site_addr.to_string(), "127.0.0.1:3000");
    assert_eq!(config.smtp_url, None);
}

#[test]
fn environment_variables_override_the_file() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../Leptos.toml");
    let config = server::Config::load_from(&path, |name| match name {
        "DATABASE_URL" => Some("postgres://db.internal/orgdesk".into()),
        "ORGDESK_PUBLIC_URL" => Some("https://orgdesk.example.com/".into()),
        "ORGDESK_TRUST_PROXY" => Some("true".into()),
        "SMTP_URL" => Some("smtp://127.0.0.1:1025".into()),
        _ => None,
    })
    .unwrap();
    assert_eq!(config.database_url, "postgres://db.internal/orgdesk");
    assert_eq!(config.public_url, "https://orgdesk.example.com");
    assert!(config.trust_proxy);
    assert_eq!(config.smtp_url.as_deref(), Some("smtp://127.0.0.1:1025"));

    let bad = server::Config::load_from(&path, |name| {
        (name == "ORGDESK_TRUST_PROXY").then(|| "maybe".to_string())
    });
    assert!(bad
        .unwrap_err()
        .to_string()
        .contains("ORGDESK_TRUST_PROXY must be true or false"));
}

#[test]
fn internal_identity_providers_are_allowed_only_in_development_unless_set() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../Leptos.toml");
    let load = |public_url: &'static str, setting: Option<&'static str>| {
        server::Config::load_from(&path, move |name| match name {
            "ORGDESK_PUBLIC_URL" => Some(public_url.into()),
            "ORGDESK_PRIVATE_IDENTITY_PROVIDERS" => setting.map(String::from),
            _ => None,
        })
        .unwrap()
        .private_identity_providers
    };
    assert!(
        load("http://127.0.0.1:3000", None),
        "plain http on loopback"
    );
    assert!(load("http://localhost:3000", None));
    assert!(!load("https://orgdesk.example.com", None), "production");
    assert!(
        !load("http://orgdesk.internal:3000", None),
        "plain http elsewhere"
    );
    assert!(!load("http://127.0.0.1:3000", Some("false")));
    assert!(load("https://orgdesk.example.com", Some("true")));

    // A public URL nobody chose (derived from the site address) never turns them on: a
    // deployment that forgot ORGDESK_PUBLIC_URL must not reach internal addresses.
    let folder = tempfile::tempdir().unwrap();
    let unset = folder.path().join("Leptos.toml");
    let without_url: String = std::fs::read_to_string(&path)
        .unwrap()
        .lines()
        .filter(|line| !line.trim_start().starts_with("public-url"))
        .map(|line| format!("{line}\n"))
        .collect();
    std::fs::write(&unset, without_url).unwrap();
    let derived = server::Config::load_from(&unset, |_| None).unwrap();
    assert!(derived.public_url.starts_with("http://127.0.0.1"));
    assert!(!derived.private_identity_providers);
}

#[test]
fn the_embedded_default_generates_its_secret_key_once_and_postgres_needs_one_given() {
    let folder = tempfile::tempdir().unwrap();
    let database = folder.path().join("data").join("orgdesk.db");
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../Leptos.toml");
    let sqlite_url = format!("sqlite://{}?mode=rwc", database.display());
    let config = server::Config::load_from(&path, |name| {
        (name == "DATABASE_URL").then(|| sqlite_url.clone())
    })
    .unwrap();
    let first = server::secret_key::load(&config).unwrap();
    let key_file = folder.path().join("data").join("secret.key");
    assert!(key_file.exists(), "generated beside the database");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&key_file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "readable by the server's user only");
    }
    let again = server::secret_key::load(&config).unwrap();
    assert_eq!(
        first.current_key_id(),
        again.current_key_id(),
        "the same key"
    );

    let postgres = server::Config::load_from(&path, |name| {
        (name == "DATABASE_URL").then(|| "postgres://db.internal/orgdesk".to_string())
    })
    .unwrap();
    let missing = server::secret_key::load(&postgres)
        .err()
        .unwrap()
        .to_string();
    assert!(missing.contains("set ORGDESK_SECRET_KEY"), "{missing}");

    let bad = server::Config::load_from(&path, |name| match name {
        "DATABASE_URL" => Some("postgres://db.internal/orgdesk".to_string()),
        "ORGDESK_SECRET_KEY" => Some("not-hex".to_string()),
        _ => None,
    })
    .unwrap();
    let refused = server::secret_key::load(&bad).err().unwrap().to_string();
    assert!(refused.contains("64 hexadecimal characters"), "{refused}");
}
