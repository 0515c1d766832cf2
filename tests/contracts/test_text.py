from __future__ import annotations

import unicodedata

import pytest

from hotich_contracts.text import (
    canonicalize_tone_marks,
    collapse_whitespace,
    fold_diacritics,
    normalize_name,
    to_nfc,
)


@pytest.mark.parametrize(
    ("old_style", "new_style"),
    [
        ("hòa", "hoà"),
        ("Hòa", "Hoà"),
        ("thúy", "thuý"),
        ("khỏe", "khoẻ"),
        ("Thủy", "Thuỷ"),
        ("Nguyễn Thị Thanh Hòa", "Nguyễn Thị Thanh Hoà"),
        ("Lý Thúy Kiều", "Lý Thuý Kiều"),
        ("Hòa Thành", "Hoà Thành"),
    ],
)
def test_tone_placement_styles_are_equal_after_normalize(old_style: str, new_style: str) -> None:
    assert old_style != new_style
    assert normalize_name(old_style) == normalize_name(new_style)


def test_canonical_style_is_the_old_one_and_keeps_case() -> None:
    assert canonicalize_tone_marks("Hoà") == "Hòa"
    assert canonicalize_tone_marks("THUÝ") == "THÚY"
    assert canonicalize_tone_marks("khoẻ") == "khỏe"


@pytest.mark.parametrize(
    "word",
    [
        "hoàn",
        "quý",
        "Quỳnh",
        "Huỳnh",
        "người",
        "Nguyễn",
        "tuổi",
        "Hữu",
        "khuỷu",
        "ngoài",
        "gìn",
        "giữ",
        "Đặng",
        "xoáy",
        "thuyết",
        "mía",
        "tài",
        "Trần",
        "Văn",
        "Tám",
    ],
)
def test_syllables_with_one_correct_placement_are_unchanged(word: str) -> None:
    assert canonicalize_tone_marks(word) == word


@pytest.mark.parametrize(
    ("misplaced", "correct"),
    [("hòan", "hoàn"), ("ngòai", "ngoài"), ("gía", "giá"), ("Thùân", "Thuần")],
)
def test_misplaced_marks_move_to_the_spelling_rule_vowel(misplaced: str, correct: str) -> None:
    assert canonicalize_tone_marks(misplaced) == correct


def test_words_with_two_tone_marks_are_unchanged() -> None:
    assert canonicalize_tone_marks("nguờí") == "nguờí"


def test_foreign_names_are_unchanged() -> None:
    assert canonicalize_tone_marks("Sok Chanthy") == "Sok Chanthy"
    assert canonicalize_tone_marks("Müller") == "Müller"
    assert canonicalize_tone_marks("Sá Rên-2") == "Sá Rên-2"


def test_normalize_name_folds_case_whitespace_and_unicode_form() -> None:
    decomposed = unicodedata.normalize("NFD", "Phạm  Nhũng")
    assert decomposed != "Phạm Nhũng"
    assert normalize_name(f"  {decomposed}\t") == "phạm nhũng"
    assert normalize_name("NGUYỄN THỊ HOÀ") == normalize_name("nguyễn thị hòa")
    assert normalize_name("ĐẶNG") == "đặng"


@pytest.mark.parametrize(
    "text",
    [
        "Nguyễn Thị  Hoà\tThuỷ",
        unicodedata.normalize("NFD", "Trần Khoẻ  Đặng"),
        "hoa \u0300 loose mark after a space",  # a combining mark that starts a word
        "\u0301leading mark",
        "Ðoàn-Thị/Hòan 01/2010 , 015",
        "Müller Hoà\u0323",
        "",
        "   ",
    ],
)
def test_normalize_name_word_by_word_equals_the_whole_text_at_once(text: str) -> None:
    # normalize_name canonicalizes (and caches) each word apart; a space ends a syllable
    # and NFC never composes across one, so the result is that of the whole text.
    folded = unicodedata.normalize("NFC", unicodedata.normalize("NFC", text).casefold())
    assert normalize_name(text) == canonicalize_tone_marks(collapse_whitespace(folded))


def test_normalize_name_keeps_diacritics() -> None:
    assert normalize_name("Hòa") != normalize_name("Hoa")
    assert normalize_name("Huỳnh") != normalize_name("Hoàng")


def test_normalize_name_is_idempotent_and_nfc() -> None:
    for name in ["Nguyễn Thị Thuỷ", "Trần  Văn   Hoà", unicodedata.normalize("NFD", "Đỗ Khoẻ")]:
        once = normalize_name(name)
        assert normalize_name(once) == once
        assert unicodedata.is_normalized("NFC", once)


def test_fold_diacritics_maps_d_with_stroke_and_removes_every_mark() -> None:
    assert fold_diacritics("Đặng Thị Thủy") == "Dang Thi Thuy"
    assert fold_diacritics("đường") == "duong"
    assert fold_diacritics("ĐĐđ") == "DDd"
    assert fold_diacritics("Ưng Ơn Âu Ăn Êm Ôn") == "Ung On Au An Em On"
    assert fold_diacritics(unicodedata.normalize("NFD", "Hoà")) == "Hoa"


def test_fold_diacritics_leaves_icelandic_eth_alone() -> None:
    assert fold_diacritics("Ðặng") == "Ðang"


def test_fold_after_normalize_gives_a_loose_key() -> None:
    assert fold_diacritics(normalize_name("ĐỖ THỊ HOÀ")) == fold_diacritics(
        normalize_name("đỗ thị hòa")
    )
    assert fold_diacritics(normalize_name("Đỗ Thị Hòa")) == "do thi hoa"


def test_small_helpers() -> None:
    assert collapse_whitespace("  a \n b\t c ") == "a b c"
    assert to_nfc(unicodedata.normalize("NFD", "Hòa")) == "Hòa"
