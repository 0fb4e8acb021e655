"""`analysis.html`: its facts, read back from the page, and its table, run in a real browser."""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
from collections import Counter
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest

from summarizer import score
from summarizer.reports import run_reports
from summarizer.reports.analysis import AnalysisInput
from summarizer.reports.analysis_page import write_analysis_page
from tests.conftest import read_json
from tests.rouge_reference import expected
from tests.test_reports import FINAL, fake_trainer, sample_data
from tests.test_score import ORDER, PREDS, REFS, run_cli, write_csv

SECTIONS = {"means", "outputs", "tags", "worst-rows", "best-rows", "rows-table", "filter"}
# Markup a dialogue may hold; the page must show it as text and keep its script block whole.
HOSTILE = "#Person1#: a < b && c > d </script><script>document.title='broken'</script> <!--"


class Page(HTMLParser):
    """The parts of a page the tests read: element ids, tags, links and the JSON block."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.ids: set[str] = set()
        self.tags: Counter[str] = Counter()
        self.links: list[str] = []
        self.blocks: dict[str, str] = {}
        self._block: str | None = None
        self.feed(text)
        self.close()

    def handle_starttag(self, tag, attrs):
        values = dict(attrs)
        self.tags[tag] += 1
        if "id" in values:
            self.ids.add(values["id"])
        self.links += [value for name, value in attrs if name in ("src", "href") and value]
        self._block = values.get("id") if tag in ("script", "pre") else None

    def handle_data(self, data):
        if self._block:
            self.blocks[self._block] = self.blocks.get(self._block, "") + data

    def handle_endtag(self, tag):
        self._block = None

    @property
    def facts(self) -> dict:
        return json.loads(self.blocks["analysis-data"])


def read_page(path: Path) -> Page:
    return Page(path.read_text(encoding="utf-8"))


def check_self_contained(page: Page) -> None:
    """No file or address outside the page: no link element, no src or href at all."""
    assert page.links == [] and page.tags["link"] == 0
    assert page.tags["script"] == 2 and page.tags["style"] == 1


def close(got: dict, want: dict) -> None:
    assert set(got) == set(want)
    for name, value in want.items():
        assert got[name] == pytest.approx(value, abs=1e-6), name


def check_scores(row: dict, references: list[str]) -> None:
    """The row's scores against each reference, from the tests' own ROUGE."""
    for got, reference in zip(row["scores"], references, strict=True):
        close(got, expected(row["prediction"], reference))


# ---------------------------------------------------------------- a training run's page


def test_a_run_writes_the_page_of_its_dev_rows(trained_run, data_dir):
    page = read_page(trained_run / "analysis.html")
    check_self_contained(page)
    assert SECTIONS | {"by-topic", "by-length"} <= page.ids
    facts = page.facts
    written = pd.read_csv(trained_run / "dev_predictions.csv", keep_default_na=False)
    dev = pd.read_csv(data_dir / "sample" / "dev.csv", keep_default_na=False).head(len(written))
    rows = facts["rows"]
    assert len(rows) == len(written) == 60
    assert [row["id"] for row in rows] == list(written["fname"])
    assert [row["prediction"] for row in rows] == [text.strip() for text in written["prediction"]]
    assert [row["dialogue"] for row in rows] == [text.strip() for text in dev["dialogue"]]
    assert facts["tokenizer"] == "whitespace" and facts["reference_names"] == ["summary"]
    for index in (0, 1, 2, *facts["worst"][:2], *facts["best"][:2]):
        check_scores(rows[index], [written["reference"][index]])
    # The mean of the rows is the run's final dev ROUGE, computed with the run's tokenizer.
    metrics = read_json(trained_run / "metrics.json")
    assert facts["means"]["max"]["rouge_sum"] == pytest.approx(metrics["eval_rouge_sum"])

    sums = [row["best"]["rouge_sum"] for row in rows]
    assert [sums[index] for index in facts["worst"]] == sorted(sums)[:5]
    assert [sums[index] for index in facts["best"]] == sorted(sums, reverse=True)[:5]
    assert {group["group"] for group in facts["by_topic"]} == set(dev["topic"])
    assert sum(group["rows"] for group in facts["by_topic"]) == 60
    assert sum(group["rows"] for group in facts["by_length"]) == 60
    assert 1 < len(facts["by_length"]) <= 4

    predictions = Counter(text.strip() for text in written["prediction"])
    outputs = facts["outputs"]
    assert outputs["empty"] == predictions[""]
    repeated = sum(count for text, count in predictions.items() if text and count > 1)
    assert outputs["repeated"] == repeated and outputs["repeated_share"] == repeated / 60
    tags = {tag["tag"]: tag for tag in facts["tags"]}
    with_tag = [index for index, text in enumerate(written["reference"]) if "#Person1#" in text]
    assert tags["#Person1#"]["kind"] == "speaker"
    assert tags["#Person1#"]["reference_rows"] == len(with_tag)
    assert tags["#Person1#"]["kept"] == sum("#Person1#" in written["prediction"][index]
                                           for index in with_tag)
    summary = (trained_run / "summary.md").read_text(encoding="utf-8")
    assert "`analysis.html` (per-row ROUGE" in summary


def test_markup_in_the_texts_stays_text(tmp_path):
    path = write_analysis_page(AnalysisInput(
        ids=["a&1", "b", "c"], predictions=["<b>bold</b> #Person1#", "", "같은 요약"],
        references={"summary": ["#Person1# 전화 #PhoneNumber#", "요약 & 둘", "같은 요약"]},
        tokenizer="whitespace", dialogues=[HOSTILE, "둘", "셋"], topics=["<i>", "x", "x"]),
        "<title>", tmp_path / "analysis.html")
    text = path.read_text(encoding="utf-8")
    assert "</script><script>" not in text and "<b>bold" not in text and "<i>" not in text
    page = Page(text)
    check_self_contained(page)
    assert page.tags["b"] == 0 and page.tags["i"] == 0
    facts = page.facts
    assert facts["title"] == "<title>" and facts["rows"][0]["dialogue"] == HOSTILE
    assert facts["rows"][0]["id"] == "a&1" and facts["rows"][0]["topic"] == "<i>"
    assert (facts["outputs"]["empty"], facts["outputs"]["repeated"]) == (1, 0)
    [phone] = [tag for tag in facts["tags"] if tag["tag"] == "#PhoneNumber#"]
    assert (phone["kind"], phone["reference_rows"], phone["kept"]) == ("mask", 1, 0)
    assert facts["rows"][2]["best"]["rouge_sum"] == 300.0


def test_a_failing_page_costs_only_the_page(tmp_path, caplog):
    broken = AnalysisInput(ids=["a"], predictions=["one", "two"], references={"summary": ["x"]},
                           tokenizer="whitespace")
    with caplog.at_level(logging.WARNING):
        run_reports.write_run_reports(fake_trainer(tmp_path), FINAL, sample_data(tmp_path),
                                      tmp_path, analysis=broken)
    assert "Could not write analysis.html" in caplog.text
    assert not (tmp_path / "analysis.html").exists()
    summary = (tmp_path / "summary.md").read_text(encoding="utf-8")
    assert "analysis.html" not in summary
    assert (tmp_path / "final_model" / "README.md").is_file()


# ---------------------------------------------------------------- score


@pytest.fixture()
def two_references(tmp_path):
    pred = write_csv(tmp_path / "pred.csv", ["fname", "summary"],
                     [[fname, PREDS[fname]] for fname in PREDS])
    ref = write_csv(tmp_path / "ref.csv", ["fname", "dialogue", "topic", "summary1", "summary2"],
                    [[fname, f"대화 {fname}\n{HOSTILE}", f"topic {fname[-1]}", *REFS[fname]]
                     for fname in ORDER])
    return pred, ref


def test_score_writes_the_page_next_to_its_json(two_references, tmp_path):
    pred, ref = two_references
    out = tmp_path / "nested" / "x.json"
    proc = run_cli(f"predictions={pred}", f"references={ref}", f"output={out}",
                   f"hydra.run.dir={tmp_path / 'run'}")
    assert proc.returncode == 0, proc.stderr
    scores = read_json(out)
    page = read_page(out.with_suffix(".html"))
    check_self_contained(page)
    assert SECTIONS | {"by-topic", "by-length"} <= page.ids
    facts = page.facts
    assert facts["reference_names"] == ["summary1", "summary2"]
    assert [row["id"] for row in facts["rows"]] == ORDER
    for row in facts["rows"]:
        check_scores(row, list(REFS[row["id"]]))
        assert row["topic"] == f"topic {row['id'][-1]}"
    for name in ("summary1", "summary2"):
        close(facts["means"]["per_reference"][name], scores["per_reference"][name])
    close(facts["means"]["max"], scores["max"])
    assert facts["outputs"]["empty"] == 1
    assert not (tmp_path / "run" / "scores.html").exists()

    # Without output=: scores.json and scores.html in the command's directory.
    run_dir = tmp_path / "default"
    proc = run_cli(f"predictions={pred}", f"references={ref}", f"hydra.run.dir={run_dir}")
    assert proc.returncode == 0, proc.stderr
    assert sorted(path.name for path in run_dir.glob("scores.*")) == ["scores.html",
                                                                      "scores.json"]
    proc = run_cli(f"predictions={pred}", f"references={ref}", f"output={tmp_path / 'x.html'}",
                   f"hydra.run.dir={run_dir}")
    assert proc.returncode == 2 and "Traceback" not in proc.stdout + proc.stderr
    assert "ends in .html" in proc.stdout + proc.stderr


def test_the_score_api_writes_the_page_on_request(tmp_path, caplog):
    predictions = [PREDS[f] for f in ORDER]
    references = [list(REFS[f]) for f in ORDER]
    scores = score(predictions, references, analysis=tmp_path / "page.html")
    facts = read_page(tmp_path / "page.html").facts
    assert facts["reference_names"] == ["reference1", "reference2"]
    assert facts["by_topic"] == [] and facts["by_length"] == []
    for row, texts in zip(facts["rows"], references, strict=True):
        check_scores(row, texts)
    close(facts["means"]["max"], scores["max"])
    # A page that cannot be written is logged; the scores come back all the same.
    (tmp_path / "taken.html").mkdir()
    with caplog.at_level(logging.WARNING):
        assert score(predictions, references, analysis=tmp_path / "taken.html") == scores
    assert "Could not write the analysis page" in caplog.text


# ---------------------------------------------------------------- in a browser

# Appended to a copy of a page: sorts by the ROUGE sum twice, filters, and leaves what it saw in
# a <pre> element of the DOM for the test to read.
PROBE = """<script>
(function () {
  function column(key) {
    var headers = Array.prototype.slice.call(document.querySelectorAll("#rows-table th"));
    var index = headers.findIndex(function (cell) { return cell.dataset.key === key; });
    return Array.prototype.map.call(document.querySelectorAll("#rows tr"),
                                    function (line) { return line.children[index].textContent; });
  }
  var seen = {initial: column("id")};
  var header = document.querySelector('#rows-table th[data-key="rouge_sum"]');
  header.click();
  seen.ascending = column("rouge_sum").map(Number);
  header.click();
  seen.descending = column("rouge_sum").map(Number);
  var filter = document.getElementById("filter");
  filter.value = "NEEDLE";
  filter.dispatchEvent(new Event("input"));
  seen.filtered = column("id");
  seen.shown = document.getElementById("shown").textContent;
  seen.title = document.title;
  var out = document.createElement("pre");
  out.id = "probe";
  out.textContent = JSON.stringify(seen);
  document.body.appendChild(out);
})();
</script>
"""


def chromium() -> str:
    """Debian's chromium; outside CI a machine without it skips the browser tests."""
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found:
        return found
    if os.environ.get("CI"):
        pytest.fail("chromium is not installed; .ci/run installs it (apt-get install chromium)")
    pytest.skip("chromium is not installed (apt-get install chromium)")


