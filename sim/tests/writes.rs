//! Write semantics: generation, the status subresource, no-op writes, optimistic concurrency,
//! every patch format, server-side apply with field ownership, and dry run.

#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use common::{create_cm, rv_of, start, widget};
use futures::{StreamExt, TryStreamExt};
use http::{Method, StatusCode};
use kube::api::{DeleteParams, Patch, PatchParams, PostParams, WatchEvent, WatchParams};
use serde_json::json;

fn api_code(err: &kube::Error) -> u16 {
    match err {
        kube::Error::Api(e) => e.code,
        other => panic!("expected an API error, got {other:?}"),
    }
}

#[tokio::test]
async fn create_sets_generation_one_and_drops_status_when_it_is_a_subresource() {
    let t = start().await;
    let widgets = t.install_widgets().await;
    let mut w = widget("w", 1);
    w.data["status"] = json!({"conditions": [{"type": "Ready", "status": "True"}]});
    let created = widgets.create(&PostParams::default(), &w).await.unwrap();
    assert_eq!(created.metadata.generation, Some(1));
    assert!(created.data.get("status").is_none());
}

#[tokio::test]
async fn spec_changes_bump_generation_and_status_through_the_main_resource_is_ignored() {
    let t = start().await;
    let widgets = t.install_widgets().await;
    widgets.create(&PostParams::default(), &widget("w", 1)).await.unwrap();
    let patch = json!({"spec": {"size": 2}, "status": {"conditions": [{"type": "Ready", "status": "True"}]}});
    let after = widgets.patch("w", &PatchParams::default(), &Patch::Merge(patch)).await.unwrap();
    assert_eq!(after.metadata.generation, Some(2));
    assert!(after.data.get("status").is_none(), "status is only written through /status");
    let metadata_only = widgets
        .patch("w", &PatchParams::default(), &Patch::Merge(json!({"metadata": {"labels": {"a": "b"}}})))
        .await
        .unwrap();
    assert_eq!(metadata_only.metadata.generation, Some(2), "metadata changes keep the generation");
}

#[tokio::test]
async fn a_status_write_changes_only_status_and_never_generation() {
    let t = start().await;
    let widgets = t.install_widgets().await;
    widgets.create(&PostParams::default(), &widget("w", 1)).await.unwrap();
    let patch = json!({"spec": {"size": 9}, "metadata": {"labels": {"x": "y"}}, "status": {"conditions": [{"type": "Ready", "status": "True"}]}});
    let after = widgets.patch_status("w", &PatchParams::default(), &Patch::Merge(patch)).await.unwrap();
    assert_eq!(after.data["status"]["conditions"][0]["status"], "True");
    assert_eq!(after.data["spec"]["size"], 1, "spec in a status write is dropped");
    assert!(after.metadata.labels.is_none(), "metadata in a status write is dropped");
    assert_eq!(after.metadata.generation, Some(1));
}

#[tokio::test]
async fn a_write_that_changes_nothing_is_not_stored() {
    let t = start().await;
    let api = t.configmaps();
    let a = create_cm(&api, "a").await;
    let rv = a.metadata.resource_version.clone().unwrap();
    let mut stream = api.watch(&WatchParams::default().disable_bookmarks(), &rv).await.unwrap().boxed();
    let replaced = api.replace("a", &PostParams::default(), &a).await.unwrap();
    assert_eq!(replaced.metadata.resource_version.as_deref(), Some(rv.as_str()));
    let patched =
        api.patch("a", &PatchParams::default(), &Patch::Merge(json!({"data": {"key": "value"}}))).await.unwrap();
    assert_eq!(patched.metadata.resource_version.as_deref(), Some(rv.as_str()));
    let config = Patch::Apply(json!({"apiVersion": "v1", "kind": "ConfigMap", "data": {"key": "value"}}));
    let apply_params = PatchParams::apply("m");
    let apply = || api.patch("a", &apply_params, &config);
    let applied_rv = apply().await.unwrap().metadata.resource_version.unwrap();
    let reapplied = apply().await.unwrap();
    assert_eq!(
        reapplied.metadata.resource_version.unwrap(),
        applied_rv,
        "re-applying the same configuration is a no-op"
    );
    let next = tokio::time::timeout(Duration::from_millis(300), stream.next()).await;
    match next {
        Err(_) => {}
        Ok(Some(Ok(WatchEvent::Modified(m)))) => {
            assert_eq!(
                m.metadata.resource_version.unwrap(),
                applied_rv,
                "the only event is the apply that added ownership"
            )
        }
        Ok(other) => panic!("unexpected {other:?}"),
    }
}

