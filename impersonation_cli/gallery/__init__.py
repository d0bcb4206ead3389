"""The gallery of registered people: the SQLite store, enrolment and export/import."""
