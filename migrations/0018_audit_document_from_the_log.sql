-- rm_audit keeps the columns the audit API searches, not the CADF documents (issue 7).
--
-- A document is a rendering of its AuditRecorded event, which the log keeps anyway: the
-- API now renders the records of a page from their events (joined on position) and the
-- target's owner kept here. Without the ~1 KB documents, rebuilding rm_audit is one
-- INSERT ... SELECT over the log (no row decoded in Python, no JSON parsed on COPY), and
-- the table and the nine indexes built after it read a fifth of the pages.

ALTER TABLE rm_audit DROP COLUMN document;
