variable "name" {
  type        = string
  description = "Name prefix for every network resource, e.g. \"shop-dev\"."
}

variable "cidr_block" {
  type        = string
  description = "CIDR block of the VPC. Private subnets take the lower /20s, public subnets the upper ones."

  validation {
    condition     = can(cidrhost(var.cidr_block, 0))
    error_message = "cidr_block must be a valid IPv4 CIDR block."
  }
}

variable "availability_zones" {
  type        = list(string)
  description = "Availability zones to spread subnets over; at least two for a highly available cluster."

  validation {
    condition     = length(var.availability_zones) >= 2
    error_message = "Give at least two availability zones."
  }
}

variable "single_nat_gateway" {
  type        = bool
  description = "One NAT gateway for all zones (cheaper, for non-production) instead of one per zone."
  default     = false
}

variable "cluster_name" {
  type        = string
  description = "EKS cluster name, used in the subnet tags the AWS load balancer controller looks for."
}
