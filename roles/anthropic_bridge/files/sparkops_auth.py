"""LiteLLM custom auth for the sparkops.llm bridge: the master key, and nothing else.

Without a database, LiteLLM looks up every key that is not the master key as a virtual key and
answers HTTP 400 "No connected db." This function makes the rule explicit: the master key
(LITELLM_MASTER_KEY, from the 0600 environment file) is accepted with the rights LiteLLM gives
it; anything else is refused with HTTP 401.
"""

from __future__ import annotations

import hmac
import os

from litellm.proxy._types import (
    LitellmUserRoles,
    ProxyErrorTypes,
    ProxyException,
    UserAPIKeyAuth,
)


async def master_key_only(request, api_key: str) -> UserAPIKeyAuth:
    presented = api_key.removeprefix("Bearer ").strip()
    master = os.environ["LITELLM_MASTER_KEY"]
    if not hmac.compare_digest(presented.encode(), master.encode()):
        raise ProxyException(
            message="Authentication Error: invalid API key for the sparkops.llm bridge",
            type=ProxyErrorTypes.auth_error,
            param="api_key",
            code=401,
        )
    return UserAPIKeyAuth(api_key=presented, user_role=LitellmUserRoles.PROXY_ADMIN)
