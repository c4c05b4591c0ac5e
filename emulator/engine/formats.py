"""The formats the providers' schemas (and the emulator's own) check: http-url, django-url,
header-name and header-value beyond JSON Schema's, and its uri, uri-reference and hostname as
the emulator reads them, in the one FormatChecker every validator of the emulator uses."""

from __future__ import annotations

import functools
import re
from datetime import date

from jsonschema import FormatChecker

FORMAT_CHECKER = FormatChecker()


@FORMAT_CHECKER.checks("http-url")
def is_http_url(value: object) -> bool:
    """An absolute http(s) URL with a host and no spaces or control characters, as the providers'
    URL fields require."""
    if not isinstance(value, str):
        return True
    return re.fullmatch(r"https?://[^\s\x00-\x1f\x7f/?#]+[^\s\x00-\x1f\x7f]*", value) is not None


# Characters RFC 3986 never allows in a URI: whitespace, controls and `<>"{}|\\^` and backquote.
_URI_CHARS = r"[^\s\x00-\x1f\x7f<>\"{}|\\^`]*"


@FORMAT_CHECKER.checks("uri")
def is_uri(value: object) -> bool:
    """JSON Schema's `uri`: an absolute URI (RFC 3986: a scheme, a colon, then URI characters)."""
    return not isinstance(value, str) or re.fullmatch(r"[A-Za-z][A-Za-z0-9+.-]*:" + _URI_CHARS, value) is not None


@FORMAT_CHECKER.checks("uri-reference")
def is_uri_reference(value: object) -> bool:
    """JSON Schema's `uri-reference`: a URI or a relative reference (URI characters only)."""
    return not isinstance(value, str) or re.fullmatch(_URI_CHARS, value) is not None


@FORMAT_CHECKER.checks("hostname")
def is_hostname(value: object) -> bool:
    """JSON Schema's `hostname` (RFC 1123): dot-separated labels of letters, digits and inner hyphens."""
    label = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
    return not isinstance(value, str) or (len(value) <= 253 and re.fullmatch(rf"{label}(?:\.{label})*\.?", value)
                                          is not None)


# Django's URLValidator (what Django REST Framework's URLField checks): http, https, ftp or ftps; a
# host of dotted labels ending in a top-level domain (no label starting or ending with a hyphen),
# localhost, an IPv4 or a bracketed IPv6 address; an optional port; at most 2048 characters.
_LABEL = r"[a-z\u00a1-\uffff0-9](?:[a-z\u00a1-\uffff0-9-]{0,61}[a-z\u00a1-\uffff0-9])?"
_DOMAIN = r"(?:\.(?!-)[a-z\u00a1-\uffff0-9-]{1,63}(?<!-))*"
_TLD = r"\.(?!-)(?:[a-z\u00a1-\uffff-]{2,63}|xn--[a-z0-9]{1,59})(?<!-)\.?"
_OCTET = r"(?:0|25[0-5]|2[0-4][0-9]|1[0-9]?[0-9]?|[1-9][0-9]?)"
@functools.cache
def django_url() -> re.Pattern[str]:
    """Django's URLValidator pattern, compiled when first asked for (its ranges of every non-ASCII
    letter take some 20 ms to compile: a start-up that checks no such URL does not pay it)."""
    return re.compile(rf"(?:https?|ftps?)://(?:[^\s:@/]+(?::[^\s:@/]*)?@)?(?:{_OCTET}(?:\.{_OCTET}){{3}}"
                      rf"|\[[0-9a-f:.]+\]|{_LABEL}{_DOMAIN}{_TLD}|localhost)(?::[0-9]{{1,5}})?(?:[/?#][^\s]*)?",
                      re.IGNORECASE)


@FORMAT_CHECKER.checks("django-url")
def is_django_url(value: object) -> bool:
    """A URL Django's URLValidator accepts (django_url())."""
    return not isinstance(value, str) or (len(value) <= 2048 and django_url().fullmatch(value) is not None)


# Headers that say how a message is framed or where it goes: a webhook's custom headers may not set them.
FRAMING_HEADERS = frozenset({"content-length", "transfer-encoding", "content-encoding", "host", "expect", "connection",
                             "keep-alive", "upgrade", "te", "trailer", "proxy-connection", "http2-settings"})


@FORMAT_CHECKER.checks("header-name")
def is_header_name(value: object) -> bool:
    """An HTTP header name a webhook may send: a token (RFC 9110), so it cannot smuggle another
    header in, and none of the FRAMING_HEADERS."""
    return not isinstance(value, str) or (re.fullmatch(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+", value) is not None
                                          and value.lower() not in FRAMING_HEADERS)


@FORMAT_CHECKER.checks("header-value")
def is_header_value(value: object) -> bool:
    """An HTTP header value: no control characters but tab (no CR/LF to end the header early)."""
    return not isinstance(value, str) or re.search(r"[\x00-\x08\x0a-\x1f\x7f]", value) is None


# RFC 3339's date-time and full-time (JSON Schema's `date-time` and `time`): checked here rather
# than by jsonschema, which checks them only where the optional rfc3339-validator is installed, so
# that a fresh install judges them as the development one does.
_TIME = r"(\d{2}):(\d{2}):(\d{2})(?:\.\d+)?(?:[Zz]|[+-](\d{2}):(\d{2}))"
_DATE_TIME = re.compile(r"(\d{4})-(\d{2})-(\d{2})[Tt ]" + _TIME)
_FULL_TIME = re.compile(_TIME)


def _valid_time(hour: str, minute: str, second: str, off_hour: str | None, off_minute: str | None) -> bool:
    return int(hour) < 24 and int(minute) < 60 and int(second) <= 60 and \
        (off_hour is None or (int(off_hour) < 24 and int(off_minute or 0) < 60))


@FORMAT_CHECKER.checks("date-time")
def is_date_time(value: object) -> bool:
    """RFC 3339 `date-time`: a full date, `T`, a time with seconds and an offset (`Z` or +hh:mm)."""
    if not isinstance(value, str):
        return True
    found = _DATE_TIME.fullmatch(value)
    if found is None:
        return False
    year, month, day, *clock = found.groups()
    try:
        date(int(year), int(month), int(day))
    except ValueError:
        return False
    return _valid_time(*clock)


@FORMAT_CHECKER.checks("time")
def is_time(value: object) -> bool:
    """RFC 3339 `full-time`: a time with seconds and an offset."""
    if not isinstance(value, str):
        return True
    found = _FULL_TIME.fullmatch(value)
    return found is not None and _valid_time(*found.groups())


# The formats checked, whatever optional packages are installed: the ones above, and those
# jsonschema checks with the standard library alone. Any other is not enforced (and `check`
# refuses a provider schema that asks for one).
ENFORCED = ("date", "date-time", "django-url", "email", "header-name", "header-value", "hostname", "http-url",
            "idn-email", "ipv4", "ipv6", "regex", "time", "uri", "uri-reference", "uuid")
for _name in [n for n in FORMAT_CHECKER.checkers if n not in ENFORCED]:
    del FORMAT_CHECKER.checkers[_name]
