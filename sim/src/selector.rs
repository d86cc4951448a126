//! `labelSelector` (full set-based syntax) and `fieldSelector` (`metadata.name`, `metadata.namespace`).

use std::collections::BTreeSet;

use serde_json::Value;

use crate::error::{ApiError, Result};

#[derive(Clone, Debug, PartialEq, Eq)]
enum Requirement {
    Exists(String),
    NotExists(String),
    In(String, BTreeSet<String>),
    NotIn(String, BTreeSet<String>),
    Greater(String, i64),
    Less(String, i64),
}

/// A parsed label selector; the empty selector matches everything.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LabelSelector(Vec<Requirement>);

impl LabelSelector {
    pub fn parse(input: &str) -> Result<Self> {
        let bad = |why: &str| ApiError::BadRequest(format!("unable to parse requirement: {why} in selector {input:?}"));
        let mut reqs = Vec::new();
        for term in split_terms(input) {
            let term = term.trim();
            if term.is_empty() {
                continue;
            }
            let req = if let Some(key) = term.strip_prefix('!') {
                Requirement::NotExists(valid_key(key.trim()).map_err(|e| bad(&e))?)
            } else if let Some((key, rest)) = split_set_op(term, " notin ") {
                Requirement::NotIn(valid_key(key).map_err(|e| bad(&e))?, parse_set(rest).map_err(|e| bad(&e))?)
            } else if let Some((key, rest)) = split_set_op(term, " in ") {
                Requirement::In(valid_key(key).map_err(|e| bad(&e))?, parse_set(rest).map_err(|e| bad(&e))?)
            } else if let Some((key, value)) = term.split_once("!=") {
                Requirement::NotIn(
                    valid_key(key).map_err(|e| bad(&e))?,
                    [valid_value(value).map_err(|e| bad(&e))?].into(),
                )
            } else if let Some((key, value)) = term.split_once("==").or_else(|| term.split_once('=')) {
                Requirement::In(valid_key(key).map_err(|e| bad(&e))?, [valid_value(value).map_err(|e| bad(&e))?].into())
            } else if let Some((key, value)) = term.split_once('>') {
                let n =
                    value.trim().parse().map_err(|_| bad("for 'gt', 'lt' operators, the value must be an integer"))?;
                Requirement::Greater(valid_key(key).map_err(|e| bad(&e))?, n)
            } else if let Some((key, value)) = term.split_once('<') {
                let n =
                    value.trim().parse().map_err(|_| bad("for 'gt', 'lt' operators, the value must be an integer"))?;
                Requirement::Less(valid_key(key).map_err(|e| bad(&e))?, n)
            } else {
                Requirement::Exists(valid_key(term).map_err(|e| bad(&e))?)
            };
            reqs.push(req);
        }
        Ok(Self(reqs))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether an object (its `metadata.labels`) satisfies every requirement.
    pub fn matches(&self, object: &Value) -> bool {
        let labels = object.get("metadata").and_then(|m| m.get("labels")).and_then(Value::as_object);
        self.matches_with(|key| labels.and_then(|l| l.get(key)).and_then(Value::as_str))
    }

    /// Whether a label map satisfies every requirement.
    pub fn matches_labels(&self, labels: &std::collections::BTreeMap<String, String>) -> bool {
        self.matches_with(|key| labels.get(key).map(String::as_str))
    }

    fn matches_with<'a>(&self, get: impl Fn(&str) -> Option<&'a str>) -> bool {
        self.0.iter().all(|req| match req {
            Requirement::Exists(k) => get(k).is_some(),
            Requirement::NotExists(k) => get(k).is_none(),
            Requirement::In(k, set) => get(k).is_some_and(|v| set.contains(v)),
            Requirement::NotIn(k, set) => get(k).is_none_or(|v| !set.contains(v)),
            Requirement::Greater(k, n) => get(k).and_then(|v| v.parse::<i64>().ok()).is_some_and(|v| v > *n),
            Requirement::Less(k, n) => get(k).and_then(|v| v.parse::<i64>().ok()).is_some_and(|v| v < *n),
        })
    }
}

