"""`webhook-emulator serve`: its options, generated from Settings (emulator/settings.py), and
running the emulator until SIGTERM or Ctrl-C."""

from __future__ import annotations

import argparse
import errno
import gc
import logging
import signal
import sys
from typing import Any

from emulator.settings import Settings, default_text, flag, from_text, kind, options, repeatable, variable

log = logging.getLogger("emulator")
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# Allocations between young collections (CPython's default is 700), and how many collections of each
# generation make one of the next: fewer, larger collections for a server whose heap only grows.
GC_THRESHOLDS = (20_000, 20, 20)


def add_parser(sub: Any) -> None:
    serve = sub.add_parser("serve", help="run the emulator until SIGTERM or Ctrl-C",
                           description="Run the emulator. It logs 'listening on http://HOST:PORT' when ready.")
    add_settings_options(serve)
    serve.set_defaults(run=cmd_serve)


def add_settings_options(parser: argparse.ArgumentParser) -> None:
    """A flag for every Settings field: its name, type, default and help from the field's Option."""
    for f, opt in options():
        text = " ".join(opt.help.replace("`", "").split()).replace("%", "%%")
        said = default_text(f).replace("`", "")
        words: dict[str, Any] = {"dest": f.name, "help": f"{text} ({variable(f)}; default {said})"}
        if opt.metavar:
            words["metavar"] = opt.metavar
        if kind(f) == "bool":
            words.update(action="store_true", default=None)
        elif opt.choices:
            words["choices"] = opt.choices
        elif repeatable(f):  # (each value is read by settings_of, in the words of its variable)
            words["action"] = "append"
        parser.add_argument(flag(f), **words)


def settings_of(args: argparse.Namespace) -> Settings:
    """The Settings the environment and the flags given make (a flag wins over its variable); a
    flag's unusable value is a SettingsError in the words its variable's would get."""
    given = {}
    for f, opt in options():
        value = getattr(args, f.name)
        if isinstance(value, list):
            value = [from_text(f, v, flag(f)) for v in value]
        elif isinstance(value, str) and not opt.choices:
            value = from_text(f, value, flag(f))
        given[f.name] = value
    return Settings.from_env(**given)


def cmd_serve(args: argparse.Namespace) -> int:
    import asyncio

    settings = settings_of(args)
    # No cycle collection while the app is imported and built: all of it lives as long as the
    # process (tune_garbage_collector freezes it and turns collection back on).
    gc.disable()
    logging.basicConfig(level=settings.log_level.upper(), format=LOG_FORMAT, stream=sys.stderr)
    try:
        asyncio.run(_serve(settings))
    except OSError as exc:
        print(f"webhook-emulator: {listen_problem(exc, settings.host, settings.port)}", file=sys.stderr)
        return 2
    finally:
        gc.enable()  # (already on once serving; an app that never served must not leave it off)
    return 0


async def _serve(settings: Settings) -> None:
    import asyncio

    from emulator.app import create_app
    from emulator.server import start_site

    # Handlers first: a signal that arrives as soon as the "listening" line is out stops cleanly.
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    app = create_app(settings)
    runner, port = await start_site(app, settings.host, settings.port)
    tune_garbage_collector()
    for line in loaded_summary(app):
        log.info("%s", line)
    # The one line shown at every --log-level (made at info, handed to the handlers whatever the
    # level lets through), so that `--port 0` always tells the port; an IPv6 host in brackets.
    host = f"[{settings.host}]" if ":" in settings.host else settings.host
    log.handle(log.makeRecord(log.name, logging.INFO, __file__, 0, "listening on http://%s:%s", (host, port), None))
    await stop.wait()
    log.info("shutting down")
    await runner.cleanup()


def loaded_summary(app: Any) -> list[str]:
    """What a started emulator loaded, a line each: its providers (and which folders added some),
    the webhooks of a state file or a data dir, the deliveries a data dir restored, the fault rules."""
    from emulator.state import STATE

    state = app[STATE]
    settings = state.settings
    extra = [p for p in state.providers.values()
             if any(p.source.resolve().is_relative_to(f.resolve()) for f in settings.fixtures)]
    lines = [f"providers: {', '.join(state.providers)}" +
             (f" ({', '.join(f'{p.name} from {p.source}' for p in extra)})" if extra else "")]
    webhooks = sum(len(c.records) for c in state.store.collections.values())
    if state.state_file_loaded:
        lines.append(f"loaded {webhooks} webhook(s) from the state file {settings.state}")
    elif settings.data_dir is not None:
        lines.append(f"restored {webhooks} webhook(s) from the data dir {settings.data_dir}" +
                     (f" (the state file {settings.state} seeds only an empty data dir)" if settings.state else ""))
    if settings.data_dir is not None:
        deliveries = state.dispatcher.log.find()
        pending = sum(d.status == "pending" for d in deliveries)
        lines.append(f"restored {len(deliveries)} delivery(ies) from the data dir, {pending} of them pending "
                     "(their retries carry on)")
    if settings.faults is not None:
        lines.append(f"loaded {len(state.faults.rules)} fault rule(s) from {settings.faults}")
    return lines


def tune_garbage_collector() -> None:
    """For `serve`, which owns its process (an in-process Emulator leaves its host's collector
    alone): what exists once the app is up (modules, fixtures, schemas; built with collection off)
    lives as long as the process, so it is frozen out of every later collection, collections come
    less often, and collection is on again. A webhook's
    objects are freed by reference counting; the cycle collector's full passes over a growing store
    were the long pauses behind the p99 latency of creates."""
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)
    gc.enable()


def listen_problem(exc: OSError, host: str, port: int) -> str:
    """One line saying why the server cannot listen, and what to do about it."""
    if exc.errno == errno.EADDRINUSE:
        return f"cannot listen on {host}:{port}: the port is in use (choose another with --port, or --port 0 " \
               "for any free one)"
    return f"cannot listen on {host}:{port}: {exc.strerror or exc}"
