//! The provider's answer at the ACS, checked. samael verifies the XML signatures (through
//! xmlsec) against the provider's certificates and reads only what a signature covers;
//! around it Orgdesk refuses, before any XML parser that could expand entities runs: bodies
//! over 256 KiB, DOCTYPEs, comments, anything but one response with exactly one assertion.
//! After it: an audience that is not this organization's, an assertion issued in the future,
//! a signature algorithm outside the allow-list, an expired certificate.

use base64::{engine::general_purpose::STANDARD, Engine as _};
use chrono::{DateTime, Duration, Utc};
use samael::{
    crypto::AllowedSignatureAlgorithm,
    metadata::EntityDescriptor,
    schema::Assertion,
    service_provider::{Error as SamlError, ServiceProvider},
};

use super::{
    keys::SpKey,
    metadata::SigningCertificate,
    xml::{outline, Refusal, SAML_ASSERTION_NS, SAML_PROTOCOL_NS},
};

/// A POST to the ACS larger than this is refused (413) before it is read.
pub const MAX_RESPONSE_BYTES: usize = 256 * 1024;
/// How far the provider's clock may be from ours.
pub const CLOCK_SKEW: Duration = Duration::minutes(2);
/// An assertion issued longer ago than this is stale, whatever its own validity says.
pub const MAX_ASSERTION_AGE: Duration = Duration::minutes(5);

/// The signature algorithms accepted: SHA-1 and HMAC are not among them.
pub const ALLOWED_ALGORITHMS: [AllowedSignatureAlgorithm; 5] = [
    AllowedSignatureAlgorithm::RsaSha256,
    AllowedSignatureAlgorithm::RsaSha384,
    AllowedSignatureAlgorithm::RsaSha512,
    AllowedSignatureAlgorithm::EcdsaSha256,
    AllowedSignatureAlgorithm::EcdsaSha384,
];

/// Why a response was refused. Each says in one sentence what to change at the provider.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResponseFailure {
    NotBase64,
    NotXml,
    Doctype,
    Comments,
    NotAResponse,
    AssertionCount(usize),
    Unsigned,
    Signature,
    CertificateExpired,
    Expired,
    NotYetValid,
    IssuedInTheFuture,
    Audience,
    Recipient,
    Destination,
    Issuer,
    InResponseTo,
    ProviderRefused(String),
    Decrypt,
    NoSubject,
    Malformed,
    /// The server had too many responses to check at once.
    Busy,
}

impl ResponseFailure {
    pub fn sentence(&self) -> String {
        match self {
            ResponseFailure::NotBase64 => "The SAMLResponse was not base64: the provider must post the response with the HTTP-POST binding.".into(),
            ResponseFailure::NotXml => "The response was not XML.".into(),
            ResponseFailure::Doctype => "The response contained a DOCTYPE, which Orgdesk never reads.".into(),
            ResponseFailure::Comments => "The response contained XML comments, which Orgdesk refuses: a comment inside a signed value can change what it says.".into(),
            ResponseFailure::NotAResponse => "The message was not a SAML 2.0 Response.".into(),
            ResponseFailure::AssertionCount(n) => format!("The response must carry exactly one assertion; it carried {n}."),
            ResponseFailure::Unsigned => "Neither the response nor the assertion was signed: turn on assertion signing at the provider.".into(),
            ResponseFailure::Signature => "The signature did not verify against the certificates in the provider's metadata, or used an algorithm Orgdesk refuses (SHA-1, HMAC): update the metadata here, or sign with RSA-SHA256.".into(),
            ResponseFailure::CertificateExpired => "Every signing certificate in the provider's metadata has expired: upload the provider's new metadata.".into(),
            ResponseFailure::Expired => "The assertion had expired when it arrived: check the provider's clock and its assertion lifetime.".into(),
            ResponseFailure::NotYetValid => "The assertion was not valid yet when it arrived: the provider's clock is ahead of Orgdesk's by more than 2 minutes.".into(),
            ResponseFailure::IssuedInTheFuture => "The assertion was issued more than 2 minutes in the future: the provider's clock is ahead.".into(),
            ResponseFailure::Audience => "The assertion's audience is not this organization's SP entity ID: set the audience (SP entity ID) at the provider to the value shown here.".into(),
            ResponseFailure::Recipient => "The assertion's recipient is not this organization's ACS URL: set the ACS URL at the provider to the value shown here.".into(),
            ResponseFailure::Destination => "The response's destination is not this organization's ACS URL: set the ACS URL at the provider to the value shown here.".into(),
            ResponseFailure::Issuer => "The response's issuer is not the entity ID in the provider's metadata: upload the metadata of the app that signed in.".into(),
            ResponseFailure::InResponseTo => "The response does not answer a sign-in this browser started (or answers one that expired or was used already): start again.".into(),
            ResponseFailure::ProviderRefused(status) => format!("The provider did not sign anyone in (status {status})."),
            ResponseFailure::Decrypt => "The encrypted assertion could not be opened with this organization's SP keys: give the provider the current SP metadata.".into(),
            ResponseFailure::NoSubject => "The assertion names nobody (no NameID).".into(),
            ResponseFailure::Malformed => "The response could not be read as SAML 2.0.".into(),
            ResponseFailure::Busy => "Orgdesk had too many sign-ins to check at that moment: try again in a few seconds.".into(),
        }
    }
}

