"""The checked config as small Arrow tables, so SQL joins business rules instead of branching on them."""

from __future__ import annotations

import pyarrow as pa

from .. import currencies
from .model import DOC_TYPES, Config

MONEY = pa.decimal128(18, 2)
RATE = pa.decimal128(18, 6)


def config_tables(config: Config) -> dict[str, pa.Table]:
    """cfg_* relations: policies, classes, levels, fees, minimums, reference rates, currencies."""
    policies, classes, levels, fees, minimums, interest_minimums, rates = [], [], [], [], [], [], []
    tiers, fee_limits, compensation = [], [], []   # SPEC §9
    for p in config.policies:
        i = p.interest
        policies.append({
            "policy": p.name, "is_default": p.default, "sequential": p.sequential,
            "min_days_between_letters": p.min_days_between_letters,
            "last_level": len(p.levels), "has_min_amount": p.min_amount is not None,
            "basis": i.basis, "calculate_to": i.calculate_to, "include_in_total": i.include_in_total,
            "fixed_rate": i.fixed_rate, "uses_reference_rates": i.reference_rates is not None,
            "has_interest_min": i.min_amount is not None,
            "charges_interest": any(lv.interest for lv in p.levels),
            "min_percent": p.min_percent, "pre_due_days": p.pre_due_days,
        })
        classes += [{"customer_class": c, "policy": p.name} for c in p.customer_classes]
        for lv in p.levels:
            levels.append({
                "policy": p.name, "level": lv.number, "days_past_due": lv.days_past_due,
                "days_to_settle": lv.days_to_settle, "interest": lv.interest,
                "template": lv.template, "credit_hold": lv.credit_hold,
                "payment_term": lv.payment_term, "is_last": lv.number == len(p.levels),
                "has_fee_table": lv.fee is not None,
                "fee_kind": lv.fee_kind, "fee_percent": lv.fee_percent, "fee_tier_mode": lv.fee_tier_mode,
                "has_fee_min_table": lv.fee_min is not None, "has_fee_max_table": lv.fee_max is not None,
                "compensation": lv.compensation, "post_interest": lv.post_interest,
                "late_payment_interest": lv.late_payment_interest,
            })
            fees += [{"policy": p.name, "level": lv.number, "currency": c, "fee": a}
                     for c, a in (lv.fee or {}).items()]
            for c, steps in (lv.fee_tiers or {}).items():
                # next_over: where the tier's part of the overdue total ends (NULL for the top tier)
                nexts = [s.over for s in steps[1:]] + [None]
                tiers += [{"policy": p.name, "level": lv.number, "currency": c, "over": s.over,
                           "fixed": s.fixed, "percent": s.percent, "next_over": n} for s, n in zip(steps, nexts)]
            for c in sorted(set(lv.fee_min or {}) | set(lv.fee_max or {})):
                fee_limits.append({"policy": p.name, "level": lv.number, "currency": c,
                                   "fee_min": (lv.fee_min or {}).get(c), "fee_max": (lv.fee_max or {}).get(c)})
        minimums += [{"policy": p.name, "currency": c, "min_amount": a} for c, a in (p.min_amount or {}).items()]
        interest_minimums += [{"policy": p.name, "currency": c, "min_amount": a}
                              for c, a in (i.min_amount or {}).items()]
        # The margin is folded in here: SQL sees the rate in force, reference + margin.
        rates += [{"policy": p.name, "effective_from": day, "rate_percent": rate + i.margin}
                  for day, rate in (i.reference_rates or ())]
        compensation += [{"policy": p.name, "currency": c, "amount": a}
                         for c, a in (p.compensation_amount or {}).items()]
    units = currencies.minor_units()
    # Standard type names are always understood (export_value NULL); the mapping adds the export's own.
    doc_types = [{"export_value": None, "doc_type": t} for t in DOC_TYPES] + [
        {"export_value": k, "doc_type": v} for k, v in config.open_items.doc_types.items()]
    return {
        "cfg_policies": _table(policies, {
            "policy": pa.string(), "is_default": pa.bool_(), "sequential": pa.bool_(),
            "min_days_between_letters": pa.int32(), "last_level": pa.int32(),
            "has_min_amount": pa.bool_(), "basis": pa.string(), "calculate_to": pa.string(),
            "include_in_total": pa.bool_(), "fixed_rate": RATE, "uses_reference_rates": pa.bool_(),
            "has_interest_min": pa.bool_(), "charges_interest": pa.bool_(),
            "min_percent": RATE, "pre_due_days": pa.int32()}),
        "cfg_policy_classes": _table(classes, {"customer_class": pa.string(), "policy": pa.string()}),
        "cfg_levels": _table(levels, {
            "policy": pa.string(), "level": pa.int32(), "days_past_due": pa.int32(),
            "days_to_settle": pa.int32(), "interest": pa.bool_(), "template": pa.string(),
            "credit_hold": pa.bool_(), "payment_term": pa.string(), "is_last": pa.bool_(),
            "has_fee_table": pa.bool_(), "fee_kind": pa.string(), "fee_percent": RATE,
            "fee_tier_mode": pa.string(), "has_fee_min_table": pa.bool_(), "has_fee_max_table": pa.bool_(),
            "compensation": pa.string(), "post_interest": pa.bool_(), "late_payment_interest": pa.bool_()}),
        "cfg_level_fees": _table(fees, {"policy": pa.string(), "level": pa.int32(),
                                        "currency": pa.string(), "fee": MONEY}),
        # SPEC §9.1: fee tiers and the clamps of percentage and tiered fees
        "cfg_fee_tiers": _table(tiers, {"policy": pa.string(), "level": pa.int32(), "currency": pa.string(),
                                        "over": MONEY, "fixed": MONEY, "percent": RATE, "next_over": MONEY}),
        "cfg_fee_limits": _table(fee_limits, {"policy": pa.string(), "level": pa.int32(),
                                              "currency": pa.string(), "fee_min": MONEY, "fee_max": MONEY}),
        # SPEC §9.2: the EU compensation per currency of policies with a compensation = "eu" level
        "cfg_compensation_amounts": _table(compensation, {"policy": pa.string(), "currency": pa.string(),
                                                          "amount": MONEY}),
        "cfg_min_amounts": _table(minimums, {"policy": pa.string(), "currency": pa.string(),
                                             "min_amount": MONEY}),
        "cfg_interest_min_amounts": _table(interest_minimums, {
            "policy": pa.string(), "currency": pa.string(), "min_amount": MONEY}),
        "cfg_reference_rates": _table(rates, {"policy": pa.string(), "effective_from": pa.date32(),
                                              "rate_percent": RATE}),
        "cfg_doc_types": _table(doc_types, {"export_value": pa.string(), "doc_type": pa.string()}),
        "cfg_currencies": _table(
            [{"currency": c, "minor_unit": u} for c, u in units.items()],
            {"currency": pa.string(), "minor_unit": pa.int32()}),
    }


def _table(rows: list[dict], schema: dict[str, pa.DataType]) -> pa.Table:
    return pa.table({name: pa.array([r[name] for r in rows], type=t) for name, t in schema.items()})
