locals {
  environment = "prod"
  name        = "shop-${local.environment}"
  services    = toset(["users", "payments", "notifications"])
}

module "network" {
  source = "../../modules/network"

  name               = local.name
  cidr_block         = var.vpc_cidr
  availability_zones = var.availability_zones
  single_nat_gateway = local.environment != "prod"
  cluster_name       = local.name
}

module "cluster" {
  source = "../../modules/cluster"

  name                = local.name
  kubernetes_version  = var.kubernetes_version
  subnet_ids          = module.network.private_subnet_ids
  public_access_cidrs = var.api_allowed_cidrs
  node_instance_types = var.node_instance_types
  node_min_size       = var.node_min_size
  node_desired_size   = var.node_desired_size
  node_max_size       = var.node_max_size
}

module "registry" {
  source = "../../modules/registry"

  name         = "shop"
  repositories = local.services
}

module "cache" {
  source = "../../modules/cache"

  name                = local.name
  vpc_id              = module.network.vpc_id
  subnet_ids          = module.network.private_subnet_ids
  allowed_cidr_blocks = [var.vpc_cidr]
  node_type           = var.cache_node_type
  auth_token          = var.redis_auth_token
}
