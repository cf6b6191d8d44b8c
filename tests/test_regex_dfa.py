"""Tests of constrain.automata: utf8 ranges, ByteDFA / minimisation, regex -> DFA."""

from __future__ import annotations

import itertools
import random

import numpy as np
import pytest
import regex as oracle_re
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from constrain.automata import dfa, regex
from constrain.automata.utf8 import utf8_ranges
from constrain.errors import RegexError

from strategies import regex_asts, render, sample_string, strings_around
from reference.regex_oracle import reference_matches, reference_viable_bytes, representatives

SETTINGS = settings(max_examples=300, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


# ---------------------------------------------------------------------------
# utf8


def _expand(seqs):
    out = []
    for seq in seqs:
        out.extend(bytes(t) for t in itertools.product(*[range(a, b + 1) for a, b in seq]))
    return out


def _encodings(lo, hi):
    return [chr(c).encode() for c in range(lo, hi + 1) if not 0xD800 <= c <= 0xDFFF]


@pytest.mark.parametrize("lo,hi", [
    (0, 0x7F), (0x7F, 0x80), (0x7FF, 0x800), (0xFFFF, 0x10000), (0xD7F0, 0xE010),
    (0xD800, 0xDFFF), (0x10FFF0, 0x10FFFF), (0x0, 0x0), (0x80, 0x7FF), (0x800, 0xFFFF),
])
def test_utf8_ranges_edges(lo, hi):
    got = _expand(utf8_ranges(lo, hi))
    assert got == _encodings(lo, hi)  # exact, disjoint, in code point order


def test_utf8_ranges_random():
    rng = random.Random(7)
    for _ in range(300):
        lo = rng.choice([rng.randrange(0x110000), rng.randrange(0x1000), rng.randrange(0x10000)])
        hi = min(lo + rng.randrange(4000), 0x10FFFF)
        assert _expand(utf8_ranges(lo, hi)) == _encodings(lo, hi), (lo, hi)


def test_utf8_ranges_full_range_is_valid_utf8():
    seqs = utf8_ranges(0, 0x10FFFF)
    assert len(seqs) == 9
    assert sum(np.prod([b - a + 1 for a, b in s]) for s in seqs) == 0x110000 - 0x800
    assert utf8_ranges(5, 4) == []


# ---------------------------------------------------------------------------
# helpers


def _is_minimal_trimmed(d: dfa.ByteDFA) -> bool:
    """Brute-force check: reachable, live, and no two states equivalent (table filling)."""
    n = d.n_states
    if n == 0:
        return True
    t = d.transitions.tolist()
    acc = d.accepting.tolist()
    seen, stack = {0}, [0]
    while stack:
        for w in t[stack.pop()]:
            if w >= 0 and w not in seen:
                seen.add(w)
                stack.append(w)
    if len(seen) != n:
        return False
    live = {s for s in range(n) if acc[s]}
    changed = True
    while changed:
        changed = False
        for s in range(n):
            if s not in live and any(w in live for w in t[s] if w >= 0):
                live.add(s)
                changed = True
    if len(live) != n:
        return False
    dist = [[acc[a] != acc[b] for b in range(n)] for a in range(n)]
    changed = True
    while changed:
        changed = False
        for a in range(n):
            for b in range(a + 1, n):
                if dist[a][b]:
                    continue
                for x in range(256):
                    p, q = t[a][x], t[b][x]
                    if (p < 0) != (q < 0) or (p >= 0 and dist[p][q]):
                        dist[a][b] = dist[b][a] = True
                        changed = True
                        break
    return not any(dist[a][b] is False for a in range(n) for b in range(a + 1, n))


def _same(a: dfa.ByteDFA, b: dfa.ByteDFA) -> bool:
    return (np.array_equal(a.transitions, b.transitions)
            and np.array_equal(a.accepting, b.accepting))


# ---------------------------------------------------------------------------
# ByteDFA and dfa_from_strings


def test_bytedfa_contract():
    d = regex.regex_to_dfa("ab|c")
    assert d.transitions.dtype == np.int32 and d.transitions.shape == (d.n_states, 256)
    assert d.accepting.dtype == bool
    assert d.matches(b"ab") and d.matches(b"c") and not d.matches(b"a")
    assert d.is_viable_prefix(b"") and d.is_viable_prefix(b"a") and not d.is_viable_prefix(b"b")
    assert not d.is_empty
    e = regex.regex_to_dfa(r"[^\s\S]")
    assert e.is_empty and e.n_states == 0
    assert not e.matches(b"") and not e.is_viable_prefix(b"")


def test_minimize_trims_and_canonicalises():
    # 0 -a-> 1 (acc), 0 -b-> 2 (acc, equivalent to 1), 3 unreachable, 0 -c-> 4 dead end
    t = np.full((5, 256), -1)
    t[0, ord("a")], t[0, ord("b")], t[0, ord("c")] = 1, 2, 4
    t[3, ord("a")] = 1
    acc = np.array([False, True, True, True, False])
    d = dfa.minimize(t, acc, 0)
    assert d.n_states == 2 and _is_minimal_trimmed(d)
    assert d.matches(b"a") and d.matches(b"b") and not d.is_viable_prefix(b"c")
    # Any start state, any numbering: the same arrays.
    perm = [4, 2, 0, 1, 3]
    t2 = np.full((5, 256), -1)
    for old in range(5):
        row = t[old]
        t2[perm[old]] = np.where(row < 0, -1, np.array(perm)[np.maximum(row, 0)])
    acc2 = np.zeros(5, bool)
    acc2[perm] = acc
    assert _same(dfa.minimize(t2, acc2, perm[0]), d)
    assert dfa.minimize(np.full((3, 256), -1), np.zeros(3, bool), 0).is_empty


def test_minimize_long_chains_is_minimal_and_exact():
    # Long distinguishing words: many refinement rounds for Moore, cheap for Hopcroft.
    cases = {r"x*a{30}": (b"xx" + b"a" * 30, b"a" * 29), r"(a|b)*a(a|b){4}": (b"babbbb", b"bbbbb"),
             r"(ab|cd)*e{20}f?": (b"cdab" + b"e" * 20 + b"f", b"e" * 21),
             r"[\d\w]{3,25}\.\d+": (b"abc.1", b"ab.1")}
    for pattern, (good, bad) in cases.items():
        d = regex.regex_to_dfa(pattern)
        assert _is_minimal_trimmed(d), pattern
        assert d.matches(good) and not d.matches(bad), pattern


def test_dfa_from_strings_basics():
    d = dfa.dfa_from_strings([b"", b"ab", b"ab", b"abc", b"\xff\x00"])
    assert d.matches(b"") and d.matches(b"ab") and d.matches(b"abc") and d.matches(b"\xff\x00")
    assert not d.matches(b"a") and not d.matches(b"abcd")
    assert d.is_viable_prefix(b"\xff") and not d.is_viable_prefix(b"b")
    assert _is_minimal_trimmed(d)
    assert dfa.dfa_from_strings([]).is_empty
    assert dfa.dfa_from_strings([b""]).n_states == 1
    # Suffix sharing: {xa, ya, za} needs 3 states.
    assert dfa.dfa_from_strings([b"xa", b"ya", b"za"]).n_states == 3


_bytes_words = st.lists(st.binary(max_size=6).map(lambda b: bytes(x % 4 * 60 for x in b)),
                        max_size=12)


@SETTINGS
@given(words=_bytes_words, probes=st.lists(st.binary(max_size=6), max_size=10))
def test_dfa_from_strings_matches_set(words, probes):
    d = dfa.dfa_from_strings(words)
    ws = set(words)
    assert d.is_empty == (not ws)
    candidates = list(ws) + [bytes(x % 4 * 60 for x in p) for p in probes]
    for s in candidates:
        assert d.matches(s) == (s in ws)
        for k in range(len(s) + 1):
            assert d.is_viable_prefix(s[:k]) == any(w.startswith(s[:k]) for w in ws)
    assert _is_minimal_trimmed(d)
    assert _same(dfa.minimize(d.transitions, d.accepting, 0), d)


def test_dfa_from_strings_equals_regex_dfa():
    words = ["if", "else", "elif", "", "while", "é", "😀x"]
    d1 = dfa.dfa_from_strings(w.encode() for w in words)
    pattern = "(?:" + "|".join(oracle_re.escape(w) for w in words) + ")(?:z{0})"
    d2 = regex.regex_to_dfa(pattern)  # not a pure literal alternation: general path
    assert _same(d1, d2)


# ---------------------------------------------------------------------------
# regex: hand cases


@pytest.mark.parametrize("pattern,yes,no", [
    ("abc", ["abc"], ["ab", "abcd", ""]),
    (r"\n\t\r\f\v\0\a", ["\n\t\r\f\v\0\a"], []),
    (r"\x41\u00e9\u{1F600}\U0001F601", ["Aé😀😁"], []),
    (r"\ud83d\ude00", ["😀"], ["\ud83d"]),
    (r"\.\*\\\(\)\[\{\|\^\$\+\?\/\-", [".*\\()[{|^$+?/-"], []),
    (r"\N{EM DASH}", ["\u2014"], ["-"]),
    (r"\012", ["\n"], []),
    ("[a-c]", ["a", "b", "c"], ["d", "", "ab"]),
    ("[^a-c]", ["d", "é", "😀", "\n"], ["a", "c", ""]),
    ("[]a]", ["]", "a"], ["[", ""]),
    (r"[\]]", ["]"], ["\\"]),
    ("[^]a]", ["b"], ["]", "a"]),
    ("[a-]", ["a", "-"], ["b"]),
    ("[-a]", ["a", "-"], ["b"]),
    (r"[\d\s]", ["5", " ", "\u00a0"], ["a"]),
    (r"[^\d]", ["a", "٣"], ["5"]),
    (r"[\w.]", ["a", "Z", "_", "."], ["é", "-"]),
    (r"[\b]", ["\b"], ["b"]),
    (r"[é-ë]", ["é", "ê", "ë"], ["e", "è"]),
    (r"[\u4e00-\u9fff]+", ["中文"], ["a"]),
    (".", ["a", "é", "😀", "\t", "\u0085"], ["\n", "\r", "\u2028", "\u2029", ""]),
    ("(?s).", ["\n", "\u2028", "a"], [""]),
    (r"\d", [str(i) for i in range(10)], ["٣", "a", "１"]),
    (r"\w", ["a", "Z", "0", "_"], ["é", "-", " "]),
    (r"\s", list("\t\n\v\f\r \u00a0\u1680\u2000\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"),
     ["\u0085", "\u200b", "a"]),
    (r"\S", ["\u0085", "a"], [" ", "\ufeff"]),
    (r"\D\W", ["a-", "é "], ["1-", "aa"]),
    ("a{2}", ["aa"], ["a", "aaa"]),
    ("a{2,}", ["aa", "aaaaa"], ["a"]),
    ("a{2,3}", ["aa", "aaa"], ["a", "aaaa"]),
    ("a{,2}", ["", "a", "aa"], ["aaa"]),
    ("a{,}", ["", "aaaa"], ["b"]),
    ("a*?b+?c??d{1,2}?", ["bd", "aabbcdd"], ["abcddd"]),
    ("a{", ["a{"], ["a"]),
    ("a{x}", ["a{x}"], []),
    ("a{}", ["a{}"], []),
    ("{", ["{"], []),
    ("x{1,2", ["x{1,2"], []),
    ("(ab)+", ["ab", "abab"], ["", "aba"]),
    ("(?:ab)+", ["abab"], ["a"]),
    ("(?P<x>ab)c", ["abc"], []),
    ("(?<x>ab)c", ["abc"], []),
    ("(a|)b", ["ab", "b"], [""]),
    ("|a", ["", "a"], ["aa"]),
    ("a(?#comment)b", ["ab"], []),
    ("^abc$", ["abc"], ["abc\n"]),
    ("^a|b$", ["a", "b"], ["ab"]),
    ("^$", [""], ["\n"]),
    ("(?i)abc", ["abc", "AbC"], ["ab"]),
    ("(?i:a)b", ["ab", "Ab"], ["AB"]),
    ("(?i)a(?-i:b)", ["Ab"], ["AB"]),
    ("(?x) a b # comment\n c", ["abc"], ["a b c"]),
    ("(?x)[ ]", [" "], []),
    ("(?m)^a$", ["a"], []),
    ("(?i)[^a]", ["b", "B"], ["a", "A"]),
    ("(?i)[a-c]", ["B", "c"], ["d"]),
    ("(?i)é", ["é", "É"], ["e"]),
    ("(?i)σ", ["σ", "Σ", "ς"], []),
    ("(?i)k", ["k", "K", "\u212a"], []),
    ("a{1000}", ["a" * 1000], ["a" * 999, "a" * 1001]),
    (r"\ud800", [], ["", "a"]),
])
def test_regex_hand_cases(pattern, yes, no):
    d = regex.regex_to_dfa(pattern)
    for s in yes:
        assert d.matches(s.encode("utf-8", "surrogatepass")), (pattern, s)
    for s in no:
        assert not d.matches(s.encode("utf-8", "surrogatepass")), (pattern, s)


def test_ignore_case_keyword():
    d = regex.regex_to_dfa("select", ignore_case=True)
    assert d.matches(b"SeLeCt") and not d.matches(b"selec")
    assert not regex.regex_to_dfa(r"\W", ignore_case=True).matches(b"s")
    big = regex.regex_to_dfa(r"[^x]", ignore_case=True)
    assert not big.matches(b"X") and big.matches("é".encode())


def test_invalid_utf8_rejected():
    d = regex.regex_to_dfa("(?s).*")
    assert d.matches("aé😀".encode())
    for bad in [b"\xff", b"\xc0\x80", b"\xc1\xbf", b"\xed\xa0\x80", b"\xf4\x90\x80\x80",
                b"\x80", b"\xe0\x80\x80", b"\xf0\x80\x80\x80", b"\xf5\x80\x80\x80"]:
        assert not d.is_viable_prefix(bad), bad
    assert d.is_viable_prefix(b"\xf0\x9f") and not d.matches(b"\xf0\x9f")


@pytest.mark.parametrize("pattern,construct,position", [
    (r"a\1", "backreference", 1),
    (r"(?P<n>a)(?P=n)", "backreference", 8),
    (r"a(?=b)", "lookahead", 1),
    (r"(?!b)a", "lookahead", 0),
    (r"(?<=a)b", "lookbehind", 0),
    (r"(?<!a)b", "lookbehind", 0),
    (r"\bfoo", "assertion \\b", 0),
    (r"a\B", "assertion \\B", 1),
    (r"\Aa", "assertion \\A", 0),
    (r"a\Z", "assertion \\Z", 1),
    (r"a^b", "anchor '^'", 1),
    (r"a$b", "anchor '$'", 1),
    (r"(^a)", "anchor '^'", 1),
    (r"(a$)", "anchor '$'", 2),
    (r"(?(1)a|b)", "conditional", 0),
    (r"(?>a)", "atomic", 0),
    (r"(ab", "missing )", 0),
    (r"a(b(c)", "missing )", 1),
    (r"ab)", "unbalanced parenthesis", 2),
    (r"[z-a]", "bad character range z-a", 1),
    (r"[\d-z]", "bad character range", 1),
    (r"[abc", "unterminated character set", 0),
    (r"*a", "nothing to repeat", 0),
    (r"a|*", "nothing to repeat", 2),
    (r"(+)", "nothing to repeat", 1),
    (r"{2}", "nothing to repeat", 0),
    (r"a{3,2}", "min greater than max", 1),
    ("a\\", "dangling backslash", 1),
    (r"a**", "multiple repeat", 2),
    (r"a*+", "possessive", 2),
    (r"a{2}+", "possessive", 4),
    (r"\p{L}", "Unicode property", 0),
    (r"x\P{L}", "Unicode property", 1),
    (r"(a{1000}){1000}", "too large", 9),
    (r"a(?i)b", "global flags", 1),
    (r"\q", "bad escape \\q", 0),
    (r"\x4", "bad escape \\x", 0),
    (r"\u{110000}", "bad escape \\u", 0),
    (r"(?L)a", "unsupported inline flag 'L'", 2),
    (r"(?P<1>a)", "bad group name", 4),
])
def test_regex_errors(pattern, construct, position):
    with pytest.raises(RegexError) as info:
        regex.regex_to_dfa(pattern)
    err = info.value
    assert construct in str(err)
    assert err.position == position and f"at position {position}" in str(err)
    assert err.pattern == pattern


def test_dfa_size_limit():
    with pytest.raises(RegexError, match="too large"):
        regex.regex_to_dfa(r"(a|b)*a(a|b){20}")


def test_parse_regex_ast():
    R = regex
    assert R.parse_regex("") == R.Empty()
    assert R.parse_regex("a") == R.CharSet(((97, 97),))
    assert R.parse_regex("[ca-b]") == R.CharSet(((97, 99),))
    assert R.parse_regex("ab|c*") == R.Alt((R.Concat((R.CharSet.of(97), R.CharSet.of(98))),
                                            R.Repeat(R.CharSet.of(99), 0, None)))
    assert R.parse_regex("(?:a){2,5}?") == R.Repeat(R.CharSet.of(97), 2, 5)
    assert R.parse_regex("a", ignore_case=True) == R.CharSet.of(65, 97)
    assert 0x212A in R.parse_regex("k", ignore_case=True)
    assert R.parse_regex(".") == R.CharSet(R.complement_ranges(
        ((10, 10), (13, 13), (0x2028, 0x2029))))


@pytest.mark.parametrize("a,b", [
    ("a|a", "a"), ("(a*)*", "a*"), ("(a|b)*", "[ab]*"), ("a+a*", "a+"),
    ("(ab)*a", "a(ba)*"), ("(?:x|y)?z{2}", "[xy]?zz"), ("a{0,3}", "(a(a(a)?)?)?"),
    (r"\d|[0-4]", "[0-9]"), (".|\n|\r|\u2028|\u2029", "(?s)."),
])
def test_equivalent_regexes_identical(a, b):
    da, db = regex.regex_to_dfa(a), regex.regex_to_dfa(b)
    assert _same(da, db)
    assert _is_minimal_trimmed(da)


# ---------------------------------------------------------------------------
# regex: random ASTs against the `regex` package

@SETTINGS
@given(node=regex_asts, data=st.data())
def test_random_regex_matches_oracle(node, data):
    ours, theirs = render(node)
    d = regex.regex_to_dfa(ours)
    for s in strings_around(node, data):
        b = s.encode()
        assert d.matches(b) == reference_matches(theirs, b), (ours, s)


@SETTINGS
@given(node=regex_asts, data=st.data())
def test_random_regex_prefixes_match_oracle(node, data):
    ours, theirs = render(node)
    d = regex.regex_to_dfa(ours)
    cands = representatives(theirs)
    for s in strings_around(node, data):
        b = s.encode()
        for k in range(len(b) + 1):
            assert d.is_viable_prefix(b[:k]) == \
                reference_viable_bytes(theirs, b[:k], candidates=cands), (ours, b[:k])


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(node=regex_asts, data=st.data())
def test_random_regex_prefixes_exhaustive_oracle(node, data):
    """The same as above with the exhaustive oracle (no representatives) on 2-3 byte chars."""
    ours, theirs = render(node)
    d = regex.regex_to_dfa(ours)
    s = sample_string(node, data.draw)
    assume(s is not None)
    b = s.encode()
    for k in range(len(b) + 1):
        if b[:k][-1:] >= b"\xf0":
            continue  # a dangling 4-byte lead alone has 2**18 completions: too slow here
        assert d.is_viable_prefix(b[:k]) == reference_viable_bytes(theirs, b[:k]), (ours, b[:k])


@SETTINGS
@given(node=regex_asts, data=st.data())
def test_random_regex_ignore_case(node, data):
    ours, theirs = render(node)
    assume(all(ord(c) < 128 for c in ours))
    d = regex.regex_to_dfa(ours, ignore_case=True)
    oracle = "(?i)" + theirs
    for s in strings_around(node, data):
        s = "".join(c for c in s if c.isascii()) + data.draw(st.sampled_from(["", "A", "b"]))
        s = "".join(c.upper() if data.draw(st.booleans()) else c for c in s)
        assert d.matches(s.encode()) == reference_matches(oracle, s.encode()), (ours, s)


@SETTINGS
@given(node=regex_asts)
def test_random_regex_dfa_is_minimal(node):
    ours, _ = render(node)
    d = regex.regex_to_dfa(ours)
    assert _same(dfa.minimize(d.transitions, d.accepting, 0), d)
    if d.n_states <= 40:
        assert _is_minimal_trimmed(d)


def test_reference_oracle_self_check():
    # Exhaustive and representative modes agree on a dangling 4-byte lead.
    p = "a[\U00010000-\U0001F5FF]"
    assert reference_viable_bytes(p, b"a\xf0") is True
    assert reference_viable_bytes(p, b"a\xf0", candidates=representatives(p)) is True
    assert reference_viable_bytes(p, b"a\xf0\x9f\x98") is False
    assert reference_viable_bytes(p, b"a\xf0\x9f\x98", candidates=representatives(p)) is False
    assert reference_viable_bytes("(?s).", b"\xe0\x80") is False  # overlong
    assert reference_viable_bytes("(?s).", b"\xed\xa0") is False  # surrogate
    assert reference_viable_bytes("(?s).", b"\xed\x9f") is True


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=12))
def test_one_word_dfa_is_the_minimised_chain(word):
    # oracle: the chain of states numbered backwards, then trimmed, minimised and renumbered
    n = len(word)
    trans = np.full((n + 1, 256), -1, dtype=np.int64)
    for i, b in enumerate(word):
        trans[n - i, b] = n - i - 1
    accepting = np.zeros(n + 1, dtype=bool)
    accepting[0] = True
    expected = dfa.minimize(trans, accepting, start=n)
    got = dfa.dfa_from_strings([word])
    assert np.array_equal(got.transitions, expected.transitions)
    assert np.array_equal(got.accepting, expected.accepting)


