"""Statistics about text: what a chat client or an editor shows in a status bar.

Counts the words of every "message" event it hears, and answers questions about a text.
"""

import collections
import re

import pluginhost

_WORD = re.compile(r"\w+(?:['’]\w+)*")
heard = collections.Counter()


def words(text: str) -> list[str]:
    return [word.lower() for word in _WORD.findall(text)]


@pluginhost.export
def summary(text: str, top: int = 3) -> dict:
    """Counts of characters, words and lines, and the `top` most frequent words."""
    found = words(text)
    return {
        "characters": len(text),
        "words": len(found),
        "lines": text.count("\n") + (1 if text and not text.endswith("\n") else 0),
        "top": [[word, count] for word, count in collections.Counter(found).most_common(top)],
    }


@pluginhost.on("message")
def count_message(event):
    heard.update(words(event.payload.get("text", "")))


@pluginhost.export
def most_heard(top: int = 3) -> list:
    """The most frequent words of all "message" events so far."""
    return [[word, count] for word, count in heard.most_common(top)]
