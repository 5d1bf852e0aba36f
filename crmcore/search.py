"""Search keys for customer names: full pinyin and initials of Chinese names,
so ``zw`` and ``zhangwei`` find 张伟."""

from __future__ import annotations

from functools import lru_cache


@lru_cache(maxsize=8192)
def _syllable(char: str) -> str | None:
    from pypinyin import Style, lazy_pinyin  # imported on first use: it loads large tables

    if not ("\u4e00" <= char <= "\u9fff" or "\u3400" <= char <= "\u4dbf"):
        return None
    return lazy_pinyin(char, style=Style.NORMAL)[0]


def name_keys(name: str) -> tuple[str, str]:
    """``("zhangwei", "zw")`` for 张伟; Latin words keep their letters and
    give their first letters as initials."""
    full: list[str] = []
    initials: list[str] = []
    word = ""
    for char in name.lower():
        syllable = _syllable(char)
        if syllable is not None:
            if word:
                full.append(word)
                initials.append(word[0])
                word = ""
            full.append(syllable)
            initials.append(syllable[0])
        elif char.isalnum():
            word += char
        elif word:
            full.append(word)
            initials.append(word[0])
            word = ""
    if word:
        full.append(word)
        initials.append(word[0])
    return "".join(full), "".join(initials)
