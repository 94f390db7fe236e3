"""Untrusted text (model outputs, sample ids, file names, model arguments, published model names)
made safe for each kind of output: CSV cells, markdown tables and terminal tables.

HTML escaping lives with the HTML report; JSON and JSON Lines need none beyond ``savbench._io``.
Kept free of heavy imports: the CLI uses it for every table it prints.
"""

from __future__ import annotations

import re

# C0 and C1 controls, DEL, line/paragraph separators and bidirectional overrides: they move the
# cursor, recolour a terminal, end a table row early or reorder what a reader sees.
_INVISIBLE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
_SURROGATE = re.compile("[\ud800-\udfff]")  # a str holds these only unpaired: not text
# A spreadsheet runs a cell that starts with one of these as a formula (CSV injection).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
# Characters with a meaning in markdown tables and inline markup; a backslash makes each literal.
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]<>&|~])")


def _escape_char(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def visible(text: str) -> str:
    """``text`` with control, separator and bidi characters written as ``\\xNN`` / ``\\uNNNN``
    and unpaired surrogates as U+FFFD, so that it prints as what it is, on one line.

    Args:
        text: Any string.
    """
    return _SURROGATE.sub("\ufffd", _INVISIBLE.sub(_escape_char, text))


def without_surrogates(text: str) -> str:
    """``text`` with unpaired surrogates (which cannot be UTF-8 encoded) replaced by U+FFFD.

    Args:
        text: Any string, e.g. a whole HTML page.
    """
    return _SURROGATE.sub("\ufffd", text)


def terminal_text(text: object) -> str:
    """A table cell or message for the terminal: no escape sequences, no line breaks.

    Args:
        text: The value to show (converted with ``str``).
    """
    return visible(str(text))


def markdown_cell(text: str) -> str:
    """A markdown table cell that renders as exactly ``text`` (line breaks become spaces).

    Args:
        text: The cell's text.
    """
    flat = re.sub(r"\r\n|[\r\n\t]", " ", text)
    return _MARKDOWN_SPECIAL.sub(r"\\\1", visible(flat))


def csv_cell(text: str) -> str:
    """A CSV text cell that spreadsheets show instead of evaluating: a leading ``=``, ``+``,
    ``-``, ``@``, tab or carriage return gets a ``'`` in front (the OWASP rule).

    Args:
        text: The cell's text; quoting is left to the CSV writer.
    """
    return "'" + text if text.startswith(_FORMULA_START) else text
