"""A wasync merge policy in Python: records whose `Name` is the same (ignoring case and
surrounding space) are duplicates; the most recently updated one wins, and empty fields of
the winner are filled from the others.

componentize-py looks for the exported resource in the module named after the world's export,
so this file must stay `merge.py` and the class `Policy`.
"""

from wasync_plugin import as_text, get, is_empty, merge_policy
from wit_world.exports.merge import Resolution


@merge_policy
class Policy:
    def __init__(self, config: dict):
        self.field = config.get("field", "Name")

    def match_keys(self, record):
        name = as_text(get(record, self.field))
        return [name.strip().lower()] if name and name.strip() else []

    def resolve(self, group):
        winner = max(range(len(group)), key=lambda i: group[i].updated)
        fields = {f.name: f for f in group[winner].record.fields}
        filled = []
        for i, candidate in enumerate(group):
            if i == winner:
                continue
            for f in candidate.record.fields:
                mine = fields.get(f.name)
                if (mine is None or is_empty(mine.value)) and not is_empty(f.value):
                    fields[f.name] = f
                    filled.append(f)
        return Resolution(winner, filled)
