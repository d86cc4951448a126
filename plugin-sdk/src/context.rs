//! What a reconcile knows besides the object: why it runs, the plugin's configuration, events.

use crate::bindings::weft::plugin::{cluster, types};
use crate::object::{Object, ObjectRef};

/// Why the host called the plugin.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trigger {
    /// The primary was added to the cache (created, or seen for the first time).
    Added,
    /// The primary changed.
    Modified,
    /// An object the primary owns changed.
    OwnedChanged,
    /// A related object changed.
    RelatedChanged,
    /// The plugin asked to be called again.
    Requeued,
    /// A failed reconcile is retried.
    Retry,
    /// Periodic resync, or a new plugin version or configuration.
    Resync,
}

impl Trigger {
    pub(crate) fn from_wit(t: types::Trigger) -> Self {
        match t {
            types::Trigger::Added => Self::Added,
            types::Trigger::Modified => Self::Modified,
            types::Trigger::OwnedChanged => Self::OwnedChanged,
            types::Trigger::RelatedChanged => Self::RelatedChanged,
            types::Trigger::Requeued => Self::Requeued,
            types::Trigger::Retry => Self::Retry,
            types::Trigger::Resync => Self::Resync,
        }
    }
}

/// The severity of a Kubernetes Event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventType {
    Normal,
    Warning,
}

/// Everything a call receives besides its object.
#[derive(Debug)]
pub struct Context<C> {
    config: C,
    trigger: Trigger,
    object: ObjectRef,
}

impl<C> Context<C> {
    pub(crate) fn new(config: C, trigger: Trigger, object: ObjectRef) -> Self {
        Self { config, trigger, object }
    }

    /// The plugin's configuration, from `spec.config` of its Plugin.
    pub fn config(&self) -> &C {
        &self.config
    }

    pub fn trigger(&self) -> Trigger {
        self.trigger
    }

    /// The object this call is about.
    pub fn object_ref(&self) -> &ObjectRef {
        &self.object
    }

    /// Records a Kubernetes Event about `regarding`. `reason` is UpperCamelCase, such as
    /// `Mirrored`; `note` is for people.
    pub fn record_event<K: Object>(&self, regarding: &K, kind: EventType, reason: &str, note: &str) {
        let event = types::Event {
            type_: match kind {
                EventType::Normal => types::EventType::Normal,
                EventType::Warning => types::EventType::Warning,
            },
            reason: reason.to_owned(),
            note: note.to_owned(),
        };
        cluster::record_event(&regarding.object_ref().into_wit(), &event);
    }
}
