"""Operations: health checks, Prometheus metrics, request logs and the operator's status page."""
