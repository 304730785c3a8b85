//! Every request Orgdesk makes to an identity provider (discovery, keys, token, userinfo)
//! goes through [`ProviderHttp`]. An owner chooses the issuer URL and anonymous people
//! trigger the requests from the login page, so without these rules a provider setting
//! could make the server fetch its own loopback, the private network or a cloud metadata
//! address (server-side request forgery):
//! - only public addresses: an address in the URL and every address a name resolves to
//!   (checked at connect time, so DNS rebinding does not help) must be globally routable;
//! - only https;
//! - no redirects, no proxy from the environment, short timeouts, bounded answers.
//!
//! `private_identity_providers` lifts the first two rules for development and the tests.

use std::{
    future::Future,
    net::{IpAddr, Ipv4Addr, SocketAddr},
    pin::Pin,
    sync::Arc,
    time::Duration,
};

use openidconnect::{
    reqwest::{
        self,
        dns::{Addrs, Name, Resolve, Resolving},
    },
    AsyncHttpClient, HttpClientError, HttpRequest, HttpResponse,
};

/// Discovery documents and key sets are a few KiB; a provider that sends more is refused
/// rather than buffered.
const MAX_ANSWER_BYTES: usize = 1024 * 1024;

/// Whether `ip` is an address on the public internet. Everything else (loopback, private,
/// link-local with the cloud metadata address, carrier-grade NAT, unique-local, multicast,
/// unspecified, documentation, benchmarking and reserved ranges, and IPv6 forms that embed
/// one of those IPv4 addresses) is refused. `std`'s `is_global` is not stable yet.
pub fn is_public_address(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public_v4(v4);
            }
            let segments = v6.segments();
            // NAT64 (64:ff9b::/96) and 6to4 (2002::/16) reach the IPv4 address inside.
            if segments[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
                return is_public_v4(Ipv4Addr::from(u128::from(v6) as u32));
            }
            if segments[0] == 0x2002 {
                let embedded = ((segments[1] as u32) << 16) | segments[2] as u32;
                return is_public_v4(Ipv4Addr::from(embedded));
            }
            !(v6.is_unspecified()
                || v6.is_loopback()
                || v6.is_multicast()
                // Local-use NAT64 64:ff9b:1::/48 (RFC 8215): it reaches whatever the
                // operator's translator points at.
                || segments[..3] == [0x64, 0xff9b, 1]
                // IPv4-translated ::ffff:0:0:0/96 (RFC 2765).
                || segments[..6] == [0, 0, 0, 0, 0xffff, 0]
                // Deprecated site-local fec0::/10.
                || (segments[0] & 0xffc0) == 0xfec0
                // IPv4-compatible (deprecated) addresses, ::/96.
                || segments[..6] == [0; 6]
                // Unique-local fc00::/7 and link-local fe80::/10.
                || (segments[0] & 0xfe00) == 0xfc00
                || (segments[0] & 0xffc0) == 0xfe80
                // Documentation 2001:db8::/32 and the 2001::/23 special-purpose block
                // (Teredo, benchmarking, ORCHID).
                || (segments[0] == 0x2001 && segments[1] == 0x0db8)
                || (segments[0] == 0x2001 && segments[1] < 0x0200)
                // Discard-only 100::/64.
                || segments[..4] == [0x100, 0, 0, 0])
        }
    }
}

fn is_public_v4(v4: Ipv4Addr) -> bool {
    let [a, b, c, _] = v4.octets();
    !(v4.is_unspecified()
        || a == 0
        || v4.is_loopback()
        || v4.is_private()
        || v4.is_link_local()
        || v4.is_multicast()
        || v4.is_broadcast()
        || v4.is_documentation()
        // Carrier-grade NAT 100.64.0.0/10.
        || (a == 100 && (b & 0xc0) == 64)
        // IETF protocol assignments 192.0.0.0/24, the deprecated 6to4 relay anycast
        // 192.88.99.0/24, benchmarking 198.18.0.0/15.
        || (a == 192 && b == 0 && c == 0)
        || (a == 192 && b == 88 && c == 99)
        || (a == 198 && (b & 0xfe) == 18)
        // Reserved 240.0.0.0/4.
        || a >= 240)
}