/// A response as received, before any signature is checked: only the shape is known.
#[derive(Clone)]
pub struct ReceivedResponse {
    xml: String,
    /// The request it claims to answer; unverified, used only to find that request.
    pub in_response_to: Option<String>,
    signed_elements: Vec<String>,
    /// The assertion is encrypted (an EncryptedAssertion).
    encrypted: bool,
    /// The Response's own Destination and Issuer (optional in SAML; checked when present).
    destination: Option<String>,
    issuer: Option<String>,
}

/// A response refused for its shape, and the request it claimed to answer (unverified; known
/// when the document was readable).
#[derive(Debug)]
pub struct Misshapen {
    pub failure: ResponseFailure,
    pub in_response_to: Option<String>,
}

impl From<ResponseFailure> for Misshapen {
    fn from(failure: ResponseFailure) -> Self {
        Misshapen {
            failure,
            in_response_to: None,
        }
    }
}

/// Decodes the `SAMLResponse` form value and checks its shape.
pub fn receive(encoded: &str) -> Result<ReceivedResponse, Misshapen> {
    // Providers wrap base64 at 64 or 76 columns.
    let compact: String = encoded
        .chars()
        .filter(|c| !c.is_ascii_whitespace())
        .collect();
    let bytes = STANDARD
        .decode(compact.as_bytes())
        .map_err(|_| ResponseFailure::NotBase64)?;
    if bytes.len() > MAX_RESPONSE_BYTES {
        return Err(ResponseFailure::NotXml.into());
    }
    let xml = String::from_utf8(bytes).map_err(|_| ResponseFailure::NotXml)?;
    let shape = outline(&xml).map_err(|refusal| match refusal {
        Refusal::Doctype => ResponseFailure::Doctype,
        Refusal::NotXml => ResponseFailure::NotXml,
    })?;
    let refuse = |failure| Misshapen {
        failure,
        in_response_to: shape.root_in_response_to.clone(),
    };
    if shape.has_comments {
        return Err(refuse(ResponseFailure::Comments));
    }
    if !shape.root_is(SAML_PROTOCOL_NS, "Response") {
        return Err(refuse(ResponseFailure::NotAResponse));
    }
    let encrypted = shape.count(SAML_ASSERTION_NS, "EncryptedAssertion");
    let assertions = shape.count(SAML_ASSERTION_NS, "Assertion") + encrypted;
    if assertions != 1 {
        return Err(refuse(ResponseFailure::AssertionCount(assertions)));
    }
    // An encrypted assertion's own signature is inside the encryption: checked once opened.
    if shape.signed_elements.is_empty() && encrypted == 0 {
        return Err(refuse(ResponseFailure::Unsigned));
    }
    Ok(ReceivedResponse {
        in_response_to: shape
            .root_in_response_to
            .clone()
            .filter(|id| !id.is_empty()),
        signed_elements: shape.signed_elements,
        encrypted: encrypted == 1,
        destination: shape.root_destination,
        issuer: shape.root_issuer,
        xml,
    })
}

/// What the checks compare the response with.
pub struct Expected<'a> {
    pub sp_entity_id: &'a str,
    pub acs_url: &'a str,
    pub provider_entity_id: &'a str,
    pub certificates: &'a [SigningCertificate],
    /// The ID of the AuthnRequest this browser started.
    pub request_id: &'a str,
    /// Keys that may open an encrypted assertion, newest first.
    pub sp_keys: &'a [SpKey],
    pub now: DateTime<Utc>,
}

