"""Price tables, call cost and retry hints shared by the provider plugins."""

from __future__ import annotations

import sys
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
from loom.requests import Usage
from loom_provider_common import (
    ModelPrice,
    PriceTable,
    retry_after_seconds,
    retryable_status,
    should_retry,
    with_cost,
)
from pydantic import ValidationError

TABLE = PriceTable(
    {"model-a": ModelPrice(input=1.0, output=2.0),
     "model-a-mini": ModelPrice(input=0.5, output=1.0, cached_input=0.05, cache_write=0.6)},
    {"model": 100_000, "model-a-mini": 50_000}, 8_000)


def test_the_longest_matching_prefix_wins() -> None:
    assert TABLE.price_for("model-a-mini-2025-01-01") == TABLE.prices["model-a-mini"]
    assert TABLE.price_for("model-a-2025") == TABLE.prices["model-a"]
    assert TABLE.price_for("other") is None
    assert TABLE.context_window_for("model-a-mini-x") == 50_000
    assert TABLE.context_window_for("model-b") == 100_000
    assert TABLE.context_window_for("llama") == 8_000


def test_a_user_price_beats_every_default_row() -> None:
    mine = ModelPrice(input=9.0, output=9.0)
    # the answer names a dated model the defaults know; the request named the user's deployment
    assert TABLE.price_for("model-a-2025", "deployment", overrides={"deployment": mine}) == mine
    assert TABLE.price_for("model-a-2025", "deployment") == TABLE.prices["model-a"]


def test_cost_counts_plain_cached_and_written_prompt_tokens_and_output() -> None:
    usage = Usage(input_tokens=1_000, cache_write_tokens=200, cached_tokens=3_000, output_tokens=100)
    priced = with_cost(usage, TABLE.prices["model-a-mini"])
    assert priced.cost_usd == pytest.approx((800 * 0.5 + 200 * 0.6 + 3_000 * 0.05 + 100 * 1.0) / 1e6)
    assert priced.input_tokens == 1_000 and usage.cost_usd == 0
    plain = with_cost(usage, TABLE.prices["model-a"])  # cache prices default to the input price
    assert plain.cost_usd == pytest.approx((4_000 * 1.0 + 100 * 2.0) / 1e6)
    assert with_cost(usage, None) is usage


def test_bad_prices_are_refused_naming_the_field() -> None:
    with pytest.raises(ValidationError, match="output"):
        ModelPrice(input=1.0, output=-1.0)
    with pytest.raises(ValidationError, match="cahced_input"):
        ModelPrice(input=1.0, output=1.0, cahced_input=0.1)  # type: ignore[call-arg]


def test_retry_after_in_milliseconds_seconds_or_a_date() -> None:
    assert retry_after_seconds({"retry-after-ms": "1500", "retry-after": "9"}) == 1.5
    assert retry_after_seconds({"retry-after": "7"}) == 7.0
    later = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    assert 25 < (retry_after_seconds({"retry-after": later}) or 0) <= 30
    past = format_datetime(datetime.now(UTC) - timedelta(seconds=30), usegmt=True)
    assert retry_after_seconds({"retry-after": past}) == 0.0
    assert retry_after_seconds({"retry-after-ms": "soon", "retry-after": "soon"}) is None
    assert retry_after_seconds({}) is None


@pytest.mark.parametrize(("status", "retryable"), [
    (400, False), (401, False), (404, False), (408, True), (409, True), (413, False),
    (429, True), (500, True), (503, True), (529, True)])
def test_retryable_statuses(status: int, retryable: bool) -> None:
    assert retryable_status(status) is retryable


def test_the_server_can_decide_with_x_should_retry() -> None:
    assert should_retry({"x-should-retry": "false"}, True) is False
    assert should_retry({"x-should-retry": "true"}, False) is True
    assert should_retry({"x-should-retry": "maybe"}, True) is True
    assert should_retry({}, False) is False


def test_importing_it_imports_no_provider_sdk() -> None:
    import subprocess

    code = ("import sys, loom_provider_common; "
            "print([m for m in ('openai', 'anthropic', 'google.genai') if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
