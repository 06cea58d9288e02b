"""A wasync field transform in Python: trims text, and upper-cases it when configured with
`{"upper": true}`. Other values pass through unchanged.

componentize-py looks for the exported resource in the module named after the world's export,
so this file must stay `transform.py` and the class `Transformer`.
"""

from wasync_plugin import as_text, text, transformer


@transformer
class Transformer:
    def __init__(self, config: dict):
        # `config` is this use's configuration, parsed. Raise InvalidConfig to refuse it.
        self.upper = bool(config.get("upper", False))

    def apply(self, value):
        s = as_text(value)
        if s is None:
            return value
        s = s.strip()
        return text(s.upper() if self.upper else s)
