"""Hypothesis strategies shared by the tests: random regex ASTs with an oracle rendering.

``regex_asts`` draws small regex trees; ``render(node)`` gives (the pattern for constrain,
the same language in the ``regex`` package's dialect for the oracle, with ECMA-262 classes
written out); ``sample_string`` and ``strings_around`` draw strings in and around the language.
"""

from __future__ import annotations

import regex as oracle_re
from hypothesis import strategies as st

ALPHABET = ["a", "b", "c", "Z", "0", "5", "_", "-", ".", " ", "\n", "é", "ß", "€", "中",
            "😀", "\U00010348", "\u00a0", "\u2028"]
NOISE = ALPHABET + ["x", "9", "\t", "\r", "\u0085", "\ufeff", "É", "ë", "\u07ff", "\u0800",
                    "\uffff", "\U0010ffff", "[", "]", "\\"]
_ESC_SETS = {"d": "0-9", "w": "A-Za-z0-9_",
             "s": "\\t\\n\\x0b\\x0c\\r "
                  "\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"}
_CHAR_ESC = {"\n": "\\n", "\t": "\\t", "\r": "\\r"}


def _lit(ch: str, in_class: bool = False) -> str:
    if ch in _CHAR_ESC:
        return _CHAR_ESC[ch]
    if ch.isascii() and not ch.isalnum() and ch != " ":
        return "\\" + ch
    return ch


def render(node) -> tuple[str, str]:
    """(pattern for regex_to_dfa, pattern for the oracle)."""
    kind = node[0]
    if kind == "char":
        s = _lit(node[1])
        return s, s
    if kind == "dot":
        return ".", "[^\\n\\r\u2028\u2029]"
    if kind == "esc":
        e = node[1]
        body = _ESC_SETS[e.lower()]
        return "\\" + e, f"[{body}]" if e.islower() else f"[^{body}]"
    if kind == "set":
        _, items, negated = node
        ours, pos_parts, neg_parts = [], [], []
        for it in items:
            if it[0] == "c":
                ours.append(_lit(it[1], True))
                pos_parts.append(_lit(it[1], True))
            elif it[0] == "r":
                r = _lit(it[1], True) + "-" + _lit(it[2], True)
                ours.append(r)
                pos_parts.append(r)
            else:
                ours.append("\\" + it[1])
                (pos_parts if it[1].islower() else neg_parts).append(_ESC_SETS[it[1].lower()])
        ours_s = "[" + ("^" if negated else "") + "".join(ours) + "]"
        if negated:
            assert not neg_parts
            return ours_s, "[^" + "".join(pos_parts) + "]"
        alts = (["[" + "".join(pos_parts) + "]"] if pos_parts else []) + \
               ["[^" + p + "]" for p in neg_parts]
        return ours_s, "(?:" + "|".join(alts) + ")"
    if kind == "cat":
        parts = [render(n) for n in node[1]]
        return "".join(p[0] for p in parts), "".join(p[1] for p in parts)
    if kind == "alt":
        parts = [render(n) for n in node[1]]
        return ("(?:" + "|".join(p[0] for p in parts) + ")",
                "(?:" + "|".join(p[1] for p in parts) + ")")
    if kind == "group":
        o, r = render(node[2])
        return node[1] + o + ")", "(?:" + r + ")"
    if kind == "rep":
        _, inner, lo, hi, lazy = node
        o, r = render(inner)
        if inner[0] in ("cat", "rep"):
            o, r = "(?:" + o + ")", "(?:" + r + ")"
        if (lo, hi) == (0, None):
            q = "*"
        elif (lo, hi) == (1, None):
            q = "+"
        elif (lo, hi) == (0, 1):
            q = "?"
        elif hi is None:
            q = f"{{{lo},}}"
        elif lo == hi:
            q = f"{{{lo}}}"
        elif lo == 0:
            q = f"{{,{hi}}}"
        else:
            q = f"{{{lo},{hi}}}"
        # Lazy and greedy denote the same language; the oracle gets the greedy form
        # because the `regex` package's partial matching mishandles some lazy ones
        # (regex.fullmatch("(?:a|).??a", "bb", partial=True) matches).
        return o + q + ("?" if lazy else ""), r + q
    raise AssertionError(node)


_chars = st.sampled_from(ALPHABET)


@st.composite
def _class_items(draw, negated):
    items = []
    for _ in range(draw(st.integers(1, 4))):
        k = draw(st.sampled_from(["c", "c", "r", "e"]))
        if k == "c":
            items.append(("c", draw(_chars)))
        elif k == "r":
            a, b = sorted([draw(_chars), draw(_chars)])
            items.append(("r", a, b))
        else:
            items.append(("e", draw(st.sampled_from("dws" if negated else "dwsDWS"))))
    return items


