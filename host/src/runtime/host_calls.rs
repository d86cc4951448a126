//! The host side of the WIT imports: every cluster call is checked against the plugin's grants and
//! size limit before it reaches the [`Cluster`].

use std::fmt;
use std::sync::Arc;

use serde::Deserialize;

use super::bindings::weft::plugin::{cluster, logging, types};
use super::bindings::{ApiError, ApiResource, ErrorKind, Event, Level, ObjectRef};
use super::cluster::Cluster;
use super::permissions::{Access, Grants};

/// A loaded plugin's standing: who it is, what it may do and where its calls go.
pub struct PluginEnv {
    pub name: Arc<str>,
    pub grants: Grants,
    pub cluster: Arc<dyn Cluster>,
    /// `spec.config` of the Plugin as JSON, handed to every call.
    pub config: String,
    pub limits: super::Limits,
}

impl fmt::Debug for PluginEnv {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PluginEnv").field("name", &self.name).field("limits", &self.limits).finish_non_exhaustive()
    }
}

/// The imports' state in one call's store. The imports are implemented on it, not on the store,
/// so this module never names the store type (the store projects onto it in `engine.rs`).
#[derive(Debug)]
pub(crate) struct HostCalls {
    env: Arc<PluginEnv>,
}

impl HostCalls {
    pub(crate) fn new(env: Arc<PluginEnv>) -> Self {
        Self { env }
    }

    fn authorize(&self, api: &ApiResource, verb: &str, namespace: Option<&str>) -> Result<(), ApiError> {
        self.authorize_resource(api, &api.plural, verb, namespace)
    }

    fn authorize_resource(
        &self,
        api: &ApiResource,
        resource: &str,
        verb: &str,
        namespace: Option<&str>,
    ) -> Result<(), ApiError> {
        let access = Access { group: &api.group, resource, verb, namespace };
        if self.env.grants.allows(access) {
            Ok(())
        } else {
            Err(ApiError::new(ErrorKind::Forbidden, format!("plugin {} may not {access}", self.env.name)))
        }
    }

    fn check_size(&self, json: &str) -> Result<(), ApiError> {
        let limit = self.env.limits.max_object_bytes;
        if json.len() > limit {
            return Err(ApiError::new(
                ErrorKind::Invalid,
                format!("object is {} bytes, over the {limit}-byte limit", json.len()),
            ));
        }
        Ok(())
    }
}

/// The namespace a create or apply body names, for the permission check.
fn body_namespace(json: &str) -> Result<Option<String>, ApiError> {
    #[derive(Deserialize)]
    struct Body {
        #[serde(default)]
        metadata: Meta,
    }
    #[derive(Deserialize, Default)]
    struct Meta {
        namespace: Option<String>,
    }
    serde_json::from_str::<Body>(json)
        .map(|b| b.metadata.namespace)
        .map_err(|e| ApiError::new(ErrorKind::Invalid, format!("object is not valid JSON: {e}")))
}

impl types::Host for HostCalls {}

impl cluster::Host for HostCalls {
    fn get(&mut self, api: ApiResource, namespace: Option<String>, name: String) -> Result<String, ApiError> {
        self.authorize(&api, "get", namespace.as_deref())?;
        self.env.cluster.get(&api, namespace.as_deref(), &name)
    }

    fn list(
        &mut self,
        api: ApiResource,
        namespace: Option<String>,
        label_selector: Option<String>,
    ) -> Result<Vec<String>, ApiError> {
        self.authorize(&api, "list", namespace.as_deref())?;
        self.env.cluster.list(&api, namespace.as_deref(), label_selector.as_deref())
    }

    fn create(&mut self, api: ApiResource, json: String) -> Result<String, ApiError> {
        self.check_size(&json)?;
        self.authorize(&api, "create", body_namespace(&json)?.as_deref())?;
        self.env.cluster.create(&api, &json)
    }

    fn apply(&mut self, api: ApiResource, json: String, force: bool) -> Result<String, ApiError> {
        self.check_size(&json)?;
        self.authorize(&api, "patch", body_namespace(&json)?.as_deref())?;
        self.env.cluster.apply(&api, &json, &self.env.name, force)
    }

    fn patch(
        &mut self,
        api: ApiResource,
        namespace: Option<String>,
        name: String,
        merge_patch: String,
    ) -> Result<String, ApiError> {
        self.check_size(&merge_patch)?;
        self.authorize(&api, "patch", namespace.as_deref())?;
        self.env.cluster.patch(&api, namespace.as_deref(), &name, &merge_patch)
    }

    fn patch_status(
        &mut self,
        api: ApiResource,
        namespace: Option<String>,
        name: String,
        merge_patch: String,
    ) -> Result<String, ApiError> {
        self.check_size(&merge_patch)?;
        self.authorize_resource(&api, &format!("{}/status", api.plural), "patch", namespace.as_deref())?;
        self.env.cluster.patch_status(&api, namespace.as_deref(), &name, &merge_patch)
    }

    fn delete(&mut self, api: ApiResource, namespace: Option<String>, name: String) -> Result<(), ApiError> {
        self.authorize(&api, "delete", namespace.as_deref())?;
        self.env.cluster.delete(&api, namespace.as_deref(), &name)
    }

    /// Events are the host's own record of what plugins did, so they need no grant.
    fn record_event(&mut self, regarding: ObjectRef, event: Event) {
        self.env.cluster.record_event(&regarding, &event, &self.env.name);
    }
}

impl logging::Host for HostCalls {
    /// The plugin and the object come from the call's span.
    fn log(&mut self, level: Level, message: String, fields: Vec<(String, String)>) {
        let fields = Fields(&fields);
        match level {
            Level::Trace => tracing::trace!(target: "weft::plugin", %fields, "{message}"),
            Level::Debug => tracing::debug!(target: "weft::plugin", %fields, "{message}"),
            Level::Info => tracing::info!(target: "weft::plugin", %fields, "{message}"),
            Level::Warn => tracing::warn!(target: "weft::plugin", %fields, "{message}"),
            Level::Error => tracing::error!(target: "weft::plugin", %fields, "{message}"),
        }
    }
}

/// A plugin's key/value log fields, rendered as `k=v k2=v2`.
struct Fields<'a>(&'a [(String, String)]);

impl fmt::Display for Fields<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, (key, value)) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            write!(f, "{key}={value:?}")?;
        }
        Ok(())
    }
}
