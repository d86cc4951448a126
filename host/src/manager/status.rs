//! A Plugin's status as a pure function of what the actor decided and what is running, so
//! conditions and their transition times are tested without a server.

use crate::crd::{PluginCondition, PluginStatus};

/// One condition's verdict.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Judgement {
    pub ok: bool,
    pub reason: &'static str,
    pub message: String,
}

impl Judgement {
    pub fn ok(reason: &'static str, message: impl Into<String>) -> Self {
        Self { ok: true, reason, message: message.into() }
    }

    pub fn not(reason: &'static str, message: impl Into<String>) -> Self {
        Self { ok: false, reason, message: message.into() }
    }
}

/// What bringing a plugin to its spec came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    pub ready: Judgement,
    /// The `Loaded` condition when it says something `Ready` does not (a new version that failed
    /// while the old one serves); otherwise it follows from what runs.
    pub loaded: Option<Judgement>,
}

impl From<Judgement> for Verdict {
    fn from(ready: Judgement) -> Self {
        Self { ready, loaded: None }
    }
}

/// What a running plugin reports, as of now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Running {
    pub digest: String,
    /// For `oci` modules: the pinned reference that runs.
    pub resolved_reference: Option<String>,
    /// `name version`, from `describe`.
    pub version: String,
    pub watched: Vec<String>,
    /// `None` when every watch is synced.
    pub watch_problem: Option<String>,
    /// It has released its compiled code after a quiet spell (until its next event).
    pub idle: bool,
    pub reconciles: u64,
    pub errors: u64,
    pub last_error: Option<String>,
}

