# cython: language_level=3, embedsignature=True, boundscheck=False, wraparound=False
# distutils: language = c++
"""Bindings of the C++ core (csrc/): token trie, DFA mask store, matcher, batch mask filling.

Every call into the core that does more than constant work releases the GIL.
"""

from libc.stdint cimport int32_t, int64_t, uint8_t
from libc.string cimport memcpy
from libcpp cimport bool as cbool
from libcpp.memory cimport shared_ptr, unique_ptr, make_shared
from libcpp.string cimport string
from libcpp.utility cimport move
from libcpp.vector cimport vector

import numpy as np

from .bitmask import bitmask_to_ids


cdef extern from "token_trie.h" namespace "constrain" nogil:
    cdef cppclass CTokenTrie "constrain::TokenTrie":
        CTokenTrie(const uint8_t* data, const int64_t* offsets, int32_t vocab_size) except +
        int32_t vocab_size()
        size_t num_nodes()
        size_t memory_bytes()


cdef extern from "<array>" nogil:
    cdef cppclass CByteColumns "std::array<int32_t, 256>":
        int32_t& operator[](size_t)


cdef extern from "byte_dfa.h" namespace "constrain" nogil:
    cdef cppclass CDenseRows "constrain::DenseRows":
        CDenseRows(const int32_t*, size_t)
    int32_t c_equal_byte_columns "constrain::equal_byte_columns"(
        const vector[CDenseRows]& tables, CByteColumns* class_of)
    cdef cppclass CByteDfa "constrain::ByteDfa":
        CByteDfa()
        CByteDfa(const int32_t* dense, const uint8_t* accepting, int32_t n_states) except +
        int32_t num_states()
        int32_t num_classes()
        size_t memory_bytes()


cdef extern from "dfa_partition.h" namespace "constrain" nogil:
    vector[vector[int32_t]] c_residual_classes "constrain::residual_classes"(
        const vector[const CByteDfa*]& dfas, int32_t* num_classes) except +
    cdef cppclass CDfaTable "constrain::DfaTable":
        int32_t num_states
        int32_t num_letters
        vector[int32_t] table
        vector[uint8_t] accepting
    CDfaTable c_minimize "constrain::minimize"(
        const CDfaTable& dfa, int32_t start, const vector[int32_t]& letter_order) except +


cdef extern from "dfa_product.h" namespace "constrain" nogil:
    cdef cppclass CDfaProduct "constrain::DfaProduct":
        CDfaTable table
        vector[int32_t] left
        vector[int32_t] right
    CDfaProduct c_product "constrain::product"(
        const CDfaTable& a, int32_t sink_a, const CDfaTable& b, int32_t sink_b,
        cbool a_may_die, cbool b_may_die) except +
    cdef enum class CCombination "constrain::Combination":
        kIntersection
        kUnion
        kDifference
    CDfaTable c_combine "constrain::combine"(
        const CDfaTable& a, const CDfaTable& b, CCombination op, int64_t max_states) except +


cdef extern from "dfa_subset.h" namespace "constrain" nogil:
    cdef cppclass CNfaTables "constrain::NfaTables":
        int32_t num_states
        int32_t num_letters
        int32_t start
        int32_t accept
        vector[int32_t] eps_begin, eps, move_begin, move_letter, move_target
    cbool c_subset_construction "constrain::subset_construction"(
        const CNfaTables& nfa, int32_t max_states, CDfaTable* out) except +


cdef extern from "mask_store.h" namespace "constrain" nogil:
    cdef cppclass CBuildProgress "constrain::BuildProgress":
        int64_t done()
        void cancel()

    cdef cppclass CMaskStore "constrain::MaskStore":
        CMaskStore()
        CMaskStore(int32_t vocab_size, vector[uint8_t] forms, vector[int64_t] offsets,
                   vector[int32_t] lengths, vector[int32_t] data) except +
        @staticmethod
        CMaskStore build(const CByteDfa& dfa, const CTokenTrie& trie, int threads,
                         CBuildProgress* progress) except +
        int32_t vocab_size()
        int32_t num_states()
        int64_t count(int32_t state)
        size_t memory_bytes()
        const vector[uint8_t]& forms()
        const vector[int64_t]& offsets()
        const vector[int32_t]& lengths()
        const vector[int32_t]& data()


cdef extern from "cfg_matcher.h" namespace "constrain" nogil:
    pass


