//! The kubeconfig that points kubectl and kube clients at an emulator.

/// A kubeconfig with one cluster (with its CA when serving TLS), one user with `token` (none if
/// empty), and context `weft-sim`.
pub fn render(server: &str, token: &str, ca_pem: Option<&str>) -> String {
    let ca = ca_pem.map_or(String::new(), |pem| {
        format!("    certificate-authority-data: {}\n", crate::base64::encode(pem.as_bytes()))
    });
    let user = if token.is_empty() { "  user: {}\n".to_owned() } else { format!("  user:\n    token: {token}\n") };
    format!(
        "apiVersion: v1
kind: Config
clusters:
- name: weft-sim
  cluster:
    server: {server}
{ca}users:
- name: weft-sim
{user}contexts:
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
