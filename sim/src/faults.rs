//! Faults tests can inject: failing requests with a chosen status, and added latency.
//! Closing watches and compacting history live on [`crate::Store`].

use std::time::Duration;

use parking_lot::Mutex;

use crate::error::ApiError;
use crate::registry::GroupResource;

#[derive(Debug)]
struct FailRule {
    resource: Option<GroupResource>,
    remaining: u32,
    code: u16,
    message: String,
}

/// Injected faults, consulted by every resource request.
#[derive(Debug, Default)]
pub struct Faults {
    rules: Mutex<Vec<FailRule>>,
    latency: Mutex<Duration>,
}

impl Faults {
    /// The next `count` requests to `resource` (any resource if `None`) fail with HTTP `code`.
    pub fn fail_next(&self, resource: Option<GroupResource>, count: u32, code: u16, message: impl Into<String>) {
        self.rules.lock().push(FailRule { resource, remaining: count, code, message: message.into() });
    }

    /// Delay every resource request by `latency` (zero to stop).
    pub fn set_latency(&self, latency: Duration) {
        *self.latency.lock() = latency;
    }

    pub fn latency(&self) -> Duration {
        *self.latency.lock()
    }

    /// Removes every injected failure and the latency.
    pub fn clear(&self) {
        self.rules.lock().clear();
        self.set_latency(Duration::ZERO);
    }

    /// The injected error for a request to `resource`, consuming one failure.
    pub fn take(&self, resource: &GroupResource) -> Option<ApiError> {
        let mut rules = self.rules.lock();
        let index = rules.iter().position(|r| r.remaining > 0 && r.resource.as_ref().is_none_or(|g| g == resource))?;
        let rule = &mut rules[index];
        rule.remaining -= 1;
        let err = ApiError::Injected { code: rule.code, message: rule.message.clone() };
        if rule.remaining == 0 {
            rules.remove(index);
        }
        Some(err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_are_consumed_per_resource() {
        let faults = Faults::default();
        let cm = GroupResource::new("", "configmaps");
        faults.fail_next(Some(cm.clone()), 2, 503, "down");
        assert!(faults.take(&GroupResource::new("", "secrets")).is_none());
        assert_eq!(faults.take(&cm).map(|e| e.status_code().as_u16()), Some(503));
        assert!(faults.take(&cm).is_some());
        assert!(faults.take(&cm).is_none());
    }
}
