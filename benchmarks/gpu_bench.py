"""GPU benchmark: bitmask apply time, and constrained vs unconstrained generation throughput.

Run ``python -m benchmarks.gpu_bench [--markdown docs/PERFORMANCE.md]`` on a machine with a
CUDA GPU (``python -m benchmarks gpu`` does the same; it is not part of the default run, which
must work on CPU-only machines). ``--device cpu --small`` runs the same code on the CPU with
small sizes: a check that the script works, not a measurement.

1. Apply time. For each batch size (1, 64, 1024) float32 logits ``[batch, vocab]`` on the device
   and a random int32 bitmask; timed (CUDA events, median of ``--repeat``):

   * constrain, host bitmask: ``constrain.apply_bitmask`` given the pinned CPU bitmask, as the
     logits processor does (asynchronous copy + fused Triton kernel);
   * constrain, device bitmask: the same with the bitmask already on the device (kernel only);
   * XGrammar: ``xgrammar.apply_token_bitmask_inplace`` with the device bitmask.

   Both engines' results are compared: the same logits must become -inf.

2. Throughput. A randomly initialised ``LlamaForCausalLM`` of about 0.5B parameters (vocabulary
   of the tokenizer, hidden 1024, 16 layers, bfloat16) generates ``--new-tokens`` tokens
   greedily for a batch of 64 left-padded prompts, once without a grammar and once with
   ``constrain.hf.GrammarLogitsProcessor`` for a JSON schema whose one required string is
   longer than the run, so both runs take the same number of steps (``min_new_tokens`` keeps
   EOS away from the unconstrained run). Throughput = batch x steps / seconds; the target of
   the generation layer is constrained / unconstrained >= 0.97.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import statistics
import sys
import time
from typing import Callable, Optional

import numpy as np
import torch

from benchmarks.common import fmt, publish, tokenizer_path

BATCHES = (1, 64, 1024)
THROUGHPUT_SCHEMA = {
    "type": "object",
    "properties": {"story": {"type": "string", "minLength": 100000}},
    "required": ["story"],
}
PROMPTS = ["Write a story as JSON.", "JSON please:", "Here is a long story in a JSON object, "
           "with one key, story, whose value is the whole text:", "{"]


def timer(device: torch.device) -> Callable[[Callable[[], object]], float]:
    """A function timing one call of ``fn`` in milliseconds (CUDA events on a GPU)."""
    if device.type == "cuda":
        def timed(fn):
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            start.record()
            fn()
            end.record()
            end.synchronize()
            return start.elapsed_time(end)
    else:
        def timed(fn):
            start = time.perf_counter()
            fn()
            return (time.perf_counter() - start) * 1e3
    return timed


def apply_times(device: torch.device, vocab: int, batches, repeat: int) -> list[dict]:
    """Median apply time (ms) per batch size for each way of applying a bitmask."""
    import constrain as cn
    from constrain.bitmask import bitmask_words
    try:
        import xgrammar
    except ImportError:
        xgrammar = None
    timed = timer(device)
    rows = []
    generator = torch.Generator().manual_seed(0)
    for batch in batches:
        words = bitmask_words(vocab)
        host = torch.randint(-2**31, 2**31 - 1, (batch, words), dtype=torch.int32,
                             generator=generator)
        if device.type == "cuda":
            host = host.pin_memory()
        on_device = host.to(device)
        logits = torch.randn(batch, vocab, device=device, generator=None)
        ways = {"constrain, host bitmask": lambda: cn.apply_bitmask(logits, host),
                "constrain, device bitmask": lambda: cn.apply_bitmask(logits, on_device)}
        if xgrammar is not None:
            ways["XGrammar"] = lambda: xgrammar.apply_token_bitmask_inplace(logits, on_device)
        row = {"batch": batch}
        for name, fn in ways.items():
            fn()  # warm-up: kernel compilation, allocator
            row[name] = statistics.median(timed(fn) for _ in range(repeat))
        if xgrammar is not None:
            row["agree"] = same_masking(device, vocab, host, on_device, xgrammar)
        rows.append(row)
    return rows


def same_masking(device, vocab, host, on_device, xgrammar) -> bool:
    """Whether constrain and XGrammar set exactly the same logits to -inf."""
    import constrain as cn
    ours = torch.zeros(host.shape[0], vocab, device=device)
    theirs = ours.clone()
    cn.apply_bitmask(ours, host)
    xgrammar.apply_token_bitmask_inplace(theirs, on_device)
    return bool(torch.equal(torch.isinf(ours), torch.isinf(theirs)))


def random_model(vocab: int, small: bool, device: torch.device):
    """A randomly initialised LlamaForCausalLM: about 0.5B parameters, or a tiny one."""
    import transformers
    torch.manual_seed(0)
    size = (dict(hidden_size=64, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
                 intermediate_size=128) if small else
            dict(hidden_size=1024, num_hidden_layers=16, num_attention_heads=16,
                 num_key_value_heads=8, intermediate_size=4096))
    config = transformers.LlamaConfig(vocab_size=vocab, max_position_embeddings=4096, **size)
    dtype = torch.bfloat16 if device.type == "cuda" else torch.float32
    return transformers.LlamaForCausalLM(config).to(device=device, dtype=dtype).eval()


def throughput(tokenizer_name: str, batch: int, new_tokens: int, runs: int, small: bool,
               device: torch.device) -> dict:
    """Tokens per second without and with a grammar, and their ratio."""
    from transformers import AutoTokenizer

    import constrain as cn
    from constrain.hf import GrammarLogitsProcessor

    tokenizer = AutoTokenizer.from_pretrained(tokenizer_path(tokenizer_name))
    tokenizer.padding_side = "left"
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    tokenizer.pad_token_id = pad
    vocab = cn.Vocabulary.from_tokenizer(tokenizer)
    compiled = cn.compile(cn.Grammar.from_json_schema(THROUGHPUT_SCHEMA), vocab)
    model = random_model(vocab.vocab_size, small, device)
    prompts = [PROMPTS[i % len(PROMPTS)] for i in range(batch)]
    encoded = tokenizer(prompts, return_tensors="pt", padding=True).to(device)
    kwargs = dict(**encoded, max_new_tokens=new_tokens, min_new_tokens=new_tokens,
                  do_sample=False, pad_token_id=pad, eos_token_id=list(vocab.eos_token_ids))
    timed = timer(device)
    result = {"parameters": sum(p.numel() for p in model.parameters())}
    modes = {"unconstrained": lambda: [],
             "constrained": lambda: [GrammarLogitsProcessor(compiled)]}
    times = {name: [] for name in modes}
    outputs = {}
    with torch.no_grad():
        for processors in modes.values():  # warm-up
            model.generate(**{**kwargs, "max_new_tokens": 4, "min_new_tokens": 4},
                           logits_processor=processors())
        for _ in range(runs):  # alternating, so drifting clocks hit both modes alike
            for name, processors in modes.items():
                def run():
                    outputs[name] = model.generate(**kwargs, logits_processor=processors())
                times[name].append(timed(run))
    prompt_len = encoded["input_ids"].shape[1]
    for name in modes:
        steps = outputs[name].shape[1] - prompt_len
        result[name] = batch * steps / (statistics.median(times[name]) / 1e3)
        result[name + " steps"] = steps
    if result["constrained steps"] != result["unconstrained steps"]:
        raise RuntimeError(f"the runs took {result['constrained steps']} and "
                           f"{result['unconstrained steps']} steps: throughputs not comparable")
    result["valid prefixes"] = all_viable(compiled, outputs["constrained"], prompt_len)
    result["ratio"] = result["constrained"] / result["unconstrained"]
    return result


def all_viable(compiled, output: torch.Tensor, prompt_len: int) -> bool:
    """Whether every row's generated tokens are accepted by a matcher of the grammar."""
    for row in output[:, prompt_len:].tolist():
        m = compiled.matcher()
        if not all(m.accept_token(t) for t in row):
            return False
    return True


