//! Read-your-own-writes: what a plugin wrote, laid over the shared cache until the cache catches
//! up, so a plugin never reads an object older than one it wrote.

use std::cmp::Ordering;
use std::collections::HashMap;

use parking_lot::Mutex;

use super::cache::{CachedObject, ObjectKey};
use crate::runtime::ApiResource;

/// What a plugin last wrote to an object.
#[derive(Debug, Clone)]
enum Written {
    Object {
        resource_version: String,
        json: String,
    },
    /// Deleted while the cache held this resourceVersion.
    Deleted {
        resource_version: String,
    },
}

/// (group, plural, object).
type WrittenKey = (String, String, ObjectKey);

/// One plugin's writes not yet seen in the cache.
#[derive(Debug, Default)]
pub struct OwnWrites {
    written: Mutex<HashMap<WrittenKey, Written>>,
}

fn written_key(api: &ApiResource, key: &ObjectKey) -> WrittenKey {
    (api.group.clone(), api.plural.clone(), key.clone())
}

/// How two resourceVersions of one object order, if that can be told.
///
/// The API calls resourceVersions opaque: clients may compare them for equality only. Every
/// etcd-backed API server (and the emulator) in fact issues integers that grow with each write,
/// and read-your-own-writes needs exactly that order to tell whether the cache has caught up with
/// a write. This is the one place that relies on it; where a version is not an integer the order
/// is unknown (`None`) and callers let the cache win, so an unfamiliar server can never hide the
/// cluster's state behind an old write.
pub fn resource_version_order(a: &str, b: &str) -> Option<Ordering> {
    if a == b {
        return Some(Ordering::Equal);
    }
    Some(a.parse::<u64>().ok()?.cmp(&b.parse::<u64>().ok()?))
}

impl OwnWrites {
    /// Remembers an object as a write returned it.
    pub fn wrote(&self, api: &ApiResource, key: &ObjectKey, resource_version: &str, json: &str) {
        let written = Written::Object { resource_version: resource_version.to_owned(), json: json.to_owned() };
        self.written.lock().insert(written_key(api, key), written);
    }

    /// Remembers a delete of the object the cache held at `resource_version`.
    pub fn deleted(&self, api: &ApiResource, key: &ObjectKey, resource_version: &str) {
        let written = Written::Deleted { resource_version: resource_version.to_owned() };
        self.written.lock().insert(written_key(api, key), written);
    }

    /// The object as the plugin should see it (`None`: absent, or deleted by the plugin): the
    /// cached one, or what the plugin wrote if the cache has not caught up.
    pub fn overlay(&self, api: &ApiResource, key: &ObjectKey, cached: Option<&CachedObject>) -> Option<String> {
        match self.seen(api, key, cached) {
            Seen::Cached(cached) => Some(cached.json.clone()),
            Seen::Written(json) => Some(json),
            Seen::Absent => None,
        }
    }

    /// As [`Self::overlay`], without copying a cached object the caller may not need. A write
    /// the cache has caught up with is forgotten.
    pub fn seen<'a>(&self, api: &ApiResource, key: &ObjectKey, cached: Option<&'a CachedObject>) -> Seen<'a> {
        let mut written = self.written.lock();
        let wkey = written_key(api, key);
        let cached_rv = cached.map(|c| c.resource_version.as_str());
        match written.get(&wkey) {
            Some(Written::Object { resource_version, json })
                if cached_rv.is_none_or(|rv| resource_version_order(rv, resource_version) == Some(Ordering::Less)) =>
            {
                Seen::Written(json.clone())
            }
            Some(Written::Deleted { resource_version })
                if cached_rv
                    .is_some_and(|rv| resource_version_order(rv, resource_version).is_some_and(Ordering::is_le)) =>
            {
                Seen::Absent
            }
            stale => {
                if stale.is_some() {
                    written.remove(&wkey);
                }
                cached.map_or(Seen::Absent, Seen::Cached)
            }
        }
    }
}

/// What a plugin should see of one object.
#[derive(Debug)]
pub enum Seen<'a> {
    Cached(&'a CachedObject),
    /// The plugin's own write, newer than the cache.
    Written(String),
    /// Absent, or deleted by the plugin.
    Absent,
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn api() -> ApiResource {
        ApiResource {
            group: String::new(),
            version: "v1".into(),
            kind: "ConfigMap".into(),
            plural: "configmaps".into(),
            namespaced: true,
        }
    }

    fn cached(resource_version: &str) -> CachedObject {
        CachedObject {
            json: format!("cached at {resource_version}"),
            key: ObjectKey::new(Some("ns"), "a"),
            resource_version: resource_version.into(),
            generation: None,
            labels: BTreeMap::new(),
            annotations: BTreeMap::new(),
            finalizers: Vec::new(),
            deleting: false,
            owners: Vec::new(),
        }
    }

    fn key() -> ObjectKey {
        ObjectKey::new(Some("ns"), "a")
    }

    #[test]
    fn resource_versions_order_as_integers_or_not_at_all() {
        assert_eq!(resource_version_order("9", "10"), Some(Ordering::Less), "numerically, not as text");
        assert_eq!(resource_version_order("opaque", "opaque"), Some(Ordering::Equal));
        assert_eq!(resource_version_order("abc", "10"), None);
    }

    #[test]
    fn a_write_shows_until_the_cache_catches_up() {
        let writes = OwnWrites::default();
        writes.wrote(&api(), &key(), "10", "written");
        assert_eq!(writes.overlay(&api(), &key(), Some(&cached("9"))).as_deref(), Some("written"));
        assert_eq!(writes.overlay(&api(), &key(), None).as_deref(), Some("written"), "created, not cached yet");
        assert_eq!(writes.overlay(&api(), &key(), Some(&cached("10"))).as_deref(), Some("cached at 10"));
        assert_eq!(writes.overlay(&api(), &key(), Some(&cached("9"))).as_deref(), Some("cached at 9"), "forgotten");
    }

    #[test]
    fn a_delete_hides_the_object_until_the_cache_moves_on() {
        let writes = OwnWrites::default();
        writes.deleted(&api(), &key(), "5");
        assert_eq!(writes.overlay(&api(), &key(), Some(&cached("5"))), None);
        assert_eq!(
            writes.overlay(&api(), &key(), Some(&cached("7"))).as_deref(),
            Some("cached at 7"),
            "re-created since"
        );
    }

    #[test]
    fn with_versions_that_do_not_order_the_cache_wins() {
        let writes = OwnWrites::default();
        writes.wrote(&api(), &key(), "w-2", "written");
        assert_eq!(writes.overlay(&api(), &key(), Some(&cached("w-1"))).as_deref(), Some("cached at w-1"));
    }
}
