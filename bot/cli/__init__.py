"""The `leadbot` command (main.py) and its subcommands: run (run.py), simulate (the terminal
chat), lint, graph, links, db.

May import: anything in bot/, storage, dialogs; aiogram only lazily, when a command needs it.
"""
