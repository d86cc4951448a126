//! `Impersonate-*` headers (`endpoints/filters/impersonation`): each requested user, group, uid and
//! extra value is authorized for the real user with the `impersonate` verb, then the request acts
//! as the impersonated user.

use http::HeaderMap;

use super::authz::{authorize, forbidden};
use super::{ANONYMOUS, AUTHENTICATED, Attributes, AuthorizationMode, UNAUTHENTICATED, UserInfo};
use crate::error::ApiError;
use crate::store::State;

const EXTRA_PREFIX: &str = "impersonate-extra-";

/// The user a request acts as: `real`, or whom it impersonates if every header is allowed.
pub fn impersonate(
    mode: AuthorizationMode,
    state: &State,
    real: UserInfo,
    headers: &HeaderMap,
) -> Result<UserInfo, ApiError> {
    let values = |name: &str| -> Vec<String> {
        headers.get_all(name).iter().filter_map(|v| v.to_str().ok()).map(str::to_owned).collect()
    };
    let user = values("impersonate-user").into_iter().next();
    let groups = values("impersonate-group");
    let uid = values("impersonate-uid").into_iter().next();
    let mut extra = std::collections::BTreeMap::<String, Vec<String>>::new();
    for (name, value) in headers {
        if let Some(key) = name.as_str().strip_prefix(EXTRA_PREFIX)
            && let Ok(value) = value.to_str()
        {
            extra.entry(percent_decode(key)).or_default().push(value.to_owned());
        }
    }
    let Some(user) = user else {
        if !groups.is_empty() || uid.is_some() || !extra.is_empty() {
            let mut requested: Vec<String> = groups.iter().map(|g| format!("group {g}")).collect();
            requested.extend(uid.iter().map(|u| format!("uid {u}")));
            requested.extend(extra.keys().map(|k| format!("extra {k}")));
            return Err(ApiError::BadRequest(format!(
                "requested [{}] without impersonating a user",
                requested.join(" ")
            )));
        }
        return Ok(real);
    };
    let check = |attrs: Attributes| match authorize(mode, state, &attrs) {
        d if d.allowed() => Ok(()),
        _ => Err(forbidden(&attrs, "")),
    };
    let impersonating = |resource: &str, group: &str, namespace: &str, name: &str, sub: &str| {
        Attributes::resource(real.clone(), "impersonate", namespace, group, "", resource, sub, name)
    };
    let service_account = UserInfo { name: user.clone(), ..UserInfo::default() };
    match service_account.service_account_parts() {
        Some((ns, name)) => check(impersonating("serviceaccounts", "", ns, name, ""))?,
        None => check(impersonating("users", "", "", &user, ""))?,
    }
    for g in &groups {
        check(impersonating("groups", "", "", g, ""))?;
    }
    if let Some(u) = &uid {
        check(impersonating("uids", "authentication.k8s.io", "", u, ""))?;
    }
    for (key, values) in &extra {
        for v in values {
            check(impersonating("userextras", "authentication.k8s.io", "", v, key))?;
        }
    }
    let mut result = UserInfo { name: user.clone(), uid: uid.unwrap_or_default(), groups, extra };
    // A ServiceAccount impersonated without groups gets the ServiceAccount groups.
    if result.groups.is_empty()
        && let Some((ns, _)) = service_account.service_account_parts()
    {
        result.groups = vec!["system:serviceaccounts".into(), format!("system:serviceaccounts:{ns}")];
    }
    let has = result.groups.iter().any(|g| g == AUTHENTICATED || g == UNAUTHENTICATED);
    if !has {
        result.groups.push(if user == ANONYMOUS { UNAUTHENTICATED } else { AUTHENTICATED }.into());
    }
    Ok(result)
}

fn percent_decode(key: &str) -> String {
    let bytes = key.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(b) = key.get(i + 1..i + 3).and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extra_keys_are_lowercased_and_unescaped() {
        assert_eq!(percent_decode("example.com%2fscopes"), "example.com/scopes");
    }
}
