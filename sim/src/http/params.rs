//! Query parameters and request bodies, parsed into the store's option types.

use std::collections::HashMap;

use bytes::Bytes;
use http::HeaderMap;
use serde_json::Value;

use crate::error::{ApiError, Result};
use crate::registry::GroupResource;
use crate::selector::{FieldSelector, LabelSelector, Selectors};
use crate::store::{DeleteOptions, FieldValidation, ListOptions, PatchKind, WatchOptions, WriteOptions};

/// The largest request body accepted, as on a real API server.
pub const MAX_BODY_BYTES: usize = 3 * 1024 * 1024;

pub type Query = HashMap<String, String>;

pub fn query(uri: &http::Uri) -> Query {
    axum::extract::Query::<Query>::try_from_uri(uri).map(|q| q.0).unwrap_or_default()
}

/// A boolean parameter as the API server converts it: present and anything but `0` or `false`
/// (in any case, and including the empty string) is true.
fn flag(q: &Query, name: &str) -> bool {
    q.get(name).is_some_and(|v| v != "0" && !v.eq_ignore_ascii_case("false"))
}

fn dry_run(q: &Query) -> Result<bool> {
    match q.get("dryRun").map(String::as_str) {
        None | Some("") => Ok(false),
        Some("All") => Ok(true),
        Some(other) => {
            Err(ApiError::BadRequest(format!("Invalid dryRun value: \"{other}\"; supported values: \"All\"")))
        }
    }
}

pub fn is_watch(q: &Query) -> bool {
    flag(q, "watch")
}

/// Both selectors, the field selector parsed for the resource the request names (`gr`).
pub fn selectors(q: &Query, name: Option<&str>, gr: &GroupResource) -> Result<Selectors> {
    let mut fields = FieldSelector::parse(q.get("fieldSelector").map_or("", String::as_str), gr)?;
    if let Some(name) = name {
        fields.pin_name(name);
    }
    Ok(Selectors { labels: LabelSelector::parse(q.get("labelSelector").map_or("", String::as_str))?, fields })
}

pub fn list_options(q: &Query, gr: &GroupResource) -> Result<ListOptions> {
    Ok(ListOptions {
        selectors: selectors(q, None, gr)?,
        resource_version: q.get("resourceVersion").cloned(),
        resource_version_match: q.get("resourceVersionMatch").cloned(),
        limit: match q.get("limit") {
            Some(l) => Some(l.parse().map_err(|_| ApiError::BadRequest(format!("invalid limit {l:?}")))?),
            None => None,
        },
        continue_token: q.get("continue").cloned(),
    })
}

pub fn watch_options(q: &Query, name: Option<&str>, gr: &GroupResource) -> Result<WatchOptions> {
    Ok(WatchOptions {
        selectors: selectors(q, name, gr)?,
        resource_version: q.get("resourceVersion").cloned(),
        resource_version_match: q.get("resourceVersionMatch").cloned(),
        send_initial_events: flag(q, "sendInitialEvents"),
        allow_bookmarks: flag(q, "allowWatchBookmarks"),
    })
}

pub fn timeout_seconds(q: &Query) -> Option<u64> {
    q.get("timeoutSeconds").and_then(|t| t.parse().ok()).filter(|t| *t > 0)
}

/// Write options; the default field manager is the User-Agent's product name, like the server's.
pub fn write_options(q: &Query, headers: &HeaderMap) -> Result<WriteOptions> {
    let user_agent = headers.get(http::header::USER_AGENT).and_then(|v| v.to_str().ok()).unwrap_or("unknown");
    let default_manager = user_agent.split('/').next().unwrap_or("unknown").chars().take(128).collect();
    let field_validation = match q.get("fieldValidation").map(String::as_str) {
        None | Some("") | Some("Warn") => FieldValidation::Warn,
        Some("Strict") => FieldValidation::Strict,
        Some("Ignore") => FieldValidation::Ignore,
        Some(other) => {
            return Err(ApiError::BadRequest(format!(
                "fieldValidation parameter unsupported: {other}. Must be one of Ignore, Warn, Strict"
            )));
        }
    };
    Ok(WriteOptions {
        dry_run: dry_run(q)?,
        field_manager: q.get("fieldManager").filter(|m| !m.is_empty()).cloned(),
        default_manager,
        force: flag(q, "force"),
        field_validation,
    })
}