/// Splits on commas that are not inside a `(...)` value set.
fn split_terms(input: &str) -> Vec<&str> {
    let mut terms = Vec::new();
    let (mut depth, mut start) = (0usize, 0usize);
    for (i, c) in input.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth = depth.saturating_sub(1),
            ',' if depth == 0 => {
                terms.push(&input[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    terms.push(&input[start..]);
    terms
}

fn split_set_op<'a>(term: &'a str, op: &str) -> Option<(&'a str, &'a str)> {
    let idx = term.find(op)?;
    Some((&term[..idx], term[idx + op.len()..].trim()))
}

fn parse_set(rest: &str) -> std::result::Result<BTreeSet<String>, String> {
    let inner = rest
        .strip_prefix('(')
        .and_then(|r| r.strip_suffix(')'))
        .ok_or_else(|| format!("expected a parenthesised set of values, found {rest:?}"))?;
    inner.split(',').map(valid_value).collect()
}

fn valid_key(key: &str) -> std::result::Result<String, String> {
    let key = key.trim();
    let (prefix, name) = key.rsplit_once('/').map_or((None, key), |(p, n)| (Some(p), n));
    let name_ok = !name.is_empty()
        && name.len() <= 63
        && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name.ends_with(|c: char| c.is_ascii_alphanumeric());
    let prefix_ok = prefix.is_none_or(|p| crate::validation::dns1123_subdomain(p).is_ok());
    if name_ok && prefix_ok { Ok(key.to_owned()) } else { Err(format!("invalid label key {key:?}")) }
}

fn valid_value(value: &str) -> std::result::Result<String, String> {
    let value = value.trim();
    let ok = value.is_empty()
        || (value.len() <= 63
            && value.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
            && value.starts_with(|c: char| c.is_ascii_alphanumeric())
            && value.ends_with(|c: char| c.is_ascii_alphanumeric()));
    if ok { Ok(value.to_owned()) } else { Err(format!("invalid label value {value:?}")) }
}

/// A parsed field selector over `metadata.name` and `metadata.namespace`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FieldSelector(Vec<(String, bool, String)>);

impl FieldSelector {
    /// Parses a selector; any field other than the two metadata fields is a 400, as for CRs.
    pub fn parse(input: &str) -> Result<Self> {
        let mut terms = Vec::new();
        for term in input.split(',').map(str::trim).filter(|t| !t.is_empty()) {
            let (field, equal, value) = if let Some((f, v)) = term.split_once("!=") {
                (f, false, v)
            } else if let Some((f, v)) = term.split_once("==").or_else(|| term.split_once('=')) {
                (f, true, v)
            } else {
                return Err(ApiError::BadRequest(format!("invalid selector: '{term}'; can't understand '{term}'")));
            };
            let field = field.trim();
            if field != "metadata.name" && field != "metadata.namespace" {
                return Err(ApiError::BadRequest(format!("field label not supported: {field}")));
            }
            terms.push((field.to_owned(), equal, value.trim().to_owned()));
        }
        Ok(Self(terms))
    }

    pub fn matches(&self, object: &Value) -> bool {
        self.0.iter().all(|(field, equal, value)| {
            let member = if field == "metadata.name" { "name" } else { "namespace" };
            let actual = object.get("metadata").and_then(|m| m.get(member)).and_then(Value::as_str).unwrap_or("");
            (actual == value) == *equal
        })
    }

    /// The exact name this selector pins, which lets a watch skip everything else.
    pub fn name(&self) -> Option<&str> {
        self.0.iter().find(|(f, eq, _)| f == "metadata.name" && *eq).map(|(_, _, v)| v.as_str())
    }
}

/// Both selectors of a list or watch request.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Selectors {
    pub labels: LabelSelector,
    pub fields: FieldSelector,
}

impl Selectors {
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty() && self.fields.0.is_empty()
    }

    pub fn matches(&self, object: &Value) -> bool {
        self.labels.matches(object) && self.fields.matches(object)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;
    use serde_json::json;

    fn obj(labels: Value) -> Value {
        json!({ "metadata": { "name": "a", "namespace": "ns", "labels": labels } })
    }

    #[rstest]
    #[case("", true)]
    #[case("app=web", true)]
    #[case("app==web", true)]
    #[case("app!=web", false)]
    #[case("app in (web, db)", true)]
    #[case("app notin (web)", false)]
    #[case("tier", true)]
    #[case("!tier", false)]
    #[case("!missing", true)]
    #[case("app=web,tier=front", true)]
    #[case("app in (db),tier", false)]
    #[case("weight>3", true)]
    #[case("weight<3", false)]
    #[case("missing!=x", true)]
    #[case("example.com/role=x", false)]
    fn label_selectors_match_like_the_api_server(#[case] selector: &str, #[case] expected: bool) {
        let o = obj(json!({ "app": "web", "tier": "front", "weight": "5" }));
        assert_eq!(LabelSelector::parse(selector).unwrap().matches(&o), expected, "{selector}");
    }

    #[rstest]
    #[case("app in web")]
    #[case("a b c=d")]
    #[case("app=we b")]
    fn malformed_label_selectors_are_rejected(#[case] selector: &str) {
        assert!(matches!(LabelSelector::parse(selector), Err(ApiError::BadRequest(_))));
    }

    #[test]
    fn field_selectors_support_name_and_namespace_only() {
        let o = obj(json!({}));
        assert!(FieldSelector::parse("metadata.name=a,metadata.namespace!=x").unwrap().matches(&o));
        assert!(!FieldSelector::parse("metadata.name==b").unwrap().matches(&o));
        assert!(matches!(FieldSelector::parse("spec.x=1"), Err(ApiError::BadRequest(_))));
    }
}
