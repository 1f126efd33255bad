"""An order's record keeps every consent change with its source and time."""

from gateway.policy.consent import Consent, ConsentSource
from gateway.policy.lifecycle import Workflow
from gateway.store.records import OrderRecord


def test_each_consent_change_is_kept_in_order_with_its_source_and_time():
    first = Consent(opt_in=True, source=ConsentSource.ORDER)
    record = OrderRecord(
        id="o1", retailer="demo", workflow=Workflow.DELIVERY, customer_phone="+15551230001",
        request_digest="d", consent=first, sender="+15005550006", created_at=10.0,
    ).with_consent(first, 10.0)
    stopped = record.with_consent(Consent(opt_in=False, source=ConsentSource.KEYWORD), 20.0)

    assert stopped.consent == Consent(opt_in=False, source=ConsentSource.KEYWORD)
    assert [(c.opt_in, c.source, c.at) for c in stopped.consent_log] == [
        (True, ConsentSource.ORDER, 10.0),
        (False, ConsentSource.KEYWORD, 20.0),
    ]
    assert record.consent_log == stopped.consent_log[:1]  # records are values: the old one is untouched
