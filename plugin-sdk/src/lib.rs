//! Write Kubernetes reconcilers for [weft](https://github.com/weft-dev/weft) in Rust.
//!
//! A plugin is a type implementing [`Reconciler`]: a function from a typed primary object to an
//! [`Action`], plus a [`Description`] of what it watches and which API calls it makes. Compile it
//! with `cargo build --release --target wasm32-wasip2` and the result is a component the weft host
//! loads.
//!
//! ```no_run
//! use weft_plugin::k8s_openapi::api::core::v1::ConfigMap;
//! use weft_plugin::{Action, Api, Context, Description, Reconciler, Result};
//!
//! struct Touch;
//!
//! impl Reconciler for Touch {
//!     type Primary = ConfigMap;
//!     type Config = ();
//!
//!     fn describe() -> Description {
//!         Description::new("touch", "0.1.0").selector("touch=yes").permit::<ConfigMap>(&["patch"])
//!     }
//!
//!     fn reconcile(cm: ConfigMap, _ctx: &Context<()>) -> Result<Action> {
//!         let patch = serde_json::json!({ "metadata": { "annotations": { "touched": "yes" } } });
//!         Api::<ConfigMap>::for_object(&cm).patch(weft_plugin::Object::name(&cm), &patch)?;
//!         Ok(Action::Done)
//!     }
//! }
//!
//! weft_plugin::export!(Touch);
//! ```
//!
//! Each call runs in a fresh instance: nothing a plugin keeps in memory survives to the next call.
//! State belongs in the cluster.

extern crate self as weft_plugin;

mod api;
#[doc(hidden)]
pub mod bindings;
mod context;
mod describe;
mod error;
pub mod log;
mod object;
#[cfg(test)]
mod tests;

use std::time::Duration;

pub use k8s_openapi;
pub use serde;
pub use serde_json;

pub use api::Api;
pub use context::{Context, EventType, Trigger};
pub use describe::{Description, Mapping, Rule};
pub use error::{ApiError, Error, ErrorKind, Result};
pub use object::{Object, ObjectRef, ResourceType, Scope};

/// What to do after a successful reconcile.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Nothing until something changes.
    Done,
    /// Reconcile this object again after the given time.
    RequeueAfter(Duration),
}

impl Action {
    pub fn requeue_after(after: Duration) -> Self {
        Self::RequeueAfter(after)
    }
}

/// A related object whose change may concern some primaries; see [`Reconciler::map_related`].
#[derive(Debug, Clone)]
pub struct Related {
    pub object: ObjectRef,
    json: String,
}

impl Related {
    /// Whether the related object is a `K`.
    pub fn is<K: Object>(&self) -> bool {
        self.object.kind == K::RESOURCE.kind && self.object.api_version == K::RESOURCE.api_version()
    }

    /// The related object as a `K`.
    pub fn parse<K: Object>(&self) -> Result<K> {
        Ok(serde_json::from_str(&self.json)?)
    }
}

/// A reconciler plugin. Register it with [`export!`].
pub trait Reconciler {
    /// The objects this plugin reconciles.
    type Primary: Object;
    /// The plugin's configuration (`spec.config` of its Plugin); an absent or empty config is
    /// `Default::default()`.
    type Config: serde::de::DeserializeOwned + Default;

    /// Name, version, watches and permissions; called once when the host loads the plugin.
    fn describe() -> Description;

    /// Brings the cluster in line with `object`. Called for every change, so it must be idempotent.
    fn reconcile(object: Self::Primary, ctx: &Context<Self::Config>) -> Result<Action>;

    /// `object` is being deleted and carries the plugin's finalizer. Returning [`Action::Done`]
    /// lets the host remove the finalizer.
    fn cleanup(object: Self::Primary, ctx: &Context<Self::Config>) -> Result<Action> {
        let _ = (object, ctx);
        Ok(Action::Done)
    }

