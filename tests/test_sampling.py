"""Grammar-aligned samplers (constrain.sampling) against exact enumeration.

Ground truth comes from tests/reference/toy_models.py: finite languages enumerated with
Python's ``re``, masks from their byte prefixes, exact Q*(w) = P(w) 1[w in L] / P(L) and the
exact GCD distribution. Nothing here compares against hard-coded outputs.

Statistical tests use fixed seeds, so they are deterministic; their thresholds are chosen so
that a correct implementation would fail with probability below 1e-6 over the choice of seed:
* chi-square tests (bins with expected count >= 5, the rest pooled) require p > 1e-6,
  which a correct sampler fails with probability 1e-6 per chi-square test;
* SMC's total variation at 10^4 particles measured 0.0047 +- 0.0023 over 40 seeds, so the
  bound 0.02 is 6.6 standard deviations away; log P(L) is estimated within 0.012 (sd),
  checked to 0.1;
* ASAp's KL after 100 samples on the skewed example stayed below 3.4e-4 over 100 seeds
  (bound 0.01); the expected-KL decrease uses 60 runs, where every checkpoint-to-checkpoint
  mean difference measured at least 6 standard errors below zero.
"""

from __future__ import annotations

import math
from collections import Counter

import numpy as np
import pytest

import constrain as cn
from constrain.sampling import (ASAp, CARS, GCD, SMC, CallableSource, PrefixTrie,
                                RejectionSampler, SamplingError, TransformersSource,
                                as_source)
from reference.toy_models import (ToyLanguage, dirichlet_model, future_grammaticality,
                                  gcd_distribution, kl, probs, regex_language, seq_prob,
                                  target, tv)
from reference.toy_problems import BINARY, asap_distribution, dyck, skewed

P_MIN = 1e-6  # chi-square p-value threshold: a correct sampler fails with this probability


# ----------------------------------------------------------------- toy problems

def chi_square_p(samples, dist: dict) -> float:
    """Chi-square goodness-of-fit p-value of samples' token ids against ``dist``."""
    from scipy.stats import chisquare

    n = len(samples)
    counts = Counter(s.token_ids for s in samples)
    assert set(counts) <= set(dist), "a sample outside the distribution's support"
    observed, expected, pooled_o, pooled_e = [], [], 0, 0.0
    for w, q in sorted(dist.items(), key=lambda item: -item[1]):
        if q * n >= 5:
            observed.append(counts[w])
            expected.append(q * n)
        else:
            pooled_o += counts[w]
            pooled_e += q * n
    if pooled_e >= 5 or not expected:
        observed.append(pooled_o)
        expected.append(pooled_e)
    else:  # too small a pool for the chi-square approximation: merge into the last bin
        observed[-1] += pooled_o
        expected[-1] += pooled_e
    expected = np.array(expected) * (n / sum(expected))  # guard float drift
    return float(chisquare(observed, expected).pvalue)


def check_samples(samples, model, lang):
    """Every sample is a complete string of the language with the model's log-probability."""
    support = set(lang.sequences())
    for s in samples:
        assert s.complete and s.token_ids in support
        assert s.text == lang.text(s.token_ids).decode()
        assert s.logprob == pytest.approx(math.log(seq_prob(model, s.token_ids)), abs=1e-9)


# ----------------------------------------------------------------- sources

def test_callable_source_normalises_batches_and_tempers():
    model = dirichlet_model(5, 0)
    prefixes = [(), (1,), (1, 2)]
    lp = CallableSource(model).logprobs(prefixes)
    for row, u in zip(lp, prefixes):
        np.testing.assert_allclose(np.exp(row), probs(model, u), atol=1e-12)
    batched = CallableSource(lambda ps: np.stack([model(p) for p in ps]), batched=True)
    np.testing.assert_allclose(batched.logprobs(prefixes), lp, atol=1e-12)
    hot = CallableSource(model, temperature=2.0).logprobs([()])[0]
    expect = np.sqrt(probs(model, ()))
    np.testing.assert_allclose(np.exp(hot), expect / expect.sum(), atol=1e-12)
    assert as_source(model).__class__ is CallableSource
    with pytest.raises(ValueError):
        CallableSource(lambda p: np.zeros((2, 2))).logprobs([()])
    with pytest.raises(TypeError):
        as_source(42)