/// The status to write. Conditions keep their `lastTransitionTime` while their status stays;
/// counters carry over from `previous` while nothing runs.
pub fn status(
    verdict: &Verdict,
    running: Option<&Running>,
    previous: &PluginStatus,
    generation: Option<i64>,
    host: Option<&str>,
    now: &str,
) -> PluginStatus {
    let condition = |type_: &str, judgement: &Judgement| {
        let status = if judgement.ok { "True" } else { "False" };
        let since = previous
            .conditions
            .iter()
            .find(|c| c.type_ == type_ && c.status == status)
            .map_or_else(|| now.to_owned(), |c| c.last_transition_time.clone());
        PluginCondition {
            type_: type_.into(),
            status: status.into(),
            reason: judgement.reason.into(),
            message: judgement.message.clone(),
            last_transition_time: since,
            observed_generation: generation,
        }
    };
    let loaded = verdict.loaded.clone().unwrap_or_else(|| match running {
        Some(r) => Judgement::ok("Loaded", format!("module {}", r.digest)),
        None => verdict.ready.clone(),
    });
    let watching = match running {
        None => Judgement::not("NotRunning", "no watches"),
        Some(Running { watch_problem: Some(problem), .. }) => Judgement::not("WatchFailing", problem.clone()),
        Some(_) => Judgement::ok("Synced", "every watch is synced"),
    };
    let idle = match running {
        None => Judgement::not("NotRunning", "nothing loaded"),
        Some(Running { idle: true, .. }) => {
            Judgement::ok("Evicted", "no recent work: compiled code released until the next event")
        }
        Some(_) => Judgement::not("Active", "compiled code loaded"),
    };
    PluginStatus {
        conditions: vec![
            condition("Ready", &verdict.ready),
            condition("Loaded", &loaded),
            condition("Watching", &watching),
            condition("Idle", &idle),
        ],
        observed_generation: generation,
        module_digest: running.map(|r| r.digest.clone()),
        resolved_reference: running.and_then(|r| r.resolved_reference.clone()),
        version: running.map(|r| r.version.clone()),
        watched: running.map(|r| r.watched.clone()).unwrap_or_default(),
        reconciles: running.map_or(previous.reconciles, |r| r.reconciles),
        errors: running.map_or(previous.errors, |r| r.errors),
        last_error: running.and_then(|r| r.last_error.clone()).or_else(|| previous.last_error.clone()),
        host: host.map(str::to_owned),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn running() -> Running {
        Running {
            digest: "ab".into(),
            resolved_reference: None,
            version: "hello 0.1.0".into(),
            watched: vec!["configmaps/v1".into()],
            watch_problem: None,
            idle: false,
            reconciles: 3,
            errors: 1,
            last_error: Some("ns/a: boom".into()),
        }
    }

    fn condition<'a>(status: &'a PluginStatus, type_: &str) -> &'a PluginCondition {
        status.conditions.iter().find(|c| c.type_ == type_).expect("condition")
    }

    #[test]
    fn a_running_plugin_is_ready_loaded_and_watching() {
        let verdict = Judgement::ok("Running", "hello 0.1.0 reconciling").into();
        let s = status(&verdict, Some(&running()), &PluginStatus::default(), Some(2), None, "t1");
        assert_eq!(condition(&s, "Ready").reason, "Running");
        assert_eq!(
            (condition(&s, "Loaded").status.as_str(), condition(&s, "Loaded").message.as_str()),
            ("True", "module ab")
        );
        assert_eq!(condition(&s, "Watching").reason, "Synced");
        assert_eq!((condition(&s, "Idle").status.as_str(), condition(&s, "Idle").reason.as_str()), ("False", "Active"));
        assert_eq!((s.reconciles, s.errors, s.observed_generation), (3, 1, Some(2)));
        assert!(s.conditions.iter().all(|c| c.last_transition_time == "t1" && c.observed_generation == Some(2)));
    }

    #[test]
    fn transition_times_move_only_when_a_condition_flips() {
        let ready: Verdict = Judgement::ok("Running", "ok").into();
        let first = status(&ready, Some(&running()), &PluginStatus::default(), Some(1), None, "t1");
        let again = status(&ready, Some(&running()), &first, Some(1), None, "t2");
        assert_eq!(condition(&again, "Ready").last_transition_time, "t1");
        let failing = Running { watch_problem: Some("fleets.examples.weft.dev/v1 is not served".into()), ..running() };
        let broken: Verdict = Judgement::not("WatchFailing", "not served").into();
        let flipped = status(&broken, Some(&failing), &again, Some(1), Some("replica-a"), "t3");
        assert_eq!(flipped.host.as_deref(), Some("replica-a"));
        assert_eq!(condition(&flipped, "Ready").last_transition_time, "t3");
        assert_eq!(condition(&flipped, "Watching").reason, "WatchFailing");
        assert_eq!(condition(&flipped, "Loaded").last_transition_time, "t1", "still loaded");
    }

    #[test]
    fn a_failed_upgrade_says_so_in_loaded_while_the_old_version_serves() {
        let verdict = Verdict {
            ready: Judgement::ok("Running", "ok"),
            loaded: Some(Judgement::not("LoadFailed", "not a WebAssembly file; still running 0.1.0 ab")),
        };
        let s = status(&verdict, Some(&running()), &PluginStatus::default(), Some(2), None, "t");
        assert_eq!(
            (condition(&s, "Ready").status.as_str(), condition(&s, "Loaded").status.as_str()),
            ("True", "False")
        );
    }

    #[test]
    fn an_idle_plugin_stays_ready_and_says_it_released_its_code() {
        let verdict = Judgement::ok("Running", "ok").into();
        let s =
            status(&verdict, Some(&Running { idle: true, ..running() }), &PluginStatus::default(), Some(1), None, "t");
        assert_eq!(condition(&s, "Ready").status, "True");
        assert_eq!((condition(&s, "Idle").status.as_str(), condition(&s, "Idle").reason.as_str()), ("True", "Evicted"));
    }

    #[test]
    fn counters_carry_over_while_nothing_runs() {
        let previous =
            PluginStatus { reconciles: 7, errors: 2, last_error: Some("old".into()), ..PluginStatus::default() };
        let verdict = Judgement::not("Suspended", "spec.suspend is true").into();
        let s = status(&verdict, None, &previous, Some(3), None, "t");
        assert_eq!((s.reconciles, s.errors, s.last_error.as_deref()), (7, 2, Some("old")));
        assert_eq!(condition(&s, "Loaded").reason, "Suspended", "Loaded follows Ready when nothing runs");
        assert_eq!(condition(&s, "Watching").reason, "NotRunning");
        assert!(s.module_digest.is_none() && s.watched.is_empty());
    }
}
