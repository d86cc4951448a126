"""Write Kubernetes reconcilers for weft in Python.

A plugin is a :class:`Plugin`: a :class:`Description` of what it reconciles and which API calls
it makes, default configuration, and a ``reconcile`` function from a primary :class:`Object` to
an action. The app module exports it as ``Controller``::

    import weft

    plugin = weft.Plugin(
        weft.Description("touch", "0.1.0", weft.CONFIG_MAPS)
        .selector("touch=yes")
        .permit(weft.CONFIG_MAPS, "patch")
    )

    @plugin.reconcile
    def reconcile(cm: weft.Object, ctx: weft.Context[dict]) -> weft.Action:
        weft.Api(weft.CONFIG_MAPS, cm.namespace).patch(
            cm.name, {"metadata": {"annotations": {"touched": "yes"}}}
        )

    Controller = plugin.controller()

``weft-componentize app -o plugin.wasm`` builds the component. The module's top-level code runs
at build time and its state is snapshotted; each call then runs in a fresh instance, so nothing
kept in memory survives to the next call. State belongs in the cluster.
"""

from . import log
from ._api import Api, ApiError, ErrorKind
from ._describe import Description
from ._objects import CONFIG_MAPS, NAMESPACES, SECRETS, Object, ObjectRef, Resource
from ._plugin import (
    Action,
    Context,
    EventType,
    Permanent,
    Plugin,
    RequeueAfter,
    Transient,
    Trigger,
)

__all__ = [
    "CONFIG_MAPS",
    "NAMESPACES",
    "SECRETS",
    "Action",
    "Api",
    "ApiError",
    "Context",
    "Description",
    "ErrorKind",
    "EventType",
    "Object",
    "ObjectRef",
    "Permanent",
    "Plugin",
    "RequeueAfter",
    "Resource",
    "Transient",
    "Trigger",
    "log",
]
