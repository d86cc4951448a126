//! Compiling in a child process: the host runs its own program as `weft compile`, hands it the
//! module on stdin, and the child writes the compiled module into the disk cache, where the host
//! maps it from. The child's memory (the compiler's, which an allocator would keep in the host
//! long after) is all returned when it exits, and a compiler that crashes or is killed for its
//! memory fails one load with a clear error instead of taking the host down.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

use super::engine::EngineConfig;
use super::error::LoadError;

/// What the compiler process prints last on success: its peak resident memory, in bytes.
pub const PEAK_LINE: &str = "compiler peak bytes";

/// Compiles `bytes` in a child running `program compile`, into `cache_dir`.
pub(crate) fn compile(program: &Path, engine: &EngineConfig, cache_dir: &Path, bytes: &[u8]) -> Result<(), LoadError> {
    let failed = |what: String| LoadError::Compile(format!("the compiler process {what}"));
    let started = Instant::now();
    let engine = serde_json::to_string(engine).map_err(|e| failed(format!("got no settings: {e}")))?;
    let mut child = Command::new(program)
        .args(["compile", "--engine", &engine, "--cache-dir"])
        .arg(cache_dir)
        .arg("-")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| failed(format!("did not start ({}): {e}", program.display())))?;
    // A child that stops reading has failed, and its stderr says why better than a broken pipe.
    if let Some(mut stdin) = child.stdin.take() {
        let _ = stdin.write_all(bytes);
    }
    let output = child.wait_with_output().map_err(|e| failed(format!("was lost: {e}")))?;
    if !output.status.success() {
        let said = String::from_utf8_lossy(&output.stderr);
        let said = said.lines().last().unwrap_or("").trim();
        return Err(failed(format!("failed ({}): {said}", output.status)));
    }
    let peak = String::from_utf8_lossy(&output.stdout)
        .lines()
        .find_map(|line| line.strip_prefix(PEAK_LINE)?.trim().parse::<u64>().ok())
        .unwrap_or_default();
    tracing::info!(took = ?started.elapsed(), compiler_peak_mib = peak >> 20, "compiled in a child process");
    Ok(())
}

/// This process's peak resident memory, for the compiler process to report.
pub fn peak_resident_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|rest| rest.split_whitespace().next()?.parse::<u64>().ok())
        .map_or(0, |kib| kib * 1024)
}
