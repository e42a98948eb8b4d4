"""Defer the plotting libraries gymnax imports but training never uses.

``import gymnax`` imports ``matplotlib.pyplot`` and ``seaborn`` (for two envs' ``render`` methods),
which pulls in pandas and scipy.stats: ``import jaxrl.cli`` took 2.4 s on this CPU with them and
1.2 s without. ``import jaxrl`` registers both as deferred modules first: each is loaded in full on
its first attribute access, so a user's ``import seaborn as sns; sns.set_theme()`` works as before
and only pays the import when it is used. A module already imported, or not installed, is left
alone.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import types
from typing import Any

DEFERRED_MODULES = ("seaborn", "matplotlib.pyplot")


class DeferredModule(types.ModuleType):
    """A stand-in in ``sys.modules`` that imports the real module on its first attribute access and
    from then on holds the same names (``importlib.util.LazyLoader`` does not do here: the ``import``
    statement reads the module's ``__spec__``, which makes it load at once)."""

    def __getattr__(self, attr: str) -> Any:
        return getattr(self.load(), attr)

    def __dir__(self) -> list[str]:
        return dir(self.load())

    def load(self) -> types.ModuleType:
        """Import the real module (once) and copy its names onto this stand-in."""
        name = self.__name__
        if sys.modules.get(name) is self:
            del sys.modules[name]
        module = importlib.import_module(name)
        self.__dict__.update(module.__dict__)
        return module


def defer_import(name: str) -> bool:
    """Put a deferred ``name`` in ``sys.modules`` (bound on its parent package too); True if it did."""
    if name in sys.modules:
        return False
    try:
        spec = importlib.util.find_spec(name)
    except (ImportError, ValueError):
        return False
    if spec is None:
        return False
    module = DeferredModule(name)
    module.__spec__ = spec  # the import statement reads it: present, so it does not trigger the load
    sys.modules[name] = module
    parent, _, child = name.rpartition(".")
    if parent:
        setattr(sys.modules[parent], child, module)  # as the import system binds a loaded submodule
    return True


def defer_plotting_imports() -> None:
    """Make gymnax's plotting imports lazy (call before the first ``import gymnax``)."""
    if "gymnax" in sys.modules:
        return
    for name in DEFERRED_MODULES:
        defer_import(name)