/// An assertion that passed every check; only what its signature covered.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct VerifiedAssertion {
    pub assertion_id: String,
    pub issuer: String,
    pub name_id: String,
    pub name_id_format: Option<String>,
    pub attributes: Vec<(String, Vec<String>)>,
    pub class_refs: Vec<String>,
    pub issue_instant: DateTime<Utc>,
    /// Until when the assertion could be accepted: the replay cache keeps its ID that long.
    pub usable_until: DateTime<Utc>,
    /// Which elements carried a signature ("Response", "Assertion").
    pub signed_elements: Vec<String>,
    /// The SHA-256 of the certificate that verified it.
    pub certificate: String,
    pub encrypted: bool,
}

/// Every check on a received response. Slow (XML and RSA): call it on a blocking thread.
pub fn verify(
    received: &ReceivedResponse,
    expected: &Expected<'_>,
) -> Result<VerifiedAssertion, ResponseFailure> {
    let valid: Vec<&SigningCertificate> = expected
        .certificates
        .iter()
        .filter(|c| c.not_after > expected.now)
        .collect();
    if valid.is_empty() {
        return Err(ResponseFailure::CertificateExpired);
    }
    let keys: Vec<Option<&SpKey>> = if expected.sp_keys.is_empty() {
        vec![None]
    } else {
        expected.sp_keys.iter().map(Some).collect()
    };
    // An encrypted assertion is opened first, then checked as a document of its own: it must
    // carry its own signature (the SP metadata asks for signed assertions), whether or not
    // the response around it is signed.
    let opened;
    let (document, signed_elements) = if received.encrypted {
        opened = open_assertion(&received.xml, expected.sp_keys)?;
        let shape = outline(&opened).map_err(|_| ResponseFailure::Decrypt)?;
        if shape.has_comments {
            return Err(ResponseFailure::Comments);
        }
        if !shape.root_is(SAML_ASSERTION_NS, "Assertion")
            || shape.count(SAML_ASSERTION_NS, "Assertion") != 1
        {
            return Err(ResponseFailure::Decrypt);
        }
        if shape.signed_elements.is_empty() {
            return Err(ResponseFailure::Unsigned);
        }
        (opened.as_str(), shape.signed_elements)
    } else {
        (received.xml.as_str(), received.signed_elements.clone())
    };
    let mut failure = ResponseFailure::Signature;
    // Each certificate on its own, so the inspector can say which one verified; each SP key
    // only when an assertion could not be opened with the newer one.
    'certificates: for certificate in valid {
        for key in &keys {
            let provider = service_provider(expected, certificate, *key)?;
            match provider.parse_xml_response(document, Some(&[expected.request_id])) {
                Ok(assertion) => {
                    return checked(assertion, received, expected, certificate, signed_elements);
                }
                Err(SamlError::FailedToDecryptAssertion | SamlError::EncryptedAssertionInvalid) => {
                    failure = ResponseFailure::Decrypt;
                    continue;
                }
                Err(SamlError::FailedToValidateSignature) => continue 'certificates,
                Err(other) => return Err(failure_of(&other)),
            }
        }
    }
    Err(failure)
}

fn service_provider(
    expected: &Expected<'_>,
    certificate: &SigningCertificate,
    key: Option<&SpKey>,
) -> Result<ServiceProvider, ResponseFailure> {
    let metadata: EntityDescriptor =
        provider_metadata(expected.provider_entity_id, &certificate.der)
            .parse()
            .map_err(|_| ResponseFailure::Malformed)?;
    Ok(ServiceProvider {
        entity_id: Some(expected.sp_entity_id.to_string()),
        key: key.map(|k| k.private_key.clone()),
        acs_url: Some(expected.acs_url.to_string()),
        idp_metadata: metadata,
        allow_idp_initiated: false,
        max_issue_delay: MAX_ASSERTION_AGE,
        max_clock_skew: CLOCK_SKEW,
        allowed_signature_algorithms: Some(ALLOWED_ALGORITHMS.to_vec()),
        ..ServiceProvider::default()
    })
}

/// The key transport accepted for an encrypted assertion: RSA-OAEP (RSA PKCS#1 v1.5 is open
/// to padding-oracle attacks and refused). The content ciphers are samael's: AES-128 in CBC
/// or GCM mode, as the SP metadata says.
pub const KEY_TRANSPORT: &str = "http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p";
pub const CONTENT_ENCRYPTION: [&str; 2] = [
    "http://www.w3.org/2009/xmlenc11#aes128-gcm",
    "http://www.w3.org/2001/04/xmlenc#aes128-cbc",
];

/// What an EncryptedAssertion carries: its content cipher and value, and the wrapped key.
#[derive(Default)]
struct Encrypted {
    value_method: Option<String>,
    value: Option<String>,
    key_method: Option<String>,
    key: Option<String>,
}

