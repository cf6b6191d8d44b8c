"""The demo the README's first command runs."""

import io

from constrain.demo import DEMO_GRAMMARS, run_demo


def test_demo_completes_every_grammar_on_a_byte_vocabulary():
    out = io.StringIO()
    run_demo(out, samples=2, max_tokens=200, vocab=_byte_vocab())
    text = out.getvalue()
    assert text.count("(complete)") == 2 * len(DEMO_GRAMMARS), text


def _byte_vocab():
    import constrain as cn

    tokens = [bytes([b]) for b in range(256)] + [b""]
    return cn.Vocabulary.from_token_bytes(tokens, eos_token_ids=[256])
