"""The aiohttp server: the webhook route (200 only after the commit), /healthz, /readyz.

May import: aiohttp, storage, the transport's update handling.
"""
