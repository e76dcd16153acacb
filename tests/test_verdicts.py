"""Every verdict a notebook prints comes from the one comparison rule (results.compare).

A printed line that says one strategy leads, wins, beats or ties another must be a sentence
of results.Comparison (it starts "verdict:") or of the decision matrix's cells
(comparison.MatrixCell.verdict, which asks the rule for its leaders). Anything else is a
verdict made some other way, e.g. from one run or with another noise threshold.
"""

from __future__ import annotations

import json
import re

import pytest

from helpers import comparison, course, results

VERDICT_WORDS = re.compile(
    r"\b(leads?|leading|ahead of|wins?|beats?|ties?|tied|outperforms?|cannot say|"
    r"more accurate|most accurate)\b",
    re.IGNORECASE,
)
RULE_SENTENCE = re.compile(
    r"verdict: (?:.+ ahead of .+ by \d+\.\d \w+ \(95% interval [-+]\d+\.\d to [-+]\d+\.\d, "
    r"\d+ seeds\)|tie between .+ and .+: .+ = [-+]\d+\.\d \w+ \(95% interval|"
    r"cannot say \((?:one run|\d+ seeds); the rule needs \d+ seeds\))"
)
MATRIX_SENTENCE = re.compile(
    r"(?:^\s*|: )(?:best: .+ -> (?:agrees with the advice|the advice does not hold here)|"
    r"reference .+: (?:ties with|ahead of|behind|cannot say against) the best \([-+]\d+\.\d \w+)"
)


def printed_lines(cell: dict) -> list[str]:
    """Every line of text a code cell's saved outputs show (no images, no widgets)."""
    lines = []
    for output in cell.get("outputs", []):
        if output["output_type"] == "stream":
            text = "".join(output["text"])
        elif output["output_type"] in ("execute_result", "display_data"):
            data = output["data"]
            text = "".join(data.get("text/markdown") or data.get("text/plain") or "")
            if "application/vnd.jupyter.widget-view+json" in data:
                continue
        else:
            continue
        lines += text.splitlines()
    return lines


def verdicts_made_another_way(lines: list[str]) -> list[str]:
    """The lines that state a verdict without being the rule's (or the matrix's) sentence."""
    return [
        line
        for line in lines
        if VERDICT_WORDS.search(line)
        and not line.startswith("Not yet: answer one of")  # an exercise listing the verdicts
        and not RULE_SENTENCE.search(line)
        and not MATRIX_SENTENCE.search(line)
    ]


@pytest.mark.parametrize("path", course.paths(), ids=lambda p: p.stem)
def test_every_printed_verdict_is_the_rules(path):
    cells = json.loads(path.read_text())["cells"]
    found = [
        f"cell {index}: {line.strip()}"
        for index, cell in enumerate(cells)
        if cell["cell_type"] == "code"
        for line in verdicts_made_another_way(printed_lines(cell))
    ]
    assert not found, "verdicts printed without results.compare:\n" + "\n".join(found)


def test_the_rule_and_matrix_sentences_pass_and_home_made_verdicts_fail():
    photos = [x / 153 for x in (150, 149, 151)], [x / 153 for x in (145, 145, 146)]
    ahead = str(results.compare("fine-tune", photos[0], "probe", photos[1], 153))
    tie = str(results.compare("a", photos[0], "b", photos[0], 153))
    single = str(results.compare("gradual", 0.95, "all at once", 0.9, 153))
    cell = comparison.MatrixCell("x", {"linear probe": photos[0], "fine-tune": photos[1]}, 153)
    reference = comparison.MatrixCell(
        "x", {"raw-pixel probe": photos[0], "fine-tune": photos[1]}, 153
    ).verdict(("fine-tune",))
    rule_lines = [ahead, tie, single, "large similar: " + ahead, cell.verdict(("fine-tune",)),
                  *reference.split("\n")]  # fmt: skip
    assert verdicts_made_another_way(rule_lines) == []
    home_made = [
        "fine-tune leads linear probe by 0.013 (noise 0.007)",
        "most accurate: zero-shot ImageNet logits",
        " 12 images: probe 0.730, fine-tune 0.771 -> tie: fine-tune, linear probe",
        "gradual unfreezing beats all at once",
        "best: fine-tune leads the probe",
        "reference raw-pixel probe: ahead of the best",
    ]
    assert verdicts_made_another_way(home_made) == home_made
