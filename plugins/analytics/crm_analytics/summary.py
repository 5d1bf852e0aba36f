"""From purchases to per-customer summaries, vectorised.

Input: three parallel arrays, one entry per purchase: the customer id, the
purchase's local calendar day (days since 1970-01-01) and its amount.
Purchases on the same day are one transaction (their amounts are added), as
in Fader, Hardie & Lee's CDNOW analysis. Times for the models are in weeks.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class Purchases:
    """Purchases as parallel arrays (see the module docstring)."""

    customer: np.ndarray  # int64 customer ids
    day: np.ndarray  # int64 local days since the epoch
    amount: np.ndarray  # float64

    @classmethod
    def empty(cls) -> "Purchases":
        return cls(np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, float))

    def __len__(self) -> int:
        return int(self.customer.shape[0])

    def between(self, first_day: int | None, last_day: int | None) -> "Purchases":
        """Purchases on days first_day..last_day (inclusive; None = open)."""
        keep = np.ones(len(self), dtype=bool)
        if first_day is not None:
            keep &= self.day >= first_day
        if last_day is not None:
            keep &= self.day <= last_day
        return Purchases(self.customer[keep], self.day[keep], self.amount[keep])


@dataclass
class Transactions:
    """Purchases collapsed to one transaction per customer and day, sorted by
    customer then day; ``start`` marks each customer's first row."""

    customer: np.ndarray
    day: np.ndarray
    amount: np.ndarray
    purchases: np.ndarray  # purchases behind each transaction
    start: np.ndarray  # bool

    @classmethod
    def of(cls, purchases: Purchases) -> "Transactions":
        if len(purchases) == 0:
            empty = np.zeros(0, np.int64)
            return cls(empty, empty, np.zeros(0), empty, np.zeros(0, bool))
        customer = purchases.customer.astype(np.int64)
        day = purchases.day.astype(np.int64)
        low = int(day.min())
        span = int(day.max()) - low + 1
        key = customer * span + (day - low)
        keys, inverse, counts = np.unique(key, return_inverse=True, return_counts=True)
        amount = np.bincount(inverse.reshape(-1), weights=purchases.amount, minlength=keys.shape[0])
        t_customer = keys // span
        t_day = keys % span + low
        start = np.ones(keys.shape[0], dtype=bool)
        start[1:] = t_customer[1:] != t_customer[:-1]
        return cls(t_customer, t_day, amount, counts, start)


@dataclass
class Summary:
    """One row per customer who bought in the period."""

    customer: np.ndarray  # ids, ascending
    first_day: np.ndarray
    last_day: np.ndarray
    transactions: np.ndarray  # distinct purchase days
    purchases: np.ndarray  # purchase records
    revenue: np.ndarray  # total amount
    x: np.ndarray  # repeat transactions = transactions - 1
    t_x: np.ndarray  # weeks from first to last transaction
    T: np.ndarray  # weeks from first transaction to the end of the period
    m: np.ndarray  # mean value of the repeat transactions (nan when x == 0)

    def __len__(self) -> int:
        return int(self.customer.shape[0])


def summarise(purchases: Purchases, end_day: int, start_day: int | None = None) -> Summary:
    """Per-customer summaries of the purchases on start_day..end_day, with
    ``T`` measured to ``end_day``."""
    trans = Transactions.of(purchases.between(start_day, end_day))
    group = np.cumsum(trans.start) - 1
    n = int(trans.start.sum())
    first_index = np.flatnonzero(trans.start)
    last_index = np.append(first_index[1:] - 1, trans.customer.shape[0] - 1).astype(np.int64) if n else first_index
    count = np.bincount(group, minlength=n).astype(float)
    revenue = np.bincount(group, weights=trans.amount, minlength=n)
    purchases_n = np.bincount(group, weights=trans.purchases, minlength=n)
    first_day = trans.day[first_index]
    last_day = trans.day[last_index]
    x = count - 1
    repeat_revenue = revenue - trans.amount[first_index]
    with np.errstate(divide="ignore", invalid="ignore"):
        m = np.where(x > 0, repeat_revenue / np.where(x > 0, x, 1), np.nan)
    return Summary(
        customer=trans.customer[first_index],
        first_day=first_day,
        last_day=last_day,
        transactions=count.astype(np.int64),
        purchases=purchases_n.astype(np.int64),
        revenue=revenue,
        x=x,
        t_x=(last_day - first_day) / 7.0,
        T=(end_day - first_day) / 7.0,
        m=m,
    )


def actual_between(purchases: Purchases, customers: np.ndarray, first_day: int, last_day: int) -> np.ndarray:
    """Transactions (distinct purchase days) each of ``customers`` (sorted
    ids) made on first_day..last_day."""
    trans = Transactions.of(purchases.between(first_day, last_day))
    result = np.zeros(customers.shape[0])
    if trans.customer.shape[0] == 0 or customers.shape[0] == 0:
        return result
    position = np.searchsorted(customers, trans.customer)
    position = np.clip(position, 0, customers.shape[0] - 1)
    known = customers[position] == trans.customer
    np.add.at(result, position[known], 1.0)
    return result


def read_cdnow(path) -> Purchases:
    """The CDNOW sample file: customer id, sample id, YYYYMMDD, CDs, dollars."""
    raw = np.loadtxt(path, dtype=str)
    customer = raw[:, 0].astype(np.int64)
    dates = np.array([f"{d[:4]}-{d[4:6]}-{d[6:]}" for d in raw[:, 2]], dtype="datetime64[D]")
    return Purchases(customer, dates.astype(np.int64), raw[:, 4].astype(float))
