"""TimedTransport: any SMSTransport, with each provider call's duration in the metrics."""

from __future__ import annotations

import time

from gateway.metrics import Metrics
from gateway.sms.base import OutboundSMS, Sent, SendFailed, SMSTransport


class TimedTransport:
    def __init__(self, inner: SMSTransport, metrics: Metrics) -> None:
        self._inner = inner
        self._seconds = metrics.provider_seconds

    async def start(self) -> None:
        await self._inner.start()

    async def close(self) -> None:
        await self._inner.close()

    async def send(self, message: OutboundSMS) -> Sent:
        started = time.perf_counter()
        outcome = "sent"
        try:
            return await self._inner.send(message)
        except SendFailed as exc:
            outcome = "retryable" if exc.retryable else "refused"
            raise
        finally:
            self._seconds.labels(outcome).observe(time.perf_counter() - started)
