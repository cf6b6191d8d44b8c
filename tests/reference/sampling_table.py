"""Measures the table in docs/SAMPLING.md: python tests/reference/sampling_table.py

Two toy problems with exact ground truth (see toy_models.py): the skewed binary example and
Dyck words of length <= 6 under a random Dirichlet model, with tokens that give several
tokenizations. For each sampler: the exact KL of its sampling distribution from Q* where
one exists (GCD; ASAp after 100 samples; CARS and rejection sampling are exact), the TV of
the SMC estimate, model calls per sample and wall time per sample.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from reference.toy_problems import asap_distribution, dyck, skewed  # noqa: E402

from constrain.sampling import ASAp, CARS, GCD, SMC, RejectionSampler  # noqa: E402
from reference.toy_models import gcd_distribution, kl, target, tv  # noqa: E402


def rows(name, model, cg, lang, sizes=(10_000, 100, 10_000, 1_000, 10_000), max_tokens=8,
         source=None):
    """Print one table; ``model`` is the reference callable, ``source`` what samplers use."""
    q_star = target(model, lang)
    model_or_source = model
    if source is not None:
        model_or_source = source
    out = []
    n_gcd, n_asap, n_cars, n_rej, n_smc = sizes

    def timed(sampler, n):
        start = time.perf_counter()
        result = sampler.sample(n)
        return result, (time.perf_counter() - start) / n

    r, sec = timed(GCD(model_or_source, cg, seed=0, max_tokens=max_tokens), n_gcd)
    out.append((f"GCD, {n_gcd} samples", f"{kl(gcd_distribution(model, lang), q_star):.3f}",
                r.calls_per_sample, sec))
    asap = ASAp(model_or_source, cg, seed=0, max_tokens=max_tokens)
    r, sec = timed(asap, n_asap)
    out.append((f"ASAp, after {n_asap} samples",
                f"{kl(asap_distribution(model, lang, asap), q_star):.2g}",
                r.calls_per_sample, sec))
    r, sec = timed(CARS(model_or_source, cg, seed=0, max_tokens=max_tokens), n_cars)
    out.append((f"CARS, {n_cars} samples", "0 (exact)", r.calls_per_sample, sec))
    if n_rej:
        r, sec = timed(RejectionSampler(model_or_source, cg, seed=0, max_tokens=max_tokens), n_rej)
        out.append((f"rejection sampling, {n_rej} samples", "0 (exact)",
                    r.calls_per_sample, sec))
    r, sec = timed(SMC(model_or_source, cg, seed=0, max_tokens=max_tokens), n_smc)
    out.append((f"SMC, {n_smc} particles", f"TV of estimate {tv(r.posterior(), q_star):.4f}",
                r.calls_per_sample, sec))
    print(f"\n{name}: {len(q_star)} token sequences in L\n")
    print("| sampler | KL(sampler || Q*) | model calls / sample | time / sample |")
    print("|---|---|---|---|")
    for label, dist, calls, sec in out:
        print(f"| {label} | {dist} | {calls:.4g} | {_time(sec)} |")


def _time(sec: float) -> str:
    return f"{sec * 1e6:.0f} us" if sec < 1e-3 else f"{sec * 1e3:.1f} ms"


def tiny_llama():
    """The integration tests' random 2-layer Llama with the llama2-32k tokenizer."""
    import torch
    import transformers

    import constrain as cn
    from reference.toy_models import ToyLanguage

    path = Path(__file__).resolve().parents[3] / "shared" / "tokenizers" / "llama2-32k"
    vocab = cn.Vocabulary.from_pretrained(path, cache=False)
    torch.manual_seed(0)
    config = transformers.LlamaConfig(vocab_size=vocab.vocab_size, hidden_size=32,
                                      intermediate_size=64, num_hidden_layers=2,
                                      num_attention_heads=2, num_key_value_heads=2)
    model = transformers.LlamaForCausalLM(config).eval()
    words = ["yes", "no", "maybe"]
    cg = cn.compile(cn.Grammar.from_choices(words), vocab)
    lang = ToyLanguage([w.encode() for w in words], vocab.token_bytes, vocab.eos_token_ids[0])
    return model, cg, lang


if __name__ == "__main__":
    rows("skewed binary example", *skewed())
    rows("Dyck words <= 6, Dirichlet model (seed 1)", *dyck(1))
    model, cg, lang = tiny_llama()

    def reference(prefix):
        import torch
        with torch.no_grad():
            return model(input_ids=torch.tensor([[1, *prefix]])).logits[0, -1].double().numpy()
    from constrain.sampling import TransformersSource
    rows("tiny random Llama, llama2-32k tokenizer, yes|no|maybe", reference, cg, lang,
         sizes=(64, 100, 1_000, 0, 256), max_tokens=256, source=TransformersSource(model))
