//! Defaults of the workload kinds (`apps/v1`, `batch/v1`): replicas, update strategies, history
//! limits, and the PodSpec defaults of their pod templates.

use serde_json::{Map, Value, json};

use super::{pod, set_default};

fn template(spec: &mut Map<String, Value>) {
    if let Some(pod_spec) = spec.get_mut("template").and_then(|t| t.get_mut("spec")).and_then(Value::as_object_mut) {
        pod::pod_spec(pod_spec);
    }
}

/// A rolling update's missing parts, when the strategy is (or defaults to) `RollingUpdate`.
fn rolling(strategy: &mut Map<String, Value>, field: &str, update: Value) {
    set_default(strategy, "type", json!("RollingUpdate"));
    if strategy.get("type").and_then(Value::as_str) == Some("RollingUpdate") {
        let current = strategy.entry(field).or_insert_with(|| json!({}));
        if let (Some(current), Value::Object(defaults)) = (current.as_object_mut(), update) {
            for (k, v) in defaults {
                set_default(current, &k, v);
            }
        }
    }
}

pub fn deployment(spec: &mut Map<String, Value>) {
    set_default(spec, "replicas", json!(1));
    let strategy = spec.entry("strategy").or_insert_with(|| json!({}));
    if let Some(strategy) = strategy.as_object_mut() {
        rolling(strategy, "rollingUpdate", json!({"maxUnavailable": "25%", "maxSurge": "25%"}));
    }
    set_default(spec, "revisionHistoryLimit", json!(10));
    set_default(spec, "progressDeadlineSeconds", json!(600));
    template(spec);
}

pub fn replica_set(spec: &mut Map<String, Value>) {
    set_default(spec, "replicas", json!(1));
    template(spec);
}

pub fn stateful_set(spec: &mut Map<String, Value>) {
    set_default(spec, "replicas", json!(1));
    set_default(spec, "podManagementPolicy", json!("OrderedReady"));
    let strategy = spec.entry("updateStrategy").or_insert_with(|| json!({}));
    if let Some(strategy) = strategy.as_object_mut() {
        rolling(strategy, "rollingUpdate", json!({"partition": 0}));
    }
    set_default(spec, "revisionHistoryLimit", json!(10));
    set_default(spec, "persistentVolumeClaimRetentionPolicy", json!({"whenDeleted": "Retain", "whenScaled": "Retain"}));
    template(spec);
}

pub fn daemon_set(spec: &mut Map<String, Value>) {
    let strategy = spec.entry("updateStrategy").or_insert_with(|| json!({}));
    if let Some(strategy) = strategy.as_object_mut() {
        rolling(strategy, "rollingUpdate", json!({"maxUnavailable": 1, "maxSurge": 0}));
    }
    set_default(spec, "revisionHistoryLimit", json!(10));
    template(spec);
}

pub fn job(spec: &mut Map<String, Value>) {
    if spec.get("parallelism").is_none() {
        spec.insert("parallelism".into(), json!(1));
    }
    if spec.get("completions").is_none() && spec.get("parallelism") == Some(&json!(1)) {
        spec.insert("completions".into(), json!(1));
    }
    set_default(spec, "backoffLimit", json!(6));
    set_default(spec, "completionMode", json!("NonIndexed"));
    set_default(spec, "suspend", json!(false));
    set_default(spec, "podReplacementPolicy", json!("TerminatingOrFailed"));
    template(spec);
}

pub fn cron_job(spec: &mut Map<String, Value>) {
    set_default(spec, "concurrencyPolicy", json!("Allow"));
    set_default(spec, "suspend", json!(false));
    set_default(spec, "successfulJobsHistoryLimit", json!(3));
    set_default(spec, "failedJobsHistoryLimit", json!(1));
    if let Some(job_spec) = spec.get_mut("jobTemplate").and_then(|t| t.get_mut("spec")).and_then(Value::as_object_mut) {
        job(job_spec);
    }
}

/// A new Job's generated selector and pod labels (the Job strategy), unless it sets
/// `manualSelector`.
pub fn job_selector(job: &mut Value) {
    if job.pointer("/spec/manualSelector").and_then(Value::as_bool) == Some(true) {
        return;
    }
    let uid = crate::object::uid(job).to_owned();
    let name = crate::object::name(job).to_owned();
    let Some(spec) = job.get_mut("spec").and_then(Value::as_object_mut) else { return };
    spec.insert("selector".into(), json!({"matchLabels": {"batch.kubernetes.io/controller-uid": uid}}));
    let template = spec.entry("template").or_insert_with(|| json!({}));
    let labels = crate::object::meta_mut(template).entry("labels").or_insert_with(|| json!({}));
    if let Some(labels) = labels.as_object_mut() {
        for (key, value) in [
            ("batch.kubernetes.io/controller-uid", &uid),
            ("batch.kubernetes.io/job-name", &name),
            ("controller-uid", &uid),
            ("job-name", &name),
        ] {
            labels.insert(key.into(), json!(value));
        }
    }
}
