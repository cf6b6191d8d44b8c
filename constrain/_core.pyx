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


cdef extern from "byte_dfa.h" namespace "constrain" nogil:
    cdef cppclass CByteDfa "constrain::ByteDfa":
        CByteDfa()
        CByteDfa(const int32_t* dense, const uint8_t* accepting, int32_t n_states) except +
        int32_t num_states()
        int32_t num_classes()
        size_t memory_bytes()


cdef extern from "mask_store.h" namespace "constrain" nogil:
    cdef cppclass CMaskStore "constrain::MaskStore":
        CMaskStore()
        CMaskStore(int32_t vocab_size, vector[uint8_t] forms, vector[int64_t] offsets,
                   vector[int32_t] lengths, vector[int32_t] data) except +
        @staticmethod
        CMaskStore build(const CByteDfa& dfa, const CTokenTrie& trie, int threads) except +
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


cdef extern from "crossing_store.h" namespace "constrain" nogil:
    cdef cppclass CCrossingStore "constrain::CrossingStore":
        CCrossingStore()
        CCrossingStore(const CTokenTrie& trie, vector[int64_t] state_begin,
                       vector[int32_t] suffix_token, vector[int32_t] suffix_offset,
                       vector[int32_t] suffix_lcp, vector[int64_t] tokens_begin,
                       vector[int32_t] token_ids) except +
        const vector[int64_t]& state_begins()
        const vector[int32_t]& suffix_tokens()
        const vector[int32_t]& suffix_offsets()
        const vector[int32_t]& suffix_lcps()
        const vector[int64_t]& token_begins()
        const vector[int32_t]& token_ids()


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

    cdef cppclass CCfgTerminal "constrain::CfgTerminal":
        CByteDfa dfa
        vector[int32_t] state_class

    cdef cppclass CCfgGrammar "constrain::CfgGrammar":
        shared_ptr[CTokenTrie] trie
        vector[CCfgTerminal] terminals
        int32_t num_classes
        CMaskStore within
        CCrossingStore crossing
        int32_t num_nonterminals
        int32_t start
        vector[int32_t] rule_lhs
        vector[int32_t] rule_begin
        vector[int32_t] rhs
        vector[int32_t] eos_ids
        int64_t max_items_per_set
        void finalize() except +
        void build_stores(int threads) except +
        size_t memory_bytes()

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


cdef class DfaIndex:
    """A byte DFA compiled against a vocabulary: for every state, the tokens that keep it live.

    Immutable and shared by every matcher made from it.
    """

    cdef shared_ptr[CDfaGrammar] ptr

    @staticmethod
    def build(TokenTrie trie not None, const int32_t[:, ::1] transitions not None,
              const uint8_t[::1] accepting not None, eos_ids, int threads=1):
        """Walk the token trie from every DFA state (in ``threads`` threads) to build the index."""
        cdef DfaIndex index = DfaIndex._with_dfa(trie, transitions, accepting, eos_ids)
        cdef CDfaGrammar* g = index.ptr.get()
        with nogil:
            g.masks = CMaskStore.build(g.dfa, g.trie.get()[0], threads)
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
    """A context-free grammar compiled against a vocabulary: rules plus, for every terminal, its
    DFA, within-terminal mask store and crossing store. Immutable, shared by its matchers."""

    cdef shared_ptr[CCfgGrammar] ptr

    @staticmethod
    def build(TokenTrie trie not None, tables, eos_ids, int threads=1, stores=None):
        """Build from normalised ``CfgTables`` (constrain.automata.cfg), walking the token trie,
        or, when ``stores`` (the dict of ``store_arrays()``) is given, from those arrays."""
        cdef CfgIndex index = CfgIndex.__new__(CfgIndex)
        index.ptr = make_shared[CCfgGrammar]()
        cdef CCfgGrammar* g = index.ptr.get()
        g.trie = trie.ptr
        cdef CCfgTerminal term
        cdef const int32_t[:, ::1] transitions
        cdef const uint8_t[::1] accepting
        cdef const int32_t[::1] classes
        for i, dfa in enumerate(tables.terminal_dfas):
            transitions = np.ascontiguousarray(dfa.transitions, np.int32)
            accepting = np.ascontiguousarray(dfa.accepting, np.uint8)
            if transitions.shape[0] == 0:
                raise ValueError(f"terminal {tables.terminal_names[i]!r} has an empty language")
            term.dfa = CByteDfa(&transitions[0, 0], &accepting[0], <int32_t>transitions.shape[0])
            classes = np.ascontiguousarray(tables.state_classes[i], np.int32)
            term.state_class.assign(&classes[0], &classes[0] + classes.shape[0])
            g.num_classes = max(g.num_classes, int(np.max(classes)) + 1)
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
        g.finalize()
        if stores is None:
            with nogil:
                g.build_stores(threads)
            return index
        if len(stores["forms"]) != g.num_classes or len(stores["state_begin"]) != g.num_classes + 1:
            raise ValueError("cached stores do not match the grammar's state classes")
        g.within = CMaskStore(vocab_size, _vector_uint8(stores["forms"]),
                              _vector_int64(stores["offsets"]), _vector_int32(stores["lengths"]),
                              _vector_int32(stores["data"]))
        g.crossing = CCrossingStore(
            trie.ptr.get()[0], _vector_int64(stores["state_begin"]),
            _vector_int32(stores["suffix_token"]), _vector_int32(stores["suffix_offset"]),
            _vector_int32(stores["suffix_lcp"]), _vector_int64(stores["tokens_begin"]),
            _vector_int32(stores["token_ids"]))
        return index

    def store_arrays(self):
        """The within-terminal mask store and the crossing store as numpy arrays."""
        cdef CCfgGrammar* g = self.ptr.get()
        cdef CMaskStore* m = &g.within
        cdef CCrossingStore* c = &g.crossing
        return {
            "forms": _to_numpy(m.forms().data(), m.forms().size(), np.uint8),
            "offsets": _to_numpy(m.offsets().data(), m.offsets().size() * 8, np.int64),
            "lengths": _to_numpy(m.lengths().data(), m.lengths().size() * 4, np.int32),
            "data": _to_numpy(m.data().data(), m.data().size() * 4, np.int32),
            "state_begin": _to_numpy(c.state_begins().data(), c.state_begins().size() * 8, np.int64),
            "suffix_token": _to_numpy(c.suffix_tokens().data(), c.suffix_tokens().size() * 4, np.int32),
            "suffix_offset": _to_numpy(c.suffix_offsets().data(), c.suffix_offsets().size() * 4, np.int32),
            "suffix_lcp": _to_numpy(c.suffix_lcps().data(), c.suffix_lcps().size() * 4, np.int32),
            "tokens_begin": _to_numpy(c.token_begins().data(), c.token_begins().size() * 8, np.int64),
            "token_ids": _to_numpy(c.token_ids().data(), c.token_ids().size() * 4, np.int32),
        }

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
