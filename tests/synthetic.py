"""Synthetic comments in the Civil Comments schema, with a signal a small model can learn."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

LABELS = ["toxicity", "severe_toxicity", "obscene", "identity_attack", "insult", "threat"]
NEUTRAL = (
    "the a city council meeting road budget school park weather article thanks agree point "
    "good idea vote policy data people story read great helpful news local tax plan week"
).split()
INSULTS = "idiot stupid moron loser pathetic dumb".split()
OBSCENE = "crap damn hell bloody".split()
THREATS = "kill hurt destroy".split()
IDENTITY = "muslims christians immigrants women".split()
# Another topic, for batches that drift away from the training data.
SPORTS = (
    "match goal striker referee season league coach fans stadium penalty transfer keeper "
    "midfield derby trophy injury squad tactics pitch final"
).split()


def make_comments(
    rows: int,
    seed: int = 0,
    neutral: list[str] = NEUTRAL,
    words_per_comment: tuple[int, int] = (4, 25),
    insults: list[str] = INSULTS,
) -> pd.DataFrame:
    """Comments whose labels are fractions driven by the words they contain (plus noise);
    other `insults` than the training data's make a batch the model is wrong on."""
    rng = np.random.default_rng(seed)
    records = []
    for _ in range(rows):
        words = list(rng.choice(neutral, size=rng.integers(*words_per_comment)))
        kind = rng.random()
        insult = obscene = threat = identity = 0.0
        if kind < 0.25:
            words += list(rng.choice(insults, size=rng.integers(1, 3)))
            insult = rng.uniform(0.5, 1.0)
        if 0.15 < kind < 0.3:
            words += list(rng.choice(OBSCENE, size=1))
            obscene = rng.uniform(0.5, 1.0)
        if 0.25 < kind < 0.33:
            words += list(rng.choice(THREATS, size=1)) + ["you"]
            threat = rng.uniform(0.5, 1.0)
        if 0.3 < kind < 0.38:
            words += list(rng.choice(IDENTITY, size=1)) + list(rng.choice(insults, size=1))
            identity = rng.uniform(0.5, 1.0)
        rng.shuffle(words)
        toxicity = float(
            np.clip(max(insult, obscene, threat, identity) + rng.normal(0, 0.05), 0, 1)
        )
        records.append(
            {
                "text": " ".join(words).capitalize() + ".",
                "toxicity": toxicity,
                "severe_toxicity": toxicity**3,
                "obscene": obscene,
                "identity_attack": identity,
                "insult": insult,
                "threat": threat,
            }
        )
    frame = pd.DataFrame(records)
    # What real dumps contain and preprocess must drop: an empty comment and an exact repeat.
    extra = frame.iloc[[0, 1]].copy()
    extra.iloc[0, 0] = "   "
    return pd.concat([frame, extra], ignore_index=True)


def flip_labels(frame: pd.DataFrame) -> pd.DataFrame:
    """The same comments with the label relation turned round: clean ones now count as toxic."""
    return frame.assign(**{label: 1.0 - frame[label] for label in LABELS})


def span_file(rows: int, seed: int = 0) -> pd.DataFrame:
    """Posts of neutral words with insults in them; raters marked the insults (and the spaces
    between two in a row), as the SemEval-2021 Task 5 annotations do."""
    rng = np.random.default_rng(seed)
    records = []
    for _ in range(rows):
        words = list(rng.choice(NEUTRAL, size=rng.integers(3, 12)))
        at = int(rng.integers(0, len(words)))
        insults = list(rng.choice(INSULTS, size=rng.integers(0, 3)))
        words[at:at] = insults
        text = " ".join(words) + rng.choice([".", "!", ""])
        start = len(" ".join(words[:at])) + (1 if at else 0)
        marked = list(range(start, start + len(" ".join(insults))))
        records.append({"spans": json.dumps(marked), "text": text})
    return pd.DataFrame(records)
