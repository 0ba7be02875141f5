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
