"""``weft-componentize``: builds a weft plugin component from a Python app module.

It runs componentize-py against the contract shipped in the ``weft`` package (world
``reconciler``), with the app's directory and the SDK on the Python path. Kept apart from the
``weft`` package, which imports bindings that exist only inside the component.
"""

import argparse
import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(prog="weft-componentize", description=__doc__.splitlines()[0])
    parser.add_argument("app", help="the app module: a file such as app.py, or a module name")
    parser.add_argument("-o", "--output", default="plugin.wasm", help="component to write")
    parser.add_argument(
        "-p", "--python-path", action="append", default=[], help="more directories with modules"
    )
    args = parser.parse_args()

    app = Path(args.app)
    if app.suffix == ".py":
        app_dir, module = app.resolve().parent, app.stem
    else:
        app_dir, module = Path.cwd(), args.app
    spec = importlib.util.find_spec("weft")
    if spec is None or not spec.submodule_search_locations:
        sys.exit("weft-componentize: the weft package is not installed")
    sdk = Path(next(iter(spec.submodule_search_locations)))

    componentize = Path(sys.executable).parent / "componentize-py"
    if not componentize.exists():
        componentize = shutil.which("componentize-py") or sys.exit("weft-componentize: no componentize-py")
    command = [
        str(componentize),
        "--wit-path", str(sdk / "wit"),
        "--world", "reconciler",
        "componentize", module,
        "--python-path", str(app_dir),
        *(arg for path in args.python_path for arg in ("--python-path", path)),
        "--python-path", str(sdk.parent),
        "--output", args.output,
    ]  # fmt: skip
    sys.exit(subprocess.call(command))
