"""Batched generation on llama.cpp's C API: several sequences decode in one step.

On a small CPU a step of one sequence reads every weight for one token; a step of eight reads
them once for eight. The schedule is a pure function of the requests: sequences start in prompt
order as slots free up, each step holds at most `n_batch` tokens, and every sequence samples with
its own seeded sampler chain. So the same requests give the same texts whatever ran before.
A new sequence copies the longest prompt prefix it shares with any slot's cached tokens
(`llama_memory_seq_cp` shares the KV cells; nothing is recomputed) and computes only the rest.
"""

from __future__ import annotations

import ctypes
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from dialogsmith.engines.base import ChatRequest


@dataclass
class Sequence:
    """One request in a slot: its prompt, what is still to be fed, what it generated."""

    index: int
    request: ChatRequest
    prompt: list[int]
    slot: int
    sampler: Any
    grammar: Any
    pending: list[int] = field(default_factory=list)
    position: int = 0
    generated: list[int] = field(default_factory=list)
    reused: int = 0
    done: bool = False
    waits_for: tuple[int, int] | None = None  # (slot, tokens): a prefix another slot computes


def common_prefix(a: list[int], b: list[int]) -> int:
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


WAIT_MIN_TOKENS = 32  # a shorter shared prefix is computed again rather than waited for


