//! SCIM filters (RFC 7644 §3.4.2.2) and PATCH paths (§3.5.2), parsed with winnow into a
//! tree the queries translate. The grammar's precedence is `not` over `and` over `or`;
//! operators and keywords are case-insensitive. A filter is limited in length and in
//! nesting before it is parsed, so no request can make parsing or its query expensive.

use winnow::{
    ascii::{multispace0, multispace1, Caseless},
    combinator::{alt, cut_err, delimited, opt, preceded, repeat, terminated},
    error::{ContextError, ErrMode, StrContext, StrContextValue},
    token::{one_of, take_while},
    ModalResult, Parser,
};

/// The longest filter accepted, in characters.
pub const MAX_FILTER_CHARS: usize = 1000;
/// The deepest nesting of parentheses and brackets accepted.
pub const MAX_NESTING: usize = 8;

/// A parsed filter.
#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    Compare {
        path: AttrPath,
        op: CompareOp,
        value: Literal,
    },
    Present(AttrPath),
    And(Box<Filter>, Box<Filter>),
    Or(Box<Filter>, Box<Filter>),
    Not(Box<Filter>),
    /// `emails[type eq "work"]`: the filter applies to each value of a multi-valued
    /// attribute; true when one value matches.
    ValuePath {
        path: AttrPath,
        filter: Box<Filter>,
    },
}

/// `urn:…:User:name.givenName`: an attribute, perhaps with its schema and a sub-attribute.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttrPath {
    pub schema: Option<String>,
    pub name: String,
    pub sub: Option<String>,
}

