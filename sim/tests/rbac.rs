//! An emulator enforcing RBAC: a table of requests allowed and forbidden by verb, resource,
//! subresource, namespace, resourceName, aggregation and impersonation, each checked through
//! kubectl and through kube's client, with `kubectl auth can-i` agreeing with what the request
//! actually got; and authentication (static tokens, ServiceAccount tokens, 401).

#![allow(clippy::unwrap_used)]

mod common;

use common::kubectl::Kubectl;
use common::{client_as, wait_for};
use http::{Method, Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use weft_sim::{AuthConfig, AuthorizationMode, SimConfig, StaticToken};

fn token(token: &str, user: &str, groups: &[&str]) -> StaticToken {
    StaticToken {
        token: token.into(),
        user: user.into(),
        uid: format!("uid-{user}"),
        groups: groups.iter().map(|g| (*g).to_owned()).collect(),
    }
}

async fn rbac_kubectl() -> Kubectl {
    let auth = AuthConfig {
        mode: AuthorizationMode::Rbac,
        static_tokens: vec![
            token("bob-token", "bob", &["devs"]),
            token("alice-token", "alice", &[]),
            token("carol-token", "carol", &[]),
        ],
    };
    let k = Kubectl::start_with(SimConfig { auth, tls: true, ..SimConfig::default() }).await;
    let policy = r#"
apiVersion: v1
kind: Namespace
metadata: {name: team}
---
apiVersion: v1
kind: Namespace
metadata: {name: other}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: pod-reader, namespace: default}
rules: [{apiGroups: [""], resources: [pods], verbs: [get, list, watch]}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: pod-reader, namespace: default}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: pod-reader}
subjects: [{kind: User, name: bob}, {kind: ServiceAccount, name: runner}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: cm1-editor, namespace: default}
rules: [{apiGroups: [""], resources: [configmaps], resourceNames: [cm1], verbs: [get, update]}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: cm1-editor, namespace: default}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: cm1-editor}
subjects: [{kind: User, name: bob}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: deployment-scaler}
rules: [{apiGroups: [apps], resources: [deployments/scale], verbs: [get, update, patch]}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: devs-scale, namespace: default}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: deployment-scaler}
subjects: [{kind: Group, name: devs}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: secret-viewer
  labels: {rbac.authorization.k8s.io/aggregate-to-view: "true"}
rules: [{apiGroups: [""], resources: [secrets], verbs: [get, list]}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: devs-view, namespace: team}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: view}
subjects: [{kind: Group, name: devs}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: impersonate-alice}
rules: [{apiGroups: [""], resources: [users], resourceNames: [alice], verbs: [impersonate]}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: carol-impersonates-alice}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: impersonate-alice}
subjects: [{kind: User, name: carol}]
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: runner, namespace: default}
"#;
    k.run(&["apply", "-f", &k.write_file("policy.yaml", policy)]).await;
    for cm in ["cm1", "cm2"] {
        k.run(&["create", "configmap", cm, "--from-literal=k=v"]).await;
    }
    k.run(&["create", "secret", "generic", "s", "-n", "team", "--from-literal=k=v"]).await;
    k.run(&["create", "deployment", "web", "--image=nginx:1.27"]).await;
    // The aggregation controller folds secret-viewer into view (and view into edit and admin).
    let view_has_secrets = || async {
        let view = k.json(&["get", "clusterrole", "view"]).await;
        view["rules"].as_array().unwrap().iter().any(|r| r["resources"] == json!(["secrets"]))
    };
    wait_for(view_has_secrets).await.unwrap();
    k
}

/// One request, as kubectl runs it, as `kubectl auth can-i` asks about it, and as raw HTTP.
struct Case {
    /// `bob`, `alice`, `carol` (static tokens), `runner` (a ServiceAccount token) or `admin`.
    who: &'static str,
    kubectl: &'static [&'static str],
    can_i: &'static [&'static str],
    request: (Method, &'static str),
    allowed: bool,
}

