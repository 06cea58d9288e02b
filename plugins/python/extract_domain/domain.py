"""The registrable domain ("eTLD+1") of a URL, host name or e-mail address.

A line-by-line port of `plugins/extract-domain/src/domain.rs`, so that the Python twin gives
the same answers as the Rust plugin: the same host extraction, the same validity rules, the
Public Suffix List through `publicsuffixlist` (ICANN and private rules together) and UTS #46
through `idna`, both pinned in `requirements.txt`.
"""

from typing import Optional

import os
import unicodedata

import idna

# `idna` imports its UTS #46 table lazily, on the first call; import it now so that the
# component (which is snapshotted after imports, at build time) carries it.
import idna.uts46data  # noqa: F401
import publicsuffixlist

# Longest host name DNS allows (without the root dot), in ASCII form.
MAX_HOST_LEN = 253
# Longest label DNS allows, in ASCII form.
MAX_LABEL_LEN = 63
# Cap on a non-ASCII host before UTS #46 runs: each ASCII character of a name that fits in
# DNS comes from at most a 4-byte character, so anything longer is garbage.
MAX_UNICODE_HOST_BYTES = 4 * MAX_HOST_LEN


def _load_rules() -> tuple[frozenset[str], frozenset[str], frozenset[str]]:
    """The list's rules in ASCII form: (normal, wildcard parents, exceptions).

    The list is the one `publicsuffixlist` ships; its own lookup is not used because it
    deviates from the PSL algorithm (it calls `kawasaki.jp` a suffix because of
    `*.kawasaki.jp`), while the Rust plugin, like the list's tests, says the prevailing rule
    there is `jp`.
    """
    path = os.path.join(os.path.dirname(publicsuffixlist.__file__), "public_suffix_list.dat")
    normal, wildcard, exception = set(), set(), set()
    with open(path, encoding="utf-8") as f:
        for line in f:
            rule = line.strip().split(" ")[0]
            if not rule or rule.startswith("//"):
                continue
            if rule.startswith("!"):
                exception.add(_rule_to_ascii(rule[1:]))
            elif rule.startswith("*."):
                wildcard.add(_rule_to_ascii(rule[2:]))
            else:
                normal.add(_rule_to_ascii(rule))
    return frozenset(normal), frozenset(wildcard), frozenset(exception)


def _rule_to_ascii(rule: str) -> str:
    if rule.isascii():
        return rule.lower()
    return ".".join(
        label if label.isascii() else "xn--" + label.encode("punycode").decode("ascii")
        for label in rule.lower().split(".")
    )

_HOST_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789-_")
_SCHEME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+-.")


def registrable_domain(text: str) -> Optional[str]:
    """The registrable domain of `text`, or None (a public suffix, an IP, garbage)."""
    host = _host_of(text)
    if host is None:
        return None
    if host.isascii():
        return _ascii_registrable_domain(host)
    return _unicode_registrable_domain(host)


def _host_of(text: str) -> Optional[str]:
    rest, is_mailto = _strip_scheme(_trim(text))
    if is_mailto:
        authority = _cut_at(rest, ",?#")
    else:
        authority = _cut_at(rest, "/\\?#")
    host_and_port = authority.rpartition("@")[2]
    host = _strip_port(host_and_port)
    if host is None:
        return None
    # A leading dot is an empty first label, not a host name; trailing dots are the root.
    if host.startswith("."):
        return None
    host = host.rstrip(".")
    return host or None


def _trim(text: str) -> str:
    # Rust's `str::trim` removes Unicode White_Space, which is what `str.strip()` removes
    # too, except for the few separators Python counts and Rust does not.
    return text.strip(_WHITE_SPACE)


