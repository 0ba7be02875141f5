"""Disguised toxic words read back to the lexicon word one edit away; real words left alone."""

import pytest
from tokenizers import Tokenizer

from pyfunc.encoding import TextEncoder
from pyfunc.respelling import NEIGHBOURS, Respeller, known_words
from pyfunc.spans import read_text
from pyfunc.text import Normalizer
from toxic_mlops.data.tokenizer import train_tokenizer

LEXICON = ["fuck", "idiot", "stupid", "moron", "shit", "loser", "feck", "bitch"]


def ranked(*words: str) -> dict[str, int]:
    """Known words with their frequency ranks, most frequent first (as known_words gives them)."""
    return {word: rank for rank, word in enumerate(words)}


# The lexicon words are frequent too: a known word is read for a mask only when much more so.
KNOWN = ranked(
    "you", "are", "the", *LEXICON, "shirt", "itch", "idiom", "loner", "fork", "stud", "sit"
)
READER = Respeller(LEXICON, KNOWN)


@pytest.mark.parametrize(
    ("disguised", "word"),
    [
        ("f*ck", "fuck"),  # a masked letter
        ("f#ck", "fuck"),
        ("sh%t", "shit"),
        ("f**k", "fuck"),
        ("bi+ch", "bitch"),  # a plus for a t
        ("idio+", "idiot"),
        ("stpuid", "stupid"),  # two neighbours swapped
        ("mroon", "moron"),
        ("idot", "idiot"),  # a letter left out
        ("stupd", "stupid"),
        ("idiiot", "idiot"),  # a letter added or held
        ("idiiiot", "idiot"),
        ("iiddiioott", "idiot"),  # every letter held: more runs than are tried one by one
        ("stuuupid", "stupid"),
        ("losser", "loser"),
        ("idioot", "idiot"),
        ("idiotx", "idiot"),
        ("id.iot", "idiot"),  # a dot or hyphen inside
        ("mo-ron", "moron"),
        ("idipt", "idiot"),  # a keyboard neighbour typed
        ("stupod", "stupid"),
        ("fock", "fuck"),  # a letter read as its look-alike
        ("idlot", "idiot"),
        ("stupld", "stupid"),
        ("rnoron", "moron"),  # two letters read as one
        ("fugk", "fuck"),  # capitals a scan confuses ("FUGK"), read lower-cased
        ("shlt", "shit"),
        ("fck", "fuck"),  # a letter left out leaves three
        ("sht", "shit"),
        ("fuk", "fuck"),
    ],
)
def test_one_edit_disguises_are_read_back(disguised: str, word: str) -> None:
    assert READER.word(disguised) == word


@pytest.mark.parametrize(
    "word",
    [
        "shirt",  # shit + r, but a word the tokenizer knows
        "itch",  # (b)itch minus a letter, known
        "idiom",  # idiot with a letter swapped for another: how real words differ
        "moran",
        "loner",
        "sit",  # shit less a letter, but a known word
        "fnu",  # three letters: only a left-out letter is read back
        "stud",
        "idiok",  # o and t are no neighbours, nor look alike
        "idiat",  # nor do a and o
        "fork",  # fock's k read as r, but a known word
        "end.the",  # a missing space is no disguise
        "idiot",
        "***",
    ],
)
def test_real_words_and_other_edits_are_left_alone(word: str) -> None:
    assert READER.word(word) == word


TWO_MISREAD = Respeller(LEXICON, KNOWN, misread_letters=2)


@pytest.mark.parametrize(
    ("disguised", "word"),
    [
        ("focr", "fuck"),  # two look-alikes (u/o, k/r): what OCR makes of a word
        ("ldlot", "idiot"),
        ("fogk", "fuck"),
        ("8topid", "stupid"),  # a mask and a look-alike
    ],
)
def test_two_misread_letters_are_read_back_only_when_the_model_asks(
    disguised: str, word: str
) -> None:
    assert READER.word(disguised) == disguised  # models logged before it: one letter at most
    assert TWO_MISREAD.word(disguised) == word


