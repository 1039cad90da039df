"""Operations: one record per proxy call, kept for ``PASSWAY_OPERATIONS_RETENTION_DAYS``.

record.py    ``OperationRecord`` (the tuple a call hands over) and its JSON shape; ``health_after``
recorder.py  ``OperationRecorder``: the bounded buffer the proxy appends to (no await), and the
             background loop that writes batches, logs one line per call, counts metrics, keeps
             installations' ``lastOperationStatus`` and prunes old operations
"""
