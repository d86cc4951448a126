//! List and watch semantics, driven through the real kube client.

#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use common::{configmap, create_cm, rv_of, start, start_with_history};
use futures::{StreamExt, TryStreamExt};
use http::StatusCode;
use kube::api::{DeleteParams, ListParams, Patch, PatchParams, PostParams, WatchEvent, WatchParams};
use serde_json::json;

#[tokio::test]
async fn every_list_has_a_resource_version_even_when_empty() {
    let t = start().await;
    let list = t.configmaps().list(&ListParams::default()).await.unwrap();
    assert!(list.items.is_empty());
    assert!(!list.metadata.resource_version.unwrap().is_empty());
}

#[tokio::test]
async fn resource_versions_are_growing_integers() {
    let t = start().await;
    let api = t.configmaps();
    let a = create_cm(&api, "a").await;
    let b = create_cm(&api, "b").await;
    assert!(rv_of(&b.metadata) > rv_of(&a.metadata));
    let list = api.list(&ListParams::default()).await.unwrap();
    assert!(list.metadata.resource_version.unwrap().parse::<u64>().unwrap() >= rv_of(&b.metadata));
}

#[tokio::test]
async fn paging_repeats_the_first_pages_resource_version() {
    let t = start().await;
    let api = t.configmaps();
    for i in 0..5 {
        create_cm(&api, &format!("cm-{i}")).await;
    }
    let first = api.list(&ListParams::default().limit(2)).await.unwrap();
    assert_eq!(first.items.len(), 2);
    assert_eq!(first.metadata.remaining_item_count, Some(3));
    create_cm(&api, "cm-late").await;
    let token = first.metadata.continue_.clone().unwrap();
    let second = api.list(&ListParams::default().limit(10).continue_token(&token)).await.unwrap();
    assert_eq!(second.metadata.resource_version, first.metadata.resource_version);
    let names: Vec<_> = second.items.iter().map(|c| c.metadata.name.clone().unwrap()).collect();
    assert_eq!(names, ["cm-2", "cm-3", "cm-4"], "the page is consistent with the first page's snapshot");
    assert!(second.metadata.continue_.is_none());
}

#[tokio::test]
async fn an_expired_continue_token_is_410() {
    let t = start().await;
    let api = t.configmaps();
    for i in 0..3 {
        create_cm(&api, &format!("cm-{i}")).await;
    }
    let first = api.list(&ListParams::default().limit(1)).await.unwrap();
    t.sim.compact_history();
    let err = api.list(&ListParams::default().continue_token(&first.metadata.continue_.unwrap())).await.unwrap_err();
    assert!(matches!(err, kube::Error::Api(ref e) if e.code == 410 && e.reason == "Expired"), "{err:?}");
}

#[tokio::test]
async fn list_at_an_exact_older_resource_version_shows_the_past() {
    let t = start().await;
    let api = t.configmaps();
    let a = create_cm(&api, "a").await;
    create_cm(&api, "b").await;
    api.delete("a", &DeleteParams::default()).await.unwrap();
    let rv = a.metadata.resource_version.unwrap();
    let past = api.list(&ListParams::default().at(&rv).matching(kube::api::VersionMatch::Exact)).await.unwrap();
    let names: Vec<_> = past.items.iter().map(|c| c.metadata.name.clone().unwrap()).collect();
    assert_eq!(names, ["a"]);
    assert_eq!(past.metadata.resource_version.as_deref(), Some(rv.as_str()));
}

#[tokio::test]
async fn get_and_list_honour_resource_version_semantics() {
    let t = start().await;
    let api = t.configmaps();
    create_cm(&api, "a").await;
    assert_eq!(api.list(&ListParams::default().at("0")).await.unwrap().items.len(), 1, "RV 0 means any");
    // Over bare TCP: kube-client retries 504s, as it should against a real server.
    let (status, body) =
        common::plain_get(t.sim.addr(), "/api/v1/namespaces/default/configmaps?resourceVersion=999999").await;
    assert_eq!(status, 504, "a future RV is too large: {body}");
    assert_eq!(body["details"]["causes"][0]["reason"], "ResourceVersionTooLarge");
}

#[tokio::test]
async fn watch_from_zero_sends_added_for_everything_then_changes() {
    let t = start().await;
    let api = t.configmaps();
    create_cm(&api, "a").await;
    let mut stream = api.watch(&WatchParams::default(), "0").await.unwrap().boxed();
    let first = stream.try_next().await.unwrap().unwrap();
    assert!(matches!(first, WatchEvent::Added(ref c) if c.metadata.name.as_deref() == Some("a")));
    create_cm(&api, "b").await;
    let second = stream.try_next().await.unwrap().unwrap();
    assert!(matches!(second, WatchEvent::Added(ref c) if c.metadata.name.as_deref() == Some("b")));
}