#[tokio::test]
async fn a_put_with_the_current_resource_version_succeeds_a_stale_one_conflicts_and_a_custom_resource_needs_one() {
    let t = start().await;
    let api = t.configmaps();
    let a = create_cm(&api, "a").await;
    api.patch("a", &PatchParams::default(), &Patch::Merge(json!({"data": {"x": "1"}}))).await.unwrap();
    let err = api.replace("a", &PostParams::default(), &a).await.unwrap_err();
    assert_eq!(api_code(&err), 409);
    let mut unconditional = a.clone();
    unconditional.metadata.resource_version = None;
    api.replace("a", &PostParams::default(), &unconditional).await.unwrap();

    let widgets = t.install_widgets().await;
    let mut w = widgets.create(&PostParams::default(), &widget("w", 1)).await.unwrap();
    w.data["spec"]["size"] = json!(2);
    let replaced = widgets.replace("w", &PostParams::default(), &w).await.unwrap();
    assert_eq!(replaced.data["spec"]["size"], 2, "a custom resource PUT with its current resourceVersion succeeds");
    let err = widgets.replace("w", &PostParams::default(), &w).await.unwrap_err();
    assert_eq!(api_code(&err), 409, "the resourceVersion it carried is stale now");
    w.metadata.resource_version = None;
    let err = widgets.replace("w", &PostParams::default(), &w).await.unwrap_err();
    assert_eq!(api_code(&err), 422);
    let crds: kube::Api<k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition> =
        kube::Api::all(t.client.clone());
    let mut crd = crds.get("widgets.examples.weft.dev").await.unwrap();
    crd.metadata.resource_version = None;
    let err = crds.replace("widgets.examples.weft.dev", &PostParams::default(), &crd).await.unwrap_err();
    assert_eq!(api_code(&err), 422, "a CRD PUT needs a resourceVersion too");
}

#[tokio::test]
async fn a_put_creates_a_missing_lease_but_not_a_missing_configmap() {
    let t = start().await;
    let lease = json!({"apiVersion": "coordination.k8s.io/v1", "kind": "Lease", "metadata": {"name": "l"}, "spec": {"holderIdentity": "a"}});
    let path = "/apis/coordination.k8s.io/v1/namespaces/default/leases/l";
    let (status, created) = t.raw(Method::PUT, path, "application/json", &lease.to_string()).await;
    assert_eq!((status, &created["spec"]["holderIdentity"]), (StatusCode::CREATED, &json!("a")));
    let cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}});
    let (status, _) =
        t.raw(Method::PUT, "/api/v1/namespaces/default/configmaps/c", "application/json", &cm.to_string()).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn merge_json_and_strategic_patches_apply_by_content_type() {
    let t = start().await;
    let api = t.configmaps();
    create_cm(&api, "a").await;
    let merged =
        api.patch("a", &PatchParams::default(), &Patch::Merge(json!({"data": {"key": null, "m": "1"}}))).await.unwrap();
    assert_eq!(merged.data.unwrap().into_iter().collect::<Vec<_>>(), [("m".to_owned(), "1".to_owned())]);
    let ops: json_patch::Patch =
        serde_json::from_value(json!([{"op": "add", "path": "/data/j", "value": "2"}])).unwrap();
    let patched = api.patch("a", &PatchParams::default(), &Patch::<()>::Json(ops)).await.unwrap();
    assert_eq!(patched.data.unwrap()["j"], "2");
    let strategic =
        api.patch("a", &PatchParams::default(), &Patch::Strategic(json!({"data": {"s": "3"}}))).await.unwrap();
    assert_eq!(strategic.data.unwrap().len(), 3);

    let widgets = t.install_widgets().await;
    widgets.create(&PostParams::default(), &widget("w", 1)).await.unwrap();
    let err =
        widgets.patch("w", &PatchParams::default(), &Patch::Strategic(json!({"spec": {"size": 2}}))).await.unwrap_err();
    assert_eq!(api_code(&err), 415, "custom resources do not support strategic merge patch");
}

