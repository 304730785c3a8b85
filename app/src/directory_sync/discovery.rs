//! The discovery documents (RFC 7643 §5–7, RFC 7644 §4): what this service provider does,
//! said honestly. PATCH, filters and sorting are supported; bulk, password changes and
//! ETags are not.

use serde_json::{json, Value};

use super::protocol::{GROUP_SCHEMA, LIST_SCHEMA, USER_SCHEMA};

/// The most resources one list page returns.
pub const MAX_PAGE: u64 = 500;

pub fn service_provider_config(base: &str) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"],
        "documentationUri": format!("{}/api/docs", base.trim_end_matches("/scim/v2")),
        "patch": {"supported": true},
        "bulk": {"supported": false, "maxOperations": 0, "maxPayloadSize": 0},
        "filter": {"supported": true, "maxResults": MAX_PAGE},
        "changePassword": {"supported": false},
        "sort": {"supported": true},
        "etag": {"supported": false},
        "authenticationSchemes": [{
            "type": "oauthbearertoken",
            "name": "Directory sync token",
            "description": "The organization's directory sync token (ods_…) as a bearer token, from Organization Profile → Settings → Directory sync (SCIM).",
            "primary": true
        }],
        "meta": {
            "resourceType": "ServiceProviderConfig",
            "location": format!("{base}/ServiceProviderConfig")
        }
    })
}

fn resource_type(base: &str, id: &str, endpoint: &str, schema: &str, extensions: Value) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ResourceType"],
        "id": id,
        "name": id,
        "endpoint": endpoint,
        "description": format!("{id}s of the organization's directory"),
        "schema": schema,
        "schemaExtensions": extensions,
        "meta": {"resourceType": "ResourceType", "location": format!("{base}/ResourceTypes/{id}")}
    })
}

pub fn resource_types(base: &str) -> Vec<Value> {
    vec![
        // No schema extensions: the enterprise extension's attributes are not kept.
        resource_type(base, "User", "/Users", USER_SCHEMA, json!([])),
        resource_type(base, "Group", "/Groups", GROUP_SCHEMA, json!([])),
    ]
}

fn attribute(
    name: &str,
    kind: &str,
    required: bool,
    case_exact: bool,
    mutability: &str,
    uniqueness: &str,
) -> Value {
    json!({
        "name": name, "type": kind, "multiValued": false, "required": required,
        "caseExact": case_exact, "mutability": mutability, "returned": "default",
        "uniqueness": uniqueness, "description": name
    })
}

fn canonical(mut attribute: Value, values: &[&str]) -> Value {
    attribute["canonicalValues"] = json!(values);
    attribute
}

fn references(mut attribute: Value, types: &[&str]) -> Value {
    attribute["referenceTypes"] = json!(types);
    attribute
}

fn complex(name: &str, multi: bool, subs: Vec<Value>) -> Value {
    json!({
        "name": name, "type": "complex", "multiValued": multi, "required": false,
        "mutability": "readWrite", "returned": "default", "subAttributes": subs,
        "description": name
    })
}

fn schema(base: &str, id: &str, name: &str, attributes: Vec<Value>) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Schema"],
        "id": id, "name": name, "description": name, "attributes": attributes,
        "meta": {"resourceType": "Schema", "location": format!("{base}/Schemas/{id}")}
    })
}

pub fn schemas(base: &str) -> Vec<Value> {
    let string = |name: &str| attribute(name, "string", false, false, "readWrite", "none");
    let user = schema(
        base,
        USER_SCHEMA,
        "User",
        vec![
            attribute("userName", "string", true, false, "readWrite", "server"),
            complex(
                "name",
                false,
                vec![
                    string("formatted"),
                    string("givenName"),
                    string("familyName"),
                ],
            ),
            string("displayName"),
            complex(
                "emails",
                true,
                vec![
                    string("value"),
                    canonical(string("type"), &["work", "home", "other"]),
                    attribute("primary", "boolean", false, false, "readWrite", "none"),
                ],
            ),
            // Required: whether the person may be in the organization is the point of a
            // User (a request without it is read as active).
            attribute("active", "boolean", true, false, "readWrite", "none"),
        ],
    );
    let group = schema(
        base,
        GROUP_SCHEMA,
        "Group",
        vec![
            attribute("displayName", "string", true, false, "readWrite", "server"),
            complex(
                "members",
                true,
                vec![
                    attribute("value", "string", false, true, "immutable", "none"),
                    references(
                        attribute("$ref", "reference", false, true, "immutable", "none"),
                        &["User"],
                    ),
                    attribute("display", "string", false, false, "readOnly", "none"),
                    canonical(
                        attribute("type", "string", false, false, "immutable", "none"),
                        &["User"],
                    ),
                ],
            ),
        ],
    );
    vec![user, group]
}

/// A list of discovery documents.
pub fn listed(resources: Vec<Value>) -> Value {
    json!({
        "schemas": [LIST_SCHEMA],
        "totalResults": resources.len(),
        "startIndex": 1,
        "itemsPerPage": resources.len(),
        "Resources": resources,
    })
}
