"""The models: adapters that turn sentences into vectors, and `load_adapter` to find one."""

from xharness.adapters.base import Adapter, LayeredAdapter
from xharness.adapters.options import AdapterOptions

__all__ = ["Adapter", "AdapterOptions", "LayeredAdapter", "list_adapters", "load_adapter"]


def load_adapter(spec, *, adapter="auto", options=AdapterOptions()):
    """Resolve `spec` (a folder, a plugin name, or a hub id) to an adapter. See `resolve.load_adapter`."""
    from xharness.adapters.resolve import load_adapter as _load

    return _load(spec, adapter=adapter, options=options)


def list_adapters():
    """What can load a model (built-ins and plugins), without importing torch. See `resolve.list_adapters`."""
    from xharness.adapters.resolve import list_adapters as _list

    return _list()
