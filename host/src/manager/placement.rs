//! Which Plugins this host runs: all of them, or (sharded) those whose bucket it holds. When the
//! placement changes, actors of the Plugins that left stop, and [`Host::quiesced`] says when
//! they have, so that a bucket is handed over only once nothing of it runs here any more.

use std::collections::BTreeSet;

use super::Host;
use crate::shard::bucket_of;

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Placement {
    /// Every Plugin.
    #[default]
    All,
    /// The Plugins in these of `shards` buckets.
    Buckets { shards: u32, held: BTreeSet<u32> },
}

impl Placement {
    pub fn runs(&self, plugin: &str) -> bool {
        match self {
            Self::All => true,
            Self::Buckets { shards, held } => held.contains(&bucket_of(plugin, *shards)),
        }
    }
}

impl Host {
    /// Runs only what `placement` places here from now on; Plugins that leave are stopped.
    pub fn set_placement(&self, placement: Placement) {
        self.inner.placement.send_if_modified(|current| {
            let changed = *current != placement;
            *current = placement;
            changed
        });
    }

    /// The names of every Plugin this host knows of, whether it runs them or not.
    pub fn plugin_names(&self) -> Vec<String> {
        self.inner.known.lock().keys().cloned().collect()
    }

    /// Waits until no actor runs a Plugin the current placement leaves out (each stops its
    /// plugin, in-flight reconciles finishing within the grace period, then exits).
    pub async fn quiesced(&self) {
        loop {
            let changed = self.inner.actor_exited.notified();
            let placement = self.inner.placement.borrow().clone();
            if self.inner.alive.lock().keys().all(|name| placement.runs(name)) {
                return;
            }
            changed.await;
        }
    }

    /// Starts, updates or stops the actor of `name` as the placement and the Plugin say.
    pub(super) fn place(&self, name: &str) {
        let plugin = self.inner.known.lock().get(name).cloned();
        let placed = plugin.filter(|_| self.inner.placement.borrow().runs(name));
        self.desire(name.to_owned(), placed);
    }
}