def test_wider_model_keeps_its_normalisation():
    """Logits wider than the vocabulary (padding ids): padding mass is never allowed."""
    vocab = cn.Vocabulary.from_token_bytes(BINARY, eos_token_ids=[2])
    cg = cn.compile(cn.Grammar.from_choices(["0", "1"]), vocab)
    wide = lambda prefix: np.log([0.2, 0.2, 0.3, 0.3])  # id 3 is padding
    s = GCD(wide, cg, seed=0).sample(1)[0]
    assert s.logprob == pytest.approx(math.log(0.2) + math.log(0.3))


# ----------------------------------------------------------------- GCD

def test_gcd_is_far_from_target_on_skewed_example_and_samples_its_own_distribution():
    model, cg, lang = skewed()
    q_star, q_gcd = target(model, lang), gcd_distribution(model, lang)
    assert kl(q_gcd, q_star) > 5
    result = GCD(model, cg, seed=1, max_tokens=8).sample(10_000)
    check_samples(result.samples[:200], model, lang)
    assert chi_square_p(result.samples, q_gcd) > P_MIN
    assert chi_square_p(result.samples, q_star) < P_MIN  # the test has power
    # one batched source call and one batch mask fill per step; distinct prefixes only
    assert result.stats.model_batches == 6
    assert result.stats.model_calls <= 1 + 2 + 4 + 8 + 16 + 17


def test_gcd_on_dyck_with_several_tokenizations():
    model, cg, lang = dyck(0)
    result = GCD(model, cg, seed=2, max_tokens=8).sample(5_000)
    check_samples(result.samples[:100], model, lang)
    assert chi_square_p(result.samples, gcd_distribution(model, lang)) > P_MIN


# ----------------------------------------------------------------- ASAp

def test_asap_kl_falls_below_001_after_100_samples():
    model, cg, lang = skewed()
    q_star = target(model, lang)
    sampler = ASAp(model, cg, seed=3, max_tokens=8)
    # an empty trie makes ASAp's first sample a GCD sample
    assert kl(asap_distribution(model, lang, sampler), gcd_distribution(model, lang)) < 1e-12
    result = sampler.sample(100)
    check_samples(result.samples, model, lang)
    assert kl(asap_distribution(model, lang, sampler), q_star) < 0.01
    assert result.stats.rejections == 0 and result.stats.model_calls <= 32


def test_asap_bounds_follow_the_recursion_and_bound_grammaticality():
    model, cg, lang = dyck(1)
    sampler = ASAp(model, cg, seed=4, max_tokens=8)
    previous: dict = {}
    for _ in range(60):
        sampler.sample(1)
        stack = [((), sampler.trie.root)]
        while stack:
            u, node = stack.pop()
            allowed = lang.allowed(u)
            assert node.expanded and list(node.ids) == allowed
            p = probs(model, u)
            recursion = sum(p[t] * (1.0 if t == lang.eos else sampler.trie.bound(u + (t,)))
                            for t in allowed)
            assert node.bound == pytest.approx(recursion, abs=1e-12)
            assert node.bound >= future_grammaticality(model, lang, u) - 1e-12
            assert node.bound <= previous.get(u, 1.0) + 1e-12  # bounds never grow
            previous[u] = node.bound
            stack.extend((u + (t,), child) for t, child in node.children.items())


def test_asap_kl_is_non_increasing_in_expectation():
    model, cg, lang = dyck(0)
    q_star = target(model, lang)
    checkpoints = [0, 5, 10, 20, 40, 100]
    runs = 60
    kls = np.zeros((runs, len(checkpoints)))
    for seed in range(runs):
        sampler, done = ASAp(model, cg, seed=1000 + seed, max_tokens=8), 0
        for j, n in enumerate(checkpoints):
            sampler.sample(n - done)
            done = n
            kls[seed, j] = kl(asap_distribution(model, lang, sampler), q_star)
    means = kls.mean(axis=0)
    assert np.all(np.diff(means) < 0), means
    assert means[-1] < means[0] / 5


