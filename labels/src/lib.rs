//! Kubernetes label selectors: the full set-based string syntax (`app=web,tier in (a,b),!legacy`)
//! parsed once and matched against label maps.
//!
//! Both the host (a plugin's declared selector, and selectors in its `list` calls) and the API
//! emulator (the `labelSelector` query parameter) use this crate, so the two agree on what a
//! selector means and the host needs nothing from the emulator.
//!
//! ```
//! let selector: weft_labels::Selector = "app=web,tier notin (db)".parse().unwrap();
//! assert!(selector.matches(|key| (key == "app").then_some("web")));
//! ```

use std::collections::{BTreeMap, BTreeSet};
use std::str::FromStr;

/// A selector that does not parse; the message has the API server's wording.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unable to parse requirement: {why} in selector {selector:?}")]
pub struct ParseError {
    why: String,
    selector: String,
}

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
pub struct Selector(Vec<Requirement>);

impl FromStr for Selector {
    type Err = ParseError;

    fn from_str(input: &str) -> Result<Self, ParseError> {
        let bad = |why: String| ParseError { why, selector: input.to_owned() };
        split_terms(input)
            .into_iter()
            .map(str::trim)
            .filter(|term| !term.is_empty())
            .map(|term| requirement(term).map_err(bad))
            .collect::<Result<_, _>>()
            .map(Self)
    }
}

impl Selector {
    /// Whether this selector matches every object.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether labels, read through `get`, satisfy every requirement.
    pub fn matches<'a>(&self, get: impl Fn(&str) -> Option<&'a str>) -> bool {
        self.0.iter().all(|req| match req {
            Requirement::Exists(k) => get(k).is_some(),
            Requirement::NotExists(k) => get(k).is_none(),
            Requirement::In(k, set) => get(k).is_some_and(|v| set.contains(v)),
            Requirement::NotIn(k, set) => get(k).is_none_or(|v| !set.contains(v)),
            Requirement::Greater(k, n) => get(k).and_then(|v| v.parse::<i64>().ok()).is_some_and(|v| v > *n),
            Requirement::Less(k, n) => get(k).and_then(|v| v.parse::<i64>().ok()).is_some_and(|v| v < *n),
        })
    }

    /// Whether a label map satisfies every requirement.
    pub fn matches_labels(&self, labels: &BTreeMap<String, String>) -> bool {
        self.matches(|key| labels.get(key).map(String::as_str))
    }
}

fn requirement(term: &str) -> Result<Requirement, String> {
    let integer = |value: &str| {
        value.trim().parse().map_err(|_| "for 'gt', 'lt' operators, the value must be an integer".to_owned())
    };
    Ok(if let Some(key) = term.strip_prefix('!') {
        Requirement::NotExists(key_of(key)?)
    } else if let Some((key, rest)) = split_set_op(term, " notin ") {
        Requirement::NotIn(key_of(key)?, value_set(rest)?)
    } else if let Some((key, rest)) = split_set_op(term, " in ") {
        Requirement::In(key_of(key)?, value_set(rest)?)
    } else if let Some((key, value)) = term.split_once("!=") {
        Requirement::NotIn(key_of(key)?, [value_of(value)?].into())
    } else if let Some((key, value)) = term.split_once("==").or_else(|| term.split_once('=')) {
        Requirement::In(key_of(key)?, [value_of(value)?].into())
    } else if let Some((key, value)) = term.split_once('>') {
        Requirement::Greater(key_of(key)?, integer(value)?)
    } else if let Some((key, value)) = term.split_once('<') {
        Requirement::Less(key_of(key)?, integer(value)?)
    } else {
        Requirement::Exists(key_of(term)?)
    })
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

fn value_set(rest: &str) -> Result<BTreeSet<String>, String> {
    let inner = rest
        .strip_prefix('(')
        .and_then(|r| r.strip_suffix(')'))
        .ok_or_else(|| format!("expected a parenthesised set of values, found {rest:?}"))?;
    inner.split(',').map(value_of).collect()
}

/// A label name segment or value: at most 63 characters, alphanumeric at both ends, `-_.` inside.
fn is_label_segment(s: &str) -> bool {
    s.len() <= 63
        && s.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        && s.starts_with(|c: char| c.is_ascii_alphanumeric())
        && s.ends_with(|c: char| c.is_ascii_alphanumeric())
}

/// A DNS-1123 subdomain, as a key's prefix must be.
fn is_subdomain(s: &str) -> bool {
    let label = |l: &str| {
        !l.is_empty()
            && l.len() <= 63
            && l.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
            && !l.starts_with('-')
            && !l.ends_with('-')
    };
    s.len() <= 253 && s.split('.').all(label)
}

fn key_of(key: &str) -> Result<String, String> {
    let key = key.trim();
    let (prefix, name) = key.rsplit_once('/').map_or((None, key), |(p, n)| (Some(p), n));
    if !name.is_empty() && is_label_segment(name) && prefix.is_none_or(is_subdomain) {
        Ok(key.to_owned())
    } else {
        Err(format!("invalid label key {key:?}"))
    }
}

fn value_of(value: &str) -> Result<String, String> {
    let value = value.trim();
    if value.is_empty() || is_label_segment(value) {
        Ok(value.to_owned())
    } else {
        Err(format!("invalid label value {value:?}"))
    }
}

#[cfg(test)]
mod tests {
    use rstest::rstest;

    use super::*;

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
    fn selectors_match_like_the_api_server(#[case] selector: &str, #[case] expected: bool) {
        let labels: BTreeMap<String, String> =
            [("app", "web"), ("tier", "front"), ("weight", "5")].map(|(k, v)| (k.to_owned(), v.to_owned())).into();
        let parsed: Selector = selector.parse().expect("parses");
        assert_eq!(parsed.matches_labels(&labels), expected, "{selector}");
    }

    #[rstest]
    #[case("app in web")]
    #[case("a b c=d")]
    #[case("app=we b")]
    #[case("Bad_Prefix/x=1")]
    #[case("n>two")]
    fn malformed_selectors_are_rejected_with_the_api_servers_wording(#[case] selector: &str) {
        let error = selector.parse::<Selector>().expect_err("rejected");
        assert!(error.to_string().starts_with("unable to parse requirement: "), "{error}");
    }

    #[test]
    fn the_empty_selector_matches_everything() {
        let empty: Selector = " , ".parse().expect("parses");
        assert!(empty.is_empty());
        assert!(empty.matches(|_| None));
    }
}
