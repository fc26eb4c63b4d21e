"""What makes a new password too easy to guess, as NIST SP 800-63B advises checking: pure functions, no Flask.

A password is refused when it is one of the most common passwords (also with only digits or
symbols added before or after it, as in Password2024!), when it contains the user's email name,
the firm's name or this application's name, or when it is made of repeated or sequential
characters (aaaaaaaaaaaa, 123456789012, qwertyuiop12, abcabcabcabc). Comparisons ignore case.
The list is data/common-passwords.txt (see data/README.md for where it comes from).
"""

import re
import unicodedata
from functools import cache
from pathlib import Path

COMMON_PASSWORDS = Path(__file__).parent / "data" / "common-passwords.txt"
APP_NAME = "TrustWeb"
# Words in many firms' names that say nothing about this firm: no reason to refuse a password for them.
GENERIC_FIRM_WORDS = frozenset(
    [
        "your",
        "firm",
        "firms",
        "legal",
        "lawyers",
        "attorneys",
        "attorney",
        "solicitors",
        "partners",
        "partner",
        "associates",
        "group",
        "office",
        "offices",
        "chambers",
        "company",
        "services",
        "counsel",
    ]
)
# Characters that follow one another on the keyboard or in the alphabet, either way round.
SEQUENCES = (
    "abcdefghijklmnopqrstuvwxyz",
    "01234567890",
    "`1234567890-=",
    "qwertyuiop[]\\",
    "asdfghjkl;'",
    "zxcvbnm,./",
    "1qaz",
    "2wsx",
    "3edc",
    "4rfv",
    "5tgb",
    "6yhn",
    "7ujm",
    "8ik,",
    "9ol.",
    "0p;/",
)
_NEIGHBOURS = frozenset(
    pair for seq in SEQUENCES for a, b in zip(seq, seq[1:], strict=False) for pair in (a + b, b + a)
)
# A run of repeated or sequential characters may start this often and the password still be refused.
MAX_RUNS = 3
MIN_CONTEXT_WORD = 4


def _folded(text: str) -> str:
    return unicodedata.normalize("NFKC", text).casefold()


def _squashed(text: str) -> str:
    """Letters and digits only, case folded: how names are compared."""
    return "".join(ch for ch in _folded(text) if ch.isalnum())


@cache
def common_passwords() -> frozenset[str]:
    lines = COMMON_PASSWORDS.read_text(encoding="utf-8").splitlines()
    return frozenset(_folded(line.strip()) for line in lines if line.strip())


def is_common(password: str) -> bool:
    """One of the common passwords, as it is or with digits and symbols added before or after."""
    folded = _folded(password)
    core = re.sub(r"^[\W\d_]+|[\W\d_]+$", "", folded)
    return folded in common_passwords() or (core != "" and core in common_passwords())


def _runs(password: str) -> int:
    """How many runs of repeated or sequential characters (aaaa, 1234, dcba, qwer) the password is made of."""
    folded = _folded(password)
    return 1 + sum(1 for a, b in zip(folded, folded[1:], strict=False) if a != b and a + b not in _NEIGHBOURS)


def _repeats_a_unit(password: str) -> bool:
    """The same few characters over and over (abcabcabc, ab12ab12ab12)."""
    folded = _folded(password)
    return any(
        (folded[:size] * (len(folded) // size + 1))[: len(folded)] == folded for size in range(1, len(folded) // 2 + 1)
    )


def is_predictable(password: str) -> bool:
    return _runs(password) <= MAX_RUNS or _repeats_a_unit(password)


def context_words(email: str | None, firm_name: str | None) -> list[tuple[str, str]]:
    """(word, what it is) that a password may not contain: the email's name part and its pieces, the firm's
    name and its distinctive words, the application's name."""
    words: list[tuple[str, str]] = []
    if email:
        local = email.split("@", 1)[0]
        words.append((_squashed(local), "your email address"))
        words += [(_squashed(piece), "your email address") for piece in re.split(r"[^\w]|_", local)]
    if firm_name:
        words.append((_squashed(firm_name), "the firm's name"))
        words += [
            (word, "the firm's name")
            for word in (_squashed(part) for part in firm_name.split())
            if word not in GENERIC_FIRM_WORDS
        ]
    words.append((_squashed(APP_NAME), "the name of this application"))
    return [(word, what) for word, what in words if len(word) >= MIN_CONTEXT_WORD]


def weakness(password: str, *, email: str | None = None, firm_name: str | None = None) -> str | None:
    """Why the password is too easy to guess, as a sentence for the person choosing it; None when it is not."""
    if is_common(password):
        return (
            "That is one of the most common passwords (digits or symbols added to it do not help). "
            "Choose something less guessable, such as a phrase of several unrelated words."
        )
    squashed = _squashed(password)
    for word, what in context_words(email, firm_name):
        if word in squashed:
            return f"The password must not contain {what} ({word}); choose something others cannot guess from it."
    if is_predictable(password):
        return (
            "The password is made of repeated or sequential characters (like aaaa, 1234 or qwerty). "
            "Choose something less predictable, such as a phrase of several unrelated words."
        )
    return None
