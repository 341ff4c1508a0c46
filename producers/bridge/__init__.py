"""``heatwatch ingest``: the long-running bridge from a utility's systems to Kafka.

A drop folder (``drop``) and an HTTP endpoint (``http``) feed one idempotent producer
(``service``); a durable journal (``journal``) remembers what Kafka acknowledged, so a
restarted bridge resumes where it was and a re-delivered file is recognised by its content.
docs/production-path.md ("Ingest bridge") says why each rule is what it is.
"""
