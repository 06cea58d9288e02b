"""A wasync connector in Python: describes one entity, `items`, and has no records yet.

Fill in `read` and `write_one` with calls to your system through the host's `http` import
(`from wit_world.imports import http`), which the host grants per connector. `read` answers a
`Page` of records (`record(id, {...})`); `write_one` gets a `Change_Upsert` or a
`Change_Delete` (both in `wasync_plugin`) and answers the external id written.

componentize-py looks for the exported resource in the module named after the world's export,
so this file must stay `external.py` and the class `System`.
"""

from wasync_plugin import Unavailable, connector
from wit_world.exports.external import Page
from wit_world.imports.types import EntityDescription, EntityKind, FieldDescription, ValueKind


@connector
class System:
    def __init__(self, config: dict):
        self.config = config

    def describe(self):
        return [
            EntityDescription(
                "items",
                EntityKind.OBJECT,
                "id",
                "updated_at",
                [
                    FieldDescription("id", ValueKind.TEXT, True),
                    FieldDescription("name", ValueKind.TEXT, False),
                    FieldDescription("updated_at", ValueKind.TIMESTAMP, True),
                ],
            )
        ]

    def read(self, request):
        return Page([], False)

    def write_one(self, entity, change):
        raise Unavailable("this connector does not write yet")

    def webhook(self, request):
        return []
