//! The built-in resource types and the structural facts about them that a real server takes from
//! its compiled-in schemas: which lists merge by key (strategic merge patch and server-side apply).

use crate::registry::{GroupResource, Origin, PrinterColumn, ResourceDef, ScalePaths, VersionDef};

/// Namespaces that exist when the emulator starts.
pub const INITIAL_NAMESPACES: [&str; 4] = ["default", "kube-system", "kube-public", "weft-system"];

/// Namespaces a real server refuses to delete.
pub const UNDELETABLE_NAMESPACES: [&str; 3] = ["default", "kube-system", "kube-public"];

/// One built-in resource: group, version, resource, kind, short names, namespaced, has a status
/// subresource, tracks generation, printer columns `(name, type, JSONPath)`.
struct Builtin(
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static [&'static str],
    bool,
    bool,
    bool,
    &'static [(&'static str, &'static str, &'static str)],
);

const RBAC: &str = "rbac.authorization.k8s.io";

#[rustfmt::skip]
const BUILTINS: &[Builtin] = &[
    Builtin("", "v1", "namespaces", "Namespace", &["ns"], false, true, false, &[("Status", "string", ".status.phase")]),
    Builtin("", "v1", "configmaps", "ConfigMap", &["cm"], true, false, false, &[]),
    Builtin("", "v1", "secrets", "Secret", &[], true, false, false, &[("Type", "string", ".type"), ("Data", "integer", "=data")]),
    Builtin("", "v1", "services", "Service", &["svc"], true, true, false, &[
        ("Type", "string", ".spec.type"), ("Cluster-IP", "string", ".spec.clusterIP"),
        ("External-IP", "string", "=external-ips"), ("Port(s)", "string", "=service-ports"),
    ]),
    Builtin("", "v1", "serviceaccounts", "ServiceAccount", &["sa"], true, false, false, &[("Secrets", "integer", "=secrets")]),
    Builtin("", "v1", "pods", "Pod", &["po"], true, true, true, &[
        ("Ready", "string", "=pod-ready"), ("Status", "string", ".status.phase"), ("Restarts", "integer", "=restarts"),
    ]),
    Builtin("", "v1", "events", "Event", &["ev"], true, false, false, &[
        ("Last Seen", "date", "=last-seen"), ("Type", "string", ".type"), ("Reason", "string", ".reason"),
        ("Object", "string", "=event-object"), ("Message", "string", ".message"),
    ]),
    Builtin("", "v1", "endpoints", "Endpoints", &["ep"], true, false, false, &[]),
    Builtin("", "v1", "persistentvolumeclaims", "PersistentVolumeClaim", &["pvc"], true, true, false,
        &[("Status", "string", ".status.phase")]),
    Builtin("", "v1", "persistentvolumes", "PersistentVolume", &["pv"], false, true, false,
        &[("Status", "string", ".status.phase")]),
    Builtin("", "v1", "replicationcontrollers", "ReplicationController", &["rc"], true, true, true, &[]),
    Builtin("events.k8s.io", "v1", "events", "Event", &["ev"], true, false, false,
        &[("Type", "string", ".type"), ("Reason", "string", ".reason"), ("Note", "string", ".note")]),
    Builtin("coordination.k8s.io", "v1", "leases", "Lease", &[], true, false, false,
        &[("Holder", "string", ".spec.holderIdentity")]),
    Builtin("apps", "v1", "deployments", "Deployment", &["deploy"], true, true, true, &[
        ("Ready", "string", "=replicas-ready"), ("Up-to-date", "integer", "=updated"), ("Available", "integer", "=available"),
    ]),
    Builtin("apps", "v1", "replicasets", "ReplicaSet", &["rs"], true, true, true, &[
        ("Desired", "integer", ".spec.replicas"), ("Current", "integer", ".status.replicas"),
        ("Ready", "integer", ".status.readyReplicas"),
    ]),
    Builtin("apps", "v1", "statefulsets", "StatefulSet", &["sts"], true, true, true, &[]),
    Builtin("apps", "v1", "daemonsets", "DaemonSet", &["ds"], true, true, true, &[]),
    Builtin("batch", "v1", "jobs", "Job", &[], true, true, true, &[]),
    Builtin("batch", "v1", "cronjobs", "CronJob", &["cj"], true, true, true, &[("Schedule", "string", ".spec.schedule")]),
    Builtin("networking.k8s.io", "v1", "ingresses", "Ingress", &["ing"], true, true, true, &[]),
    Builtin("policy", "v1", "poddisruptionbudgets", "PodDisruptionBudget", &["pdb"], true, true, true, &[
        ("Min Available", "string", ".spec.minAvailable"), ("Max Unavailable", "string", ".spec.maxUnavailable"),
    ]),
    Builtin(RBAC, "v1", "roles", "Role", &[], true, false, false, &[]),
    Builtin(RBAC, "v1", "rolebindings", "RoleBinding", &[], true, false, false, &[("Role", "string", "=role-ref")]),
    Builtin(RBAC, "v1", "clusterroles", "ClusterRole", &[], false, false, false, &[]),
    Builtin(RBAC, "v1", "clusterrolebindings", "ClusterRoleBinding", &[], false, false, false,
        &[("Role", "string", "=role-ref")]),
    Builtin("apiextensions.k8s.io", "v1", "customresourcedefinitions", "CustomResourceDefinition", &["crd", "crds"],
        false, true, true, &[]),
];

