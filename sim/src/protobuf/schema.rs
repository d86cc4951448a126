//! The message definitions decoding follows, parsed once from `schema.txt` (written by
//! `generate.py` from the Kubernetes protobuf definitions and Go types).

use std::collections::HashMap;
use std::sync::OnceLock;

const SCHEMA: &str = include_str!("schema.txt");

/// How a field repeats.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Label {
    Optional,
    Repeated,
    /// A map with string keys: repeated entries with key 1 and value 2.
    Map,
}

/// One field of a message.
#[derive(Clone, Debug)]
pub struct FieldDef {
    pub number: u64,
    pub json: &'static str,
    pub label: Label,
    /// A scalar type (`string`, `int32`, ...) or a fully qualified message name.
    pub ty: &'static str,
    /// A Go pointer: a zero value was set on purpose and is kept.
    pub pointer: bool,
    /// The members of this (embedded) message belong to the parent in JSON.
    pub inline: bool,
}

pub type Messages = HashMap<&'static str, Vec<FieldDef>>;

/// Every message, by fully qualified name.
pub fn messages() -> &'static Messages {
    static PARSED: OnceLock<Messages> = OnceLock::new();
    PARSED.get_or_init(|| parse(SCHEMA))
}

fn parse(text: &'static str) -> Messages {
    let mut messages: Messages = HashMap::new();
    let mut current = None;
    for line in text.lines().filter(|l| !l.starts_with('#') && !l.trim().is_empty()) {
        if !line.starts_with(' ') {
            current = Some(line.trim());
            messages.entry(line.trim()).or_default();
            continue;
        }
        let mut words = line.split_whitespace();
        let (Some(number), Some(json), Some(ty)) = (words.next(), words.next(), words.next()) else { continue };
        let flags: Vec<&str> = words.collect();
        let label = if flags.contains(&"map") {
            Label::Map
        } else if flags.contains(&"repeated") {
            Label::Repeated
        } else {
            Label::Optional
        };
        let (Some(message), Ok(number)) = (current, number.parse()) else { continue };
        messages.entry(message).or_default().push(FieldDef {
            number,
            json,
            label,
            ty,
            pointer: flags.contains(&"ptr"),
            inline: flags.contains(&"inline"),
        });
    }
    messages
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
        assert!(probe.iter().find(|f| f.number == 1).unwrap().inline);
        let labels = m["k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMeta"].iter().find(|f| f.number == 11).unwrap();
        assert_eq!((labels.label, labels.ty), (Label::Map, "string"));
    }
}