def markdown(args, apply_rows: list[dict], through: dict, gpu: str) -> str:
    """The report block."""
    ways = [k for k in apply_rows[0] if k not in ("batch", "agree")]
    lines = [
        "## GPU: bitmask apply and generation throughput", "",
        f"command: `python -m benchmarks.gpu_bench {' '.join(args.argv)}`".rstrip(), "",
        f"- device: {gpu}; torch {torch.__version__}, transformers "
        f"{importlib.metadata.version('transformers')}" + "".join(
            f", {p} {importlib.metadata.version(p)}" for p in ("xgrammar", "triton")
            if _installed(p)),
        f"- apply: float32 logits [batch, {args.vocab:,}], random bitmask, median of "
        f"{args.repeat} (ms)",
    ]
    compared = "agree" in apply_rows[0]
    if not compared:
        lines[-1] += "; XGrammar is not installed (`pip install xgrammar` adds its kernel)"
    lines += ["", "| batch | " + " | ".join(ways) + (" | same -inf as XGrammar |" if compared
                                                     else " |"),
              "|---" * (len(ways) + 1 + compared) + "|"]
    for r in apply_rows:
        agree = (" yes |" if r["agree"] else " **no** |") if compared else ""
        lines.append(f"| {r['batch']} | " + " | ".join(fmt(r[w], 3) for w in ways) + " |"
                     + agree)
    lines += [
        "", f"- throughput: random LlamaForCausalLM, {through['parameters'] / 1e6:,.0f}M "
        f"parameters, {args.tokenizer}, batch {args.batch}, greedy, "
        f"{through['constrained steps']} steps, median of {args.runs} runs; constrained = "
        "`GrammarLogitsProcessor` with a JSON schema (one long required string)", "",
        "| unconstrained tokens/s | constrained tokens/s | ratio (target >= 0.97) | "
        "constrained rows viable |", "|---|---|---|---|",
        f"| {fmt(through['unconstrained'])} | {fmt(through['constrained'])} | "
        f"{through['ratio']:.3f} | {'yes' if through['valid prefixes'] else '**no**'} |", "",
    ]
    return "\n".join(lines)


