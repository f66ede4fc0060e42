"""Statistics about a piece of text: what a chat client or an editor shows in a status bar."""

import collections
import re

_WORD = re.compile(r"\w+(?:['’]\w+)*")


def words(text: str) -> list[str]:
    """The words of text, lower-cased, in order."""
    return [word.lower() for word in _WORD.findall(text)]


def summary(text: str, top: int = 3) -> dict:
    """Counts of characters, words and lines, and the `top` most frequent words."""
    found = words(text)
    frequent = collections.Counter(found).most_common(top)
    return {
        "characters": len(text),
        "words": len(found),
        "lines": text.count("\n") + (1 if text and not text.endswith("\n") else 0),
        "top": [[word, count] for word, count in frequent],
    }
