"""The CLI end to end: commands in subprocesses, live streams, the browser, packaging."""
