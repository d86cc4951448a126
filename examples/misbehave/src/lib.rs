//! A test fixture that misbehaves on request. A ConfigMap labelled `weft.dev/misbehave` chooses what
//! happens when it is reconciled by the label's value:
//!
//! - `ok`: nothing, successfully;
//! - `trap`: panics (a wasm trap);
//! - `loop`: spins forever (the host's deadline must stop it);
//! - `memory`: allocates without bound (the host's memory cap must stop it);
//! - `forbidden`: lists Secrets, which it never declared (the host must refuse);
//! - `oversize`: creates a 2 MiB ConfigMap (the host must refuse to send it);
//! - `fail`: returns a permanent error;
//! - `print`: writes to stdout and stderr;
//! - `count`: bumps the annotation `weft.dev/count` by one with a patch guarded by the object's
//!   resourceVersion, and asks to run again at once until it reaches 20; a stale read shows up
//!   as a conflict;
//! - `own`: creates the ConfigMap `<name>-child` owned by this one, and copies the child's
//!   `data.value` into its own annotation `weft.dev/child-value`, so a change to the child shows
//!   that owned objects reconcile their owner.

use std::time::Duration;
use weft_plugin::k8s_openapi::api::core::v1::{ConfigMap, Secret};
use weft_plugin::k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;

use weft_plugin::{Action, Api, Context, Description, Error, Object, Reconciler, Result};

const LABEL: &str = "weft.dev/misbehave";

struct Misbehave;

impl Reconciler for Misbehave {
    type Primary = ConfigMap;
    type Config = ();

    fn describe() -> Description {
        Description::new("misbehave", env!("CARGO_PKG_VERSION"))
            .selector(LABEL)
            .owns::<ConfigMap>(None)
            .permit::<ConfigMap>(&["get", "create", "patch"])
    }

    fn reconcile(cm: ConfigMap, _ctx: &Context<()>) -> Result<Action> {
        let behaviour = cm.metadata.labels.as_ref().and_then(|l| l.get(LABEL)).map_or("ok", String::as_str);
        match behaviour {
            "ok" => Ok(Action::Done),
            "trap" => panic!("misbehaving on purpose: {}", cm.name()),
            "loop" => spin(),
            "memory" => hoard(),
            "forbidden" => {
                let secrets = Api::<Secret>::all().list(None)?;
                Err(Error::permanent(format!("listed {} secrets without permission", secrets.len())))
            }
            "oversize" => {
                let mut big = ConfigMap::default();
                big.metadata.name = Some(format!("{}-big", cm.name()));
                big.data = Some([("blob".to_owned(), "x".repeat(2 << 20))].into());
                Api::<ConfigMap>::namespaced(cm.namespace().unwrap_or("default")).create(&big)?;
                Err(Error::permanent("created an oversized object"))
            }
            "fail" => Err(Error::permanent("failing on purpose")),
            "count" => count(&cm),
            "own" => own(&cm),
            "print" => {
                println!("to stdout from {}", cm.name());
                eprintln!("to stderr from {}", cm.name());
                Ok(Action::Done)
            }
            other => Err(Error::permanent(format!("unknown behaviour {other:?}"))),
        }
    }
}

const COUNT: &str = "weft.dev/count";
const COUNT_TO: u32 = 20;

fn count(cm: &ConfigMap) -> Result<Action> {
    let seen: u32 = cm
        .metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(COUNT))
        .map_or(Ok(0), |n| n.parse())
        .map_err(Error::permanent)?;
    if seen >= COUNT_TO {
        return Ok(Action::Done);
    }
    let patch = serde_json::json!({
        "metadata": {
            "resourceVersion": cm.metadata.resource_version,
            "annotations": { COUNT: (seen + 1).to_string() },
        }
    });
    Api::<ConfigMap>::for_object(cm).patch(cm.name(), &patch)?;
    Ok(Action::requeue_after(Duration::ZERO))
}

const CHILD_VALUE: &str = "weft.dev/child-value";

fn own(cm: &ConfigMap) -> Result<Action> {
    let api = Api::<ConfigMap>::for_object(cm);
    let child_name = format!("{}-child", cm.name());
    let child = match api.get_opt(&child_name)? {
        Some(child) => child,
        None => {
            let mut child = ConfigMap::default();
            child.metadata.name = Some(child_name);
            child.metadata.namespace = cm.namespace().map(str::to_owned);
            child.metadata.owner_references = Some(vec![OwnerReference {
                api_version: "v1".into(),
                kind: "ConfigMap".into(),
                name: cm.name().to_owned(),
                uid: cm.metadata.uid.clone().unwrap_or_default(),
                controller: Some(true),
                ..OwnerReference::default()
            }]);
            child.data = Some([("value".to_owned(), "0".to_owned())].into());
            api.create(&child)?
        }
    };
    let value = child.data.as_ref().and_then(|d| d.get("value")).cloned().unwrap_or_default();
    let current = cm.metadata.annotations.as_ref().and_then(|a| a.get(CHILD_VALUE));
    if current != Some(&value) {
        api.patch(cm.name(), &serde_json::json!({ "metadata": { "annotations": { CHILD_VALUE: value } } }))?;
    }
    Ok(Action::Done)
}

fn spin() -> ! {
    let mut n: u64 = 0;
    loop {
        n = std::hint::black_box(n.wrapping_add(1));
    }
}

fn hoard() -> ! {
    let mut chunks: Vec<Vec<u8>> = Vec::new();
    loop {
        // Touch every page so the memory is really used, not just reserved.
        chunks.push(vec![1; 1 << 20]);
        std::hint::black_box(&chunks);
    }
}

weft_plugin::export!(Misbehave);
