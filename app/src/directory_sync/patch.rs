//! PATCH (RFC 7644 §3.5.2) applied to a resource's JSON: the operations change the
//! document, and the result is then saved as a replacement would be, so a PATCH obeys
//! exactly the rules a PUT does. Reads what providers send: `op` in any case (Entra's
//! `Replace`), operations without `path` whose value is an object of attributes (dotted
//! or schema-prefixed names too), and value filters such as `emails[type eq "work"].value`.

use serde_json::{Map, Value};

use super::{
    filter::{parse_patch_path, AttrPath, CompareOp, Filter, Literal, PatchPath},
    protocol::{attribute, ScimError, PATCH_SCHEMA},
};

/// The most operations one PATCH may carry.
pub const MAX_OPERATIONS: usize = 1000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Add,
    Replace,
    Remove,
}

/// Applies a PATCH request's operations to `doc`, in order.
pub fn apply(doc: &mut Value, request: &Value) -> Result<(), ScimError> {
    if let Some(schemas) = attribute(request, "schemas").and_then(Value::as_array) {
        if !schemas.iter().any(|s| s.as_str() == Some(PATCH_SCHEMA)) {
            return Err(ScimError::invalid_syntax(format!(
                "A PATCH request's schemas must include {PATCH_SCHEMA}."
            )));
        }
    }
    let operations = attribute(request, "Operations")
        .and_then(Value::as_array)
        .ok_or_else(|| ScimError::invalid_syntax("A PATCH request needs an Operations array."))?;
    if operations.len() > MAX_OPERATIONS {
        return Err(ScimError::invalid_value(format!(
            "A PATCH request may carry at most {MAX_OPERATIONS} operations."
        )));
    }
    for (index, operation) in operations.iter().enumerate() {
        apply_one(doc, operation).map_err(|mut err| {
            err.detail = format!("Operation {}: {}", index + 1, err.detail);
            err
        })?;
    }
    Ok(())
}

fn apply_one(doc: &mut Value, operation: &Value) -> Result<(), ScimError> {
    let op = match attribute(operation, "op").and_then(Value::as_str) {
        Some(op) if op.eq_ignore_ascii_case("add") => Op::Add,
        Some(op) if op.eq_ignore_ascii_case("replace") => Op::Replace,
        Some(op) if op.eq_ignore_ascii_case("remove") => Op::Remove,
        _ => {
            return Err(ScimError::invalid_syntax(
                "op must be add, replace or remove.",
            ))
        }
    };
    let value = attribute(operation, "value").cloned();
    match attribute(operation, "path").and_then(Value::as_str) {
        Some(path) => {
            let path = parse_patch_path(path).map_err(|e| ScimError::invalid_path(e.0))?;
            apply_at(doc, op, &path, value)
        }
        None => {
            if op == Op::Remove {
                return Err(ScimError::no_target("A remove operation needs a path."));
            }
            let Some(Value::Object(attributes)) = value else {
                return Err(ScimError::invalid_syntax(
                    "An operation without a path needs an object of attributes as its value.",
                ));
            };
            for (name, value) in attributes {
                let path = parse_patch_path(&name).map_err(|e| ScimError::invalid_path(e.0))?;
                apply_at(doc, op, &path, Some(value))?;
            }
            Ok(())
        }
    }
}

