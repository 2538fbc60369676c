"""Importing AI-assisted cases, pseudonymizing on the way in (DESIGN §3 "Import batch").

One module per responsibility:

- ``rules``: what is checked before a row is read (the file's format, the profile's AI system,
  the columns a file may carry under a profile);
- ``service``: ``import_cases``, the orchestration of one import in one transaction, with its
  batch report and audit event;
- ``pool``: the records cut into chunks and prepared (``cases.rows``) in this process or in a
  pool of worker processes;
- ``writer``: the SQL that writes prepared chunks (new cases inserted, existing ones staged, then
  updated or refused in SQL);
- ``batches``: a queued import's batch around the import transaction (the stored upload, the
  progress on the batch row, a failure, the recovery of batches whose worker died);
- ``progress``: the command line's progress bar.

Reading files is ``cases.readers``; one record into one case's values is ``cases.rows``.
"""
