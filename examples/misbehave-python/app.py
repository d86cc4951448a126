"""A test fixture: a ConfigMap labelled ``weft.dev/misbehave`` chooses, by the label's value, how
its reconcile fails, so tests can check what the host and the SDK make of it."""

import weft

LABEL = "weft.dev/misbehave"

plugin = weft.Plugin(
    weft.Description("misbehave-python", "0.1.0", weft.CONFIG_MAPS)
    .selector(LABEL)
    .permit(weft.CONFIG_MAPS, "patch"),
)


def note(cm: weft.Object, result: str) -> None:
    """Records what happened in the annotation ``weft.dev/result``."""
    weft.Api(weft.CONFIG_MAPS, cm.namespace).patch(
        cm.name, {"metadata": {"annotations": {"weft.dev/result": result}}}
    )


@plugin.reconcile
def reconcile(cm: weft.Object, ctx: weft.Context[dict]) -> None:
    match cm.labels.get(LABEL):
        case "panic":
            raise RuntimeError(f"misbehaving on purpose: {cm.name}")
        case "runtime-error":
            {}[cm.name]  # noqa: B018 - a KeyError on purpose
        case "forbidden":
            # Secrets were never declared: the host refuses, and the SDK raises its error type.
            try:
                weft.Api(weft.SECRETS).list()
                note(cm, "unexpected success")
            except weft.ApiError as e:
                note(cm, f"forbidden={e.forbidden}: {e.message}")
        case "forbidden-uncaught":
            weft.Api(weft.SECRETS).list()
        case _:
            note(cm, "ok")


Controller = plugin.controller()