@st.composite
def _set_node(draw):
    negated = draw(st.booleans())
    return ("set", draw(_class_items(negated)), negated)


_leaves = st.one_of(
    _chars.map(lambda c: ("char", c)),
    _chars.map(lambda c: ("char", c)),
    st.just(("dot",)),
    st.sampled_from("dwsDWS").map(lambda e: ("esc", e)),
    _set_node(),
)


def _extend(children):
    return st.one_of(
        st.lists(children, min_size=2, max_size=4).map(lambda xs: ("cat", xs)),
        st.lists(st.one_of(children, st.just(("cat", []))), min_size=2, max_size=4)
        .map(lambda xs: ("alt", xs)),
        st.tuples(st.sampled_from(["(", "(?:"]), children).map(lambda t: ("group", t[0], t[1])),
        st.tuples(children, st.sampled_from([(0, None), (1, None), (0, 1), (2, 2), (1, 3),
                                             (0, 2), (2, None)]), st.booleans())
        .map(lambda t: ("rep", t[0], t[1][0], t[1][1], t[2])),
    )


regex_asts = st.recursive(_leaves, _extend, max_leaves=8)


def _member(node, ch: str) -> bool:
    return oracle_re.fullmatch(render(node)[1], ch) is not None


def sample_string(node, draw) -> "str | None":
    """A random string of the node's language, or None if none was found."""
    kind = node[0]
    if kind in ("char", "dot", "esc", "set"):
        cands = [c for c in NOISE if _member(node, c)]
        return draw(st.sampled_from(cands)) if cands else None
    if kind == "cat":
        parts = [sample_string(n, draw) for n in node[1]]
        return None if None in parts else "".join(parts)
    if kind == "alt":
        return sample_string(draw(st.sampled_from(node[1])), draw)
    if kind == "group":
        return sample_string(node[2], draw)
    if kind == "rep":
        _, inner, lo, hi, _ = node
        k = draw(st.integers(lo, lo + 2 if hi is None else hi))
        parts = [sample_string(inner, draw) for _ in range(k)]
        return None if None in parts else "".join(parts)
    raise AssertionError(node)


def _mutate(s: str, draw) -> str:
    i = draw(st.integers(0, len(s)))
    op = draw(st.sampled_from(["ins", "del", "rep"]))
    c = draw(st.sampled_from(NOISE))
    if op == "ins" or not s:
        return s[:i] + c + s[i:]
    i = min(i, len(s) - 1)
    return s[:i] + (c if op == "rep" else "") + s[i + 1:]


def strings_around(node, data) -> list[str]:
    """A few strings for ``node``: samples of its language, mutations of them, and noise."""
    draw = data.draw
    out = []
    for _ in range(2):
        s = sample_string(node, draw)
        if s is not None:
            out += [s, _mutate(s, draw)]
    out.append("".join(draw(st.lists(st.sampled_from(NOISE), max_size=5))))
    return out


# ---------------------------------------------------------------------------
# Random Lark grammars: a few rules over a small set of terminals, with left and right
# recursion, empty alternatives, ambiguity, EBNF operators and optional ignored spaces.

TERMINALS = ['"a"', '"b"', '"ab"', '"("', '")"', '","', '/[ab]+/', '/c?d/', '"é"',
             '/[0-9]{1,2}/', '"ba"', 'NUM']
RULE_NAMES = ["start", "x", "y"]


@st.composite
def lark_grammars(draw) -> str:
    """The text of a random, productive Lark grammar with start rule ``start``."""
    lines = []
    for name in RULE_NAMES:
        # The first alternative uses terminals only, so every rule is productive.
        alts = [" ".join(draw(st.lists(st.sampled_from(TERMINALS), max_size=2)))]
        for _ in range(draw(st.integers(0, 2))):
            items = []
            for _ in range(draw(st.integers(0, 3))):
                item = draw(st.sampled_from(TERMINALS + RULE_NAMES))
                suffix = draw(st.sampled_from(["", "", "", "?", "*", "+"]))
                items.append(f"({item}){suffix}" if suffix else item)
            alts.append(" ".join(items))
        lines.append(f"{name}: " + " | ".join(alts))
    lines.append("NUM: /[0-9]+/")
    if draw(st.booleans()):
        lines.append('%ignore " "')
    return "\n".join(lines) + "\n"
