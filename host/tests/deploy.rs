//! `deploy/` renders with kustomize and everything in it is accepted by the API server, with a
//! server-side dry run and for real.

mod common;

use std::path::Path;
use std::process::{Command, Output};

use weft_sim::{Sim, SimConfig};

fn kubectl(kubeconfig: &Path, args: &[&str]) -> Output {
    Command::new(common::kubectl()).arg("--kubeconfig").arg(kubeconfig).args(args).output().expect("kubectl runs")
}

fn ok(output: Output) -> String {
    assert!(output.status.success(), "kubectl failed: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deploy_renders_and_applies() {
    let deploy = Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy");
    let sim = Sim::start(SimConfig { listen: "127.0.0.1:0".parse().expect("addr"), ..Default::default() })
        .await
        .expect("sim");
    let dir = tempfile::tempdir().expect("tempdir");
    let kubeconfig = dir.path().join("kubeconfig");
    sim.write_kubeconfig(&kubeconfig).expect("kubeconfig");
    let deploy = deploy.to_str().expect("utf-8 path").to_owned();

    let rendered = tokio::task::spawn_blocking({
        let (kubeconfig, deploy) = (kubeconfig.clone(), deploy.clone());
        move || {
            let rendered = ok(kubectl(&kubeconfig, &["kustomize", &deploy]));
            let dry = ok(kubectl(&kubeconfig, &["apply", "--server-side", "--dry-run=server", "-k", &deploy]));
            assert!(dry.contains("(server dry run)"), "{dry}");
            ok(kubectl(&kubeconfig, &["apply", "--server-side", "-k", &deploy]));
            ok(kubectl(&kubeconfig, &["apply", "--server-side", "-f", &format!("{deploy}/examples")]));
            let deployment = ok(kubectl(
                &kubeconfig,
                &[
                    "get",
                    "deployment",
                    "weft",
                    "-n",
                    "weft-system",
                    "-o",
                    "jsonpath={.spec.template.spec.serviceAccountName}",
                ],
            ));
            assert_eq!(deployment, "weft");
            let crd = ok(kubectl(&kubeconfig, &["get", "crd", "plugins.weft.dev", "-o", "name"]));
            assert_eq!(crd.trim(), "customresourcedefinition.apiextensions.k8s.io/plugins.weft.dev");
            rendered
        }
    })
    .await
    .expect("kubectl steps");
    for kind in ["CustomResourceDefinition", "Namespace", "ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Role"]
    {
        assert!(rendered.contains(&format!("kind: {kind}\n")), "{kind} is rendered");
    }
    assert!(rendered.contains("readOnlyRootFilesystem: true"));
    assert!(rendered.contains("type: RuntimeDefault"));
    sim.stop().await;
}