/// Reads the EncryptedAssertion's parts by their place (EncryptedData's own EncryptionMethod
/// and CipherValue; the EncryptedKey's), whatever prefixes the provider chose.
fn encrypted_parts(xml: &str) -> Result<Encrypted, ResponseFailure> {
    use quick_xml::{events::Event, NsReader};
    let mut reader = NsReader::from_str(xml);
    reader.config_mut().trim_text(true);
    let mut open: Vec<String> = Vec::new();
    let mut parts = Encrypted::default();
    loop {
        let event = reader
            .read_event()
            .map_err(|_| ResponseFailure::Malformed)?;
        match event {
            Event::Start(ref e) | Event::Empty(ref e) => {
                let local = String::from_utf8_lossy(e.local_name().as_ref()).into_owned();
                if local == "EncryptionMethod" {
                    let algorithm = e
                        .attributes()
                        .flatten()
                        .find(|a| a.key.local_name().as_ref() == b"Algorithm")
                        .map(|a| String::from_utf8_lossy(&a.value).into_owned());
                    let slot = if open.iter().any(|o| o == "EncryptedKey") {
                        &mut parts.key_method
                    } else {
                        &mut parts.value_method
                    };
                    slot.get_or_insert(algorithm.unwrap_or_default());
                }
                if matches!(event, Event::Start(_)) {
                    open.push(local);
                }
            }
            Event::End(_) => {
                open.pop();
            }
            Event::Text(ref t) if open.last().map(String::as_str) == Some("CipherValue") => {
                let text = t
                    .decode()
                    .map_err(|_| ResponseFailure::Malformed)?
                    .into_owned();
                let slot = if open.iter().any(|o| o == "EncryptedKey") {
                    &mut parts.key
                } else {
                    &mut parts.value
                };
                slot.get_or_insert(text);
            }
            Event::Eof => break,
            _ => {}
        }
    }
    Ok(parts)
}

/// The plaintext of the response's EncryptedAssertion, opened with the first SP key that
/// can (samael's XML-Encryption primitives, through openssl).
fn open_assertion(xml: &str, keys: &[SpKey]) -> Result<String, ResponseFailure> {
    use samael::{
        crypto::{Crypto, CryptoProvider},
        schema::CipherValue,
    };
    let parts = encrypted_parts(xml)?;
    let (Some(key_method), Some(key), Some(value_method), Some(value)) =
        (parts.key_method, parts.key, parts.value_method, parts.value)
    else {
        return Err(ResponseFailure::Decrypt);
    };
    if key_method != KEY_TRANSPORT || !CONTENT_ENCRYPTION.contains(&value_method.as_str()) {
        return Err(ResponseFailure::Decrypt);
    }
    let compact = |text: String| CipherValue {
        value: text.split_whitespace().collect(),
    };
    let (key, value) = (compact(key), compact(value));
    for sp_key in keys {
        let Ok(content_key) =
            Crypto::decrypt_assertion_key_info(&key, &key_method, &sp_key.private_key)
        else {
            continue;
        };
        let Ok(plaintext) =
            Crypto::decrypt_assertion_value_info(&value, &value_method, &content_key)
        else {
            continue;
        };
        // CBC leaves XML-Encryption's padding after the document: keep the element.
        let text = String::from_utf8_lossy(&plaintext);
        let (Some(start), Some(end)) = (text.find('<'), text.rfind('>')) else {
            return Err(ResponseFailure::Decrypt);
        };
        return Ok(text[start..=end].to_string());
    }
    Err(ResponseFailure::Decrypt)
}

/// The provider as samael reads it: its entity ID and one signing certificate.
fn provider_metadata(entity_id: &str, certificate: &str) -> String {
    let entity_id = entity_id
        .replace('&', "&amp;")
        .replace('"', "&quot;")
        .replace('<', "&lt;");
    format!(
        r#"<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" xmlns:ds="http://www.w3.org/2000/09/xmldsig#" entityID="{entity_id}"><md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol"><md:KeyDescriptor use="signing"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>{certificate}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor><md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="https://unused.invalid/"/></md:IDPSSODescriptor></md:EntityDescriptor>"#
    )
}

fn failure_of(error: &SamlError) -> ResponseFailure {
    let failure = samael_failure(error);
    // Not samael's own text: its InResponseTo errors print the expected request ID, which
    // is a sign-in's secret and never goes to the log.
    tracing::info!(?failure, "a SAML response was refused");
    failure
}

