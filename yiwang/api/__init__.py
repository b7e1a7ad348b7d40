"""The read API, a module per job: `app` (the factory, and the edge that reads settings),
`routes` (a module per resource), `auth` (bearer tokens), `snapshot` (which snapshot is
published, reads of one), `bodies` (JSON bodies), `cache` (rendered responses), `warm`
(rendering ahead), `provenance` (where each figure comes from), `follower` (publications
heard from PostgreSQL).

Imports the store."""
