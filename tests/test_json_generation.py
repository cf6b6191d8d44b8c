"""constrain.generate_json, the `generate`/`compile` commands and the JSON demo, with tiny random
Llama models and real tokenizers: every returned value must validate against its schema."""

from __future__ import annotations

import io
import json
from typing import List, Literal

import jsonschema
import pytest
import torch

import constrain as cn

transformers = pytest.importorskip("transformers")
pydantic = pytest.importorskip("pydantic")

from test_hf import tiny_llama  # noqa: E402

from constrain.cli import main  # noqa: E402
from constrain.demo import DEMO_SCHEMA, run_demo  # noqa: E402
from constrain.errors import IncompleteOutputError  # noqa: E402
from constrain.json_generation import generate_json  # noqa: E402

SCHEMA = {
    "type": "object",
    "properties": {"name": {"type": "string", "maxLength": 8},
                   "age": {"type": "integer", "minimum": 0, "maximum": 120},
                   "ok": {"type": "boolean"}},
    "required": ["name", "age", "ok"],
    "additionalProperties": False,
}
PROMPTS = ["Person:", "Describe one more person, as JSON, please:"]
CHAT_TEMPLATE = ("{% for m in messages %}<{{ m['role'] }}>{{ m['content'] }}\n{% endfor %}"
                 "{% if add_generation_prompt %}<assistant>{% endif %}")


class Person(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(extra="forbid")
    name: str = pydantic.Field(max_length=8)
    age: int = pydantic.Field(ge=0, le=120)
    tags: List[Literal["red", "blue"]] = pydantic.Field(max_length=2)


def valid(value, schema=SCHEMA) -> bool:
    jsonschema.Draft202012Validator(schema).validate(value)
    return True


@pytest.fixture(scope="module")
def llama(load_hf_tokenizer):
    """A function: tokenizer name -> (hf tokenizer, tiny random model for its vocabulary)."""
    def get(name, seed=0):
        tokenizer = load_hf_tokenizer(name)
        return tokenizer, tiny_llama(len(tokenizer), seed=seed)
    return get


@pytest.mark.parametrize("name", ["llama3-128k", "llama2-32k"])
@pytest.mark.parametrize("sample", [False, True], ids=["greedy", "sample"])
def test_dict_schema_batch(llama, name, sample):
    tokenizer, model = llama(name)
    torch.manual_seed(1)
    values = generate_json(model, tokenizer, PROMPTS, SCHEMA, max_new_tokens=64, do_sample=sample)
    assert isinstance(values, list) and len(values) == 2
    assert all(valid(v) for v in values)


@pytest.mark.parametrize("name", ["llama3-128k", "llama2-32k"])
def test_pydantic_model(llama, name):
    tokenizer, model = llama(name, seed=1)
    torch.manual_seed(2)
    people = generate_json(model, tokenizer, PROMPTS, Person, max_new_tokens=96, do_sample=True)
    assert len(people) == 2 and all(isinstance(p, Person) for p in people)
    one = generate_json(model, tokenizer, "Person:", Person, max_new_tokens=96)
    assert isinstance(one, Person)
    assert valid(one.model_dump(), Person.model_json_schema())


def test_return_sequences_are_grouped(llama):
    tokenizer, model = llama("llama2-32k")
    torch.manual_seed(3)
    grouped = generate_json(model, tokenizer, PROMPTS, SCHEMA, max_new_tokens=64,
                            do_sample=True, num_return_sequences=2)
    assert [len(g) for g in grouped] == [2, 2] and all(valid(v) for g in grouped for v in g)


@pytest.mark.parametrize("name", ["llama3-128k", "llama2-32k"])
def test_max_new_tokens_too_small_raises_with_partial_text(llama, name):
    tokenizer, model = llama(name)
    with pytest.raises(IncompleteOutputError) as info:
        generate_json(model, tokenizer, PROMPTS, SCHEMA, max_new_tokens=3)
    text = info.value.text
    assert isinstance(info.value, cn.ConstrainError)
    assert text.startswith("{") and cn.Grammar.from_json_schema(SCHEMA).is_prefix(text)
    assert not cn.Grammar.from_json_schema(SCHEMA).matches(text)


def test_chat_messages(llama, tokenizer_dir):
    tokenizer, model = llama("llama3-128k")
    messages = [{"role": "user", "content": "Give me a person."}]
    assert valid(generate_json(model, tokenizer, messages, SCHEMA, max_new_tokens=64))
    batch = generate_json(model, tokenizer, [messages, messages + messages], SCHEMA,
                          max_new_tokens=64, do_sample=True)
    assert len(batch) == 2 and all(valid(v) for v in batch)

    llama2 = transformers.AutoTokenizer.from_pretrained(str(tokenizer_dir("llama2-32k")))
    model2 = tiny_llama(len(llama2))
    assert not llama2.chat_template
    with pytest.raises(ValueError, match="chat template"):
        generate_json(model2, llama2, messages, SCHEMA)
    llama2.chat_template = CHAT_TEMPLATE  # a fresh tokenizer: the shared one stays untouched
    assert valid(generate_json(model2, llama2, messages, SCHEMA, max_new_tokens=64))


def test_bad_prompt_types(llama):
    tokenizer, model = llama("llama2-32k")
    with pytest.raises(TypeError):
        generate_json(model, tokenizer, [], SCHEMA)
    with pytest.raises(TypeError):
        generate_json(model, tokenizer, ["a", [{"role": "user", "content": "b"}]], SCHEMA)


# ----------------------------------------------------------------- the command line


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory, llama):
    tokenizer, model = llama("llama2-32k")
    folder = tmp_path_factory.mktemp("tiny-llama")
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    (folder / "person.json").write_text(json.dumps(SCHEMA))
    (folder / "code.gbnf").write_text('root ::= [0-9] [0-9] "-" ("ab" | "cd")\n')
    return folder


