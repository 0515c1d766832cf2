"""Vietnamese names, ethnicities and place words for synthetic registers, with noise.

Frequencies are rough figures for the South (Nam Bộ), where Tây Ninh lies: Nguyễn
about 38 %, Trần 11 %, Lê 9.5 %, Phạm 7 %, Huỳnh (the southern form of Hoàng) 5 %,
and Võ ahead of Vũ for the same reason. Middle names changed over time: "Văn" and
"Thị" dominate the older registers, while people born from about 1985 get more varied
ones (Minh, Hoàng, Ngọc, Gia, ...). Kinh are about 98 % of Tây Ninh's population; the
rest are mostly Khmer, Hoa and Chăm.

The noise functions imitate what clerks and old software do to names: tone marks
placed in the new style (hòa -> hoà), marks left out, đ typed as d, decomposed
Unicode, swapped or dropped letters, case changes. Data is module-level tuples;
tables are built when a :class:`NameGenerator` is made, never at import.
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_right
from collections.abc import Callable, Iterable, Sequence
from typing import Final, Generic, TypeVar

from hotich_contracts.text import fold_diacritics

__all__ = [
    "COUNTRIES",
    "ETHNICITIES",
    "FAMILY_NAMES",
    "FEMALE_GIVEN_NAMES",
    "MALE_GIVEN_NAMES",
    "NameGenerator",
    "WeightedTable",
    "diacritic_variant",
    "drop_middle_name",
    "new_style_tone_marks",
    "tone_marks_present",
    "typo",
]

T = TypeVar("T")

# -- data -------------------------------------------------------------------------------

FAMILY_NAMES: Final[tuple[tuple[str, float], ...]] = (
    ("Nguyễn", 38.0),
    ("Trần", 11.0),
    ("Lê", 9.5),
    ("Phạm", 7.0),
    ("Huỳnh", 4.2),
    ("Hoàng", 0.9),
    ("Phan", 4.0),
    ("Võ", 3.6),
    ("Vũ", 0.6),
    ("Đặng", 2.0),
    ("Bùi", 1.8),
    ("Đỗ", 1.4),
    ("Hồ", 1.4),
    ("Ngô", 1.3),
    ("Dương", 1.0),
    ("Lý", 0.6),
    ("Trương", 1.3),
    ("Đinh", 0.6),
    ("Lâm", 0.7),
    ("Mai", 0.5),
    ("Đoàn", 0.6),
    ("Châu", 0.5),
    ("Cao", 0.5),
    ("Lương", 0.4),
    ("Tô", 0.3),
    ("Thái", 0.3),
    ("Lưu", 0.3),
    ("Hà", 0.3),
    ("Tạ", 0.3),
    ("Quách", 0.2),
    ("Kiều", 0.1),
    ("Từ", 0.2),
    ("La", 0.2),
    ("Tăng", 0.1),
    ("Triệu", 0.2),
    ("Khưu", 0.1),
)
"""Kinh family names (họ) with relative frequencies (Southern Viet Nam)."""

MALE_MIDDLE_OLD: Final[tuple[tuple[str, float], ...]] = (
    ("Văn", 72.0),
    ("Hữu", 6.0),
    ("Thanh", 5.0),
    ("Tấn", 4.0),
    ("Minh", 4.0),
    ("Công", 3.0),
    ("Ngọc", 2.0),
    ("Đức", 2.0),
    ("Quốc", 2.0),
    ("Phước", 1.0),
    ("Hoàng", 1.0),
)
"""Male middle names (chữ đệm) of people born before about 1985."""

MALE_MIDDLE_NEW: Final[tuple[tuple[str, float], ...]] = (
    ("Văn", 28.0),
    ("Minh", 12.0),
    ("Hoàng", 8.0),
    ("Quốc", 7.0),
    ("Gia", 6.0),
    ("Thanh", 6.0),
    ("Tấn", 5.0),
    ("Hữu", 4.0),
    ("Đức", 4.0),
    ("Anh", 4.0),
    ("Công", 3.0),
    ("Trọng", 3.0),
    ("Nhật", 3.0),
    ("Bảo", 3.0),
    ("Thành", 2.0),
    ("Tuấn", 2.0),
)
"""Male middle names of people born from about 1985."""

FEMALE_MIDDLE_OLD: Final[tuple[tuple[str, float], ...]] = (
    ("Thị", 86.0),
    ("Ngọc", 4.0),
    ("Thanh", 3.0),
    ("Kim", 3.0),
    ("Mỹ", 2.0),
    ("Thu", 1.5),
    ("Bích", 1.0),
)
"""Female middle names of people born before about 1985."""

FEMALE_MIDDLE_NEW: Final[tuple[tuple[str, float], ...]] = (
    ("Thị", 40.0),
    ("Ngọc", 10.0),
    ("Thanh", 6.0),
    ("Kim", 5.0),
    ("Mỹ", 5.0),
    ("Thu", 4.0),
    ("Bảo", 4.0),
    ("Khánh", 3.0),
    ("Minh", 3.0),
    ("Phương", 3.0),
    ("Hoàng", 2.0),
    ("Thùy", 2.0),
    ("Quỳnh", 2.0),
    ("Yến", 1.0),
)
"""Female middle names of people born from about 1985."""

FEMALE_SECOND_MIDDLE: Final[tuple[tuple[str, float], ...]] = (
    ("Ngọc", 4.0),
    ("Kim", 3.0),
    ("Mỹ", 3.0),
    ("Thanh", 2.0),
    ("Thu", 2.0),
    ("Bích", 1.0),
    ("Diễm", 1.0),
    ("Hồng", 1.0),
)
"""Second middle name after "Thị" (Nguyễn Thị Ngọc Hân)."""

MALE_GIVEN_NAMES: Final[tuple[tuple[str, float], ...]] = (
    ("Hùng", 4.0),
    ("Dũng", 3.5),
    ("Tuấn", 3.5),
    ("Minh", 3.0),
    ("Hải", 3.0),
    ("Nam", 3.0),
    ("Phúc", 3.0),
    ("Long", 3.0),
    ("Thành", 3.0),
    ("Tâm", 3.0),
    ("Tài", 2.5),
    ("Lộc", 2.5),
    ("Phước", 2.5),
    ("Hòa", 2.5),
    ("Sang", 2.0),
    ("Tùng", 2.0),
    ("Vinh", 2.0),
    ("Hiếu", 2.0),
    ("Nghĩa", 2.0),
    ("Trung", 2.0),
    ("Quang", 2.0),
    ("Khoa", 2.0),
    ("Đạt", 2.0),
    ("Thắng", 2.0),
    ("Sơn", 2.0),
    ("Bình", 2.0),
    ("Hậu", 1.5),
    ("Tú", 1.5),
    ("Toàn", 1.5),
    ("Duy", 1.5),
    ("Thịnh", 1.5),
    ("Khang", 1.5),
    ("Kiệt", 1.5),
    ("Nhân", 1.5),
    ("Trí", 1.5),
    ("Tín", 1.5),
    ("Lâm", 1.0),
    ("Phong", 1.5),
    ("Cường", 1.5),
    ("Hưng", 1.5),
    ("Lợi", 1.5),
    ("Đông", 1.0),
    ("Huy", 2.0),
    ("Khôi", 1.5),
    ("Bảo", 1.5),
    ("Thuận", 1.0),
    ("Tám", 0.8),
    ("Sáu", 0.6),
    ("Út", 0.6),
    ("Mến", 0.4),
    ("Thủy", 0.3),
    ("Thụy", 0.3),
    ("Quý", 0.8),
    ("An", 1.5),
    ("Hoàng", 1.0),
    ("Đức", 1.0),
    ("Đăng", 0.8),
)
"""Male given names (tên)."""

FEMALE_GIVEN_NAMES: Final[tuple[tuple[str, float], ...]] = (
    ("Lan", 3.0),
    ("Hoa", 3.0),
    ("Hương", 3.0),
    ("Hồng", 2.5),
    ("Mai", 3.0),
    ("Thảo", 3.0),
    ("Trang", 3.0),
    ("Linh", 3.0),
    ("Ngọc", 2.5),
    ("Nhung", 2.0),
    ("Thủy", 2.5),
    ("Thúy", 2.5),
    ("Hòa", 2.0),
    ("Loan", 2.0),
    ("Phương", 2.5),
    ("Nga", 2.0),
    ("Hạnh", 2.0),
    ("Yến", 2.0),
    ("Vy", 2.0),
    ("Anh", 2.5),
    ("Hân", 2.0),
    ("My", 2.0),
    ("Trâm", 2.0),
    ("Tuyết", 2.0),
    ("Xuân", 1.5),
    ("Dung", 2.0),
    ("Hằng", 2.0),
    ("Diễm", 1.5),
    ("Ly", 1.5),
    ("Oanh", 1.5),
    ("Uyên", 1.5),
    ("Nhi", 2.0),
    ("Quyên", 1.0),
    ("Giang", 1.5),
    ("Huyền", 1.5),
    ("Thoa", 1.0),
    ("Bích", 1.0),
    ("Thùy", 1.5),
    ("Duyên", 1.5),
    ("Tiên", 1.5),
    ("Vân", 1.5),
    ("Liên", 1.5),
    ("Nguyệt", 1.0),
    ("Đào", 1.0),
    ("Cúc", 0.8),
    ("Hóa", 0.4),
    ("Khoa", 0.2),
    ("Thùy Linh", 0.6),
    ("Thủy Tiên", 0.6),
    ("Bảo Ngọc", 0.6),
    ("Kim Ngân", 0.5),
)
"""Female given names (tên), a few of two syllables."""

MALE_TWO_SYLLABLE_GIVEN: Final[tuple[tuple[str, float], ...]] = (
    ("Gia Huy", 1.0),
    ("Minh Khôi", 1.0),
    ("Anh Tuấn", 1.0),
    ("Quốc Bảo", 1.0),
    ("Thanh Tâm", 0.8),
    ("Hoàng Phúc", 0.8),
)
"""Two-syllable male given names, used without a middle name for younger people."""

ETHNICITIES: Final[tuple[tuple[str, float], ...]] = (
    ("Kinh", 98.0),
    ("Khmer", 0.5),
    ("Khơ Me", 0.3),
    ("Hoa", 0.6),
    ("Chăm", 0.3),
    ("Tày", 0.07),
    ("Mường", 0.06),
    ("Nùng", 0.04),
    ("Thái", 0.03),
    ("Xtiêng", 0.05),
    ("Ê Đê", 0.02),
)
"""Ethnicities (dân tộc) as written in Tây Ninh registers, with frequencies.