#[rustfmt::skip]
const CASES: &[Case] = &[
    Case { who: "bob", kubectl: &["get", "pods"], can_i: &["list", "pods"], request: (Method::GET, "/api/v1/namespaces/default/pods"), allowed: true },
    Case { who: "bob", kubectl: &["get", "pods", "-n", "other"], can_i: &["list", "pods", "-n", "other"], request: (Method::GET, "/api/v1/namespaces/other/pods"), allowed: false },
    Case { who: "bob", kubectl: &["get", "pods", "-A"], can_i: &["list", "pods", "-A"], request: (Method::GET, "/api/v1/pods"), allowed: false },
    Case { who: "bob", kubectl: &["delete", "pod", "x"], can_i: &["delete", "pods/x"], request: (Method::DELETE, "/api/v1/namespaces/default/pods/x"), allowed: false },
    Case { who: "bob", kubectl: &["get", "configmap", "cm1"], can_i: &["get", "configmaps/cm1"], request: (Method::GET, "/api/v1/namespaces/default/configmaps/cm1"), allowed: true },
    Case { who: "bob", kubectl: &["get", "configmap", "cm2"], can_i: &["get", "configmaps/cm2"], request: (Method::GET, "/api/v1/namespaces/default/configmaps/cm2"), allowed: false },
    Case { who: "bob", kubectl: &["get", "configmaps"], can_i: &["list", "configmaps"], request: (Method::GET, "/api/v1/namespaces/default/configmaps"), allowed: false },
    Case { who: "bob", kubectl: &["get", "--raw", "/apis/apps/v1/namespaces/default/deployments/web/scale"], can_i: &["get", "deployments/web", "--subresource=scale"], request: (Method::GET, "/apis/apps/v1/namespaces/default/deployments/web/scale"), allowed: true },
    Case { who: "bob", kubectl: &["get", "deployment", "web"], can_i: &["get", "deployments/web"], request: (Method::GET, "/apis/apps/v1/namespaces/default/deployments/web"), allowed: false },
    Case { who: "bob", kubectl: &["get", "secret", "s", "-n", "team"], can_i: &["get", "secrets/s", "-n", "team"], request: (Method::GET, "/api/v1/namespaces/team/secrets/s"), allowed: true },
    Case { who: "bob", kubectl: &["get", "pods", "-n", "team"], can_i: &["list", "pods", "-n", "team"], request: (Method::GET, "/api/v1/namespaces/team/pods"), allowed: true },
    Case { who: "bob", kubectl: &["delete", "secret", "s", "-n", "team"], can_i: &["delete", "secrets/s", "-n", "team"], request: (Method::DELETE, "/api/v1/namespaces/team/secrets/s"), allowed: false },
    Case { who: "bob", kubectl: &["get", "clusterroles"], can_i: &["list", "clusterroles"], request: (Method::GET, "/apis/rbac.authorization.k8s.io/v1/clusterroles"), allowed: false },
    Case { who: "alice", kubectl: &["get", "--raw", "/apis"], can_i: &["get", "/apis"], request: (Method::GET, "/apis"), allowed: true },
    Case { who: "alice", kubectl: &["get", "pods"], can_i: &["list", "pods"], request: (Method::GET, "/api/v1/namespaces/default/pods"), allowed: false },
    Case { who: "runner", kubectl: &["get", "pods"], can_i: &["list", "pods"], request: (Method::GET, "/api/v1/namespaces/default/pods"), allowed: true },
    Case { who: "runner", kubectl: &["get", "pods", "-n", "team"], can_i: &["list", "pods", "-n", "team"], request: (Method::GET, "/api/v1/namespaces/team/pods"), allowed: false },
    Case { who: "admin", kubectl: &["get", "clusterroles"], can_i: &["list", "clusterroles"], request: (Method::GET, "/apis/rbac.authorization.k8s.io/v1/clusterroles"), allowed: true },
];

async fn status_of(client: &kube::Client, (method, path): &(Method, &str)) -> StatusCode {
    let request = Request::builder().method(method.clone()).uri(*path).body(Vec::new().into()).unwrap();
    client.send(request).await.unwrap().status()
}

