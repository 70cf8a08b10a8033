"""Deliveries to remote targets, one room for all of them: the sales team's CRM (crm/: a
signed webhook, Bitrix24, amoCRM / Kommo) and the ad platforms' conversions (ads/: Yandex
Metrica, Meta, Google Analytics 4). Each target (port.py says what one is) gets the rows of
storage/deliveries/rows.py from the one worker (worker.py), after the lead's transaction
committed. http.py is what they share (rate limits, one call, what an answer means),
targets.py which targets the settings turn on. crm/inbound/ is the other way: statuses and
sales the CRMs send back.

May import: aiohttp, storage, bot.outbox (messages, limits), bot.settings (targets.py only).
Never a Telegram library.
"""
