"""Nurture in the engine: what is scheduled (schedule.py: the sequences at the end, the
abandoned-quiz reminder while a quiz waits) and the taps on a follow-up's buttons (taps.py).

May import: dialogs.engine.turn, actions, callback, events, dialogs.format.schema,
dialogs.rules. Never dialogs.engine.core or kinds/ (they import this package): what a tap
needs of them, asking the question again, it reaches through the Turn's reprompt hook.
"""
