"""The parity corpus: every public sample the fixtures rely on (tests/parity/<provider>/*.json, each
with its `source`), and per sample the emulator producing the same thing: the answer to the same
request, the notification of the same event, the same headers. "The same" is the same shape: the
same keys, JSON types, formats (ISO times, uuids, 24-hex ids, alpha-3 codes, decimal strings,
URLs...) and documented enum values, not the same ids.

A sample's `parity` says how it is reproduced: `check` is `notification` (fire `event`),
`response` (make `request` after `steps`, compare the answer), `request` (the provider accepts
it: `status`), `headers` (the answer carries `names`, values matching `match`) or `reference`
(kept as evidence, not reproduced: `why` says why). `extra` / `missing` name keys the emulator
has beyond the sample or lacks, each list with its reason (`extra_why`, `missing_why`).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from emulator.delivery.notification import NotificationMaker
from tests.conftest import Answer, Api, MakeApi

CORPUS = Path(__file__).parent / "parity"
SAMPLES = sorted(CORPUS.glob("*/*.json"))
AUTH = {"paybook": {"Authorization": "api_key api_key=YOUR_API_KEY"},
        "syncfy": {"Authorization": "api_key api_key=YOUR_API_KEY"},
        "gigapay": {"Authorization": "Token cd7a4537a231356d404b553f465b6af2fa035821",
                    "Integration-ID": "79606358-97af-4196-b64c-5f719433d56b"},
        "shareactor": {"X-Share-Api-Key": "MY_KEY"},
        "centry": {"Authorization": "Bearer ae7a9cecd01b346cfb7e6f196b948d8a63cb37f7feae38c4f4a2a31eca27c985"}}
# Formats a sample's string may have; the emulator's string in the same place must have it too.
FORMATS = {
    "iso-time": re.compile(r"^\d{4}-\d\d-\d\d[T ]\d{1,2}:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:?\d\d)?$"),
    "uuid": re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"),
    "hex24": re.compile(r"^[0-9a-f]{24}$"),
    "alpha-3": re.compile(r"^[A-Z]{3}$"),
    "decimal": re.compile(r"^-?\d+\.\d{2}$"),
    "digits": re.compile(r"^\d+$"),
    "url": re.compile(r"^https?://\S+$"),
    "path": re.compile(r"^/\S*$"),
    "email": re.compile(r"^[^@\s]+@[^@\s]+\.[a-z]+$"),
    "phone": re.compile(r"^\+\d{6,}$"),
    "upper-code": re.compile(r"^[A-Z0-9]{8}$"),
}
# Documented enums, by provider and key [doc: each provider's docs as the fixtures cite them].
ENUMS = {
    "gigapay": {"latest_status": {"created", "not_invited", "invited", "onboarding", "active", "not_funded",
                                  "onboarding_incomplete", "notification_sent", "available", "complete",
                                  "open", "invoiced", "paid"}, "currency": {"SEK"}},
    "shareactor": {"order_status": {"CREATED", "PROCESSING", "DECLINED", "FAILED", "SUCCESS", "CANCELLED"},
                   "delivery_status": {"CREATED", "PENDING", "PROCESSING", "ASSIGNING", "PICKUP_STARTED",
                                       "PICKUP_ARRIVED", "DROPOFF_STARTED", "DROPOFF_ARRIVED", "CANCELLED"},
                   "current_state": {"created", "processing", "captured", "succeeded", "failed", "cancelled"},
                   "object_type": {"order", "invoice", "user", "subscription", "payment", "product", "plan"}},
    "syncfy": {"version": {"3.1"}, "id_environment": {"574894bf7848066d138b4570", "574894bf7848066d138b4571"}},
    "paybook": {"event": {"credential_create", "credential_update", "refresh", "documents_completed"}},
    "centry": {"token_type": {"bearer"}},
}
NOTIFY = NotificationMaker()


def _load(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    return {str: "string", list: "array", dict: "object", type(None): "null"}[type(value)]


def _formats(text: str) -> list[str]:
    return [name for name, pattern in FORMATS.items() if pattern.match(text)]


def shape_problems(sample: Any, actual: Any, where: str, spec: dict[str, Any], provider: str) -> list[str]:
    """How `actual` differs from `sample` in shape (see the module docstring); [] when it does not."""
    if sample is None or where in spec.get("free", []):
        return []  # a null in a sample says nothing about the type; a `free` place is not compared (`free_why`)
    if _kind(actual) != _kind(sample):
        return [f"{where or '$'}: {_kind(actual)} where the sample has {_kind(sample)} ({sample!r})"]
    key = where.rsplit(".", 1)[-1]
    if isinstance(sample, str):
        wrong = [f for f in _formats(sample) if not FORMATS[f].match(actual)]
        problems = [f"{where}: {actual!r} is not {', '.join(wrong)} as the sample's {sample!r}"] if wrong else []
        allowed = ENUMS.get(provider, {}).get(key)
        if allowed and sample in allowed and actual not in allowed:
            problems.append(f"{where}: {actual!r} is not a documented value ({', '.join(sorted(allowed))})")
        return problems
    if isinstance(sample, list):
        if not sample or not actual or (spec.get("shallow") and where):
            return []
        return [p for i, item in enumerate(actual)
                for p in shape_problems(sample[min(i, len(sample) - 1)], item, f"{where}[{i}]", spec, provider)]
    if not isinstance(sample, dict):
        return []
    if spec.get("any_keys") and not where:
        first = next(iter(sample.values()))
        return [p for k, v in actual.items() for p in shape_problems(first, v, k, spec, provider)]
    only = spec.get("only") if not where else None
    names = lambda keys: {f"{where}.{k}".lstrip(".") for k in keys if only is None or k in only}  # noqa: E731
    if spec.get("shallow") and where:
        return []  # the type only: top-level keys are compared
    allowed = lambda k, key: k in spec.get(key, []) or k.rsplit(".", 1)[-1] in spec.get(key, [])  # noqa: E731
    missing = {k for k in names(sample) - names(actual) if not allowed(k, "missing")}
    extra = {k for k in names(actual) - names(sample) if not allowed(k, "extra")}
    problems = [f"{k}: in the sample, not in the emulator's" for k in sorted(missing)]
    problems += [f"{k}: in the emulator's, not in the sample" for k in sorted(extra)]
    for k in sample:
        if k in actual and (only is None or k in only):
            problems += shape_problems(sample[k], actual[k], f"{where}.{k}".lstrip("."), spec, provider)
    return problems


def pointer(document: Any, at: str) -> Any:
    """The value at a JSON pointer (`/response/0`)."""
    for part in filter(None, at.split("/")):
        document = document[int(part)] if isinstance(document, list) else document[part]
    return document


def resolve(value: Any, answers: list[Any]) -> Any:
    """`{N:/pointer}` in strings replaced by that value of the N-th step's answer."""
    if isinstance(value, dict):
        return {k: resolve(v, answers) for k, v in value.items()}
    if isinstance(value, list):
        return [resolve(v, answers) for v in value]
    if not isinstance(value, str):
        return value
    token = re.compile(r"\{(\d+):(/[^}]*)\}")
    whole = token.fullmatch(value)
    if whole:
        return pointer(answers[int(whole[1])], whole[2])
    return token.sub(lambda m: str(pointer(answers[int(m[1])], m[2])), value)


