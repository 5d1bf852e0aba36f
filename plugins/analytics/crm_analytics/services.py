"""The analytics service: ``uow.service("analytics")``.

Every computation reads all purchases (whatever the actor's scope: a model is
fitted on the whole customer base), replaces its score table in one
statement batch and records one audit entry. Listings are limited to the
customers the actor may see. numpy/scipy are imported inside methods.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any, Callable, Iterable

from sqlalchemy import delete, insert, select, update

from crmcore import NotFound, ValidationError
from crmcore.tables import activities, customers

from crm_analytics.tables import SCORE_TABLES, clv as clv_table, lifecycle as lifecycle_table, models as models_table
from crm_analytics.tables import rfm as rfm_table, rules as rules_table, values as values_table

if TYPE_CHECKING:
    from crmcore import UnitOfWork

ENTITY = "analytics"
INSERT_CHUNK = 20_000
BOUND = 11.5  # |log parameter| beyond this is at the optimiser's bound (12)
Progress = Callable[[str, int], None]  # (what, how many more done)


def _no_progress(what: str, n: int) -> None:
    return None


class AnalyticsService:
    def __init__(self, uow: "UnitOfWork"):
        self.uow = uow

    @property
    def zone(self) -> str:
        return self.uow.crm.config.timezone

    # -- inputs ---------------------------------------------------------------------

    def purchases(self, until: date | None = None, progress: Progress = _no_progress):
        from crm_analytics.data import load_purchases

        return load_purchases(self.uow, until, progress=lambda n: progress("load", n))

    def _as_of(self, as_of: date | None) -> date:
        from crm_analytics.data import today

        return as_of or today(self.zone)

    # -- RFM ------------------------------------------------------------------------

    def rfm(self, *, as_of: date | None = None, window_days: int | None = 365, purchases=None,
            progress: Progress = _no_progress) -> dict[str, Any]:
        """Recency (days since the last purchase, over all history), frequency
        (purchases in the window) and monetary value (their total) per
        customer who bought up to ``as_of``; quintile scores and named cells;
        stored in analytics_rfm, replacing the previous run."""
        import numpy as np

        from crm_analytics.data import day_number
        from crm_analytics.scoring import SEGMENT_LABELS, SEGMENTS, rfm_scores
        from crm_analytics.summary import summarise

        self.uow.require("analytics.compute")
        as_of = self._as_of(as_of)
        end = day_number(as_of)
        purchases = purchases if purchases is not None else self.purchases(as_of, progress)
        everything = summarise(purchases, end)
        ids = everything.customer
        frequency = np.zeros(len(ids), dtype=np.int64)
        monetary = np.zeros(len(ids))
        if len(ids):
            window = summarise(purchases, end, end - window_days + 1 if window_days else None)
            at = np.searchsorted(ids, window.customer)
            frequency[at] = window.purchases
            monetary[at] = window.revenue
        recency = end - everything.last_day
        scores = rfm_scores(recency, frequency, monetary)
        from crm_analytics.data import from_day_number

        now = self.uow.now
        rows = {
            "customer_id": ids, "as_of": as_of, "window_days": window_days, "computed_at": now,
            "last_purchase": [from_day_number(d) for d in everything.last_day.tolist()], "recency_days": recency,
            "frequency": frequency, "monetary": np.round(monetary, 2), "r_score": scores["r"], "f_score": scores["f"],
            "m_score": scores["m"], "cell": scores["cell"], "segment": scores["segment"], "stale": False,
        }
        self._replace(rfm_table, rows, progress)
        counts = {s: int(n) for s, n in zip(*np.unique(scores["segment"].astype(str), return_counts=True))} if len(ids) else {}
        revenue = {s: float(monetary[scores["segment"] == s].sum()) for s in counts}
        segments = [
            {"segment": s, "label": SEGMENT_LABELS[s], "customers": counts[s],
             "share": round(counts[s] / len(ids), 4), "revenue": round(revenue[s], 2)}
            for s in SEGMENTS if s in counts
        ]
        summary = {"as_of": as_of, "window_days": window_days, "customers": len(ids), "segments": segments}
        self.uow.audit.record(ENTITY, None, "rfm", {"as_of": as_of.isoformat(), "window_days": window_days, "customers": len(ids)})
        self._computed("rfm", as_of, len(ids), window_days=window_days)
        return summary

    # -- ABC and value grades --------------------------------------------------------

    def rules(self, kind: str | None = None) -> list[Any]:
        from crm_analytics.scoring import Rule

        query = select(rules_table).order_by(rules_table.c.kind, rules_table.c.position)
        if kind:
            query = query.where(rules_table.c.kind == kind)
        return [Rule.of(row) for row in self.uow.execute(query).mappings()]

    def set_rule(self, kind: str, code: str, **fields: Any) -> Any:
        """Add or change a grading rule (kind ``abc`` or ``grade``)."""
        self.uow.require("analytics.rules")
        if kind not in ("abc", "grade"):
            raise ValidationError.field("kind", f"{kind!r} is not abc or grade")
        code = (code or "").strip()
        if not code:
            raise ValidationError.field("code", "must not be empty")
        if kind == "grade":
            levels = {choice.code for choice in self.uow.choices.list("level")}
            if code not in levels:
                raise ValidationError.field("code", f"{code!r} is not a customer level ({', '.join(sorted(levels))}); "
                                                    "add it with `crm choices add level ...` first")
        fields = {k: v for k, v in fields.items() if v is not None}
        for name in ("max_cumulative_share", "top_share"):
            if name in fields and not 0 < float(fields[name]) <= 1:
                raise ValidationError.field(name.replace("_", "-"), "must be a share between 0 and 1")
        if kind == "abc" and {"abc", "top_share", "min_revenue", "min_purchases"} & set(fields):
            raise ValidationError.field("kind", "ABC rules take only --max-cumulative-share")
        if kind == "grade" and "max_cumulative_share" in fields:
            raise ValidationError.field("max-cumulative-share", "applies to ABC rules only")
        if "min_purchases" in fields and int(fields["min_purchases"]) < 0:
            raise ValidationError.field("min-purchases", "must not be negative")
        if "min_revenue" in fields and float(fields["min_revenue"]) < 0:
            raise ValidationError.field("min-revenue", "must not be negative")
        if "abc" in fields:
            known = {rule.code for rule in self.rules("abc")}
            unknown = [c for c in str(fields["abc"]).split(",") if c.strip() and c.strip() not in known]
            if unknown:
                raise ValidationError.field("abc", f"unknown ABC class {', '.join(unknown)}")
        current = self.uow.execute(select(rules_table).where(rules_table.c.kind == kind, rules_table.c.code == code)).mappings().first()
        if current is None:
            position = fields.pop("position", None)
            if position is None:
                position = (self.uow.execute(select(rules_table.c.position).where(rules_table.c.kind == kind)
                                             .order_by(rules_table.c.position.desc())).scalar() or 0) + 1
            row = {"kind": kind, "code": code, "label": fields.pop("label", code), "position": int(position), **fields}
            self.uow.execute(insert(rules_table).values(row))
            self.uow.audit.record("analytics_rule", f"{kind}:{code}", "create", {k: (None, v) for k, v in row.items()})
        else:
            changes = {k: (current[k] if k != "min_revenue" or current[k] is None else float(current[k]), v)
                       for k, v in fields.items() if current[k] != v}
            if changes:
                self.uow.execute(update(rules_table).where(rules_table.c.id == current["id"]).values(fields))
                self.uow.audit.record("analytics_rule", f"{kind}:{code}", "update", changes)
        return next(rule for rule in self.rules(kind) if rule.code == code)

    def clear_rule_condition(self, kind: str, code: str, names: Iterable[str]) -> None:
        """Remove conditions (abc, top_share, min_revenue, min_purchases) from a grade rule."""
        self.uow.require("analytics.rules")
        names = [name for name in names if name in ("abc", "top_share", "min_revenue", "min_purchases")]
        if not names:
            return
        where = (rules_table.c.kind == kind, rules_table.c.code == code)
        current = self.uow.execute(select(rules_table).where(*where)).mappings().first()
        if current is None:
            raise NotFound(f"no {kind} rule {code!r}")
        changes = {name: (current[name], None) for name in names if current[name] is not None}
        if changes:
            self.uow.execute(update(rules_table).where(*where).values({name: None for name in changes}))
            self.uow.audit.record("analytics_rule", f"{kind}:{code}", "update", changes)

    def delete_rule(self, kind: str, code: str) -> None:
        self.uow.require("analytics.rules")
        deleted = self.uow.execute(delete(rules_table).where(rules_table.c.kind == kind, rules_table.c.code == code)).rowcount
        if not deleted:
            raise NotFound(f"no {kind} rule {code!r}")
        if not self.rules(kind):
            raise ValidationError.field("code", f"the last {kind} rule cannot be deleted")
        self.uow.audit.record("analytics_rule", f"{kind}:{code}", "delete", {})

    def grade(self, *, as_of: date | None = None, window_days: int | None = 365, write_back: bool = False,
              purchases=None, progress: Progress = _no_progress) -> dict[str, Any]:
        """ABC class (Pareto by revenue contribution) and value grade by the
        rules, for each customer who bought up to ``as_of`` (revenue in the
        window); stored in analytics_values. With ``write_back`` the core
        customer ``level`` is set to the grade through ``uow.customers.update``
        (audited, fires ``crm_customer_updated``) wherever it differs."""
        import numpy as np

        from crm_analytics.data import day_number
        from crm_analytics.scoring import grade as grade_customers
        from crm_analytics.summary import summarise

        self.uow.require("analytics.compute")
        if write_back:
            self.uow.require("analytics.write_back")
        as_of = self._as_of(as_of)
        end = day_number(as_of)
        purchases = purchases if purchases is not None else self.purchases(as_of, progress)
        everyone = summarise(purchases, end).customer
        revenue = np.zeros(everyone.shape[0])
        count = np.zeros(everyone.shape[0], dtype=np.int64)
        if everyone.shape[0]:
            window = summarise(purchases, end, end - window_days + 1 if window_days else None)
            at = np.searchsorted(everyone, window.customer)
            revenue[at] = window.revenue
            count[at] = window.purchases
        rules = self.rules()
        result = grade_customers(revenue, count, everyone, rules)
        now = self.uow.now
        rows = {
            "customer_id": everyone, "as_of": as_of, "window_days": window_days, "computed_at": now,
            "revenue": np.round(revenue, 2), "purchases": count, "rank": result["rank"],
            "cumulative_share": result["cumulative_share"], "abc_class": result["abc"], "grade": result["grade"], "stale": False,
        }
        self._replace(values_table, rows, progress)
        changed = self._write_back("level", {int(c): str(g) for c, g in zip(everyone, result["grade"])}) if write_back else 0
        total = float(revenue.sum()) or 1.0
        classes = [
            {"abc_class": rule.code, "label": rule.label,
             "customers": int((result["abc"] == rule.code).sum()),
             "revenue_share": round(float(revenue[result["abc"] == rule.code].sum()) / total, 4)}
            for rule in rules if rule.kind == "abc"
        ]
        grades = [
            {"grade": rule.code, "label": rule.label, "customers": int((result["grade"] == rule.code).sum()),
             "revenue_share": round(float(revenue[result["grade"] == rule.code].sum()) / total, 4)}
            for rule in rules if rule.kind == "grade"
        ]
        self.uow.audit.record(ENTITY, None, "grade", {"as_of": as_of.isoformat(), "window_days": window_days,
                                                      "customers": int(everyone.shape[0]), "levels_changed": changed})
        self._computed("grades", as_of, int(everyone.shape[0]), window_days=window_days, levels_changed=changed)
        return {"as_of": as_of, "window_days": window_days, "customers": int(everyone.shape[0]),
                "abc": classes, "grades": grades, "levels_changed": changed}

    def _write_back(self, field: str, wanted: dict[int, str]) -> int:
        """Set a core customer field through the customer service, only where
        it differs (each change audited by the core)."""
        if not wanted:
            return 0
        current = {}
        ids = list(wanted)
        for start in range(0, len(ids), 5000):
            chunk = ids[start:start + 5000]
            current.update(self.uow.execute(select(customers.c.id, customers.c[field]).where(
                customers.c.id.in_(chunk), customers.c.active.is_(True))).all())
        changed = 0
        for customer_id, value in wanted.items():
            if customer_id in current and current[customer_id] != value:
                self.uow.customers.update(customer_id, **{field: value})
                changed += 1
        return changed

    # -- BG/NBD + Gamma-Gamma ------------------------------------------------------------

    def fit(self, *, period_from: date | None = None, period_to: date | None = None, purchases=None,
            progress: Progress = _no_progress) -> dict[str, Any]:
        """Fit BG/NBD and Gamma-Gamma by maximum likelihood on the purchases
        of ``period_from``..``period_to`` (inclusive local days). Customers
        enter at their first purchase in the period; ``T`` is the number of
        weeks from that day to ``period_to``, as in the paper (CDNOW: 38.86
        weeks for a customer first seen on 1997-01-01). Stores the model and
        returns its parameters."""
        from crm_analytics.data import day_number
        from crm_analytics.models import FitError, fit_bgnbd, fit_gamma_gamma
        from crm_analytics.summary import summarise

        self.uow.require("analytics.compute")
        period_to = self._as_of(period_to)
        if period_from and period_from >= period_to:
            raise ValidationError.field("from", "must be before --to")
        purchases = purchases if purchases is not None else self.purchases(period_to, progress)
        summary = summarise(purchases, day_number(period_to), day_number(period_from) if period_from else None)
        progress("fit", 0)
        try:
            bgnbd, bg_ll = fit_bgnbd(summary.x, summary.t_x, summary.T)
        except FitError as error:
            raise ValidationError(str(error)) from None
        try:
            gg, gg_ll = fit_gamma_gamma(summary.x, summary.m)
        except FitError:
            gg, gg_ll = None, None
        row = {
            "fitted_at": self.uow.now, "fitted_by": self.uow.actor.username, "period_from": period_from, "period_to": period_to,
            "customers": len(summary), "repeat_customers": int((summary.x > 0).sum()),
            "bgnbd": bgnbd.as_dict(), "gamma_gamma": gg.as_dict() if gg else None,
            "bgnbd_log_likelihood": float(bg_ll), "gamma_gamma_log_likelihood": None if gg_ll is None else float(gg_ll),
        }
        model_id = self.uow.execute(insert(models_table).values(row)).inserted_primary_key[0]
        self.uow.audit.record(ENTITY, model_id, "fit", {"period_from": period_from and period_from.isoformat(),
                                                        "period_to": period_to.isoformat(), "customers": len(summary),
                                                        "bgnbd": bgnbd.as_dict(), "gamma_gamma": gg.as_dict() if gg else None})
        self.uow.publish("analytics.model.fitted", {"model_id": model_id, "period_from": period_from, "period_to": period_to,
                                                    "customers": len(summary), "bgnbd": bgnbd.as_dict(),
                                                    "gamma_gamma": gg.as_dict() if gg else None})
        return self._model_view({"id": model_id, **row})

    def _model_view(self, row: Any) -> dict[str, Any]:
        import math

        warnings = []
        for family in ("bgnbd", "gamma_gamma"):
            for name, value in (row[family] or {}).items():
                if abs(math.log(value)) > BOUND:
                    warnings.append(f"{family}.{name} reached the optimiser's bound ({value:.3g}): the data do not identify it "
                                    "(too few customers or repeat purchases); treat predictions with care")
        return {
            "warnings": warnings,
            "model_id": row["id"],
            "bgnbd": dict(row["bgnbd"]),
            "gamma_gamma": dict(row["gamma_gamma"]) if row["gamma_gamma"] else None,
            "period": {"from": row["period_from"], "to": row["period_to"]},
            "customers": row["customers"],
            "repeat_customers": row["repeat_customers"],
            "log_likelihood": {"bgnbd": row["bgnbd_log_likelihood"], "gamma_gamma": row["gamma_gamma_log_likelihood"]},
            "fitted_at": row["fitted_at"],
        }

    def model(self, model_id: int | None = None) -> dict[str, Any]:
        query = select(models_table)
        query = query.where(models_table.c.id == model_id) if model_id else query.order_by(models_table.c.id.desc()).limit(1)
        row = self.uow.execute(query).mappings().first()
        if row is None:
            raise NotFound(f"no fitted model {model_id}" if model_id else "no fitted model: run `crm analytics fit` first")
        return self._model_view(row)

    def models(self, limit: int = 20) -> list[dict[str, Any]]:
        rows = self.uow.execute(select(models_table).order_by(models_table.c.id.desc()).limit(limit)).mappings()
        return [self._model_view(row) for row in rows]

    # -- lifetime value and churn ------------------------------------------------------------

    def clv(self, *, as_of: date | None = None, horizon_weeks: float = 52.0, margin: float = 1.0, discount: float = 0.0,
            period_from: date | None = None, model_id: int | None = None, purchases=None, step: str = "week",
            discount_per: str = "year", progress: Progress = _no_progress) -> dict[str, Any]:
        """P(alive), churn risk (1 − P(alive)), expected purchases over the
        horizon, expected spend per purchase and CLV for each customer who
        bought up to ``as_of``, from a model fitted on the history to
        ``as_of`` (or the stored model ``model_id``). Stored in analytics_clv.
        """
        import numpy as np

        from crm_analytics.data import day_number
        from crm_analytics.models import BGNBDParams, GammaGammaParams, customer_lifetime_value
        from crm_analytics.scoring import percentile_ranks
        from crm_analytics.summary import summarise

        self.uow.require("analytics.compute")
        if horizon_weeks <= 0:
            raise ValidationError.field("horizon", "must be positive")
        if not 0 < margin <= 1:
            raise ValidationError.field("margin", "must be a share between 0 (exclusive) and 1")
        if not 0 <= discount < 10:
            raise ValidationError.field("discount", "must be an annual rate such as 0.1")
        as_of = self._as_of(as_of)
        purchases = purchases if purchases is not None else self.purchases(as_of, progress)
        if model_id:
            model = self.model(model_id)
        else:
            model = self.fit(period_from=period_from, period_to=as_of, purchases=purchases, progress=progress)
        if model["gamma_gamma"] is None:
            raise ValidationError.field("gamma_gamma", "too few repeat customers with a spend to fit the spend model")
        bgnbd = BGNBDParams(**model["bgnbd"])
        gg = GammaGammaParams(**model["gamma_gamma"])
        summary = summarise(purchases, day_number(as_of), day_number(period_from) if period_from else None)
        progress("predict", 0)
        if step not in ("week", "month") or discount_per not in ("week", "month", "year"):
            raise ValidationError.field("step", "steps are week or month; rates are per week, month or year")
        result = customer_lifetime_value(bgnbd, gg, x=summary.x, t_x=summary.t_x, T=summary.T, m=summary.m,
                                         horizon_weeks=horizon_weeks, margin=margin, annual_discount=discount,
                                         step=step, discount_per=discount_per)
        percentile = percentile_ranks(result["clv"])
        now = self.uow.now
        rows = {
            "customer_id": summary.customer, "model_id": model["model_id"], "as_of": as_of, "computed_at": now,
            "horizon_weeks": horizon_weeks, "margin": margin, "discount": discount, "x": summary.x.astype(np.int64),
            "t_x": summary.t_x, "T": summary.T, "mean_spend": [None if v != v else v for v in summary.m.tolist()],
            "p_alive": result["p_alive"], "churn_risk": 1 - result["p_alive"],
            "expected_purchases": result["expected_purchases"], "expected_spend": result["expected_spend"],
            "clv": result["clv"], "clv_percentile": percentile, "stale": False,
        }
        self._replace(clv_table, rows, progress)
        self.uow.audit.record(ENTITY, model["model_id"], "clv", {
            "as_of": as_of.isoformat(), "horizon_weeks": horizon_weeks, "margin": margin, "discount": discount,
            "discount_per": discount_per, "step": step, "customers": len(summary)})
        self._computed("clv", as_of, len(summary), model_id=model["model_id"], horizon_weeks=horizon_weeks)
        return {"model": model, "as_of": as_of, "horizon_weeks": horizon_weeks, "margin": margin, "discount": discount,
                "customers": len(summary), "total_clv": float(result["clv"].sum()),
                "mean_p_alive": float(result["p_alive"].mean()) if len(summary) else None}

    def _scored(self, table, query):
        scope = self.uow.customers.scope(select(customers.c.id))
        return query.select_from(table.join(customers, customers.c.id == table.c.customer_id)).where(
            customers.c.active.is_(True), table.c.customer_id.in_(scope))

    def clv_list(self, *, limit: int | None = None, above: float | None = None, order: str = "clv",
                 offset: int = 0) -> list[dict[str, Any]]:
        """Stored CLV scores of the customers the actor may see, best first
        (``order="churn"``: riskiest first)."""
        self.uow.require("analytics.view")
        query = self._scored(clv_table, select(
            clv_table.c.customer_id, customers.c.code, customers.c.name, clv_table.c.p_alive, clv_table.c.churn_risk,
            clv_table.c.expected_purchases, clv_table.c.expected_spend, clv_table.c.clv, clv_table.c.clv_percentile,
            clv_table.c.x, clv_table.c.as_of, clv_table.c.stale))
        if above is not None:
            query = query.where(clv_table.c.churn_risk > above)
        if order == "churn":
            query = query.order_by(clv_table.c.churn_risk.desc(), clv_table.c.clv.desc(), clv_table.c.customer_id)
        else:
            query = query.order_by(clv_table.c.clv.desc(), clv_table.c.customer_id)
        query = query.offset(offset)
        if limit:
            query = query.limit(limit)
        return [dict(row) for row in self.uow.execute(query).mappings()]

    def churn_list(self, *, above: float = 0.7, limit: int | None = None, order: str = "value",
                   offset: int = 0) -> list[dict[str, Any]]:
        """Customers whose churn risk (1 − P(alive)) exceeds ``above``, for
        retention work: most valuable first (by past spend in the model
        period: repeat purchases × mean spend), or riskiest first."""
        self.uow.require("analytics.view")
        if not 0 <= above <= 1:
            raise ValidationError.field("above", "must be a probability between 0 and 1")
        if self.uow.execute(select(clv_table.c.customer_id).limit(1)).first() is None:
            raise NotFound("no churn scores yet: run `crm analytics clv` or `crm analytics score` first")
        query = self._scored(clv_table, select(
            clv_table.c.customer_id, customers.c.code, customers.c.name, customers.c.owner_id, clv_table.c.churn_risk,
            clv_table.c.p_alive, clv_table.c.x.label("repeat_purchases"), clv_table.c.mean_spend, clv_table.c.clv,
            clv_table.c.expected_spend, clv_table.c.as_of, clv_table.c.stale)).where(clv_table.c.churn_risk > above)
        value = clv_table.c.x * clv_table.c.expected_spend
        if order == "risk":
            query = query.order_by(clv_table.c.churn_risk.desc(), value.desc(), clv_table.c.customer_id)
        else:
            query = query.order_by(value.desc(), clv_table.c.churn_risk.desc(), clv_table.c.customer_id)
        query = query.offset(offset)
        if limit:
            query = query.limit(limit)
        rows = []
        for row in self.uow.execute(query).mappings():
            item = dict(row)
            item["value_at_risk"] = round(float(row["repeat_purchases"] * row["expected_spend"]), 2)
            rows.append(item)
        return rows

    def segments(self) -> list[dict[str, Any]]:
        """Stored RFM scores of the customers the actor may see, per named
        segment (in the order of ``SEGMENTS``, best first): customers, their
        share and their spend in the window. Empty before any RFM run."""
        from sqlalchemy import case, func

        from crm_analytics.scoring import SEGMENTS

        self.uow.require("analytics.view")
        stale = func.sum(case((rfm_table.c.stale.is_(True), 1), else_=0))
        query = self._scored(rfm_table, select(rfm_table.c.segment, func.count(), func.sum(rfm_table.c.monetary), stale,
                                               func.max(rfm_table.c.as_of))).group_by(rfm_table.c.segment)
        found = {segment: (int(n), float(revenue or 0), int(old or 0), as_of)
                 for segment, n, revenue, old, as_of in self.uow.execute(query)}
        total = sum(row[0] for row in found.values())
        return [{"segment": s, "customers": found[s][0], "share": round(found[s][0] / total, 4),
                 "revenue": round(found[s][1], 2), "stale": found[s][2], "as_of": found[s][3]} for s in SEGMENTS if s in found]

    def segment_customers(self, segment: str, *, limit: int | None = 100, offset: int = 0) -> list[dict[str, Any]]:
        """The visible customers of one RFM segment, biggest spenders first."""
        from crm_analytics.scoring import SEGMENTS

        self.uow.require("analytics.view")
        if segment not in SEGMENTS:
            raise ValidationError.field("segment", f"{segment!r} is not an RFM segment ({', '.join(SEGMENTS)})")
        query = self._scored(rfm_table, select(
            rfm_table.c.customer_id, customers.c.code, customers.c.name, customers.c.owner_id, rfm_table.c.cell,
            rfm_table.c.recency_days, rfm_table.c.frequency, rfm_table.c.monetary, rfm_table.c.last_purchase,
            rfm_table.c.as_of, rfm_table.c.stale)).where(rfm_table.c.segment == segment).order_by(
            rfm_table.c.monetary.desc(), rfm_table.c.customer_id).offset(offset)
        if limit:
            query = query.limit(limit)
        return [dict(row) for row in self.uow.execute(query).mappings()]

    # -- lifecycle --------------------------------------------------------------------------

    def lifecycle(self, *, as_of: date | None = None, write_back: bool = False, purchases=None,
                  progress: Progress = _no_progress) -> dict[str, Any]:
        """Lifecycle stage (exploration, formation, stability, decline) per
        customer who bought up to ``as_of``, by the rules in
        :func:`crm_analytics.scoring.lifecycle_stages`; stored in
        analytics_lifecycle; with ``write_back`` the core customer ``stage``
        is set through ``uow.customers.update`` where it differs."""
        import numpy as np

        from crm_analytics.data import day_number
        from crm_analytics.scoring import STAGES, lifecycle_stages
        from crm_analytics.summary import Transactions

        self.uow.require("analytics.compute")
        if write_back:
            self.uow.require("analytics.write_back")
        as_of = self._as_of(as_of)
        end = day_number(as_of)
        purchases = purchases if purchases is not None else self.purchases(as_of, progress)
        trans = Transactions.of(purchases.between(None, end))
        result = lifecycle_stages(trans.start, trans.day, end)
        ids = trans.customer[trans.start]
        now = self.uow.now

        def numbers(values) -> list[float | None]:
            return [None if v != v else v for v in np.round(values, 3).tolist()]

        rows = {
            "customer_id": ids, "as_of": as_of, "computed_at": now, "stage": result["stage"], "rule": result["rule"],
            "transactions": result["transactions"], "days_since_last": result["days_since_last"],
            "mean_gap_days": numbers(result["mean_gap_days"]), "recent_gap_days": numbers(result["recent_gap_days"]),
            "trend": numbers(result["trend"]), "stale": False,
        }
        self._replace(lifecycle_table, rows, progress)
        changed = self._write_back("stage", {int(c): str(s) for c, s in zip(ids, result["stage"])}) if write_back else 0
        stages = [{"stage": s, "customers": int((result["stage"] == s).sum())} for s in STAGES]
        self.uow.audit.record(ENTITY, None, "lifecycle", {"as_of": as_of.isoformat(), "customers": int(ids.shape[0]),
                                                          "stages_changed": changed})
        self._computed("lifecycle", as_of, int(ids.shape[0]), stages_changed=changed)
        return {"as_of": as_of, "customers": int(ids.shape[0]), "stages": stages,
                "usual_gap_days": round(result["population_gap_days"], 1), "stages_changed": changed}

    # -- hold-out validation -----------------------------------------------------------------

    def validate(self, *, calibration_end: date, holdout_end: date | None = None, period_from: date | None = None,
                 progress: Progress = _no_progress) -> dict[str, Any]:
        """Fit on ``period_from``..``calibration_end``, predict each
        calibration customer's transactions in the hold-out period
        (calibration_end, holdout_end], and compare with what they did,
        grouped by repeat purchases in calibration. Nothing is stored."""
        import numpy as np

        from crm_analytics.data import day_number, from_day_number
        from crm_analytics.models import FitError, expected_purchases, expected_spend, fit_bgnbd, fit_gamma_gamma
        from crm_analytics.summary import Transactions, actual_between, summarise

        self.uow.require("analytics.compute")
        purchases = self.purchases(holdout_end, progress)
        end = day_number(calibration_end)
        if len(purchases) == 0:
            raise ValidationError.field("calibration-end", "there are no purchases")
        last = day_number(holdout_end) if holdout_end else int(purchases.day.max())
        if last <= end:
            raise ValidationError.field("holdout-end", "the hold-out period must end after the calibration period")
        start = day_number(period_from) if period_from else None
        summary = summarise(purchases, end, start)
        if len(summary) == 0:
            raise ValidationError.field("calibration-end", "no customer bought in the calibration period")
        progress("fit", 0)
        try:
            params, loglik = fit_bgnbd(summary.x, summary.t_x, summary.T)
        except FitError as error:
            raise ValidationError(str(error)) from None
        weeks = (last - end) / 7.0
        predicted = expected_purchases(params, weeks, summary.x, summary.t_x, summary.T)
        actual = actual_between(purchases, summary.customer, end + 1, last)
        # spend: the Gamma-Gamma forecast of each buyer's mean transaction in the hold-out
        holdout = Transactions.of(purchases.between(end + 1, last))
        try:
            gg, _ = fit_gamma_gamma(summary.x, summary.m)
            forecast = expected_spend(gg, summary.x, summary.m)
            at = np.searchsorted(summary.customer, holdout.customer)
            at = np.clip(at, 0, max(len(summary) - 1, 0))
            known = summary.customer[at] == holdout.customer
            total_spend = np.zeros(len(summary))
            np.add.at(total_spend, at[known], holdout.amount[known])
            bought = actual > 0
            gg_view = gg.as_dict()
        except FitError:
            gg_view, bought = None, None
        groups = []
        cap = 7
        key = np.minimum(summary.x, cap).astype(int)
        for k in range(cap + 1):
            sel = key == k
            if not sel.any():
                continue
            entry = {"repeat_purchases": f"{k}+" if k == cap else str(k), "customers": int(sel.sum()),
                     "predicted": round(float(predicted[sel].mean()), 4), "actual": round(float(actual[sel].mean()), 4),
                     "predicted_total": round(float(predicted[sel].sum()), 2), "actual_total": int(actual[sel].sum())}
            if gg_view is not None:
                buyers = sel & bought
                entry["predicted_spend"] = round(float(forecast[buyers].mean()), 2) if buyers.any() else None
                entry["actual_spend"] = round(float((total_spend[buyers] / actual[buyers]).mean()), 2) if buyers.any() else None
            groups.append(entry)
        total_predicted, total_actual = float(predicted.sum()), float(actual.sum())
        return {
            "calibration": {"from": period_from or from_day_number(int(summary.first_day.min())), "to": calibration_end},
            "holdout": {"from": from_day_number(end + 1), "to": from_day_number(last), "weeks": round(weeks, 2)},
            "customers": len(summary),
            "bgnbd": params.as_dict(), "gamma_gamma": gg_view, "log_likelihood": loglik,
            "groups": groups,
            "total": {"predicted": round(total_predicted, 2), "actual": int(total_actual),
                      "error": round((total_predicted - total_actual) / total_actual, 4) if total_actual else None},
            "mean_absolute_error": round(float(np.abs(predicted - actual).mean()), 4),
            "correlation": round(float(np.corrcoef(predicted, actual)[0, 1]), 4) if len(summary) > 1 and actual.std() > 0 else None,
            "tracking": _tracking(params, purchases, summary, start, end, last),
        }

    # -- everything at once -------------------------------------------------------------------

    def score(self, *, as_of: date | None = None, window_days: int | None = 365, horizon_weeks: float = 52.0,
              margin: float = 1.0, discount: float = 0.0, write_back: bool = False,
              progress: Progress = _no_progress) -> dict[str, Any]:
        """RFM, grades, model fit, CLV and churn, lifecycle: every score, from
        one read of the purchases."""
        as_of = self._as_of(as_of)
        purchases = self.purchases(as_of, progress)
        return {
            "as_of": as_of,
            "purchases": len(purchases),
            "rfm": self.rfm(as_of=as_of, window_days=window_days, purchases=purchases, progress=progress),
            "grades": self.grade(as_of=as_of, window_days=window_days, write_back=write_back, purchases=purchases,
                                 progress=progress),
            "clv": self.clv(as_of=as_of, horizon_weeks=horizon_weeks, margin=margin, discount=discount,
                            purchases=purchases, progress=progress),
            "lifecycle": self.lifecycle(as_of=as_of, write_back=write_back, purchases=purchases, progress=progress),
        }

    def _computed(self, kind: str, as_of: date, customers_scored: int, **details: Any) -> None:
        """Publish ``analytics.scores.computed`` (a run replaced one score
        table; about no one customer, so only subscriptions without a
        department receive it)."""
        self.uow.publish("analytics.scores.computed", {"kind": kind, "as_of": as_of, "customers": customers_scored, **details})

    # -- one customer ----------------------------------------------------------------------------

    def customer_scores(self, customer_id: int) -> dict[str, Any] | None:
        """Every stored score of one customer, or None when there is none."""
        found: dict[str, Any] = {}
        for key, table in (("rfm", rfm_table), ("value", values_table), ("clv", clv_table), ("lifecycle", lifecycle_table)):
            row = self.uow.execute(select(table).where(table.c.customer_id == customer_id)).mappings().first()
            if row is not None:
                found[key] = {k: v for k, v in row.items() if k != "customer_id"}
        return found or None

    # -- keeping scores honest ------------------------------------------------------------------------

    def mark_stale(self, customer_ids: Iterable[int]) -> None:
        """Flag a customer's scores as out of date (a purchase came or went)."""
        ids = sorted(set(int(i) for i in customer_ids))
        for start in range(0, len(ids), 5000):
            chunk = ids[start:start + 5000]
            for table in SCORE_TABLES:
                self.uow.execute(update(table).where(table.c.customer_id.in_(chunk)).values(stale=True))

    def mark_stale_for_activities(self, activity_ids: Iterable[int]) -> None:
        ids = list(activity_ids)
        for start in range(0, len(ids), 5000):
            buyers = select(activities.c.customer_id).where(activities.c.id.in_(ids[start:start + 5000]),
                                                            activities.c.type == "purchase")
            for table in SCORE_TABLES:
                self.uow.execute(update(table).where(table.c.customer_id.in_(buyers)).values(stale=True))

    def customer_merged(self, kept_id: int, merged_id: int) -> None:
        """The merged customer's purchases now belong to the kept one: drop the
        merged customer's scores and mark the kept customer's stale."""
        for table in SCORE_TABLES:
            self.uow.execute(delete(table).where(table.c.customer_id == merged_id))
        self.mark_stale([kept_id])

    # -- storage ------------------------------------------------------------------------------------------

    def _replace(self, table, columns: dict[str, Any], progress: Progress) -> None:
        """Delete the table's rows and insert new ones given as columns (a
        numpy array or list per column, or one value for every row): through
        the driver's executemany with plain tuples, several times faster than
        insert() with a dict per row for a million rows; values go through
        the column types' bind processors for the dialect."""
        self.uow.execute(delete(table))
        lengths = {len(v) for v in columns.values() if isinstance(v, (list, np_ndarray()))}
        n = lengths.pop() if lengths else 0
        if n == 0:
            return
        connection = self.uow.connection
        dialect = connection.dialect
        names = list(columns)
        prepared = []
        for name in names:
            value = columns[name]
            process = table.c[name].type.bind_processor(dialect)
            if isinstance(value, (list, np_ndarray())):
                values = value.tolist() if hasattr(value, "tolist") else value
                prepared.append([process(v) for v in values] if process else values)
            else:
                prepared.append([process(value) if process else value] * n)
        marker = "?" if dialect.paramstyle == "qmark" else "%s"
        quote = dialect.identifier_preparer.quote
        sql = (f"INSERT INTO {quote(table.name)} ({', '.join(quote(name) for name in names)}) "
               f"VALUES ({', '.join([marker] * len(names))})")
        for start in range(0, n, INSERT_CHUNK):
            chunk = list(zip(*(column[start:start + INSERT_CHUNK] for column in prepared)))
            connection.exec_driver_sql(sql, chunk)
            progress(table.name, len(chunk))


