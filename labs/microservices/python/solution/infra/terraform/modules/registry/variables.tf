variable "name" {
  type        = string
  description = "Repository name prefix, e.g. \"shop\" gives shop/users."
}

variable "repositories" {
  type        = set(string)
  description = "One ECR repository per service image."
}

variable "keep_images" {
  type        = number
  description = "How many tagged images each repository keeps before the oldest expire."
  default     = 50
}
