"""Greets ConfigMaps labelled ``weft.dev/hello``: each gets the annotation
``weft.dev/greeting: "<greeting>, <namespace>/<name>"``."""

from dataclasses import dataclass

import weft

ANNOTATION = "weft.dev/greeting"


@dataclass
class Config:
    """spec.config of the Plugin: ``{"greeting": "hi"}``."""

    greeting: str = "hello"


plugin = weft.Plugin(
    weft.Description("hello-python", "0.1.0", weft.CONFIG_MAPS)
    .selector("weft.dev/hello")
    .permit(weft.CONFIG_MAPS, "patch"),
    config=Config,
)


@plugin.reconcile
def reconcile(cm: weft.Object, ctx: weft.Context[Config]) -> weft.Action:
    greeting = f"{ctx.config.greeting}, {cm.namespace}/{cm.name}"
    if cm.annotations.get(ANNOTATION) != greeting:
        weft.Api(weft.CONFIG_MAPS, cm.namespace).patch(
            cm.name, {"metadata": {"annotations": {ANNOTATION: greeting}}}
        )


Controller = plugin.controller()
