//! GET and LIST, including paging with continue tokens and lists at an exact older
//! resourceVersion (rebuilt by undoing history).

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::Value;

use super::{ObjectKey, State, Store, Target};
use crate::error::{ApiError, Result};
use crate::registry::GroupResource;
use crate::selector::Selectors;

/// Options of a LIST.
#[derive(Clone, Debug, Default)]
pub struct ListOptions {
    pub selectors: Selectors,
    pub resource_version: Option<String>,
    /// `Exact` or `NotOlderThan`.
    pub resource_version_match: Option<String>,
    pub limit: Option<usize>,
    pub continue_token: Option<String>,
}

/// One page of a list.
#[derive(Clone, Debug)]
pub struct ListResult {
    pub items: Vec<Arc<Value>>,
    pub resource_version: u64,
    pub continue_token: Option<String>,
    pub remaining: Option<usize>,
}

const EXPIRED_CONTINUE: &str = "The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue value from the response.";

impl Store {
    pub fn get(&self, target: &Target, name: &str) -> Result<Arc<Value>> {
        self.lock().get(target.gr(), &target.key(name)).cloned().ok_or_else(|| ApiError::not_found(target.gr(), name))
    }

    pub fn list(&self, target: &Target, opts: &ListOptions) -> Result<ListResult> {
        let state = self.lock();
        let current = state.rv();
        let (snapshot_rv, after) = match &opts.continue_token {
            Some(token) if !token.is_empty() => {
                let (rv, key) = decode_continue(token)?;
                if rv < state.compacted_through {
                    return Err(ApiError::Gone(EXPIRED_CONTINUE.into()));
                }
                (rv, Some(key))
            }
            _ => (requested_rv(&state, opts)?, None),
        };
        let historical;
        let objects: &BTreeMap<ObjectKey, Arc<Value>> = if snapshot_rv < current {
            historical = state.snapshot_at(target.gr(), snapshot_rv);
            &historical
        } else {
            static EMPTY: BTreeMap<ObjectKey, Arc<Value>> = BTreeMap::new();
            state.objects.get(target.gr()).unwrap_or(&EMPTY)
        };
        let range = match (&target.namespace, &after) {
            (_, Some(after)) => objects.range((std::ops::Bound::Excluded(after.clone()), std::ops::Bound::Unbounded)),
            (Some(ns), None) => objects.range(ObjectKey::new(Some(ns), "")..),
            (None, None) => objects.range(..),
        };
        let select_all = opts.selectors.is_empty();
        let mut matching = range
            .take_while(|(k, _)| target.namespace.as_ref().is_none_or(|ns| &k.namespace == ns))
            .filter(|(_, v)| select_all || opts.selectors.matches(v));
        let limit = opts.limit.filter(|l| *l > 0).unwrap_or(usize::MAX);
        let mut items = Vec::new();
        let mut last_key = None;
        for (k, v) in matching.by_ref().take(limit) {
            items.push(v.clone());
            last_key = Some(k);
        }
        let remaining = matching.count();
        let continue_token =
            (remaining > 0).then(|| encode_continue(snapshot_rv, last_key.expect("a full page has a last key")));
        Ok(ListResult {
            items,
            resource_version: snapshot_rv,
            continue_token,
            remaining: (remaining > 0).then_some(remaining),
        })
    }
}

/// The resourceVersion a list is served at: latest, unless `Exact` names an older one.
fn requested_rv(state: &State, opts: &ListOptions) -> Result<u64> {
    let current = state.rv();
    let Some(raw) = opts.resource_version.as_deref().filter(|rv| !rv.is_empty()) else { return Ok(current) };
    let rv: u64 = raw.parse().map_err(|_| ApiError::BadRequest(format!("invalid resource version {raw:?}")))?;
    match opts.resource_version_match.as_deref() {
        Some("Exact") => {
            if rv < state.compacted_through || rv == 0 {
                return Err(ApiError::Gone(format!(
                    "too old resource version: {rv} ({})",
                    state.compacted_through + 1
                )));
            }
            if rv > current {
                return Err(ApiError::Timeout(format!("Too large resource version: {rv}, current: {current}")));
            }
            Ok(rv)
        }
        Some("NotOlderThan") | None | Some("") => {
            if rv > current {
                return Err(ApiError::Timeout(format!("Too large resource version: {rv}, current: {current}")));
            }
            Ok(current)
        }
        Some(other) => Err(ApiError::BadRequest(format!("unsupported resourceVersionMatch {other:?}"))),
    }
}

impl State {
    /// The objects of a resource as they were at `rv`: the current state with every later event
    /// undone. Callers check `rv` against compaction first.
    pub(crate) fn snapshot_at(&self, gr: &GroupResource, rv: u64) -> BTreeMap<ObjectKey, Arc<Value>> {
        let mut objects = self.objects.get(gr).cloned().unwrap_or_default();
        for event in self.history.iter().rev().take_while(|e| e.rv > rv).filter(|e| &e.gr == gr) {
            match &event.previous {
                Some(previous) => objects.insert(event.key.clone(), previous.clone()),
                None => objects.remove(&event.key),
            };
        }
        objects
    }
}

fn encode_continue(rv: u64, key: &ObjectKey) -> String {
    format!("{rv}/{}/{}", key.namespace, key.name)
}

fn decode_continue(token: &str) -> Result<(u64, ObjectKey)> {
    let invalid = || {
        ApiError::BadRequest(
            "continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)".into(),
        )
    };
    let mut parts = token.splitn(3, '/');
    let rv = parts.next().and_then(|p| p.parse().ok()).ok_or_else(invalid)?;
    let namespace = parts.next().ok_or_else(invalid)?;
    let name = parts.next().ok_or_else(invalid)?;
    Ok((rv, ObjectKey::new(Some(namespace), name)))
}
