//! SAML 2.0, the second protocol of an SSO organization. The organization's service
//! provider (SP) has its own entity ID and ACS URL under `/sso/saml/<organization id>`;
//! sign-ins are SP-initiated (HTTP-Redirect), answered at the ACS (HTTP-POST), and end in
//! the same place as OpenID Connect's: [`super::finish::conclude`].

pub mod attributes;
pub mod flow;
pub mod keys;
pub mod metadata;
pub mod request;
pub mod response;
pub mod routes;
pub mod settings;
pub mod upkeep;
pub mod xml;

use crate::server::Settings;

/// The NameID format Orgdesk asks for: the person's email address.
pub const NAME_ID_FORMAT: &str = "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress";

/// The SP entity ID, which is also where the SP metadata is served.
pub fn entity_id(settings: &Settings, public_id: &str) -> String {
    settings.link(&format!("/sso/saml/{public_id}"))
}

/// Where the provider posts its responses.
pub fn acs_url(settings: &Settings, public_id: &str) -> String {
    settings.link(&format!("/sso/saml/{public_id}/acs"))
}

/// Where the ACS sends the browser on: a same-site request, so it carries the cookie that
/// binds the sign-in to the browser that started it.
pub const FINISH_PATH: &str = "/sso/saml/finish";

fn xml_attribute(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('"', "&quot;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// The SP metadata: entity ID, the ACS (HTTP-POST), signed assertions wanted, and every
/// published key as both a signing and an encryption certificate.
pub fn sp_metadata(
    entity_id: &str,
    acs_url: &str,
    certificates: &[String],
    signs_requests: bool,
) -> String {
    // The encryption methods Orgdesk opens: a provider that reads them encrypts with these.
    let methods: String = response::CONTENT_ENCRYPTION
        .iter()
        .chain([response::KEY_TRANSPORT].iter())
        .map(|method| format!("<md:EncryptionMethod Algorithm=\"{method}\"/>"))
        .collect();
    let mut keys = String::new();
    for certificate in certificates {
        let key_info = format!("<ds:KeyInfo><ds:X509Data><ds:X509Certificate>{certificate}</ds:X509Certificate></ds:X509Data></ds:KeyInfo>");
        keys.push_str(&format!(
            "<md:KeyDescriptor use=\"signing\">{key_info}</md:KeyDescriptor><md:KeyDescriptor use=\"encryption\">{key_info}{methods}</md:KeyDescriptor>"
        ));
    }
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
         <md:EntityDescriptor xmlns:md=\"urn:oasis:names:tc:SAML:2.0:metadata\" xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\" entityID=\"{entity}\">\
         <md:SPSSODescriptor AuthnRequestsSigned=\"{signs_requests}\" WantAssertionsSigned=\"true\" protocolSupportEnumeration=\"urn:oasis:names:tc:SAML:2.0:protocol\">\
         {keys}<md:NameIDFormat>{NAME_ID_FORMAT}</md:NameIDFormat>\
         <md:AssertionConsumerService Binding=\"urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST\" Location=\"{acs}\" index=\"0\" isDefault=\"true\"/>\
         </md:SPSSODescriptor></md:EntityDescriptor>\n",
        entity = xml_attribute(entity_id),
        acs = xml_attribute(acs_url),
    )
}
