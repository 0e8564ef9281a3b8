"""Small pieces shared by the builder's modules: who may use it, and role-aware count text."""

from __future__ import annotations

import uuid

from access.guard import BUILDER, roles_for
from components.builder import widgets as widgets
from components.i18n import localize_released
from queries.disclosure.policy import policy_for, protect_count

ROLES = roles_for(BUILDER)


def count_text_for(role: str) -> widgets.CountText:
    """How catalog category counts read for a role (partners: disclosure-protected)."""
    policy = policy_for(role)
    if policy.exact:
        return widgets.plain_count

    def protected(count: int | None) -> str:
        return "" if count is None else localize_released(protect_count(count, policy).display)

    return protected


def loaded_payload(definition: dict) -> dict:
    """What to put into BUILDER_LOADED to open a definition (the nonce makes reloads fire)."""
    return {"definition": definition, "nonce": uuid.uuid4().hex}
