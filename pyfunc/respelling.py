"""Disguised toxic words read back: one edit away from a word the model knows as toxic-looking.

The normaliser undoes what has an exact inverse (pyfunc/deobfuscation.py). A letter masked by a
symbol or a digit, two letters swapped, one dropped, one added, one typed with its keyboard
neighbour or misread as a letter that looks like it (what OCR and a hurried eye confuse: "fock",
"rnoron"), a letter held, a dot or a space inside the word have none: "f*ck", "idi@t", "st8pid",
"stpuid", "idot", "idiiot", "idipt", "idiiiiot", "id.iot", "idi ot"; nor has a dot or a hyphen in
a letter's place ("f.ck", "sh-t"). They are read back when the word is not one the tokenizer
knows as a whole word and is one such edit from a word of the model's lexicon (its training
split's most toxic-looking words, kept in model_config.json). Any other letter swapped for a
letter is never read back, since that is how real words differ ("idiom", "Moran" and "loner"
stay as they are).

A masked word can fit a lexicon word and a word the tokenizer knows at once ("th*t": thot or
that; "b@tch": bitch or batch; "p@ss": piss or pass). People mask toxic words far more often than
others, so the lexicon word is read unless the known word is RIVAL_FREQUENCY times as frequent.
Frequency is a rank among the training split's commonest words (kept with the model; by Zipf's
law a word of rank r is about k/r times as frequent as one of rank k r); a model saved before
them ranks by the tokenizer's merge order.

A letter left out can leave a word the tokenizer knows: people write it so, or it is a piece of
longer words ("bich", "niga", "suk"). It is read as the lexicon word it leaves an inner letter
out of when it is DROPPED_RARITY times as rare as that word and no known word at least as
frequent becomes it with a letter left out ("hae" is have's, not hate's; "hel" help's).

A clean word disguised the same way would be a fragment the model mostly met in disguised toxic
words. So a word masked once between letters that spells no lexicon word reads as the most
frequent known word it spells ("me%ting", "t$e": meeting, the), and one with a letter held three
times or more as the longest known word it holds ("goood", "thhhe": good, the).

Two passes, run by the normaliser (pyfunc/text.py): masked words before it reads leetspeak, so
"idi@t" is read as a mask, not as "idiat" (a masked word that spells no lexicon word is left to
leetspeak: "cl@ss" still reads "class"); the other edits last, on the normalised text.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Mapping, Sequence

from pyfunc.deobfuscation import LEET, ORDINAL, char_class, symbols

Rewrite = Callable[[re.Match[str]], str]
# (pattern, rewrite of a match, whether the text may have a match the rewrite changes): the
# normaliser skips the pass when it may not, which most texts never do (a cheap look first).
Pass = tuple[re.Pattern[str], Rewrite, Callable[[str], bool]]

# What stands for a letter someone masked: symbols and digits ("f*ck", "idi@t", "st8pid",
# "bi+ch").
WILDCARDS = "*#%_@$!+0123456789"
# "&" joins the letters of abbreviations ("S&P", "AT&T", "R&D"): a mask only in a word of
# MIN_LENGTH+ characters that spells a lexicon word ("f&ck"; "s&p" is no "sup").
AMPERSAND = "&"
# Any other symbol masks a letter too ("f^ck", "sh¡t", "f♥ck", "b🤬tch"), but only between
# letters: at a word's edge it is decoration ("love♥", "lol😂") or punctuation ("what?").
INNER_MASKS = symbols() - set(WILDCARDS) | {AMPERSAND}
MASKS = INNER_MASKS | set(WILDCARDS)
# The keyboard's masks a clean word is read back through, one to a word: not digits ("b2b",
# "mp3": codes), "&" (abbreviations), "?" (an apostrophe lost to a wrong encoding: "don?t" is
# no donut), "_", "=", "|", "+" (names, markup, sums: "el_c", "class=c").
CLEAN_MASKS = frozenset("*#%@$!^~")
_INNER = char_class(sorted(map(ord, INNER_MASKS)))[1:-1]  # the class's ranges, no brackets
_WORD_CHARS = "a-z" + re.escape(WILDCARDS) + _INNER
_NOT_BANG = re.escape(WILDCARDS.replace("!", ""))  # "!" masks only inside a word
# A word of the first pass: letters and masks, not ending in "!" (punctuation by then);
# unmask() reads it only when it holds a mask. Plain classes, no look-around: fast to scan.
MASKED = re.compile(rf"[{_WORD_CHARS}]*[a-z{_NOT_BANG}{_INNER}]")
# A word of the last pass: letters, masks but "@$!" (punctuation, mentions and money by then),
# maybe one dot or hyphen inside ("id.iot", "f-ck").
_LAST_CHARS = "a-z" + re.escape(WILDCARDS.replace("@", "").replace("$", "").replace("!", ""))
WORD = re.compile(rf"[{_LAST_CHARS}]+(?:[.\-][{_LAST_CHARS}]+)?")
# A letter run and the space after it, when a letter run follows: where a word someone split
# ("idi ot") may join (the match is "idi "; the next run only looked at, so "a b c" tries both).
PAIR = re.compile(r"(?<![\w*#%@$])([a-z]+) (?=([a-z]+)(?![\w*#%@$]))")
_SEPARATED = re.compile(r"([a-z]+)[.\-]([a-z]+)")  # letters only: "no.1", "f-16s" are no mask
_RUN = re.compile(r"([a-z])\1+")
_HELD = re.compile(r"([a-z])\1\1")
_LETTERS = re.compile(r"[a-z]+")
# A mask beside a letter ("!" only inside a word): the only texts the masked pass can change.
_MASK_BY_LETTER = re.compile(
    rf"[a-z][{_NOT_BANG}{_INNER}]|[{re.escape(WILDCARDS)}][a-z]|[a-z]![a-z{_NOT_BANG}]"
)

# How many times as frequent (by frequency rank) a known word must be to be read for a mask
# rather than the lexicon word it also fits: chosen with the reader alone on Davidson and
# Wikipedia rows, masked toxic words lost against clean words misread (docs/evasion.md, "Clean
# words read back").
RIVAL_FREQUENCY = 3
# How many times as rare (by frequency rank) a known word must be than the lexicon word it
# leaves an inner letter out of to be read as that word (see the module): chosen as
# RIVAL_FREQUENCY was, the deleted family's toxic words lost against clean words misread.
DROPPED_RARITY = 30
WORD_LETTERS = frozenset("ai")  # the letters that are English words alone
MIN_LENGTH = 4  # lexicon words, and disguises but for a dropped letter ("fck"), are this long
# A mask and a look-alike leave two letters of a 4-letter word: "pa9e" would read "rape".
MASKED_MISREAD_LENGTH = 5
MAX_RUNS = 3  # held letters whose 1- and 2-letter readings are tried
CACHE_WORDS = 200_000  # words remembered before the memo starts again (bounded memory)
_ROWS = ("qwertyuiop", "asdfghjkl", "zxcvbnm")
# Each letter's neighbours on a QWERTY keyboard: the letters a typo puts in its place.
NEIGHBOURS = {
    key: {
        _ROWS[r][c]
        for r in range(3)
        for c in range(len(_ROWS[r]))
        if (r, c) != (row, col) and abs(r - row) <= 1 and abs(c - col - (row - r) * 0.5) <= 1
    }
    for row, keys in enumerate(_ROWS)
    for col, key in enumerate(keys)
}

# Letters that look alike in print or a scan, each way: a letter read as its look-alike
# ("fock", "idiat" is not one: a and o differ to the eye), and the pairs of letters that pass
# for one ("rn" for m, "cl" for d, "vv" for w).
LOOKALIKES = [("o", "u"), ("u", "v"), ("c", "e"), ("r", "k"), ("n", "m"), ("g", "q"), ("i", "l")]
# Capitals that a scan confuses, read after lower-casing ("FUGK", "BASTAKD", "NIGGBR").
LOOKALIKES += [("c", "g"), ("o", "d"), ("o", "q"), ("e", "f"), ("e", "b"), ("p", "r"), ("h", "b")]
LOOKALIKES += [("rn", "m"), ("cl", "d"), ("vv", "w")]
LOOKALIKES += [(b, a) for a, b in LOOKALIKES]
LOOKALIKES += [("ph", "f")]  # not a look-alike but the same sound: "phuck"
# The readings undone: what a lexicon word looks like with a letter misread.
_LOOKALIKES_BACK = [(read, seen) for seen, read in LOOKALIKES]


def known_words(
    vocabulary: Mapping[str, int], commonest: Sequence[str] = (), word_start: str = "▁"
) -> dict[str, int]:
    """The whole words of a sub-word vocabulary (its tokens that start a word and are letters),
    each with its frequency rank: its place among the commonest words of the training split,
    then, for the others and for models saved without them, its id (a BPE vocabulary's merge
    order, a weak stand-in: "but" merges after "bet" on Jigsaw Wikipedia)."""
    rank = {word: place for place, word in enumerate(commonest)}
    return {
        word: rank.get(word, len(rank) + index)
        for token, index in vocabulary.items()
        if token.startswith(word_start) and (word := token[len(word_start) :]).isalpha()
    }


class Respeller:
    """Reads disguised words back to the lexicon word they are one edit from (see the module)."""

    def __init__(
        self,
        lexicon: Sequence[str],
        known: Mapping[str, int],
        misread_letters: int = 1,
        rival_frequency: float = RIVAL_FREQUENCY,
        dropped_rarity: float = DROPPED_RARITY,
    ) -> None:
        self.rival_frequency = rival_frequency
        self.dropped_rarity = dropped_rarity  # both tried by bench/studies/reader.py
        self.everything = list(lexicon)  # most toxic first
        self.lexicon_words = frozenset(lexicon)
        self.misread_letters = misread_letters
        self.lexicon = [w for w in lexicon if len(w) >= MIN_LENGTH]
        self.rank = {word: index for index, word in enumerate(self.lexicon)}
        self.known = known  # word -> frequency rank
        self.unknown_rank = max(known.values(), default=0) + 1
        # The known words that are no lexicon word, most frequent first, by length and by
        # length, first and last letter (a mask inside a word: a hundredth of them to try).
        self.rivals: dict[int, list[str]] = {}
        self.rivals_by_ends: dict[tuple[int, str, str], list[str]] = {}
        for word in sorted(set(known) - self.lexicon_words, key=known.__getitem__):
            self.rivals.setdefault(len(word), []).append(word)
            self.rivals_by_ends.setdefault((len(word), word[0], word[-1]), []).append(word)
        self.dropped: dict[str, str] = {}  # a lexicon word with one letter left out -> the word
        for word in self.lexicon:
            for at in range(len(word)):
                self.dropped.setdefault(word[:at] + word[at + 1 :], word)
        self.rare_dropped = self._rare_dropped()
        # Each form two look-alike letters from a lexicon word -> the most toxic such word:
        # _two_misread's unmasked case as one look-up (trying the pairs of every unknown word a
        # server reads costs a millisecond each).
        self.misread_twice: dict[str, str] = {}
        if misread_letters >= 2:
            for word in self.lexicon:
                for once in _lookalike_readings(word, _LOOKALIKES_BACK):
                    for twice in _lookalike_readings(once, _LOOKALIKES_BACK):
                        self.misread_twice.setdefault(twice, word)
        self._read: dict[str, str] = {}  # word()'s answers, remembered
        self._unmasked: dict[str, str] = {}  # unmask()'s, by the whole masked word

    def _rare_dropped(self) -> dict[str, str]:
        """The known words that are a lexicon word with an inner letter left out,
        dropped_rarity times as rare as it, and have no commoner reading -> the word."""
        rare: dict[str, str] = {}
        for word in self.lexicon:
            rank = self.known.get(word, self.unknown_rank)
            for at in range(1, len(word) - 1):
                form = word[:at] + word[at + 1 :]
                if (
                    self.known.get(form, -1) < self.dropped_rarity * rank
                    or form in self.lexicon_words
                ):
                    continue
                if not self._left_out_of_commoner(form, rank):
                    rare.setdefault(form, word)
        return rare

    def _left_out_of_commoner(self, form: str, rank: int) -> bool:
        """Whether a known word of rank or commoner (no lexicon word) is form with a letter
        added anywhere: "hae" is have's, "hel" help's."""
        added = (self._commonest_spelt(form[:i] + "*" + form[i:]) for i in range(len(form) + 1))
        return any(word is not None and self.known[word] <= rank for word in added)

    def word(self, word: str) -> str:
        """The lexicon word `word` disguises, or `word` itself."""
        return _remembered(self._read, word, lambda w: self._lookup(w) or w)

    def join(self, match: re.Match[str]) -> str:
        """A PAIR match without its space when the two runs make a lexicon word together and
        either is not a word the tokenizer knows whole ("idi ot" joins, "pen is" stays), or
        either is a lone letter that is no word and the two stand apart ("b itch", "ho e";
        "a ss", "isn't it", "as s/he" stay)."""
        first, second = match[1], match[2]
        if self._joins(first, second) or (self._lone_joins(first, second) and _apart(match)):
            return first
        return match[0]

    def _joins(self, first: str, second: str) -> bool:
        joined = first + second
        return joined in self.rank and not (first in self.known and second in self.known)

    def _lone_joins(self, first: str, second: str) -> bool:
        lone = any(len(run) == 1 and run not in WORD_LETTERS for run in (first, second))
        return lone and first + second in self.lexicon_words

    def unmask(self, match: re.Match[str]) -> str:
        """A MASKED match that holds a mask, read as the most toxic lexicon word it spells
        (3+ letters), its leetspeak read first ("8!7ch" is a mask of bitch, "h0*5" of hoes);
        the INNER_MASKS at its edges left as they are, unless what they enclose holds a mask
        and spells nothing: then they mask a letter too ("|d|ot")."""
        return _remembered(self._unmasked, match[0], self._unmask_word)

    def _unmask_word(self, word: str) -> str:
        start, end = 0, len(word)
        while start < end and word[start] in INNER_MASKS:
            start += 1
        while end > start and word[end - 1] in INNER_MASKS:
            end -= 1
        enclosed = word[start:end]
        inner = self._unmask(enclosed)
        if inner == enclosed != word and not enclosed.isalpha() and _edge_masked(word):
            return self._masked(word) or word
        return word[:start] + inner + word[end:]

    def _unmask(self, word: str) -> str:
        if word.isalpha() or len(word) < 3 or not any(c.isalpha() for c in word):
            return word  # no mask, or no letter at all ("4*5" is a sum)
        if ORDINAL.fullmatch(word):
            return word  # "80s", "4th": no "cos", no "tits"
        leet = _leet_read(word)
        if 2 * sum(c.isalpha() for c in leet) < len(word):
            return word  # mostly masks even as leetspeak: a code, not a disguised word
        if leet in self.lexicon_words:  # a short one too: "ho3" is hoe
            return leet
        # Leetspeak in digits that reads as a word the tokenizer knows is that word ("wh3r3"
        # is where, not a mask of whore; "7h3" is the): left to the leetspeak pass. A symbol
        # ("b@tch") may as well be a mask: _masked weighs the two readings.
        if leet in self.known and any(c.isdigit() for c in word):
            return word
        minimum = MIN_LENGTH if AMPERSAND in word else 3
        return self._masked_reading(word, leet, minimum) or self._known_reading(word, leet) or word

    def _known_reading(self, word: str, leet: str) -> str | None:
        """A word masked once between letters that spells no lexicon word, read as the most
        frequent known word it spells ("g*od" is good), unless its leetspeak is a known word
        ("cl@ss" is class): see the module and docs/evasion.md, "Clean words read back"."""
        if leet in self.known or not (word[0].isalpha() and word[-1].isalpha()):
            return None
        masks = [c for c in word if not c.isalpha()]
        if len(masks) != 1 or masks[0] not in CLEAN_MASKS:
            return None  # "f**in" is a toxic word censored, not a clean one disguised
        return self._commonest_spelt(word)

    def masked_rewrites(self) -> list[Pass]:
        """The first pass, before the normaliser reads leetspeak."""
        return [(MASKED, self.unmask, _MASK_BY_LETTER.search)]

    def rewrites(self) -> list[Pass]:
        """The last passes, on the normalised text, in order."""
        return [
            (PAIR, self.join, self._may_join),
            (WORD, lambda match: self.word(match[0]), self._may_respell),
        ]

    def _may_join(self, text: str) -> bool:
        runs = _LETTERS.findall(text)
        pairs = zip(runs, runs[1:], strict=False)
        return any(self._joins(a, b) or self._lone_joins(a, b) for a, b in pairs)

    def _may_respell(self, text: str) -> bool:
        # Not set - dict_keys: that walks the whole vocabulary for every text.
        words = set(WORD.findall(text))
        if not words.isdisjoint(self.rare_dropped):
            return True
        return any(self.word(w) != w for w in words if w not in self.known)

    def _lookup(self, word: str) -> str | None:
        if word in self.rare_dropped:
            return self.rare_dropped[word]
        letters = word.replace(".", "").replace("-", "")
        # The word as written: "idi-ot" is no word the tokenizer knows, whatever "idiot" is.
        if len(letters) < MIN_LENGTH - 1 or word in self.known or word in self.lexicon_words:
            return None
        if sum(c.isalpha() for c in word) < max(2, len(letters) // 2):
            return None  # mostly digits or masks: a number, a code, not a disguised word
        forms = _held_readings(word)
        if _HELD.search(word) and (found := self._held(forms)):
            return found
        for form in forms:
            if found := self._one_edit(form):
                return found
        # Not an added dot or hyphen ("id.iot": read above) but one in a letter's place
        # ("f.ck", "sh-t"): a mask.
        if len(word) >= MIN_LENGTH and (separated := _SEPARATED.fullmatch(word)):
            if found := self._masked(f"{separated[1]}*{separated[2]}"):
                return found
        if self.misread_letters >= 2 and len(letters) >= MIN_LENGTH:
            for form in forms:
                if found := self._two_misread(form):
                    return found
        return None

    def _held(self, forms: list[str]) -> str | None:
        """The readings (forms) of a word with a letter held three times or more (no word is
        spelt so) that hold a known word: a lexicon word they hold ("asss" is ass), else the
        longest known word, then the most frequent ("goood" is good, "beeer" beer: a sub-word
        vocabulary's "ber" is no word), and no disguise one edit away ("aaand" is no sand,
        "haaave" no shave). Not a double: "kkie" is a swapped kike, though "kie" is a known
        sub-word; "broom" a word the vocabulary may not hold whole."""
        known = {form for form in forms[1:] if form in self.known} - self.lexicon_words
        if not known:
            return None
        if found := next((form for form in forms if form in self.lexicon_words), None):
            return found
        return min(known, key=lambda form: (-len(form), self.known[form]))

    def _one_edit(self, form: str) -> str | None:
        if any(c in MASKS for c in form):
            return self._read_masked(form)
        if form in self.rank:
            return form
        if form in self.dropped:  # a letter left out
            return self.dropped[form]
        if len(form) < MIN_LENGTH:
            return None
        edits = [form[:at] + form[at + 1 :] for at in range(len(form))]  # one added
        edits += [  # two neighbours swapped
            form[:at] + form[at + 1] + form[at] + form[at + 2 :] for at in range(len(form) - 1)
        ]
        edits += [  # one typed with a keyboard neighbour
            form[:at] + key + form[at + 1 :]
            for at, typed in enumerate(form)
            for key in NEIGHBOURS.get(typed, ())
        ]
        edits += _lookalike_readings(form)  # one read as its look-alike
        found = [edit for edit in edits if edit in self.rank]
        return min(found, key=self.rank.__getitem__) if found else None

    def _two_misread(self, form: str) -> str | None:
        """The most toxic lexicon word two letters of form misread: each a look-alike or a
        mask ("focr", "8topid": what OCR makes of a word)."""
        masks = sum(c in MASKS for c in form)
        if masks == 0:
            return self.misread_twice.get(form)
        if masks > 1 or len(form) < MASKED_MISREAD_LENGTH:
            return None
        found = [self._read_masked(first) for first in _lookalike_readings(form)]
        words = [word for word in found if word]  # lexicon words first, then rivals
        return min(words, key=lambda w: self.rank.get(w, len(self.rank))) if words else None

    def _read_masked(self, form: str, minimum: int = MIN_LENGTH) -> str | None:
        """_masked of form with its leetspeak read first: what leetspeak leaves masked is the
        mask ("7h*7" reads th?t, never ?h??, so no "shit"); with nothing left, a character of
        both kinds was the mask ("idi@t")."""
        return self._masked_reading(form, _leet_read(form), minimum)

    def _masked_reading(self, form: str, leet: str, minimum: int) -> str | None:
        """_read_masked with form's leetspeak already read (unmask has it)."""
        if any(c in MASKS for c in leet):
            return self._masked(leet, minimum)
        # Every mask a character of both kinds: only in a word mostly of letters ("idi@t";
        # "70k", "50K", "A330" are numbers and codes, no "fuk", "cock", "arse").
        letters = sum(c.isalpha() for c in form)
        return self._masked(form, minimum) if 2 * letters > len(form) else None

    def _masked(self, form: str, minimum: int = MIN_LENGTH) -> str | None:
        """The most toxic lexicon word (of minimum+ letters) that the unmasked letters spell
        (a mask: any letter), or the most frequent known word they spell, if that is
        RIVAL_FREQUENCY times as frequent (see the module)."""
        form = form.replace(".", "").replace("-", "")
        pattern = _mask_pattern(form)
        found = next(
            (w for w in self.everything if len(w) >= minimum and pattern.fullmatch(w)), None
        )
        return found and (self._rival(form, found) or found)

    def _rival(self, form: str, found: str) -> str | None:
        """_commonest_spelt(form), if it is rival_frequency times as frequent as the lexicon
        word found."""
        rival = self._commonest_spelt(form)
        if rival and self.rival_frequency * self.known[rival] < self.known.get(
            found, self.unknown_rank
        ):
            return rival
        return None

    def _commonest_spelt(self, form: str) -> str | None:
        """The most frequent known word (no lexicon word) that form, letters and masks, spells."""
        pattern = _mask_pattern(form)
        if form[0] in MASKS or form[-1] in MASKS:
            words = self.rivals.get(len(form), ())
        else:
            words = self.rivals_by_ends.get((len(form), form[0], form[-1]), ())
        return next((w for w in words if pattern.fullmatch(w)), None)