def test_asap_trie_save_and_load(tmp_path):
    model, cg, lang = dyck(1)
    first = ASAp(model, cg, seed=5, max_tokens=8)
    first.sample(30)
    path = tmp_path / "trie.npz"
    first.save_trie(path)
    second = ASAp(model, cg, seed=6, max_tokens=8, trie=path)
    for w in lang.sequences():
        for i in range(len(w)):
            assert second.trie.bound(w[:i]) == first.trie.bound(w[:i])
    assert len(second.trie) == len(first.trie)
    q_first = asap_distribution(model, lang, first)
    assert tv(asap_distribution(model, lang, second), q_first) < 1e-12
    check_samples(second.sample(30).samples, model, lang)
    assert kl(asap_distribution(model, lang, second), target(model, lang)) <= kl(
        q_first, target(model, lang)) + 0.05
    other_cap = dict(max_tokens=9)
    with pytest.raises(ValueError):
        ASAp(model, cg, trie=path, **other_cap)
    with pytest.raises(ValueError):
        PrefixTrie.load(path, key="another")


# ----------------------------------------------------------------- CARS

def test_cars_samples_pass_chi_square_against_target():
    model, cg, lang = dyck(1)
    q_star = target(model, lang)
    result = CARS(model, cg, seed=7, max_tokens=8).sample(10_000)
    check_samples(result.samples[:200], model, lang)
    assert chi_square_p(result.samples, q_star) > P_MIN
    # the same test rejects masked sampling on this problem
    gcd = GCD(model, cg, seed=7, max_tokens=8).sample(10_000)
    assert chi_square_p(gcd.samples, q_star) < P_MIN


def test_cars_is_exact_from_its_first_sample():
    """Independent fresh samplers: their 1st and their 5th samples are each distributed as
    Q* (an adaptive sampler that is only asymptotically exact fails here)."""
    model, cg, lang = dyck(1)
    q_star = target(model, lang)
    firsts, fifths = [], []
    for seed in range(1_000):
        samples = CARS(model, cg, seed=20_000 + seed, max_tokens=8).sample(5).samples
        firsts.append(samples[0])
        fifths.append(samples[4])
    assert chi_square_p(firsts, q_star) > P_MIN
    assert chi_square_p(fifths, q_star) > P_MIN


def test_cars_acceptance_improves_monotonically():
    model, cg, lang = dyck(2)
    z = sum(seq_prob(model, w) for w in lang.sequences())
    sampler = CARS(model, cg, seed=8, max_tokens=8)
    bounds, accepted = [sampler.mass_bound], []
    for _ in range(3_000):
        accepted.append(sampler.attempt() is not None)
        bounds.append(sampler.mass_bound)
    bounds = np.array(bounds)
    assert np.all(np.diff(bounds) <= 1e-15) and bounds[-1] >= z - 1e-12
    assert bounds[0] == 1.0 and bounds[-1] < 1.5 * z
    assert sampler.stats.rejections == accepted.count(False) > 0
    # acceptance P(L) / bound rises from P(L) to nearly 1
    assert np.mean(accepted[-1000:]) > 0.9


def test_cars_needs_fewer_model_calls_than_rejection_sampling():
    model, cg, lang = dyck(2)
    n = 300
    cars = CARS(CallableSource(model), cg, seed=9, max_tokens=8).sample(n)
    plain = RejectionSampler(model, cg, seed=9, max_tokens=8).sample(n)
    check_samples(plain.samples, model, lang)
    ratio = plain.calls_per_sample / cars.calls_per_sample
    # CARS calls the model once per trie node (< 200 viable prefixes); plain rejection at
    # least twice per accepted sample, on top of the rejected attempts.
    assert ratio > 5, ratio