fn apply_at(
    doc: &mut Value,
    op: Op,
    path: &PatchPath,
    value: Option<Value>,
) -> Result<(), ScimError> {
    if op != Op::Remove && value.is_none() {
        return Err(ScimError::invalid_syntax("add and replace need a value."));
    }
    let object = doc.as_object_mut().ok_or_else(ScimError::internal)?;
    let name = key_in(object, &path.attr.name);
    match (&path.filter, &path.attr.sub) {
        // `emails[type eq "work"].value`, `members[value eq "…"]`.
        (Some(filter), _) => {
            let list = object
                .entry(name)
                .or_insert_with(|| Value::Array(Vec::new()));
            if list.is_null() {
                *list = Value::Array(Vec::new());
            }
            let Value::Array(items) = list else {
                return Err(ScimError::invalid_path(format!(
                    "{} is not multi-valued: it takes no filter.",
                    path.attr.name
                )));
            };
            let matching: Vec<usize> = items
                .iter()
                .enumerate()
                .filter(|(_, item)| matches(filter, item))
                .map(|(i, _)| i)
                .collect();
            match (op, &path.sub) {
                (Op::Remove, None) => {
                    let mut index = 0;
                    items.retain(|_| {
                        let keep = !matching.contains(&index);
                        index += 1;
                        keep
                    });
                }
                (Op::Remove, Some(sub)) => {
                    for i in matching {
                        if let Some(item) = items[i].as_object_mut() {
                            let key = key_in(item, sub);
                            item.remove(&key);
                        }
                    }
                }
                (_, sub) => {
                    let value = value.unwrap_or(Value::Null);
                    if matching.is_empty() {
                        // Entra adds `emails[type eq "work"].value` to a user without one:
                        // the filter's equality becomes part of the new value.
                        let (Op::Add, Some((attr, Literal::String(wanted)))) =
                            (op, simple_equality(filter))
                        else {
                            return Err(ScimError::no_target(format!(
                                "No value of {} matches the filter.",
                                path.attr.name
                            )));
                        };
                        let mut item = Map::new();
                        item.insert(attr, Value::String(wanted));
                        match sub {
                            Some(sub) => {
                                item.insert(sub.clone(), value);
                            }
                            None => {
                                if let Value::Object(fields) = value {
                                    item.extend(fields);
                                }
                            }
                        }
                        items.push(Value::Object(item));
                    } else {
                        for i in matching {
                            match (sub, &value, items[i].as_object_mut()) {
                                (Some(sub), _, Some(item)) => {
                                    let key = key_in(item, sub);
                                    item.insert(key, value.clone());
                                }
                                (None, Value::Object(fields), Some(item)) => {
                                    for (k, v) in fields {
                                        let key = key_in(item, k);
                                        item.insert(key, v.clone());
                                    }
                                }
                                _ => items[i] = value.clone(),
                            }
                        }
                    }
                }
            }
            Ok(())
        }
        // `name.givenName`.
        (None, Some(sub)) => {
            match op {
                Op::Remove => {
                    if let Some(Value::Object(inner)) = object.get_mut(&name) {
                        let key = key_in(inner, sub);
                        inner.remove(&key);
                    }
                }
                _ => {
                    let inner = object
                        .entry(name)
                        .or_insert_with(|| Value::Object(Map::new()));
                    if !inner.is_object() {
                        *inner = Value::Object(Map::new());
                    }
                    if let Some(inner) = inner.as_object_mut() {
                        let key = key_in(inner, sub);
                        inner.insert(key, value.unwrap_or(Value::Null));
                    }
                }
            }
            Ok(())
        }
        // A whole attribute.
        (None, None) => {
            match (op, value) {
                (Op::Remove, _) => {
                    object.remove(&name);
                }
                // Adding to a multi-valued attribute appends (members in batches).
                (Op::Add, Some(Value::Array(new))) => match object.get_mut(&name) {
                    Some(Value::Array(items)) => {
                        for item in new {
                            if !items.contains(&item) {
                                items.push(item);
                            }
                        }
                    }
                    _ => {
                        object.insert(name, Value::Array(new));
                    }
                },
                // Adding an object merges it into a complex attribute.
                (Op::Add, Some(Value::Object(fields))) => match object.get_mut(&name) {
                    Some(Value::Object(inner)) => inner.extend(fields),
                    _ => {
                        object.insert(name, Value::Object(fields));
                    }
                },
                (_, Some(value)) => {
                    object.insert(name, value);
                }
                (_, None) => {}
            }
            Ok(())
        }
    }
}

/// The document's own spelling of an attribute name (names are case-insensitive).
fn key_in(object: &Map<String, Value>, name: &str) -> String {
    object
        .keys()
        .find(|key| key.eq_ignore_ascii_case(name))
        .cloned()
        .unwrap_or_else(|| name.to_string())
}

/// `attr eq value`, the one filter a value can be made from.
fn simple_equality(filter: &Filter) -> Option<(String, Literal)> {
    match filter {
        Filter::Compare {
            path: AttrPath {
                name, sub: None, ..
            },
            op: CompareOp::Eq,
            value,
        } => Some((name.clone(), value.clone())),
        _ => None,
    }
}

/// Whether one value of a multi-valued attribute matches a value filter.
pub fn matches(filter: &Filter, item: &Value) -> bool {
    match filter {
        Filter::And(a, b) => matches(a, item) && matches(b, item),
        Filter::Or(a, b) => matches(a, item) || matches(b, item),
        Filter::Not(inner) => !matches(inner, item),
        Filter::Present(path) => field(item, path).is_some_and(|v| !v.is_null()),
        Filter::ValuePath { .. } => false,
        Filter::Compare { path, op, value } => {
            let Some(found) = field(item, path) else {
                return *op == CompareOp::Ne;
            };
            compare(found, *op, value)
        }
    }
}

fn field<'a>(item: &'a Value, path: &AttrPath) -> Option<&'a Value> {
    let first = attribute(item, &path.name)?;
    match &path.sub {
        Some(sub) => attribute(first, sub),
        None => Some(first),
    }
}

