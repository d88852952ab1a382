"""The DISCIMUS import in parts: a reader, a pure planner, a writer and the report.

``leerid.registry.importer.import_registry`` runs them in one transaction:

- ``reader``: the DISCIMUS files → valid rows (rejected rows go to the rejects file);
- ``checker``: the row checks, in a second process for a large file;
- ``planner``: given what is stored and what was read, what changes (pure, no database);
- ``writer``: reads what the planner needs and writes what it decided, in bulk, through
  ``leerid.registry.bulk`` (the SQLite and PostgreSQL paths);
- ``fresh``: enrolments of registrations created by this import, stored as they come;
- ``report``: the summary and the rejects file.
"""
