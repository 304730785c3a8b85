//! The AuthnRequest, sent through the HTTP-Redirect binding: its ID is 128 random bits
//! (stored only hashed, bound to the browser that started it), it names this organization's
//! ACS URL and entity ID, and it is signed with the organization's newest SP key unless the
//! owner turned signing off for a provider that refuses signed requests.

use samael::{
    metadata::{EntityDescriptor, HTTP_POST_BINDING},
    service_provider::ServiceProvider,
};

use super::{keys::SpKey, NAME_ID_FORMAT};
use crate::server::entities::saml_provider;

/// A request ready to go: its ID and the provider URL that carries it.
pub struct AuthnRequestUrl {
    pub request_id: String,
    pub url: String,
}

/// A new request ID: an NCName (it starts with a letter) with 128 random bits.
pub fn new_request_id() -> String {
    format!("id{}", crate::server::tokens::new_token())
}

/// Builds the redirect URL for `provider` from the SP values given.
pub fn authn_request_url(
    sp_entity_id: &str,
    acs_url: &str,
    provider: &saml_provider::Model,
    signing_key: Option<&SpKey>,
) -> Result<AuthnRequestUrl, String> {
    let service_provider = ServiceProvider {
        entity_id: Some(sp_entity_id.to_string()),
        acs_url: Some(acs_url.to_string()),
        idp_metadata: EntityDescriptor::default(),
        authn_name_id_format: Some(NAME_ID_FORMAT.to_string()),
        ..ServiceProvider::default()
    };
    let mut request = service_provider
        .make_authentication_request(&provider.sso_url)
        .map_err(|err| err.to_string())?;
    request.id = new_request_id();
    request.protocol_binding = Some(HTTP_POST_BINDING.to_string());
    let url = match signing_key.filter(|_| provider.sign_requests) {
        Some(key) => request.signed_redirect("", &key.private_key),
        None => request.redirect(""),
    }
    .map_err(|err| err.to_string())?
    .ok_or("the provider has no sign-in URL")?;
    Ok(AuthnRequestUrl {
        request_id: request.id,
        url: url.to_string(),
    })
}
