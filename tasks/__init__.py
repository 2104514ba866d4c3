"""The probes: retrieval and classification tasks, and the pure scoring maths they use."""

from xharness.registry import Registry

TASKS = Registry("task")
TASKS.register("tatoeba", "xharness.tasks.tatoeba:Tatoeba")
TASKS.register("bucc2018", "xharness.tasks.bucc:Bucc2018", aliases=("bucc",))
TASKS.register("sst", "xharness.tasks.classification:Sentiment", aliases=("sentiment",))
TASKS.register("pawsx", "xharness.tasks.classification:PawsX", aliases=("paws-x",))
TASKS.register("xnli", "xharness.tasks.classification:Xnli")
TASKS.register("classify", "xharness.tasks.classification:Classify")
TASKS.register("flores", "xharness.tasks.flores:Flores", aliases=("flores200", "flores-plus"))
TASKS.register("ntrex", "xharness.tasks.flores:Ntrex", aliases=("ntrex128",))
TASKS.register("lareqa", "xharness.tasks.lareqa:Lareqa", aliases=("xquad-r",))
TASKS.register("mewslix", "xharness.tasks.mewslix:MewsliX", aliases=("mewsli-x",))

# Tasks of other packages: `name = "module:Class"` under the entry-point group `xharness.tasks`.
# A built-in name is never taken over; the class is imported only when the task is used.
PLUGIN_GROUP = "xharness.tasks"


def _register_plugins() -> None:
    from importlib import metadata

    for entry in metadata.entry_points(group=PLUGIN_GROUP):
        if entry.name.strip().lower() not in TASKS.names():
            TASKS.register(entry.name.strip().lower(), entry.value)


_register_plugins()
