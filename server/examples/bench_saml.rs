//! SAML figures for the README: ACS verifications per second on one core (receive and every
//! check of one signed response, over and over: XML parsing, xmlsec's RSA-SHA256 check,
//! samael's reading), and the ACS's latency with 32 posts at once through the real router
//! (each a fresh sign-in: the stored request used up, the replay cache written) on SQLite.
//! In-process (no sockets): what the server spends, not the network. Not part of the server
//! binary; `scripts/bench.sh` runs it.
//!
//! cargo run --release -p server --example bench_saml

#[path = "../tests/integration/common/saml_idp.rs"]
#[expect(
    dead_code,
    reason = "the test provider's forging helpers are for the tests"
)]
mod saml_idp;

use std::{
    path::Path,
    sync::Arc,
    time::{Duration, Instant},
};

use app::{
    server::{
        entities::{organization, saml_provider, sso_connection, sso_login},
        tokens::hash_token,
    },
    sso::saml::{
        metadata::parse_metadata,
        response::{receive, verify, Expected},
    },
};
use axum::{body::Body, http::Request};
use sea_orm::{ActiveModelTrait, Set};
use tower::ServiceExt;

/// Posts for the latency figure, and how many at once.
const POSTS: usize = 3_000;
const AT_ONCE: usize = 32;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let folder = tempfile::tempdir()?;
    let mut config = server::Config::load_from(Path::new("/nonexistent/Leptos.toml"), |_| None)?;
    config.database_url = format!(
        "sqlite://{}?mode=rwc",
        folder.path().join("bench.db").display()
    );
    config.public_url = "http://localhost".into();
    config.secret_key = Some(app::server::secrets::SecretKey::generate_hex());
    config.allowed_hosts.push("localhost".into());
    let state = server::state(config).await?;
    let db = state.app.db.clone();
    let now = chrono::Utc::now();

    let idp = saml_idp::SamlIdp::new("https://idp.bench/saml");
    let metadata = parse_metadata(&idp.metadata(), false)?;
    let public_id = "org_00000000000000000000000000bench".to_string();
    let org = organization::ActiveModel {
        public_id: Set(public_id.clone()),
        name: Set("Bench".into()),
        stage: Set(organization::Stage::Free),
        // The checks want an owner; no sign-in here reads the count.
        owner_count: Set(1),
        member_count: Set(1),
        passkeys_for_admins: Set(false),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(&db)
    .await?;
    sso_connection::ActiveModel {
        organization_id: Set(org.id),
        provider_name: Set("Bench".into()),
        protocol: Set(sso_connection::Protocol::Saml),
        issuer_url: Set(String::new()),
        client_id: Set(String::new()),
        client_secret: Set(String::new()),
        trust_emails: Set(false),
        enabled: Set(true),
        tested_at: Set(Some(now)),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(&db)
    .await?;
    saml_provider::ActiveModel {
        organization_id: Set(org.id),
        entity_id: Set(metadata.entity_id.clone()),
        sso_url: Set(metadata.sso_url.clone()),
        metadata_xml: Set(idp.metadata()),
        signing_certificates: Set(serde_json::to_string(&metadata.certificates)?),
        certificates_expire_at: Set(metadata.expires_at()),
        sign_requests: Set(false),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(&db)
    .await?;

    // One core: the same response received and checked, again and again.
    let sp_entity_id = app::sso::saml::entity_id(&state.app.settings, &public_id);
    let acs_url = app::sso::saml::acs_url(&state.app.settings, &public_id);
    let encoded = idp.respond(&idp.shape(&public_id, "id-bench", "bench@corp.bench"));
    let started = Instant::now();
    let mut verified = 0u32;
    while started.elapsed() < Duration::from_secs(5) {
        let received = receive(&encoded).map_err(|m| m.failure.sentence())?;
        verify(
            &received,
            &Expected {
                sp_entity_id: &sp_entity_id,
                acs_url: &acs_url,
                provider_entity_id: &metadata.entity_id,
                certificates: &metadata.certificates,
                request_id: "id-bench",
                sp_keys: &[],
                now: chrono::Utc::now(),
            },
        )
        .map_err(|f| f.sentence())?;
        verified += 1;
    }
    let per_second = f64::from(verified) / started.elapsed().as_secs_f64();
    println!("SAML ACS verifications per second, one core: {per_second:.0}");

    // The ACS through the router: each post answers a sign-in of its own.
    let mut posts = Vec::with_capacity(POSTS);
    for i in 0..POSTS {
        let request_id = format!("id{i:032}");
        sso_login::ActiveModel {
            state_hash: Set(hash_token(&request_id)),
            browser_hash: Set(hash_token(&format!("browser-{i}"))),
            organization_id: Set(org.id),
            purpose: Set(sso_login::Purpose::Login),
            nonce: Set(String::new()),
            pkce_verifier: Set(String::new()),
            created_at: Set(now),
            expires_at: Set(now + chrono::Duration::minutes(30)),
            ..Default::default()
        }
        .insert(&db)
        .await?;
        let response =
            idp.respond(&idp.shape(&public_id, &request_id, &format!("user{i}@corp.bench")));
        posts.push(
            form_urlencoded::Serializer::new(String::new())
                .append_pair("SAMLResponse", &response)
                .finish(),
        );
    }
    let router = server::router(state.clone());
    let queue = Arc::new(tokio::sync::Mutex::new(posts));
    let path = format!("/sso/saml/{public_id}/acs");
    let started = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..AT_ONCE {
        let (router, queue, path) = (router.clone(), queue.clone(), path.clone());
        workers.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            loop {
                let Some(body) = queue.lock().await.pop() else {
                    return Ok::<_, String>(latencies);
                };
                let request = Request::post(&path)
                    .header("host", "localhost")
                    .header("content-type", "application/x-www-form-urlencoded")
                    .body(Body::from(body))
                    .map_err(|e| e.to_string())?;
                let sent = Instant::now();
                let response = router
                    .clone()
                    .oneshot(request)
                    .await
                    .map_err(|e| e.to_string())?;
                latencies.push(sent.elapsed());
                let location = response
                    .headers()
                    .get("location")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default()
                    .to_string();
                if location != app::sso::saml::FINISH_PATH {
                    return Err(format!("the ACS refused a valid response: {location}"));
                }
            }
        }));
    }
    let mut latencies = Vec::new();
    for worker in workers {
        latencies.extend(worker.await??);
    }
    let elapsed = started.elapsed();
    latencies.sort();
    let percentile =
        |p: f64| latencies[((latencies.len() as f64 * p) as usize).min(latencies.len() - 1)];
    println!(
        "SAML ACS, {AT_ONCE} at once, {POSTS} sign-ins: {:.0}/s on {} cores, p50 {:.1} ms, p99 {:.1} ms",
        POSTS as f64 / elapsed.as_secs_f64(),
        std::thread::available_parallelism().map_or(1, |n| n.get()),
        percentile(0.50).as_secs_f64() * 1000.0,
        percentile(0.99).as_secs_f64() * 1000.0,
    );
    Ok(())
}