cdef extern from "matcher.h" namespace "constrain" nogil:
    cdef cppclass CMatcher "constrain::Matcher":
        cbool accept_token(int32_t token_id) except +
        cbool accept_bytes(const uint8_t* data, size_t length) except +
        void fill_bitmask(int32_t* row, int64_t words) except +
        void rollback(int32_t steps) except +
        void reset()
        int32_t num_steps()
        cbool is_accepting()
        cbool is_terminated()
        string forced_bytes() except +
        unique_ptr[CMatcher] fork()
        int32_t vocab_size()

    cdef cppclass CDfaGrammar "constrain::DfaGrammar":
        shared_ptr[CTokenTrie] trie
        CByteDfa dfa
        CMaskStore masks
        vector[int32_t] eos_ids
        size_t memory_bytes()

    cdef cppclass CDfaMatcher "constrain::DfaMatcher"(CMatcher):
        CDfaMatcher(shared_ptr[CDfaGrammar] grammar)

    cdef cppclass CContextCache "constrain::ContextCache":
        void reset(size_t budget_bytes)

    cdef cppclass CCfgTerminal "constrain::CfgTerminal":
        CByteDfa dfa
        vector[int32_t] state_class

    cdef cppclass CCfgGrammar "constrain::CfgGrammar":
        shared_ptr[CTokenTrie] trie
        vector[CCfgTerminal] terminals
        int32_t num_classes
        int32_t num_nonterminals
        int32_t start
        vector[int32_t] rule_lhs
        vector[int32_t] rule_begin
        vector[int32_t] rhs
        vector[int32_t] eos_ids
        int64_t max_items_per_set
        void finalize() except +
        size_t memory_bytes()
        CContextCache& contexts()

    cdef cppclass CCfgMatcher "constrain::CfgMatcher"(CMatcher):
        CCfgMatcher(shared_ptr[CCfgGrammar] grammar) except +

    void c_fill_bitmasks "constrain::fill_bitmasks"(
        const vector[const CMatcher*]& matchers, const vector[int64_t]& rows,
        int32_t* bitmask, int64_t words, int threads) except +


cdef object _to_numpy(const void* src, size_t nbytes, dtype):
    """A numpy copy of ``nbytes`` bytes at ``src``, viewed as ``dtype``."""
    out = np.empty(nbytes, np.uint8)
    cdef uint8_t[::1] view = out
    if nbytes:
        memcpy(&view[0], src, nbytes)
    return out.view(dtype)


cdef vector[int32_t] _vector_int32(array) except *:
    cdef const int32_t[::1] view = np.ascontiguousarray(array, np.int32)
    cdef vector[int32_t] out
    if view.shape[0]:
        out.assign(&view[0], &view[0] + view.shape[0])
    return out


cdef vector[int64_t] _vector_int64(array) except *:
    cdef const int64_t[::1] view = np.ascontiguousarray(array, np.int64)
    cdef vector[int64_t] out
    if view.shape[0]:
        out.assign(&view[0], &view[0] + view.shape[0])
    return out


cdef vector[uint8_t] _vector_uint8(array) except *:
    cdef const uint8_t[::1] view = np.ascontiguousarray(array, np.uint8)
    cdef vector[uint8_t] out
    if view.shape[0]:
        out.assign(&view[0], &view[0] + view.shape[0])
    return out


cdef int _assign_int32(vector[int32_t]& out, array) except -1:
    out = _vector_int32(array)
    return 0


cdef class TokenTrie:
    """The byte strings of a vocabulary in a trie, as the C++ core walks it.

    Built from ``Vocabulary.blob()``: token i has bytes ``data[offsets[i]:offsets[i+1]]``.
    """

    cdef shared_ptr[CTokenTrie] ptr

    def __init__(self, const uint8_t[::1] data not None, const int64_t[::1] offsets not None):
        cdef int32_t vocab_size = <int32_t>(offsets.shape[0] - 1)
        if vocab_size < 1:
            raise ValueError("a token trie needs at least one token")
        if offsets[0] != 0 or offsets[vocab_size] != data.shape[0]:
            raise ValueError("token offsets must start at 0 and end at len(data)")
        cdef const uint8_t* d = &data[0] if data.shape[0] else NULL
        with nogil:
            self.ptr = make_shared[CTokenTrie](d, &offsets[0], vocab_size)

    @property
    def vocab_size(self):
        """Number of token ids (padding and special ids included)."""
        return self.ptr.get().vocab_size()

    @property
    def num_nodes(self):
        """Number of trie nodes."""
        return self.ptr.get().num_nodes()

    @property
    def memory_bytes(self):
        """Bytes of memory the trie holds."""
        return self.ptr.get().memory_bytes()


cdef class BuildProgress:
    """How far a running ``DfaIndex.build`` is: read ``done`` (DFA states whose token set is
    computed) from another thread while the build runs; ``cancel()`` stops it early (the build
    then raises RuntimeError). One object per build."""

    cdef unique_ptr[CBuildProgress] ptr

    def __cinit__(self):
        self.ptr.reset(new CBuildProgress())

    @property
    def done(self):
        """Number of DFA states done so far; the number of states once the build has finished."""
        return self.ptr.get().done()

    def cancel(self):
        """Ask the build to stop; it raises RuntimeError in its own thread soon after."""
        self.ptr.get().cancel()


