variable "region" {
  type        = string
  description = "AWS region of this environment."
}

variable "account_id" {
  type        = string
  description = "AWS account this environment must be applied to; any other account is refused."
}

variable "repository" {
  type        = string
  description = "Source repository, recorded in the Repository tag of every resource."
}

variable "vpc_cidr" {
  type        = string
  description = "CIDR block of the environment's VPC (the NetworkPolicy for Redis egress uses it)."
}

variable "availability_zones" {
  type        = list(string)
  description = "Availability zones to run in; at least two."
}

variable "kubernetes_version" {
  type        = string
  description = "EKS control plane version, e.g. \"1.33\"."
}

variable "node_instance_types" {
  type        = list(string)
  description = "Instance types of the worker nodes."
}

variable "node_min_size" {
  type        = number
  description = "Fewest worker nodes."
}

variable "node_desired_size" {
  type        = number
  description = "Worker nodes at creation."
}

variable "node_max_size" {
  type        = number
  description = "Most worker nodes."
}

variable "cache_node_type" {
  type        = string
  description = "ElastiCache node type for Redis."
}

variable "api_allowed_cidrs" {
  type        = list(string)
  description = "Networks allowed to reach the Kubernetes API endpoint (office VPN, CI egress)."
  default     = []
}

variable "redis_auth_token" {
  type        = string
  description = "Redis AUTH token. Set TF_VAR_redis_auth_token from the secret store; it has no default on purpose."
  sensitive   = true
}