class BatchedGenerator:
    """Runs a list of tokenised prompts to completion on one llama.cpp context."""

    def __init__(self, model: Any, context: Any, n_batch: int, max_sequences: int) -> None:
        from llama_cpp import llama_cpp
        from llama_cpp._internals import LlamaTokenDataArray

        self.lib = llama_cpp
        self.model = model
        self.context = context
        self.n_batch = n_batch
        self.max_sequences = max_sequences
        self.batch = llama_cpp.llama_batch_init(n_batch, 0, 1)
        n_vocab = llama_cpp.llama_vocab_n_tokens(model.vocab)
        self.candidates = LlamaTokenDataArray(n_vocab=n_vocab)
        self.single = LlamaTokenDataArray(n_vocab=1)
        self.cached: dict[int, list[int]] = {}  # slot -> tokens whose KV cells it holds

    def close(self) -> None:
        if self.batch is not None:
            self.lib.llama_batch_free(self.batch)
            self.batch = None

    def run(self, prompts: list[list[int]], requests: list[ChatRequest]) -> list[Sequence]:
        order = sorted(range(len(prompts)), key=lambda i: prompts[i])
        queue = list(reversed(order))
        active: dict[int, Sequence] = {}
        finished: list[Sequence] = []
        try:
            while queue or active:
                for seq in active.values():  # before a freed slot can be given away
                    self._copy_when_computed(seq)
                for slot in range(self.max_sequences):
                    if slot not in active and queue:
                        i = queue.pop()
                        active[slot] = self._start(i, prompts[i], requests[i], slot, active)
                self._step(list(active.values()))
                for slot, seq in list(active.items()):
                    if seq.done:
                        self._free(seq)
                        finished.append(active.pop(slot))
        finally:
            for seq in active.values():
                self._free(seq)
        return sorted(finished, key=lambda s: s.index)

    def _free(self, seq: Sequence) -> None:
        self.lib.llama_sampler_free(seq.sampler)
        if seq.grammar is not None:
            self.lib.llama_sampler_free(seq.grammar)

    def _start(
        self,
        index: int,
        prompt: list[int],
        request: ChatRequest,
        slot: int,
        active: dict[int, Sequence],
    ) -> Sequence:
        """Place a request in `slot`, sharing the longest prefix any slot has computed, or
        waiting for a longer one that a slot still prefilling will compute."""
        memory = self.context.memory
        best_slot, best = slot, 0
        for other, tokens in sorted(self.cached.items()):
            shared = min(common_prefix(tokens, prompt), len(prompt) - 1)
            if shared > best:
                best_slot, best = other, shared
        seq = Sequence(index, request, prompt, slot, self._sampler(request), self._grammar(request))
        ahead = [s for s in active.values() if s.pending and s.waits_for is None]
        for other in sorted(ahead, key=lambda s: s.slot):
            shared = min(common_prefix(other.prompt, prompt), len(prompt) - 1)
            if shared > best + WAIT_MIN_TOKENS:
                self.lib.llama_memory_seq_rm(memory, slot, 0, -1)
                self.cached[slot] = []
                seq.waits_for = (other.slot, shared)
                return seq
        if best_slot == slot:
            self.lib.llama_memory_seq_rm(memory, slot, best, -1)
        else:
            self.lib.llama_memory_seq_rm(memory, slot, 0, -1)
            self.lib.llama_memory_seq_cp(memory, best_slot, slot, 0, best)
        self.cached[slot] = prompt[:best]
        seq.pending, seq.position, seq.reused = prompt[best:], best, best
        return seq

    def _copy_when_computed(self, seq: Sequence) -> None:
        if seq.waits_for is None:
            return
        source, length = seq.waits_for
        if len(self.cached[source]) < length:
            return
        self.lib.llama_memory_seq_cp(self.context.memory, source, seq.slot, 0, length)
        self.cached[seq.slot] = seq.prompt[:length]
        seq.pending, seq.position, seq.reused = seq.prompt[length:], length, length
        seq.waits_for = None

    def _sampler(self, request: ChatRequest) -> Any:
        """Top-p, then temperature, then a draw seeded by the request (greedy at 0)."""
        lib = self.lib
        chain = lib.llama_sampler_chain_init(lib.llama_sampler_chain_default_params())
        if request.temperature <= 0:
            lib.llama_sampler_chain_add(chain, lib.llama_sampler_init_greedy())
            return chain
        lib.llama_sampler_chain_add(chain, lib.llama_sampler_init_top_p(request.top_p, 1))
        lib.llama_sampler_chain_add(chain, lib.llama_sampler_init_temp(request.temperature))
        lib.llama_sampler_chain_add(chain, lib.llama_sampler_init_dist(request.seed))
        return chain

    def _grammar(self, request: ChatRequest) -> Any:
        if request.grammar is None:
            return None
        grammar = self.lib.llama_sampler_init_grammar(
            self.model.vocab, request.grammar.encode(), b"root"
        )
        if not grammar:
            raise ValueError("llama.cpp could not parse the request's GBNF grammar")
        return grammar

    def _step(self, sequences: list[Sequence]) -> None:
        """One llama_decode of at most n_batch tokens: decoding sequences first (one token
        each), then prompt chunks; sample every sequence whose last token was fed."""
        batch, budget, sampled = self.batch, self.n_batch, []
        batch.n_tokens = 0
        for seq in sorted(sequences, key=lambda s: (bool(len(s.pending) > 1), s.slot)):
            take = min(len(seq.pending), budget)
            if take == 0:
                continue
            for token in seq.pending[:take]:
                self._add(token, seq.position, seq.slot, False)
                seq.position += 1
            self.cached[seq.slot].extend(seq.pending[:take])
            seq.pending = seq.pending[take:]
            budget -= take
            if not seq.pending:
                batch.logits[batch.n_tokens - 1] = True
                sampled.append((seq, batch.n_tokens - 1))
        code = self.lib.llama_decode(self.context.ctx, batch)
        if code != 0:
            raise RuntimeError(
                f"llama_decode returned {code}"
                + (" (no room in the KV cache)" if code == 1 else "")
            )
        for seq, row in sampled:
            self._sample(seq, row)

    def _add(self, token: int, position: int, slot: int, logits: bool) -> None:
        batch, n = self.batch, self.batch.n_tokens
        batch.token[n] = token
        batch.pos[n] = position
        batch.n_seq_id[n] = 1
        batch.seq_id[n][0] = slot
        batch.logits[n] = logits
        batch.n_tokens = n + 1

    def _sample(self, seq: Sequence, row: int) -> None:
        token = self._draw(seq, row)
        if self.lib.llama_vocab_is_eog(self.model.vocab, token):
            seq.done = True
            return
        seq.generated.append(token)
        if len(seq.generated) >= seq.request.max_tokens:
            seq.done = True
            return
        seq.pending = [token]

    def _draw(self, seq: Sequence, row: int) -> int:
        """Draw unconstrained, keep the token if the grammar allows it, else draw again from
        what the grammar allows: the grammar checks one token instead of the whole vocabulary
        (as llama.cpp's own sampler does); a pure function of the logits and the seed."""
        lib, candidates = self.lib, self.candidates
        logits = np.ctypeslib.as_array(
            lib.llama_get_logits_ith(self.context.ctx, row), shape=(candidates.n_vocab,)
        )
        candidates.copy_logits(logits)
        lib.llama_sampler_apply(seq.sampler, ctypes.byref(candidates.candidates))
        token = int(candidates.candidates_data.id[candidates.candidates.selected])
        if seq.grammar is not None:
            if not self._allowed(seq.grammar, token):
                candidates.copy_logits(logits)
                lib.llama_sampler_apply(seq.grammar, ctypes.byref(candidates.candidates))
                lib.llama_sampler_apply(seq.sampler, ctypes.byref(candidates.candidates))
                token = int(candidates.candidates_data.id[candidates.candidates.selected])
            lib.llama_sampler_accept(seq.grammar, token)
        lib.llama_sampler_accept(seq.sampler, token)
        return token

    def _allowed(self, grammar: Any, token: int) -> bool:
        one = self.single
        one.candidates_data.id[0], one.candidates_data.logit[0] = token, 0.0
        one.candidates.size, one.candidates.sorted, one.candidates.selected = 1, False, -1
        self.lib.llama_sampler_apply(grammar, ctypes.byref(one.candidates))
        return bool(np.isfinite(one.candidates_data.logit[0]))
