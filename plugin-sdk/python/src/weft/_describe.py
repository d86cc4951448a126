"""What a plugin declares about itself: what it reconciles and watches, and what it may call."""

from typing import Self

from wit_world.imports import types as wit

from ._objects import Resource


def _watch(resource: Resource, label_selector: str | None) -> wit.Watch:
    api = wit.ApiResource(
        resource.group, resource.version, resource.kind, resource.plural, resource.namespaced
    )
    return wit.Watch(api, label_selector or None)


class Description:
    """Built with chained calls; the host reads it once per loaded module::

    weft.Description("hello-python", "0.1.0", weft.CONFIG_MAPS)
        .selector("weft.dev/hello")
        .permit(weft.CONFIG_MAPS, "patch")
    """

    def __init__(self, name: str, version: str, primary: Resource) -> None:
        self.primary = primary
        self._description = wit.Description(
            name=name,
            version=version,
            primary=_watch(primary, None),
            owns=[],
            related=[],
            permissions=[],
            finalizer=None,
            reconcile_on_status_change=False,
        )

    def selector(self, label_selector: str) -> Self:
        """Reconcile only primaries matching a label selector such as ``app=web``."""
        self._description.primary.label_selector = label_selector
        return self

    def owns(self, resource: Resource, label_selector: str | None = None) -> Self:
        """Watch objects the plugin creates with an ownerReference to a primary; their changes
        reconcile the owner."""
        self._description.owns.append(_watch(resource, label_selector))
        return self

    def related(
        self, resource: Resource, label_selector: str | None = None, *, by_label: str | None = None
    ) -> Self:
        """Watch other objects whose changes reconcile some primaries: those the plugin's
        ``map_related`` returns, or with ``by_label`` the one (in the same namespace) named in that
        label of the related object."""
        mapping = wit.RelatedMapping_ByLabel(by_label) if by_label else wit.RelatedMapping_ByFunction()
        self._description.related.append(wit.Related(_watch(resource, label_selector), mapping))
        return self

    def permit(self, resource: Resource, *verbs: str) -> Self:
        """The plugin calls these verbs on ``resource``: get, list, create, patch (also needed by
        apply), delete. Status patches need :meth:`permit_status`."""
        return self._permit(resource.group, resource.plural, list(verbs))

    def permit_status(self, resource: Resource) -> Self:
        """The plugin patches the status subresource of ``resource``."""
        return self._permit(resource.group, f"{resource.plural}/status", ["patch"])

    def _permit(self, group: str, resource: str, verbs: list[str]) -> Self:
        self._description.permissions.append(wit.PolicyRule([group], [resource], verbs))
        return self

    def finalizer(self, name: str) -> Self:
        """Have the host add this finalizer to primaries and call the plugin's ``cleanup`` before
        they go."""
        self._description.finalizer = name
        return self

    def reconcile_on_status_change(self) -> Self:
        """Also reconcile when only a primary's status changed (off by default, which keeps the
        plugin's own status writes from looping)."""
        self._description.reconcile_on_status_change = True
        return self
