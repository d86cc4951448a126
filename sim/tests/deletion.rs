//! Deletion: finalizers, deletionTimestamp, propagation policies, garbage collection,
//! preconditions, and namespace termination.

#![allow(clippy::unwrap_used)]

mod common;

use common::{configmap, create_cm, start, wait_for, widget};
use either::Either;
use k8s_openapi::api::core::v1::{ConfigMap, Namespace, Pod};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;
use kube::api::{Api, DeleteParams, ObjectMeta, Patch, PatchParams, PostParams, Preconditions, PropagationPolicy};
use serde_json::json;

fn owned_by(name: &str, owner: &ConfigMap, block: bool) -> ConfigMap {
    let mut cm = configmap(name, &[]);
    cm.metadata.owner_references = Some(vec![OwnerReference {
        api_version: "v1".into(),
        kind: "ConfigMap".into(),
        name: owner.metadata.name.clone().unwrap(),
        uid: owner.metadata.uid.clone().unwrap(),
        block_owner_deletion: Some(block),
        ..OwnerReference::default()
    }]);
    cm
}

async fn gone(api: &Api<ConfigMap>, name: &str) -> bool {
    api.get_opt(name).await.unwrap().is_none()
}

#[tokio::test]
async fn delete_with_finalizers_marks_the_object_and_the_last_finalizer_removal_deletes_it() {
    let t = start().await;
    let widgets = t.install_widgets().await;
    let mut w = widget("w", 1);
    w.metadata.finalizers = Some(vec!["weft.dev/a".into(), "weft.dev/b".into()]);
    widgets.create(&PostParams::default(), &w).await.unwrap();
    let Either::Left(marked) = widgets.delete("w", &DeleteParams::default()).await.unwrap() else {
        panic!("deletion should wait for finalizers")
    };
    assert!(marked.metadata.deletion_timestamp.is_some());
    assert_eq!(marked.metadata.generation, Some(2), "the first deletionTimestamp bumps generation");
    let Either::Left(again) = widgets.delete("w", &DeleteParams::default()).await.unwrap() else { panic!() };
    assert_eq!(again.metadata.resource_version, marked.metadata.resource_version, "a repeated delete is a no-op");

    let err = widgets
        .patch(
            "w",
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"finalizers": ["weft.dev/a", "weft.dev/b", "weft.dev/c"]}})),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, kube::Error::Api(ref e) if e.code == 422), "no new finalizers while deleting: {err:?}");

    widgets
        .patch("w", &PatchParams::default(), &Patch::Merge(json!({"metadata": {"finalizers": ["weft.dev/b"]}})))
        .await
        .unwrap();
    assert!(widgets.get_opt("w").await.unwrap().is_some());
    widgets
        .patch("w", &PatchParams::default(), &Patch::Merge(json!({"metadata": {"finalizers": null}})))
        .await
        .unwrap();
    assert!(widgets.get_opt("w").await.unwrap().is_none());
}

#[tokio::test]
async fn delete_without_finalizers_removes_and_answers_with_a_status() {
    let t = start().await;
    let api = t.configmaps();
    let a = create_cm(&api, "a").await;
    let Either::Right(status) = api.delete("a", &DeleteParams::default()).await.unwrap() else {
        panic!("expected a Status")
    };
    assert_eq!(status.status, Some(kube::core::response::StatusSummary::Success));
    assert_eq!(status.details.unwrap().uid, a.metadata.uid.unwrap());
    assert!(gone(&api, "a").await);
}

#[tokio::test]
async fn deleting_a_pod_answers_with_the_pod_after_marking_it_then_removing_it() {
    let t = start().await;
    let pods: Api<Pod> = Api::namespaced(t.client.clone(), "default");
    let pod: Pod = serde_json::from_value(
        json!({"metadata": {"name": "p"}, "spec": {"containers": [{"name": "c", "image": "nginx"}]}}),
    )
    .unwrap();
    let created = pods.create(&PostParams::default(), &pod).await.unwrap();
    let rv = created.metadata.resource_version.clone().unwrap();
    let Either::Left(deleted) = pods.delete("p", &DeleteParams::default()).await.unwrap() else {
        panic!("a Pod delete answers with the Pod")
    };
    assert!(deleted.metadata.deletion_timestamp.is_some());
    assert_eq!(deleted.metadata.deletion_grace_period_seconds, Some(0));
    let path = format!("/api/v1/namespaces/default/pods?watch=true&resourceVersion={rv}");
    let events = t.watch_lines(&path, 2, std::time::Duration::from_secs(5)).await;
    let kinds: Vec<&str> = events.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["MODIFIED", "DELETED"], "the deletionTimestamp is stored first, as for a real pod");
    assert_eq!(
        events[1]["object"]["metadata"]["resourceVersion"].as_str(),
        deleted.metadata.resource_version.as_deref()
    );
}

