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
    for key in ["site-root", "site-pkg-dir", "site-addr", "reload-port"] {
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
}