def test_a_dfa_is_a_read_only_value_with_a_digest_of_its_language():
    a = regex.regex_to_dfa("(ab|cd)*e")
    same = regex.regex_to_dfa("(cd|ab)*e")
    other = regex.regex_to_dfa("(ab|cd)*f")
    assert a.digest == same.digest and a.digest != other.digest
    with pytest.raises(ValueError):
        a.transitions[0, 0] = 1
    with pytest.raises(ValueError):
        a.accepting[0] = True


def test_grammar_fingerprints_follow_terminal_languages():
    from constrain import Grammar
    g = Grammar.from_lark('start: "a" X\nX: /[0-9]+/')
    assert g.fingerprint == Grammar.from_lark('start: "a" Y\nY: /[0-9]+/').fingerprint
    assert g.fingerprint != Grammar.from_lark('start: "a" X\nX: /[0-8]+/').fingerprint


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 40), st.integers(1, 6), st.randoms(use_true_random=False))
def test_byte_column_classes_group_exactly_the_equal_columns(rows, distinct, rnd):
    from constrain._core import byte_column_classes
    columns = np.array([[rnd.randrange(-1, 5) for _ in range(rows)] for _ in range(distinct)])
    pick = [rnd.randrange(distinct) for _ in range(256)]
    table = columns[pick].T.astype(np.int32)
    classes = byte_column_classes(table)
    for x in range(256):
        for y in range(x):
            assert (classes[x] == classes[y]) == bool((table[:, x] == table[:, y]).all())
    first = [int(np.flatnonzero(classes == c)[0]) for c in range(classes.max() + 1)]
    assert first == sorted(first)  # numbered in order of first byte


def test_intersect_refuses_a_product_past_its_state_limit():
    a = regex.regex_to_dfa("[a-z]{0,40}")
    b = regex.regex_to_dfa("(ab|ba)*")
    assert dfa.intersect(a, b).n_states == dfa.intersect(a, b, max_states=10_000).n_states
    with pytest.raises(dfa.DFATooLarge, match="over 20 states"):
        dfa.intersect(a, b, max_states=20)
