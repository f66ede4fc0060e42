"""Greets people in several languages."""

GREETINGS = {
    "en": "Hello, {}!",
    "de": "Hallo, {}!",
    "fr": "Bonjour, {} !",
    "es": "¡Hola, {}!",
}


def greet(name: str, language: str = "en") -> str:
    """Returns a greeting for name in language (an ISO 639-1 code)."""
    try:
        template = GREETINGS[language]
    except KeyError:
        raise ValueError(f"no greeting for language {language!r}; known: {', '.join(sorted(GREETINGS))}") from None
    return template.format(name)


def languages() -> list[str]:
    """The language codes greet() knows."""
    return sorted(GREETINGS)