#[tokio::test]
async fn background_deletion_collects_dependents_of_missing_owners() {
    let t = start().await;
    let api = t.configmaps();
    let owner = create_cm(&api, "owner").await;
    api.create(&PostParams::default(), &owned_by("dep", &owner, false)).await.unwrap();
    api.delete("owner", &DeleteParams::background()).await.unwrap();
    wait_for(|| gone(&api, "dep")).await.unwrap();
}

#[tokio::test]
async fn foreground_deletion_waits_for_blocking_dependents() {
    let t = start().await;
    let api = t.configmaps();
    let owner = create_cm(&api, "owner").await;
    let mut dep = owned_by("dep", &owner, true);
    dep.metadata.finalizers = Some(vec!["weft.dev/hold".into()]);
    api.create(&PostParams::default(), &dep).await.unwrap();
    let Either::Left(marked) = api.delete("owner", &DeleteParams::foreground()).await.unwrap() else { panic!() };
    assert!(marked.metadata.finalizers.unwrap().contains(&"foregroundDeletion".to_owned()));
    wait_for(|| async { api.get("dep").await.unwrap().metadata.deletion_timestamp.is_some() }).await.unwrap();
    assert!(!gone(&api, "owner").await, "the owner waits for its blocking dependent");
    api.patch("dep", &PatchParams::default(), &Patch::Merge(json!({"metadata": {"finalizers": null}}))).await.unwrap();
    wait_for(|| gone(&api, "owner")).await.unwrap();
}

#[tokio::test]
async fn orphan_deletion_keeps_dependents_and_drops_their_owner_reference() {
    let t = start().await;
    let api = t.configmaps();
    let owner = create_cm(&api, "owner").await;
    api.create(&PostParams::default(), &owned_by("dep", &owner, false)).await.unwrap();
    let params = DeleteParams { propagation_policy: Some(PropagationPolicy::Orphan), ..DeleteParams::default() };
    api.delete("owner", &params).await.unwrap();
    wait_for(|| gone(&api, "owner")).await.unwrap();
    let dep = api.get("dep").await.unwrap();
    assert!(dep.metadata.owner_references.unwrap_or_default().is_empty());
}

#[tokio::test]
async fn delete_preconditions_conflict_when_they_do_not_hold() {
    let t = start().await;
    let api = t.configmaps();
    create_cm(&api, "a").await;
    let params = DeleteParams {
        preconditions: Some(Preconditions { uid: Some("not-the-uid".into()), resource_version: None }),
        ..DeleteParams::default()
    };
    let err = api.delete("a", &params).await.unwrap_err();
    assert!(matches!(err, kube::Error::Api(ref e) if e.code == 409), "{err:?}");
    let params = DeleteParams {
        preconditions: Some(Preconditions { uid: None, resource_version: Some("1".into()) }),
        ..DeleteParams::default()
    };
    assert!(api.delete("a", &params).await.is_err());
}

#[tokio::test]
async fn creating_in_a_missing_namespace_is_404() {
    let t = start().await;
    let api: Api<ConfigMap> = Api::namespaced(t.client.clone(), "nowhere");
    let err = api.create(&PostParams::default(), &configmap("a", &[])).await.unwrap_err();
    assert!(
        matches!(err, kube::Error::Api(ref e) if e.code == 404 && e.message.contains("namespaces \"nowhere\" not found")),
        "{err:?}"
    );
}

#[tokio::test]
async fn deleting_a_namespace_terminates_it_and_removes_its_contents() {
    let t = start().await;
    let namespaces: Api<Namespace> = Api::all(t.client.clone());
    let ns = Namespace {
        metadata: ObjectMeta { name: Some("doomed".into()), ..ObjectMeta::default() },
        ..Namespace::default()
    };
    namespaces.create(&PostParams::default(), &ns).await.unwrap();
    let api: Api<ConfigMap> = Api::namespaced(t.client.clone(), "doomed");
    let mut held = configmap("held", &[]);
    held.metadata.finalizers = Some(vec!["weft.dev/hold".into()]);
    api.create(&PostParams::default(), &held).await.unwrap();
    create_cm(&api, "plain").await;
    namespaces.delete("doomed", &DeleteParams::default()).await.unwrap();
    wait_for(|| gone(&api, "plain")).await.unwrap();
    let terminating = namespaces.get("doomed").await.unwrap();
    assert_eq!(terminating.status.unwrap().phase.as_deref(), Some("Terminating"));
    let err = api.create(&PostParams::default(), &configmap("late", &[])).await.unwrap_err();
    assert!(
        matches!(err, kube::Error::Api(ref e) if e.code == 403),
        "no new content in a terminating namespace: {err:?}"
    );
    let err = namespaces.delete("doomed", &DeleteParams::default()).await.unwrap_err();
    assert!(
        matches!(err, kube::Error::Api(ref e) if e.code == 409 && e.message.contains("The system is ensuring all content is removed from this namespace.  Upon completion")),
        "a second delete while it empties conflicts: {err:?}"
    );
    api.patch("held", &PatchParams::default(), &Patch::Merge(json!({"metadata": {"finalizers": null}}))).await.unwrap();
    wait_for(|| async { namespaces.get_opt("doomed").await.unwrap().is_none() }).await.unwrap();
    let err = namespaces.delete("default", &DeleteParams::default()).await.unwrap_err();
    assert!(matches!(err, kube::Error::Api(ref e) if e.code == 403), "{err:?}");
}

