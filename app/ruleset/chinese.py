"""Traditional -> simplified Chinese character table, built from OpenCC's dictionary.

Built once per rule-set load and handed to the domain as a plain `str.translate` table, so
the domain folds 烏魯木齊 to 乌鲁木齐 without importing OpenCC or reading files.
"""

from __future__ import annotations

from importlib import resources


def traditional_to_simplified_table() -> dict[int, str]:
    text = (
        resources.files("opencc")
        .joinpath("dictionary", "TSCharacters.txt")
        .read_text(encoding="utf-8")
    )
    table: dict[int, str] = {}
    for line in text.splitlines():
        parts = line.split("\t")
        if len(parts) < 2:
            continue
        traditional, simplified = parts[0], parts[1].split(" ")[0]
        if len(traditional) == 1 and len(simplified) == 1 and traditional != simplified:
            table[ord(traditional)] = simplified
    return table
