//! `weft check`: load a plugin file the way the host does and say what it declares.

use std::fmt::Write as _;
use std::path::Path;

use crate::gzip;
use crate::producers::{self, Toolchain};
use crate::runtime::bindings::{RelatedMapping, Watch};
use crate::runtime::{Digest, Module, Runtime};

/// Loads `path` (decompressing it when it is gzip, as the host does) and describes it, or
/// returns one line saying why it is not a usable plugin.
pub fn check(runtime: &Runtime, path: &Path) -> Result<String, String> {
    let stored = std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let compressed = gzip::is_gzip(&stored)
        .then(|| format!("gzip, {} bytes, sha256 {} (spec.sha256 may name either)", stored.len(), Digest::of(&stored)));
    let bytes = gzip::decompress(stored).map_err(|e| gzip::chain(&e))?;
    let module = runtime.load(&bytes).map_err(|e| e.to_string())?;
    Ok(report(path, &module, compressed.as_deref(), &producers::toolchain(&bytes)))
}

fn report(path: &Path, module: &Module, compressed: Option<&str>, toolchain: &Toolchain) -> String {
    let d = module.description();
    let mut out = String::new();
    let mut line = |label: &str, value: &str| {
        let _ = writeln!(out, "  {label:<12} {value}");
    };
    let header = format!("{}: weft plugin {} {}", path.display(), d.name, d.version);
    line("module", &format!("{}, {} bytes, sha256 {}", module.kind(), module.size(), module.digest()));
    if let Some(compressed) = compressed {
        line("compressed", compressed);
    }
    line("toolchain", &toolchain.to_string());
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
