-- Policy documents (/v3/policies): the rows of `policy-<id>` streams.
CREATE TABLE rm_policies (
    id    text PRIMARY KEY,
    type  text NOT NULL,
    blob  text NOT NULL
);