def _mask_pattern(form: str) -> re.Pattern[str]:
    """form as a pattern: each mask any letter."""
    return re.compile("".join("[a-z]" if c in MASKS else re.escape(c) for c in form))


def _apart(pair: re.Match[str]) -> bool:
    """A PAIR match's runs stand apart from the text around: a space or the text's edge before
    the first, a space, the edge or a sentence's punctuation after the second."""
    text, start, end = pair.string, pair.start(1), pair.end() + len(pair[2])
    before = text[start - 1] if start else " "
    after = text[end] if end < len(text) else " "
    return before.isspace() and (after.isspace() or after in ".,;:!?")


def _edge_masked(word: str) -> bool:
    """Letters (3+, half the word or more) and INNER_MASKS only: no digit ("1970s?")."""
    letters = sum(c.isalpha() for c in word)
    masks = [c for c in word if not c.isalpha()]
    return letters >= 3 and 2 * letters >= len(word) and all(c in INNER_MASKS for c in masks)


def _remembered(memo: dict[str, str], word: str, read: Callable[[str], str]) -> str:
    """read(word), remembered in memo; a full memo starts again (bounded memory)."""
    if word not in memo:
        if len(memo) >= CACHE_WORDS:
            memo.clear()
        memo[word] = read(word)
    return memo[word]


