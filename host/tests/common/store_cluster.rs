//! A [`Cluster`] over the emulator's store: real API semantics (server-side apply, merge patch,
//! status subresources, finalizers) without HTTP, and a record of every write for assertions.

use std::sync::{Arc, Mutex};

use serde_json::Value;
use weft::runtime::{ApiError, ApiResource, Cluster, ErrorKind, Event, ObjectRef};
use weft_sim::selector::{LabelSelector, Selectors};
use weft_sim::store::{DeleteOptions, ListOptions, PatchKind, Target, WriteOptions};
use weft_sim::{Sim, SimConfig, Store};

/// A write the cluster received: verb, resource, namespace, name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Write {
    pub verb: &'static str,
    pub resource: String,
    pub namespace: Option<String>,
    pub name: String,
}

#[derive(Debug)]
pub struct StoreCluster {
    store: Arc<Store>,
    writes: Mutex<Vec<Write>>,
    events: Mutex<Vec<(ObjectRef, Event, String)>>,
    reads: Mutex<usize>,
}

/// The emulator, on a runtime of its own so plugin calls can block the test thread.
pub struct TestCluster {
    pub cluster: Arc<StoreCluster>,
    pub sim: Sim,
    pub rt: tokio::runtime::Runtime,
}

impl TestCluster {
    pub fn start() -> Self {
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().expect("runtime");
        let config = SimConfig { listen: "127.0.0.1:0".parse().expect("addr"), ..Default::default() };
        let sim = rt.block_on(Sim::start(config)).expect("sim starts");
        let cluster = Arc::new(StoreCluster::new(Arc::clone(sim.store())));
        Self { cluster, sim, rt }
    }

    pub fn store(&self) -> &Store {
        self.sim.store()
    }

    /// Creates objects from YAML documents (namespaces, CRDs, anything served).
    pub fn create_yaml(&self, yaml: &str) {
        for doc in serde_saphyr::from_multiple::<Value>(yaml).expect("yaml parses") {
            self.create(doc);
        }
    }

    pub fn create(&self, object: Value) -> Value {
        let (group, version) = split_api_version(object["apiVersion"].as_str().expect("apiVersion"));
        let kind = object["kind"].as_str().expect("kind");
        let plural = plural(kind);
        let target = self.wait_for_target(group, version, &plural, object["metadata"]["namespace"].as_str());
        let outcome = self.store().create(&target, object, &WriteOptions::default()).expect("create");
        (*outcome.object).clone()
    }

    pub fn namespace(&self, name: &str) {
        self.create(serde_json::json!({ "apiVersion": "v1", "kind": "Namespace", "metadata": { "name": name } }));
    }

    pub fn get(&self, group: &str, version: &str, plural: &str, namespace: Option<&str>, name: &str) -> Option<Value> {
        let target = self.store().target(group, version, plural, namespace).expect("served");
        self.store().get(&target, name).ok().map(|v| (*v).clone())
    }

