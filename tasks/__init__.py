"""The probes: retrieval and classification tasks, and the pure scoring maths they use."""

from xharness.registry import Registry

TASKS = Registry("task")
TASKS.register("tatoeba", "xharness.tasks.tatoeba:Tatoeba")
TASKS.register("bucc2018", "xharness.tasks.bucc:Bucc2018", aliases=("bucc",))


def get_task(name: str):
    """The task class registered under `name` (or an alias); a typo raises with a suggestion."""
    return TASKS.get(name)