# Unicode White_Space, as Rust's `char::is_whitespace`.
_WHITE_SPACE = (
    "\t\n\x0b\x0c\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007"
    "\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)


def _strip_scheme(s: str) -> tuple[str, bool]:
    if s.startswith("//"):
        return s[2:], False
    scheme_len = len(s)
    for i, c in enumerate(s):
        if c not in _SCHEME_CHARS:
            scheme_len = i
            break
    scheme, after = s[:scheme_len], s[scheme_len:]
    if not scheme or not ("a" <= scheme[0].lower() <= "z"):
        return s, False
    if after.startswith("://"):
        return after[3:], False
    if after.startswith(":") and scheme.lower() == "mailto":
        return after[1:], True
    return s, False


def _cut_at(s: str, stops: str) -> str:
    for i, c in enumerate(s):
        if c in stops:
            return s[:i]
    return s


def _strip_port(host_and_port: str) -> Optional[str]:
    if host_and_port.startswith("["):
        return None
    host, colon, port = host_and_port.partition(":")
    if not colon:
        return host_and_port
    return host if _is_valid_port(port) else None


def _is_valid_port(port: str) -> bool:
    if not all("0" <= c <= "9" for c in port):
        return False
    return port == "" or int(port) <= 65535


def _ascii_registrable_domain(host: str) -> Optional[str]:
    if len(host) > MAX_HOST_LEN:
        return None
    name = host.lower()
    if not _is_valid_ascii_host(name):
        return None
    # Punycode labels must decode to a valid IDN, or the name is bogus.
    if any(label.startswith("xn--") for label in name.split(".")) and _to_ascii(name) is None:
        return None
    return _psl_domain(name)


def _unicode_registrable_domain(host: str) -> Optional[str]:
    if len(host.encode("utf-8")) > MAX_UNICODE_HOST_BYTES:
        return None
    ascii_name = _to_ascii(host)
    if ascii_name is None:
        return None
    if ascii_name.startswith("."):
        return None
    name = ascii_name.rstrip(".")
    if not _is_valid_ascii_host(name):
        return None
    domain = _psl_domain(name)
    if domain is None:
        return None
    try:
        return _to_unicode(domain)
    except (idna.IDNAError, UnicodeError, ValueError):
        return None


def _to_ascii(name: str) -> Optional[str]:
    """UTS #46 ToASCII, non-transitional, with the URL standard's settings (as the Rust
    plugin's `idna` crate runs it): not IDNA2008's stricter rules, so `a¡b.com` is a name.
    None when the name is invalid."""
    try:
        labels = idna.uts46_remap(name, std3_rules=False, transitional=False).split(".")
        return ".".join(_label_to_ascii(label) for label in labels)
    except (idna.IDNAError, UnicodeError, ValueError):
        return None


def _label_to_ascii(label: str) -> str:
    if label.isascii():
        if label.startswith("xn--"):
            _check_label(_decode_punycode(label))
        return label
    _check_label(label)
    return "xn--" + label.encode("punycode").decode("ascii")


def _decode_punycode(label: str) -> str:
    decoded = label[4:].encode("ascii").decode("punycode")
    # A punycode label must stand for a non-ASCII label that UTS #46 leaves as it is.
    if not decoded or decoded.isascii():
        raise ValueError(f"{label} is not a valid punycode label")
    if idna.uts46_remap(decoded, std3_rules=False, transitional=False) != decoded:
        raise ValueError(f"{label} is not in UTS #46 normal form")
    return decoded


def _check_label(label: str) -> None:
    """UTS #46 validity criteria: NFC, no leading combining mark, joiners only where
    CONTEXTJ allows them, and the bidi rule."""
    if unicodedata.normalize("NFC", label) != label:
        raise ValueError("not NFC")
    if unicodedata.category(label[0]).startswith("M"):
        raise ValueError("begins with a combining mark")
    for i, c in enumerate(label):
        if c in "\u200c\u200d" and not idna.valid_contextj(label, i):
            raise ValueError("a joiner out of context")
    # A code point this Python's Unicode tables do not know has no bidi class here; the
    # Rust plugin's tables treat it as left-to-right, so do the same.
    idna.check_bidi("".join(c if unicodedata.bidirectional(c) else "a" for c in label))


def _to_unicode(name: str) -> str:
    return ".".join(
        _decode_punycode(label) if label.startswith("xn--") else label for label in name.split(".")
    )


def _is_valid_ascii_host(name: str) -> bool:
    if not name or len(name) > MAX_HOST_LEN:
        return False
    labels = name.split(".")
    if not all(1 <= len(label) <= MAX_LABEL_LEN and set(label) <= _HOST_CHARS for label in labels):
        return False
    return not _is_number(labels[-1])


def _is_number(label: str) -> bool:
    if label.startswith("0x"):
        return all(c in "0123456789abcdef" for c in label[2:])
    return label != "" and all("0" <= c <= "9" for c in label)


def _psl_domain(name: str) -> Optional[str]:
    """The PSL algorithm: the prevailing rule is an exception if one matches, else the
    matching rule with the most labels, else `*`; the domain is one label more."""
    labels = name.split(".")
    suffix_len = 1
    for i in range(len(labels)):
        candidate = ".".join(labels[i:])
        if candidate in _EXCEPTIONS:
            suffix_len = len(labels) - i - 1
            break
        parent = ".".join(labels[i + 1 :])
        if candidate in _NORMAL or (i + 1 < len(labels) and parent in _WILDCARDS):
            suffix_len = max(suffix_len, len(labels) - i)
    if len(labels) <= suffix_len:
        return None
    return ".".join(labels[-suffix_len - 1 :])


# Loaded once, when the module is imported: componentize-py runs imports at build time and
# snapshots the result, so the component carries the parsed list and never reads a file.
_NORMAL, _WILDCARDS, _EXCEPTIONS = _load_rules()