    /// Waits for a resource to be served (a new CRD becomes established asynchronously).
    fn wait_for_target(&self, group: &str, version: &str, plural: &str, namespace: Option<&str>) -> Target {
        for _ in 0..500 {
            if let Ok(target) = self.store().target(group, version, plural, namespace) {
                return target;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        panic!("{group}/{version} {plural} is never served")
    }
}

fn split_api_version(api_version: &str) -> (&str, &str) {
    api_version.split_once('/').unwrap_or(("", api_version))
}

/// Plurals of the kinds the tests create.
fn plural(kind: &str) -> String {
    match kind {
        "CustomResourceDefinition" => "customresourcedefinitions".to_owned(),
        other => format!("{}s", other.to_lowercase()),
    }
}

fn to_api_error(e: &weft_sim::ApiError) -> ApiError {
    let kind = match e.reason() {
        "NotFound" => ErrorKind::NotFound,
        "AlreadyExists" => ErrorKind::AlreadyExists,
        "Conflict" => ErrorKind::Conflict,
        "Forbidden" => ErrorKind::Forbidden,
        "Invalid" | "BadRequest" | "RequestEntityTooLarge" | "UnsupportedMediaType" | "MethodNotAllowed" => {
            ErrorKind::Invalid
        }
        _ => ErrorKind::Transient,
    };
    ApiError::new(kind, e.to_string())
}

fn parse(json: &str) -> Result<Value, ApiError> {
    serde_json::from_str(json).map_err(|e| ApiError::new(ErrorKind::Invalid, e.to_string()))
}

impl StoreCluster {
    pub fn new(store: Arc<Store>) -> Self {
        Self { store, writes: Mutex::default(), events: Mutex::default(), reads: Mutex::default() }
    }

    pub fn writes(&self) -> Vec<Write> {
        self.writes.lock().expect("lock").clone()
    }

    pub fn clear_writes(&self) {
        self.writes.lock().expect("lock").clear();
    }

    pub fn events(&self) -> Vec<(ObjectRef, Event, String)> {
        self.events.lock().expect("lock").clone()
    }

    pub fn reads(&self) -> usize {
        *self.reads.lock().expect("lock")
    }

    fn target(&self, api: &ApiResource, namespace: Option<&str>) -> Result<Target, ApiError> {
        self.store.target(&api.group, &api.version, &api.plural, namespace).map_err(|e| to_api_error(&e))
    }

    fn record(&self, verb: &'static str, api: &ApiResource, namespace: Option<&str>, name: &str) {
        self.writes.lock().expect("lock").push(Write {
            verb,
            resource: api.plural.clone(),
            namespace: namespace.map(str::to_owned),
            name: name.to_owned(),
        });
    }

    fn options(manager: &str, force: bool) -> WriteOptions {
        WriteOptions { field_manager: Some(manager.to_owned()), force, ..Default::default() }
    }

    fn patch_object(
        &self,
        api: &ApiResource,
        namespace: Option<&str>,
        name: &str,
        patch: &str,
        subresource: Option<&str>,
    ) -> Result<String, ApiError> {
        let target = self.target(api, namespace)?;
        let verb = if subresource.is_some() { "patch-status" } else { "patch" };
        self.record(verb, api, namespace, name);
        let outcome = self
            .store
            .patch(&target, name, PatchKind::Merge, parse(patch)?, subresource, &Self::options("test", false))
            .map_err(|e| to_api_error(&e))?;
        Ok(outcome.object.to_string())
    }
}

impl Cluster for StoreCluster {
    fn get(&self, api: &ApiResource, namespace: Option<&str>, name: &str) -> Result<String, ApiError> {
        *self.reads.lock().expect("lock") += 1;
        let target = self.target(api, namespace)?;
        self.store.get(&target, name).map(|o| o.to_string()).map_err(|e| to_api_error(&e))
    }

    fn list(
        &self,
        api: &ApiResource,
        namespace: Option<&str>,
        selector: Option<&str>,
    ) -> Result<Vec<String>, ApiError> {
        *self.reads.lock().expect("lock") += 1;
        let target = self.target(api, namespace)?;
        let labels = LabelSelector::parse(selector.unwrap_or_default()).map_err(|e| to_api_error(&e))?;
        let options = ListOptions { selectors: Selectors { labels, ..Default::default() }, ..Default::default() };
        let list = self.store.list(&target, &options).map_err(|e| to_api_error(&e))?;
        Ok(list.items.iter().map(|o| o.to_string()).collect())
    }

    fn create(&self, api: &ApiResource, json: &str) -> Result<String, ApiError> {
        let object = parse(json)?;
        let namespace = object["metadata"]["namespace"].as_str().map(str::to_owned);
        let name = object["metadata"]["name"].as_str().unwrap_or_default().to_owned();
        let target = self.target(api, namespace.as_deref())?;
        self.record("create", api, namespace.as_deref(), &name);
        let outcome =
            self.store.create(&target, object, &Self::options("test", false)).map_err(|e| to_api_error(&e))?;
        Ok(outcome.object.to_string())
    }

    fn apply(&self, api: &ApiResource, json: &str, field_manager: &str, force: bool) -> Result<String, ApiError> {
        let object = parse(json)?;
        let namespace = object["metadata"]["namespace"].as_str().map(str::to_owned);
        let name = object["metadata"]["name"].as_str().unwrap_or_default().to_owned();
        let target = self.target(api, namespace.as_deref())?;
        self.record("apply", api, namespace.as_deref(), &name);
        let outcome = self
            .store
            .patch(&target, &name, PatchKind::Apply, object, None, &Self::options(field_manager, force))
            .map_err(|e| to_api_error(&e))?;
        Ok(outcome.object.to_string())
    }

    fn patch(&self, api: &ApiResource, namespace: Option<&str>, name: &str, patch: &str) -> Result<String, ApiError> {
        self.patch_object(api, namespace, name, patch, None)
    }

    fn patch_status(
        &self,
        api: &ApiResource,
        namespace: Option<&str>,
        name: &str,
        patch: &str,
    ) -> Result<String, ApiError> {
        self.patch_object(api, namespace, name, patch, Some("status"))
    }

    fn delete(&self, api: &ApiResource, namespace: Option<&str>, name: &str) -> Result<(), ApiError> {
        let target = self.target(api, namespace)?;
        self.record("delete", api, namespace, name);
        self.store.delete(&target, name, &DeleteOptions::default()).map(drop).map_err(|e| to_api_error(&e))
    }

    fn record_event(&self, regarding: &ObjectRef, event: &Event, reporter: &str) {
        self.events.lock().expect("lock").push((regarding.clone(), event.clone(), reporter.to_owned()));
    }
}
