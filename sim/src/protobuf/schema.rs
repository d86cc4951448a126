//! The message definitions decoding follows, parsed once from `schema.proto` (generated from the
//! Kubernetes `generated.proto` and Go types by `generate.py`).

use std::collections::HashMap;
use std::sync::OnceLock;

const SCHEMA: &str = include_str!("schema.proto");

/// How a field repeats.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Label {
    Optional,
    Repeated,
    /// `map<string, T>`: repeated entries with key 1 and value 2.
    Map,
}

/// One field of a message.
#[derive(Clone, Debug)]
pub struct FieldDef {
    pub number: u64,
    /// The JSON name; `inline` when the field's members belong to the parent.
    pub json: &'static str,
    pub label: Label,
    /// A scalar type (`string`, `int32`, ...) or a fully qualified message name.
    pub ty: &'static str,
    /// A Go pointer: a zero value was set on purpose and is kept.
    pub pointer: bool,
}

pub type Messages = HashMap<&'static str, Vec<FieldDef>>;

/// Every message, by fully qualified name.
pub fn messages() -> &'static Messages {
    static PARSED: OnceLock<Messages> = OnceLock::new();
    PARSED.get_or_init(|| parse(SCHEMA))
}

fn parse(text: &'static str) -> Messages {
    let mut messages = HashMap::new();
    let mut current: Option<(&'static str, Vec<FieldDef>)> = None;
    for line in text.lines() {
        let (decl, notes) = line.split_once("//").unwrap_or((line, ""));
        let decl = decl.trim();
        if let Some(name) = decl.strip_prefix("message ").and_then(|d| d.strip_suffix(" {")) {
            current = Some((name, Vec::new()));
        } else if decl == "}" {
            if let Some((name, fields)) = current.take() {
                messages.insert(name, fields);
            }
        } else if let Some((_, fields)) = current.as_mut()
            && let Some(field) = parse_field(decl, notes)
        {
            fields.push(field);
        }
    }
    messages
}

/// `optional TYPE name = N;`, `repeated TYPE name = N;` or `map<string, TYPE> name = N;`.
fn parse_field(decl: &'static str, notes: &'static str) -> Option<FieldDef> {
    let (head, number) = decl.strip_suffix(';')?.split_once(" = ")?;
    let (label, ty, name) = if let Some(rest) = head.strip_prefix("map<string, ") {
        let (ty, name) = rest.split_once("> ")?;
        (Label::Map, ty, name)
    } else {
        let mut parts = head.split_whitespace();
        let label = match parts.next()? {
            "optional" => Label::Optional,
            "repeated" => Label::Repeated,
            _ => return None,
        };
        (label, parts.next()?, parts.next()?)
    };
    let json = notes.split_whitespace().find_map(|n| n.strip_prefix("json=")).unwrap_or(name);
    let pointer = notes.split_whitespace().any(|n| n == "ptr");
    Some(FieldDef { number: number.parse().ok()?, json, label, ty, pointer })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_schema_knows_pointers_json_names_and_inline_members() {
        let m = messages();
        let spec = &m["k8s.io.api.apps.v1.DeploymentSpec"];
        let replicas = spec.iter().find(|f| f.number == 1).unwrap();
        assert_eq!((replicas.json, replicas.ty, replicas.pointer), ("replicas", "int32", true));
        let bound = &m["k8s.io.api.authentication.v1.BoundObjectReference"];
        assert!(bound.iter().any(|f| f.json == "uid"));
        let probe = &m["k8s.io.api.core.v1.Probe"];
        assert_eq!(probe.iter().find(|f| f.number == 1).unwrap().json, "inline");
        let labels = m["k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMeta"].iter().find(|f| f.number == 11).unwrap();
        assert_eq!((labels.label, labels.ty), (Label::Map, "string"));
    }
}
