//! CustomResourceDefinitions: establishment, discovery, structural schemas, printer columns, and
//! the deletion cascade.

#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use common::{start, wait_for, widget};
use futures::StreamExt;
use http::{Method, StatusCode};
use kube::api::{DeleteParams, Patch, PatchParams, PostParams, WatchParams};
use kube::discovery::Discovery;
use serde_json::json;

#[tokio::test]
async fn a_new_crd_is_established_and_then_served_and_discovered() {
    let t = start().await;
    let (status, _) = t.get("/apis/examples.weft.dev/v1/namespaces/default/widgets").await;
    assert_eq!(status, StatusCode::NOT_FOUND, "unknown resources are 404");
    t.install_widgets().await;
    let (_, crd) = t.get("/apis/apiextensions.k8s.io/v1/customresourcedefinitions/widgets.examples.weft.dev").await;
    let conditions: Vec<(&str, &str)> = crd["status"]["conditions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["type"].as_str().unwrap(), c["status"].as_str().unwrap()))
        .collect();
    assert_eq!(conditions, [("NamesAccepted", "True"), ("Established", "True")]);
    assert_eq!(crd["status"]["acceptedNames"]["kind"], "Widget");

    let discovery = Discovery::new(t.client.clone()).run().await.unwrap();
    let group = discovery.get("examples.weft.dev").expect("group discovered");
    let (resource, caps) = group.recommended_kind("Widget").unwrap();
    assert_eq!(resource.plural, "widgets");
    assert!(caps.subresources.iter().any(|(r, _)| r.plural == "status"), "{:?}", caps.subresources);
}

#[tokio::test]
async fn structural_schemas_prune_default_and_validate() {
    let t = start().await;
    let widgets = t.install_widgets().await;
    let mut w = widget("w", 2);
    w.data["spec"]["unknown"] = json!("x");
    let created = widgets.create(&PostParams::default(), &w).await.unwrap();
    assert!(created.data["spec"].get("unknown").is_none(), "unknown fields are pruned");
    assert_eq!(created.data["spec"]["color"], "blue", "defaults are applied");

    let err = widgets.create(&PostParams::default(), &widget("bad", 0)).await.unwrap_err();
    match err {
        kube::Error::Api(e) => {
            assert_eq!((e.code, e.reason.as_str()), (422, "Invalid"));
            assert!(e.message.contains("spec.size"), "{}", e.message);
        }
        other => panic!("{other:?}"),
    }
    let strict = json!({"apiVersion": "examples.weft.dev/v1", "kind": "Widget", "metadata": {"name": "s"}, "spec": {"size": 1, "nope": 1}});
    let (status, body) = t
        .raw(
            Method::POST,
            "/apis/examples.weft.dev/v1/namespaces/default/widgets?fieldValidation=Strict",
            "application/json",
            &strict.to_string(),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(body["message"].as_str().unwrap().contains("unknown field \"spec.nope\""));
}

#[tokio::test]
async fn printer_columns_appear_in_tables() {
    let t = start().await;
    let widgets = t.install_widgets().await;
    widgets.create(&PostParams::default(), &widget("w", 7)).await.unwrap();
    let accept = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json";
    let (_, text) = t
        .raw_text(
            Method::GET,
            "/apis/examples.weft.dev/v1/namespaces/default/widgets",
            &[("Accept", accept)],
            Vec::new(),
        )
        .await;
    let table: serde_json::Value = serde_json::from_str(&text).unwrap();
    let columns: Vec<&str> =
        table["columnDefinitions"].as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap()).collect();
    assert_eq!(columns, ["Name", "Size", "Ready", "Age"]);
    assert_eq!(table["rows"][0]["cells"][1], 7);
}

#[tokio::test]
async fn deleting_a_crd_terminates_honours_finalizers_and_stops_serving() {
    let t = start().await;
    let widgets = t.install_widgets().await;
    let mut held = widget("held", 1);
    held.metadata.finalizers = Some(vec!["weft.dev/hold".into()]);
    widgets.create(&PostParams::default(), &held).await.unwrap();
    widgets.create(&PostParams::default(), &widget("plain", 1)).await.unwrap();
    let mut watch = widgets.watch(&WatchParams::default().disable_bookmarks(), "0").await.unwrap().boxed();

    let (status, _) = t
        .raw(
            Method::DELETE,
            "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/widgets.examples.weft.dev",
            "application/json",
            "",
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    wait_for(|| async { widgets.get_opt("plain").await.unwrap().is_none() }).await.unwrap();
    let (_, crd) = t.get("/apis/apiextensions.k8s.io/v1/customresourcedefinitions/widgets.examples.weft.dev").await;
    assert!(
        crd["status"]["conditions"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["type"] == "Terminating" && c["status"] == "True")
    );
    let err = widgets.create(&PostParams::default(), &widget("late", 1)).await.unwrap_err();
    assert!(matches!(err, kube::Error::Api(ref e) if e.code == 405), "creates are refused while terminating: {err:?}");

    widgets
        .patch("held", &PatchParams::default(), &Patch::Merge(json!({"metadata": {"finalizers": null}})))
        .await
        .unwrap();
    wait_for(|| async {
        t.get("/apis/examples.weft.dev/v1/namespaces/default/widgets").await.0 == StatusCode::NOT_FOUND
    })
    .await
    .unwrap();
    let (status, _) = t.get("/apis/apiextensions.k8s.io/v1/customresourcedefinitions/widgets.examples.weft.dev").await;
    assert_eq!(status, StatusCode::NOT_FOUND, "the CRD itself goes once its objects are gone");
    let ended = tokio::time::timeout(Duration::from_secs(5), async {
        while let Some(event) = watch.next().await {
            if event.is_err() {
                break;
            }
        }
    })
    .await;
    assert!(ended.is_ok(), "open watches close when the resource stops being served");
}

#[tokio::test]
async fn a_crd_can_be_recreated_after_deletion() {
    let t = start().await;
    let widgets = t.install_widgets().await;
    widgets.create(&PostParams::default(), &widget("w", 1)).await.unwrap();
    t.raw(
        Method::DELETE,
        "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/widgets.examples.weft.dev",
        "application/json",
        "",
    )
    .await;
    wait_for(|| async {
        t.get("/apis/apiextensions.k8s.io/v1/customresourcedefinitions/widgets.examples.weft.dev").await.0
            == StatusCode::NOT_FOUND
    })
    .await
    .unwrap();
    let widgets = t.install_widgets().await;
    assert!(widgets.list(&Default::default()).await.unwrap().items.is_empty(), "objects do not survive their CRD");
    widgets.create(&PostParams::default(), &widget("w", 1)).await.unwrap();
    widgets.delete("w", &DeleteParams::default()).await.unwrap();
}

#[tokio::test]
async fn invalid_crds_are_rejected_with_causes() {
    let t = start().await;
    let crd = json!({
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": "wrong.examples.weft.dev"},
        "spec": {"group": "examples.weft.dev", "scope": "Namespaced", "names": {"plural": "things", "kind": "Thing"},
                 "versions": [{"name": "v1", "served": true, "storage": true}]},
    });
    let (status, body) = t.create_crd(&crd).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let fields: Vec<&str> =
        body["details"]["causes"].as_array().unwrap().iter().map(|c| c["field"].as_str().unwrap()).collect();
    assert!(
        fields.contains(&"metadata.name") && fields.contains(&"spec.versions[0].schema.openAPIV3Schema"),
        "{fields:?}"
    );
}

#[tokio::test]
async fn every_served_version_reads_and_writes_the_same_objects() {
    let t = start().await;
    let mut crd = common::serde_saphyr_value(common::WIDGETS_CRD);
    let mut v2 = crd["spec"]["versions"][0].clone();
    v2["name"] = json!("v2");
    v2["storage"] = json!(false);
    crd["spec"]["versions"].as_array_mut().unwrap().push(v2);
    assert_eq!(t.create_crd(&crd).await.0, StatusCode::CREATED);
    wait_for(|| async { t.get("/apis/examples.weft.dev/v2/namespaces/default/widgets").await.0 == StatusCode::OK })
        .await
        .unwrap();
    t.widgets("default").create(&PostParams::default(), &widget("w", 1)).await.unwrap();
    let v2_path = "/apis/examples.weft.dev/v2/namespaces/default/widgets/w";
    let (status, patched) =
        t.raw(Method::PATCH, v2_path, "application/merge-patch+json", r#"{"spec":{"size":4}}"#).await;
    assert_eq!(status, StatusCode::OK, "{patched}");
    assert_eq!(patched["apiVersion"], "examples.weft.dev/v2");
    let (_, via_v1) = t.get("/apis/examples.weft.dev/v1/namespaces/default/widgets/w").await;
    assert_eq!(
        (via_v1["apiVersion"].as_str(), via_v1["spec"]["size"].as_i64()),
        (Some("examples.weft.dev/v1"), Some(4))
    );
    let (_, groups) = t.get("/apis/examples.weft.dev").await;
    assert_eq!(groups["preferredVersion"]["version"], "v2", "the highest served version is preferred");
}

#[tokio::test]
async fn a_crd_held_by_another_finalizer_stops_serving_and_settles() {
    let t = start().await;
    let widgets = t.install_widgets().await;
    widgets.create(&PostParams::default(), &widget("w", 1)).await.unwrap();
    let crd_path = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/widgets.examples.weft.dev";
    let (_, crd) = t.get(crd_path).await;
    let mut finalizers = crd["metadata"]["finalizers"].clone();
    finalizers.as_array_mut().unwrap().push(json!("weft.dev/hold"));
    let hold = json!({"metadata": {"finalizers": finalizers}}).to_string();
    assert_eq!(t.raw(Method::PATCH, crd_path, "application/merge-patch+json", &hold).await.0, StatusCode::OK);
    t.raw(Method::DELETE, crd_path, "application/json", "").await;
    wait_for(|| async {
        t.get("/apis/examples.weft.dev/v1/namespaces/default/widgets").await.0 == StatusCode::NOT_FOUND
    })
    .await
    .unwrap();
    let settled = t.sim.store().current_rv();
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(t.sim.store().current_rv(), settled, "the controllers settle instead of re-serving the resource");
    let (_, crd) = t.get(crd_path).await;
    assert_eq!(crd["metadata"]["finalizers"], json!(["weft.dev/hold"]));
    let release = json!({"metadata": {"finalizers": null}}).to_string();
    t.raw(Method::PATCH, crd_path, "application/merge-patch+json", &release).await;
    assert_eq!(t.get(crd_path).await.0, StatusCode::NOT_FOUND);
}
