"""Words of the control API that its callers (the CLI, the clients) share with the engine, kept
apart so that reading them loads nothing else."""

# Deliberately wrong signatures a user can ask for, per firing.
MODES = ("valid", "wrong_secret", "stale_timestamp", "tampered_body", "missing")
# The order a firing's notifications go in, one after the other, when one is asked for.
ORDERS = ("fired", "reversed")
# Where the control API lives; every other path belongs to a provider.
CONTROL_PREFIX = "/_emulator/"
