//! A provider's discovery document and signing keys, fetched through [`ProviderHttp`] and
//! kept for a few minutes per connection: anonymous people start logins, and each start
//! must not make Orgdesk fetch from the provider again.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use openidconnect::{core::CoreProviderMetadata, IssuerUrl};

use super::provider_http::{error_chain, ProviderHttp};
use crate::server::entities::sso_connection;

/// How long a discovery document and its keys are used before they are fetched again.
const KEEP_FOR: Duration = Duration::from_secs(5 * 60);

/// How long a failed discovery is remembered: anonymous visitors can start sign-ins at an
/// organization whose provider is down, and each must not make Orgdesk wait on it again.
const REMEMBER_FAILURE_FOR: Duration = Duration::from_secs(30);

/// A discovery that failed, for which issuer, and when.
struct Failed {
    issuer_url: String,
    at: Instant,
    error: String,
}

/// What one connection's provider published, and when it was fetched.
struct Discovered {
    issuer_url: String,
    fetched: Instant,
    metadata: CoreProviderMetadata,
}

/// The identity providers' HTTP client and what they published, shared by a server's
/// requests (in `AppState`).
#[derive(Clone)]
pub struct IdentityProviders {
    pub http: ProviderHttp,
    /// By connection ID. Only connections someone signs in through are here, so the map
    /// stays as small as the number of SSO organizations.
    discovered: Arc<Mutex<HashMap<i32, Discovered>>>,
    /// By connection ID, the discoveries that failed in the last seconds.
    failed: Arc<Mutex<HashMap<i32, Failed>>>,
}

/// Why a provider's metadata is not usable.
#[derive(Debug, thiserror::Error)]
pub enum DiscoveryError {
    #[error("the issuer URL is invalid: {0}")]
    Issuer(String),
    #[error("discovery failed: {0}")]
    Fetch(String),
    #[error("the authorization endpoint {0} is not https")]
    InsecureEndpoint(String),
    #[error("discovery failed moments ago (not tried again yet): {0}")]
    FailedLately(String),
}

impl IdentityProviders {
    pub fn new(allow_private: bool) -> Self {
        IdentityProviders {
            http: ProviderHttp::new(allow_private),
            discovered: Arc::default(),
            failed: Arc::default(),
        }
    }

    /// The connection's provider metadata (with its keys), from the last few minutes or
    /// fetched now.
    pub async fn metadata(
        &self,
        connection: &sso_connection::Model,
    ) -> Result<CoreProviderMetadata, DiscoveryError> {
        if let Some(kept) = self.kept(connection) {
            return Ok(kept);
        }
        if let Some(error) = self.failed_lately(connection) {
            return Err(DiscoveryError::FailedLately(error));
        }
        let metadata = match self.fetch(connection).await {
            Ok(metadata) => metadata,
            Err(err) => {
                let mut failed = self.failed.lock().expect("discovery failures lock");
                failed.retain(|_, f| f.at.elapsed() < REMEMBER_FAILURE_FOR);
                failed.insert(
                    connection.id,
                    Failed {
                        issuer_url: connection.issuer_url.clone(),
                        at: Instant::now(),
                        error: err.to_string(),
                    },
                );
                return Err(err);
            }
        };
        let mut discovered = self.discovered.lock().expect("discovery cache lock");
        discovered.retain(|_, kept| kept.fetched.elapsed() < KEEP_FOR);
        discovered.insert(
            connection.id,
            Discovered {
                issuer_url: connection.issuer_url.clone(),
                fetched: Instant::now(),
                metadata: metadata.clone(),
            },
        );
        Ok(metadata)
    }

    async fn fetch(
        &self,
        connection: &sso_connection::Model,
    ) -> Result<CoreProviderMetadata, DiscoveryError> {
        let issuer = IssuerUrl::new(connection.issuer_url.clone())
            .map_err(|err| DiscoveryError::Issuer(err.to_string()))?;
        let metadata = CoreProviderMetadata::discover_async(issuer, &self.http)
            .await
            .map_err(|err| DiscoveryError::Fetch(error_chain(&err)))?;
        // The browser is sent there with the login's state: it must not travel in clear.
        // Every other endpoint is checked by `ProviderHttp` when Orgdesk calls it.
        let authorization = metadata.authorization_endpoint().url();
        if self.http.check_url(authorization).is_err() {
            return Err(DiscoveryError::InsecureEndpoint(authorization.to_string()));
        }
        Ok(metadata)
    }

    /// Forgets what the connection's provider published, and that it failed, so the next
    /// sign-in fetches it again (after a token failed the checks: the provider may have
    /// rotated its keys).
    pub fn forget(&self, connection_id: i32) {
        self.discovered
            .lock()
            .expect("discovery cache lock")
            .remove(&connection_id);
        self.failed
            .lock()
            .expect("discovery failures lock")
            .remove(&connection_id);
    }

    /// Forgets only that the connection's provider failed lately.
    pub fn forget_failure(&self, connection_id: i32) {
        self.failed
            .lock()
            .expect("discovery failures lock")
            .remove(&connection_id);
    }

    fn failed_lately(&self, connection: &sso_connection::Model) -> Option<String> {
        let failed = self.failed.lock().expect("discovery failures lock");
        failed
            .get(&connection.id)
            .filter(|f| {
                f.issuer_url == connection.issuer_url && f.at.elapsed() < REMEMBER_FAILURE_FOR
            })
            .map(|f| f.error.clone())
    }

    fn kept(&self, connection: &sso_connection::Model) -> Option<CoreProviderMetadata> {
        let discovered = self.discovered.lock().expect("discovery cache lock");
        discovered
            .get(&connection.id)
            // A changed issuer is another provider.
            .filter(|kept| {
                kept.issuer_url == connection.issuer_url && kept.fetched.elapsed() < KEEP_FOR
            })
            .map(|kept| kept.metadata.clone())
    }
}