@pytest.mark.parametrize(
    "word",
    [
        "fork",  # known words stay, however close
        "idiom",
        "idiat",  # a and o do not look alike, whatever else is misread
        "f0c",  # three letters: too short for two
        "s8t0pid",  # two masks and a look-alike: three edits
        "stpuod",  # a swap and a look-alike: only look-alikes and masks make two
        "fo8k",  # a mask and a look-alike in a 4-letter word: too little left of it
    ],
)
def test_two_misread_letters_leave_other_words_alone(word: str) -> None:
    assert TWO_MISREAD.word(word) == word


def test_a_mask_reads_as_the_most_toxic_word_it_could_be() -> None:
    assert Respeller(["feck", "fuck"], {}).word("f*ck") == "feck"
    assert Respeller(["fuck", "feck"], {}).word("f*ck") == "fuck"


def test_a_mask_reads_as_a_known_word_three_times_as_frequent() -> None:
    """th*t: thot or that; b@tch: bitch or batch; p@ss: piss or pass. Ranks stand for frequency."""
    known = ranked("the", "that", "pass", "you", "are", "thot", "bitch", "piss", "batch")
    reader = Respeller(["thot", "bitch", "piss"], known)
    # that (rank 1) is 5 times as frequent as thot (5), pass (2) 3.5 times piss (7): read so;
    # batch (8) is rarer than bitch (6): the lexicon word stands.
    assert read("th*t, p@ss, b@tch, b*tch", reader) == "that, pass, bitch, bitch"
    # Within three times the lexicon word is read: people mask toxic words, not others.
    close = Respeller(["thot"], ranked("the", "thot", "you", "that"))
    assert read("th*t th@t", close) == "thot thot"
    assert read("th*t", Respeller(["thot"], ranked("that", "the", "you", "thot"))) == "that"


def read(text: str, reader: Respeller = READER) -> str:
    return Normalizer(undo_leetspeak=True)(text, reader)


def test_a_text_is_read_word_by_word() -> None:
    assert read("you are a stpuid id.iot, you f*ck!") == "you are a stupid idiot, you fuck!"
    assert read("you idi ot, a mo ron") == "you idiot, a moron"  # a word split by a space
    assert read("the shirt is") == "the shirt is"  # shi + rt? two known words stay apart


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("you idi@t", "you idiot"),  # a mask, before leetspeak would read it as "idiat"
        ("sh!t happens", "shit happens"),
        ("you f4g0t", "you fagot"),  # no lexicon word: leetspeak reads it
        ("a cl@ss act", "a class act"),  # the same
        ("st8pid 1d*0t", "stupid idiot"),  # digits that are no leetspeak, leetspeak and a mask
        ("idiot!!!", "idiot!!!"),  # punctuation, not a mask
        ("@user hi $100", "@user hi $100"),
        ("c++ and g++, 1+1, a+b, x+y=z, +1", "c++ and g++, 1+1, a+b, x+y=z, +1"),
        # What leetspeak leaves masked is the mask: "7h*t" is th?t (that), never ?h?? (shit).
        ("7h*t 7h*7, sh*7 5h*t", "7h*t 7h*7, shit shit"),
        ("your bi+ch", "your bitch"),
    ],
)
def test_masks_are_read_before_leetspeak(text: str, expected: str) -> None:
    assert read(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # Any symbol between letters masks one: what no list of mask characters foresees.
        ("f^ck, sh¡t, f♥♥k, b🤬tch", "fuck, shit, fuck, bitch"),
        ("you f~ck, st♥pid id|ot", "you fuck, stupid idiot"),
        ("f?ck you", "fuck you"),
        # At a word's edge it is decoration or punctuation; words it spells nothing of stay.
        ("idiot😂 ♥shit♥ what? at&t x^2 i♥you", "idiot😂 ♥shit♥ what? at&t x^2 i♥you"),
        # "&" masks in a word of 4+ characters only: abbreviations are shorter.
        ("s&p, c&p, at&t, r&d, q&a; f&ck, sh&t", "s&p, c&p, at&t, r&d, q&a; fuck, shit"),
        # A symbol at the edge masks a letter when what it encloses holds a mask and spells
        # nothing alone; never when it is a word, a number or no letters at all.
        ("you |d|ot, |st|pid", "you idiot, |stupid"),
        ("threat== 1970s? (~~~) ♥love♥", "threat== 1970s? (~~~) ♥love♥"),
    ],
)
def test_any_symbol_inside_a_word_is_a_mask(text: str, expected: str) -> None:
    assert read(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # A dot or hyphen in a letter's place masks it, as "*" does.
        ("f.ck you, sh-t, st.pid b-tch", "fuck you, shit, stupid bitch"),
        # Not between letters only, or spelling no lexicon word: numbers, abbreviations, words.
        ("no.1 f-16s e.g. co-op x-ray so-so it.is", "no.1 f-16s e.g. co-op x-ray so-so it.is"),
    ],
)
def test_a_dot_or_hyphen_in_a_letters_place_is_a_mask(text: str, expected: str) -> None:
    assert read(text) == expected


