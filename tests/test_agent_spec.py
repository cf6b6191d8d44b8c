"""AgentSpec: one grammar for an agent trace from step grammars and LTLf rules.

The combined grammar is checked against the independent LTLf evaluator
(``reference.ltl_eval.holds``): uniform random walks under its masks (byte-level toy
vocabulary) end in traces satisfying every rule and never meet an empty mask, and every label
sequence up to length 5 is producible exactly when it satisfies the rules. ``check`` must
name the violated rule and step. An end-to-end ReAct loop runs a tiny random Llama with a fake
tool, the observations injected by the runner.
"""

from __future__ import annotations

import itertools
import random

import numpy as np
import pytest

import constrain as cn
from constrain.automata.cfg import inline_ignore, prefixed
from constrain.ltl import (ENVIRONMENT, TOOLS, AgentSpec, AgentSpecError, Environment, LTLError,
                           Step)
from constrain.ltl.runner import AgentRunError, AgentRunner, _Trace
from reference.ltl_eval import holds
from walks import random_walk


def byte_vocab():
    """Every single byte, some multi-byte tokens that cross step boundaries, and EOS."""
    tokens = [bytes([b]) for b in range(256)]
    tokens += [b"\nA", b": ", b"Thought: ", b"a\n", b"ab", b"Observation: x", b"ion", b"\nF",
               b"12", b"\xc3\xa9"]
    tokens.append(b"")
    return cn.Vocabulary.from_token_bytes(tokens, eos_token_ids=[len(tokens) - 1])


BYTES = byte_vocab()

# Small contents keep random walks short; each sample value is in its content's language.
SMALL = {"Thought": r"[a-c ]{1,4}", "Action Input": r"[0-9]{0,2}", "Final Answer": r"a|bb",
         "Answer": r"[ab]", "Reflection": r"r{1,3}", "Plan": r"p[a-z]?", "Summary": r"s",
         "Solution": r"[0-9]"}
SAMPLE = {"Thought": "ab c", "Action": "calc", "Action Input": "12", "Observation": "x y",
          "Final Answer": "bb", "Answer": "a", "Feedback": "wrong", "Reflection": "rr",
          "Plan": "pq", "Summary": "s", "Solution": "7"}
TOOL_NAMES = ["calc", "search"]


def small(name: str) -> AgentSpec:
    """A built-in spec with small contents (and small environment contents)."""
    spec = AgentSpec.builtin(name, tools=TOOL_NAMES)
    steps = {label: SMALL[label] for label in spec.labels if label in SMALL}
    steps.update({label: Environment(r"[a-z ]{0,5}") for label in spec.environment_labels})
    return AgentSpec.builtin(name, tools=TOOL_NAMES, steps=steps)


def custom() -> AgentSpec:
    """A spec exercising U, R, W, <->, quoted labels and the empty trace."""
    return AgentSpec(
        {"Ask": r"q", "Tool Call": ["t1", "t2"], "Result": Environment(r"r?"), "Say": None},
        ['G("Tool Call" -> X Result)', "G(Result -> WX !Result)",
         "(!Say) W Ask", "G(Say <-> WX false) | G !Say", "F ToolCall -> F Say"],
        step_format="<{label}>{content}</{label}>\n")


def labels_of(spec: AgentSpec, text: bytes) -> list[str]:
    steps, pos = spec.parse(text)
    assert pos == len(text), text
    return [s.label for s in steps]


def trace_text(spec: AgentSpec, labels) -> str:
    return "".join(spec.format_step(l, SAMPLE.get(l, {"Ask": "q", "Tool Call": "t2", "Result": "r",
                                                       "Say": "hi"}.get(l, ""))) for l in labels)


# ---------------------------------------------------------------------------
# Building specs


def test_builtin_specs_load_and_compile():
    assert {"react", "reflexion", "cot", "pass"} <= set(AgentSpec.builtin_names())
    for name in AgentSpec.builtin_names():
        spec = AgentSpec.builtin(name)
        assert spec.description
        grammar = spec.grammar()
        assert isinstance(grammar, cn.Grammar) and grammar.kind == "agent"
        cn.compile(grammar, BYTES, cache_on_disk=False).matcher()


