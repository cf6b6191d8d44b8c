"""AgentSpec: one grammar for a whole agent trace, from step grammars and LTLf rules.

A trace is a sequence of steps written as ``step_format`` (default ``"{label}: {content}\\n"``).
Each label has its own content grammar, and LTLf rules (docs/LTL.md) constrain the order of
the labels. The spec compiles to an ordinary ``constrain.Grammar`` whose language is every
trace that satisfies all rules with each step's content in its own grammar: the product of
the rules' label DFA with the step grammars (state q of the DFA becomes a nonterminal
``S_q -> STEP_l S_δ(q,l) | ε (q accepting)``). See docs/AGENTS.md.
"""

from __future__ import annotations

import difflib
import string
import tomllib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Iterable, Mapping, Optional, Sequence, Union

from ..automata.cfg import Cfg, inline_ignore, prefixed
from ..automata.dfa import dfa_from_strings
from ..automata.ltl import (Atom, Formula, LabelDFA, LTLError, _Binary, _Unary, compile_ltl,
                            parse_ltl)
from ..errors import GrammarError
from ..grammar import Grammar
from ..grammars import DIRECTORY as _GRAMMARS_DIR

if TYPE_CHECKING:
    from .runner import AgentRunner

AGENTS_DIR = _GRAMMARS_DIR / "agents"
LINE = r"[^\n]*"                       # the default content: one line of text
TOOL_NAME = r"[A-Za-z_][A-Za-z0-9_]*"  # a tool's name when the tool list is not known yet


class AgentSpecError(GrammarError):
    """An agent specification that cannot be built (bad step, format, rules or file)."""


class Environment:
    """Marks a step whose content the application writes (tool results, evaluator feedback).

    In the grammar the content is ``content`` (default: one line of text, ``[^\\n]*``); a
    runner pauses generation when such a step begins and appends the text itself with
    ``Matcher.accept_bytes``. ``content`` takes the same forms as any step content.
    """

    def __init__(self, content: Any = None):
        if isinstance(content, (Environment, _Tools)):
            raise AgentSpecError("Environment(...) content cannot itself be a marker")
        self.content = content

    def __repr__(self) -> str:
        return "ENVIRONMENT" if self.content is None else f"Environment({self.content!r})"


class _Tools:
    """Placeholder content: the name of one tool, filled in by ``AgentSpec.with_tools``."""

    def __repr__(self) -> str:
        return "TOOLS"


ENVIRONMENT = Environment()
TOOLS = _Tools()

StepContent = Union[None, str, Grammar, dict, bool, Sequence[str], Environment, _Tools]


@dataclass(frozen=True)
class Step:
    """One step of a trace: its label, its content text, and its byte span in the trace."""

    label: str
    content: str
    start: int
    end: int


@dataclass(frozen=True)
class CheckResult:
    """What ``AgentSpec.check`` found. True (``bool(result)``) iff the trace is valid.

    ``message`` explains the first problem; ``rule`` is the violated rule's text (None if the
    problem is not a rule); ``step_index`` the 0-based step where it shows (``len(steps)``
    when the trace ends too early; None when the text could not be split at all there) and
    ``label`` that step's label.
    """

    ok: bool
    steps: tuple[Step, ...]
    message: str = ""
    rule: Optional[str] = None
    step_index: Optional[int] = None
    label: Optional[str] = None

    def __bool__(self) -> bool:
        return self.ok

    def __str__(self) -> str:
        return "ok" if self.ok else self.message


