//! A plugin whose `describe` declares a label selector that does not parse: the host must refuse
//! it at load, not watch every object.

use weft_plugin::k8s_openapi::api::core::v1::ConfigMap;
use weft_plugin::{Action, Context, Description, Reconciler, Result};

struct BadSelector;

impl Reconciler for BadSelector {
    type Primary = ConfigMap;
    type Config = ();

    fn describe() -> Description {
        Description::new("bad-selector", env!("CARGO_PKG_VERSION")).selector("app in web")
    }

    fn reconcile(_cm: ConfigMap, _ctx: &Context<()>) -> Result<Action> {
        Ok(Action::Done)
    }
}

weft_plugin::export!(BadSelector);