/// The resources in the `all` category (`kubectl get all`).
const CATEGORY_ALL: [&str; 9] = [
    "pods",
    "services",
    "replicationcontrollers",
    "deployments",
    "replicasets",
    "statefulsets",
    "daemonsets",
    "jobs",
    "cronjobs",
];

/// Definitions of every built-in resource type.
pub fn builtin_defs() -> Vec<ResourceDef> {
    BUILTINS.iter().map(to_def).collect()
}

fn to_def(b: &Builtin) -> ResourceDef {
    let Builtin(group, version, resource, kind, short_names, namespaced, status, generation, columns) = *b;
    let scale = matches!(resource, "deployments" | "replicasets" | "statefulsets").then(|| ScalePaths {
        spec_replicas: ".spec.replicas".into(),
        status_replicas: ".status.replicas".into(),
        label_selector: Some(".spec.selector".into()),
    });
    ResourceDef {
        gr: GroupResource::new(group, resource),
        kind: kind.into(),
        list_kind: format!("{kind}List"),
        singular: kind.to_lowercase(),
        short_names: short_names.iter().map(|s| (*s).to_owned()).collect(),
        categories: if CATEGORY_ALL.contains(&resource) { vec!["all".into()] } else { Vec::new() },
        namespaced,
        versions: vec![VersionDef {
            name: version.into(),
            schema: None,
            printer_columns: columns
                .iter()
                .map(|(name, type_, path)| PrinterColumn {
                    name: (*name).into(),
                    type_: (*type_).into(),
                    format: String::new(),
                    description: String::new(),
                    json_path: (*path).into(),
                    priority: 0,
                })
                .collect(),
            status_subresource: status,
            scale,
        }],
        tracks_generation: generation,
        origin: Origin::Builtin,
        terminating: false,
    }
}

/// How the elements of a list field of a built-in kind are identified when merging.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ListMerge {
    /// Replaced as a whole.
    Atomic,
    /// Elements are scalars, merged as a set.
    Set,
    /// Elements are objects identified by these keys.
    Map(Vec<String>),
}

/// The merge strategy of a list field named `field` whose elements look like `sample`.
///
/// Real servers take this from the compiled-in OpenAPI schema; this table covers the fields of the
/// kinds served here that are not atomic.
pub fn builtin_list_merge(field: &str, sample: Option<&serde_json::Value>) -> ListMerge {
    let has = |key: &str| sample.and_then(|s| s.get(key)).is_some();
    match field {
        "containers"
        | "initContainers"
        | "ephemeralContainers"
        | "env"
        | "volumes"
        | "imagePullSecrets"
        | "secrets" => map_keys(&["name"]),
        "volumeMounts" | "volumeDevices" => map_keys(&["mountPath"]),
        "ports" if has("containerPort") => map_keys(&["containerPort", "protocol"]),
        "ports" => map_keys(&["port", "protocol"]),
        "conditions" => map_keys(&["type"]),
        "ownerReferences" => map_keys(&["uid"]),
        "finalizers" => ListMerge::Set,
        "hostAliases" => map_keys(&["ip"]),
        _ => ListMerge::Atomic,
    }
}

fn map_keys(keys: &[&str]) -> ListMerge {
    ListMerge::Map(keys.iter().map(|k| (*k).to_owned()).collect())
}
