"""Quotes (报价单): lines with quantity, unit price and discount; validity;
versions; status draft → sent → accepted / rejected (an older version is
superseded by a revision). Rendered from ``sales/quote.html``. Accepting a
quote can win its opportunity, at the quote's total."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable

from sqlalchemy import delete, func, insert, select, update

from crmcore import Conflict, NotFound, ValidationError, from_row
from crmcore.tables import customers

from crm_sales.domain import Quote, QuoteLine
from crm_sales.tables import quote_lines, quotes
from crm_sales.values import discount as parse_discount
from crm_sales.values import local_date, money, parse_day
from crm_sales.values import quantity as parse_quantity

if TYPE_CHECKING:
    from crmcore import UnitOfWork

ENTITY = "sales_quote"
CENT = Decimal("0.01")
DEFAULT_VALIDITY_DAYS = 30


def line_amount(qty: Decimal, price: Decimal, off: Decimal) -> Decimal:
    return (qty * price * (100 - off) / 100).quantize(CENT, rounding=ROUND_HALF_UP)


def _event(quote: Quote) -> dict[str, Any]:
    """What the sales.quote.* webhook events carry."""
    return {"customer_id": quote.customer_id, "quote_id": quote.id, "opportunity_id": quote.opportunity_id,
            "number": quote.number, "version": quote.version, "status": quote.status, "total": quote.total,
            "currency": quote.currency, "valid_until": quote.valid_until}


def parse_line(text: str) -> dict[str, Any]:
    """``PRODUCT,QUANTITY,UNIT_PRICE[,DISCOUNT]`` (the product may itself hold
    commas: the numbers are taken from the right)."""
    parts = [p.strip() for p in str(text).replace("，", ",").split(",")]
    if len(parts) < 3:
        raise ValidationError.field("line", f"{text!r} is not PRODUCT,QUANTITY,UNIT_PRICE[,DISCOUNT]")
    tail_is_discount = len(parts) >= 4 and _numberish(parts[-1]) and _numberish(parts[-2]) and _numberish(parts[-3])
    if tail_is_discount:
        *product, qty, price, off = parts
    else:
        *product, qty, price = parts
        off = ""
    return {"product": ",".join(product), "quantity": qty, "unit_price": price, "discount": off}


def _numberish(text: str) -> bool:
    stripped = text.replace("%", "").replace("折", "").replace("¥", "").replace("万", "").replace(".", "", 1).strip()
    return stripped.isdigit()


class QuoteService:
    def __init__(self, uow: "UnitOfWork"):
        self.uow = uow
        self.zone = uow.crm.config.timezone

    @property
    def sales(self) -> Any:
        return self.uow.service("sales")

    # -- reading -----------------------------------------------------------------

    def get(self, quote_id: int) -> Quote:
        row = self.uow.execute(select(quotes).where(
            quotes.c.id == quote_id, quotes.c.customer_id.in_(self.uow.customers.scope(select(customers.c.id))))).mappings().first()
        if row is None:
            raise NotFound(f"quote {quote_id} not found")
        quote = from_row(Quote, row)
        quote.lines = [from_row(QuoteLine, r) for r in self.uow.execute(
            select(quote_lines).where(quote_lines.c.quote_id == quote_id).order_by(quote_lines.c.position)).mappings()]
        return quote

    def list(self, *, opportunity_id: int | None = None, customer_id: int | None = None, status: str | None = None) -> list[Quote]:
        query = select(quotes).where(quotes.c.customer_id.in_(self.uow.customers.scope(select(customers.c.id))))
        if opportunity_id is not None:
            query = query.where(quotes.c.opportunity_id == opportunity_id)
        if customer_id is not None:
            query = query.where(quotes.c.customer_id == customer_id)
        if status:
            query = query.where(quotes.c.status == status)
        return [from_row(Quote, r) for r in self.uow.execute(query.order_by(quotes.c.id)).mappings()]

    def versions(self, number: str) -> list[Quote]:
        return [from_row(Quote, r) for r in self.uow.execute(
            select(quotes).where(quotes.c.number == number).order_by(quotes.c.version)).mappings()]

    # -- changing ----------------------------------------------------------------

    def add(self, opportunity_id: int, *, lines: Iterable[dict[str, Any]] = (), valid_until: Any = None,
            valid_days: int | None = None, notes: str | None = None) -> Quote:
        """A draft quote, version 1, for an open opportunity."""
        self.uow.require("sales.edit")
        opportunity = self.sales.opportunities.get(opportunity_id)
        stage = self.sales.stages.by_code()[opportunity.stage]
        if not stage.is_open:
            raise Conflict(f"opportunity {opportunity_id} is {stage.outcome}; reopen it before quoting")
        today = local_date(self.uow.now, self.zone)
        until = self._validity(valid_until, valid_days, today)
        number = self._next_number(today)
        quote_id = self._insert(Quote(
            number=number, version=1, opportunity_id=opportunity_id, customer_id=opportunity.customer_id,
            status="draft", valid_until=until, notes=(notes or "").strip() or None,
            created_by=self.uow.actor.username, created_at=self.uow.now,
        ))
        for line in lines:
            self._add_line(quote_id, **line)
        self._retotal(quote_id)
        quote = self.get(quote_id)
        self.uow.audit.record(ENTITY, quote_id, "create", {"number": number, "opportunity_id": opportunity_id, "customer_id": quote.customer_id,
                                                          "total": quote.total, "valid_until": until})
        return quote

    def add_line(self, quote_id: int, *, product: str, quantity: Any, unit_price: Any, discount: Any = None) -> Quote:
        self.uow.require("sales.edit")
        quote = self._draft(quote_id)
        self._add_line(quote.id, product=product, quantity=quantity, unit_price=unit_price, discount=discount)
        self._retotal(quote.id)
        changed = self.get(quote_id)
        self.uow.audit.record(ENTITY, quote_id, "line", {"product": product, "total": (quote.total, changed.total),
                                                          "customer_id": quote.customer_id})
        return changed

    def remove_line(self, quote_id: int, position: int) -> Quote:
        self.uow.require("sales.edit")
        quote = self._draft(quote_id)
        removed = self.uow.execute(delete(quote_lines).where(quote_lines.c.quote_id == quote_id, quote_lines.c.position == position)).rowcount
        if not removed:
            raise ValidationError.field("line", f"quote {quote_id} has no line {position}")
        self._retotal(quote_id)
        changed = self.get(quote_id)
        self.uow.audit.record(ENTITY, quote_id, "line_removed", {"position": position, "total": (quote.total, changed.total),
                                                                  "customer_id": quote.customer_id})
        return changed

    def send(self, quote_id: int, *, email: bool = False) -> Quote:
        """Mark a draft sent; with ``email``, queue the rendered quote to the
        customer's first e-mail address through the outbox."""
        self.uow.require("sales.edit")
        quote = self._draft(quote_id)
        if not quote.lines:
            raise ValidationError.field("lines", f"quote {quote_id} has no lines")
        if quote.valid_until < local_date(self.uow.now, self.zone):
            raise Conflict(f"quote {quote_id} expired on {quote.valid_until}; revise it")
        self._set(quote, status="sent", sent_at=self.uow.now)
        if email:
            customer = self.uow.customers.get(quote.customer_id)
            if not customer.emails:
                raise ValidationError.field("email", f"customer {customer.id} has no e-mail address")
            if customer.do_not_contact:
                raise Conflict(f"customer {customer.id} asked not to be contacted")
            # a quote the customer asked for: a service message, checked
            # against consent (service needs none unless configured so)
            if not self.uow.consents.allows(customer.id, "service", "email"):
                raise Conflict(f"customer {customer.id} has no consent to service e-mail: nothing was sent; "
                               "send the quote without --email and deliver it another way")
            html = self.render(quote_id)
            message = self.uow.outbox.put(
                "email", customer.emails[0], f"报价单 {quote.number} v{quote.version}",
                f"您好，附上报价单 {quote.number}（第 {quote.version} 版），合计 ¥{quote.total:,}，有效期至 {quote.valid_until}。",
                payload={"html": html, "kind": "sales.quote", "quote_id": quote_id}, customer_id=customer.id,
                purpose="service", dedupe_key=f"sales.quote:{quote_id}:sent")
            # None after the consent check: queued before under the same key
            self.uow.audit.record(ENTITY, quote_id, "emailed", {
                "customer_id": customer.id, "outbox_id": message.id if message is not None else None,
                "queued": message is not None})
        done = self.get(quote_id)
        self.uow.publish("sales.quote.sent", _event(done))
        return done

    def accept(self, quote_id: int, *, win: bool = True, note: str | None = None) -> Quote:
        """Accept a sent (or draft) quote. With ``win``, its opportunity moves
        to won and takes the quote's total as its amount; other open quotes
        of the opportunity are rejected."""
        self.uow.require("sales.edit")
        quote = self.get(quote_id)
        if quote.status not in ("draft", "sent"):
            raise Conflict(f"quote {quote_id} is {quote.status}; only a draft or sent quote can be accepted")
        if not quote.lines:
            raise ValidationError.field("lines", f"quote {quote_id} has no lines")
        if quote.valid_until < local_date(self.uow.now, self.zone):
            raise Conflict(f"quote {quote_id} expired on {quote.valid_until}; revise it")
        self._set(quote, status="accepted", decided_at=self.uow.now, decision_note=(note or "").strip() or None)
        for other in self.list(opportunity_id=quote.opportunity_id):
            if other.id != quote_id and other.status in ("draft", "sent"):
                self._set(other, status="rejected", decided_at=self.uow.now, decision_note=f"quote {quote.number} v{quote.version} accepted")
        if win:
            opportunities = self.sales.opportunities
            opportunity = opportunities.get(quote.opportunity_id)
            if opportunity.amount != quote.total:
                opportunities.update(opportunity.id, amount=quote.total)
            won = self.sales.stages.outcome_stage("won")
            if opportunity.stage != won.code:
                opportunities.move(opportunity.id, won.code, note=f"quote {quote.number} v{quote.version} accepted")
        done = self.get(quote_id)
        self.uow.publish("sales.quote.accepted", _event(done))
        return done

    def reject(self, quote_id: int, *, reason: str | None = None) -> Quote:
        self.uow.require("sales.edit")
        quote = self.get(quote_id)
        if quote.status not in ("draft", "sent"):
            raise Conflict(f"quote {quote_id} is {quote.status}; only a draft or sent quote can be rejected")
        self._set(quote, status="rejected", decided_at=self.uow.now, decision_note=(reason or "").strip() or None)
        done = self.get(quote_id)
        self.uow.publish("sales.quote.rejected", _event(done))
        return done

    def revise(self, quote_id: int, *, valid_until: Any = None, valid_days: int | None = None) -> Quote:
        """A new draft version with the same number and lines; the revised
        version, if still draft or sent, is superseded."""
        self.uow.require("sales.edit")
        quote = self.get(quote_id)
        latest = max(q.version for q in self.versions(quote.number))
        if quote.version != latest:
            raise Conflict(f"quote {quote_id} is version {quote.version} of {quote.number}; revise the latest, version {latest}")
        if quote.status == "accepted":
            raise Conflict(f"quote {quote_id} was accepted; it cannot be revised")
        opportunity = self.sales.opportunities.get(quote.opportunity_id)
        if not self.sales.stages.by_code()[opportunity.stage].is_open:
            raise Conflict(f"opportunity {opportunity.id} is closed; reopen it before quoting")
        today = local_date(self.uow.now, self.zone)
        until = self._validity(valid_until, valid_days, today)
        new_id = self._insert(Quote(
            number=quote.number, version=quote.version + 1, opportunity_id=quote.opportunity_id, customer_id=quote.customer_id,
            status="draft", valid_until=until, notes=quote.notes, created_by=self.uow.actor.username, created_at=self.uow.now,
        ))
        if quote.lines:
            self.uow.execute(insert(quote_lines), [
                {"quote_id": new_id, "position": l.position, "product": l.product, "quantity": l.quantity,
                 "unit_price": l.unit_price, "discount": l.discount, "amount": l.amount} for l in quote.lines
            ])
        self._retotal(new_id)
        if quote.status in ("draft", "sent"):
            self._set(quote, status="superseded", decided_at=self.uow.now, decision_note=f"revised as version {quote.version + 1}")
        self.uow.audit.record(ENTITY, new_id, "revise", {"number": quote.number, "version": quote.version + 1, "from": quote_id,
                                                           "customer_id": quote.customer_id})
        return self.get(new_id)

    # -- rendering ---------------------------------------------------------------

    def context(self, quote_id: int) -> dict[str, Any]:
        quote = self.get(quote_id)
        opportunity = self.sales.opportunities.get(quote.opportunity_id)
        customer = self.uow.customers.get(quote.customer_id)
        owner = self.uow.users.find(opportunity.owner_id) if opportunity.owner_id else None
        company = (self.uow.crm.config.extra.get("sales") or {}).get("company_name") or ""
        return {"quote": quote, "opportunity": opportunity, "customer": customer, "owner": owner, "company": company,
                "lines": quote.lines, "today": local_date(self.uow.now, self.zone)}

    def render(self, quote_id: int) -> str:
        template = self.uow.crm.templates.get_template("sales/quote.html")
        return template.render(**self.context(quote_id))

    def write(self, quote_id: int, path: str | Path) -> Path:
        """Write the quote as HTML, or as PDF when the path ends in .pdf and
        WeasyPrint is installed (``pip install crm-sales[pdf]``)."""
        target = Path(path)
        html = self.render(quote_id)
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.suffix.lower() == ".pdf":
            try:
                import weasyprint
            except ImportError:
                raise ValidationError.field("output", "PDF needs WeasyPrint (pip install 'crm-sales[pdf]'); or write "
                                            ".html and print it to PDF from a browser") from None
            weasyprint.HTML(string=html).write_pdf(str(target))
        else:
            target.write_text(html, encoding="utf-8")
        return target

    # -- integration -------------------------------------------------------------

    def move_customer(self, from_id: int, to_id: int) -> int:
        return self.uow.execute(update(quotes).where(quotes.c.customer_id == from_id).values(customer_id=to_id)).rowcount

    # -- helpers -----------------------------------------------------------------

    def _validity(self, valid_until: Any, valid_days: int | None, today: date) -> date:
        if valid_until not in (None, ""):
            until = parse_day(valid_until, "valid_until")
        else:
            days = DEFAULT_VALIDITY_DAYS if valid_days is None else int(valid_days)
            if days < 1:
                raise ValidationError.field("valid_days", "must be at least 1")
            until = today + timedelta(days=days)
        if until < today:
            raise ValidationError.field("valid_until", f"{until} is in the past")
        return until

    def _next_number(self, today: date) -> str:
        prefix = f"Q{today.year}"
        count = self.uow.execute(select(func.count(func.distinct(quotes.c.number))).where(quotes.c.number.like(f"{prefix}-%"))).scalar_one()
        number = f"{prefix}-{count + 1:04d}"
        while self.uow.execute(select(quotes.c.id).where(quotes.c.number == number)).first():
            count += 1
            number = f"{prefix}-{count + 1:04d}"
        return number

    def _insert(self, quote: Quote) -> int:
        values = {k: v for k, v in vars(quote).items() if k not in ("id", "lines")}
        return self.uow.execute(insert(quotes).values(values)).inserted_primary_key[0]

    def _draft(self, quote_id: int) -> Quote:
        quote = self.get(quote_id)
        if quote.status != "draft":
            raise Conflict(f"quote {quote_id} is {quote.status}; only a draft can change (revise it for a new version)")
        return quote

    def _add_line(self, quote_id: int, *, product: str, quantity: Any, unit_price: Any, discount: Any = None) -> None:
        product = (product or "").strip()
        if not product:
            raise ValidationError.field("product", "must not be empty")
        qty = parse_quantity(quantity)
        price = money(unit_price, "unit_price")
        off = parse_discount(discount)
        position = (self.uow.execute(select(func.max(quote_lines.c.position)).where(quote_lines.c.quote_id == quote_id)).scalar() or 0) + 1
        self.uow.execute(insert(quote_lines).values(quote_id=quote_id, position=position, product=product[:200], quantity=qty,
                                                    unit_price=price, discount=off, amount=line_amount(qty, price, off)))

    def _retotal(self, quote_id: int) -> None:
        lines = self.uow.execute(select(quote_lines.c.quantity, quote_lines.c.unit_price, quote_lines.c.amount)
                                 .where(quote_lines.c.quote_id == quote_id)).all()
        subtotal = sum(((Decimal(q) * Decimal(p)).quantize(CENT, rounding=ROUND_HALF_UP) for q, p, _ in lines), Decimal("0.00"))
        total = sum((Decimal(a) for _, _, a in lines), Decimal("0.00"))
        self.uow.execute(update(quotes).where(quotes.c.id == quote_id).values(subtotal=subtotal, total=total, discount_total=subtotal - total))

    def _set(self, quote: Quote, **values: Any) -> None:
        self.uow.execute(update(quotes).where(quotes.c.id == quote.id).values(**values))
        changes = {k: (getattr(quote, k), v) for k, v in values.items() if k in ("status", "decision_note")}
        self.uow.audit.record(ENTITY, quote.id, values.get("status", "update"), {**changes, "customer_id": quote.customer_id})
