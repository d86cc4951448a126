"""Kubernetes objects as the plugin sees them: dicts in their wire form, with a few helpers."""

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ObjectRef:
    """One object, by identity. ``namespace`` is None for cluster-scoped objects."""

    api_version: str
    kind: str
    namespace: str | None
    name: str


@dataclass(frozen=True)
class Resource:
    """Where a kind of object is served. ``group`` is "" for the core group; ``plural`` is the
    lower-case name used in URLs and RBAC rules, such as ``configmaps``."""

    group: str
    version: str
    kind: str
    plural: str
    namespaced: bool = True

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    def ref(self, namespace: str | None, name: str) -> ObjectRef:
        """The object of this kind called ``name`` in ``namespace``."""
        return ObjectRef(self.api_version, self.kind, namespace, name)

    def matches(self, obj: ObjectRef | Object) -> bool:
        """Whether ``obj`` is of this kind."""
        ref = obj.ref if isinstance(obj, Object) else obj
        return ref.kind == self.kind and ref.api_version == self.api_version

    def owner_reference(self, owner: Object) -> dict[str, Any]:
        """An ownerReference making ``owner`` (of this kind) the controller of another object."""
        return {
            "apiVersion": self.api_version,
            "kind": self.kind,
            "name": owner.name,
            "uid": owner.uid,
            "controller": True,
        }


CONFIG_MAPS = Resource("", "v1", "ConfigMap", "configmaps")
SECRETS = Resource("", "v1", "Secret", "secrets")
NAMESPACES = Resource("", "v1", "Namespace", "namespaces", namespaced=False)


class Object(dict[str, Any]):
    """A Kubernetes object: the dict of its JSON (``obj["spec"]["size"]``), plus properties for
    the metadata everyone needs. Changing the dict changes nothing in the cluster; use an Api."""

    @property
    def metadata(self) -> dict[str, Any]:
        return self.setdefault("metadata", {})

    @property
    def name(self) -> str:
        return self.metadata.get("name", "")

    @property
    def namespace(self) -> str | None:
        return self.metadata.get("namespace")

    @property
    def labels(self) -> dict[str, str]:
        return self.metadata.setdefault("labels", {})

    @property
    def annotations(self) -> dict[str, str]:
        return self.metadata.setdefault("annotations", {})

    @property
    def uid(self) -> str:
        return self.metadata.get("uid", "")

    @property
    def resource_version(self) -> str:
        return self.metadata.get("resourceVersion", "")

    @property
    def generation(self) -> int:
        return self.metadata.get("generation", 0)

    @property
    def deleting(self) -> bool:
        """Whether the object is being deleted (it has a deletionTimestamp)."""
        return "deletionTimestamp" in self.metadata

    @property
    def ref(self) -> ObjectRef:
        return ObjectRef(self.get("apiVersion", ""), self.get("kind", ""), self.namespace, self.name)
