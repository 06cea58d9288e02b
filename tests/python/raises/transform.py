"""A test plugin whose transform raises: once inside the helpers (which turn the exception
into an `error::other` result for that value) and once outside them (an uncaught exception,
which componentize-py turns into a trap).

The outer resource is written by hand, so it gets the batch as it crosses the contract: one
buffer (`docs/batch.md`), which `decode_values` reads."""

from wasync_plugin import as_text, decode_values, transformer


@transformer
class _Guarded:
    def __init__(self, config: dict):
        pass

    def apply(self, value):
        if as_text(value) == "ok":
            return value
        raise ValueError(f"cannot handle {as_text(value)!r}")


class Transformer:
    def __init__(self, guarded):
        self.guarded = guarded

    @classmethod
    def create(cls, config: str):
        return cls(_Guarded.create(config))

    def apply(self, values):
        if any(as_text(v) == "unguarded" for v in decode_values(values)):
            raise RuntimeError("unguarded failure in apply")
        return self.guarded.apply(values)
