//! Guest stdout and stderr, turned into tracing events in the call's span (which names the plugin
//! and the object).

use std::collections::VecDeque;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use parking_lot::Mutex;
use tokio::io::AsyncWrite;
use wasmtime_wasi::async_trait;
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};
use wasmtime_wasi::p2::{OutputStream, Pollable, StreamResult};

/// One guest output stream (stdout or stderr) for one call. Complete lines become tracing events
/// as they are written; output past the byte budget is counted and dropped, never an error, so a
/// chatty plugin cannot trap on `println!` nor flood the host's log.
#[derive(Clone, Debug)]
pub(crate) struct GuestOutput(Arc<Mutex<Lines>>);

#[derive(Debug)]
struct Lines {
    stream: &'static str,
    partial: Vec<u8>,
    /// The last few lines, to explain a trap (a Rust panic message arrives on stderr).
    recent: VecDeque<String>,
    budget: usize,
    dropped: usize,
}

const RECENT_LINES: usize = 3;
const RECENT_LINE_CHARS: usize = 300;

impl GuestOutput {
    pub(crate) fn new(stream: &'static str, budget: usize) -> Self {
        Self(Arc::new(Mutex::new(Lines { stream, partial: Vec::new(), recent: VecDeque::new(), budget, dropped: 0 })))
    }

    /// The last lines written, joined with ` / `, skipping Rust's backtrace hint.
    pub(crate) fn tail(&self) -> Option<String> {
        let lines = self.0.lock();
        let partial = String::from_utf8_lossy(&lines.partial);
        let said: Vec<&str> = lines
            .recent
            .iter()
            .map(String::as_str)
            .chain(Some(partial.trim()))
            .filter(|line| !line.is_empty() && !line.starts_with("note: run with `RUST_BACKTRACE"))
            .collect();
        (!said.is_empty()).then(|| said.join(" / "))
    }

    fn write(&self, bytes: &[u8]) {
        self.0.lock().write(bytes);
    }
}

impl Lines {
    fn write(&mut self, bytes: &[u8]) {
        let taken = bytes.len().min(self.budget);
        self.budget -= taken;
        self.dropped += bytes.len() - taken;
        let mut rest = &bytes[..taken];
        while let Some(newline) = rest.iter().position(|b| *b == b'\n') {
            self.partial.extend_from_slice(&rest[..newline]);
            self.emit();
            rest = &rest[newline + 1..];
        }
        self.partial.extend_from_slice(rest);
    }

    fn emit(&mut self) {
        let line = String::from_utf8_lossy(&self.partial);
        let line = line.trim_end_matches('\r');
        if line.is_empty() {
            self.partial.clear();
            return;
        }
        tracing::info!(target: "weft::plugin", stream = self.stream, "{line}");
        if self.recent.len() == RECENT_LINES {
            self.recent.pop_front();
        }
        self.recent.push_back(line.chars().take(RECENT_LINE_CHARS).collect());
        self.partial.clear();
    }
}

impl Drop for Lines {
    fn drop(&mut self) {
        if !self.partial.is_empty() {
            self.emit();
        }
        if self.dropped > 0 {
            tracing::warn!(
                target: "weft::plugin",
                stream = self.stream,
                dropped_bytes = self.dropped,
                "plugin output over the per-call limit was dropped"
            );
        }
    }
}

impl IsTerminal for GuestOutput {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for GuestOutput {
    fn p2_stream(&self) -> Box<dyn OutputStream> {
        Box::new(self.clone())
    }

    fn async_stream(&self) -> Box<dyn AsyncWrite + Send + Sync> {
        Box::new(self.clone())
    }
}

/// Accepts everything at once: writes never block the guest.
const WRITE_WINDOW: usize = 64 * 1024;

impl OutputStream for GuestOutput {
    fn write(&mut self, bytes: Bytes) -> StreamResult<()> {
        GuestOutput::write(self, &bytes);
        Ok(())
    }

    fn flush(&mut self) -> StreamResult<()> {
        Ok(())
    }

    fn check_write(&mut self) -> StreamResult<usize> {
        Ok(WRITE_WINDOW)
    }
}

#[async_trait]
impl Pollable for GuestOutput {
    async fn ready(&mut self) {}
}

impl AsyncWrite for GuestOutput {
    fn poll_write(self: Pin<&mut Self>, _cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        GuestOutput::write(&self, buf);
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}
