"""Build of constrain: the Python package, the pure-Python automata and grammars mapped into it,
and the C++17 core behind Cython."""

import os

from Cython.Build import cythonize
from setuptools import Extension, setup

HERE = os.path.dirname(os.path.abspath(__file__))


def read_version():
    scope = {}
    with open(os.path.join(HERE, "constrain", "_version.py")) as f:
        exec(f.read(), scope)
    return scope["__version__"]


CORE_SOURCES = [
    "token_trie.cc", "byte_dfa.cc", "mask_store.cc", "matcher.cc",
    "crossing_store.cc", "cfg_grammar.cc", "earley.cc", "cfg_matcher.cc", "draft_masks.cc",
    "dfa_partition.cc", "dfa_product.cc", "dfa_subset.cc",
]

core = Extension(
    "constrain._core",
    sources=["constrain/_core.pyx"] + [os.path.join("csrc", s) for s in CORE_SOURCES],
    include_dirs=["csrc"],
    language="c++",
    extra_compile_args=["-std=c++17", "-O3", "-Wall"],
    extra_link_args=["-pthread"],
)

setup(
    name="constrain",
    version=read_version(),
    description="Exact grammar-constrained decoding for language models, with a C++ core",
    long_description=open(os.path.join(HERE, "README.md")).read() if os.path.exists(os.path.join(HERE, "README.md")) else "",
    long_description_content_type="text/markdown",
    python_requires=">=3.9",
    packages=["constrain", "constrain.automata", "constrain.grammars", "constrain.hf", "constrain.ltl",
              "constrain.sampling", "constrain.testing"],
    package_dir={
        "constrain": "constrain",
        "constrain.automata": "automata",
        "constrain.grammars": "grammars",
    },
    package_data={"constrain.grammars": ["*.lark", "agents/*.toml"], "constrain": ["*.pyx"]},
    ext_modules=cythonize([core], compiler_directives={"language_level": 3}),
    install_requires=["numpy", "torch", "transformers", "lark", "interegular", "jsonschema", "regex"],
    extras_require={
        # hypothesis-jsonschema 0.23.1 relies on hypothesis internals that later releases
        # removed (6.170 breaks it); 6.155.2 is the newest release checked here.
        # jsonpointer, rfc3339-validator: jsonschema's format checks that tests use as oracles
        "test": ["pytest", "hypothesis>=6.100,<=6.155.2", "scipy", "hypothesis-jsonschema",
                 "jsonpointer", "rfc3339-validator"],
        "bench": ["xgrammar", "llguidance", "outlines-core", "matplotlib"],
    },
    entry_points={"console_scripts": ["constrain=constrain.cli:main"],
                  "pytest11": ["constrain = constrain.testing.pytest_plugin"]},
    zip_safe=False,
)
