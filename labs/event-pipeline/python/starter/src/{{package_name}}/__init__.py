"""An event pipeline: orders in PostgreSQL, events on RabbitMQ, a read model from the WAL."""
