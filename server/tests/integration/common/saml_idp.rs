//! A SAML identity provider for the tests and the SAML benchmark: a real RSA key and
//! certificate, responses shaped by each test and signed by xmlsec (through samael), forged
//! ones included. Imports nothing of the harness, so the benchmark example includes it too.

use base64::{engine::general_purpose::STANDARD, Engine as _};
use chrono::{Duration, SecondsFormat, Utc};
use samael::crypto::{Crypto, CryptoProvider};

pub const RSA_SHA256: (&str, &str) = (
    "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
    "http://www.w3.org/2001/04/xmlenc#sha256",
);
pub const RSA_SHA1: (&str, &str) = (
    "http://www.w3.org/2000/09/xmldsig#rsa-sha1",
    "http://www.w3.org/2000/09/xmldsig#sha1",
);

/// A test identity provider: its entity ID and signing key.
pub struct SamlIdp {
    pub entity_id: String,
    /// PKCS#1 DER, as xmlsec loads it.
    key_der: Vec<u8>,
    pub certificate: String,
}

/// Which elements the provider signs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signed {
    Assertion,
    Response,
    Both,
    Neither,
}

/// Everything a test may shape in a response; [`SamlIdp::shape`] fills in a valid one.
#[derive(Debug, Clone)]
pub struct Shape {
    pub name_id: String,
    pub audience: Option<String>,
    pub recipient: String,
    pub destination: Option<String>,
    pub in_response_to: Option<String>,
    pub issuer: String,
    pub issued_ago: Duration,
    pub valid_for: Duration,
    pub signed: Signed,
    pub algorithm: (&'static str, &'static str),
    pub attributes: Vec<(String, String)>,
    pub class_ref: String,
    pub assertion_id: String,
}

impl SamlIdp {
    pub fn new(entity_id: &str) -> SamlIdp {
        let made = app::sso::saml::keys::generate("Test SAML IdP", 365).expect("an IdP key");
        let key =
            openssl::pkey::PKey::private_key_from_pkcs8(&made.private_key_der).expect("PKCS#8 key");
        SamlIdp {
            entity_id: entity_id.to_string(),
            key_der: key.rsa().expect("RSA").private_key_to_der().expect("DER"),
            certificate: STANDARD.encode(&made.certificate_der),
        }
    }

    /// The provider's metadata, as an owner downloads it.
    pub fn metadata(&self) -> String {
        format!(
            r#"<?xml version="1.0"?>
<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" xmlns:ds="http://www.w3.org/2000/09/xmldsig#" entityID="{}">
  <md:IDPSSODescriptor WantAuthnRequestsSigned="false" protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
    <md:KeyDescriptor use="signing"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>{}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>
    <md:NameIDFormat>urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress</md:NameIDFormat>
    <md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="https://idp.test/sso"/>
  </md:IDPSSODescriptor>
</md:EntityDescriptor>"#,
            self.entity_id, self.certificate
        )
    }

    /// A valid response to `request_id` for `email` at the organization `public_id`.
    pub fn shape(&self, public_id: &str, request_id: &str, email: &str) -> Shape {
        Shape {
            name_id: email.to_string(),
            audience: Some(format!("http://localhost/sso/saml/{public_id}")),
            recipient: format!("http://localhost/sso/saml/{public_id}/acs"),
            destination: Some(format!("http://localhost/sso/saml/{public_id}/acs")),
            in_response_to: Some(request_id.to_string()),
            issuer: self.entity_id.clone(),
            issued_ago: Duration::seconds(1),
            valid_for: Duration::minutes(5),
            signed: Signed::Assertion,
            algorithm: RSA_SHA256,
            attributes: vec![
                ("firstName".into(), "Sam".into()),
                ("lastName".into(), "Saml".into()),
            ],
            class_ref: "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport".into(),
            assertion_id: format!("_a{:032x}", rand::random::<u128>()),
        }
    }

