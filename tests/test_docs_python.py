"""The Python examples of docs/pytest.md and docs/testing-views.md, run as a user's project runs
them: each test example as a test file through pytester, with the conftest overrides the page
shows. Each block is found by the name in its fence (```python conftest-seed). A change that
breaks an example fails here."""

from __future__ import annotations

import pytest

from tests.docs_blocks import block


@pytest.mark.parametrize("override", ["conftest-seed", "conftest-settings"])
def test_the_pytest_example_passes_with_each_conftest_override(pytester: pytest.Pytester, override: str) -> None:
    pytester.makeconftest(block("docs/pytest.md", override, "python"))
    pytester.makepyfile(test_doc=block("docs/pytest.md", "example", "python"),
                        test_pool_doc=block("docs/pytest.md", "pool-example", "python"))
    pytester.runpytest_subprocess("-q", "-p", "no:cacheprovider").assert_outcomes(passed=2)


def test_the_import_line_imports() -> None:
    exec(block("docs/pytest.md", "imports", "python"), {})


@pytest.mark.parametrize("name", ["flask", "starlette"])
def test_the_framework_examples_pass(pytester: pytest.Pytester, name: str) -> None:
    pytester.makeini("[pytest]\nasyncio_default_fixture_loop_scope = function\n")
    pytester.makepyfile(test_view=block("docs/testing-views.md", name, "python"))
    pytester.runpytest_subprocess("-q", "-p", "no:cacheprovider", "-W", "error").assert_outcomes(passed=1)


def test_the_first_example_runs() -> None:
    namespace: dict[str, object] = {}
    exec(block("docs/testing-views.md", "notification", "python"), namespace)
    assert b'"amount":"99.00"' in namespace["signed"].body  # type: ignore[attr-defined]