cdef class DfaIndex:
    """A byte DFA compiled against a vocabulary: for every state, the tokens that keep it live.

    Immutable and shared by every matcher made from it.
    """

    cdef shared_ptr[CDfaGrammar] ptr

    @staticmethod
    def build(TokenTrie trie not None, const int32_t[:, ::1] transitions not None,
              const uint8_t[::1] accepting not None, eos_ids, int threads=1,
              BuildProgress progress=None):
        """Walk the token trie from every DFA state (in ``threads`` threads) to build the index.

        The GIL is released throughout, so another thread can watch ``progress`` meanwhile.
        """
        cdef DfaIndex index = DfaIndex._with_dfa(trie, transitions, accepting, eos_ids)
        cdef CDfaGrammar* g = index.ptr.get()
        cdef CBuildProgress* counter = progress.ptr.get() if progress is not None else NULL
        with nogil:
            g.masks = CMaskStore.build(g.dfa, g.trie.get()[0], threads, counter)
        return index

    @staticmethod
    def from_arrays(TokenTrie trie not None, const int32_t[:, ::1] transitions not None,
                    const uint8_t[::1] accepting not None, eos_ids, forms, offsets, lengths, data):
        """Rebuild an index from its DFA and the arrays of ``mask_arrays()`` (e.g. a disk cache)."""
        cdef DfaIndex index = DfaIndex._with_dfa(trie, transitions, accepting, eos_ids)
        if len(forms) != transitions.shape[0]:
            raise ValueError("mask store and DFA differ in their number of states")
        index.ptr.get().masks = CMaskStore(trie.ptr.get().vocab_size(), _vector_uint8(forms),
                                           _vector_int64(offsets), _vector_int32(lengths),
                                           _vector_int32(data))
        return index

    @staticmethod
    cdef DfaIndex _with_dfa(TokenTrie trie, const int32_t[:, ::1] transitions,
                            const uint8_t[::1] accepting, eos_ids):
        cdef int32_t n = <int32_t>transitions.shape[0]
        if n == 0:
            raise ValueError("the DFA has no states (empty language)")
        if transitions.shape[1] != 256 or accepting.shape[0] != n:
            raise ValueError("transitions must be [n_states, 256] and accepting [n_states]")
        cdef DfaIndex index = DfaIndex.__new__(DfaIndex)
        index.ptr = make_shared[CDfaGrammar]()
        cdef CDfaGrammar* g = index.ptr.get()
        g.trie = trie.ptr
        g.dfa = CByteDfa(&transitions[0, 0], &accepting[0], n)
        vocab_size = trie.ptr.get().vocab_size()
        for eos in eos_ids:
            if not 0 <= eos < vocab_size:
                raise ValueError(f"end-of-sequence id {eos} is outside the vocabulary of {vocab_size}")
            g.eos_ids.push_back(eos)
        return index

    def mask_arrays(self):
        """The mask store as numpy arrays: forms, offsets, lengths, data (see csrc/mask_store.h)."""
        cdef CMaskStore* m = &self.ptr.get().masks
        return {
            "forms": _to_numpy(m.forms().data(), m.forms().size(), np.uint8),
            "offsets": _to_numpy(m.offsets().data(), m.offsets().size() * 8, np.int64),
            "lengths": _to_numpy(m.lengths().data(), m.lengths().size() * 4, np.int32),
            "data": _to_numpy(m.data().data(), m.data().size() * 4, np.int32),
        }

    def matcher(self):
        """A new Matcher at the start state."""
        cdef Matcher m = Matcher.__new__(Matcher)
        m.ptr.reset(new CDfaMatcher(self.ptr))
        return m

    def allowed_count(self, int32_t state):
        """Number of tokens allowed in DFA state ``state`` (end-of-sequence not counted)."""
        if not 0 <= state < self.num_states:
            raise IndexError(f"state {state} out of range")
        return self.ptr.get().masks.count(state)

    @property
    def num_states(self):
        """Number of DFA states."""
        return self.ptr.get().dfa.num_states()

    @property
    def num_byte_classes(self):
        """Number of byte equivalence classes of the DFA."""
        return self.ptr.get().dfa.num_classes()

    @property
    def memory_bytes(self):
        """Bytes of memory held by the DFA and the mask store (the shared trie not included)."""
        return self.ptr.get().memory_bytes()


