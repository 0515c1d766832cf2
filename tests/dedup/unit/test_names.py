import unicodedata

import pytest

from hotich_dedup.domain.names import name_form, name_similarity


def sim(a: str, b: str) -> float:
    fa, fb = name_form(a), name_form(b)
    assert fa is not None
    assert fb is not None
    return name_similarity(fa, fb)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("Nguyễn Thị Hòa", "Nguyễn Thị Hoà"),  # tone-mark placement, old / new style
        ("Nguyễn Thị Hòa", unicodedata.normalize("NFD", "Nguyễn Thị Hòa")),
        ("NGUYỄN  THỊ HÒA", "nguyễn thị hòa"),  # case and spacing
        ("Nguyễn Thị Khỏe", "Nguyễn Thị Khoẻ"),
    ],
)
def test_variants_of_writing_are_the_same_name(a: str, b: str) -> None:
    assert sim(a, b) == 1.0


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("Đặng Văn Đức", "Dang Van Duc"),  # marks left out, đ typed as d
        ("Đặng Văn Đức", "Dặng Văn Dức"),
        ("Lê Thị Vy", "Lê Thị Vi"),  # i / y
        ("Lý Văn Tài", "Lí Văn Tài"),
    ],
)
def test_diacritic_and_spelling_variants_agree_closely(a: str, b: str) -> None:
    assert 0.95 <= sim(a, b) < 1.0


def test_a_left_out_middle_name_or_one_slip_still_agrees() -> None:
    assert sim("Nguyễn Thị Lan", "Nguyễn Lan") >= 0.9
    assert sim("Nguyễn Thị Ngọc Hân", "Nguyễn Ngọc Hân") >= 0.9
    assert sim("Nguyễn Văn Hùng", "Nguyễn Văn Hùgn") >= 0.9  # letters swapped
    assert sim("Nguyễn Văn Hùng", "Ngyễn Văn Hùng") >= 0.9  # a letter dropped
    assert sim("Trần Thị Lan", "Trần Thị Lna") >= 0.8


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("Trần Minh Thắng", "Trần Thành Hưng"),  # another given and middle name
        ("Nguyễn Văn Hải", "Nguyễn Hoàng Hải"),  # another middle name
        ("Lê Thị Hoa", "Lê Thị Khoa"),  # another initial consonant: another name
        ("Lê Văn Tâm", "Lê Văn Hùng"),
    ],
)
def test_other_names_disagree(a: str, b: str) -> None:
    assert sim(a, b) < 0.8


def test_same_letters_with_other_marks_on_both_sides_are_only_possibly_the_same() -> None:
    # Tâm and Tám are two names, but one may be a mistyped mark.
    assert 0.8 <= sim("Lê Văn Tâm", "Lê Văn Tám") < 0.95


def test_punctuation_and_leftover_combining_marks_do_not_split_words() -> None:
    form = name_form("Nguyễn Văn An.")
    assert form is not None
    assert form.key == ("nguyen", "van", "an")
    broken = name_form("Nguye\u0302\u0303n Văn Hải")  # NFD input
    assert broken is not None
    assert broken.key[0] == "nguyen"


def test_no_letters_is_no_name() -> None:
    assert name_form(" . ") is None


def test_cached_names_share_their_common_words() -> None:
    """A full cache holds 65,536 names: their common words are one string each."""
    a, b = name_form("Nguyễn Văn Minh"), name_form("nguyễn văn  Dũng")
    assert a is not None
    assert b is not None
    assert a.normal[:2] == b.normal[:2] == ("nguyễn", "văn")
    assert a.normal[0] is b.normal[0]
    assert a.normal[1] is b.normal[1]
    assert a.key[0] is b.key[0] == "nguyen"
