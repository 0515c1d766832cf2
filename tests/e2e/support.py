"""What end-to-end tests share besides fixtures."""

from __future__ import annotations

import asyncio
from typing import Any

WAIT_S = 60.0
"""Seconds a view may take to show what was posted."""


async def eventually(check: Any, within: float = WAIT_S) -> Any:
    """Poll an HTTP view until ``check`` returns a truthy value (views lag the topics)."""
    async with asyncio.timeout(within):
        while True:
            result = await check()
            if result:
                return result
            await asyncio.sleep(0.2)
