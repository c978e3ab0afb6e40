"""The GraphQL context: settings, services, counted data access and the per-request DataLoaders."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar, cast

from starlette.requests import Request
from starlette.responses import Response
from strawberry.types import Info as _Info

from api.db import Db
from rskg.services import Services
from rskg.settings import Settings

L = TypeVar("L")


@dataclass
class Context:
    request: Request
    response: Response | None
    settings: Settings
    services: Services
    db: Db
    loaders: dict[str, Any] = field(default_factory=dict)

    def loader(self, factory: Callable[[Context], L]) -> L:
        """One DataLoader per factory and request (made on first use): batching, no cross-request cache."""
        key = f"{factory.__module__}.{factory.__qualname__}"
        if key not in self.loaders:
            self.loaders[key] = factory(self)
        return cast(L, self.loaders[key])


Info = _Info[Context, None]