#[tokio::test]
async fn emptying_a_terminating_namespaces_finalizers_through_finalize_removes_it() {
    let t = start().await;
    let namespaces: Api<Namespace> = Api::all(t.client.clone());
    let ns: Namespace = serde_json::from_value(json!({"metadata": {"name": "stuck"}})).unwrap();
    namespaces.create(&PostParams::default(), &ns).await.unwrap();
    let api: Api<ConfigMap> = Api::namespaced(t.client.clone(), "stuck");
    let mut held = configmap("held", &[]);
    held.metadata.finalizers = Some(vec!["weft.dev/hold".into()]);
    api.create(&PostParams::default(), &held).await.unwrap();
    namespaces.delete("stuck", &DeleteParams::default()).await.unwrap();
    let edit = json!({"spec": {"finalizers": []}});
    let edited = namespaces.patch("stuck", &PatchParams::default(), &Patch::Merge(edit)).await.unwrap();
    assert_eq!(edited.spec.unwrap().finalizers, Some(vec!["kubernetes".to_owned()]), "an ordinary update keeps them");
    let mut stuck = namespaces.get("stuck").await.unwrap();
    stuck.spec.as_mut().unwrap().finalizers = Some(Vec::new());
    let body = serde_json::to_string(&stuck).unwrap();
    let (status, _) = t.raw(http::Method::PUT, "/api/v1/namespaces/stuck/finalize", "application/json", &body).await;
    assert_eq!(status, http::StatusCode::OK);
    wait_for(|| async { namespaces.get_opt("stuck").await.unwrap().is_none() }).await.unwrap();
}

#[tokio::test]
async fn an_update_can_neither_change_nor_remove_a_deletion_timestamp() {
    let t = start().await;
    let api = t.configmaps();
    let mut held = configmap("held", &[]);
    held.metadata.finalizers = Some(vec!["weft.dev/hold".into()]);
    api.create(&PostParams::default(), &held).await.unwrap();
    let Either::Left(marked) = api.delete("held", &DeleteParams::default()).await.unwrap() else { panic!() };
    let stamp = marked.metadata.deletion_timestamp.clone();
    let cleared = api
        .patch("held", &PatchParams::default(), &Patch::Merge(json!({"metadata": {"deletionTimestamp": null}})))
        .await
        .unwrap();
    assert_eq!(cleared.metadata.deletion_timestamp, stamp);
    let moved = json!({"metadata": {"deletionTimestamp": "2030-01-01T00:00:00Z"}});
    let after = api.patch("held", &PatchParams::default(), &Patch::Merge(moved)).await.unwrap();
    assert_eq!(after.metadata.deletion_timestamp, stamp);
}

#[tokio::test]
async fn a_namespace_with_a_metadata_finalizer_stays_terminating_until_it_is_removed() {
    let t = start().await;
    let namespaces: Api<Namespace> = Api::all(t.client.clone());
    let ns = Namespace {
        metadata: ObjectMeta {
            name: Some("held".into()),
            finalizers: Some(vec!["weft.dev/hold".into()]),
            ..ObjectMeta::default()
        },
        ..Namespace::default()
    };
    namespaces.create(&PostParams::default(), &ns).await.unwrap();
    let api: Api<ConfigMap> = Api::namespaced(t.client.clone(), "held");
    create_cm(&api, "content").await;
    namespaces.delete("held", &DeleteParams::default()).await.unwrap();
    wait_for(|| gone(&api, "content")).await.unwrap();
    wait_for(|| async {
        namespaces.get("held").await.unwrap().spec.unwrap().finalizers.unwrap_or_default().is_empty()
    })
    .await
    .unwrap();
    assert!(namespaces.get_opt("held").await.unwrap().is_some(), "the metadata finalizer holds it");
    namespaces
        .patch("held", &PatchParams::default(), &Patch::Merge(json!({"metadata": {"finalizers": null}})))
        .await
        .unwrap();
    assert!(namespaces.get_opt("held").await.unwrap().is_none());
}
