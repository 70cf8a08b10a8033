"""Reports: what the operator reads out of what the bot recorded. period.py (what a report
asks for: a flow, days in a time zone, a source, a grouping), funnel.py (the funnel),
speed.py (hand-off speed per manager), leads.py (the leads export and the dashboard's
leads table), money.py (money per source: spend, sales, costs, ROMI), conversions.py (what
became of the conversions sent to the ad platforms, per platform and goal).

Reads storage.schema, storage.db and storage.work, and dialogs.rules for the arithmetic;
nothing in storage imports it (bot/cli/report.py and bot/web/ do).
"""
