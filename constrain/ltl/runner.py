"""AgentRunner: generate an agent trace under its AgentSpec, with the environment in the loop.

The model writes the steps, token by token under the spec's grammar mask. Where an
environment step begins (its header, such as ``"Observation: "``), generation pauses: the
runner asks the application for the content (a tool's result), appends it and the step end
to the matcher with ``Matcher.accept_bytes`` and to the model's input, and generation
resumes. An environment step begins either because it is the only possible next step (the
grammar forces its header: ``Matcher.forced_bytes()`` starts with it) or because the model
chose it (its sampled tokens complete the header; a token that runs past the header is cut
there, so the model never writes an observation).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Mapping, Optional

from ..bitmask import allocate_bitmask, apply_bitmask
from ..compiler import compile
from ..errors import ConstrainError
from ..generate import _eos_ids, _vocabulary
from ..vocabulary import Vocabulary
from .agent import AgentSpec, CheckResult, Step

EnvironmentHandler = Callable[[list], str]


class AgentRunError(ConstrainError):
    """The environment could not take part (no handler, a refused observation)."""


@dataclass(frozen=True)
class AgentRun:
    """The result of ``AgentRunner.run``.

    ``text``: the trace written (without the prompt); ``steps``: its completed steps;
    ``finished``: the trace is complete (the grammar accepted end-of-sequence);
    ``stop_reason``: ``"end"``, ``"max_steps"`` or ``"max_new_tokens"``; ``new_tokens``:
    tokens sampled from the model; ``environment_calls``: contents the environment wrote.
    """

    text: str
    steps: tuple[Step, ...]
    finished: bool
    stop_reason: str
    new_tokens: int
    environment_calls: int

    def check(self, spec: AgentSpec) -> CheckResult:
        """``spec.check`` of the trace (``partial`` unless it finished)."""
        return spec.check(self.text, partial=not self.finished)


class AgentRunner:
    """Runs a ``transformers`` causal LM under an ``AgentSpec``, one trace per ``run``.

    Args:
        spec: the agent spec. If it has a ``TOOLS`` step and ``tools`` is given, the step is
            restricted to the tool names.
        model, tokenizer: a causal LM and its tokenizer (any ``transformers`` model whose
            forward takes ``input_ids``, ``past_key_values``, ``use_cache``).
        tools: tool name -> function(action input text) -> observation text; it answers the
            spec's observation label (``spec.tool_steps[2]``), reading the tool name from the
            last action step and its argument from the last action-input step. A tool that
            raises gives the observation ``"error: <Type>: <message>"``.
        environment: label -> function(steps so far, a list of ``Step``) -> text, for the
            other environment labels (or to replace the tool dispatch).
        max_steps: stop after this many completed steps; max_new_tokens: after this many
            sampled tokens. temperature: 0 for greedy; top_k: keep the k best tokens; seed:
            for the sampler.

    Environment text may not contain a newline (it becomes a space: the default environment
    content is one line), and must be in the step's content grammar, else ``AgentRunError``.
    """

    def __init__(self, spec: AgentSpec, model, tokenizer, *,
                 tools: Optional[Mapping[str, Callable[[str], str]]] = None,
                 environment: Optional[Mapping[str, EnvironmentHandler]] = None,
                 max_steps: int = 32, max_new_tokens: int = 1024, temperature: float = 1.0,
                 top_k: Optional[int] = None, seed: Optional[int] = None,
                 vocab: Optional[Vocabulary] = None):
        if tools is not None and spec.has_tool_placeholder:
            spec = spec.with_tools(tools)
        self.spec = spec
        self.model = model
        self.tokenizer = tokenizer
        self.max_steps = max_steps
        self.max_new_tokens = max_new_tokens
        self.temperature = temperature
        self.top_k = top_k
        self.seed = seed
        self.handlers = self._handlers(tools, environment or {})
        self.vocab = vocab or _vocabulary(tokenizer, _eos_ids(model, tokenizer, None))
        self.compiled = compile(spec.grammar(), self.vocab)
        self._piece_ids = {b: i for i, b in enumerate(self.vocab.token_bytes) if b}
        self._longest = max(len(b) for b in self._piece_ids)

    def _handlers(self, tools, environment) -> dict[str, EnvironmentHandler]:
        handlers = dict(environment)
        action, action_input, observation = self.spec.tool_steps
        if tools is not None and observation not in handlers:
            if observation not in self.spec.environment_labels:
                raise AgentRunError(f"tools were given but {observation!r} is not an "
                                    f"environment step of {self.spec.name!r}")
            handlers[observation] = _tool_dispatch(dict(tools), action, action_input)
        for label in self.spec.environment_labels:
            if label not in handlers:
                raise AgentRunError(f"no handler for the environment step {label!r}: pass "
                                    "tools= or environment={label: function}")
        unknown = set(handlers) - set(self.spec.environment_labels)
        if unknown:
            raise AgentRunError(f"environment handlers for labels that are not environment "
                                f"steps: {sorted(unknown)}")
        return handlers

    # -- the loop ------------------------------------------------------------------

    def run(self, prompt: str = "", *, add_special_tokens: bool = True) -> AgentRun:
        """Generate one trace after ``prompt`` (typically instructions and examples)."""
        import torch

        spec = self.spec
        matcher = self.compiled.matcher()
        pending = list(self.tokenizer(prompt, add_special_tokens=add_special_tokens)["input_ids"])
        if not pending:
            raise AgentRunError("the prompt gives no tokens; add a BOS token or some text")
        generator = torch.Generator().manual_seed(self.seed) if self.seed is not None else None
        eos = set(self.vocab.eos_token_ids)
        state = _Trace()
        cache, new_tokens, calls = None, 0, 0
        bitmask = None
        while True:
            self._advance(state)
            if len(state.steps) >= self.max_steps:
                return self._result(state, False, "max_steps", new_tokens, calls)
            label = self._open_environment(state, matcher, pending)
            if label is not None:
                text = str(self.handlers[label](list(state.steps)))
                payload = (text.replace("\r\n", " ").replace("\n", " ") + spec.end(label)).encode()
                if not matcher.accept_bytes(payload):
                    raise AgentRunError(f"the environment's {label!r} content {text!r} is not "
                                        f"in the step's grammar")
                state.data += payload
                pending += self._encode(payload)
                calls += 1
                continue
            if new_tokens >= self.max_new_tokens:
                return self._result(state, False, "max_new_tokens", new_tokens, calls)
            with torch.no_grad():
                out = self.model(input_ids=torch.tensor([pending], device=self.model.device),
                                 past_key_values=cache, use_cache=True)
            cache, pending = out.past_key_values, []
            logits = out.logits[0, -1].float()
            if bitmask is None:
                bitmask = allocate_bitmask(1, max(logits.shape[-1], self.vocab.vocab_size))
            matcher.fill_bitmask(bitmask)
            apply_bitmask(logits, bitmask[0])
            token = self._sample(logits, generator)
            new_tokens += 1
            if token in eos:
                if not matcher.accept_token(token):
                    raise AssertionError("the mask allowed a token the matcher refuses")
                return self._result(state, True, "end", new_tokens, calls)
            piece = self.vocab.token_bytes[token]
            cut = self._environment_cut(state, piece)
            if cut is not None:
                # The token runs past an environment header: keep only the header.
                piece = piece[:cut]
                ok = matcher.accept_bytes(piece)
                pending += self._encode(piece)
            else:
                ok = matcher.accept_token(token)
                pending.append(token)
            if not ok:
                raise AssertionError("the mask allowed a token the matcher refuses")
            state.data += piece

    def _sample(self, logits, generator) -> int:
        import torch

        if self.temperature <= 0:
            return int(torch.argmax(logits))
        logits = logits / self.temperature
        if self.top_k is not None and self.top_k < logits.shape[-1]:
            kth = torch.topk(logits, self.top_k).values[-1]
            logits = logits.masked_fill(logits < kth, float("-inf"))
        probs = torch.softmax(logits, dim=-1)
        return int(torch.multinomial(probs, 1, generator=generator))

    # -- steps and environment --------------------------------------------------------

    def _advance(self, state: "_Trace") -> None:
        """Record the steps completed since ``state.step_start``."""
        done, pos = self.spec.parse(bytes(state.data[state.step_start:]), final=False)
        base = state.step_start
        state.steps += [Step(s.label, s.content, s.start + base, s.end + base) for s in done]
        state.step_start = base + pos

    def _open_environment(self, state: "_Trace", matcher, pending: list) -> Optional[str]:
        """The environment label whose header ends the trace so far (after writing the header
        when the grammar forces it), else None."""
        spec = self.spec
        open_text = bytes(state.data[state.step_start:])
        if not open_text:
            forced = matcher.forced_bytes()
            for label in spec.environment_labels:
                header = spec.header(label).encode()
                if forced.startswith(header):
                    if not matcher.accept_bytes(header):
                        raise AssertionError("the matcher refused its own forced bytes")
                    state.data += header
                    pending += self._encode(header)
                    return label
            return None
        for label in spec.environment_labels:
            if open_text == spec.header(label).encode():
                return label
        return None

    def _environment_cut(self, state: "_Trace", piece: bytes) -> Optional[int]:
        """Where to cut ``piece`` so that it ends exactly at an environment header it would
        complete and run past, else None."""
        spec = self.spec
        old = len(state.data) - state.step_start
        text = bytes(state.data[state.step_start:]) + piece
        done, pos = spec.parse(text, final=False)
        starts = [s.start for s in done] + [pos]
        for start in starts:
            label = spec._header_at(text, start, final=True)
            if label in spec.environment_labels:
                end = start + len(spec.header(label).encode())
                if old < end < len(text):
                    return end - old
        return None

    def _encode(self, data: bytes) -> list[int]:
        """Token ids spelling exactly ``data`` (greedy longest match), for the model's input."""
        ids, i = [], 0
        while i < len(data):
            for n in range(min(self._longest, len(data) - i), 0, -1):
                tid = self._piece_ids.get(data[i:i + n])
                if tid is not None:
                    ids.append(tid)
                    i += n
                    break
            else:
                # No token spells this byte: let the tokenizer approximate the rest.
                rest = data[i:].decode("utf-8", errors="replace")
                return ids + list(self.tokenizer(rest, add_special_tokens=False)["input_ids"])
        return ids

    def _result(self, state: "_Trace", finished: bool, reason: str, new_tokens: int,
                calls: int) -> AgentRun:
        self._advance(state)
        text = bytes(state.data).decode("utf-8", errors="replace")
        return AgentRun(text, tuple(state.steps), finished, reason, new_tokens, calls)


class _Trace:
    """The bytes written so far and the steps completed in them."""

    def __init__(self):
        self.data = bytearray()
        self.steps: list[Step] = []
        self.step_start = 0


def _tool_dispatch(tools: dict, action: str, action_input: str) -> EnvironmentHandler:
    """The observation handler: call the tool named by the last action step."""
    def observe(steps: list) -> str:
        names = [s.content for s in steps if s.label == action]
        args = [s.content for s in steps if s.label == action_input]
        if not names:
            return f"error: no {action!r} step before this observation"
        name = names[-1]
        fn = tools.get(name)
        if fn is None:
            return f"error: unknown tool {name!r}; the tools are {sorted(tools)}"
        try:
            return str(fn(args[-1] if args else ""))
        except Exception as e:  # the agent sees the failure, as in ReAct
            return f"error: {type(e).__name__}: {e}"
    return observe