#[tokio::test]
async fn a_json_patch_test_of_a_missing_field_against_null_passes() {
    let t = start().await;
    let api = t.configmaps();
    create_cm(&api, "a").await;
    let ops: json_patch::Patch = serde_json::from_value(json!([
        {"op": "test", "path": "/metadata/finalizers", "value": null},
        {"op": "add", "path": "/metadata/finalizers", "value": ["weft.dev/test"]},
    ]))
    .unwrap();
    let patched = api.patch("a", &PatchParams::default(), &Patch::<()>::Json(ops)).await.unwrap();
    assert_eq!(patched.metadata.finalizers.unwrap(), ["weft.dev/test"]);
    let failing: json_patch::Patch =
        serde_json::from_value(json!([{"op": "test", "path": "/data/key", "value": "other"}])).unwrap();
    let err = api.patch("a", &PatchParams::default(), &Patch::<()>::Json(failing)).await.unwrap_err();
    assert_eq!(api_code(&err), 422);
}

#[tokio::test]
async fn server_side_apply_tracks_owners_conflicts_and_removes_dropped_fields() {
    let t = start().await;
    let api = t.configmaps();
    let cm = |data: serde_json::Value| {
        Patch::Apply(json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}, "data": data}))
    };
    let created = api.patch("a", &PatchParams::apply("alice"), &cm(json!({"a": "1", "b": "2"}))).await.unwrap();
    let managers: Vec<_> = created
        .metadata
        .managed_fields
        .unwrap()
        .into_iter()
        .map(|m| (m.manager.unwrap(), m.operation.unwrap()))
        .collect();
    assert_eq!(managers, [("alice".to_owned(), "Apply".to_owned())]);

    let err = api.patch("a", &PatchParams::apply("bob"), &cm(json!({"a": "9"}))).await.unwrap_err();
    match err {
        kube::Error::Api(e) => {
            assert_eq!((e.code, e.reason.as_str()), (409, "Conflict"));
            assert!(e.message.contains("conflict with \"alice\""), "{}", e.message);
        }
        other => panic!("{other:?}"),
    }
    api.patch("a", &PatchParams::apply("bob").force(), &cm(json!({"a": "9"}))).await.unwrap();
    let after = api.patch("a", &PatchParams::apply("alice"), &cm(json!({"b": "2"}))).await.unwrap();
    let data = after.data.unwrap();
    assert_eq!(data["a"], "9", "bob owns a now");
    let dropped = api.patch("a", &PatchParams::apply("alice"), &cm(json!({}))).await.unwrap();
    assert!(!dropped.data.unwrap_or_default().contains_key("b"), "a field its sole manager stops applying is removed");
}

#[tokio::test]
async fn server_side_apply_validates_its_request() {
    let t = start().await;
    let path = "/api/v1/namespaces/default/configmaps/a?fieldManager=m";
    let with_managed = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a", "managedFields": [{"manager": "x"}]}});
    let (status, _) = t.raw(Method::PATCH, path, "application/apply-patch+yaml", &with_managed.to_string()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "managedFields in an apply body");
    let body = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\ndata:\n  k: v\n";
    let (status, _) =
        t.raw(Method::PATCH, "/api/v1/namespaces/default/configmaps/a", "application/apply-patch+yaml", body).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "fieldManager is required");
    let (status, created) = t.raw(Method::PATCH, path, "application/apply-patch+yaml", body).await;
    assert_eq!(status, StatusCode::CREATED, "apply of a missing object creates it: {created}");
    let (status, _) = t
        .raw(Method::PATCH, "/api/v1/namespaces/default/configmaps/a?force=true", "application/merge-patch+json", "{}")
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "force only goes with apply");
}

#[tokio::test]
async fn server_side_apply_works_on_status() {
    let t = start().await;
    let widgets = t.install_widgets().await;
    widgets.create(&PostParams::default(), &widget("w", 1)).await.unwrap();
    let status = json!({"apiVersion": "examples.weft.dev/v1", "kind": "Widget", "metadata": {"name": "w"}, "status": {"conditions": [{"type": "Ready", "status": "True"}]}});
    let after = widgets.patch_status("w", &PatchParams::apply("ctrl"), &Patch::Apply(status)).await.unwrap();
    assert_eq!(after.data["status"]["conditions"][0]["type"], "Ready");
    let entry =
        after.metadata.managed_fields.unwrap().into_iter().find(|m| m.manager.as_deref() == Some("ctrl")).unwrap();
    assert_eq!(entry.subresource.as_deref(), Some("status"));
    assert_eq!(after.metadata.generation, Some(1));
}

