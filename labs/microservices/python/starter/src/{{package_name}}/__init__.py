"""Three services in one repository: users, payments and notifications.

TODO(lab:services): start with users/app.py (registration), then common/web.py (/readyz and
/metrics), payments/app.py (idempotent payments), common/events.py (the consumer group) and
notifications/worker.py (exactly-once handling). README, stage 1, says why.
"""
