"""Normalisation: what the model sees at training and at serving time."""

import pytest

from pyfunc.text import URL_TOKEN, Normalizer

normalize = Normalizer()


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("  Hello\n\tWORLD  ", "hello world"),
        ("soooooo stuuuuupid!!!!!!", "sooo stuuupid!!!"),
        (
            "see https://example.com/x?y=1 and www.foo.org now",
            f"see {URL_TOKEN} and {URL_TOKEN} now",
        ),
        ("great movie<br /><br />really &amp; truly", "great movie really & truly"),
        ("ｉｄｉｏｔ", "idiot"),  # full-width letters fold to ASCII (NFKC)
        ("", ""),
        ("   \u200b ", "\u200b"),  # zero-width space is not whitespace to Python; kept, not crashed
    ],
)
def test_normalize(raw: str, expected: str) -> None:
    assert normalize(raw) == expected


def test_settings_switch_steps_off() -> None:
    keep_case = Normalizer(lowercase=False, strip_html=False, replace_urls=False, max_char_repeat=0)
    assert keep_case("Soooo <b>BAD</b> http://x.y") == "Soooo <b>BAD</b> http://x.y"


def test_round_trips_through_dict() -> None:
    settings = Normalizer(lowercase=False, max_char_repeat=2)
    assert Normalizer.from_dict(settings.to_dict()) == settings


def test_unknown_setting_is_rejected() -> None:
    with pytest.raises(TypeError):
        Normalizer.from_dict({"stem": True})


DEOBFUSCATE = Normalizer(
    drop_invisible=True,
    fold_lookalikes=True,
    fold_letter_forms=True,
    join_spaced_letters=True,
    undo_leetspeak=True,
)
INVISIBLE = ["\u200b", "\u200c", "\u200d", "\ufeff", "\u2060", "\u00ad", "\u200e", "\ufe0f"]


@pytest.mark.parametrize("mark", INVISIBLE, ids=lambda c: f"U+{ord(c):04X}")
def test_an_invisible_character_inside_a_word_is_dropped(mark: str) -> None:
    assert DEOBFUSCATE(f"you are a total id{mark}i{mark}ot") == "you are a total idiot"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("\u0456d\u0456\u043et", "idiot"),  # Cyrillic і, о
        ("\u0421\u0422\u0423P\u0406D", "ctypid"),  # Cyrillic capitals, then lower-cased
        ("\u03bfk \u03b1nd", "ok and"),  # Greek omicron, alpha
        ("\u00ecd\u00ec\u00f2t", "idiot"),  # accents on Latin letters
        ("i\u0337d\u0336i\u0338o\u0334t\u0335", "idiot"),  # stacked combining marks
        ("idi\u0489ot", "idiot"),  # marks from outside the Latin diacritics block
        ("ｉｄｉｏｔ", "idiot"),  # full-width: NFKC, as before
        ("i d i o t", "idiot"),
        ("i.d.i.o.t", "idiot"),
        ("f-u-c-k off", "fuck off"),
        ("s  h  i  t", "shit"),
        ("1d10t", "idiot"),
        ("1 d 1 0 t", "idiot"),
        ("sh!t, b!tch", "shit, bitch"),
        ("a$$hole a$$ $hit", "asshole ass shit"),
        ("st00pid m0r0n h3ll0", "stoopid moron hello"),
        ("\u0456d\u200b1\u043et", "idiot"),  # mixed: Cyrillic, zero-width, leet
        ("ᴍᴏʀᴏɴ ꜱᴛᴜᴘɪᴅ", "moron stupid"),  # small capitals
        ("🅸🅳🅸🅾🆃 🅘🅓🅘🅞🅣", "idiot idiot"),  # negative squared, negative circled
        ("🇮🇩🇮🇴🇹", "idiot"),  # regional indicators
        ("\u0455\u0442upid \u0432i\u0442\u0441h", "stupid bitch"),  # Cyrillic small capitals
    ],
)
def test_obfuscated_words_read_as_the_word(raw: str, expected: str) -> None:
    assert DEOBFUSCATE(raw) == expected


@pytest.mark.parametrize(
    "clean",
    [
        "on the 4th, 1st and 3rd of may",
        "mp3 b2b covid19 2nd 90s 1990s $100",
        "i'm a doctor, u.s. policy, e.g. this",
        "@user thanks!!! wow!",
        "a, b and c",
    ],
)
def test_clean_text_is_left_as_it_was(clean: str) -> None:
    assert DEOBFUSCATE(clean) == Normalizer()(clean)


def test_de_obfuscation_is_off_by_default_so_old_models_read_as_before() -> None:
    old = Normalizer.from_dict(
        {"lowercase": True, "strip_html": True, "replace_urls": True, "max_char_repeat": 3}
    )
    assert old == Normalizer()
    assert old("id\u200biot 1d10t i d i o t") == "id\u200biot 1d10t i d i o t"


def test_letter_forms_need_their_own_setting_so_earlier_models_read_as_before() -> None:
    earlier = Normalizer(drop_invisible=True, fold_lookalikes=True, undo_leetspeak=True)
    assert earlier("ᴍᴏʀᴏɴ \u0442") == "ᴍoʀoɴ \u0442"  # only what the confusables data folds
    assert Normalizer.from_dict(earlier.to_dict()) == earlier
