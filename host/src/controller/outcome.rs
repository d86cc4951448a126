//! What one reconcile or cleanup call came to, built once from the blocking call's result; retry,
//! requeue and the counters all read it.

use std::time::Duration;

use tokio::task::JoinError;

use crate::runtime::{Action, CallError, CallResult, Failure};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Nothing more to do until something changes.
    Done,
    /// The plugin asked to be called again after this long.
    Requeue(Duration),
    /// The plugin failed and wants a retry (with backoff).
    Transient(String),
    /// The plugin failed and wants no retry until the object or the plugin changes.
    Permanent(String),
    /// The call did not return: it broke a limit or crashed, or the host could not run it.
    Fault(Fault),
}

/// Why a call did not return, as the counters tell them apart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// The plugin trapped (including its memory and fuel limits).
    Trap(String),
    /// The plugin ran past its deadline.
    Deadline(String),
    /// The host could not run the call (instantiation, an oversized object, a lost task).
    Host(String),
}

impl Fault {
    pub fn message(&self) -> &str {
        match self {
            Self::Trap(message) | Self::Deadline(message) | Self::Host(message) => message,
        }
    }
}

impl From<CallError> for Fault {
    fn from(error: CallError) -> Self {
        let message = error.to_string();
        match error {
            CallError::Deadline(_) => Self::Deadline(message),
            CallError::Instantiate(_) | CallError::Reload(_) | CallError::ObjectTooLarge { .. } => Self::Host(message),
            CallError::Trap(_) | CallError::MemoryLimit { .. } | CallError::OutOfFuel(_) => Self::Trap(message),
        }
    }
}

/// What a reconcile or cleanup call returns.
pub type ReconcileResult = CallResult<Result<Action, Failure>>;

/// The result of a reconcile or cleanup run on a blocking thread.
pub type CallOutput = Result<ReconcileResult, JoinError>;

impl From<CallOutput> for Outcome {
    fn from(output: CallOutput) -> Self {
        match output {
            Ok(Ok(Ok(Action::Done))) => Self::Done,
            Ok(Ok(Ok(Action::RequeueAfter(ms)))) => Self::Requeue(Duration::from_millis(ms)),
            Ok(Ok(Err(Failure::Transient(message)))) => Self::Transient(message),
            Ok(Ok(Err(Failure::Permanent(message)))) => Self::Permanent(message),
            Ok(Err(error)) => Self::Fault(error.into()),
            Err(join) => Self::Fault(Fault::Host(join.to_string())),
        }
    }
}

impl Outcome {
    /// Every value of [`label`](Self::label), in exposition order.
    pub const LABELS: [&'static str; 5] = ["done", "requeue", "transient_error", "permanent_error", "fault"];

    /// This outcome's place in [`LABELS`](Self::LABELS).
    pub fn index(&self) -> usize {
        match self {
            Self::Done => 0,
            Self::Requeue(_) => 1,
            Self::Transient(_) => 2,
            Self::Permanent(_) => 3,
            Self::Fault(_) => 4,
        }
    }

    /// The `result` label of `weft_reconciles_total`.
    pub fn label(&self) -> &'static str {
        Self::LABELS[self.index()]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn call_results_become_one_outcome() {
        assert_eq!(Outcome::from(Ok(Ok(Ok(Action::Done)))), Outcome::Done);
        assert_eq!(
            Outcome::from(Ok(Ok(Ok(Action::RequeueAfter(1500))))),
            Outcome::Requeue(Duration::from_millis(1500))
        );
        assert_eq!(Outcome::from(Ok(Ok(Err(Failure::Permanent("no".into()))))), Outcome::Permanent("no".into()));
        let deadline = Outcome::from(Ok(Err(CallError::Deadline(Duration::from_secs(1)))));
        assert!(matches!(deadline, Outcome::Fault(Fault::Deadline(_))), "{deadline:?}");
        let memory = Outcome::from(Ok(Err(CallError::MemoryLimit { limit: 1 })));
        assert!(matches!(memory, Outcome::Fault(Fault::Trap(_))), "{memory:?}");
        let host = Outcome::from(Ok(Err(CallError::Instantiate("pool".into()))));
        assert!(matches!(host, Outcome::Fault(Fault::Host(_))), "{host:?}");
    }
}
