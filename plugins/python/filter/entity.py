"""`filter` in Python: keeps or stops records by a condition on their fields.

The twin of `plugins/filter` (Rust): the same configuration language and the same stop
reasons, for example::

    {"keep_if": {"field": "Type", "equals": "Customer"}, "ignore_case": true}

componentize-py looks for the exported resource in a module named after the world's export
(`entity`), so this file is `entity.py` and the class is `Function`.
"""

from condition import Condition
from wasync_plugin import InvalidConfig, entity_function, keep, stop

KEYS = ["keep_if", "stop_if", "ignore_case"]


@entity_function
class Function:
    """One configured use: a condition and whether it keeps or stops."""

    # Checks the configuration's type itself, with the Rust filter's message.
    OBJECT_CONFIG = False

    def __init__(self, config):
        if not isinstance(config, dict):
            raise InvalidConfig("the configuration must be an object with `keep_if` or `stop_if`")
        unknown = next((k for k in sorted(config) if k not in KEYS), None)
        if unknown is not None:
            raise InvalidConfig(
                f"unknown key `{unknown}` (expected `keep_if` or `stop_if`, and `ignore_case`)"
            )
        ignore_case = config.get("ignore_case", False)
        if not isinstance(ignore_case, bool):
            raise InvalidConfig("`ignore_case` must be true or false")
        has_keep, has_stop = "keep_if" in config, "stop_if" in config
        if has_keep and has_stop:
            raise InvalidConfig("give `keep_if` or `stop_if`, not both")
        if not has_keep and not has_stop:
            raise InvalidConfig("give a condition as `keep_if` or `stop_if`")
        key = "keep_if" if has_keep else "stop_if"
        self.keep_if = has_keep
        self.condition = Condition.parse(config[key], key, ignore_case)

    def apply(self, entity: str, record):
        # A deleted record always goes on: deletes must reach the destination.
        if record.deleted:
            return keep(record)
        holds = self.condition.holds(record)
        if holds == self.keep_if:
            return keep(record)
        if self.keep_if:
            return stop(f"keep_if not met: {self.condition.explain(record, False)}")
        return stop(f"stop_if met: {self.condition.explain(record, True)}")
