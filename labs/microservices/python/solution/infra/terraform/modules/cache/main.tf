resource "aws_elasticache_subnet_group" "this" {
  name       = var.name
  subnet_ids = var.subnet_ids
}

resource "aws_security_group" "redis" {
  name        = "${var.name}-redis"
  description = "Redis for the shop services"
  vpc_id      = var.vpc_id
}

resource "aws_vpc_security_group_ingress_rule" "redis" {
  for_each          = toset(var.allowed_cidr_blocks)
  security_group_id = aws_security_group.redis.id
  description       = "Redis from ${each.value}"
  cidr_ipv4         = each.value
  ip_protocol       = "tcp"
  from_port         = 6379
  to_port           = 6379
}

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}

# The cache's data at rest (the event streams and payment records) is encrypted with a key the
# account owns, rotates and can revoke, not with the AWS-owned default key. In a key policy "*"
# as the resource means this key; the statement is the default key policy, written out.
resource "aws_kms_key" "cache" {
  description             = "Encryption at rest of the ${var.name} Redis replication group"
  enable_key_rotation     = true
  deletion_window_in_days = 30
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Sid       = "AccountAdministersTheKey"
      Effect    = "Allow"
      Principal = { AWS = "arn:${data.aws_partition.current.partition}:iam::${data.aws_caller_identity.current.account_id}:root" }
      Action    = "kms:*"
      Resource  = "*"
    }]
  })
}

resource "aws_elasticache_replication_group" "this" {
  replication_group_id       = var.name
  description                = "Event streams and service data for ${var.name}"
  engine                     = "redis"
  engine_version             = "7.1"
  node_type                  = var.node_type
  port                       = 6379
  num_cache_clusters         = 2
  automatic_failover_enabled = true
  multi_az_enabled           = true
  subnet_group_name          = aws_elasticache_subnet_group.this.name
  security_group_ids         = [aws_security_group.redis.id]
  at_rest_encryption_enabled = true
  kms_key_id                 = aws_kms_key.cache.arn
  transit_encryption_enabled = true
  auth_token                 = var.auth_token
  snapshot_retention_limit   = 7
}