/// Why a request to a provider was not made.
#[derive(Debug, thiserror::Error)]
pub enum RefusedRequest {
    #[error("identity provider URLs must use https, not {0}")]
    NotHttps(String),
    #[error("identity provider URLs must use the https port 443, not {0}")]
    NotPort443(u16),
    #[error("the identity provider's address {0} is not a public address")]
    PrivateAddress(IpAddr),
    #[error("{0} resolves to no public address")]
    PrivateName(String),
    #[error("the identity provider's answer is larger than {MAX_ANSWER_BYTES} bytes")]
    TooLarge,
}

/// Refuses what the connector cannot see: a plain-http URL and an address written into
/// the URL (reqwest connects to those without asking the resolver).
pub fn check_provider_url(url: &url::Url, allow_private: bool) -> Result<(), RefusedRequest> {
    if allow_private {
        return Ok(());
    }
    if url.scheme() != "https" {
        return Err(RefusedRequest::NotHttps(url.scheme().to_string()));
    }
    // Another port is another service on the provider's host (an admin console, a
    // database): only the web's.
    if let Some(port) = url.port().filter(|port| *port != 443) {
        return Err(RefusedRequest::NotPort443(port));
    }
    let literal = match url.host() {
        Some(url::Host::Ipv4(v4)) => Some(IpAddr::V4(v4)),
        Some(url::Host::Ipv6(v6)) => Some(IpAddr::V6(v6)),
        _ => None,
    };
    match literal {
        Some(ip) if !is_public_address(ip) => Err(RefusedRequest::PrivateAddress(ip)),
        _ => Ok(()),
    }
}

/// Resolves names with the system resolver and keeps only public addresses (webhook
/// deliveries use it too).
pub struct PublicAddressesOnly;

impl Resolve for PublicAddressesOnly {
    fn resolve(&self, name: Name) -> Resolving {
        Box::pin(async move {
            let host = name.as_str().to_string();
            let found: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0))
                .await?
                .filter(|address| is_public_address(address.ip()))
                .collect();
            if found.is_empty() {
                return Err(Box::new(RefusedRequest::PrivateName(host)) as _);
            }
            Ok(Box::new(found.into_iter()) as Addrs)
        })
    }
}

/// An error with its causes, for the log ("discovery failed: request failed: ... resolves
/// to no public address").
pub fn error_chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// The HTTP client for identity providers (one per server, in `AppState`).
#[derive(Clone)]
pub struct ProviderHttp {
    client: reqwest::Client,
    allow_private: bool,
}

impl ProviderHttp {
    /// `allow_private`: also reach loopback and private addresses, over http too
    /// (development and tests only).
    pub fn new(allow_private: bool) -> Self {
        let mut builder = reqwest::ClientBuilder::new()
            // A redirect would be a request to a URL nobody checked.
            .redirect(reqwest::redirect::Policy::none())
            // An HTTP(S)_PROXY from the environment would connect on our behalf, past the
            // address check.
            .no_proxy()
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(10));
        if !allow_private {
            builder = builder
                .https_only(true)
                .dns_resolver(Arc::new(PublicAddressesOnly));
        }
        ProviderHttp {
            client: builder
                .build()
                .expect("the HTTP client for identity providers"),
            allow_private,
        }
    }

    /// See [`check_provider_url`].
    pub fn check_url(&self, url: &url::Url) -> Result<(), RefusedRequest> {
        check_provider_url(url, self.allow_private)
    }

    async fn send(
        &self,
        request: HttpRequest,
    ) -> Result<HttpResponse, HttpClientError<reqwest::Error>> {
        let url = url::Url::parse(&request.uri().to_string())
            .map_err(|err| HttpClientError::Other(err.to_string()))?;
        self.check_url(&url)
            .map_err(|err| HttpClientError::Other(err.to_string()))?;
        let request: reqwest::Request = request.try_into().map_err(Box::new)?;
        let mut response = self.client.execute(request).await.map_err(Box::new)?;
        let mut builder = http::Response::builder()
            .status(response.status())
            .version(response.version());
        for (name, value) in response.headers() {
            builder = builder.header(name, value);
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(Box::new)? {
            if body.len() + chunk.len() > MAX_ANSWER_BYTES {
                return Err(HttpClientError::Other(RefusedRequest::TooLarge.to_string()));
            }
            body.extend_from_slice(&chunk);
        }
        builder.body(body).map_err(HttpClientError::Http)
    }
}