class AgentSpec:
    """An agent's trace format: a grammar per step label and LTLf rules over the labels.

    Args:
        steps: label -> content, in a fixed order. A content is ``None`` (one line of text),
            a regex ``str``, a ``Grammar``, a ``dict``/``bool`` JSON Schema, a list of
            choices, ``ENVIRONMENT``/``Environment(content)`` (written by the application),
            or ``TOOLS`` (one of the tool names, see ``with_tools``).
        rules: LTLf formulas over the labels, all of which must hold. A label with spaces is
            written quoted (``"Action Input"``) or with the spaces removed (``ActionInput``).
        step_format: how a step is written: exactly one ``{content}`` and at least one
            ``{label}`` before it; the text after ``{content}`` (the step's *end*, may also
            use ``{label}``) must not be empty.
        tool_steps: ``(action, action input, observation)`` labels that a runner's ``tools``
            dispatch uses; labels that are absent simply disable that dispatch.
        name, description: for messages and documentation.

    Contents should not be able to contain a step's end text (``"\\n"`` by default): the
    trace is split into steps at an end text followed by a step header, and contents that
    contain it could make a trace read two ways.
    """

    def __init__(self, steps: Mapping[str, StepContent], rules: Sequence[str] = (), *,
                 step_format: str = "{label}: {content}\n",
                 tool_steps: tuple[str, str, str] = ("Action", "Action Input", "Observation"),
                 name: str = "agent", description: str = ""):
        if not isinstance(steps, Mapping) or not steps:
            raise AgentSpecError("steps must be a non-empty mapping label -> content")
        if isinstance(rules, str):
            rules = [rules]
        self.name = name
        self.description = description
        self.steps: dict[str, StepContent] = dict(steps)
        self.labels: tuple[str, ...] = tuple(self.steps)
        self.rules: tuple[str, ...] = tuple(r if isinstance(r, str) else str(r) for r in rules)
        self.step_format = step_format
        self.tool_steps = tuple(tool_steps)
        self._header_fmt, self._end_fmt = _split_format(step_format)
        for label in self.labels:
            if not isinstance(label, str) or not label or "\n" in label:
                raise AgentSpecError(f"step label {label!r} must be a non-empty one-line str")
        self.formulas: tuple[Formula, ...] = tuple(_resolve_rule(r, self.labels) for r in rules)
        self.label_dfa: LabelDFA = compile_ltl(list(self.formulas), self.labels)
        if self.label_dfa.is_empty:
            raise AgentSpecError(f"{name}: no trace satisfies all the rules together: {list(self.rules)}")
        self._rule_dfas = tuple(compile_ltl(f, self.labels) for f in self.formulas)
        self.content_grammars: dict[str, Grammar] = {
            label: _content_grammar(label, content) for label, content in self.steps.items()}
        self._grammar: Optional[Grammar] = None

    # -- construction helpers ----------------------------------------------------

    @classmethod
    def builtin(cls, name: str, *, tools: Optional[Iterable[str]] = None,
                steps: Optional[Mapping[str, StepContent]] = None,
                rules: Sequence[str] = ()) -> "AgentSpec":
        """A spec shipped in ``grammars/agents/`` (``react``, ``reflexion``, ``cot``, ``pass``).

        ``tools`` fills the ``tools`` steps with these names; ``steps`` replaces the contents
        of the given labels; ``rules`` are added to the file's rules.
        """
        path = AGENTS_DIR / f"{name}.toml"
        if not path.is_file():
            raise AgentSpecError(f"no built-in agent spec {name!r}; there are: "
                                 f"{', '.join(cls.builtin_names())}")
        return cls.from_toml(path.read_text(encoding="utf-8"), name=name, tools=tools,
                             steps=steps, rules=rules)

    @staticmethod
    def builtin_names() -> list[str]:
        """Names of the built-in agent specs."""
        return sorted(p.stem for p in AGENTS_DIR.glob("*.toml"))

    @classmethod
    def from_toml(cls, text: str, *, name: str = "agent", tools: Optional[Iterable[str]] = None,
                  steps: Optional[Mapping[str, StepContent]] = None,
                  rules: Sequence[str] = ()) -> "AgentSpec":
        """A spec from TOML text (the format of ``grammars/agents/*.toml``, docs/AGENTS.md)."""
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as e:
            raise AgentSpecError(f"agent spec {name!r}: {e}") from None
        unknown = set(data) - {"description", "step_format", "rules", "steps", "tool_steps"}
        if unknown:
            raise AgentSpecError(f"agent spec {name!r}: unknown keys {sorted(unknown)}")
        if not isinstance(data.get("steps"), dict):
            raise AgentSpecError(f"agent spec {name!r} needs a [steps] table")
        contents = {label: _toml_content(name, label, value) for label, value in data["steps"].items()}
        for label, value in (steps or {}).items():
            if label not in contents:
                raise AgentSpecError(f"agent spec {name!r} has no step {label!r} to replace; "
                                     f"its steps are {list(contents)}")
            contents[label] = value
        kwargs = {"description": data.get("description", "")}
        if "step_format" in data:
            kwargs["step_format"] = data["step_format"]
        if "tool_steps" in data:
            kwargs["tool_steps"] = tuple(data["tool_steps"])
        spec = cls(contents, list(data.get("rules", [])) + list(rules), name=name, **kwargs)
        return spec.with_tools(tools) if tools is not None else spec

    def with_tools(self, tools: Iterable[str]) -> "AgentSpec":
        """The same spec with every ``TOOLS`` step restricted to these tool names."""
        names = list(tools)
        if not names:
            raise AgentSpecError("with_tools needs at least one tool name")
        steps = {label: (names if isinstance(c, _Tools) else c) for label, c in self.steps.items()}
        return AgentSpec(steps, self.rules, step_format=self.step_format,
                         tool_steps=self.tool_steps, name=self.name, description=self.description)

    # -- the grammar ---------------------------------------------------------------

    @property
    def environment_labels(self) -> tuple[str, ...]:
        """Labels whose content the application writes."""
        return tuple(l for l, c in self.steps.items() if isinstance(c, Environment))

    @property
    def has_tool_placeholder(self) -> bool:
        """True iff some step is ``TOOLS`` (one tool name, not yet bound)."""
        return any(isinstance(c, _Tools) for c in self.steps.values())

    def header(self, label: str) -> str:
        """The text that opens a step with this label (``"Thought: "``)."""
        return self._header_fmt.format(label=label)

    def end(self, label: str) -> str:
        """The text that closes a step with this label (``"\\n"``)."""
        return self._end_fmt.format(label=label)

    def format_step(self, label: str, content: str) -> str:
        """One step as written in a trace."""
        return self.header(label) + content + self.end(label)

    def to_cfg(self) -> Cfg:
        """The spec's language in the grammar IR (the label DFA times the step grammars)."""
        terminals: dict = {}
        rules: dict = {}
        for i, label in enumerate(self.labels):
            head, tail = f"agent.head{i}", f"agent.end{i}"
            terminals[head] = dfa_from_strings([self.header(label).encode()])
            terminals[tail] = dfa_from_strings([self.end(label).encode()])
            inner = prefixed(inline_ignore(self.content_grammars[label].to_cfg()), f"content{i}.")
            terminals.update(inner.terminals)
            rules.update(inner.rules)
            rules[f"agent.step{i}"] = ((head, inner.start, tail),)
        dfa = self.label_dfa
        for q in range(dfa.n_states):
            alts = [(f"agent.step{j}", f"agent.S{int(t)}")
                    for j, t in enumerate(dfa.transitions[q]) if t >= 0]
            if dfa.accepting[q]:
                alts.append(())
            rules[f"agent.S{q}"] = tuple(alts)
        return Cfg(terminals=terminals, rules=rules, start="agent.S0")

    def grammar(self) -> Grammar:
        """The spec as a ``constrain.Grammar``: ``constrain.compile(spec.grammar(), vocab)``."""
        if self._grammar is None:
            self._grammar = Grammar.from_cfg(self.to_cfg(), kind="agent")
        return self._grammar

    # -- reading traces ---------------------------------------------------------------

    def parse(self, text: Union[str, bytes], *, final: bool = True) -> tuple[list[Step], int]:
        """Split a trace into steps: ``(steps, position)`` where ``position`` is the byte
        offset up to which the text was split (``len`` of the text if all of it).

        A step is a header, then content up to the first step end that is followed by the end
        of the text or by another step's header. With ``final=False`` (text still being
        written) an end followed by the start of a header also counts, and the unfinished last
        step is left out. When headers overlap the longest one wins.
        """
        data = text.encode("utf-8") if isinstance(text, str) else bytes(text)
        steps: list[Step] = []
        pos = 0
        while pos < len(data):
            label = self._header_at(data, pos, final=True)
            if label is None:
                break
            begin = pos + len(self.header(label).encode())
            closing = self.end(label).encode()
            search = begin
            stop = None
            while True:
                k = data.find(closing, search)
                if k < 0:
                    break
                after = k + len(closing)
                if after == len(data) or self._header_at(data, after, final=final) is not None:
                    stop = k
                    break
                search = k + 1
            if stop is None:
                break
            content = data[begin:stop].decode("utf-8", errors="replace")
            steps.append(Step(label, content, pos, stop + len(closing)))
            pos = stop + len(closing)
        return steps, pos

    def _header_at(self, data: bytes, pos: int, *, final: bool) -> Optional[str]:
        """The label whose header starts ``data`` at ``pos`` (longest), else None. With
        ``final=False`` a header cut off by the end of the data also counts."""
        best = None
        rest = data[pos:]
        for label in self.labels:
            h = self.header(label).encode()
            if rest.startswith(h) or (not final and h.startswith(rest)):
                if best is None or len(h) > len(self.header(best).encode()):
                    best = label
        return best

    def check(self, text: Union[str, bytes], *, partial: bool = False) -> CheckResult:
        """Validate a written trace (a few-shot example, a model's output).

        Returns a ``CheckResult``: false with a message naming the step, and the violated rule
        where a rule is the problem. ``partial=True`` accepts an unfinished trace: every rule
        must still be satisfiable by some continuation.
        """
        data = text.encode("utf-8") if isinstance(text, str) else bytes(text)
        steps, pos = self.parse(data, final=not partial)
        found = tuple(steps)
        open_labels: tuple[str, ...] = ()
        if pos < len(data):
            rest = data[pos:pos + 40].decode("utf-8", errors="replace")
            label = self._header_at(data, pos, final=True)
            if partial and self._is_open_step(data[pos:], label):
                open_labels = (label,) if label is not None else ()
            elif label is None:
                msg = (f"step {len(steps)} at byte {pos} does not start with a step header "
                       f"(one of {[self.header(l) for l in self.labels]}): {rest!r}")
                return CheckResult(False, found, msg, step_index=len(steps))
            elif partial:
                msg = (f"step {len(steps)} ({label!r}): the unfinished content cannot continue "
                       f"in the step's grammar: {rest!r}")
                return CheckResult(False, found, msg, step_index=len(steps), label=label)
            else:
                msg = f"step {len(steps)} ({label!r}) at byte {pos} has no end {self.end(label)!r}"
                return CheckResult(False, found, msg, step_index=len(steps), label=label)
        for i, step in enumerate(steps):
            content = data[step.start + len(self.header(step.label).encode()):
                           step.end - len(self.end(step.label).encode())]
            if not self.content_grammars[step.label].matches(content):
                closing = self.end(step.label).encode()
                cut = content.find(closing)
                if cut >= 0 and self.content_grammars[step.label].matches(content[:cut]):
                    # Most likely a line that is not a step, rather than a multi-line content.
                    at = step.end - len(closing) - len(content) + cut + len(closing)
                    rest = data[at:at + 40].decode("utf-8", errors="replace")
                    return CheckResult(False, found[:i], f"step {i + 1} at byte {at} does not "
                                       f"start with a step header (one of "
                                       f"{[self.header(l) for l in self.labels]}): {rest!r}",
                                       step_index=i + 1)
                return CheckResult(False, found, f"step {i} ({step.label!r}): content "
                                   f"{step.content!r} is not in the step's grammar",
                                   step_index=i, label=step.label)
        result = self._check_rules(found + tuple(Step(l, "", pos, len(data)) for l in open_labels),
                                   partial)
        return CheckResult(result.ok, found, result.message, result.rule, result.step_index,
                           result.label)

    def _is_open_step(self, rest: bytes, label: Optional[str]) -> bool:
        """True iff ``rest`` (the text after the last complete step) can still grow into a step."""
        if label is None:
            return any(self.header(l).encode().startswith(rest) for l in self.labels)
        content = rest[len(self.header(label).encode()):]
        grammar = self.content_grammars[label]
        if grammar.is_prefix(content):
            return True
        closing = self.end(label).encode()
        return any(content.endswith(closing[:k]) and grammar.matches(content[:-k])
                   for k in range(1, len(closing)))

    def check_labels(self, labels: Sequence[str], *, partial: bool = False) -> CheckResult:
        """Check only the rules on a sequence of labels (no contents)."""
        for i, lab in enumerate(labels):
            if lab not in self.labels:
                return CheckResult(False, (), f"step {i}: unknown label {lab!r}", step_index=i,
                                   label=lab)
        return self._check_rules(tuple(Step(l, "", 0, 0) for l in labels), partial)

    def _check_rules(self, steps: tuple[Step, ...], partial: bool) -> CheckResult:
        labels = [s.label for s in steps]
        worst: Optional[tuple[int, int]] = None      # (step index, rule index)
        for r, dfa in enumerate(self._rule_dfas):
            at = _violation(dfa, labels, partial)
            if at is not None and (worst is None or at < worst[0]):
                worst = (at, r)
        if worst is not None:
            at, r = worst
            rule = self.rules[r]
            if at < len(labels):
                msg = (f"step {at} ({labels[at]!r}) violates rule {rule!r}: no continuation "
                       f"of steps 0..{at} satisfies it")
                return CheckResult(False, steps, msg, rule, at, labels[at])
            count = f"{len(labels)} step" + ("" if len(labels) == 1 else "s")
            msg = f"the trace ends after {count} without satisfying rule {rule!r}"
            return CheckResult(False, steps, msg, rule, len(labels), None)
        at = _violation(self.label_dfa, labels, partial)
        if at is not None:
            # Each rule alone is still satisfiable, only their conjunction is not.
            label = labels[at] if at < len(labels) else None
            msg = f"steps 0..{at} cannot be continued to satisfy all rules together"
            return CheckResult(False, steps, msg, None, at, label)
        return CheckResult(True, steps)

    # -- running -------------------------------------------------------------------

    def runner(self, model, tokenizer, tools: Optional[Mapping[str, Callable[[str], str]]] = None,
               **options) -> "AgentRunner":
        """An ``AgentRunner`` that generates traces with ``model``, calling ``tools`` (name ->
        function of the action input returning the observation) where the environment speaks.
        Options: see ``constrain.ltl.runner.AgentRunner``."""
        from .runner import AgentRunner

        return AgentRunner(self, model, tokenizer, tools=tools, **options)

    def __repr__(self) -> str:
        return (f"AgentSpec({self.name!r}, labels={list(self.labels)}, {len(self.rules)} rules, "
                f"{self.label_dfa.n_states} DFA states)")


