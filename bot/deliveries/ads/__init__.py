"""The ad platforms as delivery targets: Yandex Metrica's offline conversions (metrica.py),
Meta's Conversions API (meta.py), Google Analytics 4's Measurement Protocol (ga4.py). What
they share, the conversion read from a lead (value, click ids, limits), is conversion.py's.
Which moments are which goal is the operator's file (dialogs/rules/conversions.py)."""
