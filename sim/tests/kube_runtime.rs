//! kube-runtime's watcher and reflector against the emulator: resumption after closed watches and
//! forced 410s without losing a single change, streaming lists, and metadata watches.

#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use common::{configmap, start_with_history, wait_for};
use futures::StreamExt;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};
use kube::core::PartialObjectMeta;
use kube::runtime::reflector::{self, Store};
use kube::runtime::{WatchStreamExt, watcher};
use serde_json::json;

const OBJECTS: usize = 50;
const UPDATES: usize = 1_000;

/// Runs a reflector in the background; returns its store and a count of relists (Init events).
fn reflect(api: Api<ConfigMap>, config: watcher::Config) -> (Store<ConfigMap>, Arc<AtomicUsize>) {
    let (reader, writer) = reflector::store();
    let relists = Arc::new(AtomicUsize::new(0));
    let counter = relists.clone();
    let stream = reflector::reflector(writer, watcher(api, config).default_backoff());
    tokio::spawn(async move {
        stream
            .for_each(|event| {
                if matches!(event, Ok(watcher::Event::Init)) {
                    counter.fetch_add(1, Ordering::SeqCst);
                }
                futures::future::ready(())
            })
            .await;
    });
    (reader, relists)
}

fn snapshot(store: &Store<ConfigMap>) -> BTreeMap<String, String> {
    store
        .state()
        .iter()
        .map(|cm| {
            (cm.metadata.name.clone().unwrap(), cm.data.as_ref().and_then(|d| d.get("n").cloned()).unwrap_or_default())
        })
        .collect()
}

async fn burst_with_faults(config: watcher::Config) {
    let t = start_with_history(200).await;
    let api = t.configmaps();
    for i in 0..OBJECTS {
        api.create(&PostParams::default(), &configmap(&format!("cm-{i}"), &[])).await.unwrap();
    }
    let (store, relists) = reflect(api.clone(), config);
    store.wait_until_ready().await.unwrap();
    let mut expected: BTreeMap<String, String> = (0..OBJECTS).map(|i| (format!("cm-{i}"), String::new())).collect();
    for update in 0..UPDATES {
        let name = format!("cm-{}", update % OBJECTS);
        if update == UPDATES / 3 {
            t.sim.close_watches();
        }
        if update == 2 * UPDATES / 3 {
            t.sim.compact_history();
            t.sim.close_watches();
        }
        if update % 97 == 0 {
            api.delete(&name, &DeleteParams::default()).await.unwrap();
            expected.remove(&name);
            continue;
        }
        if !expected.contains_key(&name) {
            api.create(&PostParams::default(), &configmap(&name, &[])).await.unwrap();
        }
        let patch = Patch::Merge(json!({"data": {"n": update.to_string()}}));
        api.patch(&name, &PatchParams::default(), &patch).await.unwrap();
        expected.insert(name, update.to_string());
    }
    let converged = wait_for(|| async { snapshot(&store) == expected }).await;
    assert!(converged.is_ok(), "the reflector lost an event:\n{:?}\nexpected\n{:?}", snapshot(&store), expected);
    assert!(relists.load(Ordering::SeqCst) >= 2, "the forced 410 made the watcher relist");
}

#[tokio::test]
async fn a_reflector_loses_no_event_across_closed_watches_and_a_forced_410() {
    burst_with_faults(watcher::Config::default()).await;
}

#[tokio::test]
async fn a_streaming_list_reflector_loses_no_event_across_closed_watches_and_a_forced_410() {
    burst_with_faults(watcher::Config::default().streaming_lists()).await;
}

#[tokio::test]
async fn metadata_watchers_see_partial_objects() {
    let t = start_with_history(1_000).await;
    let api = t.configmaps();
    api.create(&PostParams::default(), &configmap("a", &[("app", "web")])).await.unwrap();
    let metadata: Api<PartialObjectMeta<ConfigMap>> = Api::namespaced(t.client.clone(), "default");
    let mut stream = watcher(metadata, watcher::Config::default().labels("app=web")).applied_objects().boxed();
    let first = stream.next().await.unwrap().unwrap();
    assert_eq!(first.metadata.name.as_deref(), Some("a"));
    api.create(&PostParams::default(), &configmap("b", &[("app", "web")])).await.unwrap();
    let second = stream.next().await.unwrap().unwrap();
    assert_eq!(second.metadata.name.as_deref(), Some("b"));
}

#[tokio::test]
async fn a_watch_that_falls_behind_its_buffer_is_closed_and_resumes_without_loss() {
    let config = weft_sim::SimConfig {
        store: weft_sim::StoreConfig { history_capacity: 10_000, fanout_capacity: 2 },
        ..weft_sim::SimConfig::default()
    };
    let t = common::start_with(config).await;
    let api = t.configmaps();
    let (store, relists) = reflect(api.clone(), watcher::Config::default());
    store.wait_until_ready().await.unwrap();
    // Once the reflector sees an object created after its list, its watch is live.
    api.create(&PostParams::default(), &configmap("live", &[])).await.unwrap();
    wait_for(|| async { snapshot(&store).contains_key("live") }).await.unwrap();
    let target = t.sim.store().target("", "v1", "configmaps", Some("default")).unwrap();
    let opts = weft_sim::store::WriteOptions { default_manager: "test".into(), ..Default::default() };
    // Written without yielding: the watch cannot drain its 2-slot buffer and lags.
    for i in 0..200 {
        let cm = serde_json::to_value(configmap(&format!("cm-{i}"), &[])).unwrap();
        t.sim.store().create(&target, cm, &opts).unwrap();
    }
    let mut expected: BTreeMap<String, String> = (0..200).map(|i| (format!("cm-{i}"), String::new())).collect();
    expected.insert("live".into(), String::new());
    let converged = wait_for(|| async { snapshot(&store) == expected }).await;
    assert!(converged.is_ok(), "lost events after lagging: {} of 201 seen", snapshot(&store).len());
    assert_eq!(relists.load(Ordering::SeqCst), 1, "it resumed from history rather than relisting");
}
