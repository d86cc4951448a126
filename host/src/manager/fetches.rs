//! Module fetches in flight, shared: Plugins that name the same source at the same time, as a
//! burst of Plugins applied together does, wait for one fetch and share its bytes, instead of
//! each reading the same ConfigMap, URL or registry and holding a copy of the module.

use std::collections::HashMap;
use std::sync::Arc;

use futures::FutureExt;
use futures::future::{BoxFuture, Shared};
use parking_lot::Mutex;

use crate::crd::PluginSpec;
use crate::fetch::{FetchError, ModuleBytes, Sources, fetch};
use crate::oci::OciConfig;

type Flight = Shared<BoxFuture<'static, Result<Arc<ModuleBytes>, FetchError>>>;

#[derive(Default)]
pub(super) struct Fetches {
    /// By the source and digest a spec names; a flight leaves when its first waiter has it, so
    /// a later fetch reads the source afresh.
    in_flight: Mutex<HashMap<String, Flight>>,
}

impl Fetches {
    /// The module bytes for `spec`, from a fetch of the same source already under way or from a
    /// new one.
    pub(super) async fn fetch(
        &self,
        client: &kube::Client,
        spec: &PluginSpec,
        sources: Sources,
        oci: &OciConfig,
    ) -> Result<Arc<ModuleBytes>, FetchError> {
        let key = serde_json::to_string(&(&spec.module, &spec.sha256))
            .map_err(|e| FetchError::InvalidSpec(format!("module: {e}")))?;
        let flight = self
            .in_flight
            .lock()
            .entry(key.clone())
            .or_insert_with(|| {
                let (client, spec, oci) = (client.clone(), spec.clone(), oci.clone());
                async move { fetch(&client, &spec, sources, &oci).await.map(Arc::new) }.boxed().shared()
            })
            .clone();
        let fetched = flight.clone().await;
        let mut in_flight = self.in_flight.lock();
        if in_flight.get(&key).is_some_and(|current| current.ptr_eq(&flight)) {
            in_flight.remove(&key);
        }
        fetched
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(path: &std::path::Path) -> PluginSpec {
        serde_json::from_value(serde_json::json!({ "module": { "path": path } })).expect("spec")
    }

    #[tokio::test]
    async fn fetches_at_the_same_time_share_one_and_later_ones_read_again() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("plugin.wasm");
        std::fs::write(&path, b"\0asm first").expect("write");
        // Never reached: a `path` module is read from the file.
        let client =
            kube::Client::try_from(kube::Config::new("http://127.0.0.1:9".parse().expect("url"))).expect("client");
        let (fetches, spec, sources, oci) =
            (Fetches::default(), spec(&path), Sources { allow_path: true }, OciConfig::default());

        let (a, b) =
            tokio::join!(fetches.fetch(&client, &spec, sources, &oci), fetches.fetch(&client, &spec, sources, &oci));
        let (a, b) = (a.expect("fetched"), b.expect("fetched"));
        assert!(Arc::ptr_eq(&a, &b), "one fetch, shared");
        assert!(fetches.in_flight.lock().is_empty(), "the flight left once done");

        std::fs::write(&path, b"\0asm second").expect("write");
        let later = fetches.fetch(&client, &spec, sources, &oci).await.expect("fetched");
        assert_eq!(later.bytes, b"\0asm second", "a later fetch reads the source again");
    }
}