#[tokio::test]
async fn rbac_allows_and_forbids_through_kubectl_and_kube_alike_and_can_i_agrees() {
    let k = rbac_kubectl().await;
    let runner = k.run(&["create", "token", "runner"]).await.trim().to_owned();
    let admin = k.t.sim.admin_token().to_owned();
    for case in CASES {
        let token = match case.who {
            "runner" => runner.clone(),
            "admin" => admin.clone(),
            user => format!("{user}-token"),
        };
        let with_token = |args: &[&'static str]| -> Vec<String> {
            ["--token", token.as_str()].iter().chain(args).map(|a| (*a).to_owned()).collect()
        };
        let args = with_token(case.kubectl);
        let (ok, stdout, stderr) = k.output(&args.iter().map(String::as_str).collect::<Vec<_>>()).await;
        let forbidden = stderr.contains("Forbidden") || stderr.contains("forbidden");
        // A denied delete of a missing object is still 403, never 404.
        assert_eq!(
            ok || stderr.contains("NotFound"),
            case.allowed,
            "{} kubectl {:?}: {stdout}{stderr}",
            case.who,
            case.kubectl
        );
        assert_eq!(forbidden, !case.allowed, "{} kubectl {:?}: {stderr}", case.who, case.kubectl);
        let can_i = with_token(&[&["auth", "can-i"][..], case.can_i].concat());
        let (_, answer, _) = k.output(&can_i.iter().map(String::as_str).collect::<Vec<_>>()).await;
        assert_eq!(answer.trim() == "yes", case.allowed, "{} can-i {:?}: {answer}", case.who, case.can_i);
        let client = client_as(&k.t.sim, Some(&token)).await;
        let status = status_of(&client, &case.request).await;
        assert_eq!(status == StatusCode::FORBIDDEN, !case.allowed, "{} {:?}: {status}", case.who, case.request);
    }
}

#[tokio::test]
async fn a_forbidden_request_gets_the_api_servers_status_body() {
    let k = rbac_kubectl().await;
    let bob = client_as(&k.t.sim, Some("bob-token")).await;
    let request = Request::builder().uri("/api/v1/namespaces/default/configmaps/cm2").body(Vec::new().into()).unwrap();
    let response = bob.send(request).await.unwrap();
    let body: Value = serde_json::from_slice(&response.into_body().collect().await.unwrap().to_bytes()).unwrap();
    assert_eq!(
        body,
        json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": "configmaps \"cm2\" is forbidden: User \"bob\" cannot get resource \"configmaps\" in API group \"\" in the namespace \"default\"",
            "reason": "Forbidden", "details": {"name": "cm2", "kind": "configmaps"}, "code": 403})
    );
    let (_, _, stderr) = k.output(&["--token", "bob-token", "get", "configmaps", "-n", "other"]).await;
    assert!(
        stderr.contains("Error from server (Forbidden): configmaps is forbidden: User \"bob\" cannot list resource \"configmaps\" in API group \"\" in the namespace \"other\""),
        "{stderr}"
    );
    let anonymous = client_as(&k.t.sim, None).await;
    assert_eq!(status_of(&anonymous, &(Method::GET, "/version")).await, StatusCode::OK);
    assert_eq!(status_of(&anonymous, &(Method::GET, "/api")).await, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn impersonation_is_checked_against_the_impersonate_verb() {
    let k = rbac_kubectl().await;
    let (ok, _, stderr) = k.output(&["--token", "carol-token", "--as", "alice", "get", "pods"]).await;
    assert!(!ok && stderr.contains("User \"alice\" cannot list resource \"pods\""), "acts as alice: {stderr}");
    let (ok, _, stderr) = k.output(&["--token", "carol-token", "--as", "bob", "get", "pods"]).await;
    assert!(
        !ok && stderr.contains("users \"bob\" is forbidden: User \"carol\" cannot impersonate resource \"users\" in API group \"\" at the cluster scope"),
        "{stderr}"
    );
    let (ok, _, stderr) =
        k.output(&["--token", "carol-token", "--as", "alice", "--as-group", "devs", "get", "pods"]).await;
    assert!(
        !ok && stderr.contains("groups \"devs\" is forbidden: User \"carol\" cannot impersonate resource \"groups\""),
        "{stderr}"
    );
    // The admin may impersonate anyone; the request then has exactly bob's rights.
    assert!(k.output(&["--as", "bob", "get", "pods"]).await.0);
    assert_eq!(k.output(&["--as", "bob", "auth", "can-i", "delete", "pods"]).await.1.trim(), "no");
    let whoami = k.json(&["--as", "system:serviceaccount:team:builder", "auth", "whoami"]).await;
    assert_eq!(
        whoami["status"]["userInfo"],
        json!({"username": "system:serviceaccount:team:builder",
            "groups": ["system:serviceaccounts", "system:serviceaccounts:team", "system:authenticated"]})
    );
    let list = k.run(&["--as", "bob", "auth", "can-i", "--list"]).await;
    assert!(list.contains("pods") && list.contains("selfsubjectaccessreviews.authorization.k8s.io"), "{list}");
}

#[tokio::test]
async fn tokens_authenticate_their_users_and_bad_ones_are_unauthorized() {
    let k = rbac_kubectl().await;
    let whoami = k.json(&["--token", "bob-token", "auth", "whoami"]).await;
    assert_eq!(
        whoami["status"]["userInfo"],
        json!({"username": "bob", "uid": "uid-bob", "groups": ["devs", "system:authenticated"]})
    );
    let runner = k.run(&["create", "token", "runner"]).await;
    let whoami = k.json(&["--token", runner.trim(), "auth", "whoami"]).await;
    let user = &whoami["status"]["userInfo"];
    assert_eq!(user["username"], "system:serviceaccount:default:runner");
    assert_eq!(
        user["groups"],
        json!(["system:serviceaccounts", "system:serviceaccounts:default", "system:authenticated"])
    );
    assert!(user["extra"]["authentication.kubernetes.io/credential-id"][0].as_str().unwrap().starts_with("JTI="));
    let (ok, _, stderr) = k.output(&["--token", "wrong", "get", "pods"]).await;
    assert!(!ok && stderr.contains("error: You must be logged in to the server (Unauthorized)"), "{stderr}");
    let bad = client_as(&k.t.sim, Some("wrong")).await;
    let request = Request::builder().uri("/api/v1/namespaces/default/pods").body(Vec::new().into()).unwrap();
    let response = bad.send(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let body: Value = serde_json::from_slice(&response.into_body().collect().await.unwrap().to_bytes()).unwrap();
    assert_eq!(
        body,
        json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "message": "Unauthorized", "reason": "Unauthorized", "code": 401})
    );
    // A ServiceAccount token stops working with its ServiceAccount.
    k.run(&["delete", "serviceaccount", "runner"]).await;
    let (ok, _, stderr) = k.output(&["--token", runner.trim(), "get", "pods"]).await;
    assert!(!ok && stderr.contains("Unauthorized"), "{stderr}");
}