# ---------------------------------------------------------------------------
# Helpers


def _split_format(step_format: str) -> tuple[str, str]:
    """``(header format, end format)`` from ``step_format``, validated."""
    if not isinstance(step_format, str):
        raise AgentSpecError("step_format must be a str")
    try:
        fields = [f for _, f, spec, conv in string.Formatter().parse(step_format) if f is not None]
    except ValueError as e:
        raise AgentSpecError(f"bad step_format {step_format!r}: {e}") from None
    if fields.count("content") != 1 or set(fields) - {"label", "content"}:
        raise AgentSpecError(f"step_format {step_format!r} must contain {{content}} once and "
                             "otherwise only {label} fields")
    head, tail = step_format.split("{content}")
    if "{label}" not in head:
        raise AgentSpecError(f"step_format {step_format!r} needs {{label}} before {{content}}")
    if not tail:
        raise AgentSpecError(f"step_format {step_format!r} needs text after {{content}} that "
                             "ends a step (such as a newline)")
    return head, tail


def _resolve_rule(rule: Union[str, Formula], labels: tuple[str, ...]) -> Formula:
    """Parse a rule and map atoms written without spaces (``ActionInput``) to their labels."""
    if isinstance(rule, Formula):
        text, tree = None, rule
    elif isinstance(rule, str):
        text, tree = rule, parse_ltl(rule)
    else:
        raise TypeError(f"a rule must be a str or a Formula, not {type(rule).__name__}")
    aliases = {lab.replace(" ", ""): lab for lab in labels if " " in lab}

    def resolve(node: Formula) -> Formula:
        if isinstance(node, Atom):
            if node.name in labels:
                return node
            if node.name in aliases:
                return Atom(aliases[node.name], node.column)
            close = difflib.get_close_matches(node.name, list(labels) + list(aliases), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise LTLError(f"unknown label {node.name!r}{hint}", text,
                           node.column if text is not None else None,
                           note=f"the labels are {list(labels)}")
        if isinstance(node, _Unary):
            return type(node)(resolve(node.operand))
        if isinstance(node, _Binary):
            return type(node)(resolve(node.left), resolve(node.right))
        return node

    return resolve(tree)


def _content_grammar(label: str, content: StepContent) -> Grammar:
    """The grammar of one step's content."""
    where = f"step {label!r}"
    if isinstance(content, Environment):
        return _content_grammar(label, content.content)
    if isinstance(content, _Tools):
        return Grammar.from_regex(TOOL_NAME)
    if content is None:
        return Grammar.from_regex(LINE)
    if isinstance(content, Grammar):
        return content
    if isinstance(content, str):
        try:
            return Grammar.from_regex(content)
        except GrammarError as e:
            raise AgentSpecError(f"{where}: {e}") from None
    if isinstance(content, (dict, bool)):
        from_schema = getattr(Grammar, "from_json_schema", None)
        if from_schema is None:
            raise AgentSpecError(f"{where}: JSON Schema contents need Grammar.from_json_schema, "
                                 "which this build of constrain does not have")
        return from_schema(content)
    if isinstance(content, (list, tuple)):
        return Grammar.from_choices(content)
    raise AgentSpecError(f"{where}: unsupported content {content!r} (use None, a regex str, a "
                         "Grammar, a JSON Schema dict, a list of choices, ENVIRONMENT or TOOLS)")


_TOML_KEYWORDS = {"line": None, "environment": ENVIRONMENT, "tools": TOOLS}


def _toml_content(spec: str, label: str, value: Any) -> StepContent:
    """A step content as written in a spec file (see docs/AGENTS.md)."""
    where = f"agent spec {spec!r}, step {label!r}"
    if isinstance(value, str):
        if value not in _TOML_KEYWORDS:
            raise AgentSpecError(f"{where}: unknown content {value!r}; use one of "
                                 f"{sorted(_TOML_KEYWORDS)} or a table such as {{regex = '...'}}")
        return _TOML_KEYWORDS[value]
    if not isinstance(value, dict):
        raise AgentSpecError(f"{where}: a content is a keyword or a table, not {value!r}")
    env = bool(value.get("environment", False))
    kinds = [k for k in ("regex", "choices", "schema", "builtin") if k in value]
    if len(kinds) > 1 or set(value) - {"regex", "choices", "schema", "builtin", "environment"}:
        raise AgentSpecError(f"{where}: a content table has one of regex, choices, schema, "
                             f"builtin (and optionally environment = true), got {sorted(value)}")
    kind = kinds[0] if kinds else None
    content: StepContent = None
    if kind == "builtin":
        content = Grammar.builtin(value["builtin"])
    elif kind is not None:
        content = value[kind]
    return Environment(content) if env else content


def _violation(dfa: LabelDFA, labels: Sequence[str], partial: bool) -> Optional[int]:
    """The first step at which ``labels`` leaves ``dfa``'s viable prefixes, ``len(labels)``
    if it ends in a rejecting state (and not ``partial``), else None."""
    if dfa.is_empty:
        return 0
    state = 0
    for i, lab in enumerate(labels):
        state = int(dfa.transitions[state, dfa.label_index(lab)])
        if state < 0:
            return i
    if not partial and not dfa.accepting[state]:
        return len(labels)
    return None
