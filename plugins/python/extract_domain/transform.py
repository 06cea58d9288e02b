"""`extract-domain` in Python: the registrable domain of a URL, host name or e-mail address.

The twin of `plugins/extract-domain` (Rust), with the same answers on the same inputs; the
rules are in `domain.py`. Anything that is not text, or has no registrable domain, is `null`.

componentize-py looks for the exported resource in a module named after the world's export
(`transform`), so this file is `transform.py` and the class is `Transformer`.
"""

from domain import registrable_domain
from wasync_plugin import InvalidConfig, as_text, null, text, transformer


@transformer
class Transformer:
    """Takes no settings."""

    def __init__(self, config: dict):
        for key in config:
            raise InvalidConfig(f"extract-domain takes no settings, but was given `{key}`")

    def apply(self, value):
        s = as_text(value)
        if s is None:
            return null()
        domain = registrable_domain(s)
        return null() if domain is None else text(domain)
