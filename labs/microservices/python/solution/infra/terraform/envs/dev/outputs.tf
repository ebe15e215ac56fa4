output "cluster_name" {
  description = "EKS cluster name: aws eks update-kubeconfig --name <this>."
  value       = module.cluster.cluster_name
}

output "cluster_endpoint" {
  description = "Kubernetes API endpoint."
  value       = module.cluster.cluster_endpoint
}

output "repository_urls" {
  description = "ECR repository per service."
  value       = module.registry.repository_urls
}

output "redis_url" {
  description = "Redis connection URL with its AUTH token; copy it into the redis-credentials Secret."
  value       = module.cache.redis_url
  sensitive   = true
}
