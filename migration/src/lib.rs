//! Orgdesk's schema. One set of migrations serves SQLite and PostgreSQL; the server runs
//! them at start (`Migrator::up`), so a new install and an upgrade are the same step.

pub use sea_orm_migration::prelude::*;

mod m20261123_000001_accounts;
mod m20261124_000002_organizations;
mod m20261125_000003_owner_count;
mod m20261126_000004_invitations;
mod m20261127_000005_member_key;
mod m20261128_000006_sso;
mod m20261129_000007_trust;
mod m20261130_000008_email_case;
mod m20261130_000009_mail_recipients;
mod m20261130_000010_sealed_secrets;
mod m20261201_000011_member_count;
mod m20261201_000012_member_search;
mod m20261202_000013_member_page_index;
mod m20261203_000014_two_factor;
mod m20261204_000015_identity;
mod m20261204_000016_devices_and_actors;
mod m20261204_000017_ascii_domains;
mod m20261205_000018_saml;
mod m20261205_000019_api_keys;
mod m20261206_000020_webhooks;
mod m20261207_000021_directory_sync;

pub use m20261127_000005_member_key::member_key;
pub use m20261204_000017_ascii_domains::ascii_domain_form;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261123_000001_accounts::Migration),
            Box::new(m20261124_000002_organizations::Migration),
            Box::new(m20261125_000003_owner_count::Migration),
            Box::new(m20261126_000004_invitations::Migration),
            Box::new(m20261127_000005_member_key::Migration),
            Box::new(m20261128_000006_sso::Migration),
            Box::new(m20261129_000007_trust::Migration),
            Box::new(m20261130_000008_email_case::Migration),
            Box::new(m20261130_000009_mail_recipients::Migration),
            Box::new(m20261130_000010_sealed_secrets::Migration),
            Box::new(m20261201_000011_member_count::Migration),
            Box::new(m20261201_000012_member_search::Migration),
            Box::new(m20261202_000013_member_page_index::Migration),
            Box::new(m20261203_000014_two_factor::Migration),
            Box::new(m20261204_000015_identity::Migration),
            Box::new(m20261204_000016_devices_and_actors::Migration),
            Box::new(m20261204_000017_ascii_domains::Migration),
            Box::new(m20261205_000018_saml::Migration),
            Box::new(m20261205_000019_api_keys::Migration),
            Box::new(m20261206_000020_webhooks::Migration),
            Box::new(m20261207_000021_directory_sync::Migration),
        ]
    }
}
