"""Greets people in several languages, and tells the host whenever it did."""

import pluginhost

GREETINGS = {
    "en": "Hello, {}!",
    "de": "Hallo, {}!",
    "fr": "Bonjour, {} !",
    "es": "¡Hola, {}!",
}

greeted = 0


def on_load():
    global greeted
    # After a reload, carry on counting where the previous instance stopped.
    greeted = (pluginhost.info.previous_state or {}).get("greeted", 0)
    pluginhost.log.info(f"ready in interpreter {pluginhost.info.interpreter_id} ({greeted} greetings so far)")


@pluginhost.export
def greet(name: str, language: str = "en") -> str:
    """Returns a greeting for name in language (an ISO 639-1 code)."""
    global greeted
    try:
        template = GREETINGS[language]
    except KeyError:
        raise ValueError(f"no greeting for language {language!r}; known: {', '.join(sorted(GREETINGS))}") from None
    greeted += 1
    pluginhost.emit("greeted", {"name": name, "language": language})
    return template.format(name)


@pluginhost.export
def languages() -> list[str]:
    """The language codes greet() knows."""
    return sorted(GREETINGS)


def on_unload():
    return {"greeted": greeted}
