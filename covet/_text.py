"""Small helpers for the wording of error messages."""

from __future__ import annotations

__all__ = ["sentence"]


def sentence(text: object) -> str:
    """``text`` as a sentence: ends with one full stop, never two (``"a."`` stays ``"a."``).

    For messages that embed another error's text, which may or may not end in punctuation:
    ``f"Importing 'x' failed: {sentence(exc)}"``.
    """
    shown = str(text).rstrip()
    return shown if shown.endswith((".", "!", "?")) else shown + "."
