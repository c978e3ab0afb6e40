"""Query text -> validated text and phrases.

A phrase is a run of content words between separators ("a harbor with many boats next to a beach" ->
["harbor", "boats", "beach"]); determiners and quantifiers ("a", "many", "some") are dropped because the
label system has no concept for them. The whole query is kept as one more phrase when it has several, so
that a multi-word concept name that spans a separator ("mine, dump and construction sites") still matches.
"""

from __future__ import annotations

import re
import unicodedata

from rskg.errors import ValidationError

MAX_QUERY_CHARS = 500
MAX_PHRASES = 12

# words that join or relate phrases: they end one phrase and start the next
_SEPARATORS = (
    "next to", "close to", "near to", "in front of", "on top of", "surrounded by", "along with", "as well as",
    "beside", "besides", "near", "with", "and", "or", "among", "amongst", "between", "along", "around", "by",
    "beneath", "under", "over", "above", "across", "through", "in", "on", "at", "of", "from", "into", "onto",
    "within", "without", "lined", "plus", "nearby", "adjacent", "behind", "where", "which", "that", "while",
)
_SEP_RE = re.compile(r"[,;:.!?()\[\]{}\"/|+&]|\b(?:" + "|".join(re.escape(s) for s in _SEPARATORS) + r")\b",
                     re.IGNORECASE)
# words that carry no concept (articles, quantifiers, copulas, image talk)
STOPWORDS = frozenset("""
a an the some many several few plenty numerous multiple much more most other another any all each every one
two three four five six seven eight nine ten dozens hundreds various its their this these those there here
lots is are was were be been being it they which that who has have having show shows showing shown image
images photo picture scene scenes view area areas place places piece pieces kind sort type part parts looking
like very quite rather whole large small big little huge tiny long wide narrow dense densely sparse sparsely
""".split())  # noqa: SIM905
# adjectives kept on purpose (they change the concept: "dense residential", "sparse forest")
KEEP_ADJECTIVES = frozenset({"dense", "sparse", "medium"})
_WORD_RE = re.compile(r"[^\W\d_][\w'-]*", re.UNICODE)


def validate(text: str | None) -> str:
    """The query with whitespace folded; ValidationError when it is empty or too long."""
    if text is None or not text.strip():
        raise ValidationError("the search text is empty",
                              'Describe what you need in words, e.g. rskg search "a harbor with many boats".')
    if len(text) > MAX_QUERY_CHARS:
        raise ValidationError(f"the search text has {len(text)} characters (at most {MAX_QUERY_CHARS})",
                              "Shorten it to the things you want to see, e.g. 'river with trees on both banks'.")
    cleaned = unicodedata.normalize("NFKC", text)
    cleaned = "".join(ch if ch.isprintable() else " " for ch in cleaned)
    cleaned = " ".join(cleaned.split())
    if not _WORD_RE.search(cleaned):
        raise ValidationError(f"the search text {text[:60]!r} has no words",
                              'Describe what you need in words, e.g. rskg search "sparse houses among trees".')
    return cleaned


def _content_words(chunk: str) -> list[str]:
    words = [w.lower().strip("'-") for w in _WORD_RE.findall(chunk)]
    return [w for w in words if len(w) > 1 and (w not in STOPWORDS or w in KEEP_ADJECTIVES)]


def split_phrases(text: str) -> list[str]:
    """Content phrases of a validated query, in order, without duplicates (at most MAX_PHRASES + 1)."""
    phrases: list[str] = []
    for chunk in _SEP_RE.split(text):
        if not chunk:
            continue
        words = _content_words(chunk)
        if words and not all(w in KEEP_ADJECTIVES for w in words):
            phrases.append(" ".join(words))
    phrases = list(dict.fromkeys(phrases))[:MAX_PHRASES]
    whole = text.lower().strip(" .!?")
    if _content_words(whole) and len(phrases) > 1 and whole not in phrases:
        phrases.append(whole)
    return phrases
