"""The docstring examples of the pure maths and helper modules run, and say what they return."""

import doctest
import importlib

import pytest

MODULES = (
    "xharness.tasks.knn",
    "xharness.tasks.mining",
    "xharness.tasks.margins",
    "xharness.tasks.xsim",
    "xharness.tasks.languages",
    "xharness.tasks.threshold",
    "xharness.tasks.probe",
    "xharness.tasks.ranking",
    "xharness.tasks.topk",
    "xharness.tasks.recall",
    "xharness.tasks.lareqa",
    "xharness.tasks.mewslix",
    "xharness.adapters.batching",
    "xharness.leaderboard.bootstrap",
    "xharness.leaderboard.adjust",
    "xharness.hashing",
    "xharness.suggest",
    "xharness.hub_reference",
    "xharness.embedding",
    "xharness.demo.builds",
    "xharness.data_manifest",
    "xharness.progress",
    "xharness.leaderboard.palette",
    "xharness.leaderboard.export",
    "xharness.leaderboard.data_identity",
)


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(name)
    failed, attempted = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE, report=True)
    assert attempted > 0, f"{name} has no docstring examples"
    assert failed == 0, f"{failed} of {attempted} examples in {name} failed (see the output above)"