def test_ph_reads_as_f() -> None:
    assert READER.word("phuck") == "fuck"
    assert READER.word("phone") == "phone"


SHORT = Respeller(["bitch", "hoes", "fag", "hoe", "ass"], ranked("where", "the", "hello"))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("8!7ch 817*h h0*5", "bitch bitch hoes"),  # mostly masks until the leetspeak is read
        ("a ho3, a h03, @n a*5", "a hoe, a hoe, @n ass"),  # three letters, leetspeak of a word
        ("4*5 1+1 2x4 e.g. co-op", "4*5 1+1 2x4 e.g. co-op"),  # no letter, or no such word
        ("wh3r3 h3ll0", "where hello"),  # leetspeak of known words, read by its own pass
    ],
)
def test_short_and_mostly_masked_words_are_read_back(text: str, expected: str) -> None:
    assert read(text, SHORT) == expected


def test_leetspeak_of_a_known_word_is_that_word_not_a_mask() -> None:
    reader = Respeller(["whore", "tht"], ranked("the", "that", "where", "is", "whore"))
    normalizer = Normalizer(undo_leetspeak=True)
    assert normalizer("wh3r3 is 7h3 d0g", reader) == "where is 7h3 dog"
    assert normalizer("wh*r3 is th@t", reader) == "whore is that"  # a mask stays a mask


def test_a_lone_letter_split_off_joins_its_word() -> None:
    known = ranked("a", "is", "it", "that", "pen", "b", "s", "e", "itch", "hit", "ho", "ss", "in")
    reader = Respeller(["bitch", "shit", "hoe", "penis", "ass", "ain", "tht", "tit"], known)
    assert read("you b itch, s hit, ho e", reader) == "you bitch, shit, hoe"
    # A letter that ends a word is no lone letter: "th€t it" holds no "tit", "as s/he" no "ass".
    apart = "th€t it, b&t it, isn't it, as s/he"
    assert read(apart, reader) == apart
    # Two words, or a letter that is a word alone ("a SS officer"): left apart.
    assert read("a pen is, a ss officer, a in", reader) == "a pen is, a ss officer, a in"


def test_numbers_are_no_masked_words() -> None:
    """Leetspeak reads all of "70k" ("tok"), so its digits would be masks: too many for a word."""
    reader = Respeller(["fuk", "cos"], ranked("the", "you", "miles"))
    assert read("70k miles, 50k, the 80s", reader) == "70k miles, 50k, the 80s"
    assert read("you f@k", reader) == "you fuk"


def test_a_clean_word_masked_once_reads_as_the_known_word() -> None:
    """A mask that spells no lexicon word: the most frequent known word it spells, so a clean
    word's disguise is no unknown fragment ("me%ting about t$e g*od idea")."""
    known = ranked("the", "good", "idea", "meeting", "class", "melting", "love", "glove", "donut")
    reader = Respeller(["idiot", "bitch"], known)
    assert read("me%ting about t$e g*od id@a", reader) == "meeting about the good idea"
    assert read("me^ting, idi*t", reader) == "meeting, idiot"  # a lexicon word still first
    # Leetspeak that is a known word stays it; a mask at a word's edge, a digit, "?", "&", "_"
    # or two masks are no clean word's disguise: hashtags, codes, lost apostrophes, censoring.
    kept = "cl@ss #love love! b2b don?t g&od me_ting m**ting"
    assert read(kept, reader) == "class #love love! b2b don?t g&od me_ting m**ting"


