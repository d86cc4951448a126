//! What a plugin declares about itself: what it watches and what it may do.

use crate::bindings::weft::plugin::types;
use crate::object::{Object, ResourceType};

/// A plugin's declaration, built with [`Description::new`] and returned from
/// [`Reconciler::describe`](crate::Reconciler::describe). The primary resource comes from the
/// reconciler's `Primary` type.
#[derive(Debug, Clone)]
pub struct Description {
    name: String,
    version: String,
    selector: Option<String>,
    owns: Vec<(ResourceType, Option<String>)>,
    related: Vec<(ResourceType, Option<String>, Mapping)>,
    permissions: Vec<Rule>,
    finalizer: Option<String>,
    reconcile_on_status_change: bool,
}

/// How a change to a related object finds its primaries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mapping {
    /// Call [`Reconciler::map_related`](crate::Reconciler::map_related).
    ByFunction,
    /// The related object names its primary (in the same namespace) in this label.
    ByLabel(String),
}

/// Verbs the plugin needs on one resource (`plural`, or `plural/status` for the subresource).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    pub api_group: String,
    pub resource: String,
    pub verbs: Vec<String>,
}

impl Description {
    /// A plugin called `name` at `version` (typically `env!("CARGO_PKG_VERSION")`).
    pub fn new(name: &str, version: &str) -> Self {
        Self {
            name: name.to_owned(),
            version: version.to_owned(),
            selector: None,
            owns: Vec::new(),
            related: Vec::new(),
            permissions: Vec::new(),
            finalizer: None,
            reconcile_on_status_change: false,
        }
    }

    /// Only primaries matching this label selector are reconciled.
    pub fn selector(mut self, label_selector: &str) -> Self {
        self.selector = Some(label_selector.to_owned());
        self
    }

    /// The plugin creates `K` objects with an ownerReference to the primary; their changes
    /// reconcile the owner.
    pub fn owns<K: Object>(mut self, label_selector: Option<&str>) -> Self {
        self.owns.push((K::RESOURCE, label_selector.map(str::to_owned)));
        self
    }

    /// Changes to `K` objects reconcile the primaries that `mapping` finds.
    pub fn related<K: Object>(mut self, label_selector: Option<&str>, mapping: Mapping) -> Self {
        self.related.push((K::RESOURCE, label_selector.map(str::to_owned), mapping));
        self
    }

    /// The plugin calls these verbs on `K` (`get`, `list`, `create`, `patch`, `delete`; `apply`
    /// needs `patch`; status patches need `patch` on `<plural>/status`, see
    /// [`permit_status`](Self::permit_status)).
    pub fn permit<K: Object>(mut self, verbs: &[&str]) -> Self {
        self.permissions.push(Rule {
            api_group: K::RESOURCE.group.to_owned(),
            resource: K::RESOURCE.plural.to_owned(),
            verbs: verbs.iter().map(|v| (*v).to_owned()).collect(),
        });
        self
    }

    /// The plugin patches the status subresource of `K`.
    pub fn permit_status<K: Object>(mut self) -> Self {
        self.permissions.push(Rule {
            api_group: K::RESOURCE.group.to_owned(),
            resource: format!("{}/status", K::RESOURCE.plural),
            verbs: vec!["patch".to_owned()],
        });
        self
    }

    /// The host adds this finalizer to primaries and calls
    /// [`Reconciler::cleanup`](crate::Reconciler::cleanup) before letting them go.
    pub fn finalizer(mut self, name: &str) -> Self {
        self.finalizer = Some(name.to_owned());
        self
    }

    /// Also reconcile when only a primary's status changed (off by default, which keeps status
    /// writes from triggering loops).
    pub fn reconcile_on_status_change(mut self) -> Self {
        self.reconcile_on_status_change = true;
        self
    }

    pub(crate) fn into_wit(self, primary: ResourceType) -> types::Description {
        let watch = |resource: ResourceType, label_selector| types::Watch { api: resource.to_wit(), label_selector };
        types::Description {
            name: self.name,
            version: self.version,
            primary: watch(primary, self.selector),
            owns: self.owns.into_iter().map(|(r, s)| watch(r, s)).collect(),
            related: self
                .related
                .into_iter()
                .map(|(r, s, mapping)| types::Related {
                    watch: watch(r, s),
                    mapping: match mapping {
                        Mapping::ByFunction => types::RelatedMapping::ByFunction,
                        Mapping::ByLabel(label) => types::RelatedMapping::ByLabel(label),
                    },
                })
                .collect(),
            permissions: self
                .permissions
                .into_iter()
                .map(|rule| types::PolicyRule {
                    api_groups: vec![rule.api_group],
                    resources: vec![rule.resource],
                    verbs: rule.verbs,
                })
                .collect(),
            finalizer: self.finalizer,
            reconcile_on_status_change: self.reconcile_on_status_change,
        }
    }
}
