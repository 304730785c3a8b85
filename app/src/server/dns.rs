//! TXT lookups for domain verification, through hickory-resolver: the system's resolvers by
//! default, or one name server given by the `dns-resolver` setting (tests run their own).

use std::{net::SocketAddr, sync::Arc, time::Duration};

use hickory_resolver::{
    config::{NameServerConfigGroup, ResolverConfig, ResolverOpts},
    name_server::TokioConnectionProvider,
    TokioResolver,
};

/// What a TXT lookup found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TxtAnswer {
    /// The name's TXT records, each as one string (its character-strings joined, as
    /// RFC 7208 reads them).
    Records(Vec<String>),
    /// The name does not exist or has no TXT record: a definite "not published".
    NotFound,
    /// The records came through a CNAME (the name is an alias for `0`): whoever runs the
    /// alias's target answers, not necessarily the name's owner.
    Aliased(String),
    /// No answer could be had (timeout, server failure): nothing can be concluded.
    Unavailable(String),
}

/// A shared DNS resolver. It caches nothing: an owner who just published a record, or
/// removed one, must see the result of the lookup they asked for.
#[derive(Clone)]
pub struct DomainResolver(Arc<TokioResolver>);

impl DomainResolver {
    /// The system's resolvers (`/etc/resolv.conf`), or only `name_server` when given.
    pub fn new(name_server: Option<SocketAddr>) -> Self {
        let mut builder = match name_server {
            Some(address) => TokioResolver::builder_with_config(
                ResolverConfig::from_parts(
                    None,
                    vec![],
                    NameServerConfigGroup::from_ips_clear(&[address.ip()], address.port(), true),
                ),
                TokioConnectionProvider::default(),
            ),
            None => TokioResolver::builder_tokio().unwrap_or_else(|err| {
                // Orgdesk still serves; only domain verification cannot look anything up
                // (owners see "no answer", nothing lapses) until a resolver is configured.
                tracing::warn!(error = %err, "cannot read the system's DNS configuration: set dns-resolver to verify domains");
                TokioResolver::builder_with_config(
                    ResolverConfig::from_parts(None, vec![], NameServerConfigGroup::new()),
                    TokioConnectionProvider::default(),
                )
            }),
        };
        let options: &mut ResolverOpts = builder.options_mut();
        options.cache_size = 0;
        options.timeout = Duration::from_secs(5);
        options.attempts = 2;
        // Keep the CNAMEs of a chain in the answer: a record reached through one is refused.
        options.preserve_intermediates = true;
        Self(Arc::new(builder.build()))
    }

    /// The TXT records at `name` (an absolute name: no search domain is tried).
    pub async fn txt(&self, name: &str) -> TxtAnswer {
        let absolute = format!("{}.", name.trim_end_matches('.'));
        match self.0.txt_lookup(absolute.clone()).await {
            Ok(found) => match aliased(found.as_lookup(), &absolute) {
                Some(target) => TxtAnswer::Aliased(target),
                None => TxtAnswer::Records(
                    found
                        .iter()
                        .map(|txt| {
                            txt.txt_data()
                                .iter()
                                .map(|part| String::from_utf8_lossy(part))
                                .collect::<String>()
                        })
                        .collect(),
                ),
            },
            Err(err) if err.is_nx_domain() || err.is_no_records_found() => TxtAnswer::NotFound,
            Err(err) => TxtAnswer::Unavailable(err.to_string()),
        }
    }
}

/// The name an answer for `asked` really came from, when it is another: a CNAME in the
/// chain, or records owned by a different name.
fn aliased(found: &hickory_resolver::lookup::Lookup, asked: &str) -> Option<String> {
    use hickory_resolver::proto::rr::RecordType;

    let asked = asked.trim_end_matches('.').to_ascii_lowercase();
    found.records().iter().find_map(|record| {
        let owner = record.name().to_ascii();
        let owner = owner.trim_end_matches('.').to_ascii_lowercase();
        if record.record_type() == RecordType::CNAME {
            let target = record.data().as_cname().map(|c| c.0.to_ascii());
            Some(target.unwrap_or(owner).trim_end_matches('.').to_string())
        } else {
            (owner != asked).then_some(owner)
        }
    })
}
