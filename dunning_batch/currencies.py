"""ISO 4217 currency codes and their minor units, taken from Babel's CLDR data."""

from __future__ import annotations

from decimal import Decimal
from functools import lru_cache

from babel.numbers import get_currency_precision, list_currencies

# Amounts are DECIMAL(18,2): a currency with three minor digits (KWD, BHD) still gets two.
MAX_SCALE = 2


@lru_cache(maxsize=1)
def minor_units() -> dict[str, int]:
    """Every known ISO 4217 code with the number of decimals its amounts may carry."""
    return {code: min(get_currency_precision(code), MAX_SCALE) for code in sorted(list_currencies())}


def is_known(code: str) -> bool:
    return code in minor_units()


def fits_minor_unit(code: str, amount: Decimal) -> bool:
    """True when `amount` has no more decimals than `code` allows."""
    exponent = amount.normalize().as_tuple().exponent
    return -int(exponent) <= minor_units()[code] if isinstance(exponent, int) else False