impl AttrPath {
    /// The path as `name` or `name.sub`, lowercased (SCIM attribute names are
    /// case-insensitive).
    pub fn key(&self) -> String {
        match &self.sub {
            Some(sub) => format!("{}.{}", self.name, sub).to_ascii_lowercase(),
            None => self.name.to_ascii_lowercase(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompareOp {
    Eq,
    Ne,
    Co,
    Sw,
    Ew,
    Gt,
    Ge,
    Lt,
    Le,
}

/// A comparison's value.
#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    String(String),
    Number(f64),
    Bool(bool),
    Null,
}

/// A PATCH operation's `path`: an attribute, perhaps narrowed to the values a filter
/// selects, perhaps then to one of their sub-attributes (`emails[type eq "work"].value`).
#[derive(Debug, Clone, PartialEq)]
pub struct PatchPath {
    pub attr: AttrPath,
    pub filter: Option<Filter>,
    pub sub: Option<String>,
}

/// Why a filter or path was refused, as a sentence for the SCIM error's `detail`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct FilterError(pub String);

/// Parses a `filter` parameter.
pub fn parse_filter(text: &str) -> Result<Filter, FilterError> {
    check_size(text)?;
    finish(text, terminated(filter, multispace0))
}

/// Parses a PATCH operation's `path`.
pub fn parse_patch_path(text: &str) -> Result<PatchPath, FilterError> {
    check_size(text)?;
    finish(text, patch_path)
}

fn check_size(text: &str) -> Result<(), FilterError> {
    if text.chars().count() > MAX_FILTER_CHARS {
        return Err(FilterError(format!(
            "The filter is longer than {MAX_FILTER_CHARS} characters."
        )));
    }
    if text.trim().is_empty() {
        return Err(FilterError("The filter is empty.".into()));
    }
    // Outside string literals: a string may hold any bracket.
    let (mut depth, mut deepest, mut quoted, mut escaped) = (0usize, 0usize, false, false);
    for c in text.chars() {
        match (quoted, escaped, c) {
            (true, true, _) => escaped = false,
            (true, false, '\\') => escaped = true,
            (true, false, '"') => quoted = false,
            (false, _, '"') => quoted = true,
            (false, _, '(' | '[') => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            (false, _, ')' | ']') => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    if deepest > MAX_NESTING {
        return Err(FilterError(format!(
            "The filter nests parentheses or brackets {deepest} deep; at most {MAX_NESTING} are accepted."
        )));
    }
    Ok(())
}

fn finish<'i, T>(
    text: &'i str,
    mut parser: impl Parser<&'i str, T, ErrMode<ContextError>>,
) -> Result<T, FilterError> {
    // winnow's `parse` wants the whole input consumed and reports where it stopped.
    parser.parse(text).map_err(|err| {
        let at = text[..err.offset()].chars().count() + 1;
        let expected = err.inner().to_string();
        let expected = expected.trim();
        FilterError(if expected.is_empty() {
            format!("The filter could not be read at character {at}.")
        } else {
            format!("The filter could not be read at character {at}: {expected}.")
        })
    })
}

fn filter(input: &mut &str) -> ModalResult<Filter> {
    let first = and_term(input)?;
    let rest: Vec<Filter> = repeat(
        0..,
        preceded(
            (multispace1, Caseless("or"), multispace1),
            cut_err(and_term),
        ),
    )
    .parse_next(input)?;
    Ok(rest.into_iter().fold(first, |left, right| {
        Filter::Or(Box::new(left), Box::new(right))
    }))
}

fn and_term(input: &mut &str) -> ModalResult<Filter> {
    let first = factor(input)?;
    let rest: Vec<Filter> = repeat(
        0..,
        preceded((multispace1, Caseless("and"), multispace1), cut_err(factor)),
    )
    .parse_next(input)?;
    Ok(rest.into_iter().fold(first, |left, right| {
        Filter::And(Box::new(left), Box::new(right))
    }))
}

fn factor(input: &mut &str) -> ModalResult<Filter> {
    preceded(
        multispace0,
        alt((
            preceded((Caseless("not"), multispace0), parenthesised)
                .map(|inner| Filter::Not(Box::new(inner))),
            parenthesised,
            attribute_expression,
        )),
    )
    .parse_next(input)
}

fn parenthesised(input: &mut &str) -> ModalResult<Filter> {
    delimited(
        ('(', multispace0),
        cut_err(filter),
        cut_err((multispace0, ')')).context(expected("a closing parenthesis")),
    )
    .parse_next(input)
}

fn attribute_expression(input: &mut &str) -> ModalResult<Filter> {
    let path = attr_path.parse_next(input)?;
    if let Some(inner) = opt(delimited(
        ('[', multispace0),
        cut_err(filter),
        cut_err((multispace0, ']')).context(expected("a closing bracket")),
    ))
    .parse_next(input)?
    {
        return Ok(Filter::ValuePath {
            path,
            filter: Box::new(inner),
        });
    }
    multispace1
        .context(expected("an operator after the attribute"))
        .parse_next(input)?;
    let op = cut_err(alt((Caseless("pr").value(None), compare_op.map(Some))))
        .context(expected("an operator: eq ne co sw ew pr gt ge lt le"))
        .parse_next(input)?;
    match op {
        None => Ok(Filter::Present(path)),
        Some(op) => {
            let value = cut_err(preceded(multispace1, literal))
                .context(expected(
                    "a value: a quoted string, a number, true, false or null",
                ))
                .parse_next(input)?;
            Ok(Filter::Compare { path, op, value })
        }
    }
}

fn compare_op(input: &mut &str) -> ModalResult<CompareOp> {
    alt((
        Caseless("eq").value(CompareOp::Eq),
        Caseless("ne").value(CompareOp::Ne),
        Caseless("co").value(CompareOp::Co),
        Caseless("sw").value(CompareOp::Sw),
        Caseless("ew").value(CompareOp::Ew),
        Caseless("gt").value(CompareOp::Gt),
        Caseless("ge").value(CompareOp::Ge),
        Caseless("lt").value(CompareOp::Lt),
        Caseless("le").value(CompareOp::Le),
    ))
    .parse_next(input)
}

fn expected(what: &'static str) -> StrContext {
    StrContext::Expected(StrContextValue::Description(what))
}

fn name(input: &mut &str) -> ModalResult<String> {
    (
        one_of(|c: char| c.is_ascii_alphabetic() || c == '$'),
        take_while(0.., |c: char| {
            c.is_ascii_alphanumeric() || c == '_' || c == '-'
        }),
    )
        .take()
        .map(str::to_string)
        .parse_next(input)
}

/// `[URI ":"] name ["." sub]`. A schema URI is told apart by its colons: the attribute is
/// what follows the last one.
fn attr_path(input: &mut &str) -> ModalResult<AttrPath> {
    let text: &str = take_while(1.., |c: char| {
        c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | ':' | '$')
    })
    .context(expected("an attribute name"))
    .parse_next(input)?;
    let (schema, rest) = match text.rfind(':') {
        Some(at) => (Some(text[..at].to_string()), &text[at + 1..]),
        None => (None, text),
    };
    let mut parts = rest.splitn(2, '.');
    let mut first = parts.next().unwrap_or_default();
    let sub = parts.next();
    let name = name.parse_next(&mut first).map_err(|e| e.cut())?;
    if !first.is_empty() {
        return Err(ErrMode::Cut(ContextError::new()));
    }
    let sub = match sub {
        Some(mut sub) => {
            let parsed = name_only(&mut sub)?;
            Some(parsed)
        }
        None => None,
    };
    Ok(AttrPath { schema, name, sub })
}

fn name_only(input: &mut &str) -> ModalResult<String> {
    let parsed = name.parse_next(input).map_err(|e| e.cut())?;
    if input.is_empty() {
        Ok(parsed)
    } else {
        Err(ErrMode::Cut(ContextError::new()))
    }
}

fn literal(input: &mut &str) -> ModalResult<Literal> {
    alt((
        json_string.map(Literal::String),
        Caseless("true").value(Literal::Bool(true)),
        Caseless("false").value(Literal::Bool(false)),
        Caseless("null").value(Literal::Null),
        number.map(Literal::Number),
    ))
    .parse_next(input)
}

/// A JSON string, unescaped by serde_json.
fn json_string(input: &mut &str) -> ModalResult<String> {
    let raw: &str = (
        '"',
        repeat::<_, _, (), _, _>(
            0..,
            alt((
                ('\\', one_of(|_| true)).void(),
                take_while(1.., |c: char| c != '"' && c != '\\').void(),
            )),
        ),
        cut_err('"').context(expected("a closing quote")),
    )
        .take()
        .parse_next(input)?;
    serde_json::from_str(raw).map_err(|_| ErrMode::Cut(ContextError::new()))
}

fn number(input: &mut &str) -> ModalResult<f64> {
    let raw: &str = take_while(1.., |c: char| {
        c.is_ascii_digit() || matches!(c, '-' | '+' | '.' | 'e' | 'E')
    })
    .parse_next(input)?;
    raw.parse::<f64>()
        .ok()
        .filter(|n| n.is_finite())
        .ok_or_else(|| ErrMode::Backtrack(ContextError::new()))
}

fn patch_path(input: &mut &str) -> ModalResult<PatchPath> {
    let attr = preceded(multispace0, attr_path).parse_next(input)?;
    let filter = opt(delimited(
        ('[', multispace0),
        cut_err(filter),
        cut_err((multispace0, ']')).context(expected("a closing bracket")),
    ))
    .parse_next(input)?;
    let sub = match filter {
        Some(_) => opt(preceded('.', cut_err(name))).parse_next(input)?,
        None => None,
    };
    multispace0.parse_next(input)?;
    Ok(PatchPath { attr, filter, sub })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(name: &str) -> AttrPath {
        AttrPath {
            schema: None,
            name: name.into(),
            sub: None,
        }
    }

    #[test]
    fn the_rfc_examples_parse() {
        for example in [
            r#"userName eq "bjensen""#,
            r#"name.familyName co "O'Malley""#,
            r#"userName sw "J""#,
            r#"urn:ietf:params:scim:schemas:core:2.0:User:userName sw "J""#,
            "title pr",
            r#"meta.lastModified gt "2011-05-13T04:42:34Z""#,
            r#"title pr and userType eq "Employee""#,
            r#"title pr or userType eq "Intern""#,
            r#"schemas eq "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User""#,
            r#"userType eq "Employee" and (emails co "example.com" or emails.value co "example.org")"#,
            r#"userType ne "Employee" and not (emails co "example.com" or emails.value co "example.org")"#,
            r#"userType eq "Employee" and emails[type eq "work" and value co "@example.com"]"#,
            r#"emails[type eq "work" and value co "@example.com"] or ims[type eq "xmpp" and value co "@foo.com"]"#,
        ] {
            parse_filter(example).unwrap_or_else(|e| panic!("{example}: {e}"));
        }
    }

    #[test]
    fn and_binds_tighter_than_or_and_keywords_ignore_case() {
        let parsed = parse_filter(r#"a eq 1 OR b Pr AND c EQ true"#).unwrap();
        assert_eq!(
            parsed,
            Filter::Or(
                Box::new(Filter::Compare {
                    path: path("a"),
                    op: CompareOp::Eq,
                    value: Literal::Number(1.0)
                }),
                Box::new(Filter::And(
                    Box::new(Filter::Present(path("b"))),
                    Box::new(Filter::Compare {
                        path: path("c"),
                        op: CompareOp::Eq,
                        value: Literal::Bool(true)
                    })
                ))
            )
        );
    }

    #[test]
    fn strings_are_unescaped_and_may_hold_brackets() {
        let parsed = parse_filter(r#"displayName eq "a \"(b)\" [c]""#).unwrap();
        assert_eq!(
            parsed,
            Filter::Compare {
                path: path("displayName"),
                op: CompareOp::Eq,
                value: Literal::String(r#"a "(b)" [c]"#.into())
            }
        );
    }

    #[test]
    fn bad_filters_are_refused_with_where() {
        for bad in [
            "userName",
            r#"userName eq"#,
            r#"userName equals "x""#,
            r#"userName eq "x"#,
            r#"(userName eq "x""#,
            r#"userName eq "x" and"#,
            r#"userName eq "x" garbage"#,
            r#"emails[type eq "work""#,
        ] {
            let err = parse_filter(bad).expect_err(bad);
            assert!(err.0.starts_with("The filter"), "{bad}: {err}");
        }
    }

    #[test]
    fn long_and_deep_filters_are_refused_before_parsing() {
        let long = format!(r#"userName eq "{}""#, "a".repeat(10_000));
        assert!(parse_filter(&long).unwrap_err().0.contains("longer than"));
        let deep = format!("{}userName pr{}", "(".repeat(100), ")".repeat(100));
        assert!(parse_filter(&deep).unwrap_err().0.contains("nests"));
        let fine = format!("{}userName pr{}", "(".repeat(8), ")".repeat(8));
        parse_filter(&fine).unwrap();
    }

    #[test]
    fn patch_paths_name_values_and_their_sub_attributes() {
        let parsed = parse_patch_path(r#"emails[type eq "work"].value"#).unwrap();
        assert_eq!(parsed.attr, path("emails"));
        assert_eq!(parsed.sub.as_deref(), Some("value"));
        assert!(parsed.filter.is_some());
        let members = parse_patch_path(r#"members[value eq "2819c223"]"#).unwrap();
        assert_eq!(members.attr, path("members"));
        let plain = parse_patch_path("name.givenName").unwrap();
        assert_eq!(plain.attr.key(), "name.givenname");
        let enterprise = parse_patch_path(
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber",
        )
        .unwrap();
        assert_eq!(enterprise.attr.name, "employeeNumber");
        assert_eq!(
            enterprise.attr.schema.as_deref(),
            Some("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User")
        );
    }
}