cdef class CfgIndex:
    """A context-free grammar bound to a vocabulary: rules and terminal DFAs; the token sets of
    every class of terminal states (within, crossing, and crossing summaries) are built on first
    use and cached. Shared by its matchers; thread-safe."""

    cdef shared_ptr[CCfgGrammar] ptr

    @staticmethod
    def build(TokenTrie trie not None, tables, eos_ids):
        """Bind normalised ``CfgTables`` (constrain.automata.cfg) to a vocabulary's trie. Token
        sets are computed per class of terminal states on first use, so this is cheap."""
        cdef CfgIndex index = CfgIndex.__new__(CfgIndex)
        index.ptr = make_shared[CCfgGrammar]()
        cdef CCfgGrammar* g = index.ptr.get()
        g.trie = trie.ptr
        cdef CCfgTerminal term
        cdef const int32_t[:, ::1] transitions
        cdef const uint8_t[::1] accepting
        for i, dfa in enumerate(tables.terminal_dfas):
            transitions = np.ascontiguousarray(dfa.transitions, np.int32)
            accepting = np.ascontiguousarray(dfa.accepting, np.uint8)
            if transitions.shape[0] == 0:
                raise ValueError(f"terminal {tables.terminal_names[i]!r} has an empty language")
            term.dfa = CByteDfa(&transitions[0, 0], &accepting[0], <int32_t>transitions.shape[0])
            g.terminals.push_back(term)
        g.num_nonterminals = len(tables.nonterminal_names)
        g.start = tables.start
        _assign_int32(g.rule_lhs, tables.rule_lhs)
        _assign_int32(g.rule_begin, tables.rule_begin)
        _assign_int32(g.rhs, tables.rhs)
        vocab_size = trie.ptr.get().vocab_size()
        for eos in eos_ids:
            if not 0 <= eos < vocab_size:
                raise ValueError(f"end-of-sequence id {eos} is outside the vocabulary of {vocab_size}")
            g.eos_ids.push_back(eos)
        with nogil:
            g.finalize()
        return index

    def matcher(self):
        """A new Matcher at the start of the grammar."""
        cdef Matcher m = Matcher.__new__(Matcher)
        m.ptr.reset(new CCfgMatcher(self.ptr))
        return m

    @property
    def num_terminals(self):
        """Number of terminals."""
        return self.ptr.get().terminals.size()

    @property
    def memory_bytes(self):
        """Bytes held by the rules and every terminal's DFA and stores (the shared trie excluded)."""
        return self.ptr.get().memory_bytes()

    def reset_context_cache(self, size_t budget_bytes=64 << 20):
        """Empty the cache of parse contexts (what masks learnt per parser state) and give it a
        byte budget; 0 keeps nothing, so every mask is computed from the chart alone."""
        with nogil:
            self.ptr.get().contexts().reset(budget_bytes)


cdef CDfaTable _dfa_table(table) except *:
    """A C++ DfaTable holding a copy of an int32 ``[n, k]`` table (accepting left empty)."""
    cdef const int32_t[:, ::1] t = np.ascontiguousarray(table, np.int32)
    cdef CDfaTable dfa
    dfa.num_states = <int32_t>t.shape[0]
    dfa.num_letters = <int32_t>t.shape[1]
    if dfa.num_states and dfa.num_letters:
        dfa.table.assign(&t[0, 0], &t[0, 0] + t.shape[0] * t.shape[1])
    return dfa


cdef object _table_to_numpy(const CDfaTable& dfa):
    return _to_numpy(dfa.table.data(), dfa.table.size() * 4, np.int32).reshape(
        dfa.num_states, dfa.num_letters)


def minimize_table(table, accepting, int32_t start, letter_order):
    """The minimal DFA of a dense table (C++ Hopcroft; the kernel of
    ``constrain.automata.dfa.minimize``).

    ``table``: int32 ``[n, k]`` over k letters, -1 for no transition; ``accepting``: n flags;
    ``letter_order``: a permutation of 0..k-1, the order in which successors are numbered.
    Returns ``(table [m, k] int32, accepting [m] bool)``: unreachable and dead states removed,
    equivalent states merged, numbered breadth-first from the start (state 0); m = 0 for the
    empty language.
    """
    cdef CDfaTable dfa = _dfa_table(table)
    if len(accepting) != dfa.num_states:
        raise ValueError(f"{len(accepting)} accepting flags for {dfa.num_states} states")
    dfa.accepting = _vector_uint8(accepting)
    cdef vector[int32_t] order = _vector_int32(letter_order)
    cdef CDfaTable out
    with nogil:
        out = c_minimize(dfa, start, order)
    return (_table_to_numpy(out),
            _to_numpy(out.accepting.data(), out.accepting.size(), np.uint8).astype(bool))


def product_table(a, int32_t sink_a, b, int32_t sink_b, cbool a_may_die, cbool b_may_die):
    """The reachable product of two complete int32 tables over the same letters (C++; the
    kernel of ``constrain.automata.dfa`` intersection, union and difference).

    State ``sink_a`` of ``a`` (``sink_b`` of ``b``) is its dead state; a pair with a side in
    its sink is kept only if that side may die, both sinks never. Returns ``(table [m, k],
    left [m], right [m])``: transitions (-1 to pairs not kept) and each state's components;
    state 0 is (0, 0).
    """
    cdef CDfaTable ta = _dfa_table(a)
    cdef CDfaTable tb = _dfa_table(b)
    cdef CDfaProduct out
    with nogil:
        out = c_product(ta, sink_a, tb, sink_b, a_may_die, b_may_die)
    return (_table_to_numpy(out.table),
            _to_numpy(out.left.data(), out.left.size() * 4, np.int32),
            _to_numpy(out.right.data(), out.right.size() * 4, np.int32))