def cli(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_generate(model_dir, capsys):
    code, out, err = cli(capsys, "generate", "--model", model_dir, "--schema",
                         model_dir / "person.json", "--prompt", "Person:", "-n", "2",
                         "--max-new-tokens", "64", "--temperature", "0.8", "--seed", "0")
    assert code == 0, err
    lines = out.splitlines()
    assert len(lines) == 2 and all(valid(json.loads(line)) for line in lines)

    code, out, err = cli(capsys, "generate", "--model", model_dir, "--grammar",
                         model_dir / "code.gbnf", "--prompt", "Code:")
    assert code == 0, err
    assert cn.Grammar.from_gbnf((model_dir / "code.gbnf").read_text()).matches(out.strip())
    code, out, _ = cli(capsys, "generate", "--model", model_dir, "--choices", "yes,no",
                       "--prompt", "Sure?")
    assert code == 0 and out.strip() in ("yes", "no")
    code, out, err = cli(capsys, "generate", "--model", model_dir, "--regex", r"\d{40}",
                         "--prompt", "Digits:", "--max-new-tokens", "2")
    assert code == 1 and "max-new-tokens" in err


def test_cli_compile(model_dir, capsys):
    for option, value in [("--schema", model_dir / "person.json"),
                          ("--grammar", model_dir / "code.gbnf"), ("--regex", r"[a-z]+@\d{2}")]:
        code, out, err = cli(capsys, "compile", "--tokenizer", model_dir, option, value)
        assert code == 0, err
        assert "grammar:" in out and "KiB" in out and " ms" in out


def test_cli_errors(model_dir, tmp_path, capsys):
    (tmp_path / "bad.json").write_text("{not json")
    (tmp_path / "g.txt").write_text("root ::= \"a\"")
    cases = [
        ("generate", "--model", tmp_path / "missing", "--regex", "a", "--prompt", "x"),
        ("generate", "--model", model_dir, "--schema", tmp_path / "bad.json", "--prompt", "x"),
        ("generate", "--model", model_dir, "--schema", tmp_path / "none.json", "--prompt", "x"),
        ("compile", "--tokenizer", tmp_path, "--regex", "a"),
        ("compile", "--tokenizer", model_dir, "--grammar", tmp_path / "g.txt"),
        ("compile", "--tokenizer", model_dir, "--regex", "(a"),
    ]
    for argv in cases:
        code, out, err = cli(capsys, *argv)
        assert code == 2 and err.startswith("constrain "), (argv, code, err)


# ----------------------------------------------------------------- the demo


def test_demo_json_part_on_a_byte_vocabulary():
    tokens = [bytes([b]) for b in range(256)] + [b""]
    vocab = cn.Vocabulary.from_token_bytes(tokens, eos_token_ids=[256])
    out = io.StringIO()
    run_demo(out, samples=3, max_tokens=100, vocab=vocab)
    lines = out.getvalue().splitlines()
    outputs = [line.split("json -> ", 1)[1] for line in lines if "json -> " in line]
    assert outputs, out.getvalue()
    assert len(outputs) + sum("cut at" in line for line in lines) == 3
    assert all(valid(json.loads(text), DEMO_SCHEMA) for text in outputs)
    assert "INVALID" not in out.getvalue()
