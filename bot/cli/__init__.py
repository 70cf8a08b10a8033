"""The `leadbot` command (main.py) and its subcommands: run (run.py), simulate (the terminal
chat), lint, graph, links, db, crm (crm.py), conversions and `report --conversions`
(conversions.py), report and export (report.py); arguments.py is the one set of rules their
options are checked by.

May import: anything in bot/, storage, dialogs; never a Telegram library itself (the
transport LEADBOT_TRANSPORT names, through bot/transport, does the talking to Telegram for
`run` and `links`).
"""
