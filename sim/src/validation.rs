//! Name and metadata validation with the API server's messages.

use serde_json::Value;

use crate::error::Cause;

const SUBDOMAIN_MSG: &str = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
const LABEL_MSG: &str = "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";
const DNS1035_MSG: &str = "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')";

/// The characters `generateName` suffixes are drawn from (no vowels, no confusable digits).
const GENERATE_ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";

/// Which name rule a kind uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NameRule {
    Subdomain,
    Label,
    Dns1035,
    /// RBAC objects: any valid path segment (`system:discovery` is a valid name).
    PathSegment,
}

impl NameRule {
    pub fn for_kind(kind: &str) -> Self {
        match kind {
            "Namespace" => Self::Label,
            "Service" => Self::Dns1035,
            "Role" | "ClusterRole" | "RoleBinding" | "ClusterRoleBinding" => Self::PathSegment,
            _ => Self::Subdomain,
        }
    }

    pub fn check(self, name: &str) -> Result<(), String> {
        match self {
            Self::Subdomain => dns1123_subdomain(name),
            Self::Label => dns1123_label(name),
            Self::Dns1035 => dns1035_label(name),
            Self::PathSegment => path_segment(name),
        }
    }
}

fn label_chars_ok(s: &str) -> bool {
    !s.is_empty()
        && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

pub fn dns1123_label(name: &str) -> Result<(), String> {
    if name.len() > 63 {
        return Err("must be no more than 63 characters".into());
    }
    if label_chars_ok(name) { Ok(()) } else { Err(LABEL_MSG.into()) }
}

pub fn dns1035_label(name: &str) -> Result<(), String> {
    if name.len() > 63 {
        return Err("must be no more than 63 characters".into());
    }
    if label_chars_ok(name) && name.starts_with(|c: char| c.is_ascii_lowercase()) {
        Ok(())
    } else {
        Err(DNS1035_MSG.into())
    }
}

pub fn path_segment(name: &str) -> Result<(), String> {
    match name {
        "." | ".." => Err(format!("may not be '{name}'")),
        n if n.contains('/') => Err("may not contain '/'".into()),
        n if n.contains('%') => Err("may not contain '%'".into()),
        _ => Ok(()),
    }
}

pub fn dns1123_subdomain(name: &str) -> Result<(), String> {
    if name.len() > 253 {
        return Err("must be no more than 253 characters".into());
    }
    if name.split('.').all(label_chars_ok) { Ok(()) } else { Err(SUBDOMAIN_MSG.into()) }
}

/// `prefix` + 5 random characters, the prefix cut to 58 characters.
pub fn generate_name(prefix: &str) -> String {
    let prefix: String = prefix.chars().take(58).collect();
    let random = uuid::Uuid::new_v4();
    let suffix: String = random
        .as_bytes()
        .iter()
        .take(5)
        .map(|b| GENERATE_ALPHABET[usize::from(*b) % GENERATE_ALPHABET.len()] as char)
        .collect();
    format!("{prefix}{suffix}")
}

/// Label keys and values, annotation keys: the checks a real server makes on every write.
pub fn metadata_causes(object: &Value) -> Vec<Cause> {
    let mut causes = Vec::new();
    if let Some(labels) = crate::object::meta(object).and_then(|m| m.get("labels")).and_then(Value::as_object) {
        for (key, value) in labels {
            if let Err(e) = qualified_name(key) {
                causes.push(Cause::new("FieldValueInvalid", "metadata.labels", format!("Invalid value: {key:?}: {e}")));
            }
            match value.as_str() {
                Some(v) if label_value_ok(v) => {}
                _ => causes.push(Cause::new(
                    "FieldValueInvalid",
                    "metadata.labels",
                    format!("Invalid value: {value}: a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character"),
                )),
            }
        }
    }
    if let Some(annotations) = crate::object::meta(object).and_then(|m| m.get("annotations")).and_then(Value::as_object)
    {
        for (key, value) in annotations {
            if let Err(e) = qualified_name(key) {
                causes.push(Cause::new(
                    "FieldValueInvalid",
                    "metadata.annotations",
                    format!("Invalid value: {key:?}: {e}"),
                ));
            }
            if !value.is_string() {
                causes.push(Cause::new(
                    "FieldValueInvalid",
                    "metadata.annotations",
                    format!("Invalid value: {value}: must be a string"),
                ));
            }
        }
    }
    causes
}

fn label_value_ok(v: &str) -> bool {
    v.is_empty()
        || (v.len() <= 63
            && v.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
            && v.starts_with(|c: char| c.is_ascii_alphanumeric())
            && v.ends_with(|c: char| c.is_ascii_alphanumeric()))
}

fn qualified_name(key: &str) -> Result<(), String> {
    let (prefix, name) = key.rsplit_once('/').map_or((None, key), |(p, n)| (Some(p), n));
    if let Some(prefix) = prefix {
        dns1123_subdomain(prefix).map_err(|e| format!("prefix part {e}"))?;
    }
    if name.is_empty() || !label_value_ok(name) {
        return Err("name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn names_follow_the_kind_rule() {
        assert!(NameRule::Subdomain.check("a.b-c").is_ok());
        assert!(NameRule::Subdomain.check("Upper").is_err());
        assert!(NameRule::Label.check("a.b").is_err());
        assert!(NameRule::Dns1035.check("1abc").is_err());
        assert!(NameRule::Subdomain.check(&"a".repeat(254)).is_err());
        assert!(NameRule::for_kind("ClusterRole").check("system:discovery").is_ok());
        assert!(NameRule::PathSegment.check("a/b").is_err());
    }

    #[test]
    fn generated_names_use_the_kubernetes_alphabet() {
        let name = generate_name(&"p".repeat(70));
        assert_eq!(name.len(), 63);
        assert!(name[58..].bytes().all(|b| GENERATE_ALPHABET.contains(&b)));
    }

    #[test]
    fn bad_labels_are_reported() {
        let o = json!({"metadata": {"labels": {"ok": "yes", "bad key!": "x", "k": "-bad"}}});
        assert_eq!(metadata_causes(&o).len(), 2);
    }
}