impl ProviderHttp {
    /// A GET of a document an owner named (a SAML provider's metadata), under the same
    /// rules as every request to a provider; at most `max_bytes` are read.
    pub async fn get_document(&self, url: &url::Url, max_bytes: usize) -> Result<Vec<u8>, String> {
        self.check_url(url).map_err(|err| err.to_string())?;
        let mut response = self
            .client
            .get(url.clone())
            .send()
            .await
            .map_err(|err| format!("it could not be reached ({})", error_chain(&err)))?;
        if !response.status().is_success() {
            return Err(format!("it answered HTTP {}", response.status().as_u16()));
        }
        let mut body = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|err| format!("its answer broke off ({err})"))?
        {
            if body.len() + chunk.len() > max_bytes {
                return Err(format!(
                    "its answer is larger than {} KiB",
                    max_bytes / 1024
                ));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    }
}

type Answer<'c> = Pin<
    Box<dyn Future<Output = Result<HttpResponse, HttpClientError<reqwest::Error>>> + Send + 'c>,
>;

impl<'c> AsyncHttpClient<'c> for ProviderHttp {
    type Error = HttpClientError<reqwest::Error>;
    type Future = Answer<'c>;

    fn call(&'c self, request: HttpRequest) -> Self::Future {
        Box::pin(self.send(request))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_addresses_are_not_public() {
        for refused in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "0.1.2.3",
            "224.0.0.1",
            "255.255.255.255",
            "240.0.0.1",
            "198.18.0.1",
            "::",
            "::1",
            "fc00::1",
            "fd12:3456::1",
            "fe80::1",
            "ff02::1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "64:ff9b::a9fe:a9fe",
            "2002:7f00:1::",
            "::127.0.0.1",
            "2001:db8::1",
            "64:ff9b:1::a9fe:a9fe",
            "fec0::1",
            "::ffff:0:a9fe:a9fe",
            "192.88.99.1",
        ] {
            let ip: IpAddr = refused.parse().unwrap();
            assert!(!is_public_address(ip), "{refused} must be refused");
        }
        for allowed in ["8.8.8.8", "1.1.1.1", "2606:4700:4700::1111", "2a00:1450::1"] {
            let ip: IpAddr = allowed.parse().unwrap();
            assert!(is_public_address(ip), "{allowed} is public");
        }
    }

    #[test]
    fn urls_with_internal_addresses_or_plain_http_are_refused() {
        let strict = ProviderHttp::new(false);
        for refused in [
            "http://login.example.com/.well-known/openid-configuration",
            "https://127.0.0.1/",
            "https://[::1]:8443/",
            "https://169.254.169.254/latest/meta-data/",
            "https://[::ffff:10.0.0.1]/",
            "https://login.example.com:8443/",
            "https://login.example.com:22/",
        ] {
            let url = url::Url::parse(refused).unwrap();
            assert!(strict.check_url(&url).is_err(), "{refused} must be refused");
        }
        for allowed in [
            "https://login.example.com/",
            "https://login.example.com:443/x",
        ] {
            let url = url::Url::parse(allowed).unwrap();
            assert!(strict.check_url(&url).is_ok(), "{allowed}");
        }
        let development = ProviderHttp::new(true);
        let url = url::Url::parse("http://127.0.0.1:4000/").unwrap();
        assert!(development.check_url(&url).is_ok());
    }
}