def test_rejection_sampler_is_exact():
    model, cg, lang = dyck(2)
    result = RejectionSampler(model, cg, seed=10, max_tokens=8).sample(1_500)
    assert chi_square_p(result.samples, target(model, lang)) > P_MIN
    assert result.stats.rejections == result.stats.attempts - 1_500 > 0


# ----------------------------------------------------------------- SMC

def test_smc_weighted_estimate_converges():
    model, cg, lang = dyck(2)
    q_star = target(model, lang)
    z = sum(seq_prob(model, w) for w in lang.sequences())
    result = SMC(model, cg, seed=11, max_tokens=8).sample(10_000)
    check_samples(result.samples[:200], model, lang)
    assert result.weights.sum() == pytest.approx(1.0)
    assert tv(result.posterior(), q_star) < 0.02
    assert abs(result.log_evidence - math.log(z)) < 0.1
    assert result.stats.resamplings >= 1
    assert result.stats.model_batches <= 7  # one batched call per step


def test_smc_systematic_resampling_keeps_each_particle_floor_or_ceil_times():
    model, cg, _ = dyck(2)
    sampler = SMC(model, cg, seed=14)
    rng = np.random.default_rng(0)
    for n in (7, 64, 1000):
        w = rng.dirichlet(np.full(n, 0.3))
        for _ in range(20):
            counts = np.bincount(sampler._systematic(np.log(w)), minlength=n)
            assert counts.sum() == n
            assert np.all(counts >= np.floor(n * w) - 1e-9) and np.all(counts <= np.ceil(n * w))


def test_smc_posterior_by_text_merges_tokenizations():
    model, cg, lang = dyck(2)
    result = SMC(model, cg, seed=12, max_tokens=8).sample(2_000)
    by_text = result.posterior(by="text")
    merged: dict = {}
    for w, q in result.posterior().items():
        merged[lang.text(w).decode()] = merged.get(lang.text(w).decode(), 0.0) + q
    assert by_text == pytest.approx(merged)


# ----------------------------------------------------------------- length cap, errors

def test_max_tokens_is_part_of_the_target():
    """With max_tokens=4, (01)*0 becomes {0, 010}: every sampler targets that."""
    vocab = cn.Vocabulary.from_token_bytes(BINARY, eos_token_ids=[2])
    cg = cn.compile(cn.Grammar.from_regex(r"(01)*0"), vocab)
    lang = ToyLanguage(regex_language(r"(01)*0", "01", 5), BINARY, 2, max_tokens=4)
    assert {lang.text(w) for w in lang.sequences()} == {b"0", b"010"}
    model = dirichlet_model(3, 5)
    q_star = target(model, lang)
    gcd = GCD(model, cg, seed=13, max_tokens=4).sample(2_000)
    assert any(not s.complete for s in gcd.samples)  # dead ends at the cap
    for s in gcd.samples:
        assert s.complete == (s.token_ids in q_star)
    cars = CARS(model, cg, seed=13, max_tokens=4).sample(2_000)
    assert chi_square_p(cars.samples, q_star) > P_MIN
    asap = ASAp(model, cg, seed=13, max_tokens=4)
    result = asap.sample(100)
    assert all(s.token_ids in q_star for s in result.samples)
    assert result.stats.rejections <= 1  # the one dead end, 0101, is met at most once
    assert kl(asap_distribution(model, lang, asap), q_star) < 0.01
    smc = SMC(model, cg, seed=13, max_tokens=4, ess_threshold=0.0).sample(5_000)
    assert any(not s.complete for s in smc.samples)
    for s, w in zip(smc.samples, smc.weights):
        assert s.complete == (s.token_ids in q_star) and (w > 0) == s.complete
    assert tv(smc.posterior(), q_star) < 0.05


def test_zero_probability_language_raises():
    vocab = cn.Vocabulary.from_token_bytes(BINARY, eos_token_ids=[2])
    cg = cn.compile(cn.Grammar.from_choices(["1"]), vocab)
    never_one = lambda prefix: np.array([0.0, -np.inf, 0.0])
    for sampler in (ASAp(never_one, cg), CARS(never_one, cg), SMC(never_one, cg)):
        with pytest.raises(SamplingError):
            sampler.sample(4)


