//! Domain proofs as an attacker would try to pass them: a challenge name pointed (CNAME) at
//! a host the attacker publishes on, a wildcard that answers for every name, a public suffix
//! claimed whole; and addresses whose domain is written in Unicode or in punycode, which
//! must be one domain everywhere.

use crate::common::{dns::dns_server, spawn_app, Call, TestApp};
use app::{
    accounts::rules::normalize_email,
    domains::rules::{challenge_name, challenge_value, DomainStatus},
    server::entities::user,
};
use axum::http::StatusCode;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

fn label() -> String {
    format!("{:08x}", rand::random::<u32>())
}

async fn owner_with_organization(app: &TestApp) -> (String, String) {
    let owner = app
        .sign_up("Olivia Owner", &format!("olivia-{}@example.com", label()))
        .await;
    let org = app.create_organization(&owner, "Acme").await;
    (owner, org)
}

#[tokio::test]
async fn a_challenge_reached_through_a_cname_or_a_wildcard_proves_nothing() {
    let app = spawn_app().await;
    let (owner, org) = owner_with_organization(&app).await;
    let dns = dns_server();

    // The challenge name is an alias for a host the attacker publishes on.
    let aliased = format!("aliased-{}.test", label());
    let added = app.add_domain(&owner, &org, &aliased).await;
    assert_eq!(added.status, StatusCode::OK, "{}", added.body);
    let row = app.domain_row(&org, &aliased).await;
    let host = format!("pages-{}.host.test", label());
    dns.alias(&challenge_name(&aliased), &host).await;
    dns.publish(&host, &challenge_value(&row.challenge)).await;
    let refused = app.press_verify(&owner, &org, &aliased).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.body);
    assert!(refused.body.contains("alias (CNAME)"), "{}", refused.body);
    assert_ne!(
        app.domain_row(&org, &aliased).await.status,
        DomainStatus::Verified
    );

    // A wildcard answers with the value at every name under the domain.
    let wild = format!("wild-{}.test", label());
    app.add_domain(&owner, &org, &wild).await;
    let row = app.domain_row(&org, &wild).await;
    dns.publish(&format!("*.{wild}"), &challenge_value(&row.challenge))
        .await;
    let refused = app.press_verify(&owner, &org, &wild).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.body);
    assert!(refused.body.contains("wildcard"), "{}", refused.body);
    assert_ne!(
        app.domain_row(&org, &wild).await.status,
        DomainStatus::Verified
    );

    // The record at the name itself, with the wildcard gone, proves it.
    dns.unpublish(&format!("*.{wild}")).await;
    app.publish_challenge(&org, &wild).await;
    let verified = app.press_verify(&owner, &org, &wild).await;
    assert_eq!(verified.status, StatusCode::OK, "{}", verified.body);
}

#[tokio::test]
async fn a_public_suffix_cannot_be_claimed() {
    let app = spawn_app().await;
    let (owner, org) = owner_with_organization(&app).await;
    for suffix in ["co.uk", "github.io", "COM.AU."] {
        let reply = app.add_domain(&owner, &org, suffix).await;
        assert_eq!(
            reply.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{suffix}: {}",
            reply.body
        );
        assert!(
            reply.field_error("domain").contains("public suffix"),
            "{suffix}: {}",
            reply.body
        );
    }
    let own = app.add_domain(&owner, &org, "acme-example.co.uk").await;
    assert_eq!(own.status, StatusCode::OK, "{}", own.body);
}

#[tokio::test]
async fn a_unicode_domain_and_its_punycode_are_one_domain_everywhere() {
    let app = spawn_app().await;
    let unicode = format!("bücher-{}.test", label());
    let ascii = app::accounts::rules::ascii_domain(&unicode).unwrap();
    assert!(ascii.starts_with("xn--"), "{ascii}");
    assert_eq!(
        normalize_email(&format!("Ada@{}", unicode.to_uppercase())),
        format!("ada@{ascii}")
    );

    // One account per address, whichever way its domain is written.
    app.sign_up("Ada", &format!("ada@{unicode}")).await;
    let again = app
        .send(Call::post(
            "/api/accounts/sign_up",
            &[
                ("name", "Ada Again"),
                ("email", &format!("ada@{ascii}")),
                ("password", crate::common::PASSWORD),
            ],
        ))
        .await;
    assert_eq!(
        again.location(),
        Some("/verify-email?result=sent"),
        "{}",
        again.body
    );
    assert_eq!(user::Entity::find().all(&app.db).await.unwrap().len(), 1);
    let stored = user::Entity::find()
        .filter(user::Column::EmailNormalized.eq(format!("ada@{ascii}")))
        .one(&app.db)
        .await
        .unwrap();
    assert!(stored.is_some(), "stored in its ASCII form");

    // A domain claimed in Unicode is stored, proven and routed as its ASCII form: a user
    // typing either form is sent to the organization's provider.
    let (_, org) = app.sso_organization(&unicode).await;
    assert_eq!(
        app.domain_row(&org, &ascii).await.status,
        DomainStatus::Verified
    );
    for typed in [
        format!("bob@{unicode}"),
        format!("bob@{}", ascii.to_uppercase()),
    ] {
        let started = app.sso_start(&typed).await;
        assert_eq!(
            started.location(),
            Some("/sso/continue"),
            "{typed}: {}",
            started.body
        );
    }
}

#[test]
fn the_migrations_ascii_form_is_the_apps() {
    for address in [
        "ada@bücher.example",
        "x@xn--bcher-kva.example",
        "δ@παράδειγμα.δοκιμή",
        "plain@example.com",
    ] {
        assert_eq!(
            migration::ascii_domain_form(address),
            normalize_email(address),
            "{address}"
        );
    }
}
