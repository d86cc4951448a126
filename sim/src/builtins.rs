//! The built-in resource types and the structural facts about them that a real server takes from
//! its compiled-in schemas: which lists merge by key (strategic merge patch and server-side apply).

use crate::registry::{GroupResource, Origin, PrinterColumn, ResourceDef, ScalePaths, VersionDef};

/// Namespaces that exist when the emulator starts.
pub const INITIAL_NAMESPACES: [&str; 4] = ["default", "kube-system", "kube-public", "weft-system"];

/// Namespaces a real server refuses to delete.
pub const UNDELETABLE_NAMESPACES: [&str; 3] = ["default", "kube-system", "kube-public"];

struct Builtin {
    group: &'static str,
    version: &'static str,
    resource: &'static str,
    kind: &'static str,
    short_names: &'static [&'static str],
    namespaced: bool,
    status: bool,
    generation: bool,
    columns: &'static [(&'static str, &'static str, &'static str)],
}

const BUILTINS: &[Builtin] = &[
    Builtin {
        group: "",
        version: "v1",
        resource: "namespaces",
        kind: "Namespace",
        short_names: &["ns"],
        namespaced: false,
        status: true,
        generation: false,
        columns: &[("Status", "string", ".status.phase")],
    },
    Builtin {
        group: "",
        version: "v1",
        resource: "configmaps",
        kind: "ConfigMap",
        short_names: &["cm"],
        namespaced: true,
        status: false,
        generation: false,
        columns: &[],
    },
    Builtin {
        group: "",
        version: "v1",
        resource: "secrets",
        kind: "Secret",
        short_names: &[],
        namespaced: true,
        status: false,
        generation: false,
        columns: &[("Type", "string", ".type")],
    },
    Builtin {
        group: "",
        version: "v1",
        resource: "services",
        kind: "Service",
        short_names: &["svc"],
        namespaced: true,
        status: true,
        generation: false,
        columns: &[("Type", "string", ".spec.type"), ("Cluster-IP", "string", ".spec.clusterIP")],
    },
    Builtin {
        group: "",
        version: "v1",
        resource: "serviceaccounts",
        kind: "ServiceAccount",
        short_names: &["sa"],
        namespaced: true,
        status: false,
        generation: false,
        columns: &[],
    },
    Builtin {
        group: "",
        version: "v1",
        resource: "pods",
        kind: "Pod",
        short_names: &["po"],
        namespaced: true,
        status: true,
        generation: true,
        columns: &[("Status", "string", ".status.phase"), ("Node", "string", ".spec.nodeName")],
    },
    Builtin {
        group: "",
        version: "v1",
        resource: "events",
        kind: "Event",
        short_names: &["ev"],
        namespaced: true,
        status: false,
        generation: false,
        columns: &[
            ("Type", "string", ".type"),
            ("Reason", "string", ".reason"),
            ("Object", "string", ".involvedObject.name"),
            ("Message", "string", ".message"),
        ],
    },
    Builtin {
        group: "events.k8s.io",
        version: "v1",
        resource: "events",
        kind: "Event",
        short_names: &["ev"],
        namespaced: true,
        status: false,
        generation: false,
        columns: &[("Type", "string", ".type"), ("Reason", "string", ".reason"), ("Note", "string", ".note")],
    },
    Builtin {
        group: "coordination.k8s.io",
        version: "v1",
        resource: "leases",
        kind: "Lease",
        short_names: &[],
        namespaced: true,
        status: false,
        generation: false,
        columns: &[("Holder", "string", ".spec.holderIdentity")],
    },
    Builtin {
        group: "apps",
        version: "v1",
        resource: "deployments",
        kind: "Deployment",
        short_names: &["deploy"],
        namespaced: true,
        status: true,
        generation: true,
        columns: &[
            ("Replicas", "integer", ".spec.replicas"),
            ("Up-to-date", "integer", ".status.updatedReplicas"),
            ("Available", "integer", ".status.availableReplicas"),
        ],
    },
    Builtin {
        group: "rbac.authorization.k8s.io",
        version: "v1",
        resource: "roles",
        kind: "Role",
        short_names: &[],
        namespaced: true,
        status: false,
        generation: false,
        columns: &[],
    },
    Builtin {
        group: "rbac.authorization.k8s.io",
        version: "v1",
        resource: "rolebindings",
        kind: "RoleBinding",
        short_names: &[],
        namespaced: true,
        status: false,
        generation: false,
        columns: &[("Role", "string", ".roleRef.name")],
    },
    Builtin {
        group: "rbac.authorization.k8s.io",
        version: "v1",
        resource: "clusterroles",
        kind: "ClusterRole",
        short_names: &[],
        namespaced: false,
        status: false,
        generation: false,
        columns: &[],
    },
    Builtin {
        group: "rbac.authorization.k8s.io",
        version: "v1",
        resource: "clusterrolebindings",
        kind: "ClusterRoleBinding",
        short_names: &[],
        namespaced: false,
        status: false,
        generation: false,
        columns: &[("Role", "string", ".roleRef.name")],
    },
    Builtin {
        group: "apiextensions.k8s.io",
        version: "v1",
        resource: "customresourcedefinitions",
        kind: "CustomResourceDefinition",
        short_names: &["crd", "crds"],
        namespaced: false,
        status: true,
        generation: true,
        columns: &[],
    },
];

/// Definitions of every built-in resource type.
pub fn builtin_defs() -> Vec<ResourceDef> {
    BUILTINS.iter().map(to_def).collect()
}

fn to_def(b: &Builtin) -> ResourceDef {
    let scale = (b.resource == "deployments").then(|| ScalePaths {
        spec_replicas: ".spec.replicas".into(),
        status_replicas: ".status.replicas".into(),
        label_selector: Some(".spec.selector".into()),
    });
    ResourceDef {
        gr: GroupResource::new(b.group, b.resource),
        kind: b.kind.into(),
        list_kind: format!("{}List", b.kind),
        singular: b.kind.to_lowercase(),
        short_names: b.short_names.iter().map(|s| (*s).to_owned()).collect(),
        categories: if b.group == "apiextensions.k8s.io"
            || b.group == "coordination.k8s.io"
            || b.resource == "namespaces"
        {
            Vec::new()
        } else {
            vec!["all".into()]
        },
        namespaced: b.namespaced,
        versions: vec![VersionDef {
            name: b.version.into(),
            schema: None,
            printer_columns: b
                .columns
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
            status_subresource: b.status,
            scale,
        }],
        tracks_generation: b.generation,
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