# ----------------------------------------------------------------- integration

WORDS = ["yes", "no", "maybe"]


@pytest.fixture(scope="module")
def tiny_llama(load_vocab, load_hf_tokenizer):
    """A random 2-layer Llama over the llama2-32k tokenizer, its vocabulary and grammar."""
    torch = pytest.importorskip("torch")
    transformers = pytest.importorskip("transformers")
    vocab = load_vocab("llama2-32k")
    tokenizer = load_hf_tokenizer("llama2-32k")
    torch.manual_seed(0)
    config = transformers.LlamaConfig(vocab_size=tokenizer.vocab_size, hidden_size=32,
                                      intermediate_size=64, num_hidden_layers=2,
                                      num_attention_heads=2, num_key_value_heads=2)
    model = transformers.LlamaForCausalLM(config).eval()
    cg = cn.compile(cn.Grammar.from_choices(WORDS), vocab)
    lang = ToyLanguage([w.encode() for w in WORDS], vocab.token_bytes, vocab.eos_token_ids[0])
    return model, tokenizer, cg, lang


def _full_forward_logprob(model, bos: int, seq) -> float:
    """log P(seq) from one forward pass of the whole sequence (independent of the source)."""
    import torch

    ids = torch.tensor([[bos, *seq]])
    with torch.no_grad():
        logp = torch.log_softmax(model(input_ids=ids).logits[0].double(), dim=-1)
    return float(sum(logp[i, t] for i, t in enumerate(seq)))


def _check_llama_samples(samples, model, tokenizer, lang):
    for s in samples:
        assert s.complete and s.text in WORDS and s.token_ids in set(lang.sequences())
        assert tokenizer.decode(list(s.token_ids[:-1])) == s.text
        assert s.logprob == pytest.approx(
            _full_forward_logprob(model, tokenizer.bos_token_id, s.token_ids), abs=1e-6)


def _llama_target(model, tokenizer, lang) -> dict:
    logps = {w: _full_forward_logprob(model, tokenizer.bos_token_id, w)
             for w in lang.sequences()}
    top = max(logps.values())
    z = sum(math.exp(v - top) for v in logps.values())
    return {w: math.exp(v - top) / z for w, v in logps.items()}


def test_integration_gcd(tiny_llama):
    model, tokenizer, cg, lang = tiny_llama
    source = TransformersSource(model)
    assert source.prompt_ids == [tokenizer.bos_token_id]
    result = GCD(source, cg, seed=0).sample(8)
    _check_llama_samples(result.samples, model, tokenizer, lang)
    assert result.stats.model_batches <= 7


def test_integration_asap(tiny_llama):
    model, tokenizer, cg, lang = tiny_llama
    sampler = ASAp(model, cg, seed=0)
    _check_llama_samples(sampler.sample(15).samples, model, tokenizer, lang)
    logz = max(_full_forward_logprob(model, tokenizer.bos_token_id, w)
               for w in lang.sequences())
    assert math.log(sampler.trie.root.bound) >= logz  # an upper bound on P(L)


def test_integration_cars(tiny_llama):
    model, tokenizer, cg, lang = tiny_llama
    q_star = _llama_target(model, tokenizer, lang)
    result = CARS(model, cg, seed=0).sample(300)
    _check_llama_samples(result.samples[:5], model, tokenizer, lang)
    assert chi_square_p(result.samples, q_star) > P_MIN
    assert result.stats.model_calls <= 2 * len(lang.sequences())


def test_integration_smc(tiny_llama):
    model, tokenizer, cg, lang = tiny_llama
    result = SMC(model, cg, seed=0).sample(64)
    _check_llama_samples(result.samples[:5], model, tokenizer, lang)
    assert result.weights.sum() == pytest.approx(1.0)
    assert np.isfinite(result.log_evidence)
    assert result.stats.model_batches <= 7
