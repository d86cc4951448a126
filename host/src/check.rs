//! `weft check`: load a plugin file, or a module pushed to a registry, the way the host does and
//! say what it declares.

use std::fmt::Write as _;
use std::path::Path;

use crate::gzip;
use crate::oci::{self, OciConfig, Reference, RegistryClient};
use crate::producers;
use crate::runtime::bindings::{RelatedMapping, Watch};
use crate::runtime::{Digest, Module, Runtime};

/// Loads `path` (decompressing it when it is gzip, as the host does) and describes it, or
/// returns one line saying why it is not a usable plugin.
pub fn check(runtime: &Runtime, path: &Path) -> Result<String, String> {
    let stored = std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let mut extra = Vec::new();
    if gzip::is_gzip(&stored) {
        let stored_digest = Digest::of(&stored);
        extra.push((
            "compressed",
            format!("gzip, {} bytes, sha256 {stored_digest} (spec.sha256 may name either)", stored.len()),
        ));
    }
    let bytes = gzip::decompress(stored).map_err(|e| gzip::chain(&e))?;
    let module = runtime.load(&bytes).map_err(|e| e.to_string())?;
    extra.push(("toolchain", producers::toolchain(&bytes).to_string()));
    Ok(report(&path.display().to_string(), &module, &extra))
}

/// Pulls `reference` as the host would (requiring a signature by each of `config`'s keys, with
/// credentials from the Docker config file `authfile` or the default one), loads it and describes
/// it, or returns one line saying why it is not usable. This blocks.
pub fn check_oci(
    runtime: &Runtime,
    reference: &str,
    config: &OciConfig,
    authfile: Option<&Path>,
) -> Result<String, String> {
    let parsed: Reference = reference.parse().map_err(|e: oci::Error| e.to_string())?;
    let credentials = oci::credentials_from_file(authfile, &parsed.registry).map_err(|e| e.to_string())?;
    let pull = async {
        let client = RegistryClient::new(&parsed.registry, parsed.endpoint(), credentials, config)?;
        oci::pull::pull(&client, &parsed, &config.required_keys).await
    };
    let tokio = tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(|e| e.to_string())?;
    let pulled = tokio.block_on(pull).map_err(|e| format!("{}: {e}", e.reason()))?;
    let bytes = gzip::decompress(pulled.bytes).map_err(|e| gzip::chain(&e))?;
    let module = runtime.load(&bytes).map_err(|e| e.to_string())?;
    let mut extra = vec![("resolved", pulled.resolved.to_string()), ("layer", pulled.layer.media_type.clone())];
    let keys: Vec<String> = config.required_keys.iter().map(oci::CosignKey::fingerprint).collect();
    if !keys.is_empty() {
        extra.push(("signature", format!("verified: signed by {}", keys.join(", "))));
    }
    extra.push(("toolchain", producers::toolchain(&bytes).to_string()));
    Ok(report(&format!("oci://{reference}"), &module, &extra))
}

fn report(label: &str, module: &Module, extra: &[(&str, String)]) -> String {
    let d = module.description();
    let mut out = String::new();
    let mut line = |label: &str, value: &str| {
        let _ = writeln!(out, "  {label:<12} {value}");
    };
    let header = format!("{label}: weft plugin {} {}", d.name, d.version);
    line("module", &format!("{}, {} bytes, sha256 {}", module.kind(), module.size(), module.digest()));
    for (label, value) in extra {
        line(label, value);
    }
    line("reconciles", &watch(&d.primary));
    let owns: Vec<String> = d.owns.iter().map(watch).collect();
    line("owns", &list(&owns));
    let related: Vec<String> = d
        .related
        .iter()
        .map(|r| match &r.mapping {
            RelatedMapping::ByFunction => format!("{}, mapped by map-related", watch(&r.watch)),
            RelatedMapping::ByLabel(label) => format!("{}, mapped by label {label}", watch(&r.watch)),
        })
        .collect();
    line("related", &list(&related));
    let permissions: Vec<String> = d
        .permissions
        .iter()
        .map(|rule| {
            let groups: Vec<&str> =
                rule.api_groups.iter().map(|g| if g.is_empty() { "core" } else { g.as_str() }).collect();
            format!("{} {} (group {})", rule.verbs.join(","), rule.resources.join(","), groups.join(","))
        })
        .collect();
    line("permissions", &list(&permissions));
    line("finalizer", d.finalizer.as_deref().unwrap_or("none"));
    line("on status", if d.reconcile_on_status_change { "reconciles" } else { "ignored (status-only changes)" });
    format!("{header}\n{out}")
}

fn watch(w: &Watch) -> String {
    let api = &w.api;
    let scope = if api.namespaced { "namespaced" } else { "cluster" };
    let mut s = format!("{} ({} {}, {scope})", api.plural, api.api_version(), api.kind);
    if let Some(selector) = &w.label_selector {
        let _ = write!(s, " selector {selector}");
    }
    s
}

fn list(items: &[String]) -> String {
    if items.is_empty() { "none".to_owned() } else { items.join("; ") }
}
