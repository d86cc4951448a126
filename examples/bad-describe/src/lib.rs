//! A plugin whose `describe` panics: `weft check` and the host must reject it cleanly.

use weft_plugin::k8s_openapi::api::core::v1::ConfigMap;
use weft_plugin::{Action, Context, Description, Reconciler, Result};

struct BadDescribe;

impl Reconciler for BadDescribe {
    type Primary = ConfigMap;
    type Config = ();

    fn describe() -> Description {
        panic!("describe is broken on purpose")
    }

    fn reconcile(_cm: ConfigMap, _ctx: &Context<()>) -> Result<Action> {
        Ok(Action::Done)
    }
}

weft_plugin::export!(BadDescribe);