fn samael_failure(error: &SamlError) -> ResponseFailure {
    match error {
        SamlError::AssertionExpired { .. }
        | SamlError::ResponseExpired { .. }
        | SamlError::AssertionConditionExpired { .. }
        | SamlError::AssertionSubjectConfirmationExpired { .. } => ResponseFailure::Expired,
        SamlError::AssertionConditionExpiredBefore { .. }
        | SamlError::AssertionSubjectConfirmationExpiredBefore { .. } => {
            ResponseFailure::NotYetValid
        }
        SamlError::AssertionIssuerMismatch { .. } | SamlError::ResponseIssuerMismatch { .. } => {
            ResponseFailure::Issuer
        }
        SamlError::AssertionConditionAudienceRestrictionFailed { .. } => ResponseFailure::Audience,
        SamlError::AssertionRecipientMismatch { .. } => ResponseFailure::Recipient,
        SamlError::DestinationValidationError { .. } => ResponseFailure::Destination,
        SamlError::AssertionInResponseToInvalid { .. }
        | SamlError::ResponseInResponseToInvalid { .. } => ResponseFailure::InResponseTo,
        SamlError::ResponseBadStatusCode { code } => {
            ResponseFailure::ProviderRefused(code.rsplit(':').next().unwrap_or(code).to_string())
        }
        SamlError::MissingPrivateKeySP
        | SamlError::MissingEncryptedKeyInfo
        | SamlError::MissingEncryptedValueInfo
        | SamlError::EncryptedAssertionKeyMethodUnsupported { .. }
        | SamlError::EncryptedAssertionValueMethodUnsupported { .. } => ResponseFailure::Decrypt,
        SamlError::AssertionBearerSubjectConfirmationMissing
        | SamlError::AssertionSubjectConfirmationMissing => ResponseFailure::Recipient,
        _ => ResponseFailure::Malformed,
    }
}

/// What samael leaves open: a required audience, the issue instant's future, a subject.
fn checked(
    assertion: Assertion,
    received: &ReceivedResponse,
    expected: &Expected<'_>,
    certificate: &SigningCertificate,
    signed_elements: Vec<String>,
) -> Result<VerifiedAssertion, ResponseFailure> {
    let audiences: Vec<&String> = assertion
        .conditions
        .iter()
        .flat_map(|c| c.audience_restrictions.iter().flatten())
        .flat_map(|r| r.audience.iter())
        .collect();
    if !audiences
        .iter()
        .any(|a| a.as_str() == expected.sp_entity_id)
    {
        return Err(ResponseFailure::Audience);
    }
    if received
        .destination
        .as_deref()
        .is_some_and(|d| d != expected.acs_url)
    {
        return Err(ResponseFailure::Destination);
    }
    if received
        .issuer
        .as_deref()
        .is_some_and(|i| i != expected.provider_entity_id)
    {
        return Err(ResponseFailure::Issuer);
    }
    if assertion.issue_instant > expected.now + CLOCK_SKEW {
        return Err(ResponseFailure::IssuedInTheFuture);
    }
    let subject = assertion.subject.as_ref();
    let name_id = subject
        .and_then(|s| s.name_id.as_ref())
        .filter(|n| !n.value.trim().is_empty())
        .ok_or(ResponseFailure::NoSubject)?;
    let confirmed_until = subject
        .and_then(|s| s.subject_confirmations.as_ref())
        .into_iter()
        .flatten()
        .filter_map(|c| c.subject_confirmation_data.as_ref())
        .filter_map(|d| d.not_on_or_after)
        .max();
    let conditions_until = assertion
        .conditions
        .as_ref()
        .and_then(|c| c.not_on_or_after);
    let usable_until = [confirmed_until, conditions_until]
        .into_iter()
        .flatten()
        .min()
        .unwrap_or(assertion.issue_instant + MAX_ASSERTION_AGE)
        + CLOCK_SKEW;
    let attributes = assertion
        .attribute_statements
        .iter()
        .flatten()
        .flat_map(|s| s.attributes.iter())
        .filter_map(|a| {
            let name = a.name.clone()?;
            let values = a.values.iter().filter_map(|v| v.value.clone()).collect();
            Some((name, values))
        })
        .collect();
    let class_refs = assertion
        .authn_statements
        .iter()
        .flatten()
        .filter_map(|s| s.authn_context.as_ref()?.value.as_ref()?.value.clone())
        .collect();
    Ok(VerifiedAssertion {
        assertion_id: assertion.id.clone(),
        issuer: assertion.issuer.value.clone().unwrap_or_default(),
        name_id: name_id.value.trim().to_string(),
        name_id_format: name_id.format.clone(),
        attributes,
        class_refs,
        issue_instant: assertion.issue_instant,
        usable_until,
        signed_elements,
        certificate: certificate.sha256.clone(),
        encrypted: received.encrypted,
    })
}