def subset_table(eps_begin, eps, move_begin, move_letter, move_target, int32_t start,
                 int32_t accept, int32_t num_letters, int32_t max_states):
    """The subset construction of a byte NFA in compressed rows (C++; the kernel of
    ``constrain.automata.dfa.nfa_to_dfa``).

    State s has epsilon successors ``eps[eps_begin[s]:eps_begin[s + 1]]`` and moves on letter
    ``move_letter[i]`` to ``move_target[i]`` for i in ``move_begin[s]:move_begin[s + 1]``.
    Returns ``(table [m, num_letters] int32, accepting [m] bool)``, not minimised, state 0
    the start; None when the DFA would have more than ``max_states`` states.
    """
    cdef CNfaTables nfa
    nfa.num_states = <int32_t>(len(eps_begin) - 1)
    nfa.num_letters = num_letters
    nfa.start = start
    nfa.accept = accept
    nfa.eps_begin = _vector_int32(eps_begin)
    nfa.eps = _vector_int32(eps)
    nfa.move_begin = _vector_int32(move_begin)
    nfa.move_letter = _vector_int32(move_letter)
    nfa.move_target = _vector_int32(move_target)
    cdef CDfaTable out
    cdef cbool fits
    with nogil:
        fits = c_subset_construction(nfa, max_states, &out)
    if not fits:
        return None
    return (_table_to_numpy(out),
            _to_numpy(out.accepting.data(), out.accepting.size(), np.uint8).astype(bool))


_COMBINATIONS = {"intersection": CCombination.kIntersection, "union": CCombination.kUnion,
                 "difference": CCombination.kDifference}


def byte_column_classes(table):
    """The class of each byte (int64 ``[256]``) for an ``[n, 256]`` table of int32 values:
    two bytes share a class iff their columns are equal; classes are numbered in order of
    their first byte (C++, row by row; the kernel of ``constrain.automata.dfa`` column
    reduction)."""
    cdef const int32_t[:, ::1] t = np.ascontiguousarray(table, np.int32)
    if t.shape[1] != 256:
        raise ValueError(f"expected 256 columns, not {t.shape[1]}")
    out = np.zeros(256, np.int64)
    if t.shape[0] == 0:
        return out
    cdef vector[CDenseRows] tables
    tables.push_back(CDenseRows(&t[0, 0], <size_t>t.shape[0]))
    cdef CByteColumns classes
    with nogil:
        c_equal_byte_columns(tables, &classes)
    cdef int64_t[::1] view = out
    for b in range(256):
        view[b] = classes[b]
    return out


def combine_tables(a, a_accepting, b, b_accepting, str op, int64_t max_states=-1):
    """The minimal DFA of two byte DFAs combined (C++; the kernel of
    ``constrain.automata.dfa`` intersect, union and complement_within).

    ``a``, ``b``: int32 ``[n, 256]`` tables (-1 for no transition), non-empty, with their
    accepting flags; ``op``: ``"intersection"``, ``"union"`` or ``"difference"`` (the strings
    of ``b`` not in ``a``). Returns ``(table [m, 256] int32, accepting [m] bool)``, numbered
    breadth-first from the start in byte order; m = 0 for the empty language. Raises
    OverflowError when the product passes ``max_states`` states (-1: no limit).
    """
    if op not in _COMBINATIONS:
        raise ValueError(f"unknown combination {op!r}")
    cdef CCombination how = _COMBINATIONS[op]
    cdef CDfaTable ta = _dfa_table(a)
    cdef CDfaTable tb = _dfa_table(b)
    ta.accepting = _vector_uint8(a_accepting)
    tb.accepting = _vector_uint8(b_accepting)
    cdef CDfaTable out
    with nogil:
        out = c_combine(ta, tb, how, max_states)
    return (_table_to_numpy(out),
            _to_numpy(out.accepting.data(), out.accepting.size(), np.uint8).astype(bool))


def residual_classes(dfas):
    """Classes of states with equal residual languages across several byte DFAs.

    ``dfas``: objects with ``transitions`` (n x 256, -1 for none; every state live) and
    ``accepting`` (n flags), start state 0, e.g. ``constrain.automata.dfa.ByteDFA``. Returns one
    int32 array per DFA: two states (of any of them) get the same number iff the same byte
    strings lead from them to acceptance. (The C++ core numbers a grammar's terminal states
    this way to share token sets; exposed for tests.)
    """
    cdef vector[CByteDfa] built
    cdef vector[const CByteDfa*] pointers
    cdef const int32_t[:, ::1] transitions
    cdef const uint8_t[::1] accepting
    cdef int32_t count = 0
    built.reserve(len(dfas))
    for dfa in dfas:
        transitions = np.ascontiguousarray(dfa.transitions, np.int32)
        accepting = np.ascontiguousarray(dfa.accepting, np.uint8)
        if transitions.shape[0] == 0 or transitions.shape[1] != 256:
            raise ValueError("every DFA needs at least one state and 256 columns")
        built.push_back(CByteDfa(&transitions[0, 0], &accepting[0], <int32_t>transitions.shape[0]))
    for i in range(built.size()):
        pointers.push_back(&built[i])
    cdef vector[vector[int32_t]] classes
    with nogil:
        classes = c_residual_classes(pointers, &count)
    return [np.asarray(row, dtype=np.int32) for row in classes]