def test_a_letter_held_three_times_reads_as_the_longest_known_word() -> None:
    reader = Respeller(["idiot"], ranked("the", "ber", "god", "good", "beer", "see", "broom"))
    assert read("thhhe goood beeer, seee", reader) == "the good beer, see"
    assert read("idiiiot", reader) == "idiot"  # the lexicon word first
    # A double is how words are spelt: "brooom" is read, "broomm" not; "boook" no known word.
    assert read("brooom, goodd, boook", reader) == "broom, goodd, boook"
    # Held three times, a known word is no disguise one edit away; a double may be one.
    sand = Respeller(["sand", "kike"], ranked("and", "kie"))
    assert read("aaand kkie", sand) == "and kike"


def test_a_known_word_with_a_letter_left_out_reads_back_when_far_rarer() -> None:
    """Ranks stand for frequency: a known form 30 times as rare as the lexicon word it leaves
    an inner letter out of is read as it, unless a commoner word with a letter left out is it
    too."""
    known = {"have": 1, "bitch": 2, "hate": 3, "help": 4, "hell": 5, "btch": 50, "bich": 100}
    known |= {"hte": 300, "hae": 400, "hel": 500, "itch": 600, "bitc": 700}
    reader = Respeller(["bitch", "hate", "hell"], known)
    assert read("bich hte", reader) == "bitch hate"
    # btch only 25 times as rare; hae is have with a letter left out, hel help (at its end):
    # commoner words than hate and hell. itch and bitc leave out an edge letter, as words do
    # ("itch" is no disguise, "bitc" a piece of bitches).
    assert read("btch hae hel itch bitc", reader) == "btch hae hel itch bitc"
    # Without the commoner words, hae and hel are read back.
    rare = {word: rank for word, rank in known.items() if word not in {"have", "help"}}
    assert read("hae hel", Respeller(["bitch", "hate", "hell"], rare)) == "hate hell"


def test_keyboard_neighbours_are_the_keys_around() -> None:
    assert NEIGHBOURS["o"] == {"i", "p", "k", "l"}
    assert NEIGHBOURS["a"] == {"q", "w", "s", "z"}
    assert "t" not in NEIGHBOURS["m"]


def test_known_words_rank_by_the_training_splits_counts_when_kept() -> None:
    vocabulary = {"▁bet": 5, "▁but": 9, "▁the": 7, "▁rare": 11}
    assert known_words(vocabulary, ["the", "but", "unknown"]) == {
        "the": 0,
        "but": 1,
        "bet": 3 + 5,
        "rare": 3 + 11,
    }
    # So "b*t" is but: counted it is the commoner, while its merge came later than bet's.
    assert read("b*t", Respeller(["bet"], known_words(vocabulary, ["but", "the"]))) == "but"
    assert read("b*t", Respeller(["bet"], known_words(vocabulary))) == "bet"


def test_known_words_are_the_whole_words_of_the_vocabulary() -> None:
    vocabulary = {"▁you": 7, "▁are": 9, "ing": 3, "▁x2": 11, "[PAD]": 0, "▁": 1}
    assert known_words(vocabulary) == {"you": 7, "are": 9}


def encoder(lexicon: list[str]) -> TextEncoder:
    texts = ["you are stupid", "what an idiot", "a nice day", "you are an idiot"] * 20
    tokenizer: Tokenizer = train_tokenizer(texts, Normalizer(), 200, 1)
    return TextEncoder(tokenizer, Normalizer(undo_leetspeak=True), 30, lexicon)


def test_the_encoder_reads_disguises_back_only_with_a_lexicon() -> None:
    reads = encoder(["idiot", "stupid"])
    assert reads.encode(["you are stpuid", "what an id*ot"]) == reads.encode(
        ["you are stupid", "what an idiot"]
    )
    plain = encoder([])
    assert plain.encode(["you are stpuid"]) != plain.encode(["you are stupid"])


def test_explanations_point_at_the_raw_disguised_word() -> None:
    reads = encoder(["idiot", "stupid"])
    text = "what an ID*OT!"
    found = read_text(reads, text, 30)
    assert [text[w.start : w.end] for w in found.words] == ["what", "an", "ID*OT"]
    for text in ("so f*ck off", "so f*ck!", "you idi ot", "you idi@t, st8pid"):
        mapped = Normalizer(undo_leetspeak=True).map(text, READER)
        assert mapped.text == read(text)
    assert Normalizer().map("so f*ck off", READER).source_span(3, 7) == (3, 7)
    assert Normalizer().map("you idi ot", READER).source_span(4, 9) == (4, 10)
