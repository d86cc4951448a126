//! `labelSelector` (full set-based syntax, from `weft-labels`) and `fieldSelector` (`metadata.name`,
//! `metadata.namespace`).

use serde_json::Value;

use crate::error::{ApiError, Result};

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
    fn field_selectors_support_name_and_namespace_only() {
        let o = obj(json!({}));
        assert!(FieldSelector::parse("metadata.name=a,metadata.namespace!=x").unwrap().matches(&o));
        assert!(!FieldSelector::parse("metadata.name==b").unwrap().matches(&o));
        assert!(matches!(FieldSelector::parse("spec.x=1"), Err(ApiError::BadRequest(_))));
    }
}