def _tracking(params, purchases, summary, start: int | None, end: int, last: int) -> list[dict[str, Any]]:
    """Cumulative repeat transactions of the calibration cohort, week by week
    through calibration and hold-out: actual against the model's
    Σ_i E[X(t − first_i)] (the paper's Figure 1)."""
    import numpy as np

    from crm_analytics.models import expected_purchases_new
    from crm_analytics.summary import Transactions

    origin = int(summary.first_day.min())
    weeks = int(np.ceil((last - origin + 1) / 7))
    cutoffs = np.minimum(origin + 7 * np.arange(1, weeks + 1) - 1, last)  # last day of each week
    firsts, counts = np.unique(summary.first_day, return_counts=True)
    trans = Transactions.of(purchases.between(start, last))
    cohort = np.isin(trans.customer, summary.customer) & ~trans.start
    repeat_days = np.sort(trans.day[cohort])
    rows = []
    for week, cutoff in enumerate(cutoffs, start=1):
        age = np.clip((cutoff - firsts) / 7.0, 0, None)
        predicted = float((expected_purchases_new(params, age) * counts).sum())
        actual = int(np.searchsorted(repeat_days, cutoff, side="right"))
        rows.append({"week": week, "through": cutoff, "period": "calibration" if cutoff <= end else "holdout",
                     "actual": actual, "predicted": round(predicted, 1)})
    from crm_analytics.data import from_day_number

    for row in rows:
        row["through"] = from_day_number(int(row["through"]))
    return rows


def np_ndarray():
    import numpy as np

    return np.ndarray
