//! `labelSelector` (full set-based syntax, from `weft-labels`) and `fieldSelector` (the fields
//! each kind supports, see [`crate::fields`]).

use serde_json::Value;

use crate::error::{ApiError, Result};
use crate::fields;
use crate::registry::GroupResource;

/// A `labelSelector` parameter; the empty selector matches everything.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LabelSelector(weft_labels::Selector);

impl LabelSelector {
    pub fn parse(input: &str) -> Result<Self> {
        input.parse().map(Self).map_err(|e| ApiError::BadRequest(e.to_string()))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether an object (its `metadata.labels`) satisfies every requirement.
    pub fn matches(&self, object: &Value) -> bool {
        let labels = object.get("metadata").and_then(|m| m.get("labels")).and_then(Value::as_object);
        self.0.matches(|key| labels.and_then(|l| l.get(key)).and_then(Value::as_str))
    }
}

/// One `field=value`, `field==value` or `field!=value` term, its field in the stored spelling.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Term {
    field: String,
    equal: bool,
    value: String,
}

/// A parsed field selector over the fields the addressed kind supports.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FieldSelector(Vec<Term>);

impl FieldSelector {
    /// Parses a selector for resource `gr`; an unsupported field is a 400, as on a real server.
    /// Values may escape `\,`, `\=` and `\\`.
    pub fn parse(input: &str, gr: &GroupResource) -> Result<Self> {
        let mut terms = Vec::new();
        for term in split_unescaped(input, ',').iter().map(|t| t.trim()).filter(|t| !t.is_empty()) {
            let (field, equal, value) = split_term(term).ok_or_else(|| {
                ApiError::BadRequest(format!("invalid selector: '{input}'; can't understand '{term}'"))
            })?;
            let field = field.trim();
            let resolved = fields::resolve(gr, field)
                .ok_or_else(|| ApiError::BadRequest(format!("field label not supported: {field}")))?;
            terms.push(Term { field: resolved, equal, value: unescape(value.trim()) });
        }
        Ok(Self(terms))
    }

    pub fn matches(&self, object: &Value) -> bool {
        self.0.iter().all(|t| fields::values(object, &t.field).contains(&t.value) == t.equal)
    }

    /// The exact name this selector pins, which lets a watch skip everything else.
    pub fn name(&self) -> Option<&str> {
        self.0.iter().find(|t| t.field == "metadata.name" && t.equal).map(|t| t.value.as_str())
    }

    /// Adds `metadata.name=name` (a watch of one object by URL).
    pub fn pin_name(&mut self, name: &str) {
        self.0.push(Term { field: "metadata.name".into(), equal: true, value: name.to_owned() });
    }
}

/// Splits at `sep` where it is not escaped by a backslash.
fn split_unescaped(input: &str, sep: char) -> Vec<String> {
    let mut parts = vec![String::new()];
    let mut chars = input.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                let last = parts.last_mut().expect("starts with one part");
                last.push(c);
                if let Some(next) = chars.next() {
                    last.push(next);
                }
            }
            c if c == sep => parts.push(String::new()),
            c => parts.last_mut().expect("starts with one part").push(c),
        }
    }
    parts
}

/// `field`, whether the operator is `=`/`==` (true) or `!=`, and the still-escaped value.
fn split_term(term: &str) -> Option<(&str, bool, &str)> {
    let bytes = term.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 1,
            b'!' if bytes.get(i + 1) == Some(&b'=') => return Some((&term[..i], false, &term[i + 2..])),
            b'=' if bytes.get(i + 1) == Some(&b'=') => return Some((&term[..i], true, &term[i + 2..])),
            b'=' => return Some((&term[..i], true, &term[i + 1..])),
            _ => {}
        }
        i += 1;
    }
    None
}

fn unescape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let mut chars = value.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            if let Some(next) = chars.next() {
                out.push(next);
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// `metav1.LabelSelectorAsSelector(s).String()`: requirements sorted by key, values sorted.
pub fn label_selector_string(selector: &Value) -> String {
    let mut terms: Vec<(String, String)> = Vec::new();
    if let Some(labels) = selector.get("matchLabels").and_then(Value::as_object) {
        for (k, v) in labels {
            terms.push((k.clone(), format!("{k}={}", v.as_str().unwrap_or_default())));
        }
    }
    for expr in selector.get("matchExpressions").and_then(Value::as_array).into_iter().flatten() {
        let key = expr.get("key").and_then(Value::as_str).unwrap_or_default();
        let mut values: Vec<&str> =
            expr.get("values").and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str).collect();
        values.sort_unstable();
        let term = match expr.get("operator").and_then(Value::as_str).unwrap_or_default() {
            "In" => format!("{key} in ({})", values.join(",")),
            "NotIn" => format!("{key} notin ({})", values.join(",")),
            "Exists" => key.to_owned(),
            "DoesNotExist" => format!("!{key}"),
            _ => continue,
        };
        terms.push((key.to_owned(), term));
    }
    terms.sort();
    terms.into_iter().map(|(_, t)| t).collect::<Vec<_>>().join(",")
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
    use serde_json::json;

    fn obj(labels: Value) -> Value {
        json!({ "metadata": { "name": "a", "namespace": "ns", "labels": labels } })
    }

    #[test]
    fn label_selectors_read_the_objects_labels() {
        let o = obj(json!({ "app": "web", "tier": "front" }));
        assert!(LabelSelector::parse("app=web,tier").unwrap().matches(&o));
        assert!(!LabelSelector::parse("app in (db)").unwrap().matches(&o));
        assert!(LabelSelector::parse("!app").unwrap().matches(&json!({ "metadata": {} })));
    }

    #[test]
    fn malformed_label_selectors_are_bad_requests() {
        assert!(matches!(LabelSelector::parse("app in web"), Err(ApiError::BadRequest(_))));
    }

    #[test]
    fn field_selectors_use_the_fields_of_the_kind() {
        let o = obj(json!({}));
        let cm = GroupResource::new("", "configmaps");
        assert!(FieldSelector::parse("metadata.name=a,metadata.namespace!=x", &cm).unwrap().matches(&o));
        assert!(!FieldSelector::parse("metadata.name==b", &cm).unwrap().matches(&o));
        assert!(matches!(FieldSelector::parse("spec.x=1", &cm), Err(ApiError::BadRequest(_))));
        let events = GroupResource::new("", "events");
        let ev = json!({"metadata": {"name": "e"}, "involvedObject": {"name": "a,b", "namespace": ""}});
        let sel = FieldSelector::parse("involvedObject.namespace=,involvedObject.name=a\\,b", &events).unwrap();
        assert!(sel.matches(&ev));
    }
}
