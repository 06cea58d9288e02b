"""A trivial transform, to measure what the SDK costs per value: with no settings it returns
each value unchanged; with `{"suffix": "..."}` it appends the suffix to text (other values
pass through). Written as any author would, with the helpers."""

from wasync_plugin import as_text, text, transformer


@transformer
class Transformer:
    def __init__(self, config: dict):
        self.suffix = config.get("suffix", "")

    def apply(self, value):
        if not self.suffix:
            return value
        s = as_text(value)
        return value if s is None else text(s + self.suffix)
