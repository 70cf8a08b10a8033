"""The signed webhook (LEADBOT_WEBHOOK_URL, LEADBOT_WEBHOOK_SECRET): every event POSTed as
payload.py's versioned JSON, with X-Leadbot-Signature (`sha256=` + the HMAC-SHA256 of the
raw body under the secret), X-Leadbot-Delivery (the delivery id: the same on every retry,
so the receiver can drop a repeat), X-Leadbot-Timestamp and X-Leadbot-Event.

Any 2xx is success, whatever its body (never read). A redirect is never followed (the signed
lead would go to whatever host it names) and never a success: it is tried again later, like
429, 408, 5xx and timeouts; any other answer is a refusal (the receiver's choice, recorded
as failed).
"""

from __future__ import annotations

from bot.deliveries.crm import payload
from bot.deliveries.http import Client, CrmLimits, Throttle
from bot.deliveries.port import Crm, Delivered, Job


class WebhookTarget(Crm):
    name = "webhook"
    repeat = "dedupe"  # the receiver drops a repeat of X-Leadbot-Delivery

    def __init__(self, url: str, secret: str, limits: CrmLimits) -> None:
        self.url, self.secret = url, secret
        self.client = Client(Throttle(limits.webhook_rate, limits.webhook_burst),
                             limits.timeout)

    async def deliver(self, job: Job) -> Delivered:
        data = payload.body(job.event, job.key, job.facts, job.data, job.now)
        raw = payload.encode(data)
        status, _ = await self.client.call("POST", self.url, body=raw, headers={
            "Content-Type": "application/json",
            payload.SIGNATURE_HEADER: payload.signature(self.secret, raw),
            payload.DELIVERY_HEADER: job.key,
            payload.TIMESTAMP_HEADER: str(data["timestamp"]),
            payload.EVENT_HEADER: job.event}, answer=False)
        return Delivered(answer=f"HTTP {status}")

    async def close(self) -> None:
        await self.client.close()
