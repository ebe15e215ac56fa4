# TODO(lab:terraform): this works on one laptop and nowhere else. Pin Terraform and the AWS
# provider, keep state in a locked remote backend (one state per environment: add envs/prod),
# type and describe every variable and output, take credentials from the environment, mark
# secrets sensitive, and tag everything. README, stage 4.
provider "aws" {
  region     = "eu-west-1"
  access_key = "changeme-access-key"
  secret_key = "changeme-secret-key"
}

variable "region" {
  default = "eu-west-1"
}

variable "redis_auth_token" {
  default = "change-me-please-0123"
}

module "vpc" {
  source = "terraform-aws-modules/vpc/aws"

  name            = "shop-dev"
  cidr            = "10.20.0.0/16"
  azs             = ["eu-west-1a", "eu-west-1b"]
  private_subnets = ["10.20.0.0/20", "10.20.16.0/20"]
  public_subnets  = ["10.20.128.0/20", "10.20.144.0/20"]
}

module "cluster" {
  source     = "../../modules/cluster"
  name       = "shop-dev"
  subnet_ids = module.vpc.private_subnets
}

module "registry" {
  source = "../../modules/registry"
  name   = "shop"
}

output "cluster_endpoint" {
  value = module.cluster.endpoint
}

output "redis_auth_token" {
  value = var.redis_auth_token
}
