"""Leads into the sales team's CRM: a signed webhook (webhook.py), Bitrix24 (bitrix24.py)
and amoCRM / Kommo (amocrm.py), each a target the worker (worker.py) delivers the rows of
storage/deliveries/rows.py to, after the lead's transaction committed. http.py is what they
share (the rate limits, what an answer means), payload.py what they send, mapping.py the
operator's field mapping (LEADBOT_CRM_FILE), targets.py which targets the settings turn on.
inbound/ is the other way: statuses and sales the CRMs send back.

May import: aiohttp, storage, bot.outbox (messages, limits), bot.settings. Never a Telegram
library.
"""
