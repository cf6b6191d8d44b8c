"""Built-in grammars shipped with constrain (installed as constrain.grammars)."""

from pathlib import Path

DIRECTORY = Path(__file__).resolve().parent
