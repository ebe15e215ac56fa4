output "primary_endpoint" {
  description = "Host name of the primary node."
  value       = aws_elasticache_replication_group.this.primary_endpoint_address
}

output "redis_url" {
  description = "Connection URL including the AUTH token, for the redis-credentials Secret."
  value       = "rediss://:${var.auth_token}@${aws_elasticache_replication_group.this.primary_endpoint_address}:6379/0"
  sensitive   = true
}
