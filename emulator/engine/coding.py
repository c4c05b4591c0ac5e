"""Request bodies sent with a Content-Encoding, decoded by the emulator itself (aiohttp's own
decoding is off, see app.create_app): a body that does not decode, or names a coding the emulator
does not read (`br`, `zstd`), is the caller's error in the provider's style, and leaves nothing in
aiohttp's log."""

from __future__ import annotations

import zlib

from emulator.engine.errors import ProviderError

# The most a request body may hold (aiohttp's client_max_size for the body as sent, and this for it decoded).
MAX_BODY = 1024 * 1024
READ = {"gzip": 16 + zlib.MAX_WBITS, "x-gzip": 16 + zlib.MAX_WBITS, "deflate": zlib.MAX_WBITS}


def decode_body(content_encoding: str | None, raw: bytes, limit: int) -> bytes:
    """`raw` as its Content-Encoding header says to read it (gzip, deflate, or none):
    `malformed_body` when it does not decode or names another coding, `payload_too_large` past
    `limit` bytes decoded."""
    coding = (content_encoding or "").strip().lower()
    if coding in ("", "identity"):
        return raw
    if coding not in READ:
        raise ProviderError("malformed_body", f"Content-Encoding {coding!r} is not supported (gzip and deflate are)")
    wbits = READ[coding]
    if coding == "deflate" and raw and raw[0] & 0x0F != 8:  # raw deflate, without the zlib header
        wbits = -zlib.MAX_WBITS
    out, rest = bytearray(), raw
    try:
        while True:  # (gzip: one member after another)
            member = zlib.decompressobj(wbits)
            out += member.decompress(rest, limit + 1 - len(out))
            if len(out) > limit or member.unconsumed_tail:
                raise ProviderError("payload_too_large", f"the body is larger than {limit} bytes decoded")
            if not member.eof:
                raise ProviderError("malformed_body",
                                    f"the body ends before its compressed data does (Content-Encoding {coding})")
            rest = member.unused_data
            if not rest:
                return bytes(out)
            if wbits != READ["gzip"] or not rest.startswith(b"\x1f\x8b"):
                raise ProviderError("malformed_body",
                                    f"the body goes on after its compressed data (Content-Encoding {coding})")
    except zlib.error as exc:
        raise ProviderError("malformed_body",
                            f"the body does not decode as its Content-Encoding ({coding}) says: {exc}") from None
