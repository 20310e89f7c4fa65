"""The OpenAI-endpoint engine against a tiny local HTTP server: payload, retries, order."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from dialogsmith.engines.base import ChatRequest
from dialogsmith.engines.config import OpenAIEngineConfig
from dialogsmith.engines.openai_endpoint import EndpointError, OpenAIEndpointEngine, request_payload


def _ask(seed: int = 0, **kwargs: object) -> ChatRequest:
    return ChatRequest(messages=[{"role": "user", "content": "hi"}], seed=seed, **kwargs)


class FlakyServer(ThreadingHTTPServer):
    """Answers 503 to the first `failures` posts, then echoes the request seed back."""

    def __init__(self, failures: int, status: int = 503) -> None:
        super().__init__(("127.0.0.1", 0), FlakyHandler)
        self.failures, self.status = failures, status
        self.bodies: list[dict] = []
        self.lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class FlakyHandler(BaseHTTPRequestHandler):
    server: FlakyServer

    def log_message(self, *args: object) -> None:
        pass

    def _reply(self, status: int, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        self._reply(200, {"object": "list", "data": [{"id": "served-model"}]})

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        with self.server.lock:
            self.server.bodies.append(body)
            failing = len(self.server.bodies) <= self.server.failures
        if failing:
            self._reply(self.server.status, {"error": {"message": "busy"}})
            return
        text = f"seed={body['seed']} model={body['model']}"
        self._reply(200, {"choices": [{"message": {"role": "assistant", "content": text}}]})


@pytest.fixture
def flaky(request: pytest.FixtureRequest) -> Iterator[FlakyServer]:
    failures, status = getattr(request, "param", (2, 503))
    server = FlakyServer(failures, status)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def test_payload_carries_grammar_schema_and_seed() -> None:
    grammar = request_payload(_ask(seed=5, grammar='root ::= "x"'), "m")
    assert grammar["structured_outputs"] == {"grammar": 'root ::= "x"'}
    assert grammar["seed"] == 5 and grammar["model"] == "m"
    schema = request_payload(_ask(json_schema={"type": "object"}), "m")
    assert schema["response_format"]["json_schema"]["schema"] == {"type": "object"}
    with pytest.raises(ValueError, match="not both"):
        request_payload(_ask(grammar="g", json_schema={}), "m")


def test_retries_with_backoff_then_answers(flaky: FlakyServer) -> None:
    config = OpenAIEngineConfig(base_url=flaky.url, max_retries=3, backoff_s=0.05, concurrency=1)
    started = time.monotonic()
    with OpenAIEndpointEngine(config) as engine:
        (text,) = engine.generate([_ask(seed=9)])
    assert text == "seed=9 model=served-model"
    assert len(flaky.bodies) == 3
    assert time.monotonic() - started >= 0.05 + 0.1


@pytest.mark.parametrize("flaky", [(2, 503)], indirect=True)
def test_gives_up_naming_the_url(flaky: FlakyServer) -> None:
    config = OpenAIEngineConfig(base_url=flaky.url, model="m", max_retries=1, backoff_s=0.0)
    with OpenAIEndpointEngine(config) as engine, pytest.raises(EndpointError) as error:
        engine.generate([_ask()])
    assert f"{flaky.url}/v1/chat/completions" in str(error.value)
    assert "HTTP 503" in str(error.value)


@pytest.mark.parametrize("flaky", [(1, 400)], indirect=True)
def test_client_errors_are_not_retried(flaky: FlakyServer) -> None:
    config = OpenAIEngineConfig(base_url=flaky.url, model="m", max_retries=3, backoff_s=0.0)
    with OpenAIEndpointEngine(config) as engine, pytest.raises(EndpointError, match="HTTP 400"):
        engine.generate([_ask()])
    assert len(flaky.bodies) == 1


@pytest.mark.parametrize("flaky", [(0, 200)], indirect=True)
def test_results_keep_request_order(flaky: FlakyServer) -> None:
    config = OpenAIEngineConfig(base_url=flaky.url + "/v1", model="m", concurrency=4)
    with OpenAIEndpointEngine(config) as engine:
        texts = engine.generate([_ask(seed=s) for s in range(20)])
    assert texts == [f"seed={s} model=m" for s in range(20)]


def test_closed_port_fails_naming_the_url(free_port: int) -> None:
    url = f"http://127.0.0.1:{free_port}"
    config = OpenAIEngineConfig(base_url=url, model="m", max_retries=2, backoff_s=0.01)
    with OpenAIEndpointEngine(config) as engine, pytest.raises(EndpointError) as error:
        engine.generate([_ask()])
    assert f"{url}/v1/chat/completions failed after 3 attempts" in str(error.value)
    assert "ConnectError" in str(error.value)
