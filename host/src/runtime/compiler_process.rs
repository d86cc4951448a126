//! Compiling in a child process: the host runs its own program as `weft compile`, hands it the
//! module on stdin, and the child writes the compiled module into the disk cache, where the host
//! maps it from. The child's memory (the compiler's, which an allocator would keep in the host
//! long after) is all returned when it exits, and a compiler that crashes or is killed for its
//! memory fails one load with a clear error instead of taking the host down.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use super::engine::EngineConfig;
use super::error::LoadError;
use super::{Runtime, RuntimeConfig};

/// What the compiler process prints last: its peak resident memory, in bytes.
const PEAK_LINE: &str = "compiler peak bytes";

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

/// The child's side, `weft compile`: compiles each of `files` (`-` for stdin) into `cache_dir`
/// at a lower priority, says on stdout what went where and on stderr what failed, and ends with
/// its peak memory. Whether every file compiled.
pub fn compile_into_cache(files: &[PathBuf], engine: EngineConfig, cache_dir: PathBuf) -> anyhow::Result<bool> {
    super::priority::lower_this_thread();
    let config = RuntimeConfig { engine, cache_dir: Some(cache_dir.clone()), ..Default::default() };
    let runtime = Runtime::new(config)?;
    let mut ok = true;
    for file in files {
        let bytes = if file.as_os_str() == "-" {
            let mut bytes = Vec::new();
            std::io::stdin().read_to_end(&mut bytes).map(|_| bytes)
        } else {
            std::fs::read(file)
        };
        let compiled = bytes.map_err(|e| e.to_string()).and_then(|b| runtime.precompile(&b).map_err(|e| e.to_string()));
        match compiled {
            Ok(digest) => println!("{}: compiled into {} (sha256 {digest})", file.display(), cache_dir.display()),
            Err(reason) => {
                ok = false;
                eprintln!("{}: {reason}", file.display());
            }
        }
    }
    println!("{PEAK_LINE} {}", peak_resident_bytes());
    Ok(ok)
}

/// This process's peak resident memory.
fn peak_resident_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|rest| rest.split_whitespace().next()?.parse::<u64>().ok())
        .map_or(0, |kib| kib * 1024)
}