#[tokio::test]
async fn watch_from_a_resource_version_replays_only_later_changes() {
    let t = start().await;
    let api = t.configmaps();
    let a = create_cm(&api, "a").await;
    api.patch("a", &PatchParams::default(), &Patch::Merge(json!({"data": {"x": "1"}}))).await.unwrap();
    let mut stream = api.watch(&WatchParams::default(), &a.metadata.resource_version.unwrap()).await.unwrap().boxed();
    let event = stream.try_next().await.unwrap().unwrap();
    assert!(
        matches!(event, WatchEvent::Modified(ref c) if c.data.as_ref().unwrap()["x"] == "1"),
        "no synthetic ADDED: {event:?}"
    );
}

#[tokio::test]
async fn deleted_carries_the_last_state_under_a_new_resource_version() {
    let t = start().await;
    let api = t.configmaps();
    let a = create_cm(&api, "a").await;
    let mut stream =
        api.watch(&WatchParams::default(), &a.metadata.resource_version.clone().unwrap()).await.unwrap().boxed();
    api.delete("a", &DeleteParams::default()).await.unwrap();
    match stream.try_next().await.unwrap().unwrap() {
        WatchEvent::Deleted(c) => {
            assert_eq!(c.data, a.data);
            assert!(rv_of(&c.metadata) > rv_of(&a.metadata));
        }
        other => panic!("expected DELETED, got {other:?}"),
    }
}

#[tokio::test]
async fn a_selector_watch_sees_objects_enter_and_leave_as_added_and_deleted() {
    let t = start().await;
    let api = t.configmaps();
    let a = api.create(&PostParams::default(), &configmap("a", &[("app", "web")])).await.unwrap();
    let params = WatchParams::default().labels("app=web");
    let mut stream = api.watch(&params, &a.metadata.resource_version.unwrap()).await.unwrap().boxed();
    api.patch("a", &PatchParams::default(), &Patch::Merge(json!({"metadata": {"labels": {"app": "db"}}})))
        .await
        .unwrap();
    api.patch("a", &PatchParams::default(), &Patch::Merge(json!({"metadata": {"labels": {"app": "web"}}})))
        .await
        .unwrap();
    assert!(matches!(stream.try_next().await.unwrap().unwrap(), WatchEvent::Deleted(_)));
    assert!(matches!(stream.try_next().await.unwrap().unwrap(), WatchEvent::Added(_)));
}

#[tokio::test]
async fn a_too_old_resource_version_gives_an_error_event_with_410() {
    let t = start_with_history(4).await;
    let api = t.configmaps();
    let a = create_cm(&api, "a").await;
    for i in 0..10 {
        create_cm(&api, &format!("filler-{i}")).await;
    }
    let path = format!(
        "/api/v1/namespaces/default/configmaps?watch=true&resourceVersion={}",
        a.metadata.resource_version.unwrap()
    );
    let events = t.watch_lines(&path, 1, Duration::from_secs(5)).await;
    assert_eq!(events[0]["type"], "ERROR");
    assert_eq!(events[0]["object"]["code"], 410);
    assert_eq!(events[0]["object"]["reason"], "Expired");
}

#[tokio::test]
async fn bookmarks_carry_type_and_resource_version() {
    let t = start().await;
    let api = t.configmaps();
    let a = create_cm(&api, "a").await;
    let path = format!(
        "/api/v1/namespaces/default/configmaps?watch=true&allowWatchBookmarks=true&resourceVersion={}",
        a.metadata.resource_version.clone().unwrap()
    );
    let events = t.watch_lines(&path, 1, Duration::from_secs(5)).await;
    assert_eq!(events[0]["type"], "BOOKMARK");
    let object = &events[0]["object"];
    assert_eq!((object["apiVersion"].as_str(), object["kind"].as_str()), (Some("v1"), Some("ConfigMap")));
    assert!(object["metadata"]["resourceVersion"].as_str().unwrap().parse::<u64>().unwrap() >= rv_of(&a.metadata));
}

#[tokio::test]
async fn watch_ends_cleanly_after_timeout_seconds() {
    let t = start().await;
    let started = std::time::Instant::now();
    let mut stream = t.configmaps().watch(&WatchParams::default().timeout(1), "0").await.unwrap().boxed();
    while let Some(event) = stream.next().await {
        assert!(matches!(event, Ok(WatchEvent::Bookmark(_))), "only bookmarks before the clean end: {event:?}");
    }
    assert!(started.elapsed() >= Duration::from_millis(900));
}

#[tokio::test]
async fn send_initial_events_ends_with_an_annotated_bookmark() {
    let t = start().await;
    create_cm(&t.configmaps(), "a").await;
    let path = "/api/v1/namespaces/default/configmaps?watch=true&sendInitialEvents=true&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true";
    let events = t.watch_lines(path, 2, Duration::from_secs(5)).await;
    assert_eq!(events[0]["type"], "ADDED");
    assert_eq!(events[1]["type"], "BOOKMARK");
    assert_eq!(events[1]["object"]["metadata"]["annotations"]["k8s.io/initial-events-end"], "true");
    let (status, body) = t.get("/api/v1/namespaces/default/configmaps?watch=true&sendInitialEvents=true").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
}

