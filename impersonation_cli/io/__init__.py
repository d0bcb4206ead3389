"""Reading inputs: files, live streams, room lists, threads and atomic writes."""
