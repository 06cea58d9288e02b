"""A wasync entity function in Python: records with an empty or missing `Name` stop; the
others go on unchanged (the field is set with `{"field": "..."}`).

componentize-py looks for the exported resource in the module named after the world's export,
so this file must stay `entity.py` and the class `Function`.
"""

from wasync_plugin import InvalidConfig, entity_function, get, is_empty, keep, stop


@entity_function
class Function:
    def __init__(self, config: dict):
        self.field = config.get("field", "Name")
        if not isinstance(self.field, str):
            raise InvalidConfig("`field` must be text")

    def apply(self, entity: str, record):
        if not record.deleted and is_empty(get(record, self.field)):
            return stop(f"{self.field} is empty")
        return keep(record)