Khmer appears both as "Khmer" and as "Khơ Me" (the official list's spelling).
"""

KHMER_FAMILY_NAMES: Final[tuple[str, ...]] = (
    "Thạch",
    "Danh",
    "Sơn",
    "Kim",
    "Lâm",
    "Chau",
)
KHMER_GIVEN_MALE: Final[tuple[str, ...]] = (
    "Sóc",
    "Phol",
    "Sa Rây",
    "Chanh Đa",
    "Sô Phanh",
    "Thươl",
    "Rươl",
    "Sa Vân",
)
KHMER_GIVEN_FEMALE: Final[tuple[str, ...]] = (
    "Sa Rên",
    "Sà Ri",
    "Sô Phia",
    "Sa Mây",
    "Chanh Thy",
    "Ka Ni",
    "Sô Kha",
)
CHAM_FAMILY_NAMES: Final[tuple[str, ...]] = ("Mohamad", "Sa", "Ma", "Ka", "Ly", "Ha", "Y")
CHAM_GIVEN_MALE: Final[tuple[str, ...]] = ("Sa Ly", "Ro Man", "Ha Sanh", "Ali", "Yu Sup", "Mu Sa")
CHAM_GIVEN_FEMALE: Final[tuple[str, ...]] = ("Ma Ry", "Sa Ri Da", "Ka Ri Ma", "Fa Ti Ma", "Ha Wa")
HOA_FAMILY_NAMES: Final[tuple[str, ...]] = (
    "Lý",
    "Trương",
    "Quách",
    "Lâm",
    "Mã",
    "Tăng",
    "Diệp",
    "Hứa",
    "Lưu",
    "Huỳnh",
    "Trần",
)
HOA_MIDDLE_MALE: Final[tuple[str, ...]] = ("Chí", "Quốc", "Gia", "Vĩnh", "Kiến", "Văn")
HOA_MIDDLE_FEMALE: Final[tuple[str, ...]] = ("Mỹ", "Huệ", "Ngọc", "Lệ", "Tú", "Thị")

COUNTRIES: Final[tuple[tuple[str, float], ...]] = (
    ("Campuchia", 30.0),
    ("Đài Loan (Trung Quốc)", 28.0),
    ("Hàn Quốc", 22.0),
    ("Trung Quốc", 6.0),
    ("Hoa Kỳ", 6.0),
    ("Nhật Bản", 3.0),
    ("Úc", 3.0),
    ("Pháp", 2.0),
)
"""Nationalities of foreign spouses as written, with frequencies (Tây Ninh borders Cambodia)."""

_FOREIGN_NAMES: Final[dict[str, tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...], str]]] = {
    # country: (family names, male given, female given, order "family-first"/"given-first")
    "Campuchia": (
        ("Sok", "Chea", "Heng", "Kim", "Lim", "Meas", "Prum", "Sam", "Chhay", "Touch"),
        ("Chanthy", "Sophal", "Dara", "Sokha", "Vanna", "Rithy", "Piseth", "Visal"),
        ("Bopha", "Sreyleak", "Pisey", "Sophea", "Channary", "Sreymom", "Kunthea"),
        "family-first",
    ),
    "Đài Loan (Trung Quốc)": (
        ("Chen", "Lin", "Huang", "Chang", "Lee", "Wang", "Wu", "Liu", "Tsai", "Yang"),
        ("Chih-Ming", "Wei-Lun", "Chun-Hung", "Kuo-Hua", "Chien-Hung", "Ming-Te"),
        ("Mei-Ling", "Shu-Fen", "Ya-Ting", "Hui-Chen", "Pei-Shan"),
        "family-first",
    ),
    "Hàn Quốc": (
        ("Kim", "Lee", "Park", "Choi", "Jung", "Kang", "Cho", "Yoon", "Jang"),
        ("Min-jun", "Ji-hoon", "Sung-ho", "Dong-hyun", "Young-soo", "Jae-won"),
        ("Ji-yeon", "Soo-jin", "Eun-ji", "Hye-won", "Min-seo"),
        "family-first",
    ),
    "Trung Quốc": (
        ("Chen", "Li", "Zhang", "Wang", "Liu", "Zhao"),
        ("Wei", "Jun", "Qiang", "Lei", "Gang"),
        ("Fang", "Li Na", "Xiu Ying", "Mei"),
        "family-first",
    ),
    "Nhật Bản": (
        ("Sato", "Suzuki", "Takahashi", "Tanaka", "Watanabe"),
        ("Hiroshi", "Takeshi", "Kenji", "Daisuke"),
        ("Yuko", "Keiko", "Akiko", "Naomi"),
        "given-first",
    ),
}
_WESTERN_FAMILY: Final = ("Smith", "Johnson", "Nguyen", "Tran", "Martin", "Brown", "Dubois")
_WESTERN_MALE: Final = ("John", "David", "Michael", "Peter", "Thomas", "Kevin", "Paul")
_WESTERN_FEMALE: Final = ("Mary", "Anna", "Linda", "Sarah", "Julie", "Lisa")

HAMLET_NAMES: Final[tuple[str, ...]] = (
    "Trường Lưu",
    "Long Mỹ",
    "Bình Lợi",
    "Thạnh Hiệp",
    "Tân Định",
    "Phước Hội",
    "An Lợi",
    "Hòa Bình",
    "Bàu Sen",
    "Trâm Vàng",
    "Cây Xoài",
    "Suối Ngô",
    "Tân Lộc",
    "Bình Phong",
    "Long Tân",
    "Chánh",
    "Thuận Lợi",
    "Rạch Sơn",
    "Lộc Trung",
    "Ninh Trung",
    "Hiệp Hòa",
    "Bến Kéo",
    "Gò Chai",
    "Xóm Mới",
)
"""Hamlet (ấp) names used to build addresses; communes also use numbered hamlets."""

OTHER_PROVINCES: Final[tuple[tuple[str, float], ...]] = (
    ("Long An", 4.0),
    ("TP. Hồ Chí Minh", 4.0),
    ("Bình Dương", 2.0),
    ("Bình Phước", 1.5),
    ("Đồng Nai", 1.0),
    ("Thái Bình", 1.5),
    ("Nam Định", 1.5),
    ("Thanh Hóa", 1.0),
    ("Nghệ An", 1.0),
    ("Quảng Ngãi", 1.5),
    ("Bình Định", 1.5),
    ("Quảng Nam", 1.0),
    ("Tiền Giang", 1.0),
    ("Bến Tre", 1.0),
    ("An Giang", 0.8),
)
"""Provinces people in Tây Ninh come from (quê quán), as written."""

# -- weighted choice --------------------------------------------------------------------


class WeightedTable(Generic[T]):
    """Items with relative weights; :meth:`pick` maps a uniform number to an item.

    Picking costs one bisection, so generating a million names stays cheap. The
    uniform number comes from the caller's seeded RNG, which keeps runs reproducible.
    """

    __slots__ = ("_cum", "_total", "items")

    def __init__(self, pairs: Iterable[tuple[T, float]]) -> None:
        """Build the table; items with a weight of zero or less are left out.

        Raises:
            ValueError: No item has a positive weight.
        """
        items: list[T] = []
        cum: list[float] = []
        total = 0.0
        for item, weight in pairs:
            if weight <= 0:
                continue
            total += weight
            items.append(item)
            cum.append(total)
        if not items:
            raise ValueError("a weighted table needs at least one positive weight")
        # The last bound is infinite so that rounding can never pick past the end.
        cum[-1] = float("inf")
        self.items: tuple[T, ...] = tuple(items)
        self._cum = cum
        self._total = total

    def pick(self, u: float) -> T:
        """Return the item for a uniform number ``u`` in [0, 1)."""
        return self.items[bisect_right(self._cum, u * self._total)]


def _nfc_table(pairs: Iterable[tuple[str, float]]) -> WeightedTable[str]:
    return WeightedTable((unicodedata.normalize("NFC", name), w) for name, w in pairs)


def _nfc_tuple(names: Sequence[str]) -> tuple[str, ...]:
    return tuple(unicodedata.normalize("NFC", n) for n in names)


# -- names ------------------------------------------------------------------------------


class NameGenerator:
    """Builds full names (họ, chữ đệm, tên) by sex, birth year and ethnicity.

    Args:
        random: a ``random.Random().random`` bound method (uniform in [0, 1)).
    """

    NEW_STYLE_FROM: Final = 1985
    """People born from this year get the newer, more varied middle names."""

    def __init__(self, random: Callable[[], float]) -> None:
        self._random = random
        self.family = _nfc_table(FAMILY_NAMES)
        self._male_middle_old = _nfc_table(MALE_MIDDLE_OLD)
        self._male_middle_new = _nfc_table(MALE_MIDDLE_NEW)
        self._female_middle_old = _nfc_table(FEMALE_MIDDLE_OLD)
        self._female_middle_new = _nfc_table(FEMALE_MIDDLE_NEW)
        self._female_second = _nfc_table(FEMALE_SECOND_MIDDLE)
        self._male_given = _nfc_table(MALE_GIVEN_NAMES)
        self._female_given = _nfc_table(FEMALE_GIVEN_NAMES)
        self._male_two = _nfc_table(MALE_TWO_SYLLABLE_GIVEN)
        self.ethnicity = _nfc_table(ETHNICITIES)
        self.country = _nfc_table(COUNTRIES)
        self.province = _nfc_table(OTHER_PROVINCES)
        self._khmer = (
            _nfc_tuple(KHMER_FAMILY_NAMES),
            _nfc_tuple(KHMER_GIVEN_MALE),
            _nfc_tuple(KHMER_GIVEN_FEMALE),
        )
        self._cham = (
            _nfc_tuple(CHAM_FAMILY_NAMES),
            _nfc_tuple(CHAM_GIVEN_MALE),
            _nfc_tuple(CHAM_GIVEN_FEMALE),
        )
        self._hoa = (
            _nfc_tuple(HOA_FAMILY_NAMES),
            _nfc_tuple(HOA_MIDDLE_MALE),
            _nfc_tuple(HOA_MIDDLE_FEMALE),
        )
        self._foreign = {
            unicodedata.normalize("NFC", country): (
                _nfc_tuple(fam),
                _nfc_tuple(male),
                _nfc_tuple(female),
                order,
            )
            for country, (fam, male, female, order) in _FOREIGN_NAMES.items()
        }

    def _one(self, options: tuple[str, ...]) -> str:
        return options[int(self._random() * len(options))]

    def family_name(self, ethnicity: str = "Kinh") -> str:
        """Return a family name (họ) typical of the ethnicity."""
        if ethnicity in ("Khmer", "Khơ Me"):
            return self._one(self._khmer[0])
        if ethnicity == "Chăm":
            return self._one(self._cham[0])
        if ethnicity == "Hoa":
            return self._one(self._hoa[0])
        return self.family.pick(self._random())

    def full_name(
        self, male: bool, birth_year: int, ethnicity: str = "Kinh", family: str | None = None
    ) -> str:
        """Return a full name as a register would write it.

        Args:
            male: the person's sex (True for male).
            birth_year: older people get the older middle names.
            ethnicity: Khmer, Chăm and Hoa names follow their own patterns.
            family: the family name to use (a child takes the father's), or None.
        """
        rnd = self._random
        if ethnicity in ("Khmer", "Khơ Me"):
            fam = family or self._one(self._khmer[0])
            given = self._one(self._khmer[1] if male else self._khmer[2])
            if not male and rnd() < 0.6:
                return f"{fam} Thị {given}"
            return f"{fam} {given}"
        if ethnicity == "Chăm":
            fam = family or self._one(self._cham[0])
            return f"{fam} {self._one(self._cham[1] if male else self._cham[2])}"
        if ethnicity == "Hoa":
            fam = family or self._one(self._hoa[0])
            middle = self._one(self._hoa[1] if male else self._hoa[2])
            given = (self._male_given if male else self._female_given).pick(rnd())
            return f"{fam} {middle} {given}"
        fam = family or self.family.pick(rnd())
        new_style = birth_year >= self.NEW_STYLE_FROM
        if male:
            if new_style and rnd() < 0.08:
                return f"{fam} {self._male_two.pick(rnd())}"
            middle = (self._male_middle_new if new_style else self._male_middle_old).pick(rnd())
            return f"{fam} {middle} {self._male_given.pick(rnd())}"
        given = self._female_given.pick(rnd())
        if " " in given:
            # Two-syllable given names go with "Thị" or with no middle name at all.
            return f"{fam} Thị {given}" if rnd() < 0.4 else f"{fam} {given}"
        middle = (self._female_middle_new if new_style else self._female_middle_old).pick(rnd())
        if middle == "Thị" and new_style and rnd() < 0.15:
            middle = f"Thị {self._female_second.pick(rnd())}"
        return f"{fam} {middle} {given}"

    def foreign_name(self, country: str, male: bool) -> str:
        """Return a foreign spouse's name as written in Vietnamese registers."""
        spec = self._foreign.get(country)
        if spec is None:
            family = self._one(_WESTERN_FAMILY)
            given = self._one(_WESTERN_MALE if male else _WESTERN_FEMALE)
            return f"{given} {family}".upper() if self._random() < 0.3 else f"{given} {family}"
        families, males, females, order = spec
        family = self._one(families)
        given = self._one(males if male else females)
        return f"{given} {family}" if order == "given-first" else f"{family} {given}"


# -- noise ------------------------------------------------------------------------------

_TONE_MARKS: Final = "\u0300\u0301\u0303\u0309\u0323"

_OLD_STYLE_SYLLABLE: Final = re.compile(
    r"^((?:ngh|ng|nh|ch|gh|kh|ph|th|tr|[bcdđghklmnprstvx])?)"
    r"([ou])([\u0300\u0301\u0303\u0309\u0323])([aey])$",
    re.IGNORECASE,
)
"""An open oa/oe/uy syllable with the tone on its first vowel (hòa, khỏe, thúy), NFD.

No "qu" or "gi" initial: there the u/i belongs to the initial and both styles agree.
"""

_VALID_PAIRS: Final = frozenset({("o", "a"), ("o", "e"), ("u", "y")})


def _new_style_word(word: str) -> str:
    decomposed = unicodedata.normalize("NFD", word)
    match = _OLD_STYLE_SYLLABLE.match(decomposed)
    if match is None:
        return word
    initial, first, tone, second = match.groups()
    if (first.lower(), second.lower()) not in _VALID_PAIRS:
        return word
    return unicodedata.normalize("NFC", f"{initial}{first}{second}{tone}")


def new_style_tone_marks(name: str) -> str:
    """Return the name with tone marks in the new style (Hòa -> Hoà, Thúy -> Thuý).

    Names without an open oa/oe/uy syllable come back unchanged.
    """
    return " ".join(_new_style_word(word) for word in name.split(" "))


def diacritic_variant(name: str, u: float, v: float) -> tuple[str, str]:
    """Return a diacritic variant of a name and what was done to it.

    Variants: new-style tone placement (hoà), one word or the whole name without
    marks, đ typed as d, decomposed (NFD) text as some input tools send it.

    Args:
        name: the name as written (NFC).
        u: uniform number choosing the variant.
        v: uniform number choosing the word, where one is chosen.

    Returns:
        ``(variant, how)``; ``how`` is ``tone_placement``, ``marks_dropped``,
        ``d_for_dd`` or ``decomposed``. The variant always differs from ``name`` in
        its code points, though NFC may fold a decomposed variant back to it.
    """
    newer = new_style_tone_marks(name)
    if newer != name and u < 0.45:
        return newer, "tone_placement"
    words = name.split(" ")
    if u < 0.65 and ("đ" in name or "Đ" in name):
        return name.replace("đ", "d").replace("Đ", "D"), "d_for_dd"
    if u < 0.85:
        marked = [i for i, w in enumerate(words) if fold_diacritics(w) != w]
        if marked:
            if v < 0.5:
                index = marked[int(v * 2 * len(marked)) % len(marked)]
                words[index] = fold_diacritics(words[index])
                return " ".join(words), "marks_dropped"
            return fold_diacritics(name), "marks_dropped"
    decomposed = unicodedata.normalize("NFD", name)
    if decomposed != name:
        return decomposed, "decomposed"
    # A name with no marks at all (foreign names): the only variant left is the case.
    return name.upper() if name != name.upper() else name.lower(), "case"


def typo(name: str, u: float, v: float) -> str:
    """Return the name with one keying slip: swapped, dropped or doubled letter, case, spaces.

    Args:
        name: the name as written.
        u: uniform number choosing the kind of slip.
        v: uniform number choosing where.

    Returns:
        A different, non-empty string.
    """
    words = name.split(" ")
    long_words = [i for i, w in enumerate(words) if len(w) >= 3]
    if long_words and u < 0.6:
        index = long_words[int(v * len(long_words)) % len(long_words)]
        word = words[index]
        pos = 1 + int(v * 7919) % (len(word) - 2)
        # Not next to a hyphen (Sung-ho, Kuo-Hua): readers split the word there, and
        # the slip would change the first letter of a part or join two parts.
        if "-" not in word[pos - 1 : pos + 2]:
            if u < 0.25 and word[pos] != word[pos + 1]:
                word = word[:pos] + word[pos + 1] + word[pos] + word[pos + 2 :]
            elif u < 0.45:
                word = word[:pos] + word[pos + 1 :]
            else:
                word = word[:pos] + word[pos] + word[pos:]
            words[index] = word
            result = " ".join(words)
            if result != name:
                return result
    if u < 0.8 and len(words) > 1:
        index = 1 + int(v * (len(words) - 1)) % (len(words) - 1)
        return " ".join(words[:index]) + "  " + " ".join(words[index:])
    upper = name.upper()
    return upper if upper != name else name.lower() + "."


def drop_middle_name(name: str) -> str | None:
    """Return the name without its middle name(s) (Nguyễn Thị Lan -> Nguyễn Lan), or None.

    Registers and people often leave out Văn/Thị; None when the name has no middle.
    """
    words = name.split(" ")
    if len(words) < 3:
        return None
    return f"{words[0]} {words[-1]}"


def tone_marks_present(text: str) -> bool:
    """Whether the text carries any Vietnamese tone mark (used by tests)."""
    return any(ch in _TONE_MARKS for ch in unicodedata.normalize("NFD", text))
