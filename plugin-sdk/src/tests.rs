//! What the SDK does on its own, natively: conversions to and from the WIT types.

use k8s_openapi::api::core::v1::{ConfigMap, Namespace};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use crate::bindings::weft::plugin::types;
use crate::object::to_json;
use crate::{ApiError, Description, Error, ErrorKind, Mapping, Object, ObjectRef, Related};

#[derive(serde::Serialize, serde::Deserialize, Default)]
struct Widget {
    metadata: ObjectMeta,
    spec: WidgetSpec,
}

#[derive(serde::Serialize, serde::Deserialize, Default)]
struct WidgetSpec {
    size: u32,
}

crate::resource!(Widget, group = "examples.weft.dev", version = "v1", kind = "Widget", plural = "widgets", namespaced);

#[test]
fn resource_types_come_from_k8s_openapi_and_the_macro() {
    assert_eq!(ConfigMap::RESOURCE.api_version(), "v1");
    assert_eq!(ConfigMap::RESOURCE.plural, "configmaps");
    const { assert!(ConfigMap::RESOURCE.namespaced) };
    const { assert!(!Namespace::RESOURCE.namespaced) };
    assert_eq!(Widget::RESOURCE.api_version(), "examples.weft.dev/v1");
    assert_eq!(Widget::RESOURCE.kind, "Widget");
}

#[test]
fn custom_resources_are_written_with_api_version_and_kind() {
    let mut widget = Widget { spec: WidgetSpec { size: 3 }, ..Default::default() };
    widget.metadata.name = Some("w1".into());
    widget.metadata.namespace = Some("ns".into());
    let json: serde_json::Value = serde_json::from_str(&to_json(&widget).expect("serializes")).expect("json");
    assert_eq!(json["apiVersion"], "examples.weft.dev/v1");
    assert_eq!(json["kind"], "Widget");
    assert_eq!(json["spec"]["size"], 3);
    assert_eq!(widget.object_ref(), ObjectRef::new::<Widget>(Some("ns"), "w1"));
}

#[test]
fn api_errors_map_to_retryable_or_permanent_failures() {
    let error = |kind| Error::from(ApiError { kind, message: "m".into() });
    assert!(matches!(error(ErrorKind::Conflict), Error::Transient(_)));
    assert!(matches!(error(ErrorKind::NotFound), Error::Transient(_)));
    assert!(matches!(error(ErrorKind::Transient), Error::Transient(_)));
    assert!(matches!(error(ErrorKind::Forbidden), Error::Permanent(_)));
    assert!(matches!(error(ErrorKind::Invalid), Error::Permanent(_)));
    let wit = types::ApiError { kind: types::ErrorKind::AlreadyExists, message: "exists".into() };
    assert_eq!(ApiError::from_wit(wit).kind, ErrorKind::AlreadyExists);
}

#[test]
fn descriptions_become_the_wit_record() {
    let description = Description::new("mirror", "1.2.3")
        .selector("app=web")
        .owns::<ConfigMap>(None)
        .related::<Widget>(Some("tier"), Mapping::ByLabel("owner".into()))
        .permit::<ConfigMap>(&["get", "patch"])
        .permit_status::<Widget>()
        .finalizer("weft.dev/cleanup")
        .reconcile_on_status_change()
        .into_wit(Widget::RESOURCE);
    assert_eq!(description.name, "mirror");
    assert_eq!(description.primary.api.plural, "widgets");
    assert_eq!(description.primary.label_selector.as_deref(), Some("app=web"));
    assert_eq!(description.owns[0].api.kind, "ConfigMap");
    assert!(matches!(&description.related[0].mapping, types::RelatedMapping::ByLabel(l) if l == "owner"));
    assert_eq!(description.permissions[0].verbs, ["get", "patch"]);
    assert_eq!(description.permissions[0].api_groups, [""]);
    assert_eq!(description.permissions[1].resources, ["widgets/status"]);
    assert_eq!(description.permissions[1].api_groups, ["examples.weft.dev"]);
    assert_eq!(description.finalizer.as_deref(), Some("weft.dev/cleanup"));
    assert!(description.reconcile_on_status_change);
}

#[test]
fn related_objects_parse_as_the_right_type() {
    let related = Related {
        object: ObjectRef::new::<Widget>(Some("ns"), "w1"),
        json: r#"{"apiVersion":"examples.weft.dev/v1","kind":"Widget","metadata":{"name":"w1"},"spec":{"size":7}}"#
            .into(),
    };
    assert!(related.is::<Widget>());
    assert!(!related.is::<ConfigMap>());
    assert_eq!(related.parse::<Widget>().expect("parses").spec.size, 7);
}
