//! The identity provider's metadata: checked before it is read (size, DOCTYPE, one
//! provider), read by samael, and reduced to what Orgdesk keeps: the entity ID, the
//! HTTP-Redirect sign-in URL and every signing certificate (all are trusted, for rollover).

use base64::{engine::general_purpose::STANDARD, Engine as _};
use chrono::{DateTime, Utc};
use samael::metadata::{EntityDescriptor, EntityDescriptorType, HTTP_REDIRECT_BINDING};
use serde::{Deserialize, Serialize};

use super::{
    keys::asn1_to_utc,
    xml::{outline, Refusal, SAML_METADATA_NS},
};

/// Metadata larger than this is refused before it is parsed.
pub const MAX_METADATA_BYTES: usize = 512 * 1024;

/// A certificate the provider signs with, as shown to the owner and kept.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SigningCertificate {
    /// Base64 DER.
    pub der: String,
    /// SHA-256 of the DER, upper-case hex pairs joined by colons (as providers show it).
    pub sha256: String,
    pub subject: String,
    pub not_after: DateTime<Utc>,
}

/// What Orgdesk keeps of the provider's metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderMetadata {
    pub entity_id: String,
    pub sso_url: String,
    pub certificates: Vec<SigningCertificate>,
}

impl ProviderMetadata {
    /// When the last certificate expires (the sign-in fails after it).
    pub fn expires_at(&self) -> DateTime<Utc> {
        self.certificates
            .iter()
            .map(|c| c.not_after)
            .max()
            .unwrap_or(DateTime::<Utc>::MIN_UTC)
    }
}

/// Reads the metadata; an error is one sentence naming the rule. `https_only`: the public
/// URL is https, so the provider's sign-in URL must be too.
pub fn parse_metadata(xml: &str, https_only: bool) -> Result<ProviderMetadata, String> {
    if xml.len() > MAX_METADATA_BYTES {
        return Err("Provider metadata must be at most 512 KiB.".into());
    }
    let xml = xml.trim_start_matches('\u{feff}').trim();
    if xml.is_empty() {
        return Err(
            "Provider metadata is required: paste the XML, upload the file or give its URL.".into(),
        );
    }
    let shape = outline(xml).map_err(|refusal| match refusal {
        Refusal::Doctype => {
            "Provider metadata must not contain a DOCTYPE: Orgdesk does not read document type definitions or entities.".to_string()
        }
        Refusal::NotXml => "Provider metadata must be XML: an EntityDescriptor from your identity provider.".to_string(),
    })?;
    let providers = shape.count(SAML_METADATA_NS, "IDPSSODescriptor");
    let entities = shape.count(SAML_METADATA_NS, "EntityDescriptor");
    if entities > 1 || providers > 1 {
        return Err(format!(
            "Provider metadata must describe one identity provider; this file describes {}. Download the metadata of the Orgdesk app alone.",
            entities.max(providers)
        ));
    }
    if providers == 0 {
        return Err("Provider metadata describes no identity provider (it has no IDPSSODescriptor): is it the service provider's metadata?".into());
    }
    let parsed: EntityDescriptorType = xml
        .parse()
        .map_err(|_| "Provider metadata could not be read as SAML 2.0 metadata.".to_string())?;
    let descriptor: EntityDescriptor = match parsed {
        EntityDescriptorType::EntityDescriptor(one) => one,
        EntityDescriptorType::EntitiesDescriptor(many) => many
            .descriptors
            .into_iter()
            .find_map(|d| match d {
                EntityDescriptorType::EntityDescriptor(one) => Some(one),
                EntityDescriptorType::EntitiesDescriptor(_) => None,
            })
            .ok_or("Provider metadata describes no identity provider.")?,
    };
    let entity_id = descriptor
        .entity_id
        .clone()
        .map(|id| id.trim().to_string())
        .filter(|id| !id.is_empty())
        .ok_or("Provider metadata has no entityID.")?;
    if entity_id.chars().count() > 1024 || entity_id.chars().any(char::is_control) {
        return Err(
            "The provider's entityID must be at most 1024 characters, with no control characters."
                .into(),
        );
    }
    let idp = descriptor
        .idp_sso_descriptors
        .as_ref()
        .and_then(|d| d.first())
        .ok_or("Provider metadata describes no identity provider.")?;
    let sso_url = idp
        .single_sign_on_services
        .iter()
        .find(|service| service.binding == HTTP_REDIRECT_BINDING)
        .map(|service| service.location.trim().to_string())
        .ok_or("The provider offers no sign-in URL for the HTTP-Redirect binding (a SingleSignOnService): Orgdesk sends sign-ins that way.")?;
    check_sso_url(&sso_url, https_only)?;
    let mut certificates = Vec::new();
    let signing = idp
        .key_descriptors
        .iter()
        .filter(|key| matches!(key.key_use.as_deref(), None | Some("") | Some("signing")));
    for key in signing {
        for text in key
            .key_info
            .x509_data
            .iter()
            .flat_map(|data| data.certificates.iter())
        {
            let certificate = read_certificate(text)?;
            if !certificates
                .iter()
                .any(|c: &SigningCertificate| c.sha256 == certificate.sha256)
            {
                certificates.push(certificate);
            }
        }
    }
    if certificates.is_empty() {
        return Err("Provider metadata has no signing certificate, so no response could be checked. Download the metadata again with its certificate.".into());
    }
    Ok(ProviderMetadata {
        entity_id,
        sso_url,
        certificates,
    })
}