    fn signature_template(&self, reference: &str, algorithm: (&str, &str)) -> String {
        format!(
            r##"<ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:SignedInfo><ds:CanonicalizationMethod Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/><ds:SignatureMethod Algorithm="{}"/><ds:Reference URI="#{reference}"><ds:Transforms><ds:Transform Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature"/><ds:Transform Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/></ds:Transforms><ds:DigestMethod Algorithm="{}"/><ds:DigestValue></ds:DigestValue></ds:Reference></ds:SignedInfo><ds:SignatureValue></ds:SignatureValue><ds:KeyInfo><ds:X509Data><ds:X509Certificate>{}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></ds:Signature>"##,
            algorithm.0, algorithm.1, self.certificate
        )
    }

    /// The assertion's XML, signed when the shape says so.
    pub fn assertion_xml(&self, shape: &Shape) -> String {
        let now = Utc::now();
        let time = |t: chrono::DateTime<Utc>| t.to_rfc3339_opts(SecondsFormat::Secs, true);
        let issued = now - shape.issued_ago;
        let until = issued + shape.valid_for;
        let in_response_to = shape
            .in_response_to
            .as_ref()
            .map(|id| format!(r#" InResponseTo="{id}""#))
            .unwrap_or_default();
        let audience = shape
            .audience
            .as_ref()
            .map(|a| {
                format!("<saml:AudienceRestriction><saml:Audience>{a}</saml:Audience></saml:AudienceRestriction>")
            })
            .unwrap_or_default();
        let attributes: String = shape
            .attributes
            .iter()
            .map(|(name, value)| {
                format!(r#"<saml:Attribute Name="{name}"><saml:AttributeValue>{value}</saml:AttributeValue></saml:Attribute>"#)
            })
            .collect();
        let signature = if matches!(shape.signed, Signed::Assertion | Signed::Both) {
            self.signature_template(&shape.assertion_id, shape.algorithm)
        } else {
            String::new()
        };
        let xml = format!(
            r#"<saml:Assertion xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="{id}" Version="2.0" IssueInstant="{issued}"><saml:Issuer>{issuer}</saml:Issuer>{signature}<saml:Subject><saml:NameID Format="urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress">{name_id}</saml:NameID><saml:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer"><saml:SubjectConfirmationData{in_response_to} NotOnOrAfter="{until}" Recipient="{recipient}"/></saml:SubjectConfirmation></saml:Subject><saml:Conditions NotBefore="{issued}" NotOnOrAfter="{until}">{audience}</saml:Conditions><saml:AuthnStatement AuthnInstant="{issued}" SessionIndex="{id}"><saml:AuthnContext><saml:AuthnContextClassRef>{class_ref}</saml:AuthnContextClassRef></saml:AuthnContext></saml:AuthnStatement><saml:AttributeStatement>{attributes}</saml:AttributeStatement></saml:Assertion>"#,
            id = shape.assertion_id,
            issued = time(issued),
            until = time(until),
            issuer = shape.issuer,
            name_id = shape.name_id,
            recipient = shape.recipient,
            class_ref = shape.class_ref,
        );
        if signature.is_empty() {
            xml
        } else {
            self.sign(&xml)
        }
    }

    /// The whole response's XML around `assertion` (signed when the shape says so).
    pub fn response_xml(&self, shape: &Shape, assertion: &str) -> String {
        let now = Utc::now();
        let response_id = format!("_r{:032x}", rand::random::<u128>());
        let in_response_to = shape
            .in_response_to
            .as_ref()
            .map(|id| format!(r#" InResponseTo="{id}""#))
            .unwrap_or_default();
        let destination = shape
            .destination
            .as_ref()
            .map(|d| format!(r#" Destination="{d}""#))
            .unwrap_or_default();
        let signature = if matches!(shape.signed, Signed::Response | Signed::Both) {
            self.signature_template(&response_id, shape.algorithm)
        } else {
            String::new()
        };
        let xml = format!(
            r#"<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="{response_id}" Version="2.0" IssueInstant="{issued}"{destination}{in_response_to}><saml:Issuer>{issuer}</saml:Issuer>{signature}<samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></samlp:Status>{assertion}</samlp:Response>"#,
            issued = (now - shape.issued_ago).to_rfc3339_opts(SecondsFormat::Secs, true),
            issuer = shape.issuer,
        );
        if signature.is_empty() {
            xml
        } else {
            self.sign(&xml)
        }
    }

    /// The SAMLResponse form value for `shape`.
    pub fn respond(&self, shape: &Shape) -> String {
        encode(&self.response_xml(shape, &self.assertion_xml(shape)))
    }

    /// Signs the first signature template of `xml` (xmlsec).
    pub fn sign(&self, xml: &str) -> String {
        let signed = Crypto::sign_xml(xml, &self.key_der).expect("xmlsec signs");
        // Drop the XML declaration libxml adds: the document is embedded or encoded whole.
        match signed.strip_prefix("<?xml version=\"1.0\"?>") {
            Some(rest) => rest.trim_start().to_string(),
            None => signed,
        }
    }
}

/// `assertion` encrypted to the SP certificate `certificate` (base64 DER) as XML Encryption
/// says: AES-128-CBC content (IV first), the key wrapped with `key_transport` (RSA-OAEP or
/// RSA PKCS#1 v1.5).
pub fn encrypt_assertion(assertion: &str, certificate: &str, key_transport: &str) -> String {
    use openssl::{rsa::Padding, symm::Cipher, x509::X509};
    let certificate = X509::from_der(
        &STANDARD
            .decode(certificate)
            .expect("the test provider's own data"),
    )
    .expect("the test provider's own data");
    let rsa = certificate
        .public_key()
        .expect("the test provider's own data")
        .rsa()
        .expect("the test provider's own data");
    let key: [u8; 16] = rand::random();
    let iv: [u8; 16] = rand::random();
    let mut sealed = iv.to_vec();
    sealed.extend(
        openssl::symm::encrypt(Cipher::aes_128_cbc(), &key, Some(&iv), assertion.as_bytes())
            .expect("the test provider's own data"),
    );
    let padding = if key_transport.ends_with("rsa-1_5") {
        Padding::PKCS1
    } else {
        Padding::PKCS1_OAEP
    };
    let mut wrapped = vec![0; rsa.size() as usize];
    let length = rsa
        .public_encrypt(&key, &mut wrapped, padding)
        .expect("the test provider's own data");
    wrapped.truncate(length);
    format!(
        r#"<saml:EncryptedAssertion><xenc:EncryptedData xmlns:xenc="http://www.w3.org/2001/04/xmlenc#" Type="http://www.w3.org/2001/04/xmlenc#Element"><xenc:EncryptionMethod Algorithm="http://www.w3.org/2001/04/xmlenc#aes128-cbc"/><ds:KeyInfo xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><xenc:EncryptedKey><xenc:EncryptionMethod Algorithm="{key_transport}"/><xenc:CipherData><xenc:CipherValue>{}</xenc:CipherValue></xenc:CipherData></xenc:EncryptedKey></ds:KeyInfo><xenc:CipherData><xenc:CipherValue>{}</xenc:CipherValue></xenc:CipherData></xenc:EncryptedData></saml:EncryptedAssertion>"#,
        STANDARD.encode(&wrapped),
        STANDARD.encode(&sealed)
    )
}

/// The base64 a provider posts.
pub fn encode(xml: &str) -> String {
    STANDARD.encode(xml.as_bytes())
}

/// The AuthnRequest inside a redirect URL, and its ID.
pub fn authn_request_of(url: &str) -> (String, String) {
    use std::io::Read;
    let url = url::Url::parse(url).expect("a provider URL");
    let encoded = url
        .query_pairs()
        .find(|(name, _)| name == "SAMLRequest")
        .map(|(_, value)| value.into_owned())
        .expect("a SAMLRequest");
    let deflated = STANDARD.decode(encoded).expect("base64");
    let mut xml = String::new();
    flate2::read::DeflateDecoder::new(&deflated[..])
        .read_to_string(&mut xml)
        .expect("DEFLATE");
    let id = xml
        .split(" ID=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("an ID")
        .to_string();
    (xml, id)
}