def filled(sample: Any, spec: dict[str, Any]) -> Any:
    text = json.dumps(sample)
    for old, new in spec.get("fill", {}).items():
        text = text.replace(old, new)
    return json.loads(text)


async def call(api: Api, provider: str, request: dict[str, Any], spec: dict[str, Any], answers: list[Any],
               sample: Any) -> Answer:
    headers = dict(AUTH[provider]) if spec.get("auth", True) else {}
    kwargs: dict[str, Any] = {}
    if "json" in request:
        kwargs["json"] = resolve(filled(sample, spec) if request["json"] == "$sample" else request["json"], answers)
    if spec.get("form") == "$sample":
        kwargs["data"] = filled(sample, spec)
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    return await api.request(request["method"], resolve(request["path"], answers), headers=headers, validate=False,
                             **kwargs)


def sample_id(path: Path) -> str:
    return f"{path.parent.name}/{path.stem}"


def test_every_sample_names_its_source_and_how_it_is_reproduced() -> None:
    checks = {"notification", "response", "request", "headers", "reference"}
    for path in SAMPLES:
        data = _load(path)
        spec = data["parity"]
        assert data["source"] and "sample" in data, path
        assert spec["check"] in checks, path
        if spec["check"] == "reference":
            assert spec["why"], path
        for keys, why in (("extra", "extra_why"), ("missing", "missing_why"), ("free", "free_why")):
            assert keys not in spec or why in spec, (path, why)
    providers = {p.parent.name for p in SAMPLES}
    assert providers == set(AUTH)
    # The seed examples are part of the corpus.
    assert all(any(p.parent.name == name and p.stem.startswith("seed-") for p in SAMPLES) for name in AUTH)


