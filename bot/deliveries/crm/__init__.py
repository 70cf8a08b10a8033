"""The CRM targets: the signed webhook (webhook.py), Bitrix24 (bitrix24.py) and amoCRM /
Kommo (amocrm.py), with what they send (payload.py); inbound/ reads what the CRMs send back.
The operator's field mapping (LEADBOT_CRM_FILE) is dialogs.rules.crm's."""
