"""Texts the center's own data holds in two languages (case types, services, questions)."""


def in_language(language: str, text: str, chinese: str | None) -> str:
    """``chinese`` for a visitor or page in Chinese when there is a Chinese text, else
    ``text``: what is not translated is shown as it was written."""
    if language.startswith("zh") and chinese:
        return chinese
    return text
