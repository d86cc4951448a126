//! Plugins in every language in one running host, loaded the ways each can ship: from a ConfigMap
//! (gzip-compressed where that makes it fit) or from a URL served on loopback.

mod common;

use std::collections::HashMap;
use std::time::Duration;

use common::gzip;
use common::languages::{Go, JavaScript, Language, Python, Rust};
use common::live::{Live, configmap, eventually_within};
use kube::api::PostParams;
use serde_json::{Value, json};
use weft::runtime::Digest;

const GREETING: &str = "weft.dev/greeting";
/// Loads wait on compiles, and a Python module takes tens of seconds to compile in a debug build.
const PATIENCE: Duration = Duration::from_secs(180);

/// Serves `files` at `/NAME` on a loopback port; returns the base URL.
async fn serve(files: Vec<(String, Vec<u8>)>) -> String {
    let files: HashMap<String, Vec<u8>> = files.into_iter().collect();
    let app = axum::Router::new().route(
        "/{name}",
        axum::routing::get(move |axum::extract::Path(name): axum::extract::Path<String>| {
            let found = files.get(&name).cloned();
            async move { found.ok_or(http::StatusCode::NOT_FOUND) }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(async move { axum::serve(listener, app).await });
    base
}

/// A hello Plugin for `language`, greeting in its own namespace only.
fn hello_spec(language: Language, module: Value, sha256: Option<String>) -> Value {
    json!({
        "module": module,
        "sha256": sha256,
        "config": { "greeting": format!("hello from {language}") },
        "permissions": [{ "apiGroups": [""], "resources": ["configmaps"], "verbs": ["patch"] }],
        "namespaces": [namespace(language)],
    })
}

fn namespace(language: Language) -> String {
    language.to_string().to_lowercase()
}

fn from_configmap(name: &str) -> Value {
    json!({ "configMap": { "namespace": "weft-system", "name": name, "key": "plugin.wasm" } })
}

/// Waits until `language`'s hello has greeted `greet-me` in its namespace.
async fn greeted(live: &Live, language: Language) {
    let ns = namespace(language);
    let expected = format!("hello from {language}, {ns}/greet-me");
    eventually_within(&format!("{language} greets"), PATIENCE, || async {
        (live.annotation(&ns, "greet-me", GREETING).await? == expected).then_some(())
    })
    .await;
}

async fn greet_me(live: &Live, language: Language) {
    let ns = namespace(language);
    live.namespace(&ns).await;
    let cm = configmap("greet-me", &[("weft.dev/hello", "")], &[]);
    live.configmaps(&ns).create(&PostParams::default(), &cm).await.expect("ConfigMap to greet");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_host_runs_hello_in_every_language_at_once_each_from_where_it_fits() {
    let module = |language: Language| language.module_bytes("hello");
    let (go, python, js) = (module(Go), module(Python), module(JavaScript));
    let go_gz = gzip(&go);
    let base = serve(vec![("hello-go.wasm.gz".into(), go_gz), ("hello-python.wasm".into(), python.clone())]).await;
    let live = Live::start().await;
    for language in Language::ALL {
        greet_me(&live, language).await;
    }

    // Rust as it is and JavaScript gzip-compressed fit a ConfigMap; Go and Python come by URL.
    live.module_configmap("hello-module", "hello").await;
    let js_gz = gzip(&js);
    Live::store_module(&live.client, "hello-js-module", js_gz.clone()).await.expect("gzipped JavaScript fits");
    live.apply_plugin("hello", hello_spec(Rust, from_configmap("hello-module"), None)).await;
    // Either digest is accepted for a compressed module: of the bytes as stored, or decompressed.
    let stored_digest = Some(Digest::of(&js_gz).to_string());
    live.apply_plugin("hello-js", hello_spec(JavaScript, from_configmap("hello-js-module"), stored_digest)).await;
    let go_url = json!({ "url": format!("{base}/hello-go.wasm.gz") });
    live.apply_plugin("hello-go", hello_spec(Go, go_url, Some(Digest::of(&go).to_string()))).await;
    let python_url = json!({ "url": format!("{base}/hello-python.wasm") });
    live.apply_plugin("hello-python", hello_spec(Python, python_url, Some(Digest::of(&python).to_string()))).await;

    for language in Language::ALL {
        greeted(&live, language).await;
        let plugin = language.plugin("hello");
        live.wait_condition(&plugin, "Ready", "True", "Running").await;
        let status = live.status(&plugin).await.expect("status");
        assert_eq!(status.version, Some(format!("{plugin} 0.1.0")));
        let running = Digest::of(&module(language)).to_string();
        assert_eq!(status.module_digest, Some(running), "{language}: the digest of the decompressed module");
    }
    assert_eq!(live.host.running_plugins().len(), 4);
    live.stop().await;
}

/// What the README says about shipping: which builds of hello a ConfigMap (1 MiB) can hold.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rust_fits_a_configmap_as_it_is_javascript_gzipped_and_go_and_python_not_at_all() {
    let live = Live::start().await;
    let mut fits = Vec::new();
    for language in Language::ALL {
        let module = language.module_bytes("hello");
        let plain = Live::store_module(&live.client, &format!("{language}-plain").to_lowercase(), module.clone()).await;
        let gzipped = Live::store_module(&live.client, &format!("{language}-gzip").to_lowercase(), gzip(&module)).await;
        fits.push((language, plain.is_ok(), gzipped.is_ok()));
    }
    assert_eq!(fits, [(Rust, true, true), (Go, false, false), (Python, false, false), (JavaScript, false, true)]);
    live.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_big_module_compiling_cold_does_not_hold_up_a_small_one() {
    let python = Python.module_bytes("hello");
    let base = serve(vec![("hello-python.wasm".into(), python.clone())]).await;
    let cold = tempfile::tempdir().expect("tempdir");
    let live = Live::start_with(|config| {
        config.runtime.cache_dir = Some(cold.path().to_owned());
        // Two compiles at once, as on these 2-core machines, whatever this machine has.
        config.runtime.max_concurrent_compiles = 2;
    })
    .await;
    for language in [Rust, Python] {
        greet_me(&live, language).await;
    }
    let python_url = json!({ "url": format!("{base}/hello-python.wasm") });
    live.apply_plugin("hello-python", hello_spec(Python, python_url, Some(Digest::of(&python).to_string()))).await;
    live.module_configmap("hello-module", "hello").await;
    live.apply_plugin("hello", hello_spec(Rust, from_configmap("hello-module"), None)).await;

    greeted(&live, Rust).await;
    let python_ready = live
        .status("hello-python")
        .await
        .is_some_and(|status| status.conditions.iter().any(|c| c.type_ == "Ready" && c.status == "True"));
    assert!(!python_ready, "hello (Rust) was ready only once the Python module had compiled");
    greeted(&live, Python).await;
    live.stop().await;
}
