//! Mirrors ConfigMaps across namespaces.
//!
//! A ConfigMap labelled `weft.dev/mirror: "true"` is copied into every namespace listed in its
//! annotation `weft.dev/mirror-to` (comma-separated). Copies carry the label
//! `weft.dev/mirrored-from: <namespace>.<name>`; copies in namespaces no longer listed are deleted,
//! and a finalizer on the source removes every copy before the source goes away. A copy that is
//! edited or deleted by someone else is put back.

use std::collections::BTreeSet;

use weft_plugin::k8s_openapi::api::core::v1::ConfigMap;
use weft_plugin::{
    Action, Api, Context, Description, Error, EventType, Mapping, Object, ObjectRef, Reconciler, Related, Result,
};

const MIRROR_LABEL: &str = "weft.dev/mirror";
const TARGETS_ANNOTATION: &str = "weft.dev/mirror-to";
const SOURCE_LABEL: &str = "weft.dev/mirrored-from";

struct Mirror;

impl Reconciler for Mirror {
    type Primary = ConfigMap;
    type Config = ();

    fn describe() -> Description {
        Description::new("configmap-mirror", env!("CARGO_PKG_VERSION"))
            .selector(&format!("{MIRROR_LABEL}=true"))
            .related::<ConfigMap>(Some(SOURCE_LABEL), Mapping::ByFunction)
            .permit::<ConfigMap>(&["get", "list", "patch", "delete"])
            .finalizer("weft.dev/mirror-cleanup")
    }

    fn reconcile(source: ConfigMap, ctx: &Context<()>) -> Result<Action> {
        let origin = origin(&source);
        let targets = targets(&source);
        let mut failures = Vec::new();
        for namespace in &targets {
            if let Err(e) = Api::<ConfigMap>::namespaced(namespace).apply(&copy(&source, namespace, &origin), true) {
                ctx.record_event(&source, EventType::Warning, "MirrorFailed", &format!("copy to {namespace}: {e}"));
                failures.push(format!("{namespace}: {e}"));
            }
        }
        for stale in copies(&origin)?.iter().filter(|c| !targets.contains(c.namespace().unwrap_or_default())) {
            Api::<ConfigMap>::for_object(stale).delete(stale.name())?;
        }
        if failures.is_empty() { Ok(Action::Done) } else { Err(Error::transient(failures.join("; "))) }
    }

    fn cleanup(source: ConfigMap, _ctx: &Context<()>) -> Result<Action> {
        for copy in copies(&origin(&source))? {
            match Api::<ConfigMap>::for_object(&copy).delete(copy.name()) {
                Err(e) if !e.is_not_found() => return Err(e.into()),
                _ => {}
            }
        }
        Ok(Action::Done)
    }

    /// A copy points back at its source through its label.
    fn map_related(related: Related, _ctx: &Context<()>) -> Result<Vec<ObjectRef>> {
        let copy: ConfigMap = related.parse()?;
        let origin = copy.metadata.labels.as_ref().and_then(|l| l.get(SOURCE_LABEL));
        Ok(origin
            .and_then(|o| o.split_once('.'))
            .map(|(namespace, name)| ObjectRef::new::<ConfigMap>(Some(namespace), name))
            .into_iter()
            .collect())
    }
}

/// `<namespace>.<name>`: namespaces cannot contain dots, so the first dot separates the two.
fn origin(source: &ConfigMap) -> String {
    format!("{}.{}", source.namespace().unwrap_or_default(), source.name())
}

/// The namespaces named in the annotation, without the source's own.
fn targets(source: &ConfigMap) -> BTreeSet<String> {
    let listed = source.metadata.annotations.as_ref().and_then(|a| a.get(TARGETS_ANNOTATION));
    listed
        .into_iter()
        .flat_map(|list| list.split(','))
        .map(str::trim)
        .filter(|ns| !ns.is_empty() && Some(*ns) != source.namespace())
        .map(str::to_owned)
        .collect()
}

fn copy(source: &ConfigMap, namespace: &str, origin: &str) -> ConfigMap {
    let mut copy =
        ConfigMap { data: source.data.clone(), binary_data: source.binary_data.clone(), ..Default::default() };
    copy.metadata.name = Some(source.name().to_owned());
    copy.metadata.namespace = Some(namespace.to_owned());
    copy.metadata.labels = Some([(SOURCE_LABEL.to_owned(), origin.to_owned())].into());
    copy
}

fn copies(origin: &str) -> Result<Vec<ConfigMap>> {
    Ok(Api::<ConfigMap>::all().list(Some(&format!("{SOURCE_LABEL}={origin}")))?)
}

weft_plugin::export!(Mirror);
