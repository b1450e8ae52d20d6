"""One escaping function for every line printed or logged that may hold a name from the
sandbox: ``printable(text)``.

Names come from code a model wrote, so a name can try to end a line and forge the next one
(``\\n``, ``\\r``), move or recolour the cursor (ESC, the 8-bit CSI ``\\x9b``), clear the
screen, or reorder what is shown (bidi overrides). Each such character is shown as an
escape: ``\\n``, ``\\t``, ``\\r`` by name, others as ``\\xNN`` or ``\\uNNNN``.

Escaped: every control character (C0, DEL, C1), the line and paragraph separators, the
bidi embedding/override/isolate controls and lone surrogates (a name that is not valid
UTF-8; printing one raw would also raise ``UnicodeEncodeError``). Everything else, all
printable Unicode included, passes unchanged. A backslash is not doubled: the output is
for reading, and ``--json`` carries the exact names.
"""

from __future__ import annotations

import re

_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e"
                     "\u2066-\u2069\ud800-\udfff]")
_NAMED = {"\n": "\\n", "\t": "\\t", "\r": "\\r"}


def _escape(match: re.Match[str]) -> str:
    ch = match.group()
    named = _NAMED.get(ch)
    if named is not None:
        return named
    code = ord(ch)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(text: str) -> str:
    """``text`` with everything a terminal would obey (see the module doc) escaped."""
    if _UNSAFE.search(text) is None:
        return text
    return _UNSAFE.sub(_escape, text)


def printable_lines(text: str) -> str:
    """``printable`` for text whose own line breaks are meant: each line escaped."""
    return "\n".join(printable(line) for line in text.split("\n"))
