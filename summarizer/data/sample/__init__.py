"""The bundled Korean dialogue-summarization sample, generated deterministically
(docs/sample_data.md).

The default run must work offline, so the project generates its own small dataset in the
competition's CSV layout instead of downloading one. Each scenario builds a dialogue from slot
values (names, dates, times, places, items, prices, numbers) and an outcome, and a summary that
restates the outcome with the same values: the summary is a learnable function of the dialogue.

Every slot value is *held out* or not by a stable hash of the value itself. Train rows use only
the other values, dev and test rows only held-out ones, so evaluation measures copying unseen
values out of the dialogue rather than recalling train summaries. Held-out values are new
combinations of parts (name syllables, place prefixes, colours, digits) that train also uses.
The same split applies to each scenario's outcome paired with its main detail (a symptom, an item,
an excuse), so the summary of the most similar train dialogue gets the outcome or the detail
wrong; copying train summaries is worth far less than learning (docs/sample_data.md).

The layers, bottom up: `particles` (Korean particle forms), `slot_values` (value pools and the
held-out split), `dialogue` (turns and speaker tags), `scenarios` (one dialogue and its summary
per topic), `splits` (the rows of train, dev and test), `csv_files` (the files and their
checksums).
"""

from summarizer.data.sample.csv_files import COLUMNS, SHA256, ensure, generate, sha256
from summarizer.data.sample.splits import SEED, SIZES, Example, build

__all__ = ["COLUMNS", "SEED", "SHA256", "SIZES", "Example", "build", "ensure", "generate", "sha256"]
