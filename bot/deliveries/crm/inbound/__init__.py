"""Sales back from the CRM: Bitrix24's outbound webhook (`POST /crm/bitrix24`, verified by
its application token), amoCRM's webhook (`POST /crm/amocrm/<secret>`) and a signed generic
webhook (`POST /crm/events`, HMAC-SHA256 like the outbound one). routes.py takes them,
forms.py reads their bodies (capped, UTF-8, no NUL), reader.py reads a Bitrix24 / amoCRM
record back (its status and amount) after the notification was stored, and sales.py applies
what a CRM said (storage/deliveries/sales.py, dialogs/rules/sales.py) with the managers' alert.

A notification is stored before it is answered and read back by a worker with capped
back-off: a CRM that is down when it tells us loses nothing, and the CRM gets its answer at
once (amoCRM gives a webhook 2 seconds and turns off one that keeps failing).
"""
