"""Text rules for what atqb sends to QuickBooks: characters, names, limits and collisions.

QuickBooks Desktop stores text in a single-byte code page and its qbXML parser rejects raw
non-ASCII bytes (reference/qbxml.md 9). atqb therefore:

* sends every non-ASCII character as a numeric character reference (``&#233;``). That happens
  when a request is serialised (:mod:`service.qbxml.build` writes US-ASCII); nothing here
  escapes anything, and nothing anywhere pre-escapes: lxml escapes markup exactly once.
* keeps only characters QuickBooks can store: tab, line feed, carriage return and the printable
  ISO-8859-1 (Latin-1) range. Everything else is replaced *predictably* and *reported*:

  ===========================================  ===============================================
  input                                        becomes
  ===========================================  ===============================================
  XML-illegal control characters (U+0000-      removed (reason ``"control"``)
  U+001F except tab/LF/CR, U+FFFE, U+FFFF,
  lone surrogates) and DEL (U+007F)
  C1 controls U+0080-U+009F                    read as the Windows-1252 byte they almost always
                                               are (text decoded as Latin-1 by mistake), then
                                               treated like that character: U+0092 → U+2019 → ``'``;
                                               the five bytes Windows-1252 leaves undefined are
                                               removed (reason ``"control"``)
  invisible format characters (zero-width      removed (reason ``"invisible"``)
  spaces and joiners, BOM, variation
  selectors, soft hyphen is kept: Latin-1)
  typographic punctuation outside Latin-1      the ASCII spelling in :data:`TRANSLITERATIONS`:
                                               curly quotes → straight quotes, dashes and minus
                                               → ``-``, ellipsis → ``...``, bullets → ``*``,
                                               € → ``EUR``, exotic spaces → space, ...
  other characters with a compatibility or     that form when it is Latin-1 (``ﬁ`` → ``fi``,
  accent-free form in Latin-1                  ``™`` → ``TM``, ``Ő`` → ``O``, ``ž`` → ``z``,
                                               full-width U+FF21 → ``A``)
  anything else (emoji, CJK, ...)              ``?`` (reason ``"unsupported"``), one per
                                               character, as QuickBooks itself would store it
  ===========================================  ===============================================

  Text is NFC-normalised first, so a letter followed by a combining accent that has a
  precomposed Latin-1 form (``e`` + U+0301 → ``é``) is kept as that letter.

List names (vendors, customers, items) follow further rules, as Autotask's own QuickBooks
extension applies them (reference/autotask.md 10.3): tabs and line breaks become spaces,
leading and trailing spaces are dropped, a colon, which QuickBooks reads as the separator
of ``Parent:Child`` (reference/qbxml.md 8.2), becomes :data:`COLON_REPLACEMENT` (``-``), and
the name is cut to its limit (items 31, vendors and customers 41). Autotask writes a sub-item
as ``Parent~Child``: :func:`item_full_name` turns that into QuickBooks' ``Parent:Child``, each
level a list name of its own. Reference numbers keep colons and are cut to their limit (PO 11).

Cutting and replacing can make two different source names one QuickBooks name. QuickBooks
compares names without regard to case, so :func:`find_collisions` compares :func:`name_key` values
and reports every such group instead of letting them merge silently.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Hashable, Iterable, Mapping
from dataclasses import dataclass
from typing import Generic, Literal, TypeVar

#: Why a character was changed. ``truncated`` marks the tail cut off to fit a length limit.
Reason = Literal[
    "control", "invisible", "transliterated", "unsupported", "whitespace", "colon", "truncated"
]

#: Length limits QuickBooks applies (reference/qbxml.md 8.1).
ITEM_NAME_MAX = 31
VENDOR_NAME_MAX = 41
CUSTOMER_NAME_MAX = 41
PO_REF_NUMBER_MAX = 11
RECEIPT_REF_NUMBER_MAX = 20
ADJUSTMENT_REF_NUMBER_MAX = 11

#: What a colon in a list name becomes (a colon would make QuickBooks look for a parent).
COLON_REPLACEMENT = "-"
#: What a character QuickBooks cannot store, and that has no transliteration, becomes.
UNSUPPORTED_REPLACEMENT = "?"

#: Explicit ASCII spellings of common characters outside Latin-1 (checked before Unicode
#: compatibility forms, which would give e.g. nothing useful for curly quotes).
TRANSLITERATIONS: dict[str, str] = {
    **dict.fromkeys("\u2018\u2019\u201a\u201b\u2032\u2035\u02bc\u02b9", "'"),
    **dict.fromkeys("\u201c\u201d\u201e\u201f\u2033\u2036", '"'),
    **dict.fromkeys("\u2010\u2011\u2012\u2013\u2014\u2015\u2212\u2043\ufe58\ufe63", "-"),
    **dict.fromkeys("\u2022\u2023\u2219\u25cf\u25e6", "*"),
    "\u2026": "...",
    "\u2039": "<",
    "\u203a": ">",
    "\u02c6": "^",
    "\u02dc": "~",
    "\u2044": "/",
    "\u20ac": "EUR",
    "\u0152": "OE",
    "\u0153": "oe",
    "\u0141": "L",
    "\u0142": "l",
    "\u0110": "D",
    "\u0111": "d",
    "\u0131": "i",
    "\u2028": "\n",
    "\u2029": "\n",
}

#: Characters that render as nothing; dropped rather than turned into ``?``.
_INVISIBLE = frozenset(
    "\u200b\u200c\u200d\u200e\u200f\u2060\u2061\u2062\u2063\u2064\ufeff\u180e"
    "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
) | frozenset(chr(c) for c in range(0xFE00, 0xFE10))

# Everything QuickBooks stores as is: tab, LF, CR, printable ASCII and printable Latin-1.
_NEEDS_WORK = re.compile(r"[^\t\n\r\x20-\x7e\xa0-\xff]")
_NAME_WHITESPACE = re.compile(r"[\t\n\r]")


@dataclass(frozen=True, slots=True)
class Replacement:
    """One change made to a text before it went to QuickBooks.

    ``index`` is the position in the text as given (after NFC normalisation); ``field`` names
    the qbXML element (``"PurchaseOrderAdd/PurchaseOrderLineAdd[2]/Desc"``) when a request
    builder made the change, and is empty when a text function was called directly.
    """

    index: int
    original: str
    replacement: str
    reason: Reason
    field: str = ""

    def describe(self) -> str:
        """A short operator-facing sentence, e.g. ``'“' became '"' (transliterated)``."""
        where = f"{self.field}: " if self.field else ""
        if self.reason == "truncated":
            return f"{where}cut {self.original!r} to fit the length limit"
        if not self.replacement:
            return f"{where}removed {self.original!r} ({self.reason})"
        return f"{where}{self.original!r} became {self.replacement!r} ({self.reason})"


@dataclass(frozen=True, slots=True)
class CleanText:
    """A text as QuickBooks will store it, and what was changed to get there."""

    text: str
    replacements: tuple[Replacement, ...] = ()

    @property
    def changed(self) -> bool:
        """True when the text sent differs from the text given."""
        return bool(self.replacements)


def _latin1_printable(text: str) -> bool:
    return bool(text) and _NEEDS_WORK.search(text) is None and "\n" not in text


def _substitute(char: str) -> tuple[str, Reason]:
    """The replacement for one character outside what QuickBooks stores, and why."""
    code = ord(char)
    if code < 0x20 or code == 0x7F or 0xD800 <= code <= 0xDFFF or code in (0xFFFE, 0xFFFF):
        return "", "control"
    if 0x80 <= code <= 0x9F:
        try:
            char = bytes([code]).decode("cp1252")
        except UnicodeDecodeError:
            return "", "control"
        if _latin1_printable(char):
            return char, "transliterated"
        code = ord(char)
    if char in _INVISIBLE:
        return "", "invisible"
    if char in TRANSLITERATIONS:
        return TRANSLITERATIONS[char], "transliterated"
    compat = unicodedata.normalize("NFKC", char)
    if compat in TRANSLITERATIONS:
        return TRANSLITERATIONS[compat], "transliterated"
    if _latin1_printable(compat):
        return compat, "transliterated"
    bare = "".join(c for c in unicodedata.normalize("NFKD", char) if not unicodedata.combining(c))
    bare = unicodedata.normalize("NFC", bare)
    if _latin1_printable(bare):
        return bare, "transliterated"
    return UNSUPPORTED_REPLACEMENT, "unsupported"


def needs_cleaning(value: str) -> bool:
    """True when ``value`` holds a character :func:`clean_text` would change."""
    return _NEEDS_WORK.search(value) is not None


def clean_text(value: str, *, field: str = "") -> CleanText:
    """Make ``value`` storable by QuickBooks (see the module docstring), reporting each change.

    Idempotent: cleaning a cleaned text changes nothing. Line breaks and tabs are kept.
    """
    if _NEEDS_WORK.search(value) is None:
        return CleanText(value)
    value = unicodedata.normalize("NFC", value)
    out: list[str] = []
    changes: list[Replacement] = []
    last = 0
    for match in _NEEDS_WORK.finditer(value):
        start = match.start()
        out.append(value[last:start])
        char = match.group()
        new, reason = _substitute(char)
        out.append(new)
        changes.append(Replacement(start, char, new, reason, field))
        last = start + 1
    out.append(value[last:])
    return CleanText("".join(out), tuple(changes))


def _truncate(text: str, limit: int, changes: list[Replacement], field: str) -> str:
    if len(text) <= limit:
        return text
    changes.append(Replacement(limit, text[limit:], "", "truncated", field))
    return text[:limit]


def fit_text(value: str, limit: int, *, field: str = "") -> CleanText:
    """Clean a descriptive text (memo, description) and cut it to ``limit`` characters."""
    cleaned = clean_text(value, field=field)
    changes = list(cleaned.replacements)
    text = _truncate(cleaned.text, limit, changes, field)
    return CleanText(text, tuple(changes))


def _single_line(text: str, changes: list[Replacement], field: str) -> str:
    """Tabs and line breaks become spaces; leading and trailing spaces go (names, numbers)."""
    if _NAME_WHITESPACE.search(text):
        for match in _NAME_WHITESPACE.finditer(text):
            changes.append(Replacement(match.start(), match.group(), " ", "whitespace", field))
        text = _NAME_WHITESPACE.sub(" ", text)
    stripped = text.strip(" ")
    if stripped != text:
        lead = len(text) - len(text.lstrip(" "))
        if lead:
            changes.append(Replacement(0, text[:lead], "", "whitespace", field))
        trail = len(text) - len(text.rstrip(" "))
        if trail:
            changes.append(Replacement(len(text) - trail, text[-trail:], "", "whitespace", field))
    return stripped


def normalize_name(value: str, *, field: str = "", colons: bool = True) -> CleanText:
    """Clean a name without cutting it: characters, whitespace and (with ``colons``) colons.

    Raises ``ValueError`` when nothing is left (an empty or all-control name).
    """
    cleaned = clean_text(value, field=field)
    changes = list(cleaned.replacements)
    text = _single_line(cleaned.text, changes, field)
    if colons and ":" in text:
        for index, char in enumerate(text):
            if char == ":":
                changes.append(Replacement(index, ":", COLON_REPLACEMENT, "colon", field))
        text = text.replace(":", COLON_REPLACEMENT)
    if not text:
        raise ValueError(f"{field or 'name'}: {value!r} is empty once cleaned for QuickBooks")
    return CleanText(text, tuple(changes))


def list_name(value: str, limit: int, *, field: str = "") -> CleanText:
    """The QuickBooks list name for ``value``: cleaned, colons replaced, cut to ``limit``.

    Raises ``ValueError`` when nothing is left.
    """
    return _cut_name(normalize_name(value, field=field, colons=True), limit, field)


def ref_number(value: str, limit: int, *, field: str = "") -> CleanText:
    """A transaction reference number: cleaned and cut to ``limit``; colons are kept."""
    return _cut_name(normalize_name(value, field=field, colons=False), limit, field)


def _cut_name(cleaned: CleanText, limit: int, field: str) -> CleanText:
    if len(cleaned.text) <= limit:
        return cleaned
    # A name cut just after a space would end in one; QuickBooks keeps no trailing spaces.
    text = cleaned.text[:limit].rstrip(" ")
    cut = Replacement(len(text), cleaned.text[len(text) :], "", "truncated", field)
    return CleanText(text, (*cleaned.replacements, cut))


def item_name(value: str) -> CleanText:
    """An item name as QuickBooks will store it (31 characters at most)."""
    return list_name(value, ITEM_NAME_MAX)


#: Autotask's sub-item separator in product names (reference/autotask.md 10.3, item 5).
SUBITEM_SEPARATOR = "~"
#: QuickBooks keeps items at most five levels deep (FullName 5 x 31 + 4 colons, qbxml.md 8.2).
ITEM_LEVELS_MAX = 5


def item_full_name(value: str, limit: int = ITEM_NAME_MAX) -> CleanText:
    """The QuickBooks FullName of an Autotask product name: each ``~``-separated part becomes
    one level of ``Parent:Sub-item`` (Autotask's extension converts the tilde to a colon), and
    each part is a list name of its own (cleaned, its colons replaced, cut to ``limit``).

    Raises ``ValueError`` for an empty part or more than :data:`ITEM_LEVELS_MAX` levels.
    """
    parts = value.split(SUBITEM_SEPARATOR)
    if len(parts) > ITEM_LEVELS_MAX:
        raise ValueError(
            f"{value!r} has {len(parts)} levels; QuickBooks items go {ITEM_LEVELS_MAX} deep"
        )
    cleaned = [list_name(part, limit) for part in parts]
    replacements = tuple(r for part in cleaned for r in part.replacements)
    return CleanText(":".join(part.text for part in cleaned), replacements)


def vendor_name(value: str) -> CleanText:
    """A vendor name as QuickBooks will store it (41 characters at most)."""
    return list_name(value, VENDOR_NAME_MAX)


def customer_name(value: str) -> CleanText:
    """A customer name as QuickBooks will store it (41 characters at most)."""
    return list_name(value, CUSTOMER_NAME_MAX)


def name_key(name: str) -> str:
    """The key under which QuickBooks considers two names equal (it ignores case).

    ``str.lower`` rather than ``casefold``: QuickBooks does not treat ``ß`` as ``ss``.
    """
    return name.lower()


K = TypeVar("K", bound=Hashable)


@dataclass(frozen=True, slots=True)
class Collision(Generic[K]):
    """Different source names that would become one QuickBooks name."""

    qb_name: str
    sources: tuple[tuple[K, str], ...]

    def describe(self) -> str:
        """An operator-facing sentence naming every source involved."""
        names = ", ".join(f"{source!r} ({name!r})" for source, name in self.sources)
        return f"{names} would all become the QuickBooks name {self.qb_name!r}"


@dataclass(frozen=True, slots=True)
class Rejected(Generic[K]):
    """A source name that cannot become a QuickBooks name at all."""

    source: K
    name: str
    reason: str


@dataclass(frozen=True, slots=True)
class NameMapping(Generic[K]):
    """The result of :func:`find_collisions`."""

    names: dict[K, CleanText]
    collisions: tuple[Collision[K], ...]
    rejected: tuple[Rejected[K], ...]

    def colliding_sources(self) -> set[K]:
        """Every source id that takes part in a collision."""
        return {source for collision in self.collisions for source, _ in collision.sources}


def find_collisions(
    pairs: Mapping[K, str] | Iterable[tuple[K, str]],
    limit: int,
    *,
    convert: Callable[[str, int], CleanText] = list_name,
) -> NameMapping[K]:
    """Convert many source names and report those that would merge in QuickBooks.

    ``pairs`` maps a source id (e.g. an Autotask product id) to its name. Each name goes through
    ``convert`` (:func:`list_name` by default, :func:`ref_number` for reference numbers) with
    ``limit``. Two sources collide when their *source names differ* yet their QuickBooks names
    are equal ignoring case; sources with the very same name are the same QuickBooks record
    on purpose (Autotask matches by name) and are not reported. Names that cannot be converted
    are listed in ``rejected``.
    """
    items = pairs.items() if isinstance(pairs, Mapping) else pairs
    names: dict[K, CleanText] = {}
    rejected: list[Rejected[K]] = []
    groups: dict[str, list[tuple[K, str]]] = {}
    for source, name in items:
        try:
            converted = convert(name, limit)
        except ValueError as exc:
            rejected.append(Rejected(source, name, str(exc)))
            continue
        names[source] = converted
        groups.setdefault(name_key(converted.text), []).append((source, name))
    collisions = tuple(
        Collision(names[members[0][0]].text, tuple(members))
        for members in groups.values()
        if len({name for _, name in members}) > 1
    )
    return NameMapping(names, collisions, tuple(rejected))


def summarize(replacements: Iterable[Replacement]) -> str:
    """One line for an operator: each distinct change with its count, in first-seen order."""
    counts: dict[tuple[str, str, str, str], int] = {}
    for r in replacements:
        key = (r.field, r.original if r.reason != "truncated" else "…", r.replacement, r.reason)
        counts[key] = counts.get(key, 0) + 1
    parts = []
    for (field, original, replacement, reason), count in counts.items():
        where = f"{field}: " if field else ""
        times = f" x{count}" if count > 1 else ""
        if reason == "truncated":
            parts.append(f"{where}cut to fit{times}")
        elif replacement:
            parts.append(f"{where}{original!r}→{replacement!r}{times}")
        else:
            parts.append(f"{where}removed {original!r}{times}")
    return "; ".join(parts)