fn compare(found: &Value, op: CompareOp, wanted: &Literal) -> bool {
    use std::cmp::Ordering;
    let ordering = match (found, wanted) {
        (Value::String(have), Literal::String(want)) => {
            let (have, want) = (have.to_lowercase(), want.to_lowercase());
            match op {
                CompareOp::Co => return have.contains(&want),
                CompareOp::Sw => return have.starts_with(&want),
                CompareOp::Ew => return have.ends_with(&want),
                _ => have.cmp(&want),
            }
        }
        (Value::Bool(have), Literal::Bool(want)) => have.cmp(want),
        (Value::Number(have), Literal::Number(want)) => match have.as_f64() {
            Some(have) => have.partial_cmp(want).unwrap_or(Ordering::Less),
            None => return false,
        },
        (Value::Null, Literal::Null) => Ordering::Equal,
        _ => return op == CompareOp::Ne,
    };
    match op {
        CompareOp::Eq => ordering == Ordering::Equal,
        CompareOp::Ne => ordering != Ordering::Equal,
        CompareOp::Gt => ordering == Ordering::Greater,
        CompareOp::Ge => ordering != Ordering::Less,
        CompareOp::Lt => ordering == Ordering::Less,
        CompareOp::Le => ordering != Ordering::Greater,
        CompareOp::Co | CompareOp::Sw | CompareOp::Ew => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn patch(ops: Value) -> Value {
        json!({"schemas": [PATCH_SCHEMA], "Operations": ops})
    }

    #[test]
    fn entra_replaces_without_a_path_and_with_a_capital_op() {
        let mut user = json!({"userName": "a@example.com", "active": true});
        apply(
            &mut user,
            &patch(
                json!([{"op": "Replace", "value": {"active": "False", "name.givenName": "Ann"}}]),
            ),
        )
        .unwrap();
        assert_eq!(user["active"], json!("False"));
        assert_eq!(user["name"]["givenName"], json!("Ann"));
    }

    #[test]
    fn a_value_filter_selects_the_work_address() {
        let mut user = json!({"emails": [
            {"type": "home", "value": "a@home.example"},
            {"type": "work", "value": "a@example.com", "primary": true}
        ]});
        apply(
            &mut user,
            &patch(json!([{"op": "replace", "path": "emails[type eq \"work\"].value", "value": "b@example.com"}])),
        )
        .unwrap();
        assert_eq!(user["emails"][1]["value"], json!("b@example.com"));
        assert_eq!(user["emails"][0]["value"], json!("a@home.example"));
        // Added where no value matched: the filter's equality is part of the new value.
        let mut bare = json!({"userName": "c@example.com"});
        apply(
            &mut bare,
            &patch(json!([{"op": "Add", "path": "emails[type eq \"work\"].value", "value": "c@example.com"}])),
        )
        .unwrap();
        assert_eq!(
            bare["emails"],
            json!([{"type": "work", "value": "c@example.com"}])
        );
        // Replaced where none matched: nothing to replace.
        let err = apply(
            &mut json!({"emails": []}),
            &patch(
                json!([{"op": "replace", "path": "emails[type eq \"home\"].value", "value": "x"}]),
            ),
        )
        .unwrap_err();
        assert_eq!(err.scim_type, Some("noTarget"));
    }

    #[test]
    fn members_are_added_in_batches_and_removed_by_filter() {
        let mut group = json!({"displayName": "Eng", "members": [{"value": "1"}]});
        let batch: Vec<Value> = (2..=150).map(|i| json!({"value": i.to_string()})).collect();
        apply(
            &mut group,
            &patch(json!([{"op": "add", "path": "members", "value": batch}])),
        )
        .unwrap();
        assert_eq!(group["members"].as_array().unwrap().len(), 150);
        apply(
            &mut group,
            &patch(json!([{"op": "remove", "path": "members[value eq \"1\"]"}])),
        )
        .unwrap();
        assert_eq!(group["members"].as_array().unwrap().len(), 149);
        assert_eq!(group["members"][0]["value"], json!("2"));
    }

    #[test]
    fn bad_operations_are_named() {
        let err = apply(&mut json!({}), &patch(json!([{"op": "move", "path": "x"}]))).unwrap_err();
        assert!(err.detail.starts_with("Operation 1:"), "{}", err.detail);
        let err = apply(&mut json!({}), &patch(json!([{"op": "remove"}]))).unwrap_err();
        assert_eq!(err.scim_type, Some("noTarget"));
        let err = apply(&mut json!({}), &json!({"Operations": "x"})).unwrap_err();
        assert_eq!(err.scim_type, Some("invalidSyntax"));
    }
}