def test_builtin_examples_check():
    react = AgentSpec.builtin("react", tools=["search"])
    text = ("Thought: I should look it up\nAction: search\nAction Input: capital of France\n"
            "Observation: Paris\nThought: I know it now\nFinal Answer: Paris\n")
    assert react.check(text) and react.grammar().matches(text)
    cot = AgentSpec.builtin("cot")
    assert cot.check("Thought: 2 + 2 = 4\nThought: so 4\nFinal Answer: 4\n")
    pas = AgentSpec.builtin("pass")
    assert pas.check("Plan: add\nAction: calc\nAction Input: 2+2\nObservation: 4\n"
                     "Summary: it is 4\nSolution: 4\n")
    reflexion = AgentSpec.builtin("reflexion")
    assert reflexion.check("Thought: guess\nAnswer: 5\nFeedback: wrong\nReflection: compute it\n"
                           "Thought: 2+2\nAction: calc\nAction Input: 2+2\nObservation: 4\n"
                           "Thought: so 4\nAnswer: 4\nFeedback: right\n")


def test_rule_labels_quoted_or_without_spaces():
    steps = {"Action": None, "Action Input": None}
    a = AgentSpec(steps, ["G(Action -> X ActionInput)"])
    b = AgentSpec(steps, ['G(Action -> X "Action Input")'])
    assert np.array_equal(a.label_dfa.transitions, b.label_dfa.transitions)
    assert a.formulas == b.formulas
    with pytest.raises(LTLError, match=r"unknown label 'ActionInptu' \(did you mean 'ActionInput'") as e:
        AgentSpec(steps, ["G(Action -> X ActionInptu)"])
    assert e.value.column == 15


def test_bad_specs_are_named():
    with pytest.raises(AgentSpecError, match="no trace satisfies"):
        AgentSpec({"A": None}, ["A", "!A"])
    with pytest.raises(AgentSpecError, match="step 'A'.*position"):
        AgentSpec({"A": "(a"})
    with pytest.raises(AgentSpecError, match=r"\{content\} once"):
        AgentSpec({"A": None}, step_format="{label}: \n")
    with pytest.raises(AgentSpecError, match="text after"):
        AgentSpec({"A": None}, step_format="{label}: {content}")
    with pytest.raises(AgentSpecError, match="unsupported content"):
        AgentSpec({"A": 3})
    with pytest.raises(AgentSpecError, match="no built-in agent spec 'nope'"):
        AgentSpec.builtin("nope")
    with pytest.raises(AgentSpecError, match="unknown content 'lines'"):
        AgentSpec.from_toml('[steps]\nA = "lines"\n')
    with pytest.raises(AgentSpecError, match="no step 'Nope' to replace"):
        AgentSpec.builtin("cot", steps={"Nope": None})


def test_toml_content_tables():
    spec = AgentSpec.from_toml("""
rules = ["G(A -> X B)"]
[steps]
A = {regex = "[0-9]+"}
B = {choices = ["x", "y"], environment = true}
C = {builtin = "json"}
""")
    assert spec.environment_labels == ("B",)
    assert spec.check('A: 12\nB: y\nC: {"k": [1, 2]}\n')
    assert not spec.check("A: 12\nB: z\n")


def test_with_tools_and_placeholder():
    spec = AgentSpec.builtin("react")
    assert spec.has_tool_placeholder
    assert spec.content_grammars["Action"].matches("any_tool")
    bound = spec.with_tools(["calc", "web search"])
    assert not bound.has_tool_placeholder
    assert bound.content_grammars["Action"].matches("web search")
    assert not bound.content_grammars["Action"].matches("any_tool")


def test_prefixed_and_inline_ignore_embed_a_grammar():
    json_cfg = cn.Grammar.builtin("json").to_cfg()
    embedded = prefixed(inline_ignore(json_cfg), "x.")
    assert all(name.startswith("x.") for name in list(embedded.terminals) + list(embedded.rules))
    assert embedded.ignore == ()
    g = cn.Grammar.from_cfg(embedded)
    assert g.matches(' { "a" : [1, 2] } ') and not g.matches("{")


# ---------------------------------------------------------------------------
# The combined grammar against the LTLf evaluator


@pytest.mark.parametrize("name,longest", [("react", 5), ("reflexion", 5), ("cot", 5),
                                          ("pass", 6), ("custom", 5)])
def test_label_sequences_exactly_producible(name, longest):
    """Up to length 5 (6 for Plan-Act-Summarize-Solve, whose shortest trace has 6 steps)."""
    spec = custom() if name == "custom" else small(name)
    grammar = spec.grammar()
    produced = 0
    for n in range(longest + 1):
        for seq in itertools.product(spec.labels, repeat=n):
            expected = all(holds(f, seq) for f in spec.formulas)
            assert spec.label_dfa.accepts(seq) == expected, seq
            text = trace_text(spec, seq)
            assert grammar.matches(text) == expected, text
            produced += expected
            if expected or random.Random(" ".join(seq)).random() < 0.02:
                assert bool(spec.check(text)) == expected, text
    assert produced > 0


