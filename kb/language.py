"""Words the way KB search compares them: folded, stemmed, per locale.

Both search backends and the snippets use these functions, so a word means
the same thing everywhere: "Garanţia", "garanția" and "garantie" all become
`garant`. Folding comes before stemming on both sides of the index, as
PostgreSQL's `unaccent` dictionary does before its Snowball stemmer (the
`kb_<locale>` text search configurations of kb/migrations/0003_search.py).
"""

from __future__ import annotations

import functools
import re
import unicodedata

import snowballstemmer

LANGUAGES = {"en": "english", "ro": "romanian", "ru": "russian"}

WORD = re.compile(r"\w+")

# Short lists of words too common to search for (a first message is a
# sentence, not keywords). PostgreSQL's english and russian configurations
# drop their own lists as well; these are what both backends drop from the query.
_STOP_WORDS = {
    "en": (
        "a about after an and are as at be been but by can could do does did for from had has"
        " have how i if in into is it its me my no not of on or our so than that the their them"
        " then there these they this to was we were what when where which who why will with"
        " would you your"
    ),
    "ro": (
        "a acest această al ale am ar are as au avea azi ca care ce cu cum da dacă de deci din"
        " după e el ea este eu fi fost în între la le lui mai mi mă ne nu o ori pe pentru poate"
        " prin sa să se si și sunt te tu un una unei unui va vă"
    ),
    "ru": (
        "а без бы был была были было в вам вас весь во вот все всё вы где да для до его ее её"
        " если есть еще ещё же за и из или им их к как когда ли мне мы на не нет ни но ну о об"
        " он она они оно от по при с со так также то тоже только у уже что чтобы это я"
    ),
}


def fold(text: str) -> str:
    """Lower case without Latin accents: ș/ş → s, ț/ţ → t, ă/â → a, î → i; ё → е.

    Cyrillic keeps й (a letter of its own, as `unaccent` keeps it).
    """
    decomposed = unicodedata.normalize("NFKD", text.lower())
    kept: list[str] = []
    for char in decomposed:
        if unicodedata.combining(char) and kept and ord(kept[-1]) < 0x250:
            continue
        kept.append(char)
    return unicodedata.normalize("NFC", "".join(kept)).replace("ё", "е")


# Folded, like the words they are compared with.
STOP_WORDS = {
    locale: frozenset(fold(word) for word in listed.split())
    for locale, listed in _STOP_WORDS.items()
}


@functools.cache
def _stemmer(locale: str):
    return snowballstemmer.stemmer(LANGUAGES.get(locale, "english"))


@functools.lru_cache(maxsize=50_000)
def stem(word: str, locale: str) -> str:
    """The stem of one folded word."""
    return _stemmer(locale).stemWord(word)


def words(text: str) -> list[str]:
    """The folded words of a text, in order."""
    return WORD.findall(fold(text))


def stems(text: str, locale: str) -> list[str]:
    return [stem(word, locale) for word in words(text)]


def query_stems(query: str, locale: str, *, limit: int = 10) -> list[str]:
    """The stems a query looks for: stop words dropped, each once, in order."""
    stop = STOP_WORDS.get(locale, frozenset())
    found: list[str] = []
    for word in words(query):
        if word in stop:
            continue
        stemmed = stem(word, locale)
        if stemmed and stemmed not in found:
            found.append(stemmed)
    return found[:limit]


# How alike a query word and a title word must be to count as a typo (trigram
# similarity, both backends): one wrong or missing letter in a word of six or more.
TYPO_SIMILARITY = 0.45


@functools.lru_cache(maxsize=100_000)
def trigrams(word: str) -> frozenset[str]:
    """pg_trgm's trigrams of one word: padded with two spaces before, one after."""
    padded = f"  {word} "
    return frozenset(padded[i : i + 3] for i in range(len(padded) - 2))


def similarity(left: str, right: str) -> float:
    """Shared trigrams over all trigrams of two words (pg_trgm's `similarity`)."""
    a, b = trigrams(left), trigrams(right)
    return len(a & b) / len(a | b) if a and b else 0.0
