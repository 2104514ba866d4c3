"""The probes: retrieval and classification tasks, and the pure scoring maths they use."""

from xharness.registry import Registry

TASKS = Registry("task")
TASKS.register("tatoeba", "xharness.tasks.tatoeba:Tatoeba")
TASKS.register("bucc2018", "xharness.tasks.bucc:Bucc2018", aliases=("bucc",))
TASKS.register("sst", "xharness.tasks.classification:Sentiment", aliases=("sentiment",))
TASKS.register("pawsx", "xharness.tasks.classification:PawsX", aliases=("paws-x",))
TASKS.register("xnli", "xharness.tasks.classification:Xnli")
TASKS.register("classify", "xharness.tasks.classification:Classify")
TASKS.register("lareqa", "xharness.tasks.lareqa:Lareqa", aliases=("xquad-r",))
TASKS.register("mewslix", "xharness.tasks.mewslix:MewsliX", aliases=("mewsli-x",))
