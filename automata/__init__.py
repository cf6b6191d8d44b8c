"""Automata: regex, DFAs, tokenizer bytes; pure Python, no torch."""