def rendered(page: Path, needle: str, tmp_path: Path) -> dict:
    """What the probe saw in `page` with `needle` in the filter box, from headless chromium."""
    probe = tmp_path / f"probe-{page.name}"
    probe.write_text(page.read_text(encoding="utf-8").replace(
        "</body>", PROBE.replace("NEEDLE", needle) + "</body>"), encoding="utf-8")
    proc = subprocess.run(
        [chromium(), "--headless", "--disable-gpu", "--no-sandbox", "--disable-dev-shm-usage",
         "--no-first-run", f"--user-data-dir={tmp_path / 'chromium'}",
         "--virtual-time-budget=10000", "--dump-dom", probe.as_uri()],
        capture_output=True, text=True, timeout=120, env={**os.environ, "HOME": str(tmp_path)})
    assert proc.returncode == 0, proc.stderr[-3000:]
    dom = Page(proc.stdout)
    assert "probe" in dom.blocks, f"the page's script did not run:\n{proc.stderr[-3000:]}"
    return json.loads(dom.blocks["probe"])


def matching(facts: dict, needle: str) -> list[str]:
    """The ids the filter box should keep: its text search, done here."""
    return [row["id"] for row in facts["rows"]
            if needle.lower() in "\n".join([row["id"], row["topic"] or "", row["prediction"],
                                            row["dialogue"], *row["references"]]).lower()]


def test_the_browser_builds_sorts_and_filters_the_table(trained_run, tmp_path):
    page = trained_run / "analysis.html"
    facts = read_page(page).facts
    needle = facts["rows"][7]["id"]
    seen = rendered(page, needle, tmp_path)
    assert seen["initial"] == [row["id"] for row in facts["rows"]]
    assert len(seen["ascending"]) == 60
    assert seen["ascending"] == sorted(seen["ascending"])
    assert seen["descending"] == sorted(seen["ascending"], reverse=True)
    assert sorted(seen["filtered"]) == sorted(matching(facts, needle))
    assert 0 < len(seen["filtered"]) < 60
    assert seen["shown"] == f"{len(seen['filtered'])} of 60 rows shown"


def test_the_browser_keeps_markup_as_text(two_references, tmp_path):
    pred, ref = two_references
    score(pred, ref, analysis=tmp_path / "page.html")
    seen = rendered(tmp_path / "page.html", "a < b && c", tmp_path)
    assert seen["initial"] == ORDER and seen["title"].startswith("Analysis")
    assert sorted(seen["filtered"]) == sorted(ORDER)  # every dialogue holds it, as text
