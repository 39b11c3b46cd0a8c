"""The delimiter guess's plain split (``argus.reader._split_plain``, used for samples without a
quote, carriage return or NUL) gives exactly the csv module's answer, and the guess is the same
either way, on generated samples of every shape the guess looks at."""

from __future__ import annotations

import random

import pytest

from wfm_pipeline.argus import reader
from wfm_pipeline.argus.reader import sniff_delimiter

_CELLS = ["", " ", "  ", "\t", "x", "Sales", "12", "3,5", "1;2", "a\tb", "01.11.2026 08:15", "2026-11-01 08:15",
          "2026-11-01T08:15:00", "31.02.2026 08:15", "2026-13-01 08:00", " 02.11.2026 09:00 ", "ready", "ä ö"]


def _sample(rng: random.Random) -> str:
    lines = []
    for _ in range(rng.randint(0, 40)):
        delimiter = rng.choice([";", ",", "\t", ";", ";"])
        width = rng.choice([0, 1, 2, 4, 5, 5, 6, 9])
        lines.append(delimiter.join(rng.choice(_CELLS) for _ in range(width)))
    text = "\n".join(lines)
    return text + ("\n" if rng.random() < 0.7 else "")


@pytest.mark.parametrize("seed", range(4))
def test_plain_split_matches_the_csv_module(seed: int) -> None:
    rng = random.Random(seed)
    for _ in range(500):
        sample = _sample(rng)
        assert not any(c in sample for c in reader._QUOTE_AWARE_CHARS)
        for delimiter in (";", "\t", ","):
            plain = reader._split_plain(sample.split("\n"), delimiter)
            assert plain == reader._split_csv(sample, delimiter), (sample, delimiter)
            assert reader._split_sample(sample, delimiter) == plain


def test_quoted_samples_still_split_quote_aware() -> None:
    # a comma inside a quoted cell: the csv module's records, not the plain split
    sample = 'a;b;"x,y";d;e\n01.11.2026 08:15;1;"2,5";3;4\n'
    assert reader._split_sample(sample, ",") == (0, [2, 2])
    assert reader._split_sample(sample, ";") == (1, [5, 5])
    assert sniff_delimiter(sample) == ";"


@pytest.mark.parametrize("text, expected", [
    ("01.11.2026 08:15;1;2;3;4\n01.11.2026 08:30;1;2;3;4\n", ";"),
    ("01.11.2026 08:15,1,2,3,4\n01.11.2026 08:30,1,2,3,4\n", ","),
    ("01.11.2026 08:15\t1\t2\t3\t4\n", "\t"),
    ("agent;state;at;reason\nA1;logged_in;2026-11-01T08:00:00;\n", ";"),
    ("agent,state,at,reason\nA1,logged_in,2026-11-01T08:00:00,\n", ","),
    ("agent\tstate\tat\nA1\tready\t2026-11-01T08:00:00\n", "\t"),
    ("", ";"),
    ("\n\n;;;\n", ";"),
])
def test_guess_on_plain_samples(text: str, expected: str) -> None:
    assert sniff_delimiter(text) == expected
    # the same text with carriage returns takes the csv module's path: same guess
    assert sniff_delimiter(text.replace("\n", "\r\n")) == expected