def _installed(package: str) -> bool:
    try:
        importlib.metadata.version(package)
        return True
    except importlib.metadata.PackageNotFoundError:
        return False


def parse_args(argv: Optional[list[str]] = None) -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda", help="cuda (default) or cpu")
    parser.add_argument("--small", action="store_true",
                        help="tiny sizes, to check the script on a CPU")
    parser.add_argument("--tokenizer", default="llama3-128k")
    parser.add_argument("--vocab", type=int, default=128256, help="logits width for apply times")
    parser.add_argument("--batches", type=int, nargs="+", default=list(BATCHES))
    parser.add_argument("--repeat", type=int, default=100)
    parser.add_argument("--batch", type=int, default=64, help="throughput batch size")
    parser.add_argument("--new-tokens", type=int, default=128)
    parser.add_argument("--runs", type=int, default=3,
                        help="timed generations per mode, alternating (median taken)")
    parser.add_argument("--markdown")
    args = parser.parse_args(argv)
    args.argv = sys.argv[1:] if argv is None else list(argv)
    return args


def main(argv: Optional[list[str]] = None) -> None:
    """Run both measurements and print (and optionally write) the report."""
    args = parse_args(argv)
    device = torch.device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise SystemExit("gpu_bench: no CUDA device here (torch.cuda.is_available() is False); "
                         "use --device cpu --small to check the script on a CPU")
    gpu = torch.cuda.get_device_name(device) if device.type == "cuda" else "CPU"
    apply_rows = apply_times(device, args.vocab, args.batches, args.repeat)
    through = throughput(args.tokenizer, args.batch, args.new_tokens, args.runs, args.small,
                         device)
    publish(markdown(args, apply_rows, through, gpu), args.markdown, "gpu-bench")


if __name__ == "__main__":
    main()
