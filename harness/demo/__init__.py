"""The offline demo, a guest of the engine: its data builders, its run, and the example it regenerates.

Modules: `run` (`xharness demo`: two real models on the demo data), `bitext` and `bitext_rules`
(a Tatoeba-layout set of real translations from django's catalogues), `topics` and
`topic_rules` (a topic-classification set from chatterbot-corpus dialogues), `builds` (the
cached, atomic, manifest-checked build both use) and `make_example` (the committed example
leaderboard under `leaderboard/example/`, `python -m xharness.demo.make_example`). Nothing in
the engine or under `leaderboard/` imports this package.
"""

from xharness.demo.run import run_demo

__all__ = ["run_demo"]
