//! The resource types the emulator serves. Built-in kinds and CRD-defined kinds are described by the
//! same [`ResourceDef`], so storage, watch and patch have one code path for both.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use serde_json::Value;

/// A resource type independent of version, e.g. `deployments.apps`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct GroupResource {
    /// API group; empty for the core group.
    pub group: String,
    /// Plural resource name.
    pub resource: String,
}

impl GroupResource {
    pub fn new(group: &str, resource: &str) -> Self {
        Self { group: group.to_owned(), resource: resource.to_owned() }
    }
}

impl fmt::Display for GroupResource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.group.is_empty() { f.write_str(&self.resource) } else { write!(f, "{}.{}", self.resource, self.group) }
    }
}

/// One additional printer column (`kubectl get` output).
#[derive(Clone, Debug, PartialEq)]
pub struct PrinterColumn {
    pub name: String,
    pub type_: String,
    pub format: String,
    pub description: String,
    pub json_path: String,
    pub priority: i64,
}

/// Where `/scale` reads and writes replicas.
#[derive(Clone, Debug, PartialEq)]
pub struct ScalePaths {
    pub spec_replicas: String,
    pub status_replicas: String,
    pub label_selector: Option<String>,
}

/// One served version of a resource.
#[derive(Clone, Debug, PartialEq)]
pub struct VersionDef {
    pub name: String,
    /// The structural `openAPIV3Schema` (CRDs only).
    pub schema: Option<Value>,
    pub printer_columns: Vec<PrinterColumn>,
    pub status_subresource: bool,
    pub scale: Option<ScalePaths>,
}

/// Where a resource type comes from; decides patch support and list item encoding.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Origin {
    Builtin,
    /// Defined by the named CustomResourceDefinition.
    Crd {
        name: String,
    },
}

/// Everything the server needs to know to serve one resource type.
#[derive(Clone, Debug, PartialEq)]
pub struct ResourceDef {
    pub gr: GroupResource,
    pub kind: String,
    pub list_kind: String,
    pub singular: String,
    pub short_names: Vec<String>,
    pub categories: Vec<String>,
    pub namespaced: bool,
    /// Served versions, preferred first.
    pub versions: Vec<VersionDef>,
    /// Whether `metadata.generation` is maintained for this type.
    pub tracks_generation: bool,
    pub origin: Origin,
    /// Set while the defining CRD is being deleted: reads work, creates answer 405.
    pub terminating: bool,
}

impl ResourceDef {
    pub fn version(&self, name: &str) -> Option<&VersionDef> {
        self.versions.iter().find(|v| v.name == name)
    }

    pub fn preferred_version(&self) -> &str {
        self.versions.first().map_or("v1", |v| v.name.as_str())
    }

    pub fn api_version(&self, version: &str) -> String {
        if self.gr.group.is_empty() { version.to_owned() } else { format!("{}/{version}", self.gr.group) }
    }

    pub fn is_crd(&self) -> bool {
        matches!(self.origin, Origin::Crd { .. })
    }

    /// Status is a subresource in the given version (then the main resource ignores `.status`).
    pub fn has_status(&self, version: &str) -> bool {
        self.version(version).is_some_and(|v| v.status_subresource)
    }
}

/// The set of served resource types.
#[derive(Clone, Debug, Default)]
pub struct Registry {
    defs: BTreeMap<GroupResource, Arc<ResourceDef>>,
}

impl Registry {
    pub fn insert(&mut self, def: ResourceDef) {
        self.defs.insert(def.gr.clone(), Arc::new(def));
    }

    pub fn remove(&mut self, gr: &GroupResource) -> Option<Arc<ResourceDef>> {
        self.defs.remove(gr)
    }

    pub fn get(&self, gr: &GroupResource) -> Option<&Arc<ResourceDef>> {
        self.defs.get(gr)
    }

    /// The definition serving `group/version/resource`, if that version is served.
    pub fn lookup(&self, group: &str, version: &str, resource: &str) -> Option<&Arc<ResourceDef>> {
        self.defs.get(&GroupResource::new(group, resource)).filter(|def| def.version(version).is_some())
    }

    pub fn iter(&self) -> impl Iterator<Item = &Arc<ResourceDef>> {
        self.defs.values()
    }

    /// Served groups with their versions, in discovery order (core group excluded).
    pub fn groups(&self) -> BTreeMap<String, Vec<String>> {
        let mut groups: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for def in self.defs.values().filter(|d| !d.gr.group.is_empty()) {
            let versions = groups.entry(def.gr.group.clone()).or_default();
            for v in &def.versions {
                if !versions.contains(&v.name) {
                    versions.push(v.name.clone());
                }
            }
        }
        for versions in groups.values_mut() {
            versions.sort_by_key(|v| std::cmp::Reverse(version_priority(v)));
        }
        groups
    }
}

/// Kubernetes version ordering: GA > beta > alpha, then by number (`v2 > v1 > v1beta2 > v1beta1`).
pub fn version_priority(version: &str) -> (u8, u32, u32) {
    let Some(rest) = version.strip_prefix('v') else { return (0, 0, 0) };
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    let Ok(major) = digits.parse::<u32>() else { return (0, 0, 0) };
    let tail = &rest[digits.len()..];
    let minor = |prefix: &str| tail.strip_prefix(prefix).and_then(|n| n.parse::<u32>().ok());
    if tail.is_empty() {
        (3, major, 0)
    } else if let Some(n) = minor("beta") {
        (2, major, n)
    } else if let Some(n) = minor("alpha") {
        (1, major, n)
    } else {
        (0, 0, 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_sort_like_kubernetes() {
        let mut v = vec!["v1alpha1", "v1", "v2beta1", "v1beta2", "v2", "foo"];
        v.sort_by_key(|v| std::cmp::Reverse(version_priority(v)));
        assert_eq!(v, ["v2", "v1", "v2beta1", "v1beta2", "v1alpha1", "foo"]);
    }
}
