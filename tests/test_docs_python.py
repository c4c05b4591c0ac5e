"""The Python examples of docs/pytest.md and docs/testing-views.md, run as a user's project runs
them: each test example as a test file through pytester, with the conftest overrides the page
shows. A change that breaks an example fails here."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parent.parent / "docs"


def python_blocks(page: str) -> list[str]:
    """The page's ```python blocks, in order."""
    return re.findall(r"^```python\n(.*?)^```", (DOCS / page).read_text(encoding="utf-8"), flags=re.M | re.S)


def block_with(page: str, needle: str) -> str:
    [found] = [block for block in python_blocks(page) if needle in block]
    return found


@pytest.mark.parametrize("override", ["def webhook_emulator_seed", "def webhook_emulator_settings"])
def test_the_pytest_example_passes_with_each_conftest_override(pytester: pytest.Pytester, override: str) -> None:
    pytester.makeconftest(block_with("pytest.md", override))
    pytester.makepyfile(test_doc=block_with("pytest.md", "def test_my_consumer_gets_payouts"))
    pytester.runpytest_subprocess("-q", "-p", "no:cacheprovider").assert_outcomes(passed=1)


def test_the_import_line_imports() -> None:
    exec(block_with("pytest.md", "from emulator import Emulator"), {})


@pytest.mark.parametrize("needle", ["import flask", "from starlette"])
def test_the_framework_examples_pass(pytester: pytest.Pytester, needle: str) -> None:
    pytester.makeini("[pytest]\nasyncio_default_fixture_loop_scope = function\n")
    pytester.makepyfile(test_view=block_with("testing-views.md", needle))
    pytester.runpytest_subprocess("-q", "-p", "no:cacheprovider", "-W", "error").assert_outcomes(passed=1)


def test_the_first_example_runs() -> None:
    namespace: dict[str, object] = {}
    exec(block_with("testing-views.md", 'signed = notification("gigapay"'), namespace)
    assert b'"amount":"99.00"' in namespace["signed"].body  # type: ignore[attr-defined]
