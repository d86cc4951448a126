//! Prometheus metrics in the text exposition format, gathered from the host on each scrape.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use crate::controller::{InformerKey, Stats, resource_name};
use crate::histogram::Histogram;
use crate::shard::ShardStats;

/// What one scrape reports, read from the host.
#[derive(Debug)]
pub struct Snapshot<'a> {
    /// Plugins reconciling now, with their counters.
    pub running: Vec<(String, Arc<Stats>)>,
    pub informers: Vec<(InformerKey, usize)>,
    /// Lifecycle transitions by plugin and kind (`load`, `swap`, `unload`, `failure`).
    pub lifecycle: BTreeMap<(String, &'static str), u64>,
    pub load_duration: &'a Histogram,
    pub wasm_memory: u64,
    /// Sharding counters, when this replica runs sharded.
    pub shard: Option<&'a ShardStats>,
}

/// A per-plugin series: name, help, and how to read it from the plugin's counters.
type PluginSeries = (&'static str, &'static str, fn(&Stats) -> u64);

/// Every metric, in the Prometheus text format.
pub fn render(snapshot: &Snapshot<'_>) -> String {
    let mut e = Exposition::default();
    let running = &snapshot.running;
    e.family("weft_plugins_running", "gauge", "Plugins reconciling now.");
    e.sample("weft_plugins_running", &[], running.len());
    e.family("weft_reconciles_total", "counter", "Reconcile and cleanup calls by result.");
    for (name, stats) in running {
        for (result, count) in stats.by_result() {
            e.sample("weft_reconciles_total", &[("plugin", name), ("result", result)], count);
        }
    }
    e.family("weft_reconcile_duration_seconds", "histogram", "Time of one reconcile or cleanup call.");
    for (name, stats) in running {
        e.histogram("weft_reconcile_duration_seconds", &[("plugin", name)], &stats.duration);
    }
    let per_plugin: [PluginSeries; 4] = [
        ("weft_queue_depth", "Keys waiting or being reconciled.", |s| s.queue_depth.load(Ordering::Relaxed)),
        ("weft_retries_total", "Keys queued again after a failure.", |s| s.retries.load(Ordering::Relaxed)),
        ("weft_wasm_traps_total", "Calls that trapped, including memory and fuel limits.", |s| {
            s.traps.load(Ordering::Relaxed)
        }),
        ("weft_wasm_deadline_kills_total", "Calls stopped at their deadline.", |s| {
            s.deadline_kills.load(Ordering::Relaxed)
        }),
    ];
    for (metric, help, value) in per_plugin {
        let kind = if metric.ends_with("_total") { "counter" } else { "gauge" };
        e.family(metric, kind, help);
        for (name, stats) in running {
            e.sample(metric, &[("plugin", name)], value(stats));
        }
    }
    e.family("weft_informers_active", "gauge", "Shared watches running now.");
    e.sample("weft_informers_active", &[], snapshot.informers.len());
    e.family("weft_informer_cached_objects", "gauge", "Objects in each shared cache.");
    for (key, cached) in &snapshot.informers {
        let namespace = key.namespace.as_deref().unwrap_or("");
        let resource = resource_name(&key.api);
        e.sample("weft_informer_cached_objects", &[("resource", &resource), ("namespace", namespace)], cached);
    }
    e.family("weft_wasm_memory_bytes", "gauge", "Linear memory of the plugin instances alive now.");
    e.sample("weft_wasm_memory_bytes", &[], snapshot.wasm_memory);
    e.family("weft_plugin_lifecycle_total", "counter", "Plugin loads, swaps, unloads and load failures.");
    for ((name, kind), count) in &snapshot.lifecycle {
        e.sample("weft_plugin_lifecycle_total", &[("plugin", name), ("event", kind)], count);
    }
    e.family("weft_plugin_load_duration_seconds", "histogram", "Time to fetch, compile and start a plugin.");
    e.histogram("weft_plugin_load_duration_seconds", &[], snapshot.load_duration);
    if let Some(shard) = snapshot.shard {
        let read = |counter: &std::sync::atomic::AtomicU64| counter.load(Ordering::Relaxed);
        e.family("weft_shard_buckets_held", "gauge", "Buckets whose plugins this replica runs.");
        e.sample("weft_shard_buckets_held", &[], read(&shard.buckets_held));
        e.family("weft_shard_members", "gauge", "Live replicas, as this one sees them.");
        e.sample("weft_shard_members", &[], read(&shard.members));
        e.family("weft_shard_handovers_total", "counter", "Buckets taken, handed over and lost by this replica.");
        for (event, counter) in [("acquired", &shard.acquired), ("released", &shard.released), ("lost", &shard.lost)] {
            e.sample("weft_shard_handovers_total", &[("event", event)], read(counter));
        }
    }
    e.finish()
}

/// Builds one exposition: `HELP` and `TYPE` once per metric, then its samples.
#[derive(Debug, Default)]
struct Exposition {
    out: String,
}

impl Exposition {
    fn family(&mut self, name: &str, kind: &str, help: &str) {
        let _ = writeln!(self.out, "# HELP {name} {help}");
        let _ = writeln!(self.out, "# TYPE {name} {kind}");
    }

    fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: impl std::fmt::Display) {
        let _ = writeln!(self.out, "{name}{} {value}", render_labels(labels));
    }

    fn histogram(&mut self, name: &str, labels: &[(&str, &str)], histogram: &Histogram) {
        let rendered = render_labels(labels);
        let inner = rendered.trim_start_matches('{').trim_end_matches('}');
        histogram.render(&mut self.out, name, inner);
    }

    fn finish(self) -> String {
        self.out
    }
}

fn render_labels(labels: &[(&str, &str)]) -> String {
    if labels.is_empty() {
        return String::new();
    }
    let pairs: Vec<String> = labels.iter().map(|(k, v)| format!("{k}=\"{}\"", escape(v))).collect();
    format!("{{{}}}", pairs.join(","))
}

fn escape(value: &str) -> String {
    value.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn histograms_are_cumulative_with_sum_and_count() {
        let h = Histogram::default();
        h.observe(Duration::from_micros(50));
        h.observe(Duration::from_millis(3));
        h.observe(Duration::from_secs(60));
        let mut e = Exposition::default();
        e.family("x_seconds", "histogram", "test");
        e.histogram("x_seconds", &[("plugin", "a\"b")], &h);
        let text = e.finish();
        assert!(text.contains("x_seconds_bucket{plugin=\"a\\\"b\",le=\"0.0001\"} 1\n"), "{text}");
        assert!(text.contains("x_seconds_bucket{plugin=\"a\\\"b\",le=\"0.005\"} 2\n"), "{text}");
        assert!(text.contains("x_seconds_bucket{plugin=\"a\\\"b\",le=\"+Inf\"} 3\n"), "{text}");
        assert!(text.contains("x_seconds_count{plugin=\"a\\\"b\"} 3\n"), "{text}");
    }
}
