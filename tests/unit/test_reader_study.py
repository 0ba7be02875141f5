"""bench/studies/reader.py: what the reader alone loses and misreads, counted on real readers."""

import argparse

from bench.studies.reader import parse_variants, tally
from pyfunc.respelling import Respeller
from pyfunc.text import Normalizer
from toxic_mlops.evaluation.evasion import AttackSet

LEXICON = frozenset({"idiot", "bitch"})


def reader_of(respeller: Respeller):
    normalizer = Normalizer(undo_leetspeak=True)
    return lambda text: normalizer(text, respeller)


def test_lost_and_misread_words_are_counted_per_family() -> None:
    attacks = AttackSet(
        toxic=["you idiot, idiot", "bitch"],
        negatives=["a good day", "the idiot box"],
        attacked={
            "read_back": (["you idot, id*ot", "b*tch"], ["a good day", "the idot box"]),
            "unreadable": (["you ixxxt, idiot", "bxxxh"], ["a idot day", "the idiot box"]),
        },
    )
    read = reader_of(Respeller(sorted(LEXICON), {"you": 0, "good": 1, "day": 2}))
    result = tally(read, LEXICON, attacks)
    assert result["found"] == 3
    assert result["families"]["read_back"] == {"lost": 0, "misread": 0}
    # Two words no reader finds; "idot" in a clean comment is read as the lexicon word.
    assert result["families"]["unreadable"] == {"lost": 2, "misread": 1}


def test_the_thresholds_a_variant_sets_reach_the_reader() -> None:
    specs = ["none:dropped_rarity=1e9", "both:rival_frequency=1,dropped_rarity=10"]
    variants = parse_variants(argparse.Namespace(variants=specs))
    assert variants == {
        "shipped": {},
        "none": {"dropped_rarity": 1e9},
        "both": {"rival_frequency": 1.0, "dropped_rarity": 10.0},
    }
    known = {"bitch": 2, "bich": 100}
    read = {name: reader_of(Respeller(["bitch"], known, **v)) for name, v in variants.items()}
    assert [read[name]("bich") for name in variants] == ["bitch", "bich", "bitch"]