cdef int32_t* _bitmask_pointer(object bitmask, int64_t* rows, int64_t* words) except NULL:
    """The address and shape of an int32 bitmask: a numpy array or a CPU torch tensor, C-contiguous."""
    cdef int32_t[:, ::1] view
    if isinstance(bitmask, np.ndarray):
        if bitmask.ndim == 1:
            bitmask = bitmask.reshape(1, -1)
        if bitmask.dtype != np.int32:
            raise TypeError(f"bitmask must have dtype int32, not {bitmask.dtype}")
        view = bitmask
        rows[0] = view.shape[0]
        words[0] = view.shape[1]
        return &view[0, 0]
    if hasattr(bitmask, "data_ptr"):
        if str(bitmask.dtype) != "torch.int32":
            raise TypeError(f"bitmask must have dtype torch.int32, not {bitmask.dtype}")
        if bitmask.device.type != "cpu":
            raise ValueError("fill the bitmask on the CPU; apply_bitmask moves it to the logits' device")
        if not bitmask.is_contiguous():
            raise ValueError("bitmask must be contiguous")
        if bitmask.dim() not in (1, 2):
            raise ValueError(f"bitmask must have 1 or 2 dimensions, not {bitmask.dim()}")
        rows[0] = bitmask.shape[0] if bitmask.dim() == 2 else 1
        words[0] = bitmask.shape[bitmask.dim() - 1]
        return <int32_t*><size_t>bitmask.data_ptr()
    raise TypeError(f"bitmask must be a numpy array or a torch tensor, not {type(bitmask).__name__}")


