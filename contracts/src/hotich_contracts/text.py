"""Vietnamese text normalization for comparing names (so sánh họ tên).

Names are *stored* as written (Unicode NFC). These functions build *comparison* forms
only; never store their output in place of the original.

Two problems NFC leaves open:

- **Tone-mark placement.** The same syllable is written "hòa" (old style) or "hoà"
  (new style); likewise "khỏe"/"khoẻ", "thúy"/"thuý". :func:`canonicalize_tone_marks`
  moves every tone mark to one deterministic place. The canonical style is the old one
  (tone on the first vowel of an open ``oa``/``oe``/``uy``), the one most names in the
  registers use. Misplaced marks ("hòan" for "hoàn") are put where the spelling rules
  want them, too.
- **Đ/đ** have no Unicode decomposition, so stripping combining marks keeps them;
  :func:`fold_diacritics` maps them to D/d explicitly. Icelandic Ð (U+00D0), often
  mojibake for Đ, is deliberately left alone.
"""

from __future__ import annotations

import functools
import unicodedata
from typing import Final

__all__ = [
    "canonicalize_tone_marks",
    "collapse_whitespace",
    "fold_diacritics",
    "normalize_name",
    "to_nfc",
]

_TONE_MARKS: Final = frozenset("\u0300\u0301\u0303\u0309\u0323")
"""Combining grave, acute, tilde, hook above, dot below: the five marked tones."""

_VOWEL_MODIFIERS: Final = frozenset("\u0302\u0306\u031b")
"""Combining circumflex (â ê ô), breve (ă), horn (ơ ư): part of the vowel, not the tone."""

_VOWELS: Final = frozenset("aeiouy")

_INITIALS: Final = (
    "ngh",
    "ng",
    "nh",
    "ch",
    "gh",
    "gi",
    "kh",
    "ph",
    "qu",
    "th",
    "tr",
    "b",
    "c",
    "d",
    "đ",
    "g",
    "h",
    "k",
    "l",
    "m",
    "n",
    "p",
    "r",
    "s",
    "t",
    "v",
    "x",
)
"""Initial consonants, longest first so that a prefix match takes the longest."""

_FINALS: Final = frozenset({"", "c", "ch", "m", "n", "ng", "nh", "p", "t"})

_COMBINING_DIACRITICS: Final = range(0x0300, 0x0370)
"""The Combining Diacritical Marks block: every mark Latin-script Vietnamese uses."""

_FOLD_MAP: Final = str.maketrans({"đ": "d", "Đ": "D"})


def to_nfc(text: str) -> str:
    """Return ``text`` in Unicode normalization form C (how names are stored)."""
    return unicodedata.normalize("NFC", text)


def collapse_whitespace(text: str) -> str:
    """Strip ``text`` and replace every run of whitespace inside it by one space."""
    return " ".join(text.split())


def normalize_name(text: str) -> str:
    """Return the comparison form of a name (or any short text).

    NFC, case-folded, whitespace collapsed, tone marks in the canonical place, so that
    "Nguyễn Thị  HOÀ" and "nguyễn thị hòa" give the same result. Diacritics are kept
    (Hòa and Hoa are different names); use :func:`fold_diacritics` on the result for a
    looser key.
    """
    folded = unicodedata.normalize("NFC", unicodedata.normalize("NFC", text).casefold())
    # Word by word (a space ends a syllable, and NFC never composes across one), each
    # word's form cached: the registers' names, book and entry numbers are made of a few
    # thousand distinct words, and placing tone marks was a tenth of intake's CPU.
    return " ".join([_canonical_word(word) for word in folded.split()])


@functools.lru_cache(maxsize=16_384)
def _canonical_word(word: str) -> str:
    return canonicalize_tone_marks(word)