def _leet_read(word: str) -> str:
    """word with every leetspeak character read as its letter ("8!7ch" -> "8itch")."""
    return "".join(LEET.get(char, char) for char in word)


def _lookalike_readings(form: str, pairs: list[tuple[str, str]] = LOOKALIKES) -> list[str]:
    """form with one letter (or pair) read as its look-alike, each way it can be."""
    readings = []
    for seen, read in pairs:
        at = form.find(seen)
        while at >= 0:  # str.find: this runs for every unknown word a server reads
            readings.append(form[:at] + read + form[at + len(seen) :])
            at = form.find(seen, at + 1)
    return readings


def _held_readings(word: str) -> list[str]:
    """The word, then each run of a held letter read as one letter or two ("idiiiot"), and
    every run read as one ("iiddiioott")."""
    runs = list(_RUN.finditer(word))[:MAX_RUNS]
    readings = [word]
    for lengths in itertools.product((1, 2), repeat=len(runs)):
        parts, last = [], 0
        for run, length in zip(runs, lengths, strict=True):
            parts += [word[last : run.start()], run[1] * min(length, len(run[0]))]
            last = run.end()
        readings.append("".join([*parts, word[last:]]))
    readings.append(_RUN.sub(r"\1", word))
    return list(dict.fromkeys(readings))
