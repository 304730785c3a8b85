//! What Orgdesk reads of a SAML document before any other parser or the signature check
//! sees it: that it is XML without a DOCTYPE (no entities, no external references), which
//! elements it holds and how many, and whether it carries comments (a comment inside a
//! signed value changes what a naive reader sees without breaking the signature).

use std::collections::HashMap;

use quick_xml::{
    events::Event,
    name::{Namespace, ResolveResult},
    NsReader,
};

pub const SAML_ASSERTION_NS: &str = "urn:oasis:names:tc:SAML:2.0:assertion";
pub const SAML_PROTOCOL_NS: &str = "urn:oasis:names:tc:SAML:2.0:protocol";
pub const SAML_METADATA_NS: &str = "urn:oasis:names:tc:SAML:2.0:metadata";
pub const XML_DSIG_NS: &str = "http://www.w3.org/2000/09/xmldsig#";

/// Why a document was refused before it was read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    NotXml,
    Doctype,
}

/// The outline of a document: its root and how often each element occurs.
#[derive(Debug, Default)]
pub struct Outline {
    root: Option<(String, String)>,
    counts: HashMap<(String, String), usize>,
    pub has_comments: bool,
    /// The root element's `InResponseTo` (unverified): which sign-in a refused response
    /// claims to answer, so that an owner's test can say why it was refused.
    pub root_in_response_to: Option<String>,
    /// The root's Destination and the text of its own Issuer child (unverified).
    pub root_destination: Option<String>,
    pub root_issuer: Option<String>,
    /// The local name of each `ds:Signature`'s parent element, in document order.
    pub signed_elements: Vec<String>,
}

impl Outline {
    /// How many `local` elements in namespace `namespace` the document holds, at any depth.
    pub fn count(&self, namespace: &str, local: &str) -> usize {
        self.counts
            .get(&(namespace.to_string(), local.to_string()))
            .copied()
            .unwrap_or(0)
    }

    pub fn root_is(&self, namespace: &str, local: &str) -> bool {
        self.root
            .as_ref()
            .is_some_and(|(ns, name)| ns == namespace && name == local)
    }
}

/// Reads the whole document once, with a streaming reader that never expands entities.
pub fn outline(xml: &str) -> Result<Outline, Refusal> {
    let mut reader = NsReader::from_str(xml);
    reader.config_mut().trim_text(true);
    let mut outline = Outline::default();
    let mut depth = 0usize;
    // The open elements' local names, for naming what each signature signs.
    let mut open: Vec<String> = Vec::new();
    loop {
        let (resolved, event) = reader.read_resolved_event().map_err(|_| Refusal::NotXml)?;
        match event {
            Event::DocType(_) => return Err(Refusal::Doctype),
            Event::Comment(_) => outline.has_comments = true,
            Event::Start(ref element) | Event::Empty(ref element) => {
                if depth == 0 && outline.root.is_some() {
                    // A second root element: not one document.
                    return Err(Refusal::NotXml);
                }
                let namespace = match resolved {
                    ResolveResult::Bound(Namespace(ns)) => String::from_utf8_lossy(ns).into_owned(),
                    ResolveResult::Unbound => String::new(),
                    ResolveResult::Unknown(_) => return Err(Refusal::NotXml),
                };
                let local = String::from_utf8_lossy(element.local_name().as_ref()).into_owned();
                if depth == 0 {
                    outline.root = Some((namespace.clone(), local.clone()));
                    let attribute = |name: &[u8]| {
                        element
                            .attributes()
                            .flatten()
                            .find(|a| a.key.local_name().as_ref() == name)
                            .map(|a| String::from_utf8_lossy(&a.value).into_owned())
                    };
                    outline.root_in_response_to = attribute(b"InResponseTo");
                    outline.root_destination = attribute(b"Destination");
                }
                if namespace == XML_DSIG_NS && local == "Signature" {
                    outline
                        .signed_elements
                        .push(open.last().cloned().unwrap_or_default());
                }
                if matches!(event, Event::Start(_)) {
                    depth += 1;
                    open.push(local.clone());
                }
                *outline.counts.entry((namespace, local)).or_default() += 1;
            }
            Event::End(_) => {
                depth = depth.saturating_sub(1);
                open.pop();
            }
            Event::Text(ref text)
                if depth == 2
                    && outline.root_issuer.is_none()
                    && open.last().map(String::as_str) == Some("Issuer") =>
            {
                outline.root_issuer = text.decode().ok().map(|t| t.trim().to_string());
            }
            // Text outside the root (whitespace is trimmed away before it gets here).
            Event::Text(_) if depth == 0 => return Err(Refusal::NotXml),
            Event::Eof => break,
            _ => {}
        }
    }
    if outline.root.is_none() || depth > 0 {
        return Err(Refusal::NotXml);
    }
    Ok(outline)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_doctype_is_refused_before_anything_is_read() {
        let xml = r#"<?xml version="1.0"?><!DOCTYPE r [<!ENTITY e "x">]><r>&e;</r>"#;
        assert_eq!(outline(xml).err(), Some(Refusal::Doctype));
    }

    #[test]
    fn elements_are_counted_by_namespace_whatever_their_prefix() {
        let xml = format!(
            r#"<p:Response xmlns:p="{SAML_PROTOCOL_NS}"><a:Assertion xmlns:a="{SAML_ASSERTION_NS}"/><Assertion xmlns="{SAML_ASSERTION_NS}"><!-- x --></Assertion><Assertion/></p:Response>"#
        );
        let outline = outline(&xml).expect("well-formed");
        assert!(outline.root_is(SAML_PROTOCOL_NS, "Response"));
        assert_eq!(outline.count(SAML_ASSERTION_NS, "Assertion"), 2);
        assert_eq!(outline.count("", "Assertion"), 1);
        assert!(outline.has_comments);
    }

    #[test]
    fn text_that_is_not_xml_is_refused() {
        for text in ["", "hello", "<a>", "<a></b>", "<a/><b/>", "<x:a/>"] {
            assert_eq!(outline(text).err(), Some(Refusal::NotXml), "{text}");
        }
    }
}