/// DeleteOptions from the query and the (optional) JSON or protobuf body.
pub fn delete_options(q: &Query, body: &Bytes, headers: &HeaderMap) -> Result<DeleteOptions> {
    let mut opts = DeleteOptions {
        dry_run: dry_run(q)?,
        propagation: q.get("propagationPolicy").cloned(),
        ..DeleteOptions::default()
    };
    if !body.is_empty() {
        let parsed: Value = if content_type(headers).contains("protobuf") {
            decode(body, headers)?
        } else {
            serde_json::from_slice(body).map_err(|e| ApiError::BadRequest(format!("invalid DeleteOptions: {e}")))?
        };
        if let Some(p) = parsed.get("propagationPolicy").and_then(Value::as_str) {
            opts.propagation = Some(p.to_owned());
        }
        if parsed.get("orphanDependents").and_then(Value::as_bool) == Some(true) && opts.propagation.is_none() {
            opts.propagation = Some("Orphan".into());
        }
        if parsed.get("dryRun").and_then(Value::as_array).is_some_and(|d| d.iter().any(|v| v == "All")) {
            opts.dry_run = true;
        }
        let pre = parsed.get("preconditions");
        opts.precondition_uid = pre.and_then(|p| p.get("uid")).and_then(Value::as_str).map(str::to_owned);
        opts.precondition_rv = pre.and_then(|p| p.get("resourceVersion")).and_then(Value::as_str).map(str::to_owned);
    }
    Ok(opts)
}

fn content_type(headers: &HeaderMap) -> &str {
    headers.get(http::header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("application/json")
}

/// The patch format named by Content-Type; 415 for anything else.
pub fn patch_kind(headers: &HeaderMap) -> Result<PatchKind> {
    let media = content_type(headers).split(';').next().unwrap_or_default().trim();
    match media {
        "application/merge-patch+json" => Ok(PatchKind::Merge),
        "application/json-patch+json" => Ok(PatchKind::Json),
        "application/strategic-merge-patch+json" => Ok(PatchKind::Strategic),
        "application/apply-patch+yaml" | "application/apply-patch+cbor" => Ok(PatchKind::Apply),
        other => Err(ApiError::UnsupportedMediaType(format!(
            "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml, application/strategic-merge-patch+json (got {other:?})"
        ))),
    }
}

/// Decodes a JSON or YAML body (YAML for apply patches and `application/yaml`).
pub fn decode(body: &Bytes, headers: &HeaderMap) -> Result<Value> {
    if body.is_empty() {
        return Err(ApiError::BadRequest("the body of the request is empty".into()));
    }
    let ct = content_type(headers);
    if ct.contains("protobuf") {
        return crate::protobuf::decode(body).map_err(|e| match e {
            crate::protobuf::ProtobufError::Malformed(m) => ApiError::BadRequest(m),
            unsupported => ApiError::UnsupportedMediaType(unsupported.to_string()),
        });
    }
    if ct.contains("cbor") {
        return Err(ApiError::UnsupportedMediaType(format!(
            "the body of the request was in an unknown format - accepted media types include: application/json, application/yaml (got {ct:?})"
        )));
    }
    if ct.contains("yaml") {
        serde_saphyr::from_slice::<Value>(body).map_err(|e| ApiError::BadRequest(format!("error decoding YAML: {e}")))
    } else {
        serde_json::from_slice(body)
            .map_err(|e| ApiError::BadRequest(format!("couldn't get version/kind; json parse error: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn boolean_parameters_are_true_unless_zero_or_false() {
        let q: Query = [("a", ""), ("b", "yes"), ("c", "FALSE"), ("d", "0"), ("e", "True")]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        let got: Vec<bool> = ["a", "b", "c", "d", "e", "missing"].iter().map(|n| flag(&q, n)).collect();
        assert_eq!(got, [true, true, false, false, true, false]);
    }
}
