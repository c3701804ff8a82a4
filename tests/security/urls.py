"""Every URL the project serves, straight from the resolver, so a new page is covered the
moment it is added."""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.urls import URLPattern, URLResolver, get_resolver

PARAMETER = re.compile(r"<(?:(\w+):)?(\w+)>")


@dataclass(frozen=True)
class Route:
    name: str
    pattern: str
    namespace: str | None
    converters: tuple[str, ...]

    @property
    def takes_token(self) -> bool:
        return "token" in self.converters

    def path(self, **values: object) -> str:
        """The route with ``values`` for its parameters (``1`` or ``"x"`` by default)."""

        def fill(match: re.Match[str]) -> str:
            kind, name = match[1] or "str", match[2]
            return str(values.get(name, 1 if kind == "int" else "x"))

        return "/" + PARAMETER.sub(fill, self.pattern)


def _walk(patterns: list, prefix: str, namespace: str | None) -> list[Route]:
    routes: list[Route] = []
    for entry in patterns:
        if isinstance(entry, URLResolver):
            routes += _walk(
                entry.url_patterns, prefix + str(entry.pattern), entry.namespace or namespace
            )
        elif isinstance(entry, URLPattern):
            routes.append(
                Route(
                    name=entry.name or "",
                    pattern=prefix + str(entry.pattern),
                    namespace=namespace,
                    converters=tuple(entry.pattern.converters),
                )
            )
    return routes


def site_routes() -> list[Route]:
    """The project's own routes (the Django admin has its own permission checks)."""
    return [route for route in _walk(get_resolver().url_patterns, "", None) if not route.namespace]
