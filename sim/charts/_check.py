"""Input checks shared by the charts: one clear ValueError per problem."""

from __future__ import annotations

import pandas as pd

LANGS = ("en", "zh")


def check_lang(lang: str) -> str:
    if lang not in LANGS:
        raise ValueError(f"lang: expected 'en' or 'zh', got {lang!r}")
    return lang


def check_table(df, columns, name: str) -> pd.DataFrame:
    """``df`` if it is a DataFrame with ``columns``; else a ValueError naming ``name`` and the missing columns."""
    if not isinstance(df, pd.DataFrame):
        raise ValueError(f"{name}: expected a pandas DataFrame, got {type(df).__name__}")
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise ValueError(f"{name}: missing column(s) {', '.join(missing)}; it has {', '.join(map(str, df.columns)) or 'none'}")
    return df


def numeric(series: pd.Series) -> pd.Series:
    """A column as floats (non-numbers become NaN)."""
    return pd.to_numeric(series, errors="coerce").astype(float)