@pytest.mark.parametrize("name", ["react", "reflexion", "cot", "pass", "custom"])
def test_random_walks_satisfy_every_rule(name):
    spec = custom() if name == "custom" else small(name)
    compiled = cn.compile(spec.grammar(), BYTES, cache_on_disk=False)
    rng = np.random.default_rng(7)
    finished = 0
    for _ in range(60):
        text, ended = random_walk(compiled, BYTES, rng, max_tokens=300)
        result = spec.check(text, partial=not ended)
        assert result, (text, result.message)
        if ended:
            finished += 1
            labels = labels_of(spec, text)
            for rule, formula in zip(spec.rules, spec.formulas):
                assert holds(formula, labels), (rule, labels)
            for step in result.steps:
                assert spec.content_grammars[step.label].matches(step.content)
    assert finished >= 30


def test_empty_trace_follows_the_rules():
    assert custom().grammar().matches("")          # every rule holds on the empty trace
    assert not small("react").grammar().matches("")  # "Thought" needs a first step


# ---------------------------------------------------------------------------
# check()


REACT_OK = ["Thought", "Action", "Action Input", "Observation", "Thought", "Final Answer"]


def test_check_names_rule_and_step():
    spec = small("react")
    missing = [l for i, l in enumerate(REACT_OK) if i != 3]            # no Observation
    r = spec.check(trace_text(spec, missing))
    assert not r and r.rule == "G(ActionInput -> X Observation)"
    assert r.step_index == 3 and r.label == "Thought"
    assert "step 3 ('Thought') violates rule 'G(ActionInput -> X Observation)'" in r.message

    r = spec.check(trace_text(spec, REACT_OK[:5]))                      # no answer
    assert not r and r.step_index == 5 and r.label is None
    assert r.rule in ("F FinalAnswer", "G(Thought -> X(Action | FinalAnswer))")
    assert spec.check(trace_text(spec, REACT_OK[:5]), partial=True)

    r = spec.check(trace_text(spec, REACT_OK + ["Thought"]))            # after the answer
    assert r.rule == "G(FinalAnswer -> WX false)" and r.step_index == 6


def test_check_contents_and_layout():
    spec = small("react")
    text = trace_text(spec, REACT_OK)
    assert [s.label for s in spec.check(text).steps] == REACT_OK
    bad = text.replace("Action: calc", "Action: google")
    r = spec.check(bad)
    assert not r and r.step_index == 1 and r.label == "Action" and "google" in r.message
    r = spec.check("Thought: ab\nOops: x\n")
    assert not r and r.step_index == 1 and "does not start with a step header" in r.message
    r = spec.check("Thought: ab")
    assert not r and "has no end" in r.message
    assert spec.check_labels(REACT_OK) and not spec.check_labels(["Action"])


def test_check_custom_format_and_json_content():
    spec = custom()
    assert spec.check("<Ask>q</Ask>\n<Tool Call>t1</Tool Call>\n<Result>r</Result>\n<Say>ok</Say>\n")
    r = spec.check("<Ask>q</Ask>\n<Tool Call>t1</Tool Call>\n<Say>ok</Say>\n")
    assert r.rule == 'G("Tool Call" -> X Result)' and r.step_index == 2
    json_spec = AgentSpec({"Call": ["f"], "Args": cn.Grammar.builtin("json")},
                          ["G(Call -> X Args)"])
    assert json_spec.check('Call: f\nArgs: {"x": [1, {"y": null}]}\n')
    assert not json_spec.check('Call: f\nArgs: {"x": \n')


# ---------------------------------------------------------------------------
# The runner: a tiny random Llama, a fake tool, observations injected


def tiny_llama(vocab_size: int, seed: int = 0):
    transformers = pytest.importorskip("transformers")
    import torch

    torch.manual_seed(seed)
    config = transformers.LlamaConfig(
        vocab_size=vocab_size, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
        num_key_value_heads=2, intermediate_size=64, tie_word_embeddings=True,
        initializer_range=0.5, max_position_embeddings=1024)
    return transformers.LlamaForCausalLM(config).eval()


@pytest.fixture(scope="module")
def llama(load_hf_tokenizer, load_vocab):
    tokenizer = load_hf_tokenizer("llama2-32k")
    vocab = load_vocab("llama2-32k")
    return tiny_llama(len(tokenizer)), tokenizer, vocab


