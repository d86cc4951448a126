//! Greets ConfigMaps labelled `weft.dev/hello`: each gets the annotation
//! `weft.dev/greeting: "<greeting>, <namespace>/<name>"`.

use serde::Deserialize;
use weft_plugin::k8s_openapi::api::core::v1::ConfigMap;
use weft_plugin::{Action, Api, Context, Description, Object, Reconciler, Result};

const ANNOTATION: &str = "weft.dev/greeting";

/// `spec.config` of the Plugin: `{"greeting": "hi"}`.
#[derive(Deserialize)]
#[serde(default)]
struct Config {
    greeting: String,
}

impl Default for Config {
    fn default() -> Self {
        Self { greeting: "hello".to_owned() }
    }
}

struct Hello;

impl Reconciler for Hello {
    type Primary = ConfigMap;
    type Config = Config;

    fn describe() -> Description {
        Description::new("hello", env!("CARGO_PKG_VERSION")).selector("weft.dev/hello").permit::<ConfigMap>(&["patch"])
    }

    fn reconcile(cm: ConfigMap, ctx: &Context<Config>) -> Result<Action> {
        let greeting = format!("{}, {}/{}", ctx.config().greeting, cm.namespace().unwrap_or_default(), cm.name());
        let current = cm.metadata.annotations.as_ref().and_then(|a| a.get(ANNOTATION));
        if current != Some(&greeting) {
            let patch = serde_json::json!({ "metadata": { "annotations": { ANNOTATION: greeting } } });
            Api::<ConfigMap>::for_object(&cm).patch(cm.name(), &patch)?;
        }
        Ok(Action::Done)
    }
}

weft_plugin::export!(Hello);
