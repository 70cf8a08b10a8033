"""The running bot: transports, the update service, hand-off, the outbox sender, jobs, the
web server and the command line, one package each (docs/architecture.md)."""
