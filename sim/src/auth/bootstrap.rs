//! The ClusterRoles and ClusterRoleBindings every cluster starts with (kube-apiserver's RBAC
//! bootstrap policy), seeded when RBAC is enforced: what lets a non-admin kubectl discover the
//! API and ask what it may do, `cluster-admin` for `system:masters`, and the aggregated
//! `admin`/`edit`/`view` roles.

use serde_json::{Value, json};

const READ: &str = "get list watch";
const WRITE: &str = "create delete deletecollection patch update";
const ALL_RW: &str = "create delete deletecollection get list patch update watch";

/// `(apiGroups, resources, verbs)`, each space-separated.
type Rule = (&'static str, &'static str, &'static str);

const AGGREGATE_TO_VIEW: &[Rule] = &[
    (
        "",
        "configmaps endpoints persistentvolumeclaims persistentvolumeclaims/status pods replicationcontrollers \
         replicationcontrollers/scale serviceaccounts services services/status",
        READ,
    ),
    (
        "",
        "bindings events limitranges namespaces/status pods/log pods/status replicationcontrollers/status \
         resourcequotas resourcequotas/status",
        READ,
    ),
    ("", "namespaces", READ),
    ("discovery.k8s.io", "endpointslices", READ),
    (
        "apps",
        "controllerrevisions daemonsets daemonsets/status deployments deployments/scale deployments/status \
         replicasets replicasets/scale replicasets/status statefulsets statefulsets/scale statefulsets/status",
        READ,
    ),
    ("autoscaling", "horizontalpodautoscalers horizontalpodautoscalers/status", READ),
    ("batch", "cronjobs cronjobs/status jobs jobs/status", READ),
    ("policy", "poddisruptionbudgets poddisruptionbudgets/status", READ),
    ("networking.k8s.io", "ingresses ingresses/status networkpolicies", READ),
];

const AGGREGATE_TO_EDIT: &[Rule] = &[
    ("", "pods/attach pods/exec pods/portforward pods/proxy secrets services/proxy", READ),
    ("", "serviceaccounts", "impersonate"),
    ("", "pods pods/attach pods/exec pods/portforward pods/proxy", WRITE),
    ("", "pods/eviction", "create"),
    (
        "",
        "configmaps events persistentvolumeclaims replicationcontrollers replicationcontrollers/scale secrets \
         serviceaccounts services services/proxy",
        WRITE,
    ),
    ("", "serviceaccounts/token", "create"),
    (
        "apps",
        "daemonsets deployments deployments/rollback deployments/scale replicasets replicasets/scale statefulsets \
         statefulsets/scale",
        WRITE,
    ),
    ("autoscaling", "horizontalpodautoscalers", WRITE),
    ("batch", "cronjobs jobs", WRITE),
    ("policy", "poddisruptionbudgets", WRITE),
    ("networking.k8s.io", "ingresses networkpolicies", WRITE),
    ("coordination.k8s.io", "leases", ALL_RW),
];

const AGGREGATE_TO_ADMIN: &[Rule] = &[
    ("authorization.k8s.io", "localsubjectaccessreviews", "create"),
    ("rbac.authorization.k8s.io", "rolebindings roles", ALL_RW),
];

fn words(s: &str) -> Vec<&str> {
    s.split_whitespace().collect()
}

fn rules(rules: &[Rule]) -> Value {
    rules
        .iter()
        .map(|(groups, resources, verbs)| {
            let groups: Vec<&str> = if groups.is_empty() { vec![""] } else { words(groups) };
            json!({"apiGroups": groups, "resources": words(resources), "verbs": words(verbs)})
        })
        .collect()
}

fn urls(paths: &str, verbs: &str) -> Value {
    json!({"nonResourceURLs": words(paths), "verbs": words(verbs)})
}

fn cluster_role(name: &str, labels: Value, rules: Value, aggregate_from: Option<&str>) -> Value {
    let mut labels = labels;
    labels["kubernetes.io/bootstrapping"] = json!("rbac-defaults");
    let mut role = json!({
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRole",
        "metadata": {
            "name": name,
            "labels": labels,
            "annotations": {"rbac.authorization.kubernetes.io/autoupdate": "true"},
        },
        "rules": rules,
    });
    if let Some(label) = aggregate_from {
        role["aggregationRule"] = json!({"clusterRoleSelectors": [{"matchLabels": {label: "true"}}]});
    }
    role
}

fn aggregate_label(to: &str) -> String {
    format!("rbac.authorization.k8s.io/aggregate-to-{to}")
}

/// The bootstrap ClusterRoles.
pub fn cluster_roles() -> Vec<Value> {
    let label = |to: &str| json!({ aggregate_label(to): "true" });
    vec![
        cluster_role(
            "cluster-admin",
            json!({}),
            json!([{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}, urls("*", "*")]),
            None,
        ),
        cluster_role("admin", json!({}), json!([]), Some(&aggregate_label("admin"))),
        cluster_role("edit", label("admin"), json!([]), Some(&aggregate_label("edit"))),
        cluster_role("view", label("edit"), json!([]), Some(&aggregate_label("view"))),
        cluster_role("system:aggregate-to-admin", label("admin"), rules(AGGREGATE_TO_ADMIN), None),
        cluster_role("system:aggregate-to-edit", label("edit"), rules(AGGREGATE_TO_EDIT), None),
        cluster_role("system:aggregate-to-view", label("view"), rules(AGGREGATE_TO_VIEW), None),
        cluster_role(
            "system:discovery",
            json!({}),
            json!([urls(
                "/api /api/* /apis /apis/* /healthz /livez /openapi /openapi/* /readyz /version /version/",
                "get"
            )]),
            None,
        ),
        cluster_role(
            "system:basic-user",
            json!({}),
            rules(&[
                ("authorization.k8s.io", "selfsubjectaccessreviews selfsubjectrulesreviews", "create"),
                ("authentication.k8s.io", "selfsubjectreviews", "create"),
            ]),
            None,
        ),
        cluster_role(
            "system:public-info-viewer",
            json!({}),
            json!([urls("/healthz /livez /readyz /version /version/", "get")]),
            None,
        ),
        cluster_role(
            "system:auth-delegator",
            json!({}),
            rules(&[
                ("authentication.k8s.io", "tokenreviews", "create"),
                ("authorization.k8s.io", "subjectaccessreviews", "create"),
            ]),
            None,
        ),
        cluster_role(
            "system:monitoring",
            json!({}),
            json!([urls("/healthz /healthz/* /livez /livez/* /metrics /metrics/slis /readyz /readyz/*", "get")]),
            None,
        ),
        cluster_role(
            "system:service-account-issuer-discovery",
            json!({}),
            json!([urls(
                "/.well-known/openid-configuration /.well-known/openid-configuration/ /openid/v1/jwks /openid/v1/jwks/",
                "get"
            )]),
            None,
        ),
    ]
}

/// The bootstrap ClusterRoleBindings: `(name = role, groups)`.
pub fn cluster_role_bindings() -> Vec<Value> {
    let bindings: [(&str, &[&str]); 6] = [
        ("cluster-admin", &["system:masters"]),
        ("system:discovery", &["system:authenticated"]),
        ("system:basic-user", &["system:authenticated"]),
        ("system:public-info-viewer", &["system:authenticated", "system:unauthenticated"]),
        ("system:monitoring", &["system:monitoring"]),
        ("system:service-account-issuer-discovery", &["system:serviceaccounts"]),
    ];
    bindings
        .iter()
        .map(|(name, groups)| {
            let subjects: Vec<Value> = groups
                .iter()
                .map(|g| json!({"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": g}))
                .collect();
            json!({
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": "ClusterRoleBinding",
                "metadata": {
                    "name": name,
                    "labels": {"kubernetes.io/bootstrapping": "rbac-defaults"},
                    "annotations": {"rbac.authorization.kubernetes.io/autoupdate": "true"},
                },
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": name},
                "subjects": subjects,
            })
        })
        .collect()
}