#[tokio::test]
async fn aggregated_cluster_roles_follow_the_roles_they_select() {
    let t = common::start().await;
    let roles: kube::Api<k8s_openapi::api::rbac::v1::ClusterRole> = kube::Api::all(t.client.clone());
    let role = |name: &str, labels: Value, body: Value| -> k8s_openapi::api::rbac::v1::ClusterRole {
        let mut role = json!({"metadata": {"name": name, "labels": labels}});
        role.as_object_mut().unwrap().extend(body.as_object().unwrap().clone());
        serde_json::from_value(role).unwrap()
    };
    let selector = json!({"aggregationRule": {"clusterRoleSelectors": [{"matchLabels": {"team/aggregate": "true"}}]}});
    roles.create(&Default::default(), &role("team", json!({}), selector)).await.unwrap();
    let rule = |resource: &str| json!({"rules": [{"apiGroups": [""], "resources": [resource], "verbs": ["get"]}]});
    roles.create(&Default::default(), &role("pods", json!({"team/aggregate": "true"}), rule("pods"))).await.unwrap();
    roles
        .create(&Default::default(), &role("secrets", json!({"team/aggregate": "true"}), rule("secrets")))
        .await
        .unwrap();
    let resources = || async {
        let team = roles.get("team").await.unwrap();
        team.rules.unwrap_or_default().into_iter().flat_map(|r| r.resources.unwrap_or_default()).collect::<Vec<_>>()
    };
    wait_for(|| async { resources().await == ["pods", "secrets"] }).await.unwrap();
    roles.delete("secrets", &Default::default()).await.unwrap();
    wait_for(|| async { resources().await == ["pods"] }).await.unwrap();
    let edit = json!({"rules": [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}]});
    roles.patch("team", &Default::default(), &kube::api::Patch::Merge(edit)).await.unwrap();
    wait_for(|| async { resources().await == ["pods"] }).await.unwrap();
}

