"""Words of the control API that its callers (the CLI, the clients) share with the engine, kept
apart so that reading them loads nothing else."""

from __future__ import annotations

from collections.abc import Iterable

# Deliberately wrong signatures a user can ask for, per firing.
MODES = ("valid", "wrong_secret", "stale_timestamp", "tampered_body", "missing")
# The order a firing's notifications go in, one after the other, when one is asked for.
ORDERS = ("fired", "reversed")
# Where the control API lives; every other path belongs to a provider.
CONTROL_PREFIX = "/_emulator/"


def did_you_mean(name: object, choices: Iterable[str]) -> str:
    """' (did you mean 'X'?)' when `name` is close to one of `choices`, else ''."""
    import difflib

    close = difflib.get_close_matches(str(name), list(choices), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""
