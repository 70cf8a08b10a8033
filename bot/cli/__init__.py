"""The `leadbot` command (main.py) and its subcommands: run (run.py), simulate (the terminal
chat), lint, graph, links, db.

May import: anything in bot/, storage, dialogs; never aiogram itself (bot/telegram does the
talking to Telegram for `run` and `links`).
"""