def fold_diacritics(text: str) -> str:
    """Remove every diacritic (tone marks and vowel marks) and map Đ/đ to D/d.

    Case is kept. "Đặng Thị Thủy" becomes "Dang Thi Thuy". Icelandic Ð (U+00D0) is not
    folded.
    """
    decomposed = unicodedata.normalize("NFD", text)
    stripped = "".join(ch for ch in decomposed if ord(ch) not in _COMBINING_DIACRITICS)
    return unicodedata.normalize("NFC", stripped.translate(_FOLD_MAP))


def canonicalize_tone_marks(text: str) -> str:
    """Move the tone mark of each Vietnamese syllable to its canonical vowel.

    Case and every other character are kept; the result is NFC. Words that do not
    parse as one Vietnamese syllable with exactly one tone mark (foreign names,
    abbreviations) are returned unchanged.
    """
    decomposed = unicodedata.normalize("NFD", text)
    out: list[str] = []
    word: list[_Letter] = []
    for ch in decomposed:
        if unicodedata.combining(ch):
            if word:
                word[-1].marks.append(ch)
            else:
                out.append(ch)
            continue
        if ch.isalpha():
            word.append(_Letter(ch))
            continue
        if word:
            out.append(_place_tone(word))
            word = []
        out.append(ch)
    if word:
        out.append(_place_tone(word))
    return unicodedata.normalize("NFC", "".join(out))


class _Letter:
    """A base letter and the combining marks that follow it (NFD)."""

    __slots__ = ("base", "marks")

    def __init__(self, base: str) -> None:
        self.base = base
        self.marks: list[str] = []

    def text(self) -> str:
        return self.base + "".join(self.marks)


def _render(word: list[_Letter]) -> str:
    return "".join(letter.text() for letter in word)


def _place_tone(word: list[_Letter]) -> str:
    """Return the word with its one tone mark on the canonical vowel, or unchanged."""
    tones = [mark for letter in word for mark in letter.marks if mark in _TONE_MARKS]
    if len(tones) != 1:
        return _render(word)
    if any(
        mark not in _TONE_MARKS and mark not in _VOWEL_MODIFIERS
        for letter in word
        for mark in letter.marks
    ):
        return _render(word)
    target = _tone_position(word)
    if target is None:
        return _render(word)
    tone = tones[0]
    for letter in word:
        letter.marks = [mark for mark in letter.marks if mark not in _TONE_MARKS]
    word[target].marks.append(tone)
    return _render(word)


def _tone_position(word: list[_Letter]) -> int | None:
    """Return the index of the letter that carries the tone, or None if not a syllable."""
    bases = "".join(letter.base.lower() for letter in word)
    start = _initial_length(bases)
    if start is None:
        return None
    end = start
    while end < len(bases) and bases[end] in _VOWELS:
        end += 1
    nucleus = range(start, end)
    if not 1 <= len(nucleus) <= 3 or bases[end:] not in _FINALS:
        return None
    modified = [i for i in nucleus if any(m in _VOWEL_MODIFIERS for m in word[i].marks)]
    if modified:
        # ươ, uô, iê: the last marked vowel carries the tone (người, muốn, tiến).
        return modified[-1]
    if bases[end:]:
        # A closed syllable puts the tone on its last vowel (hoàn, quỳnh, thoát).
        return nucleus[-1]
    if len(nucleus) == 3:
        return nucleus[1]  # ngoài, khuỷu, xoáy
    # Open syllable of one or two plain vowels: the first one (tài, mía, hòa, thúy).
    return nucleus[0]


def _initial_length(bases: str) -> int | None:
    """Return the length of the initial consonant of a syllable, or None if invalid."""
    if not bases:
        return None
    if bases[0] in _VOWELS:
        return 0
    for initial in _INITIALS:
        if bases.startswith(initial):
            rest = bases[len(initial) :]
            if initial in ("gi", "qu") and not (rest and rest[0] in _VOWELS):
                # "gìn", "gì": the i is the vowel, the initial is g.
                return 1 if initial == "gi" else None
            return len(initial)
    return None
