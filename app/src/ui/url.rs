//! Building URLs for links and redirects.

/// Percent-encodes a value for a query parameter.
pub fn urlencode(value: &str) -> String {
    form_urlencoded::byte_serialize(value.as_bytes()).collect()
}