#[tokio::test]
async fn subject_access_reviews_answer_for_another_user_and_need_their_own_grant() {
    let k = rbac_kubectl().await;
    let review = |user: &str, namespace: &str, verb: &str| {
        json!({"apiVersion": "authorization.k8s.io/v1", "kind": "SubjectAccessReview", "spec": {"user": user, "groups": ["devs"],
            "resourceAttributes": {"namespace": namespace, "verb": verb, "resource": "pods"}}})
    };
    let path = "/apis/authorization.k8s.io/v1/subjectaccessreviews";
    let (status, body) =
        k.t.raw(Method::POST, path, "application/json", &review("bob", "default", "list").to_string()).await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(
        body["status"],
        json!({"allowed": true, "reason": "RBAC: allowed by RoleBinding \"pod-reader/default\" of Role \"pod-reader\" to User \"bob\""})
    );
    let (_, body) =
        k.t.raw(Method::POST, path, "application/json", &review("bob", "default", "delete").to_string()).await;
    assert_eq!(body["status"], json!({"allowed": false}));
    let local = json!({"apiVersion": "authorization.k8s.io/v1", "kind": "LocalSubjectAccessReview", "metadata": {"namespace": "team"},
        "spec": {"user": "bob", "groups": ["devs"], "resourceAttributes": {"namespace": "team", "verb": "get", "resource": "secrets"}}});
    let local_path = "/apis/authorization.k8s.io/v1/namespaces/team/localsubjectaccessreviews";
    let (status, body) = k.t.raw(Method::POST, local_path, "application/json", &local.to_string()).await;
    assert_eq!((status, &body["status"]["allowed"]), (StatusCode::CREATED, &json!(true)), "{body}");
    let (status, _) =
        k.t.raw(
            Method::POST,
            path,
            "application/json",
            &json!({"spec": {"resourceAttributes": {"verb": "get"}}}).to_string(),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "a user or a group is required");
    let bob = client_as(&k.t.sim, Some("bob-token")).await;
    let request = Request::builder()
        .method(Method::POST)
        .uri(path)
        .header("Content-Type", "application/json")
        .body(review("alice", "default", "get").to_string().into_bytes().into())
        .unwrap();
    assert_eq!(bob.send(request).await.unwrap().status(), StatusCode::FORBIDDEN, "creating one needs its own grant");
}

#[tokio::test]
async fn a_binding_cannot_change_the_role_it_grants() {
    let k = rbac_kubectl().await;
    let patch = json!({"roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "view"}});
    let binding = "/apis/rbac.authorization.k8s.io/v1/namespaces/default/rolebindings/pod-reader";
    let (status, body) = k.t.raw(Method::PATCH, binding, "application/merge-patch+json", &patch.to_string()).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "roleRef is immutable: {body}");
    assert!(body["message"].as_str().unwrap().ends_with("cannot change roleRef"), "{body}");
}

#[tokio::test]
async fn a_user_may_grant_only_what_it_holds_unless_it_may_escalate_or_bind() {
    let k = rbac_kubectl().await;
    let writer = r#"
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: rbac-writer, namespace: default}
rules:
- {apiGroups: [rbac.authorization.k8s.io], resources: [roles, rolebindings], verbs: [create, get, update, patch]}
- {apiGroups: [rbac.authorization.k8s.io], resources: [clusterroles], resourceNames: [view], verbs: [bind]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: rbac-writer, namespace: default}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: rbac-writer}
subjects: [{kind: User, name: bob}]
"#;
    k.run(&["apply", "-f", &k.write_file("writer.yaml", writer)]).await;
    let bob = |args: &[&'static str]| -> Vec<&'static str> { [&["--token", "bob-token"][..], args].concat() };
    assert!(
        k.output(&bob(&["create", "role", "mine", "--verb=get", "--resource=pods"])).await.0,
        "bob holds get on pods"
    );
    let (ok, _, stderr) = k.output(&bob(&["create", "role", "more", "--verb=delete", "--resource=secrets"])).await;
    assert!(!ok, "bob does not hold delete on secrets");
    assert!(
        stderr.contains("roles.rbac.authorization.k8s.io \"more\" is forbidden: user \"bob\" (groups=[\"devs\" \"system:authenticated\"]) is attempting to grant RBAC permissions not currently held:\n{APIGroups:[\"\"], Resources:[\"secrets\"], Verbs:[\"delete\"]}"),
        "{stderr}"
    );
    let (ok, _, stderr) =
        k.output(&bob(&["create", "rolebinding", "admin", "--clusterrole=cluster-admin", "--user=bob"])).await;
    assert!(!ok && stderr.contains("is attempting to grant RBAC permissions not currently held"), "{stderr}");
    assert!(k.output(&bob(&["create", "rolebinding", "again", "--role=pod-reader", "--user=alice"])).await.0);
    assert!(
        k.output(&bob(&["create", "rolebinding", "viewers", "--clusterrole=view", "--user=alice"])).await.0,
        "bob may bind view"
    );
}
