variable "name" {
  type        = string
  description = "Name of the Redis replication group."
}

variable "vpc_id" {
  type        = string
  description = "VPC the cache lives in."
}

variable "subnet_ids" {
  type        = list(string)
  description = "Private subnets for the cache nodes, in at least two zones."
}

variable "allowed_cidr_blocks" {
  type        = list(string)
  description = "Networks allowed to connect to Redis on port 6379 (the cluster's node subnets)."
}

variable "node_type" {
  type        = string
  description = "ElastiCache node type, e.g. cache.t4g.small."
}

variable "auth_token" {
  type        = string
  description = "Redis AUTH token (16 to 128 characters). Pass it with TF_VAR_redis_auth_token, never in a file."
  sensitive   = true

  validation {
    condition     = length(var.auth_token) >= 16 && length(var.auth_token) <= 128
    error_message = "auth_token must be 16 to 128 characters long."
  }
}
