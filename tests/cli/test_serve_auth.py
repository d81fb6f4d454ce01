"""The bearer token of ``flowpose serve``: never open, given or generated, checked exactly."""

from __future__ import annotations

import pytest

from flowpose.serve.auth import TOKEN_ENV, Token, is_loopback, resolve_token


def test_without_a_token_one_is_generated_each_time() -> None:
    first, second = resolve_token(None, {}), resolve_token(None, {})
    assert first.generated and second.generated
    assert first.value != second.value and len(first.value) >= 32


def test_the_option_wins_over_the_environment() -> None:
    assert resolve_token("given", {TOKEN_ENV: "env"}) == Token("given", generated=False)
    assert resolve_token(None, {TOKEN_ENV: "env"}) == Token("env", generated=False)


@pytest.mark.parametrize(
    ("given", "env", "words"),
    [("", {}, "--token is empty"), (None, {TOKEN_ENV: " "}, f"{TOKEN_ENV} is empty"), ("a b", {}, "spaces")],
)
def test_an_unusable_token_is_refused(given: str | None, env: dict[str, str], words: str) -> None:
    with pytest.raises(ValueError, match=words):
        resolve_token(given, env)


@pytest.mark.parametrize(
    ("header", "accepted"),
    [
        ("Bearer tok-123", True),
        ("bearer tok-123", True),
        ("Bearer  tok-123 ", True),
        ("Bearer tok-12", False),
        ("Bearer tok-1234", False),
        ("Basic tok-123", False),
        ("tok-123", False),
        ("Bearer", False),
        ("", False),
        (None, False),
    ],
)
def test_only_the_exact_token_is_accepted(header: str | None, accepted: bool) -> None:
    assert Token("tok-123", generated=False).accepts(header) is accepted


@pytest.mark.parametrize(
    ("host", "loopback"), [("127.0.0.1", True), ("::1", True), ("localhost", True), ("0.0.0.0", False), ("::", False)]
)
def test_loopback_hosts(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback
