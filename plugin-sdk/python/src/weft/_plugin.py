"""A plugin: its description, configuration and callbacks, and how they meet the WIT exports."""

import dataclasses
import enum
import inspect
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from componentize_py_types import Err
from wit_world import exports
from wit_world.imports import cluster
from wit_world.imports import types as wit

from ._api import ApiError, ErrorKind
from ._describe import Description
from ._objects import Object, ObjectRef


class Transient(Exception):
    """Raise to fail a reconcile that is worth retrying; the host backs off exponentially."""


class Permanent(Exception):
    """Raise to fail a reconcile that will fail again until the object or the plugin changes."""


@dataclass(frozen=True)
class RequeueAfter:
    """Return from a reconcile to be called again after ``seconds``."""

    seconds: float


type Action = RequeueAfter | None
"""What a reconcile returns: None when done until something changes, or RequeueAfter."""


class Trigger(enum.Enum):
    """Why the host called the plugin."""

    ADDED = "added"
    MODIFIED = "modified"
    OWNED_CHANGED = "owned-changed"
    RELATED_CHANGED = "related-changed"
    REQUEUED = "requeued"
    RETRY = "retry"
    RESYNC = "resync"


_TRIGGERS = dict(zip(wit.Trigger, Trigger, strict=True))


class EventType(enum.Enum):
    NORMAL = "Normal"
    WARNING = "Warning"


@dataclass(frozen=True)
class Context[C]:
    """What a call receives besides its object."""

    config: C
    """The plugin's configuration: spec.config of its Plugin, over the defaults."""
    trigger: Trigger
    object: ObjectRef
    """The object the call is about."""

    def record_event(self, regarding: Object | ObjectRef, type: EventType, reason: str, note: str) -> None:
        """Records a Kubernetes Event about ``regarding``. ``reason`` is UpperCamelCase, such as
        ``Mirrored``; ``note`` is for people."""
        ref = regarding.ref if isinstance(regarding, Object) else regarding
        kind = wit.EventType.NORMAL if type is EventType.NORMAL else wit.EventType.WARNING
        cluster.record_event(_ref_to_wit(ref), wit.Event(kind, reason, note))


type Call[C] = Callable[[Object, Context[C]], Action]
type MapCall[C] = Callable[[Object, Context[C]], list[ObjectRef]]


class Plugin[C]:
    """A reconciler. Register callbacks with the decorators and export the plugin from the app
    module with ``Controller = plugin.controller()``.

    ``config`` gives the defaults: a dataclass type (the Plugin's spec.config fills the fields it
    names; unknown keys are ignored), a dict (spec.config is merged over it), or None for the
    spec.config dict as it is.
    """

    def __init__(self, description: Description, config: type[C] | C | None = None) -> None:
        self.description = description
        self.config = config
        self._reconcile: Call[C] | None = None
        self._cleanup: Call[C] | None = None
        self._map_related: MapCall[C] | None = None

    def reconcile(self, fn: Call[C]) -> Call[C]:
        """Brings the cluster in line with a primary object. Runs for every change, so it must be
        idempotent. An exception fails the reconcile: :class:`Permanent` waits for a change,
        anything else is retried with backoff (an :class:`ApiError` that is forbidden or invalid
        counts as permanent)."""
        self._reconcile = fn
        return fn

    def cleanup(self, fn: Call[C]) -> Call[C]:
        """Runs when a primary carrying the plugin's finalizer is being deleted; returning None
        lets the host remove the finalizer."""
        self._cleanup = fn
        return fn

    def map_related(self, fn: MapCall[C]) -> MapCall[C]:
        """Returns the primaries a change of a related object concerns."""
        self._map_related = fn
        return fn

    def controller(self) -> type:
        """The class componentize-py exports; bind it to the name ``Controller`` in the app
        module."""
        plugin = self

        class Controller(exports.Controller):
            def describe(self) -> wit.Description:
                return plugin.description._description

            def reconcile(self, request: wit.Request) -> wit.Action:
                return plugin._call(plugin._reconcile, request)

            def cleanup(self, request: wit.Request) -> wit.Action:
                return plugin._call(plugin._cleanup, request)

            def map_related(self, request: wit.Request) -> list[wit.ObjectRef]:
                return plugin._map(request)

        return Controller

    def _context(self, request: wit.Request) -> Context[C]:
        ref = ObjectRef(
            request.object.api_version, request.object.kind, request.object.namespace, request.object.name
        )
        return Context(self._config(request.config), _TRIGGERS[request.reason], ref)

    def _config(self, text: str) -> Any:
        try:
            given = json.loads(text) if text.strip() else {}
        except json.JSONDecodeError as e:
            raise Permanent(f"invalid plugin config: {e}") from None
        if given is None:
            given = {}
        if not isinstance(given, dict):
            raise Permanent("invalid plugin config: not a JSON object")
        defaults = self.config
        if isinstance(defaults, type) and dataclasses.is_dataclass(defaults):
            names = {f.name for f in dataclasses.fields(defaults)}
            return defaults(**{k: v for k, v in given.items() if k in names})
        if isinstance(defaults, dict):
            return {**defaults, **given}
        return given

    def _call(self, fn: Call[C] | None, request: wit.Request) -> wit.Action:
        # Every exception becomes a failure result: one escaping to componentize-py would trap.
        try:
            if fn is None:
                return wit.Action_Done()
            action = fn(Object(json.loads(request.json)), self._context(request))
        except Exception as e:
            raise Err(_failure(e)) from None
        if inspect.iscoroutine(action):
            # No event loop runs the coroutine: an async reconcile would look done and do nothing.
            action.close()
            raise Err(wit.Failure_Permanent("reconcile and cleanup must be plain functions, not async"))
        if isinstance(action, RequeueAfter):
            return wit.Action_RequeueAfter(max(0, int(action.seconds * 1000)))
        return wit.Action_Done()

    def _map(self, request: wit.Request) -> list[wit.ObjectRef]:
        try:
            if self._map_related is None:
                return []
            refs = self._map_related(Object(json.loads(request.json)), self._context(request))
            return [_ref_to_wit(ref) for ref in refs]
        except Exception as e:
            raise Err(_message(e)) from None


def _failure(e: Exception) -> wit.Failure:
    permanent = isinstance(e, Permanent) or (
        isinstance(e, ApiError) and e.kind in (ErrorKind.FORBIDDEN, ErrorKind.INVALID)
    )
    return wit.Failure_Permanent(_message(e)) if permanent else wit.Failure_Transient(_message(e))


def _message(e: Exception) -> str:
    if isinstance(e, Transient | Permanent | ApiError):
        return str(e)
    return f"{type(e).__name__}: {e}"


def _ref_to_wit(ref: ObjectRef) -> wit.ObjectRef:
    return wit.ObjectRef(ref.api_version, ref.kind, ref.namespace, ref.name)