    /// A related object changed; returns the primaries to reconcile.
    fn map_related(related: Related, ctx: &Context<Self::Config>) -> Result<Vec<ObjectRef>> {
        let _ = (related, ctx);
        Ok(Vec::new())
    }
}

/// Exports a [`Reconciler`] as the plugin's entry points. Use it once, at the crate root.
#[macro_export]
macro_rules! export {
    ($reconciler:ty) => {
        const _: () = {
            struct WeftPlugin;

            impl $crate::__private::Guest for WeftPlugin {
                fn describe() -> $crate::__private::types::Description {
                    $crate::__private::describe::<$reconciler>()
                }

                fn reconcile(
                    request: $crate::__private::types::Request,
                ) -> ::core::result::Result<$crate::__private::types::Action, $crate::__private::types::Failure>
                {
                    $crate::__private::reconcile::<$reconciler>(request, <$reconciler as $crate::Reconciler>::reconcile)
                }

                fn cleanup(
                    request: $crate::__private::types::Request,
                ) -> ::core::result::Result<$crate::__private::types::Action, $crate::__private::types::Failure>
                {
                    $crate::__private::reconcile::<$reconciler>(request, <$reconciler as $crate::Reconciler>::cleanup)
                }

                fn map_related(
                    request: $crate::__private::types::Request,
                ) -> ::core::result::Result<::std::vec::Vec<$crate::__private::types::ObjectRef>, ::std::string::String>
                {
                    $crate::__private::map_related::<$reconciler>(request)
                }
            }

            $crate::__private::bindings::export_reconciler!(WeftPlugin);
        };
    };
}

/// Glue for [`export!`]; not a stable API.
#[doc(hidden)]
pub mod __private {
    pub use wit_bindgen;

    pub use crate::bindings;
    pub use crate::bindings::exports::weft::plugin::controller::Guest;
    pub use crate::bindings::weft::plugin::types;

    use crate::{Action, Context, Error, Object, ObjectRef, Reconciler, Related, Trigger};

    pub fn describe<R: Reconciler>() -> types::Description {
        R::describe().into_wit(R::Primary::RESOURCE)
    }

    type Call<R> = fn(<R as Reconciler>::Primary, &Context<<R as Reconciler>::Config>) -> crate::Result<Action>;

    pub fn reconcile<R: Reconciler>(request: types::Request, call: Call<R>) -> Result<types::Action, types::Failure> {
        let run = || {
            let object = serde_json::from_str(&request.json)?;
            call(object, &context::<R>(&request.config, request.reason, request.object)?)
        };
        match run() {
            Ok(Action::Done) => Ok(types::Action::Done),
            Ok(Action::RequeueAfter(after)) => {
                Ok(types::Action::RequeueAfter(u64::try_from(after.as_millis()).unwrap_or(u64::MAX)))
            }
            Err(e) => Err(e.into_wit()),
        }
    }

    pub fn map_related<R: Reconciler>(request: types::Request) -> Result<Vec<types::ObjectRef>, String> {
        let run = || {
            let context = context::<R>(&request.config, request.reason, request.object.clone())?;
            let related = Related { object: ObjectRef::from_wit(request.object), json: request.json };
            R::map_related(related, &context)
        };
        match run() {
            Ok(refs) => Ok(refs.into_iter().map(ObjectRef::into_wit).collect()),
            Err(e) => Err(e.to_string()),
        }
    }

    fn context<R: Reconciler>(
        config: &str,
        reason: types::Trigger,
        object: types::ObjectRef,
    ) -> Result<Context<R::Config>, Error> {
        let config = match config.trim() {
            "" | "{}" | "null" => R::Config::default(),
            json => serde_json::from_str(json).map_err(|e| Error::permanent(format!("invalid plugin config: {e}")))?,
        };
        Ok(Context::new(config, Trigger::from_wit(reason), ObjectRef::from_wit(object)))
    }
}