#[tokio::test]
async fn dry_run_validates_and_returns_the_result_without_storing() {
    let t = start().await;
    let api = t.configmaps();
    let dry = PostParams { dry_run: true, ..PostParams::default() };
    api.create(&dry, &common::configmap("ghost", &[])).await.unwrap();
    assert!(api.get_opt("ghost").await.unwrap().is_none());
    let a = create_cm(&api, "a").await;
    let rv = a.metadata.resource_version.clone();
    let patched =
        api.patch("a", &PatchParams::default().dry_run(), &Patch::Merge(json!({"data": {"n": "1"}}))).await.unwrap();
    assert_eq!(patched.data.unwrap()["n"], "1");
    assert_eq!(api.get("a").await.unwrap().metadata.resource_version, rv);
    let mut bad = a.clone();
    bad.metadata.labels = Some([("bad key!".to_owned(), "v".to_owned())].into());
    assert_eq!(api_code(&api.replace("a", &dry, &bad).await.unwrap_err()), 422, "dry run still validates");
    api.delete("a", &DeleteParams { dry_run: true, ..DeleteParams::default() }).await.unwrap();
    assert_eq!(api.get("a").await.unwrap().metadata.resource_version, rv);
    assert_eq!(t.sim.store().current_rv(), rv_of(&a.metadata), "nothing moved the resourceVersion");
}

#[tokio::test]
async fn watch_events_follow_every_stored_write_in_order() {
    let t = start().await;
    let api = t.configmaps();
    let a = create_cm(&api, "a").await;
    let stream =
        api.watch(&WatchParams::default().disable_bookmarks(), &a.metadata.resource_version.unwrap()).await.unwrap();
    for i in 0..20 {
        api.patch("a", &PatchParams::default(), &Patch::Merge(json!({"data": {"n": i.to_string()}}))).await.unwrap();
    }
    let seen: Vec<String> = stream
        .take(20)
        .map_ok(|e| match e {
            WatchEvent::Modified(c) => c.data.unwrap()["n"].clone(),
            other => panic!("{other:?}"),
        })
        .try_collect()
        .await
        .unwrap();
    assert_eq!(seen, (0..20).map(|i| i.to_string()).collect::<Vec<_>>());
}

#[tokio::test]
async fn apply_merges_a_crd_map_list_by_its_keys_across_managers() {
    let t = start().await;
    let widgets = t.install_widgets().await;
    widgets.create(&PostParams::default(), &widget("w", 1)).await.unwrap();
    let condition = |type_: &str, status: &str| {
        Patch::Apply(json!({
            "apiVersion": "examples.weft.dev/v1", "kind": "Widget", "metadata": {"name": "w"},
            "status": {"conditions": [{"type": type_, "status": status}]},
        }))
    };
    widgets.patch_status("w", &PatchParams::apply("loader"), &condition("Loaded", "True")).await.unwrap();
    let both = widgets.patch_status("w", &PatchParams::apply("watcher"), &condition("Watching", "True")).await.unwrap();
    let types: Vec<&str> =
        both.data["status"]["conditions"].as_array().unwrap().iter().map(|c| c["type"].as_str().unwrap()).collect();
    assert_eq!(types, ["Loaded", "Watching"], "x-kubernetes-list-type: map merges by key");
    let err =
        widgets.patch_status("w", &PatchParams::apply("watcher"), &condition("Loaded", "False")).await.unwrap_err();
    assert_eq!(api_code(&err), 409, "the Loaded element's status belongs to loader");
}

#[tokio::test]
async fn a_patch_carrying_a_resource_version_is_conditional_and_one_removing_it_is_not() {
    let t = start().await;
    let api = t.configmaps();
    let a = create_cm(&api, "a").await;
    let stale = json!({"metadata": {"resourceVersion": "1"}, "data": {"x": "1"}});
    assert_eq!(api_code(&api.patch("a", &PatchParams::default(), &Patch::Merge(stale)).await.unwrap_err()), 409);
    let current = json!({"metadata": {"resourceVersion": a.metadata.resource_version}, "data": {"x": "2"}});
    api.patch("a", &PatchParams::default(), &Patch::Merge(current)).await.unwrap();
    let unconditional = json!({"metadata": {"resourceVersion": null}, "data": {"x": "3"}});
    let patched = api.patch("a", &PatchParams::default(), &Patch::Merge(unconditional)).await.unwrap();
    assert_eq!(patched.data.unwrap()["x"], "3");
}
