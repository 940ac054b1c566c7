"""Which top-level parameters an endpoint takes, read from the library's own request types, so the
sandbox refuses exactly the names Stripe would refuse at this API version."""

from __future__ import annotations

import functools
from typing import Any

from stripe._request_options import RequestOptions

# Options the library turns into headers; they are never sent as parameters.
_OPTIONS = frozenset(RequestOptions.__required_keys__ | RequestOptions.__optional_keys__)


@functools.cache
def allowed(params_type: Any) -> frozenset[str]:
    return frozenset(params_type.__required_keys__ | params_type.__optional_keys__) - _OPTIONS
