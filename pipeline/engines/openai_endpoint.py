"""Engine that calls an OpenAI-compatible `/v1/chat/completions` server such as `vllm serve`."""

from __future__ import annotations

import logging
import os
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx

from dialogsmith.engines.base import ChatRequest, EngineFailure, EngineStats
from dialogsmith.engines.config import OpenAIEngineConfig

logger = logging.getLogger(__name__)

RETRY_STATUS = frozenset({408, 429, 500, 502, 503, 504})


class EndpointError(RuntimeError):
    """The endpoint refused a request, or kept failing after every retry."""


class EndpointUnavailable(EndpointError, EngineFailure):
    """Every retry failed on a connection error, a timeout or a 5xx: the server may be dead."""


def request_payload(request: ChatRequest, model: str) -> dict[str, Any]:
    """The JSON body for one chat completion; grammar goes in vLLM's `structured_outputs`."""
    if request.grammar is not None and request.json_schema is not None:
        raise ValueError("A ChatRequest may set grammar or json_schema, not both")
    payload: dict[str, Any] = {
        "model": model,
        "messages": list(request.messages),
        "max_tokens": request.max_tokens,
        "temperature": request.temperature,
        "top_p": request.top_p,
        "seed": request.seed,
    }
    if request.grammar is not None:
        payload["structured_outputs"] = {"grammar": request.grammar}
    elif request.json_schema is not None:
        payload["response_format"] = {
            "type": "json_schema",
            "json_schema": {"name": "output", "schema": request.json_schema},
        }
    return payload


class OpenAIEndpointEngine:
    """Sends the requests of a call concurrently (at most `concurrency` in flight)."""

    def __init__(self, config: OpenAIEngineConfig) -> None:
        self.config = config
        root = config.base_url.removesuffix("/v1")
        self.api_url = f"{root}/v1"
        api_key = os.environ.get(config.api_key_env) or "EMPTY"
        self._client = httpx.Client(
            timeout=config.timeout_s,
            headers={"Authorization": f"Bearer {api_key}"},
            limits=httpx.Limits(max_connections=config.concurrency),
        )
        self._pool = ThreadPoolExecutor(config.concurrency, thread_name_prefix="openai-engine")
        self._model = config.model
        self.stats = EngineStats()

    @property
    def model(self) -> str:
        """The configured model name, or the first one the server lists."""
        if self._model is None:
            listed = self._call("GET", "/models")["data"]
            if not listed:
                raise EndpointError(f"{self.api_url}/models lists no model")
            self._model = str(listed[0]["id"])
        return self._model

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> dict:
        url = f"{self.api_url}{path}"
        last = ""
        for attempt in range(self.config.max_retries + 1):
            if attempt:
                time.sleep(self.config.backoff_s * 2 ** (attempt - 1))
            try:
                response = self._client.request(method, url, json=body)
            except httpx.TransportError as error:
                last = f"{type(error).__name__}: {error}"
            else:
                if response.is_success:
                    return response.json()
                last = f"HTTP {response.status_code}: {response.text[:500]}"
                if response.status_code not in RETRY_STATUS:
                    raise EndpointError(f"{method} {url} failed with {last}")
            logger.warning("%s %s attempt %d failed: %s", method, url, attempt + 1, last)
        attempts = self.config.max_retries + 1
        raise EndpointUnavailable(
            f"{method} {url} failed after {attempts} attempts; last error: {last}"
        )

    def _complete(self, request: ChatRequest) -> dict[str, Any]:
        return self._call("POST", "/chat/completions", request_payload(request, self.model))

    def generate(self, requests: list[ChatRequest]) -> list[str]:
        if requests:
            _ = self.model  # resolve once, before the threads start
        replies = list(self._pool.map(self._complete, requests))
        for reply in replies:
            usage = reply.get("usage") or {}
            prompt = int(usage.get("prompt_tokens") or 0)
            cached = int((usage.get("prompt_tokens_details") or {}).get("cached_tokens") or 0)
            self.stats.add(prompt, prompt - cached, int(usage.get("completion_tokens") or 0))
        return [reply["choices"][0]["message"]["content"] or "" for reply in replies]

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
        self._client.close()

    def __enter__(self) -> OpenAIEndpointEngine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