REPRODUCED = [p for p in SAMPLES if _load(p)["parity"]["check"] != "reference"]


@pytest.mark.parametrize("path", REPRODUCED, ids=[sample_id(p) for p in REPRODUCED])
async def test_the_emulator_produces_the_samples_shape(path: Path, make_api: MakeApi) -> None:
    data = _load(path)
    provider, spec, sample = path.parent.name, data["parity"], data["sample"]
    if spec.get("sample_at"):
        sample = pointer(sample, spec["sample_at"])
    if spec["check"] == "notification":
        secret = "parity-secret" if provider in ("gigapay", "shareactor") else None
        sent = NOTIFY(provider, spec["event"], secret=secret)
        actual = pointer(sent.json, spec.get("at", ""))
        assert shape_problems(sample, actual, "", spec, provider) == []
        for key, pattern in spec.get("match", {}).items():
            assert re.search(pattern, str(actual[key])), (key, actual[key])
        return
    api = await make_api()
    answers = []
    for step in spec.get("steps", []):
        done = await call(api, provider, step, spec, answers, sample)
        assert done.status < 300, (step, done.json)
        answers.append(done.json)
    answer = await call(api, provider, spec["request"], spec, answers, sample)
    assert answer.status == spec["status"], answer.raw
    if spec["check"] == "headers":
        for name in spec.get("names", []):
            assert name in answer.headers, (name, dict(answer.headers))
        for name, pattern in spec.get("match", {}).items():
            assert re.search(pattern, answer.headers.get(name, "")), (name, answer.headers.get(name))
    elif spec["check"] == "response":
        actual = pointer(answer.json, spec.get("at", ""))
        assert shape_problems(sample, actual, "", spec, provider) == []
        for key, pattern in spec.get("match", {}).items():
            assert re.search(pattern, str(actual[key])), (key, actual[key])


def test_shapes_differ_where_they_should() -> None:
    """The comparison itself: a missing key, a wrong type, a wrong format and an undocumented value
    are each a problem."""
    sample = {"id": "5e793889ea4c5165d46f9811", "at": "2019-05-22T10:32:36.118753Z", "n": 1, "latest_status": "open"}
    assert shape_problems(sample, dict(sample), "", {}, "gigapay") == []
    assert shape_problems(sample, {**sample, "id": "not-hex"}, "", {}, "gigapay")
    assert shape_problems(sample, {**sample, "n": "1"}, "", {}, "gigapay")
    assert shape_problems(sample, {**sample, "latest_status": "notified"}, "", {}, "gigapay")
    assert shape_problems(sample, {k: v for k, v in sample.items() if k != "at"}, "", {}, "gigapay")
    assert shape_problems(sample, {**sample, "more": 1}, "", {}, "gigapay")
