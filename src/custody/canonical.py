"""RFC 8785 (JCS) canonical JSON: the only bytes custody ever signs or hashes as JSON."""

from __future__ import annotations

from typing import Any

import rfc8785

from custody.errors import StrictJSONError


def dumps(value: Any) -> bytes:
    """Serialize ``value`` to RFC 8785 canonical UTF-8 bytes.

    Raises:
        StrictJSONError: the value has no canonical form (NaN, lone surrogates, huge ints).
    """
    try:
        return rfc8785.dumps(value)
    except (rfc8785.CanonicalizationError, UnicodeEncodeError, TypeError) as exc:
        raise StrictJSONError(f"value has no canonical JSON form: {exc}") from exc
