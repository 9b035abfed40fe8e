"""The DPS v1 reference provider (National Library of Norway, Digital Preservation Services).

Submissions with file upload to a local object store, the ingest lifecycle REGISTERED ->
UPLOAD_COMPLETED -> TRANSFERRING -> VALIDATING -> ARCHIVING -> PRESERVED / REJECTED run by a
background worker, disseminations with their own lifecycle, and Standard Webhooks notifications
with retries. `create_app(context, **options)` is what `sandbox.launch` starts; the options are
listed in `sandbox.dps.app`.
"""

from kontrakt.sandbox.dps.app import create_app

__all__ = ["create_app"]
