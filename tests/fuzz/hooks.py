"""Schemathesis hooks of `make fuzz`: loaded through `hooks = "hooks"` in schemathesis.toml."""

import uuid

import schemathesis
from schemathesis.core.parameters import ParameterLocation

IDEMPOTENCY_KEY = "idempotency-key"


@schemathesis.hook
def map_case(context, case):
    """A schema-valid Idempotency-Key is made unique per request.

    The key is a client's promise that two requests are the same one: reusing a generated value
    (Schemathesis draws the same few strings again) for another body is rightly refused with 422,
    which is not what the positive checks are about. Negative values are left as generated, for
    the API to reject them.
    """
    headers = case.headers or {}
    name = next((n for n in headers if n.lower() == IDEMPOTENCY_KEY), None)
    if name is None:
        return case
    info = case.meta.components.get(ParameterLocation.HEADER) if case.meta else None
    if info is None or info.mode.is_positive:
        headers[name] = f"fuzz-{uuid.uuid4().hex}"
    return case