#[tokio::test]
async fn label_selectors_support_set_based_syntax_and_field_selectors_metadata() {
    let t = start().await;
    let api = t.configmaps();
    api.create(&PostParams::default(), &configmap("a", &[("app", "web"), ("tier", "front")])).await.unwrap();
    api.create(&PostParams::default(), &configmap("b", &[("app", "db")])).await.unwrap();
    api.create(&PostParams::default(), &configmap("c", &[])).await.unwrap();
    let names = |l: kube::core::ObjectList<k8s_openapi::api::core::v1::ConfigMap>| -> Vec<String> {
        l.items.into_iter().map(|c| c.metadata.name.unwrap()).collect()
    };
    assert_eq!(names(api.list(&ListParams::default().labels("app in (web,db),!tier")).await.unwrap()), ["b"]);
    assert_eq!(names(api.list(&ListParams::default().labels("app")).await.unwrap()), ["a", "b"]);
    assert_eq!(names(api.list(&ListParams::default().labels("app notin (web)")).await.unwrap()), ["b", "c"]);
    assert_eq!(names(api.list(&ListParams::default().fields("metadata.name=c")).await.unwrap()), ["c"]);
    let err = api.list(&ListParams::default().fields("data.key=value")).await.unwrap_err();
    assert!(matches!(err, kube::Error::Api(ref e) if e.code == 400), "{err:?}");
}

#[tokio::test]
async fn tables_and_partial_metadata_are_served_on_request() {
    let t = start().await;
    create_cm(&t.configmaps(), "a").await;
    let accept = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json";
    let (status, text) =
        t.raw_text(http::Method::GET, "/api/v1/namespaces/default/configmaps", &[("Accept", accept)], Vec::new()).await;
    assert_eq!(status, StatusCode::OK);
    let table: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(table["kind"], "Table");
    assert_eq!(table["rows"][0]["cells"][0], "a");
    assert_eq!(table["rows"][0]["cells"][1], 1);
    let accept = "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json";
    let (_, text) =
        t.raw_text(http::Method::GET, "/api/v1/namespaces/default/configmaps", &[("Accept", accept)], Vec::new()).await;
    let list: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(list["kind"], "PartialObjectMetadataList");
    assert!(list["items"][0].get("data").is_none());
    assert_eq!(list["items"][0]["metadata"]["name"], "a");
}

#[tokio::test]
async fn a_closed_watch_resumes_without_losing_or_replaying_events() {
    let t = start().await;
    let api = t.configmaps();
    let a = create_cm(&api, "a").await;
    let mut stream = api.watch(&WatchParams::default(), &a.metadata.resource_version.unwrap()).await.unwrap().boxed();
    api.patch("a", &PatchParams::default(), &Patch::Merge(json!({"data": {"n": "1"}}))).await.unwrap();
    let WatchEvent::Modified(seen) = stream.try_next().await.unwrap().unwrap() else { panic!("expected MODIFIED") };
    t.sim.close_watches();
    assert!(stream.next().await.is_none(), "closing ends the stream");
    api.patch("a", &PatchParams::default(), &Patch::Merge(json!({"data": {"n": "2"}}))).await.unwrap();
    let mut resumed =
        api.watch(&WatchParams::default(), &seen.metadata.resource_version.unwrap()).await.unwrap().boxed();
    let WatchEvent::Modified(next) = resumed.try_next().await.unwrap().unwrap() else { panic!("expected MODIFIED") };
    assert_eq!(next.data.unwrap()["n"], "2");
}

#[tokio::test]
async fn a_watch_through_events_v1_sees_core_events_in_its_own_shape() {
    let t = start().await;
    let core = json!({"apiVersion": "v1", "kind": "Event", "metadata": {"name": "e1"},
        "involvedObject": {"kind": "ConfigMap", "name": "c", "namespace": "default"}, "message": "hi", "reason": "R", "type": "Normal"});
    let (status, _) =
        t.raw(http::Method::POST, "/api/v1/namespaces/default/events", "application/json", &core.to_string()).await;
    assert_eq!(status, StatusCode::CREATED);
    let path = "/apis/events.k8s.io/v1/namespaces/default/events?watch=true&fieldSelector=regarding.name%3Dc";
    let events = t.watch_lines(path, 1, Duration::from_secs(5)).await;
    let object = &events[0]["object"];
    assert_eq!(
        (&object["apiVersion"], &object["note"], &object["regarding"]["name"]),
        (&json!("events.k8s.io/v1"), &json!("hi"), &json!("c"))
    );
    assert!(object.get("involvedObject").is_none() && object.get("message").is_none(), "{object}");
    let (_, listed) = t.get("/apis/events.k8s.io/v1/namespaces/default/events").await;
    assert_eq!(listed["items"][0]["deprecatedSource"], json!({}));
}
