"""Cluster calls for one kind of object, and the errors they raise."""

import enum
import json
from collections.abc import Callable, Mapping
from typing import Any

from componentize_py_types import Err
from wit_world.imports import cluster
from wit_world.imports import types as wit

from ._objects import Object, Resource


class ErrorKind(enum.Enum):
    """Why a cluster call failed."""

    NOT_FOUND = "not-found"
    ALREADY_EXISTS = "already-exists"
    CONFLICT = "conflict"
    FORBIDDEN = "forbidden"
    """The plugin was not granted the call, or the API server refused it."""
    INVALID = "invalid"
    """The request or the object was rejected as invalid."""
    TRANSIENT = "transient"
    """Timeouts, unavailable servers, throttling: worth retrying."""


_KINDS = {
    wit.ErrorKind.NOT_FOUND: ErrorKind.NOT_FOUND,
    wit.ErrorKind.ALREADY_EXISTS: ErrorKind.ALREADY_EXISTS,
    wit.ErrorKind.CONFLICT: ErrorKind.CONFLICT,
    wit.ErrorKind.FORBIDDEN: ErrorKind.FORBIDDEN,
    wit.ErrorKind.INVALID: ErrorKind.INVALID,
    wit.ErrorKind.TRANSIENT: ErrorKind.TRANSIENT,
}


class ApiError(Exception):
    """A failed cluster call; ``kind`` says why."""

    def __init__(self, kind: ErrorKind, message: str) -> None:
        super().__init__(f"{kind.value}: {message}")
        self.kind = kind
        self.message = message

    @property
    def not_found(self) -> bool:
        return self.kind is ErrorKind.NOT_FOUND

    @property
    def conflict(self) -> bool:
        return self.kind is ErrorKind.CONFLICT

    @property
    def forbidden(self) -> bool:
        return self.kind is ErrorKind.FORBIDDEN


def _call[T](call: Callable[..., T], *args: Any) -> T:
    try:
        return call(*args)
    except Err as e:
        raise ApiError(_KINDS[e.value.kind], e.value.message) from None


class Api:
    """Cluster calls for objects of ``resource``, in one namespace or (``namespace=None``) for
    cluster-scoped objects and lists across every namespace.

    Reads come from the host's caches; writes go to the API server. Every call is checked
    against the permissions the plugin declared; a call outside them raises an :class:`ApiError`
    of kind ``FORBIDDEN``.
    """

    def __init__(self, resource: Resource, namespace: str | None = None) -> None:
        self.resource = resource
        self.namespace = namespace
        r = resource
        self._wit = wit.ApiResource(r.group, r.version, r.kind, r.plural, r.namespaced)

    def get(self, name: str) -> Object:
        return _decode(_call(cluster.get, self._wit, self.namespace, name))

    def get_or_none(self, name: str) -> Object | None:
        """Like :meth:`get`, with None for an object that does not exist."""
        try:
            return self.get(name)
        except ApiError as e:
            if e.not_found:
                return None
            raise

    def list(self, label_selector: str | None = None) -> list[Object]:
        """Objects matching a label selector such as ``app=web,tier!=db`` (None for all)."""
        items = _call(cluster.list, self._wit, self.namespace, label_selector or None)
        return [_decode(item) for item in items]

    def create(self, obj: Mapping[str, Any]) -> Object:
        """Creates ``obj`` and returns it as stored."""
        return _decode(_call(cluster.create, self._wit, self._encode(obj)))

    def apply(self, obj: Mapping[str, Any], force: bool = False) -> Object:
        """Server-side apply: ``obj`` states every field the plugin owns. With ``force``, fields
        other managers own are taken over instead of raising a conflict."""
        return _decode(_call(cluster.apply, self._wit, self._encode(obj), force))

    def patch(self, name: str, patch: Mapping[str, Any]) -> Object:
        """JSON merge patch (RFC 7386) of the object called ``name``."""
        return _decode(_call(cluster.patch, self._wit, self.namespace, name, json.dumps(patch)))

    def patch_status(self, name: str, status: Mapping[str, Any]) -> Object:
        """Merge-patches the status subresource with ``{"status": status}``. The host skips the
        write when the status would not change."""
        body = json.dumps({"status": status})
        return _decode(_call(cluster.patch_status, self._wit, self.namespace, name, body))

    def delete(self, name: str) -> None:
        """Deletes the object called ``name``, with background propagation."""
        _call(cluster.delete, self._wit, self.namespace, name)

    def _encode(self, obj: Mapping[str, Any]) -> str:
        """The object with apiVersion and kind filled in when it leaves them out."""
        return json.dumps({"apiVersion": self.resource.api_version, "kind": self.resource.kind, **obj})


def _decode(text: str) -> Object:
    return Object(json.loads(text))