def react_for_model() -> AgentSpec:
    # Bounded contents: a random model rarely stops a free line of text on its own.
    return AgentSpec.builtin("react", steps={"Thought": r"[a-z ]{1,12}",
                                             "Action Input": r"[0-9+]{1,5}",
                                             "Final Answer": r"[0-9]{1,3}"},
                             rules=["G(Action -> WX G !Action)"])   # at most one tool call


def test_react_loop_end_to_end(llama):
    model, tokenizer, vocab = llama
    calls = []

    def calc(expression: str) -> str:
        calls.append(expression)
        return f"result\n{len(expression)}"      # the newline is flattened by the runner

    runner = react_for_model().runner(model, tokenizer, {"calc": calc, "search": lambda q: "none"},
                                      vocab=vocab, max_steps=12)
    assert runner.spec.content_grammars["Action"].matches("calc")
    with_tool = 0
    for seed in range(3):
        runner.seed = seed
        run = runner.run("Solve the task.\n")
        assert run.finished and run.stop_reason == "end", run
        assert run.check(runner.spec), run.text
        assert run.steps[-1].label == "Final Answer"
        tool_calls = [s.content for s in run.steps if s.label == "Action"]
        inputs = [s.content for s in run.steps if s.label == "Action Input"]
        observations = [s.content for s in run.steps if s.label == "Observation"]
        assert run.environment_calls == len(observations) == len(tool_calls) == len(inputs)
        for tool, arg, obs in zip(tool_calls, inputs, observations):
            assert obs == (f"result {len(arg)}" if tool == "calc" else "none")
        with_tool += bool(observations)
    assert with_tool >= 1


def test_model_chosen_environment_step_is_cut_at_its_header(llama):
    """An optional environment step: the model picks its header, the environment writes it."""
    model, tokenizer, vocab = llama
    spec = AgentSpec({"Thought": r"[a-z]{1,6}", "Observation": Environment(r"[A-Z]{0,8}"),
                      "Done": r"[0-9]"},
                     ["Thought", "G(Observation -> X Thought)", "F Done",
                      "G(Done -> WX false)"])
    seen = []

    def observe(steps):
        assert steps and steps[-1].label == "Thought"
        seen.append(len(steps))
        return "OBS"

    runner = spec.runner(model, tokenizer, environment={"Observation": observe}, vocab=vocab,
                         max_steps=40, temperature=2.0)
    for seed in range(4):
        runner.seed = seed
        run = runner.run("Go.\n")
        assert run.check(spec), run.text
        assert all(s.content == "OBS" for s in run.steps if s.label == "Observation")
    assert seen, "no run chose an observation"


def test_environment_cut_inside_one_token():
    spec = AgentSpec({"Thought": r"[a-z]", "Observation": ENVIRONMENT}, [])
    runner = object.__new__(AgentRunner)       # only the spec is needed here
    runner.spec = spec
    state = _Trace()
    state.data += b"Thought: a"
    assert runner._environment_cut(state, b"\nObservation: x") == len(b"\nObservation: ")
    assert runner._environment_cut(state, b"\nObservation: ") is None
    assert runner._environment_cut(state, b"\nThought: b") is None


def test_runner_needs_a_handler_for_every_environment_step(llama):
    model, tokenizer, vocab = llama
    with pytest.raises(AgentRunError, match="no handler for the environment step 'Feedback'"):
        AgentSpec.builtin("reflexion").runner(model, tokenizer, {"calc": str}, vocab=vocab)
    with pytest.raises(AgentRunError, match="not environment steps"):
        AgentSpec.builtin("cot").runner(model, tokenizer, environment={"Thought": str},
                                        vocab=vocab)


def test_step_dataclass_spans():
    spec = small("cot")
    text = "Thought: ab\nFinal Answer: a\n"
    steps, pos = spec.parse(text)
    assert pos == len(text)
    assert steps == [Step("Thought", "ab", 0, 12), Step("Final Answer", "a", 12, len(text))]
    assert TOOLS is not None and repr(ENVIRONMENT) == "ENVIRONMENT"


def test_json_schema_content():
    schema = {"type": "object", "properties": {"q": {"type": "string"}}, "required": ["q"]}
    if not hasattr(cn.Grammar, "from_json_schema"):
        with pytest.raises(AgentSpecError, match="from_json_schema"):
            AgentSpec({"Args": schema})
        return
    spec = AgentSpec({"Call": ["f"], "Args": schema}, ["G(Call -> X Args)"])
    assert spec.check('Call: f\nArgs: {"q":"x"}\n') or spec.check('Call: f\nArgs: {"q": "x"}\n')
    assert not spec.check('Call: f\nArgs: {"q": 1}\n')
