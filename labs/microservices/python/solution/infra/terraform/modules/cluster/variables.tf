variable "name" {
  type        = string
  description = "Name of the EKS cluster."
}

variable "kubernetes_version" {
  type        = string
  description = "Kubernetes minor version of the control plane, e.g. \"1.33\"."
}

variable "subnet_ids" {
  type        = list(string)
  description = "Private subnets for the control plane network interfaces and the nodes."
}

variable "public_access_cidrs" {
  type        = list(string)
  description = "CIDR blocks allowed to reach the public API endpoint; empty keeps the endpoint private."
  default     = []
}

variable "node_instance_types" {
  type        = list(string)
  description = "EC2 instance types for the managed node group."
}

variable "node_min_size" {
  type        = number
  description = "Fewest nodes in the managed node group."
}

variable "node_desired_size" {
  type        = number
  description = "Nodes to start with; the cluster autoscaler moves it afterwards."
}

variable "node_max_size" {
  type        = number
  description = "Most nodes in the managed node group."
}

variable "log_retention_days" {
  type        = number
  description = "Days to keep control plane logs; the audit log is kept a year at least (PCI DSS 10.5.1)."
  default     = 365

  validation {
    condition     = var.log_retention_days >= 365
    error_message = "Keep control plane logs for at least 365 days."
  }
}
