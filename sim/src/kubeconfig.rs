//! The kubeconfig that points kubectl and kube clients at an emulator.

/// A kubeconfig with one cluster, one user with the admin token, and context `weft-sim`.
pub fn render(server: &str, token: &str) -> String {
    format!(
        "apiVersion: v1
kind: Config
clusters:
- name: weft-sim
  cluster:
    server: {server}
users:
- name: weft-sim
  user:
    token: {token}
contexts:
- name: weft-sim
  context:
    cluster: weft-sim
    user: weft-sim
    namespace: default
current-context: weft-sim
preferences: {{}}
"
    )
}