cdef class Matcher:
    """One sequence's position in a compiled grammar.

    Made by ``CompiledGrammar.matcher()``. Every accepted token or byte string is one step that
    ``rollback`` can undo. After an end-of-sequence token the matcher is terminated and allows
    only end-of-sequence tokens.
    """

    cdef unique_ptr[CMatcher] ptr

    def __init__(self):
        raise TypeError("make a Matcher with CompiledGrammar.matcher()")

    cdef int32_t _check_id(self, token_id) except -1:
        cdef int32_t vocab_size = self.ptr.get().vocab_size()
        if not 0 <= token_id < vocab_size:
            raise ValueError(f"token id {token_id} is outside the vocabulary of {vocab_size}")
        return 0

    def accept_token(self, int64_t token_id):
        """Advance by one token. False, and no change of state, if the grammar does not allow it."""
        self._check_id(token_id)
        cdef cbool ok
        with nogil:
            ok = self.ptr.get().accept_token(<int32_t>token_id)
        return ok

    def accept_tokens(self, token_ids):
        """Advance token by token; stop at the first refused token. Returns how many were accepted."""
        cdef vector[int32_t] ids
        for token_id in token_ids:
            self._check_id(token_id)
            ids.push_back(token_id)
        cdef size_t accepted = 0
        with nogil:
            while accepted < ids.size() and self.ptr.get().accept_token(ids[accepted]):
                accepted += 1
        return accepted

    def accept_bytes(self, const uint8_t[:] data not None):
        """Advance by bytes that did not come from the model (an observation); one rollback step.

        False, and no change of state, if the bytes do not continue a string of the grammar.
        """
        cdef cbool ok
        cdef const uint8_t* p = &data[0] if data.shape[0] else NULL
        with nogil:
            ok = self.ptr.get().accept_bytes(p, data.shape[0])
        return ok

    def fill_bitmask(self, bitmask, Py_ssize_t row=0):
        """Write the allowed tokens into row ``row`` of an int32 bitmask (numpy or CPU torch).

        Bit ``t % 32`` of word ``t // 32`` is set iff token ``t`` is allowed. Words past the
        vocabulary (a model's padded logits) are cleared.
        """
        cdef int64_t rows, words
        cdef int32_t* base = _bitmask_pointer(bitmask, &rows, &words)
        if not 0 <= row < rows:
            raise IndexError(f"row {row} out of range for a bitmask of {rows} rows")
        cdef int32_t* p = base + row * words
        with nogil:
            self.ptr.get().fill_bitmask(p, words)

    def allowed_token_ids(self):
        """The allowed token ids, ascending, as an int64 numpy array."""
        vocab_size = self.ptr.get().vocab_size()
        row = np.empty((vocab_size + 31) // 32, np.int32)
        self.fill_bitmask(row)
        return bitmask_to_ids(row, vocab_size)

    def rollback(self, int32_t steps=1):
        """Undo the last ``steps`` accepted tokens or byte strings."""
        if steps < 0 or steps > self.ptr.get().num_steps():
            raise ValueError(f"cannot roll back {steps} steps; {self.ptr.get().num_steps()} were taken")
        self.ptr.get().rollback(steps)

    def fork(self):
        """An independent copy of this matcher (shares the compiled grammar)."""
        cdef Matcher m = Matcher.__new__(Matcher)
        m.ptr = move(self.ptr.get().fork())
        return m

    def reset(self):
        """Back to the start of the grammar."""
        self.ptr.get().reset()

    def is_accepting(self):
        """True if the bytes accepted so far form a complete string of the grammar."""
        return self.ptr.get().is_accepting()

    def is_terminated(self):
        """True once an end-of-sequence token was accepted."""
        return self.ptr.get().is_terminated()

    def forced_bytes(self):
        """The bytes the grammar forces next (empty if more than one byte, or stopping, is possible)."""
        return <bytes>self.ptr.get().forced_bytes()

    @property
    def num_steps(self):
        """Number of accepted steps (tokens or byte strings) that ``rollback`` can undo."""
        return self.ptr.get().num_steps()

    @property
    def vocab_size(self):
        """Size of the vocabulary the grammar was compiled for (padding ids included)."""
        return self.ptr.get().vocab_size()


def fill_bitmasks(matchers, bitmask, rows=None, threads=None):
    """Fill one bitmask row per matcher in parallel C++ threads, with the GIL released.

    ``rows[i]`` is the row of ``matchers[i]`` (default: row i). ``threads=None`` picks a count
    that pays for itself: one thread for small batches, up to the cores for large ones.
    """
    cdef int64_t n_rows, words
    cdef int32_t* base = _bitmask_pointer(bitmask, &n_rows, &words)
    cdef vector[const CMatcher*] cms
    cdef vector[int64_t] crows
    cdef Matcher m
    for i, obj in enumerate(matchers):
        if not isinstance(obj, Matcher):
            raise TypeError(f"matchers[{i}] is a {type(obj).__name__}, not a Matcher")
        m = obj
        cms.push_back(m.ptr.get())
    if rows is None:
        rows = range(cms.size())
    for r in rows:
        if not 0 <= r < n_rows:
            raise IndexError(f"row {r} out of range for a bitmask of {n_rows} rows")
        crows.push_back(r)
    if crows.size() != cms.size():
        raise ValueError(f"{cms.size()} matchers but {crows.size()} rows")
    cdef int n_threads
    if threads is None:
        import os
        # Starting a thread costs tens of microseconds, about what 16-64 light masks take.
        n_threads = max(1, min(os.cpu_count() or 1, <int>cms.size() // 64))
    else:
        n_threads = max(1, int(threads))
    with nogil:
        c_fill_bitmasks(cms, crows, base, words, n_threads)


# ------------------------------------------------------------------ speculative decoding: draft masks

cdef extern from "draft_masks.h" namespace "constrain" nogil:
    int32_t c_fill_draft_bitmasks "constrain::fill_draft_bitmasks"(
        CMatcher& matcher, const int32_t* drafts, int32_t k, int32_t* bitmask,
        int64_t words) except +
    void c_fill_draft_tree_bitmasks "constrain::fill_draft_tree_bitmasks"(
        CMatcher& matcher, const int32_t* tokens, const int32_t* parents, int32_t n,
        int32_t* bitmask, int64_t words, uint8_t* valid) except +
    void c_fill_draft_bitmasks_batch "constrain::fill_draft_bitmasks_batch"(
        const vector[CMatcher*]& matchers, const vector[int64_t]& draft_begin,
        const vector[int32_t]& drafts, const vector[int64_t]& rows, int32_t* bitmask,
        int64_t words, int threads, int32_t* counts) except +


cdef _checked_ids(ids, int32_t vocab_size, str what):
    """``ids`` as a contiguous int32 numpy array, every id inside the vocabulary."""
    arr = np.ascontiguousarray(np.asarray(ids, dtype=np.int64).reshape(-1))
    if arr.size and (arr.min() < 0 or arr.max() >= vocab_size):
        bad = arr[(arr < 0) | (arr >= vocab_size)][0]
        raise ValueError(f"{what}: token id {bad} is outside the vocabulary of {vocab_size}")
    return arr.astype(np.int32)


cdef Matcher _as_matcher(obj, str what):
    if not isinstance(obj, Matcher):
        raise TypeError(f"{what} is a {type(obj).__name__}, not a Matcher")
    return <Matcher>obj


def fill_draft_bitmasks(matcher, draft_ids, bitmask, Py_ssize_t row0=0):
    """Masks for verifying a linear draft, in one call; returns how many drafts the grammar allows.

    With ``k = len(draft_ids)``, writes rows ``row0 .. row0 + k`` of ``bitmask`` (int32, numpy
    or CPU torch): row ``row0 + i`` is the mask after accepting the first ``i`` drafts. The
    drafts are accepted tentatively and rolled back, so the matcher ends as it started. If
    draft ``n`` is refused, the return value is ``n`` and the rows after row ``row0 + n`` are
    cleared (no token allowed).
    """
    cdef Matcher m = _as_matcher(matcher, "matcher")
    cdef int64_t n_rows, words
    cdef int32_t* base = _bitmask_pointer(bitmask, &n_rows, &words)
    cdef const int32_t[::1] ids = _checked_ids(draft_ids, m.ptr.get().vocab_size(), "draft_ids")
    cdef int32_t k = <int32_t>ids.shape[0]
    if row0 < 0 or row0 + k + 1 > n_rows:
        raise IndexError(f"rows {row0}..{row0 + k} do not fit a bitmask of {n_rows} rows")
    cdef const int32_t* p = &ids[0] if k else NULL
    cdef int32_t accepted
    cdef CMatcher* cm = m.ptr.get()
    with nogil:
        accepted = c_fill_draft_bitmasks(cm[0], p, k, base + row0 * words, words)
    return accepted


def fill_draft_tree_bitmasks(matcher, token_ids, parents, bitmask, Py_ssize_t row0=0):
    """Masks for verifying a draft tree; returns a bool numpy array: which nodes the grammar allows.

    Node ``i`` holds ``token_ids[i]``; ``parents[i]`` is ``-1`` (a child of the matcher's
    current state) or an earlier node. Writes ``len(token_ids) + 1`` rows from ``row0``: row
    ``row0`` is the mask at the current state, row ``row0 + 1 + i`` the mask after the path to
    node ``i``. Rows of nodes the grammar refuses (or below a refused node) are cleared. The
    matcher ends as it started. A linear draft is the chain ``parents = [-1, 0, 1, ...]``.
    """
    cdef Matcher m = _as_matcher(matcher, "matcher")
    cdef int64_t n_rows, words
    cdef int32_t* base = _bitmask_pointer(bitmask, &n_rows, &words)
    cdef const int32_t[::1] toks = _checked_ids(token_ids, m.ptr.get().vocab_size(), "token_ids")
    par_arr = np.ascontiguousarray(np.asarray(parents, dtype=np.int64).reshape(-1))
    if par_arr.shape[0] != toks.shape[0]:
        raise ValueError(f"{toks.shape[0]} tokens but {par_arr.shape[0]} parents")
    idx = np.arange(par_arr.shape[0])
    if par_arr.size and ((par_arr < -1) | (par_arr >= idx)).any():
        i = int(np.flatnonzero((par_arr < -1) | (par_arr >= idx))[0])
        raise ValueError(f"parents[{i}] = {par_arr[i]} must be -1 or an earlier node")
    cdef const int32_t[::1] par = par_arr.astype(np.int32)
    cdef int32_t n = <int32_t>toks.shape[0]
    if row0 < 0 or row0 + n + 1 > n_rows:
        raise IndexError(f"rows {row0}..{row0 + n} do not fit a bitmask of {n_rows} rows")
    valid = np.zeros(n, dtype=np.uint8)
    cdef uint8_t[::1] v = valid
    cdef const int32_t* tp = &toks[0] if n else NULL
    cdef const int32_t* pp = &par[0] if n else NULL
    cdef uint8_t* vp = &v[0] if n else NULL
    cdef CMatcher* cm = m.ptr.get()
    with nogil:
        c_fill_draft_tree_bitmasks(cm[0], tp, pp, n, base + row0 * words, words, vp)
    return valid.astype(bool)


def fill_draft_bitmasks_batch(matchers, drafts, bitmask, rows=None, threads=None):
    """:func:`fill_draft_bitmasks` for many sequences in parallel C++ threads (GIL released).

    ``drafts[i]`` is the draft of ``matchers[i]``; its ``len(drafts[i]) + 1`` rows start at
    ``rows[i]`` (default: packed one after another from row 0). Returns an int32 numpy array:
    how many drafts the grammar allows for each sequence. The matchers must be distinct.
    """
    cdef int64_t n_rows, words
    cdef int32_t* base = _bitmask_pointer(bitmask, &n_rows, &words)
    cdef vector[CMatcher*] cms
    cdef vector[int64_t] begin, crows
    cdef vector[int32_t] flat
    cdef Matcher m
    if len(matchers) != len(drafts):
        raise ValueError(f"{len(matchers)} matchers but {len(drafts)} drafts")
    seen = set()
    begin.push_back(0)
    for i, obj in enumerate(matchers):
        m = _as_matcher(obj, f"matchers[{i}]")
        if id(obj) in seen:
            raise ValueError(f"matchers[{i}] appears twice; fork it to verify two drafts")
        seen.add(id(obj))
        cms.push_back(m.ptr.get())
        for t in _checked_ids(drafts[i], m.ptr.get().vocab_size(), f"drafts[{i}]"):
            flat.push_back(t)
        begin.push_back(flat.size())
    if rows is None:
        rows = [begin[i] + i for i in range(cms.size())]
    if len(rows) != cms.size():
        raise ValueError(f"{cms.size()} matchers but {len(rows)} rows")
    for i, r in enumerate(rows):
        k = begin[i + 1] - begin[i]
        if r < 0 or r + k + 1 > n_rows:
            raise IndexError(f"rows {r}..{r + k} of matchers[{i}] do not fit a bitmask of "
                             f"{n_rows} rows")
        crows.push_back(r)
    counts = np.zeros(cms.size(), dtype=np.int32)
    cdef int32_t[::1] c = counts
    cdef int32_t* cp = &c[0] if cms.size() else NULL
    cdef int n_threads
    if threads is None:
        import os
        n_threads = max(1, min(os.cpu_count() or 1, <int>cms.size() // 16))
    else:
        n_threads = max(1, int(threads))
    with nogil:
        c_fill_draft_bitmasks_batch(cms, begin, flat, crows, base, words, n_threads, cp)
    return counts
