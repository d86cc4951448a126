//! `POST /api/v1/namespaces/{ns}/serviceaccounts/{name}/token` (what `kubectl create token`
//! sends): a signed token for the ServiceAccount, optionally bound to a Pod or Secret.

use serde_json::{Value, json};

use super::authn::{Authenticator, Binding};
use super::jwt::ISSUER;
use crate::error::{ApiError, Cause, Result};
use crate::object;
use crate::registry::GroupResource;
use crate::store::{ObjectKey, Store};

const MIN_EXPIRATION: i64 = 600;
const MAX_EXPIRATION: i64 = 1 << 32;

fn invalid(name: &str, field: &str, message: String) -> ApiError {
    ApiError::invalid(
        "TokenRequest",
        "authentication.k8s.io",
        name,
        vec![Cause::new("FieldValueInvalid", field, message)],
    )
}

/// Answers a TokenRequest for ServiceAccount `name` in `namespace`.
pub fn create_token(
    store: &Store,
    authenticator: &Authenticator,
    namespace: &str,
    name: &str,
    body: &Value,
) -> Result<Value> {
    for (field, expected, what) in [("name", name, "service account name"), ("namespace", namespace, "namespace")] {
        if let Some(given) = object::meta_str(body, field).filter(|v| !v.is_empty() && *v != expected) {
            return Err(invalid(
                name,
                &format!("metadata.{field}"),
                format!("Invalid value: {given:?}: must match the {what} if specified"),
            ));
        }
    }
    let state = store.lock();
    let lookup = |resource: &str, n: &str| {
        state.get(&GroupResource::new("", resource), &ObjectKey::new(Some(namespace), n)).cloned()
    };
    let sa_gr = GroupResource::new("", "serviceaccounts");
    let sa = lookup("serviceaccounts", name).ok_or_else(|| ApiError::not_found(&sa_gr, name))?;
    let sa_uid = object::uid(&sa).to_owned();
    if let Some(uid) = object::meta_str(body, "uid").filter(|u| !u.is_empty() && *u != sa_uid) {
        let why = format!(
            "the UID in the precondition ({uid}) does not match the UID in record ({sa_uid}). The object might have been deleted and then recreated"
        );
        return Err(ApiError::conflict(&sa_gr, name, &why, Vec::new()));
    }
    let spec = body.get("spec").cloned().unwrap_or_else(|| json!({}));
    let expiration = spec.get("expirationSeconds").and_then(Value::as_i64).unwrap_or(3600);
    if expiration < MIN_EXPIRATION {
        return Err(invalid(
            name,
            "spec.expirationSeconds",
            format!("Invalid value: {expiration}: may not specify a duration less than 10 minutes"),
        ));
    }
    if expiration > MAX_EXPIRATION {
        return Err(invalid(
            name,
            "spec.expirationSeconds",
            format!("Invalid value: {expiration}: may not specify a duration larger than 2^32 seconds"),
        ));
    }
    let mut audiences = object::strings(&spec, "audiences");
    if audiences.is_empty() {
        audiences.push(ISSUER.to_owned());
    }
    let bound_ref =
        spec.get("boundObjectRef").filter(|r| r.get("kind").and_then(Value::as_str).is_some_and(|k| !k.is_empty()));
    let binding = match bound_ref {
        None => None,
        Some(r) => {
            let text = |f: &str| r.get(f).and_then(Value::as_str).unwrap_or_default().to_owned();
            let (kind, bound_name) = (text("kind"), text("name"));
            let resource = match kind.as_str() {
                "Pod" => "pods",
                "Secret" => "secrets",
                other => return Err(ApiError::BadRequest(format!("cannot bind token to object of type {other}"))),
            };
            let bound = lookup(resource, &bound_name)
                .ok_or_else(|| ApiError::not_found(&GroupResource::new("", resource), &bound_name))?;
            let uid = object::uid(&bound).to_owned();
            if !text("uid").is_empty() && text("uid") != uid {
                return Err(ApiError::conflict(
                    &GroupResource::new("", resource),
                    &bound_name,
                    "the UID in the bound object reference does not match",
                    Vec::new(),
                ));
            }
            let runs_as = bound.pointer("/spec/serviceAccountName").and_then(Value::as_str).unwrap_or("default");
            if kind == "Pod" && runs_as != name {
                return Err(ApiError::BadRequest(format!(
                    "cannot bind token for serviceaccount {name:?} to pod running with serviceaccount {runs_as:?}"
                )));
            }
            Some(Binding { kind, name: bound_name, uid })
        }
    };
    drop(state);
    let (token, exp) = authenticator.issue(namespace, name, &sa_uid, &audiences, expiration, binding.as_ref());
    let expires =
        jiff::Timestamp::from_second(exp).map(|t| t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()).unwrap_or_default();
    let bound_json =
        binding.map_or(Value::Null, |b| json!({"kind": b.kind, "apiVersion": "v1", "name": b.name, "uid": b.uid}));
    Ok(json!({
        "kind": "TokenRequest",
        "apiVersion": "authentication.k8s.io/v1",
        "metadata": {"name": name, "namespace": namespace, "creationTimestamp": null},
        "spec": {"audiences": audiences, "expirationSeconds": expiration, "boundObjectRef": bound_json},
        "status": {"token": token, "expirationTimestamp": expires},
    }))
}
