"""The formats the providers' schemas (and the emulator's own) check beyond JSON Schema's: http-url,
header-name and header-value, in the one FormatChecker every validator of the emulator uses."""

from __future__ import annotations

import re

from jsonschema import FormatChecker

FORMAT_CHECKER = FormatChecker()


@FORMAT_CHECKER.checks("http-url")
def is_http_url(value: object) -> bool:
    """An absolute http(s) URL with a host and no spaces or control characters, as the providers'
    URL fields require."""
    if not isinstance(value, str):
        return True
    return re.fullmatch(r"https?://[^\s\x00-\x1f\x7f/?#]+[^\s\x00-\x1f\x7f]*", value) is not None


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