fn check_sso_url(raw: &str, https_only: bool) -> Result<(), String> {
    if raw.chars().count() > 2048 {
        return Err("The provider's sign-in URL must be at most 2048 characters.".into());
    }
    let url = url::Url::parse(raw).map_err(|_| {
        "The provider's sign-in URL (SingleSignOnService) is not a full URL.".to_string()
    })?;
    match url.scheme() {
        "https" => Ok(()),
        "http" if !https_only => Ok(()),
        "http" => Err("The provider's sign-in URL must start with https://, as Orgdesk's own address does: a sign-in over plain http could be read or changed on the way.".into()),
        _ => Err("The provider's sign-in URL must be an https:// address.".into()),
    }
}

/// One `X509Certificate` of the metadata, read: its fingerprint, subject and expiry.
pub fn read_certificate(text: &str) -> Result<SigningCertificate, String> {
    let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    let der = STANDARD
        .decode(compact.as_bytes())
        .map_err(|_| "A signing certificate in the metadata is not base64.".to_string())?;
    let certificate = openssl::x509::X509::from_der(&der).map_err(|_| {
        "A signing certificate in the metadata is not an X.509 certificate.".to_string()
    })?;
    let not_after = asn1_to_utc(certificate.not_after())
        .ok_or("A signing certificate in the metadata has an unreadable expiry date.")?;
    let subject = certificate
        .subject_name()
        .entries()
        .filter_map(|entry| entry.data().to_string().ok())
        .collect::<Vec<_>>()
        .join(", ");
    Ok(SigningCertificate {
        sha256: fingerprint(&der),
        der: STANDARD.encode(&der),
        subject,
        not_after,
    })
}

/// SHA-256 of DER bytes as `AB:CD:…`.
pub fn fingerprint(der: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(der)
        .iter()
        .map(|byte| format!("{byte:02X}"))
        .collect::<Vec<_>>()
        .join(":")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn metadata(certificate: &str, binding: &str, location: &str) -> String {
        format!(
            r#"<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" xmlns:ds="http://www.w3.org/2000/09/xmldsig#" entityID="https://idp.example/saml">
  <md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
    {certificate}
    <md:SingleSignOnService Binding="{binding}" Location="{location}"/>
  </md:IDPSSODescriptor>
</md:EntityDescriptor>"#
        )
    }

    fn key_descriptor(der: &[u8]) -> String {
        format!(
            r#"<md:KeyDescriptor use="signing"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>
{}
</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>"#,
            STANDARD.encode(der)
        )
    }

    fn certificate_der() -> Vec<u8> {
        super::super::keys::generate("test idp", 30)
            .expect("key")
            .certificate_der
    }

    #[test]
    fn a_provider_with_a_certificate_and_a_redirect_url_is_read() {
        let der = certificate_der();
        let xml = metadata(
            &key_descriptor(&der),
            HTTP_REDIRECT_BINDING,
            "https://idp.example/sso",
        );
        let read = parse_metadata(&xml, true).expect("valid metadata");
        assert_eq!(read.entity_id, "https://idp.example/saml");
        assert_eq!(read.sso_url, "https://idp.example/sso");
        assert_eq!(read.certificates.len(), 1);
        assert_eq!(read.certificates[0].sha256, fingerprint(&der));
        assert!(read.expires_at() > Utc::now() + chrono::Duration::days(29));
    }

    #[test]
    fn each_rule_is_named() {
        let der = certificate_der();
        let good_key = key_descriptor(&der);
        let cases = [
            (
                metadata("", HTTP_REDIRECT_BINDING, "https://idp.example/sso"),
                "no signing certificate",
            ),
            (
                metadata(&good_key, HTTP_REDIRECT_BINDING, "http://idp.example/sso"),
                "must start with https://",
            ),
            (
                metadata(
                    &good_key,
                    "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST",
                    "https://idp.example/sso",
                ),
                "HTTP-Redirect",
            ),
            (
                format!(
                    "<!DOCTYPE x>{}",
                    metadata(&good_key, HTTP_REDIRECT_BINDING, "https://idp.example/sso")
                ),
                "DOCTYPE",
            ),
            ("{\"json\": true}".to_string(), "must be XML"),
            (
                format!(
                    r#"<md:EntitiesDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata">{0}{0}</md:EntitiesDescriptor>"#,
                    metadata(&good_key, HTTP_REDIRECT_BINDING, "https://idp.example/sso")
                ),
                "describes 2",
            ),
            (
                format!("<x>{}</x>", "a".repeat(MAX_METADATA_BYTES)),
                "512 KiB",
            ),
        ];
        for (xml, rule) in cases {
            let error = parse_metadata(&xml, true).expect_err(rule);
            assert!(error.contains(rule), "{rule}: {error}");
        }
        // Plain http is fine where Orgdesk itself is served over http (development).
        parse_metadata(
            &metadata(&good_key, HTTP_REDIRECT_BINDING, "http://idp.example/sso"),
            false,
        )
        .expect("http allowed without https");
    }
}
