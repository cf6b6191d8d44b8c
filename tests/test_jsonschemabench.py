"""A fixed sample of JSONSchemaBench: finished walks are valid, drawn instances are accepted.

CI samples the quick subsets; ``python -m benchmarks jsonschemabench`` runs every subset and
records compile rates and times in docs/JSON_SCHEMA.md.
"""

from benchmarks.jsonschemabench import run_subset

SUBSETS = ("Github_trivial", "Github_easy", "Glaiveai2K")
PER_SUBSET = 4
# The last measured compile rate on this sample, as a floor against regressions.
COMPILED_FLOOR = 0.9


def test_sample_walks_are_valid_and_instances_accepted(shared_dir, load_vocab, load_hf_tokenizer):
    vocab = load_vocab("llama3-128k")
    tokenizer = load_hf_tokenizer("llama3-128k")
    root = shared_dir / "data" / "jsonschemabench"
    results = [run_subset(root / name, vocab, tokenizer, PER_SUBSET, walks=2, instances=1,
                          max_tokens=300)
               for name in SUBSETS]
    assert sum(r.schemas for r in results) == PER_SUBSET * len(SUBSETS)
    invalid = [w for r in results for w in r.walks_invalid]
    rejected = [i for r in results for i in r.instances_rejected]
    assert not invalid, invalid[:5]
    assert not rejected, rejected[:5]
    assert sum(r.walks_finished for r in results) > 0, "no walk finished: the test checks nothing"
    rate = sum(r.compiled for r in results) / sum(r.schemas for r in results)
    assert rate >= COMPILED_FLOOR, f"compiled {rate:.0%}, floor {COMPILED_FLOOR:.0%}"
