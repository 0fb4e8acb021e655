"""`analysis.html`: the facts of `analysis` as one page that opens anywhere, offline.

Everything is inline (style, script, data) so that the file can be mailed or opened from a
cluster's disk without a server or network. The sections are plain HTML written here; only the
table of all rows is built by the script, which sorts and filters it. The rows travel as JSON in
a `<script type="application/json">` block with every `<`, `>` and `&` escaped, so that no
dialogue (one holding `</script>`, say) can end the block.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from html import escape
from pathlib import Path
from typing import Any

from summarizer.atomic_files import write_text_atomic
from summarizer.metric_names import EVAL_PREFIX, ROUGE_LABELS, ROUGE_METRICS
from summarizer.output_checks import percent
from summarizer.reports.analysis import AnalysisInput, analysis_facts

log = logging.getLogger(__name__)

# As reports and model cards label them.
LABELS = {name: ROUGE_LABELS[EVAL_PREFIX + name] for name in ROUGE_METRICS}

STYLE = """
body { font-family: system-ui, sans-serif; margin: 1.5em; color: #222; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.5em; vertical-align: top; text-align: left; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
#rows-table th { cursor: pointer; background: #f3f3f3; }
#rows-table th.asc::after { content: " \\25B2"; }
#rows-table th.desc::after { content: " \\25BC"; }
.pair { display: grid; grid-template-columns: repeat(3, 1fr); gap: 0.75em; }
.pair pre { white-space: pre-wrap; background: #f7f7f7; padding: 0.5em; margin: 0; }
.row-card { border-top: 1px solid #ddd; padding: 0.5em 0; }
.warning { background: #fff3cd; padding: 0.5em; }
"""

# Builds, sorts and filters the table of all rows from the JSON block; text goes in through
# textContent only, never as markup.
SCRIPT = """
(function () {
  var facts = JSON.parse(document.getElementById("analysis-data").textContent);
  var names = facts.reference_names;
  var columns = [{key: "index", label: "#", value: function (row, index) { return index; }},
                 {key: "id", label: "id", value: function (row) { return row.id; }}];
  if (facts.rows.length && facts.rows[0].topic !== null) {
    columns.push({key: "topic", label: "topic", value: function (row) { return row.topic; }});
  }
  if (facts.rows.length && facts.rows[0].words !== null) {
    columns.push({key: "words", label: "words", value: function (row) { return row.words; }});
  }
  facts.metrics.forEach(function (metric) {
    columns.push({key: metric, label: facts.labels[metric], fixed: true,
                  value: function (row) { return row.best[metric]; }});
  });
  if (names.length > 1) {
    names.forEach(function (name, position) {
      columns.push({key: "sum:" + name, label: "sum vs " + name, fixed: true,
                    value: function (row) { return row.scores[position].rouge_sum; }});
    });
  }
  columns.push({key: "prediction", label: "prediction",
                value: function (row) { return row.prediction; }});
  names.forEach(function (name, position) {
    columns.push({key: "ref:" + name, label: name,
                  value: function (row) { return row.references[position]; }});
  });

  var table = document.getElementById("rows-table");
  var body = document.getElementById("rows");
  var filter = document.getElementById("filter");
  var shown = document.getElementById("shown");
  var head = document.createElement("tr");
  var entries = facts.rows.map(function (row, index) {
    var line = document.createElement("tr");
    var values = columns.map(function (column) { return column.value(row, index); });
    values.forEach(function (value, position) {
      var cell = document.createElement("td");
      var fixed = columns[position].fixed;
      cell.textContent = value === null ? "" : fixed ? value.toFixed(2) : String(value);
      if (typeof value === "number") { cell.className = "num"; }
      line.appendChild(cell);
    });
    var text = [row.id, row.topic || "", row.prediction, row.dialogue]
      .concat(row.references).join("\\n").toLowerCase();
    return {line: line, values: values, text: text};
  });
  var sortedBy = null;
  var descending = false;

  function compare(left, right) {
    if (typeof left === "number" && typeof right === "number") { return left - right; }
    return String(left).localeCompare(String(right));
  }

  function render() {
    var needle = filter.value.toLowerCase();
    var count = 0;
    body.textContent = "";
    entries.forEach(function (entry) {
      if (needle && entry.text.indexOf(needle) < 0) { return; }
      body.appendChild(entry.line);
      count += 1;
    });
    shown.textContent = count + " of " + entries.length + " rows shown";
  }

  columns.forEach(function (column, position) {
    var cell = document.createElement("th");
    cell.textContent = column.label;
    cell.setAttribute("data-key", column.key);
    cell.addEventListener("click", function () {
      descending = sortedBy === position ? !descending : false;
      sortedBy = position;
      entries.sort(function (left, right) {
        var order = compare(left.values[position], right.values[position]);
        return descending ? -order : order;
      });
      Array.prototype.forEach.call(head.children, function (other) { other.className = ""; });
      cell.className = descending ? "desc" : "asc";
      render();
    });
    head.appendChild(cell);
  });
  table.tHead.appendChild(head);
  filter.addEventListener("input", render);
  render();
})();
"""


def json_block(data: Any) -> str:
    """`data` as JSON safe inside a script element: no `<`, `>` or `&` left to end it."""
    text = json.dumps(data, ensure_ascii=False)
    return text.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")


def score_cells(scores: dict[str, float]) -> str:
    return "".join(f'<td class="num">{scores[name]:.2f}</td>' for name in ROUGE_METRICS)


def score_header(first: Sequence[str]) -> str:
    labels = [*first, *(LABELS[name] for name in ROUGE_METRICS)]
    return "<tr>" + "".join(f"<th>{escape(label)}</th>" for label in labels) + "</tr>"


def means_section(facts: dict) -> str:
    means = {"best reference of each row": facts["means"]["max"],
             **facts["means"]["per_reference"]}
    lines = [f"<tr><td>{escape(name)}</td>{score_cells(scores)}</tr>"
             for name, scores in means.items()]
    return (f"<h2>Mean ROUGE</h2><p>{len(facts['rows'])} rows, tokenizer "
            f"<code>{escape(facts['tokenizer'])}</code>.</p>"
            f'<table id="means">{score_header(["against"])}{"".join(lines)}</table>')


def outputs_section(outputs: dict) -> str:
    warning = (f'<p class="warning">{escape(outputs["warning"])}</p>' if outputs["warning"]
               else "")
    rows = [("empty predictions", f"{outputs['empty']} ({percent(outputs['empty_share'])})"),
            ("repeated predictions (the same text as another row's)",
             f"{outputs['repeated']} ({percent(outputs['repeated_share'])})"),
            ("distinct predictions", f"{outputs['distinct']} of {outputs['rows']}"),
            ("most common prediction",
             f"{outputs['most_common_count']} times: {outputs['most_common']}")]
    lines = "".join(f"<tr><th>{escape(name)}</th><td>{escape(value)}</td></tr>"
                    for name, value in rows)
    return f'<h2>Empty and repeated predictions</h2>{warning}<table id="outputs">{lines}</table>'


def group_section(groups: list[dict], key: str, heading: str, label: str) -> str:
    if not groups:
        return ""
    lines = [f"<tr><td>{escape(str(group['group']))}</td><td class=\"num\">{group['rows']}</td>"
             f"{score_cells(group['means'])}</tr>" for group in groups]
    return (f"<h2>{escape(heading)}</h2>"
            f'<table id="{key}">{score_header([label, "rows"])}{"".join(lines)}</table>')


def tags_section(tags: list[dict]) -> str:
    header = ("<tr><th>tag</th><th>kind</th><th>rows whose reference has it</th>"
              "<th>of these, prediction has it too</th>"
              "<th>rows whose prediction has it, no reference</th></tr>")
    lines = []
    for tag in tags:
        kept = ("-" if tag["kept_share"] is None
                else f"{tag['kept']} ({percent(tag['kept_share'])})")
        lines.append(f"<tr><td>{escape(tag['tag'])}</td><td>{tag['kind']}</td>"
                     f"<td class=\"num\">{tag['reference_rows']}</td><td class=\"num\">{kept}</td>"
                     f"<td class=\"num\">{tag['invented']}</td></tr>")
    body = "".join(lines) or '<tr><td colspan="5">no #...# tags in the texts</td></tr>'
    return ("<h2>Speaker tags and masks</h2><p>Whether the <code>#Person1#</code>-style speaker "
            "tags and masks such as <code>#PhoneNumber#</code> of the references reach the "
            f'predictions.</p><table id="tags">{header}{body}</table>')


def row_card(facts: dict, index: int) -> str:
    row = facts["rows"][index]
    topic = f", topic {escape(row['topic'])}" if row["topic"] is not None else ""
    references = "".join(
        f"<h4>reference {escape(name)} (sum {scores['rouge_sum']:.2f})</h4>"
        f"<pre>{escape(text)}</pre>"
        for name, text, scores in zip(facts["reference_names"], row["references"],
                                      row["scores"], strict=True))
    best = row["best"]
    return (f'<div class="row-card"><h3>{escape(row["id"])}: ROUGE-1/2/L '
            f"{best['rouge1']:.2f} / {best['rouge2']:.2f} / {best['rougeL']:.2f}, "
            f"sum {best['rouge_sum']:.2f}{topic}</h3>"
            f'<div class="pair"><div><h4>dialogue</h4><pre>{escape(row["dialogue"])}</pre></div>'
            f"<div>{references}</div>"
            f'<div><h4>prediction</h4><pre>{escape(row["prediction"])}</pre></div></div></div>')


def rows_section(facts: dict, key: str, heading: str) -> str:
    cards = "".join(row_card(facts, index) for index in facts[key])
    return f'<h2>{escape(heading)}</h2><div id="{key}-rows">{cards}</div>'


def analysis_html(facts: dict) -> str:
    """The page for `analysis_facts`; the script gets the ROUGE labels along with the rows."""
    data = json_block({**facts, "labels": LABELS})
    sections = [
        means_section(facts),
        outputs_section(facts["outputs"]),
        group_section(facts["by_topic"], "by-topic", "ROUGE by topic", "topic"),
        group_section(facts["by_length"], "by-length", "ROUGE by dialogue length",
                      "dialogue length"),
        tags_section(facts["tags"]),
        rows_section(facts, "worst", "Lowest scoring rows"),
        rows_section(facts, "best", "Highest scoring rows"),
    ]
    title = escape(f"Analysis: {facts['title']}")
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{title}</title>
<style>{STYLE}</style>
</head>
<body>
<h1>{title}</h1>
{"".join(sections)}
<h2>All rows</h2>
<p>Click a column header to sort by it, click again to reverse; the box filters on id, topic,
dialogue, prediction and references. Scores are the best over the references.</p>
<input id="filter" type="search" placeholder="filter rows" size="40">
<p id="shown"></p>
<noscript><p>The table of all rows needs JavaScript.</p></noscript>
<table id="rows-table"><thead></thead><tbody id="rows"></tbody></table>
<script type="application/json" id="analysis-data">{data}</script>
<script>{SCRIPT}</script>
</body>
</html>
"""


def write_analysis_page(rows: AnalysisInput, title: str, path: Path) -> Path:
    """Compute the facts of `rows` and write the page to `path` atomically; returns `path`."""
    write_text_atomic(analysis_html(analysis_facts(rows, title)), path)
    log.info("Per-row analysis: %s", path)
    return path
