"""Built-in grammars shipped with constrain (installed as constrain.grammars)."""
